// Live updates for the dashboard: when the event feed reports something
// this page shows, refetch the page and swap its <main id="content">.
// The pages work without it; it only saves a reload.
(function () {
  "use strict";
  var main = document.getElementById("content");
  if (!main || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var relevant = [
    "plan.created", "drift.opened", "drift.cleared",
    "finding.opened", "finding.resolved", "finding.waived", "finding.waiver_expired",
    "apply.started", "apply.succeeded", "apply.failed",
    "lock.acquired", "lock.released"
  ];
  var timer = null;
  var swaps = 0;

  function refresh() {
    timer = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("content");
        if (!fresh) { return; }
        // Keep keyboard focus where it was when the element survives.
        var focused = document.activeElement && document.activeElement.id;
        main.innerHTML = fresh.innerHTML;
        swaps += 1;
        main.setAttribute("data-updated", String(swaps));
        main.setAttribute("aria-busy", "false");
        if (focused) {
          var el = document.getElementById(focused);
          if (el) { el.focus(); }
        }
      })
      .catch(function () { /* the next event retries */ });
  }

  // Several events in a burst (an apply's) cause one refetch.
  function schedule() {
    if (timer === null) {
      timer = window.setTimeout(refresh, 300);
    }
  }

  var source = new EventSource("/events/stream");
  relevant.forEach(function (type) {
    source.addEventListener(type, schedule);
  });
  main.setAttribute("data-live", "connecting");
  source.addEventListener("open", function () { main.setAttribute("data-live", "open"); });
  source.addEventListener("error", function () { main.setAttribute("data-live", "reconnecting"); });
}());
