// caseflow console: live SLA countdowns. Served by the binary from
// assets/console.js; no other script runs on the console's pages.
//
// An element <time data-due-ms="..." data-left="... left" data-over="overdue ...">
// shows how long until its due time, or how long it is overdue, and is
// updated every second. The words come from the page, in its language.
(function () {
  "use strict";

  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return h > 0 ? h + ":" + two(m) + ":" + two(sec) : m + ":" + two(sec);
  }

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll("time[data-due-ms]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var due = Number(el.getAttribute("data-due-ms"));
      if (!isFinite(due)) continue;
      var left = due - now;
      var words = left >= 0 ? el.getAttribute("data-left") : el.getAttribute("data-over");
      el.textContent = (words || "{}").replace("{}", span(left));
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 5 * 60 * 1000);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
  });
})();
