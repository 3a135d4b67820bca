/* global Plotly, Element */
// candlecast charts: Plotly drawings of the data a page puts in <script type="application/json">
// blocks (the CSP runs no inline script). Each chart element names its kind and its data:
//   <div data-chart="price" data-source="analysis-data"></div>
// Charts are drawn on load and after htmx swaps new ones in, and released before they are
// swapped out.
(function () {
  'use strict';

  var FONT = { family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 12, color: '#1d2430' };
  var UP = '#067647';
  var DOWN = '#b42318';
  var ACCENT = '#2458d6';
  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d'] };

  function baseLayout(extra) {
    var layout = {
      font: FONT,
      margin: { l: 60, r: 16, t: 8, b: 40 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      showlegend: false,
      hovermode: 'x',
      xaxis: { gridcolor: '#eef0f3', zeroline: false, automargin: true },
      yaxis: { gridcolor: '#eef0f3', zeroline: false, automargin: true },
    };
    for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) layout[k] = extra[k];
    return layout;
  }

  var sources = {};
  function data(id) {
    if (!sources[id]) {
      var el = document.getElementById(id);
      if (!el) return null;
      try {
        sources[id] = JSON.parse(el.textContent || 'null');
      } catch (e) {
        console.error('chart data ' + id + ' is not JSON', e);
        return null;
      }
    }
    return sources[id];
  }

  var draw = {
    price: function (el, d) {
      var traces = [
        {
          type: 'candlestick', x: d.t, open: d.open, high: d.high, low: d.low, close: d.close, name: d.pair,
          increasing: { line: { color: UP, width: 1 }, fillcolor: UP }, decreasing: { line: { color: DOWN, width: 1 }, fillcolor: DOWN },
          xaxis: 'x', yaxis: 'y',
        },
        {
          type: 'bar', x: d.t, y: d.volume, name: 'Volume', xaxis: 'x', yaxis: 'y2',
          marker: { color: d.close.map(function (c, i) { return c >= d.open[i] ? 'rgba(6,118,71,.45)' : 'rgba(180,35,24,.45)'; }) },
          hovertemplate: 'Volume %{y:,.2f}<extra></extra>',
        },
      ];
      if (d.anomalies && d.anomalies.length) {
        traces.push({
          type: 'scatter', mode: 'markers', name: 'Flagged', xaxis: 'x', yaxis: 'y',
          x: d.anomalies.map(function (a) { return a.t; }), y: d.anomalies.map(function (a) { return a.close; }),
          text: d.anomalies.map(function (a) { return a.reason; }),
          marker: { symbol: 'x', size: 10, color: '#f79009', line: { width: 2, color: '#f79009' } },
          hovertemplate: 'Flagged: %{text}<extra></extra>',
        });
      }
      // Over a range where the price moved by more than 20x a linear axis flattens the past: use log.
      var lo = Math.min.apply(null, d.low), hi = Math.max.apply(null, d.high);
      var log = lo > 0 && hi / lo > 20;
      Plotly.newPlot(el, traces, baseLayout({
        xaxis: { gridcolor: '#eef0f3', rangeslider: { visible: false }, title: { text: 'Time (' + d.timeZone + ')', standoff: 8 }, anchor: 'y2', automargin: true },
        yaxis: { gridcolor: '#eef0f3', domain: [0.26, 1], title: { text: log ? 'Price (log scale)' : 'Price' }, type: log ? 'log' : 'linear', tickformat: ',~r', automargin: true },
        yaxis2: { gridcolor: '#eef0f3', domain: [0, 0.2], title: { text: 'Volume' }, tickformat: '~s', automargin: true },
      }), CONFIG);
    },

    returns: function (el, d) {
      Plotly.newPlot(el, [{
        type: 'histogram', x: d.returnsPct, nbinsx: 80, marker: { color: ACCENT, line: { color: '#fff', width: 0.5 } },
        hovertemplate: '%{x} %: %{y} candles<extra></extra>',
      }], baseLayout({
        bargap: 0.02,
        hovermode: 'closest',
        xaxis: { gridcolor: '#eef0f3', title: { text: 'Return per candle (%)' }, ticksuffix: ' %', automargin: true },
        yaxis: { gridcolor: '#eef0f3', title: { text: 'Candles' }, automargin: true },
      }), CONFIG);
    },

    volatility: function (el, d) {
      Plotly.newPlot(el, [{
        type: 'scatter', mode: 'lines', x: d.t, y: d.volatilityPct, line: { color: ACCENT, width: 1.5 }, connectgaps: false,
        hovertemplate: '%{y:.1f} %<extra></extra>',
      }], baseLayout({
        xaxis: { gridcolor: '#eef0f3', title: { text: 'Time (' + d.timeZone + ')' }, automargin: true },
        yaxis: { gridcolor: '#eef0f3', title: { text: 'Annualised volatility' }, ticksuffix: ' %', rangemode: 'tozero', automargin: true },
      }), CONFIG);
    },

    forecast: function (el, d) {
      var c = d.candles, p = d.past, traces = [];
      traces.push({
        type: 'candlestick', x: c.t, open: c.open, high: c.high, low: c.low, close: c.close, name: d.pair,
        increasing: { line: { color: UP, width: 1 }, fillcolor: 'rgba(6,118,71,.55)' }, decreasing: { line: { color: DOWN, width: 1 }, fillcolor: 'rgba(180,35,24,.55)' },
      });
      if (p.t.length) {
        // bands: the upper edge first (no fill), then the lower edge filled up to it
        traces.push({ type: 'scatter', mode: 'lines', x: p.t, y: p.upper95, line: { width: 0 }, hoverinfo: 'skip', showlegend: false });
        traces.push({ type: 'scatter', mode: 'lines', x: p.t, y: p.lower95, line: { width: 0 }, fill: 'tonexty', fillcolor: 'rgba(36,88,214,.10)', name: '95 % band', hoverinfo: 'skip' });
        traces.push({ type: 'scatter', mode: 'lines', x: p.t, y: p.upper80, line: { width: 0 }, hoverinfo: 'skip', showlegend: false });
        traces.push({ type: 'scatter', mode: 'lines', x: p.t, y: p.lower80, line: { width: 0 }, fill: 'tonexty', fillcolor: 'rgba(36,88,214,.18)', name: '80 % band', hoverinfo: 'skip' });
        traces.push({ type: 'scatter', mode: 'lines+markers', x: p.t, y: p.value, name: 'Predicted', line: { color: ACCENT, width: 1.5 }, marker: { size: 4 }, hovertemplate: 'Predicted %{y:,.2f}<extra></extra>' });
        traces.push({ type: 'scatter', mode: 'markers', x: p.t, y: p.actual, name: 'Actual', marker: { color: '#111827', size: 5, symbol: 'circle-open' }, hovertemplate: 'Actual %{y:,.2f}<extra></extra>' });
      }
      if (d.next) {
        var n = d.next;
        traces.push({
          type: 'scatter', mode: 'markers', x: [n.t], y: [n.value], name: 'Next (95 %)',
          marker: { color: '#f79009', size: 11, symbol: 'diamond' },
          error_y: { type: 'data', symmetric: false, array: [n.upper95 - n.value], arrayminus: [n.value - n.lower95], color: '#f79009', thickness: 1.5, width: 8 },
          hovertemplate: 'Next close %{y:,.2f}<extra></extra>',
        });
        traces.push({
          type: 'scatter', mode: 'markers', x: [n.t], y: [n.value], name: 'Next (80 %)', showlegend: false, hoverinfo: 'skip',
          marker: { color: '#f79009', size: 1 },
          error_y: { type: 'data', symmetric: false, array: [n.upper80 - n.value], arrayminus: [n.value - n.lower80], color: '#b54708', thickness: 4, width: 0 },
        });
      }
      Plotly.newPlot(el, traces, baseLayout({
        showlegend: true,
        legend: { orientation: 'h', y: 1.08, x: 0 },
        xaxis: { gridcolor: '#eef0f3', rangeslider: { visible: false }, title: { text: 'Time (' + d.timeZone + ')' }, automargin: true },
        yaxis: { gridcolor: '#eef0f3', title: { text: 'Price' }, tickformat: ',~r', automargin: true },
      }), CONFIG);
    },

    importance: function (el, d) {
      var f = d.features.slice().reverse();
      // one row per feature, every name readable
      el.style.height = Math.max(240, 22 * f.length + 70) + 'px';
      Plotly.newPlot(el, [{
        type: 'bar', orientation: 'h', x: f.map(function (r) { return r.score; }), y: f.map(function (r) { return r.name; }),
        marker: { color: ACCENT }, hovertemplate: '%{y}: %{x:.4f}<extra></extra>',
      }], baseLayout({
        hovermode: 'closest',
        margin: { l: 140, r: 16, t: 8, b: 40 },
        xaxis: { gridcolor: '#eef0f3', title: { text: d.scoreLabel }, automargin: true },
        yaxis: { automargin: true, tickmode: 'array', tickvals: f.map(function (r) { return r.name; }), ticktext: f.map(function (r) { return r.name; }) },
      }), CONFIG);
    },

    residuals: function (el, d) {
      Plotly.newPlot(el, [
        { type: 'scatter', mode: 'lines', x: d.t, y: d.actualPct, name: 'Actual return', line: { color: '#111827', width: 1 } },
        { type: 'scatter', mode: 'lines', x: d.t, y: d.predictedPct, name: 'Predicted return', line: { color: ACCENT, width: 1.5 } },
      ], baseLayout({
        showlegend: true,
        legend: { orientation: 'h', y: 1.12, x: 0 },
        xaxis: { gridcolor: '#eef0f3', title: { text: 'Time (' + d.timeZone + ')' }, automargin: true },
        yaxis: { gridcolor: '#eef0f3', title: { text: 'Return per candle' }, ticksuffix: ' %', automargin: true },
      }), CONFIG);
    },

    residualHistogram: function (el, d) {
      Plotly.newPlot(el, [{ type: 'histogram', x: d.residualPct, nbinsx: 60, marker: { color: ACCENT, line: { color: '#fff', width: 0.5 } } }], baseLayout({
        bargap: 0.02,
        hovermode: 'closest',
        xaxis: { gridcolor: '#eef0f3', title: { text: 'Residual (actual − predicted return)' }, ticksuffix: ' %', automargin: true },
        yaxis: { gridcolor: '#eef0f3', title: { text: 'Points' }, automargin: true },
      }), CONFIG);
    },
  };

  function drawAll(root) {
    if (typeof Plotly === 'undefined') return;
    sources = {};
    var els = (root || document).querySelectorAll('[data-chart]:not([data-drawn])');
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var kind = el.getAttribute('data-chart');
      var d = data(el.getAttribute('data-source') || '');
      if (!d || !draw[kind]) continue;
      draw[kind](el, d);
      el.setAttribute('data-drawn', 'true');
    }
  }

  function purgeAll(root) {
    if (typeof Plotly === 'undefined' || !(root instanceof Element)) return;
    var els = root.querySelectorAll('[data-drawn]');
    for (var i = 0; i < els.length; i++) Plotly.purge(els[i]);
  }

  document.addEventListener('DOMContentLoaded', function () { drawAll(document); });
  document.addEventListener('htmx:beforeSwap', function (e) { purgeAll(e.detail.target); });
  // outerHTML swaps replace their target, so look from the document for charts not drawn yet.
  document.addEventListener('htmx:afterSettle', function () { drawAll(document); });
})();
