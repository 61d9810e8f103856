// Live "time left" for deadlines: <strong class="countdown" data-deadline="ISO">.
(function () {
  function render(el) {
    var left = Math.floor((Date.parse(el.dataset.deadline) - Date.now()) / 1000);
    if (isNaN(left)) return;
    if (left <= 0) { el.textContent = el.dataset.overdue; el.classList.add("countdown--overdue"); return; }
    var d = Math.floor(left / 86400), h = Math.floor((left % 86400) / 3600), m = Math.floor((left % 3600) / 60);
    var text = d > 0 ? el.dataset.days.replace("%(n)s", d).replace("%(h)s", h)
                     : el.dataset.hours.replace("%(h)s", h).replace("%(m)s", m);
    el.textContent = text;
  }
  function tick() { document.querySelectorAll(".countdown[data-deadline]").forEach(render); }
  tick();
  setInterval(tick, 30000);
})();
