// The return slip's Print button (a file, not an onclick attribute: the Content-Security-Policy runs no inline script).
(function () {
  var button = document.querySelector("button[data-print]");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
