/**
 * The report as one self-contained HTML file: the data as JSON, the plotting library
 * (plotly.js, basic bundle: bar and scatter traces) and a small script that draws the charts, all
 * inlined, so the file opens anywhere without a network. Tables are plain HTML written here;
 * charts are plotly's. Browser-safe: the caller hands in the library's source (on Node,
 * plotlySource() in node.ts reads it from the installed package).
 */
import type { ReportData } from "./report_data.js";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON that survives ±Infinity/NaN (as strings) and cannot close the <script> it sits in. */
export function embedJson(data: unknown): string {
  const text = JSON.stringify(data, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
  return text.replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#b9c0cf}
main{padding:12px 28px 40px;max-width:1280px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:14px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:12px 0 6px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{padding:3px 10px;border-bottom:1px solid #eceef2;text-align:left}
th{font-weight:600;color:#4a5366}td.num{text-align:right}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:10px}
.plot{min-height:260px}.wide{min-height:340px}
.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}
ul{margin:4px 0 8px 18px;padding:0}li{margin:2px 0}.muted{color:#6b7385}
`;

/** The page script: draws every chart from the embedded data with Plotly. */
const SCRIPT = String.raw`
const D = JSON.parse(document.getElementById("report-data").textContent);
const num = (v) => (typeof v === "string" ? Number(v) : v);
const fmt = (v, d = 2) => { v = num(v); return v === Infinity ? "∞" : v === -Infinity ? "−∞" : Number.isFinite(v) ? v.toFixed(d) : "–"; };
const config = { displaylogo: false, responsive: true };
const colors = { minmax: "#6b7385", percentile: "#e08e0b", entropy: "#7b3fb5", mse: "#1a7f37" };
const cap = (v) => Math.min(num(v), 120);

function bars(id, names, values, title, yTitle, color) {
  const el = document.getElementById(id);
  if (!el || !names.length) return;
  Plotly.newPlot(el, [{ type: "bar", x: names, y: values.map(cap), marker: { color }, text: values.map((v) => fmt(v, 1)), textposition: "outside",
    hovertemplate: "%{x}: %{text} dB<extra></extra>" }],
    { title: { text: title, font: { size: 14 } }, margin: { t: 40, b: 110, l: 55, r: 10 }, yaxis: { title: { text: yTitle } }, xaxis: { tickangle: -40 } }, config);
}

// Layer-wise: one unit quantized at a time.
bars("layer-sqnr", D.layers.map((l) => l.unit), D.layers.map((l) => l.sqnr), "Output SQNR with only this unit quantized", "SQNR (dB)", "#2f6fdf");

// Graph-wise: accumulated and own error per tensor.
(function () {
  const t = D.tensors.filter((x) => x.sqnr !== undefined);
  const el = document.getElementById("tensor-sqnr");
  if (!el || !t.length) return;
  Plotly.newPlot(el, [
    { type: "bar", name: "accumulated (whole model quantized)", x: t.map((x) => x.name), y: t.map((x) => cap(x.sqnr)), marker: { color: "#2f6fdf" } },
    { type: "bar", name: "own (this tensor's quantization only)", x: t.map((x) => x.name), y: t.map((x) => cap(x.ownSqnr)), marker: { color: "#9db8ef" } },
  ], { barmode: "group", title: { text: "Tensor SQNR, graph-wise", font: { size: 14 } }, margin: { t: 40, b: 110, l: 55, r: 10 },
       yaxis: { title: { text: "SQNR (dB)" } }, xaxis: { tickangle: -40 }, legend: { orientation: "h", y: 1.12 } }, config);
})();

// Mixed precision: the metric at each step against the threshold.
(function () {
  const m = D.mixedPrecision;
  const el = document.getElementById("mp-steps");
  if (!m || !el) return;
  const labels = m.steps.map((s, i) => (i + 1) + ". " + s.phase + (s.unit ? " " + s.unit : ""));
  Plotly.newPlot(el, [
    { type: "bar", x: labels, y: m.steps.map((s) => num(s.metric)), marker: { color: m.steps.map((s) => (s.meetsTarget ? "#1a7f37" : "#c62828")) }, name: m.metric },
    { type: "scatter", mode: "lines", x: [labels[0], labels[labels.length - 1]], y: [num(m.threshold), num(m.threshold)], line: { dash: "dash", color: "#1d2433" }, name: "threshold" },
  ], { title: { text: "Mixed-precision search: " + m.metric + " per step", font: { size: 14 } }, margin: { t: 40, b: 120, l: 55, r: 10 }, xaxis: { tickangle: -40 }, showlegend: false }, config);
})();

// Activation histograms with the range each calibration method picks.
D.tensors.forEach((t, i) => {
  const el = document.getElementById("hist-" + i);
  if (!el || !t.histogram) return;
  const h = t.histogram;
  const x = h.counts.map((_, k) => num(h.start) + (k + 0.5) * num(h.width));
  const top = Math.max(...h.counts) * 2;
  const traces = [{ type: "bar", x, y: h.counts, width: num(h.width), marker: { color: "#b7c3d6" }, name: "count", hovertemplate: "%{x:.4g}: %{y}<extra></extra>" }];
  for (const [method, r] of Object.entries(t.ranges)) {
    for (const [k, v] of r.entries()) {
      traces.push({ type: "scatter", mode: "lines", x: [num(v), num(v)], y: [0.8, top], line: { color: colors[method], width: 2, dash: method === "minmax" ? "dot" : "solid" },
        name: method, legendgroup: method, showlegend: k === 0, hovertemplate: method + (k ? " max" : " min") + " %{x:.4g}<extra></extra>" });
    }
  }
  const shapes = t.used ? [{ type: "rect", xref: "x", yref: "paper", x0: num(t.used[0]), x1: num(t.used[1]), y0: 0, y1: 1, fillcolor: "#2f6fdf", opacity: 0.08, line: { width: 0 } }] : [];
  Plotly.newPlot(el, traces, { title: { text: t.name + (t.producer ? " (" + t.producer + ")" : ""), font: { size: 13 } }, margin: { t: 34, b: 30, l: 45, r: 8 },
    yaxis: { type: "log", title: { text: "count" } }, shapes, legend: { orientation: "h", y: -0.15, font: { size: 11 } }, bargap: 0 }, config);
});

// Per-channel weight ranges.
D.weights.forEach((w, i) => {
  const el = document.getElementById("weight-" + i);
  if (!el) return;
  const ch = w.maxs.map((_, c) => c);
  Plotly.newPlot(el, [
    { type: "bar", x: ch, y: w.maxs, name: "max", marker: { color: "#2f6fdf" } },
    { type: "bar", x: ch, y: w.mins, name: "min", marker: { color: "#e08e0b" } },
  ], { barmode: "relative", bargap: 0.1, title: { text: w.name + " → " + w.node + " (" + w.dtype + (w.perChannel ? ", per channel" : ", per tensor") + ")", font: { size: 13 } },
       margin: { t: 34, b: 36, l: 50, r: 8 }, xaxis: { title: { text: "output channel" } }, showlegend: false }, config);
});
`;

function table(headers: string[], rows: (string | number)[][], numeric: boolean[] = []): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ""}>${escapeHtml(String(c))}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function dB(v: number): string {
  return v === Infinity ? "∞" : Number.isFinite(v) ? v.toFixed(2) : "–";
}

/** The whole report page, with `plotly` (the plotly.js bundle's source) inlined. */
export function renderReport(data: ReportData, plotly: string): string {
  const parts: string[] = [];
  parts.push(`<section><h2>Summary</h2>${table(["", ""], data.summary)}</section>`);
  if (data.outputs.length) {
    parts.push(`<section><h2>Model outputs, quantized vs float</h2>${table(["output", "SQNR (dB)", "cosine", "MSE", "max |error|"],
      data.outputs.map((o) => [o.output, dB(o.sqnr), o.cosine.toFixed(6), o.mse.toPrecision(4), o.maxAbsError.toPrecision(4)]), [false, true, true, true, true])}</section>`);
  }
  if (data.optimizations.length) {
    parts.push(`<section><h2>Weight-side algorithms</h2>${data.optimizations.map((o) => `<h3>${escapeHtml(o.name)}</h3><ul>${o.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul>`).join("")}</section>`);
  }
  if (data.layers.length) {
    const rank = new Map(data.ranking.map((u, i) => [u, i + 1]));
    const byRank = [...data.layers].sort((a, b) => (rank.get(a.unit) ?? 0) - (rank.get(b.unit) ?? 0));
    parts.push(`<section><h2>Per-layer error (one unit quantized at a time)</h2><div id="layer-sqnr" class="wide"></div>
<h3>Sensitivity ranking (most sensitive first)</h3>${table(["rank", "unit", "ops", "output SQNR (dB)", "cosine", "MSE"],
      byRank.map((l) => [rank.get(l.unit) ?? "", l.unit, l.opTypes.join(" + "), dB(l.sqnr), l.cosine.toFixed(6), l.mse.toPrecision(4)]), [true, false, false, true, true, true])}</section>`);
  }
  if (data.tensors.some((t) => t.sqnr !== undefined)) parts.push(`<section><h2>Graph-wise error (whole model quantized)</h2><div id="tensor-sqnr" class="wide"></div></section>`);
  const mp = data.mixedPrecision;
  if (mp) {
    const verdict = mp.met
      ? `<p class="ok">Target met (${escapeHtml(mp.metric)} ≥ ${mp.threshold.toFixed(3)}) with ${mp.float.length} unit${mp.float.length === 1 ? "" : "s"} in float: ${mp.metricValue.toFixed(3)}.</p>`
      : `<p class="bad">Target not reached: even with every candidate in float the ${escapeHtml(mp.metric)} is ${mp.metricValue.toFixed(3)} &lt; ${mp.threshold.toFixed(3)}.</p>`;
    const why = mp.float.length ? `<h3>Kept in float</h3><ul>${mp.float.map((u) => `<li><b>${escapeHtml(u)}</b>: ${escapeHtml(mp.reasons[u] ?? "")}</li>`).join("")}</ul>
<p class="muted">Plan exclusions: ${escapeHtml(mp.exclude.join(", "))}</p>` : "";
    parts.push(`<section><h2>Mixed precision</h2>${verdict}${why}<div id="mp-steps" class="wide"></div>${table(["step", "phase", "unit", "float units", escapeHtml(mp.metric), "meets target"],
      mp.steps.map((s, i) => [i + 1, s.phase, s.unit ?? "", s.float.join(", ") || "(none)", s.metric.toFixed(3), s.meetsTarget ? "yes" : "no"]), [true, false, false, false, true, false])}</section>`);
  }
  if (data.tensors.length) {
    parts.push(`<section><h2>Activation histograms and calibration ranges</h2><p class="muted">Counts on a log scale; lines mark the [min, max] each method picks from the same histogram (dotted: MinMax); the shaded band is the range the model uses.</p>
${table(["tensor", "used", "minmax", "percentile", "entropy", "mse", "SQNR (dB)", "own SQNR (dB)"], data.tensors.map((t) => [
      t.name, rangeText(t.used), rangeText(t.ranges.minmax), rangeText(t.ranges.percentile), rangeText(t.ranges.entropy), rangeText(t.ranges.mse),
      t.sqnr !== undefined ? dB(t.sqnr) : "", t.ownSqnr !== undefined ? dB(t.ownSqnr) : "",
    ]))}
<div class="grid">${data.tensors.map((t, i) => (t.histogram ? `<div id="hist-${i}" class="plot"></div>` : "")).join("")}</div></section>`);
  }
  if (data.weights.length) {
    parts.push(`<section><h2>Per-channel weight ranges</h2><div class="grid">${data.weights.map((_, i) => `<div id="weight-${i}" class="plot"></div>`).join("")}</div></section>`);
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title><style>${STYLE}</style>
<script>${plotly.replace(/<\/script/gi, "<\\/script")}</script></head>
<body><header><h1>${escapeHtml(data.title)}</h1><p>octet quantization report · ${escapeHtml(data.generated)}</p></header>
<main>${parts.join("\n")}</main>
<script type="application/json" id="report-data">${embedJson(data)}</script>
<script>${SCRIPT}</script></body></html>
`;
}

function rangeText(r: [number, number] | undefined): string {
  return r ? `[${r[0].toPrecision(4)}, ${r[1].toPrecision(4)}]` : "";
}
