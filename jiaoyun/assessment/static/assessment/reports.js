// Exam report charts: the page carries chart specifications as JSON (json_script), this file
// turns them into ECharts options, so the Content Security Policy needs no inline script.
(function () {
  "use strict";
  const PALETTE = ["#1d4ed8", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#f97316"];
  const INK = "#1f2933";
  const LINE = "#d9e2ec";

  function axis(type, extra) {
    return Object.assign({ type: type, axisLabel: { color: INK }, axisLine: { lineStyle: { color: LINE } }, splitLine: { lineStyle: { color: LINE } } }, extra || {});
  }

  function barOption(spec) {
    const horizontal = spec.kind === "hbar";
    const category = axis("category", { data: spec.categories, axisLabel: { color: INK, interval: 0, rotate: !horizontal && spec.categories.length > 6 ? 35 : 0 } });
    const value = axis("value", { axisLabel: { color: INK, formatter: spec.percent ? "{value}%" : "{value}" } });
    return {
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: spec.series.map((s) => ({ name: s.name, type: "bar", data: s.data, barMaxWidth: 28 })),
    };
  }

  function scatterOption(spec) {
    return {
      tooltip: { trigger: "item", formatter: (p) => p.name + "<br>" + spec.axes[0] + ": " + p.value[0] + "<br>" + spec.axes[1] + ": " + p.value[1] },
      xAxis: axis("value", { name: spec.axes[0], nameLocation: "middle", nameGap: 26, scale: true }),
      yAxis: axis("value", { name: spec.axes[1], scale: true }),
      series: spec.series.map((s) => ({ name: s.name, type: "scatter", symbolSize: 11, data: s.data,
        label: { show: s.data.length <= 20, position: "right", formatter: "{b}", color: INK, fontSize: 11 } })),
    };
  }

  // Value-added with its interval: a point and a whisker per unit; the colour says whether
  // the interval excludes zero.
  function intervalOption(spec) {
    const s = spec.series[0];
    const colour = (v) => (v[1] > 0 ? "#10b981" : v[2] < 0 ? "#ef4444" : "#64748b");
    return {
      tooltip: { trigger: "item", formatter: (p) => spec.categories[p.dataIndex] + "<br>" + s.data[p.dataIndex][0] + " [" + s.data[p.dataIndex][1] + ", " + s.data[p.dataIndex][2] + "]" },
      xAxis: axis("category", { data: spec.categories, axisLabel: { color: INK, interval: 0, rotate: spec.categories.length > 6 ? 35 : 0 } }),
      yAxis: axis("value"),
      series: [
        { name: s.name, type: "custom", data: s.data.map((v, i) => [i, v[1], v[2], v[0]]),
          renderItem: function (params, api) {
            const x = api.coord([api.value(0), 0])[0];
            const low = api.coord([api.value(0), api.value(1)])[1];
            const high = api.coord([api.value(0), api.value(2)])[1];
            const w = Math.max(4, api.size([1, 0])[0] * 0.25);
            const style = { stroke: colour(s.data[params.dataIndex]), lineWidth: 1.5 };
            return { type: "group", children: [
              { type: "line", shape: { x1: x, y1: low, x2: x, y2: high }, style: style },
              { type: "line", shape: { x1: x - w / 2, y1: low, x2: x + w / 2, y2: low }, style: style },
              { type: "line", shape: { x1: x - w / 2, y1: high, x2: x + w / 2, y2: high }, style: style },
            ] };
          }, z: 1 },
        { name: s.name, type: "scatter", data: s.data.map((v) => ({ value: v[0], itemStyle: { color: colour(v) } })), symbolSize: 9, z: 2,
          markLine: { silent: true, symbol: "none", data: [{ yAxis: 0 }], lineStyle: { color: "#9aa5b1", type: "dashed" } } },
      ],
    };
  }

  function option(spec) {
    const base = {
      color: PALETTE,
      textStyle: { color: INK },
      tooltip: { trigger: "axis" },
      legend: { show: spec.series.length > 1, top: 0, type: "scroll" },
      grid: { left: 8, right: 24, top: spec.series.length > 1 ? 32 : 16, bottom: 8, containLabel: true },
    };
    const specific = spec.kind === "scatter" ? scatterOption(spec) : spec.kind === "interval" ? intervalOption(spec) : barOption(spec);
    return Object.assign(base, specific);
  }

  function render() {
    const data = document.getElementById("report-charts");
    if (!data || typeof echarts === "undefined") return;
    JSON.parse(data.textContent).forEach((spec) => {
      const el = document.querySelector('[data-chart="' + spec.id + '"]');
      if (!el) return;
      const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(spec), true);
      const points = spec.kind === "interval" || spec.kind === "scatter"
        ? spec.series.reduce((n, s) => n + s.data.length, 0)
        : spec.series.reduce((n, s) => n + s.data.filter((v) => v !== null).length, 0);
      el.dataset.points = String(points);
      el.classList.toggle("chart-empty", points === 0);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    render();
    window.addEventListener("resize", () => {
      document.querySelectorAll("[data-chart]").forEach((el) => {
        const chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
        if (chart) chart.resize();
      });
    });
  });
})();
