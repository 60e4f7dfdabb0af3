/* The notification bell: its unread count follows the REST API while the page is open.
   Plain JavaScript; without it the bell still shows the count of the page load. */
(function () {
  "use strict";

  var MAX_BACKOFF_MS = 10 * 60 * 1000;

  function init() {
    var bells = Array.prototype.slice.call(document.querySelectorAll("[data-notification-bell]"));
    if (!bells.length || !window.fetch) { return; }
    var url = bells[0].getAttribute("data-count-url");
    var every = parseInt(bells[0].getAttribute("data-refresh-ms"), 10) || 30000;
    if (!url) { return; }
    var delay = every;
    var timer = null;

    function show(unread) {
      bells.forEach(function (bell) {
        var count = bell.querySelector("[data-bell-count]");
        if (count) {
          count.textContent = String(unread);
          count.hidden = unread === 0;
        }
        bell.classList.toggle("has-unread", unread > 0);
        bell.setAttribute("data-unread", String(unread));
      });
    }
    function schedule() {
      clearTimeout(timer);
      if (!document.hidden) { timer = setTimeout(refresh, delay); }
    }
    function refresh() {
      var query = url + (url.indexOf("?") < 0 ? "?" : "&") + "page_size=1";
      fetch(query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        })
        .then(function (data) {
          delay = every;
          if (typeof data.unread === "number") { show(data.unread); }
          schedule();
        })
        .catch(function () {
          delay = Math.min(delay * 2, MAX_BACKOFF_MS);
          schedule();
        });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { delay = every; refresh(); }
    });
    show(parseInt((bells[0].querySelector("[data-bell-count]") || {}).textContent, 10) || 0);
    schedule();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
