/* Counts down every <time data-countdown datetime="..."> of the page (the check-in banner's time
 * to the announced start, templates/_check_in_banner.html). The server renders the time left as
 * text, right when the page is made; this keeps it right, to the second, while the page is open. */
(function () {
  "use strict";

  /** The words page_forms.time_left uses, with the seconds under a day. */
  function timeLeft(seconds) {
    var minutes = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
    var days = Math.floor(minutes / 1440), hours = Math.floor(minutes / 60) % 24;
    minutes = minutes % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (days) { return days + " day" + (days > 1 ? "s" : "") + " " + hours + " h"; }
    if (hours) { return hours + " h " + two(minutes) + " min " + two(s) + " s"; }
    if (minutes) { return minutes + " min " + two(s) + " s"; }
    return s + " s";
  }

  var clocks = Array.prototype.slice.call(document.querySelectorAll("time[data-countdown]"));
  if (!clocks.length) { return; }

  function tick() {
    var now = Date.now();
    clocks.forEach(function (clock) {
      var left = (Date.parse(clock.getAttribute("datetime")) - now) / 1000;
      clock.textContent = left > 0 ? "in " + timeLeft(left) : "now (the organizer starts the tournament when ready)";
    });
  }
  tick();
  setInterval(tick, 1000);
}());
