// The opening form: a refund only needs no return route (the server ignores it anyway), and
// the button names what was chosen ("Local return" for a local return).
(function () {
  var routes = document.getElementById("route-fieldset");
  var button = document.getElementById("open-dispute-submit");
  if (!routes || !button) return;
  function checked(name) {
    var input = document.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }
  function sync() {
    var kind = checked("kind");
    routes.hidden = kind === "refund_only";
    button.textContent = kind === "return" && checked("route") === "local"
      ? button.dataset.labelLocal : button.dataset.labelOther;
  }
  document.querySelectorAll('input[name="kind"], input[name="route"]').forEach(function (input) {
    input.addEventListener("change", sync);
  });
  sync();
})();
