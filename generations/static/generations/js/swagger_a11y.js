/* The API docs page, made reachable: Swagger UI nests a deep-link <a href> inside each operation's
   toggle <button> (one control inside another, which keyboards and screen readers trip over).
   The button already opens the operation and sets the address; the inner link loses its href. */
(function () {
  "use strict";
  function fix(root) {
    root.querySelectorAll(".opblock-summary-control a[href], .opblock-tag a[href].nostyle").forEach(function (link) {
      if (link.closest("button")) { link.removeAttribute("href"); }
    });
  }
  var target = document.getElementById("swagger-ui");
  if (!target) { return; }
  new MutationObserver(function () { fix(target); }).observe(target, { childList: true, subtree: true });
  fix(target);
})();
