// 本周: refresh the figures and lists in place every minute (no reload by hand); copy the 未报 list.
(function () {
  "use strict";
  var seconds = Number(document.body.dataset.refresh || 0);
  if (seconds > 0 && window.fetch && window.DOMParser) {
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) {
          if (!text) { return; }
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("board");
          var board = document.getElementById("board");
          if (fresh && board) { board.replaceWith(fresh); }
        })
        .catch(function () {});
    }, seconds * 1000);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var area = document.getElementById(button.dataset.copy);
    area.select();
    var done = function () { button.textContent = "已复制"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
