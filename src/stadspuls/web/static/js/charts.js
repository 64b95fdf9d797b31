/* The monitor page's charts (uPlot): volume with the seasonal band, and sentiment. The numbers
   come from the page itself (#chart-data), the colours from the CSS theme, so the charts follow
   the dark/light toggle. Without JavaScript the table under the charts holds the same numbers. */
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof uPlot === "undefined") return;
  var data = JSON.parse(source.textContent);
  var charts = [];

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // Times on the axis in the reader's language and in Amsterdam time, 24-hour clock.
  var lang = document.documentElement.lang || "nl";
  var span = data.x.length ? data.x[data.x.length - 1] - data.x[0] : 0;
  var labels = new Intl.DateTimeFormat(lang, span > 2 * 86400
    ? { day: "numeric", month: "short", timeZone: "Europe/Amsterdam" }
    : { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "Europe/Amsterdam" });

  function axes() {
    var text = css("--muted"), grid = css("--border");
    var x = {
      stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid },
      values: function (u, splits) {
        return splits.map(function (ts) { return labels.format(new Date(ts * 1e3)); });
      },
    };
    var y = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 50 };
    return [x, y];
  }

  // A third as high as wide, between 220 and 380 px: readable on a laptop and on a wall.
  function size(el) {
    var width = Math.max(el.clientWidth, 200);
    return { width: width, height: Math.round(Math.min(380, Math.max(220, width / 3))) };
  }

  function volume(el) {
    var band = css("--band"), line = css("--line"), muted = css("--muted");
    var opts = Object.assign(size(el), {
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Europe/Amsterdam"); },
      series: [
        {},
        { label: el.dataset.labelHigh, stroke: "transparent", fill: band, points: { show: false } },
        { label: el.dataset.labelLow, stroke: "transparent", points: { show: false } },
        { label: el.dataset.labelExpected, stroke: muted, dash: [4, 4], width: 1, points: { show: false } },
        { label: el.dataset.labelPosts, stroke: line, width: 2, spanGaps: false, points: { show: false } },
      ],
      bands: [{ series: [1, 2], fill: band }],
      axes: axes(),
      legend: { show: false },
      scales: { y: { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; } } },
    });
    // The band is drawn between high and low; the series fill of "high" is cleared by `bands`.
    opts.series[1].fill = undefined;
    return new uPlot(opts, [data.x, data.high, data.low, data.expected, data.posts], el);
  }

  function sentiment(el) {
    var opts = Object.assign(size(el), {
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Europe/Amsterdam"); },
      series: [
        {},
        { label: el.dataset.labelNegative, stroke: css("--negative"), width: 2, points: { show: false } },
        { label: el.dataset.labelNeutral, stroke: css("--neutral"), width: 2, dash: [6, 3], points: { show: false } },
        { label: el.dataset.labelPositive, stroke: css("--positive"), width: 2, dash: [2, 2], points: { show: false } },
      ],
      axes: axes(),
      legend: { show: false },
      scales: { y: { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; } } },
    });
    return new uPlot(opts, [data.x, data.negative, data.neutral, data.positive], el);
  }

  // A publication's response per hour (publish/detail.html): replies, reposts, their
  // sentiment, and the volume of the monitor it was about on its own right-hand scale.
  function response(el) {
    var series = [
      {},
      { label: el.dataset.labelReplies, stroke: css("--line"), width: 2, points: { show: false } },
      { label: el.dataset.labelReposts, stroke: css("--medium"), width: 2, dash: [6, 3], points: { show: false } },
      { label: el.dataset.labelLinks, stroke: css("--text"), width: 2, points: { show: false } },
      { label: el.dataset.labelNegative, stroke: css("--negative"), width: 2, dash: [2, 2], points: { show: false } },
      { label: el.dataset.labelPositive, stroke: css("--positive"), width: 2, dash: [2, 2], points: { show: false } },
    ];
    var columns = [data.x, data.replies, data.reposts, data.links, data.negative, data.positive];
    var axesNow = axes();
    var scales = { y: { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; } } };
    if (data.monitor && data.monitor.some(function (v) { return v !== null; })) {
      series.push({ label: el.dataset.labelMonitor, stroke: css("--muted"), width: 1, scale: "m", points: { show: false } });
      columns.push(data.monitor);
      scales.m = { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; } };
      axesNow.push({ scale: "m", side: 1, stroke: css("--muted"), grid: { show: false }, size: 50 });
    }
    var opts = Object.assign(size(el), {
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Europe/Amsterdam"); },
      series: series, axes: axesNow, legend: { show: false }, scales: scales,
    });
    return new uPlot(opts, columns, el);
  }

  function draw() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    document.querySelectorAll(".chart[data-kind]").forEach(function (el) {
      el.textContent = "";
      var kind = el.dataset.kind;
      charts.push(kind === "volume" ? volume(el) : kind === "response" ? response(el) : sentiment(el));
    });
  }

  draw();
  document.addEventListener("stadspuls:theme", draw);
  var pending;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts.forEach(function (c) {
        c.setSize(size(c.root.parentNode));
      });
    }, 150);
  });
})();
