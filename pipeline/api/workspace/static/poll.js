// Live queue: every element with data-poll has its contents replaced by that URL's HTML fragment
// every data-every milliseconds. Same origin only; a redirect (session ended) reloads to the login page.
(function () {
  "use strict";
  function poll(el) {
    var every = parseInt(el.getAttribute("data-every"), 10) || 3000;
    function tick() {
      fetch(el.getAttribute("data-poll"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.redirected || r.status === 401) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) { if (html !== null) { el.innerHTML = html; } })
        .catch(function () { /* the server is restarting: try again on the next tick */ })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll]"), poll);
  });
})();
