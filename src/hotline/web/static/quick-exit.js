// Quick exit (docs/advice.md): leave for a neutral site and replace this page's history entry,
// so Back does not return here. Without JavaScript the button is a plain link.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) return;
  function leave(event) {
    if (event) event.preventDefault();
    document.body.style.display = "none";
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var now = Date.now();
    if (now - lastEscape < 1500) leave(event);
    lastEscape = now;
  });
})();
