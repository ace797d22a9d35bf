/* Glue for the live pages (htmx + its SSE extension; see base.html). Loaded by both apps' pages,
   after htmx. No eval, no inline anything: the strict CSP holds.

   - live:resync: the page's one stream (sse-connect on <body>) carries no ids and replays nothing;
     when it opens again after a drop, every live part refetches itself (hx-trigger
     "live:resync from:body") so nothing missed while away stays missing.
   - Keeping the viewer's place: a part put back in place keeps the window's scroll position and
     that of its own scrolling boxes (the bracket's rounds, wide tables), matched in order. */
(function () {
  "use strict";
  var SCROLLERS = ".rounds, .table-wrap, [data-keep-scroll]";
  var opened = false;
  var kept = {};

  document.addEventListener("htmx:sseOpen", function (event) {
    if (event.target !== document.body) { return; }
    if (opened) { htmx.trigger(document.body, "live:resync"); }
    opened = true;
  });

  function scrollers(root) {
    var found = Array.prototype.slice.call(root.querySelectorAll(SCROLLERS));
    if (root.matches(SCROLLERS)) { found.unshift(root); }
    return found;
  }

  function keep(event) {
    var target = event.detail.target;
    if (!target || !target.id) { return; }
    kept[target.id] = {
      x: window.scrollX, y: window.scrollY,
      boxes: scrollers(target).map(function (box) { return [box.scrollLeft, box.scrollTop]; })
    };
  }

  function restore(event) {
    var target = event.detail.target;
    var id = target && target.id;
    var place = id && kept[id];
    if (!place) { return; }
    delete kept[id];
    var fresh = document.getElementById(id);
    if (fresh) {
      scrollers(fresh).forEach(function (box, index) {
        if (index < place.boxes.length) {
          box.scrollLeft = place.boxes[index][0];
          box.scrollTop = place.boxes[index][1];
        }
      });
    }
    if (window.scrollX !== place.x || window.scrollY !== place.y) { window.scrollTo(place.x, place.y); }
  }

  // A part swapped as the answer's main content, or out of band (hx-select-oob) along with it.
  document.addEventListener("htmx:beforeSwap", keep);
  document.addEventListener("htmx:oobBeforeSwap", keep);
  document.addEventListener("htmx:afterSwap", restore);
  document.addEventListener("htmx:oobAfterSwap", restore);
}());
