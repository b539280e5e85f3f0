// Dashboard charts: chart specifications (JSON from the server) become ECharts options.
// The page carries data only, so the Content Security Policy needs no inline script.
(function () {
  "use strict";
  const PALETTE = ["#1d4ed8", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#f97316", "#64748b"];

  function option(spec, dark) {
    const ink = dark ? "#dbe7ff" : "#1f2933";
    const line = dark ? "rgba(219,231,255,.15)" : "#d9e2ec";
    const base = {
      color: PALETTE,
      backgroundColor: "transparent",
      textStyle: { color: ink },
      tooltip: { trigger: spec.kind === "pie" ? "item" : "axis" },
      legend: { show: spec.series.length > 1 || spec.kind === "pie", top: 0, textStyle: { color: ink }, type: "scroll" },
      animation: !dark,
    };
    if (spec.kind === "pie") {
      const s = spec.series[0];
      return Object.assign(base, {
        series: [{ type: "pie", radius: ["35%", "68%"], top: 24,
          data: spec.categories.map((name, i) => ({ name: name, value: s.data[i] })),
          label: { color: ink, formatter: "{b}: {c}" } }],
      });
    }
    const horizontal = spec.kind === "hbar";
    const categoryAxis = { type: "category", data: spec.categories, axisLabel: { color: ink, interval: 0, rotate: spec.categories.length > 8 && !horizontal ? 35 : 0 }, axisLine: { lineStyle: { color: line } } };
    const valueAxis = { type: "value", axisLabel: { color: ink, formatter: spec.percent ? "{value}%" : "{value}" }, splitLine: { lineStyle: { color: line } } };
    return Object.assign(base, {
      grid: { left: 8, right: 16, top: spec.series.length > 1 ? 36 : 16, bottom: 8, containLabel: true },
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      series: spec.series.map((s) => ({
        name: s.name, data: s.data, stack: s.stack,
        type: s.type || (spec.kind === "line" ? "line" : "bar"),
        smooth: spec.kind === "line", barMaxWidth: 36,
      })),
    });
  }

  function render(root, specs, dark) {
    specs.forEach((spec) => {
      const el = root.querySelector('[data-chart="' + spec.id + '"]');
      if (!el || typeof echarts === "undefined") return;
      const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(spec, dark), true);
      // How many values the chart shows: the browser test reads it, and an empty chart says so.
      const points = spec.series.reduce((n, s) => n + s.data.length, 0);
      el.dataset.points = String(points);
      el.classList.toggle("chart-empty", points === 0);
    });
  }

  function resizeAll() {
    document.querySelectorAll("[data-chart]").forEach((el) => {
      const chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  }

  function updateKpis(kpis) {
    kpis.forEach((k, i) => {
      const el = document.querySelector('[data-kpi="' + i + '"]');
      if (el) el.textContent = typeof k.value === "number" ? k.value.toLocaleString() : k.value;
    });
  }

  function startRefresh(screen) {
    const url = screen.dataset.refreshUrl;
    const seconds = Number(screen.dataset.refreshSeconds || 60);
    const stamp = screen.querySelector("[data-generated]");
    const tick = () => {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((payload) => {
          render(document, payload.charts, true);
          updateKpis(payload.kpis);
          if (stamp && payload.generated) stamp.textContent = payload.generated;
          screen.dataset.refreshed = String(Number(screen.dataset.refreshed || 0) + 1);
        })
        .catch(() => screen.classList.add("stale"));
    };
    setInterval(tick, seconds * 1000);
    const clock = screen.querySelector("[data-clock]");
    if (clock) setInterval(() => { clock.textContent = new Date().toLocaleTimeString(); }, 1000);
    const full = screen.querySelector("[data-fullscreen]");
    if (full) full.addEventListener("click", () => document.documentElement.requestFullscreen && document.documentElement.requestFullscreen());
  }

  document.addEventListener("DOMContentLoaded", () => {
    const data = document.getElementById("dashboard-charts");
    const dark = document.body.classList.contains("bigscreen");
    if (data) render(document, JSON.parse(data.textContent), dark);
    const screen = document.querySelector("[data-refresh-url]");
    if (screen) startRefresh(screen);
    window.addEventListener("resize", resizeAll);
  });
})();
