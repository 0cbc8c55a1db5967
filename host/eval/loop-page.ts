// The page `npm start` writes (out/npm-start/index.html): each sample photo as the camera saw it beside
// what the gateway decoded from the uplinks that survived the virtual radio, with the figures of the
// trip. Self-contained (images are files beside it), no scripts.
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export interface LoopRow {
  name: string;
  /** File names relative to the page. */
  camera: string;
  decoded: string | null;
  packets: number;
  received: number;
  bytes: number;
  airtimeS: number;
  psnr: number | null;
  msssim: number | null;
  labels: string[];
  note: string;
}

export interface LoopSummary {
  board: string;
  link: string;
  loss: string;
  gatewayUrl: string;
  devEui: string;
  airtimeS: number;
  clockS: number;
  seconds: number;
}

export function loopPage(rows: LoopRow[], s: LoopSummary): string {
  const fig = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? "–" : v.toFixed(d));
  const body = rows
    .map(
      (r) => `<tr>
<td><img src="${esc(r.camera)}" alt="camera frame"><br>${esc(r.name)}</td>
<td>${r.decoded ? `<img src="${esc(r.decoded)}" alt="decoded">` : "<em>no preview</em>"}<br>${esc(r.note)}</td>
<td>${r.received} / ${r.packets}</td><td>${r.bytes}</td><td>${r.airtimeS.toFixed(2)}</td><td>${fig(r.psnr, 2)}</td><td>${fig(r.msssim, 4)}</td>
<td>${r.labels.map(esc).join("<br>") || "–"}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidepool: npm start</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}img{width:320px;image-rendering:auto}</style>
</head><body>
<h1>Tidepool over a simulated LoRaWAN link</h1>
<p>Virtual ${esc(s.board)} (MicroPython) → its camera → on-device encoder and packetizer (WASM) → virtual LoRa-E5 modem
(${esc(s.link)}; loss ${esc(s.loss)}) → ChirpStack v4 uplink events → Tidepool gateway (${esc(s.gatewayUrl)}) → decoded previews.
Device ${esc(s.devEui)}; ${s.airtimeS.toFixed(1)} s on air over ${(s.clockS / 3600).toFixed(2)} h of radio time (the simulated clock); the run took ${s.seconds.toFixed(0)} s.</p>
<table><tr><th>camera frame</th><th>decoded by the gateway</th><th>packets received / sent</th><th>bytes sent</th><th>airtime s</th><th>PSNR dB</th><th>MS-SSIM</th><th>MobileNetV2 top-5 (task decoder)</th></tr>
${body}
</table>
</body></html>
`;
}
