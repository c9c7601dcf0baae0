/* The leaders' dashboard charts: ECharts (served from our own static files) over the numbers the page
   embeds as JSON. A suppressed cell is null and draws as a gap, never as a number. */
(function () {
  "use strict";
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node || !window.echarts) { return null; }
    var c = window.echarts.init(node, null, { renderer: "canvas" });
    c.setOption(Object.assign({ animation: false, textStyle: { fontFamily: "sans-serif" } }, option));
    window.addEventListener("resize", function () { c.resize(); });
    node.setAttribute("data-drawn", "1");
    return c;
  }
  var colours = ["#0b69a3", "#d9822b", "#2e8b57", "#b42318", "#7a5af8", "#616e7c"];
  function draw() {
    var d = data("report-data");
    if (!d) { return; }
    var funnel = d.funnel.slice().reverse();
    chart("chart-funnel", {
      color: colours,
      grid: { left: 110, right: 40, top: 10, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: funnel.map(function (s) { return s.name; }) },
      series: [{ type: "bar", data: funnel.map(function (s) { return s.value; }), label: { show: true, position: "right" } }]
    });
    var s = d.series;
    chart("chart-trend", {
      color: colours,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "category", data: s.months },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "线索", type: "bar", data: s.leads },
        { name: "发现（立案）", type: "line", data: s.opened, connectNulls: false },
        { name: "核实存在困难", type: "line", data: s.founded },
        { name: "获得帮扶", type: "line", data: s.helped }
      ]
    });
    if (d.rules.labels.length) {
      chart("chart-rules", {
        color: ["#0b69a3"],
        grid: { left: 150, right: 40, top: 10, bottom: 20 },
        xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
        yAxis: { type: "category", data: d.rules.labels },
        series: [{ type: "bar", data: d.rules.precision, label: { show: true, position: "right", formatter: "{c}%" } }]
      });
      var names = Object.keys(d.rules.trend);
      chart("chart-rule-trend", {
        color: colours,
        tooltip: { trigger: "axis" },
        legend: { top: 0, type: "scroll" },
        grid: { left: 40, right: 20, top: 30, bottom: 30 },
        xAxis: { type: "category", data: s.months },
        yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
        series: names.map(function (n) { return { name: n, type: "line", data: d.rules.trend[n], connectNulls: true }; })
      });
    }
    var map = data("report-map");
    if (map && window.echarts) {
      window.echarts.registerMap("region", map);
      var c = d.children;
      var values = c.values.filter(function (v) { return v !== null; });
      chart("chart-map", {
        tooltip: { trigger: "item" },
        visualMap: { min: values.length ? Math.min.apply(null, values) : 0, max: values.length ? Math.max.apply(null, values) : 1,
                     calculable: true, inRange: { color: ["#e0ecf7", "#0b69a3"] }, left: 0, bottom: 0 },
        series: [{ type: "map", map: "region", nameProperty: "code", label: { show: true, formatter: function (p) {
          var i = c.codes.indexOf(p.name); return i >= 0 ? c.labels[i] : ""; } },
          data: c.codes.map(function (code, i) { return { name: code, value: c.values[i] }; }) }]
      }).on("click", function (p) {
        var url = new URL(window.location.href); url.searchParams.set("region", p.name); window.location.href = url.toString();
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
}());
