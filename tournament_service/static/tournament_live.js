/* The tournament page's own glue (after /static/live.js): its sections follow the state. The head
   refreshes itself on every change of the tournament; when it shows another state than the one
   the page's sections (#live-main) were drawn for (REGISTRATION -> ACTIVE: the team list gives way
   to the results form and the bracket), the page is fetched again and its #live-main put in place,
   with the viewer's forms as the server draws them for the new state. */
(function () {
  "use strict";

  function followState() {
    var head = document.getElementById("tournament-head");
    var main = document.getElementById("live-main");
    if (!head || !main || head.dataset.state === main.dataset.state || main.dataset.fetching) { return; }
    main.dataset.fetching = "1";
    var url = new URL(window.location.href);
    url.searchParams.delete("notice");  // what the last form did is shown once, not again
    url.hash = "";
    htmx.ajax("GET", url.pathname + url.search, {target: "#live-main", select: "#live-main", swap: "outerHTML"})
      .finally(function () { delete main.dataset.fetching; });
  }

  document.addEventListener("htmx:afterSettle", followState);
}());
