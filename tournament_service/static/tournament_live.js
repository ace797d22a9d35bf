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
    // The page itself, from its own directory (`data-page`: a refused form's page is shown at the
    // form's URL), with the round it shows; not the notice of what the last form did.
    htmx.ajax("GET", main.dataset.page, {target: "#live-main", select: "#live-main", swap: "outerHTML"})
      .finally(function () { delete main.dataset.fetching; });
  }

  document.addEventListener("htmx:afterSettle", followState);

  // The parts ask `fragments/...`, relative to the page's own directory: from a page shown at
  // another URL (a refused form's), the way there comes first (`data-root` on <body>).
  document.addEventListener("htmx:configRequest", function (event) {
    var root = document.body.dataset.root;
    if (root && event.detail.path.indexOf("fragments/") === 0) { event.detail.path = root + event.detail.path; }
  });
}());
