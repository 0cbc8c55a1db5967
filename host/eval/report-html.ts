// A self-contained HTML page of an evaluation: rate–distortion curves as inline SVG (no scripts, no
// external assets) and the tables behind them.
import type { RdCurve, RdResult } from "./rd.ts";

const COLOURS: Record<string, string> = {
  tidepool: "#d62728",
  "jpeg-turbo": "#1f77b4",
  "jpeg-mozjpeg": "#ff7f0e",
  webp: "#2ca02c",
  "jpeg-progressive": "#9467bd",
};
const OTHER = ["#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
/** One colour per codec; its full-resolution (dashed) and best-scale (solid) curves share it. */
const colourOf = (name: string, i: number) => COLOURS[name.replace(/-bestscale$/, "")] ?? OTHER[i % OTHER.length];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

function ticks(lo: number, hi: number, n = 6): number[] {
  const raw = (hi - lo) / n,
    mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(+v.toPrecision(6));
  return out;
}

/** One SVG chart of `metric` against `rate` for every curve's fully reached points. */
export function rdChart(curves: RdCurve[], rate: "bpp" | "bytes", metric: "msssim" | "psnr", title: string): string {
  const W = 680,
    H = 400,
    L = 60,
    R = 200,
    T = 30,
    B = 45;
  const series = curves
    .map((c) => ({ c, pts: c.points.filter((p) => p.reached === p.of && p.of > 0 && Number.isFinite(p[metric])).sort((a, b) => a[rate] - b[rate]) }))
    .filter((s) => s.pts.length > 0);
  const all = series.flatMap((s) => s.pts);
  if (all.length === 0) return `<p>${esc(title)}: no points reached by every image.</p>`;
  const x0 = 0,
    x1 = Math.max(...all.map((p) => p[rate])) * 1.05;
  let y0 = Math.min(...all.map((p) => p[metric])),
    y1 = Math.max(...all.map((p) => p[metric]));
  const pad = (y1 - y0) * 0.05 || 0.01;
  y0 -= pad;
  y1 += pad;
  const sx = (v: number) => L + ((v - x0) / (x1 - x0)) * (W - L - R),
    sy = (v: number) => H - B - ((v - y0) / (y1 - y0)) * (H - T - B);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<text x="${L}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`,
  ];
  for (const t of ticks(x0, x1))
    parts.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${sx(t)}" y="${H - B + 14}" text-anchor="middle">${t}</text>`,
    );
  for (const t of ticks(y0, y1))
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/><text x="${L - 4}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${rate === "bpp" ? "bits per pixel" : "bytes per image"}</text>`,
    `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${metric === "msssim" ? "MS-SSIM (RGB)" : "PSNR (dB, RGB)"}</text>`,
  );
  series.forEach(({ c, pts }, i) => {
    const col = colourOf(c.name, i),
      dash = c.name.endsWith("-bestscale") || c.name === "tidepool" ? "" : ` stroke-dasharray="5 3"`;
    parts.push(
      `<polyline fill="none" stroke="${col}" stroke-width="${c.name === "tidepool" ? 2.5 : 1.5}"${dash} points="${pts.map((p) => `${sx(p[rate]).toFixed(1)},${sy(p[metric]).toFixed(1)}`).join(" ")}"/>`,
    );
    for (const p of pts)
      parts.push(
        `<circle cx="${sx(p[rate]).toFixed(1)}" cy="${sy(p[metric]).toFixed(1)}" r="2.5" fill="${col}"><title>${esc(`${c.name} ${p.label}: ${p.bytes.toFixed(0)} B, ${p.bpp.toFixed(3)} bpp, ${p[metric].toFixed(4)}`)}</title></circle>`,
      );
    const ly = T + 8 + i * 15;
    parts.push(
      `<line x1="${W - R + 10}" x2="${W - R + 30}" y1="${ly}" y2="${ly}" stroke="${col}" stroke-width="2"${dash}/><text x="${W - R + 34}" y="${ly + 4}">${esc(c.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

function table(c: RdCurve): string {
  const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const rows = c.points.map(
    (p) =>
      `<tr><td>${esc(p.label)}</td><td>${p.reached}/${p.of}</td><td>${f(p.bytes, 0)}</td><td>${f(p.bpp, 4)}</td><td>${f(p.psnr, 2)}</td><td>${f(p.msssim, 4)}</td></tr>`,
  );
  return `<h3>${esc(c.name)}</h3><p class="s">${esc(c.settings)}</p><table><tr><th>point</th><th>images reached</th><th>bytes</th><th>bpp</th><th>PSNR dB</th><th>MS-SSIM</th></tr>${rows.join("")}</table>`;
}

export function renderHtml(r: RdResult, extra = ""): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Tidepool evaluation</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}.s{color:#555;font-size:90%}</style></head><body>
<h1>Tidepool rate–distortion evaluation</h1>
<p>${r.images.length} images (${esc(r.view)}): ${esc(r.images.join(", "))}.</p>
<p>Tidepool: ${esc(r.tidepool)}${r.rate ? `; rate = ${esc(r.rate)}` : ""}.</p>
<p class="s">Baseline points are means over images of each image's metric at exactly the budget (quality searched per image, linear interpolation between the bracketing files); a point is drawn only when every image reaches it. Dashed: full resolution only; solid: best of 1×/2×/4× downscaling (same colour per codec); Tidepool thick red. Metrics: 5-scale MS-SSIM and PSNR on 8-bit RGB (docs/evaluation.md).</p>
${rdChart(r.curves, "bpp", "msssim", "MS-SSIM vs rate")}
${rdChart(r.curves, "bpp", "psnr", "PSNR vs rate")}
${extra}
<h2>Points</h2>
${r.curves.map(table).join("\n")}
</body></html>
`;
}
