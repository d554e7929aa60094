// leadgate console: progressive enhancement only; every page reads and works without it.
// Blocks marked data-refresh="SECONDS" are re-read from the same page every so often.
(function () {
  "use strict";
  function refresh(block) {
    var every = parseInt(block.getAttribute("data-refresh"), 10) * 1000;
    if (!every) { return; }
    setInterval(function () {
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(block.id);
          if (fresh) { block.replaceWith(fresh); block = fresh; }
        })
        .catch(function () {});
    }, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh][id]").forEach(refresh);
  });
})();
