// fastci report: a tooltip for anything with data-tip. The page reads fine without it.
(function () {
  "use strict";
  var tip = document.getElementById("tip");
  if (!tip) return;
  function place(event) {
    var x = event.clientX + 14, y = event.clientY + 16;
    var box = tip.getBoundingClientRect();
    if (x + box.width > window.innerWidth - 8) x = event.clientX - box.width - 14;
    if (y + box.height > window.innerHeight - 8) y = event.clientY - box.height - 12;
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  document.addEventListener("mouseover", function (event) {
    var target = event.target.closest ? event.target.closest("[data-tip]") : null;
    if (!target) { tip.hidden = true; return; }
    tip.textContent = target.getAttribute("data-tip");
    tip.hidden = false;
    place(event);
  });
  document.addEventListener("mousemove", function (event) {
    if (!tip.hidden) place(event);
  });
  document.addEventListener("mouseleave", function () { tip.hidden = true; });
})();
