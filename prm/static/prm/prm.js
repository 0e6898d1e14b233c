/* PRM's own scripts: small on purpose. No build step, no dependencies beyond the vendored ones. */
(function () {
  "use strict";

  // Mark the menu entry of the current page (the longest matching URL prefix wins).
  function markActiveNav() {
    var path = window.location.pathname;
    var best = null;
    document.querySelectorAll("[data-nav]").forEach(function (link) {
      var href = link.getAttribute("href");
      if (href && href !== "/" && path.indexOf(href) === 0) {
        if (!best || href.length > best.getAttribute("href").length) best = link;
      }
    });
    if (!best) return;
    best.classList.add("active");
    best.setAttribute("aria-current", "page");
    var dropdown = best.closest(".dropdown");
    if (dropdown) {
      var toggle = dropdown.querySelector(".dropdown-toggle");
      if (toggle) toggle.classList.add("active");
    }
  }

  // Render every <div class="chart" data-chart="<id of a json_script>"> with ECharts.
  function renderCharts() {
    if (typeof window.echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) return;
      var chart = window.echarts.init(element);
      chart.setOption(JSON.parse(source.textContent));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    markActiveNav();
    renderCharts();
  });
})();
