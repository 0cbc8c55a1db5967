// Energy per delivered image (docs/energy.md) across Tidepool's operating points (4..12 latent channels
// of the 320x240 frame or of a 160x120 one, real device packets) against the device JPEG at equal
// MS-SSIM, in six forms: the file as the device writes it, abbreviated (tables known to the receiver),
// abbreviated with optimised Huffman tables, both at half resolution and the optimised one at quarter
// resolution (upscaled at the receiver). Compute = counted native instructions (QEMU) x a
// modelled CPI x datasheet energy per cycle; radio = airtime x transmit power, per link.
import sharp from "sharp";
import { getBoard } from "../host/core/boards.ts";
import { BYTES_PER_PIXEL, type PixelFormat, unpackRow } from "../host/core/pixel-format.ts";
import type { RgbImage } from "../host/core/types.ts";
import { buildEncoder } from "../host/build/build.ts";
import { buildDeviceJpeg, loadDeviceJpeg, runJpeg } from "../host/build/jpeg/device-jpeg.ts";
import { runNativeEncoder, runNativeJpeg } from "../host/build/native/run.ts";
import { nativeTargetForBoard } from "../host/build/native/targets.ts";
import { NATIVE_CPI } from "../host/build/profile/cost-models.ts";
import { EncoderInstance } from "../host/build/runtime/encoder-instance.ts";
import { devicePacketize } from "../host/build/runtime/device-packetizer.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { photoSet } from "./photo-set.ts";
import { JPEG_CHUNK_OVERHEAD, jpegPacketSizes } from "../host/wire/link/jpeg-link.ts";
import { abbreviateJpeg, abbreviateJpegOptimised, expandAbbreviatedJpeg, expandAbbreviatedJpegOptimised } from "../host/wire/link/jpeg-abbreviated.ts";
import { resizeRgb } from "../host/eval/baselines.ts";
import { CORE_ENERGY, RADIO_LINKS, type RadioLink, computeJoules, radioJoules } from "../host/eval/energy.ts";
import { lowestQualityReaching, memoByQuality } from "../host/eval/equal-quality.ts";
import { msssimReference } from "../host/eval/metrics.ts";
import { packetOverheadBytes, packetVersionFor, parsePacket } from "../host/wire/bitstream/packet-format.ts";
import { packetize } from "../host/wire/bitstream/packetizer.ts";
import { symbolGeometry } from "../host/wire/bitstream/symbol-order.ts";
import { modelTables } from "../host/wire/bitstream/tables.ts";

/**
 * Tidepool's operating points: "8" sends the first 8 channels of the 320x240 frame's latent; "h8" the
 * first 8 of a 160x120 frame's (a QQVGA sensor mode, as the half-resolution JPEG forms assume),
 * upscaled lanczos3 at the receiver. ENERGY_BENCH_CHANNELS=2,3,4,h12 looks elsewhere.
 */
interface Point {
  key: string;
  k: number;
  scale: 1 | 2;
}
const POINTS: Point[] = (process.env.ENERGY_BENCH_CHANNELS ?? "4,6,8,10,12,h6,h8,h12").split(",").map((key) => {
  const m = /^(h?)(\d+)$/.exec(key.trim());
  if (!m || +m[2] < 1) throw new Error(`ENERGY_BENCH_CHANNELS: "${key}" is not a channel count (e.g. 8) or a half-resolution one (h8)`);
  return { key: key.trim(), k: +m[2], scale: m[1] ? 2 : 1 };
});
const KS = POINTS.map((p) => p.key);
const fullPoints = POINTS.filter((p) => p.scale === 1);
if (fullPoints.length === 0) throw new Error("ENERGY_BENCH_CHANNELS: name at least one full-resolution point (the summaries are told there)");
/** The summaries (compute, layouts, Sigfox) are told at the highest full-resolution operating point. */
const TOP = String(Math.max(...fullPoints.map((p) => p.k)));
const MAX_QUALITY = 95; // the 64 KB output buffer holds a 320x240 frame up to here
const BOARDS = ["openmv-h7", "gap8", "k210"];
const W = 320,
  H = 240,
  FORMAT: PixelFormat = "rgb565";
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

interface Variant {
  name: string;
  settings: string;
  scale: 1 | 2 | 4;
  /** The bytes over the air for the device's file at `quality`. */
  air(file: Uint8Array, quality: number): Uint8Array;
  /** Encodes per image: 2 when optimised tables need a statistics pass over the frame first (modelled). */
  passes: number;
}
const frameAt = (scale: number) => ({ width: W / scale, height: H / scale, colour: true });
const VARIANTS: Variant[] = [
  {
    name: "file",
    settings: "the device JPEG file: baseline 4:2:0, Annex K tables scaled by quality, standard Huffman tables, SOI+DQT+SOF0+4 DHT+SOS+EOI (603 B of headers)",
    scale: 1,
    air: (f) => f,
    passes: 1,
  },
  {
    name: "abbr",
    settings: "abbreviated: the receiver knows the tables and the frame; 1 quality byte + the entropy-coded scan (host/wire/link/jpeg-abbreviated.ts)",
    scale: 1,
    air: (f, q) => abbreviateJpeg(f, q, frameAt(1)),
    passes: 1,
  },
  {
    name: "abbr+opt",
    settings:
      "abbreviated with per-image optimised Huffman tables (libjpeg's optimize_coding on the same coefficients; the 4 tables sent as DHT carries them); compute modelled as two counted encodes (statistics pass, then coding)",
    scale: 1,
    air: (f, q) => abbreviateJpegOptimised(f, q, frameAt(1)),
    passes: 2,
  },
  {
    name: "half abbr",
    settings: "160x120 frame (lanczos3 from the camera frame; a QQVGA sensor mode on the board), abbreviated; the receiver upscales lanczos3 to 320x240",
    scale: 2,
    air: (f, q) => abbreviateJpeg(f, q, frameAt(2)),
    passes: 1,
  },
  {
    name: "half opt",
    settings: "160x120 as above, abbreviated with optimised Huffman tables (two counted encodes)",
    scale: 2,
    air: (f, q) => abbreviateJpegOptimised(f, q, frameAt(2)),
    passes: 2,
  },
  {
    name: "qtr opt",
    settings: "80x60 (a quarter of each side), abbreviated with optimised Huffman tables; upscaled lanczos3 at the receiver",
    scale: 4,
    air: (f, q) => abbreviateJpegOptimised(f, q, frameAt(4)),
    passes: 2,
  },
];
const SCALES = [1, 2, 4] as const;

function asSeen(frame: Uint8Array, w: number, h: number, f: PixelFormat): RgbImage {
  const out = new Uint8Array(w * h * 3),
    bpp = BYTES_PER_PIXEL[f];
  for (let y = 0; y < h; y++) out.set(unpackRow(frame.subarray(y * w * bpp, (y + 1) * w * bpp), w, f, 3), y * w * 3);
  return { width: w, height: h, data: out };
}

const decodeJpeg = async (file: Uint8Array): Promise<RgbImage> => {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
};

interface JpegPoint {
  quality: number;
  msssim: number;
  file: Uint8Array;
}
interface Photo {
  /** The camera frame at each scale (1: 320x240). */
  frames: Record<number, Uint8Array>;
  tp: Record<string, { msssim: number; packets: Record<string, number[]> }>;
  /** The same-run baseline on the links whose packets are compact: version-1 packets (host packetizer, forced). */
  v1: Record<string, Record<string, number[]>>;
  /** Header + CRC bytes summed over the Sigfox packets at the highest operating point (docs/bitstream.md §5), compact and version 1. */
  sigfoxHeaderBytes: number;
  sigfoxHeaderBytesV1: number;
  /** Per variant and channel count: the chosen quality and the bytes over the air (null: no quality reaches). */
  jpeg: Record<string, Record<string, { quality: number; msssim: number; bytes: number } | null>>;
}

export default async function energyBench() {
  const t0 = Date.now();
  const { loadTidepool } = await import("../host/eval/tidepool-codec.ts");
  const status = await loadTidepool({ trainImages: 100 });
  if (!status.available) {
    console.log(`energy per delivered image: skipped (${status.reason})`);
    return;
  }
  const codec = status.codec;
  const { paths, source } = photoSet(Number(process.env.ENERGY_BENCH_PHOTOS ?? Infinity));
  console.log(
    `settings: shipped model (${codec.model.meta.name ?? "model"}, ${codec.channels} channels) and models/decoder.onnx; ${paths.length} photos: ${source}`,
  );
  console.log(
    `Tidepool at ${KS.join(", ")} leading channels (hN: N channels of a 160x120 frame, lanczos3 from the camera frame as a QQVGA sensor mode, the decoded image upscaled lanczos3 to 320x240): the built encoder's own packetizer (tp_pk_*, the packets a board sends), packets sized to each link; MS-SSIM of the server decoder's image`,
  );
  console.log(
    `JPEG: the device JPEG (assembly/jpeg/encoder.ts) at the lowest quality 1..${MAX_QUALITY} whose MS-SSIM (libjpeg decode via sharp) reaches Tidepool's on that photo at that channel count (bisection); every form is decoded from the bytes that go over the air`,
  );
  for (const v of VARIANTS) console.log(`  ${v.name.padEnd(9)} ${v.settings}`);
  console.log(
    `MS-SSIM: host/eval/metrics.ts (5 scales) against the RGB565 frame as the camera delivers it; JPEG over a link: chunks with a ${JPEG_CHUNK_OVERHEAD}-byte header (host/wire/link/jpeg-link.ts)`,
  );

  const jpegBuild = await buildDeviceJpeg(W, 64 * 1024);
  const jex = await loadDeviceJpeg(jpegBuild);
  const encoders = {
    1: await EncoderInstance.load((await buildEncoder({ board: "k210", width: W, height: H, format: FORMAT })).wasm),
    2: await EncoderInstance.load((await buildEncoder({ board: "k210", width: W / 2, height: H / 2, format: FORMAT })).wasm),
  };
  const tables = modelTables(codec.model);
  const compactLinks = RADIO_LINKS.filter((l) => packetVersionFor(l.payloadBytes) === 2);
  console.log(
    `packet layout: compact (version 2, docs/bitstream.md §5) on ${compactLinks.map((l) => `${l.name} (${l.payloadBytes} B)`).join(", ")}; version 1 elsewhere; same-run baseline: version-1 packets on those links (host packetizer)`,
  );
  const photos: Photo[] = [];
  for (const path of paths) {
    const frame = toFrame(await loadRgb(path, { width: W, height: H }), FORMAT);
    const ref = asSeen(frame, W, H, FORMAT);
    const frames: Photo["frames"] = { 1: frame };
    for (const scale of SCALES.slice(1)) frames[scale] = toFrame(await resizeRgb(ref, W / scale, H / scale), FORMAT);
    const msRef = msssimReference(ref);
    const tp: Photo["tp"] = {};
    const v1: Photo["v1"] = {};
    let sigfoxHeaderBytes = 0,
      sigfoxHeaderBytesV1 = 0;
    // One encode per frame size; each encoder keeps its latent for its packetizer (tp_pk_*).
    const latents = Object.fromEntries(
      [...new Set(POINTS.map((p) => p.scale))].map((scale) => [scale, encoders[scale].encode(frames[scale], W / scale, H / scale, FORMAT)]),
    );
    for (const { k, scale, key } of POINTS) {
      const enc = encoders[scale];
      const latent = latents[scale];
      const slots = symbolGeometry(latent, tables).totalSlots;
      const headerBytes = (sent: Uint8Array[]) =>
        sent.reduce((s, p) => s + packetOverheadBytes(parsePacket(p, tables.id, latent.width, latent.height, slots), p.length), 0);
      const packets: Record<string, number[]> = {};
      v1[key] = {};
      for (const l of RADIO_LINKS) {
        const sent = devicePacketize(enc, { imageId: 1, packetBytes: l.payloadBytes, channels: k }).packets;
        packets[l.name] = sent.map((p) => p.length);
        if (packetVersionFor(l.payloadBytes) !== 2) continue;
        const old = packetize(latent, tables, { imageId: 1, packetBytes: l.payloadBytes, channels: k, version: 1 }).packets;
        v1[key][l.name] = old.map((p) => p.length);
        if (l.name === "sigfox" && key === TOP) {
          sigfoxHeaderBytes = headerBytes(sent);
          sigfoxHeaderBytesV1 = headerBytes(old);
        }
      }
      const decoded = await codec.decodePrefix(latent, k);
      tp[key] = { msssim: msRef.msssim(scale === 1 ? decoded : await resizeRgb(decoded, W, H)), packets };
    }
    const files = SCALES.map((scale) => {
      const cache = new Map<number, JpegPoint>();
      const point = async (q: number): Promise<JpegPoint> => {
        let p = cache.get(q);
        if (!p) {
          const file = runJpeg(jex, frames[scale], W / scale, H / scale, FORMAT, q);
          const dec = await decodeJpeg(file);
          p = { quality: q, file, msssim: msRef.msssim(scale === 1 ? dec : await resizeRgb(dec, W, H)) };
          cache.set(q, p);
        }
        return p;
      };
      return { point, score: memoByQuality(async (q) => (await point(q)).msssim) };
    });
    const jpeg: Photo["jpeg"] = Object.fromEntries(VARIANTS.map((v) => [v.name, {}]));
    for (const k of KS)
      for (const [si, scale] of SCALES.entries()) {
        const f = files[si];
        const q = await lowestQualityReaching(tp[k].msssim, f.score, 1, MAX_QUALITY);
        const p = q === null ? null : await f.point(q);
        for (const v of VARIANTS.filter((x) => x.scale === scale)) {
          if (!p) {
            jpeg[v.name][k] = null;
            continue;
          }
          const air = v.air(p.file, p.quality);
          await checkReceiverDecodes(v, air, p.file);
          jpeg[v.name][k] = { quality: p.quality, msssim: p.msssim, bytes: air.length };
        }
      }
    photos.push({ frames, tp, v1, sigfoxHeaderBytes, sigfoxHeaderBytesV1, jpeg });
  }
  const tQuality = Date.now();

  // Compute: counted instructions per board. Tidepool: encode + packetizer at k channels (222-B packets);
  // JPEG: its whole encode, counted per photo at the quality it was given.
  const tpCompute: Record<string, Record<string, number>> = {};
  const jpegCompute: Record<string, Record<string, number[]>> = {}; // board -> "scale:k" -> per photo joules of one encode
  for (const name of BOARDS) {
    const board = getBoard(name),
      t = nativeTargetForBoard(name)!,
      core = CORE_ENERGY[name],
      cpi = NATIVE_CPI[board.costModel].cpi;
    const built = await buildEncoder({ board, width: W, height: H, format: FORMAT, runtime: "aot" });
    const builtHalf = POINTS.some((p) => p.scale === 2) ? await buildEncoder({ board, width: W / 2, height: H / 2, format: FORMAT, runtime: "aot" }) : null;
    tpCompute[name] = {};
    for (const { key, k, scale } of POINTS) {
      const n = runNativeEncoder(
        (scale === 1 ? built : builtHalf!).wasm,
        photos.map((p) => p.frames[scale]),
        { width: W / scale, height: H / scale, format: FORMAT },
        { target: t.name, boundsChecks: "off", packets: { packetBytes: 222, channels: k } },
      );
      tpCompute[name][key] = computeJoules(mean(n.encodeInstructions) + mean(n.packetInstructions), cpi, core);
    }
    // One QEMU run per (scale, quality) with every frame that needs it.
    const need = new Map<string, number[]>();
    for (const [i, p] of photos.entries())
      for (const k of KS)
        for (const scale of SCALES) {
          const j = p.jpeg[VARIANTS.find((v) => v.scale === scale)!.name][k];
          if (j && !need.get(`${scale}:${j.quality}`)?.includes(i)) need.set(`${scale}:${j.quality}`, [...(need.get(`${scale}:${j.quality}`) ?? []), i]);
        }
    const counted = new Map<string, number>(); // "scale:q:photo" -> instructions
    for (const [key, idx] of need) {
      const [scale, q] = key.split(":").map(Number);
      const r = runNativeJpeg(
        jpegBuild.wasm,
        idx.map((i) => photos[i].frames[scale]),
        { width: W / scale, height: H / scale, format: FORMAT, quality: q },
        { target: t.name, boundsChecks: "off" },
      );
      idx.forEach((i, n) => counted.set(`${key}:${i}`, r.encodeInstructions[n]));
    }
    jpegCompute[name] = {};
    for (const k of KS)
      for (const scale of SCALES)
        jpegCompute[name][`${scale}:${k}`] = photos.map((p, i) => {
          const j = p.jpeg[VARIANTS.find((v) => v.scale === scale)!.name][k];
          return j ? computeJoules(counted.get(`${scale}:${j.quality}:${i}`)!, cpi, core) : Number.NaN;
        });
  }
  const tCount = Date.now();

  // Per photo energies; a variant's mean only where it reaches the target on every photo.
  const tpJ = (board: string, l: RadioLink, k: string, p: Photo, layout: "device" | "v1" = "device") =>
    tpCompute[board][k] + radioJoules(l, layout === "v1" ? p.v1[k][l.name] : p.tp[k].packets[l.name]);
  const jpJ = (board: string, l: RadioLink, k: string, v: Variant, p: Photo, i: number) => {
    const j = p.jpeg[v.name][k];
    return j ? v.passes * jpegCompute[board][`${v.scale}:${k}`][i] + radioJoules(l, jpegPacketSizes(j.bytes, l.payloadBytes)) : Number.NaN;
  };
  const perImageBest = (board: string, l: RadioLink, k: string, p: Photo, i: number) =>
    Math.min(...VARIANTS.map((v) => jpJ(board, l, k, v, p, i)).filter(Number.isFinite));
  const reach = (v: Variant, k: string) => photos.filter((p) => p.jpeg[v.name][k]).length;
  /** Means over the photos: Tidepool, each JPEG form (NaN unless it reaches on every photo), the cheapest form, the cheapest per photo. */
  const energies = (board: string, l: RadioLink, k: string, layout: "device" | "v1" = "device") => {
    const tp = mean(photos.map((p) => tpJ(board, l, k, p, layout)));
    const forms = VARIANTS.map((v) => mean(photos.map((p, i) => jpJ(board, l, k, v, p, i))));
    const bi = forms.reduce((b, e, i) => (Number.isFinite(e) && (b < 0 || e < forms[b]) ? i : b), -1);
    return { tp, forms, best: { name: VARIANTS[bi].name, e: forms[bi] }, perImage: mean(photos.map((p, i) => perImageBest(board, l, k, p, i))) };
  };
  const msAt = (k: string) => mean(photos.map((p) => p.tp[k].msssim));

  console.log(
    `\n=== operating points: mean over ${photos.length} photos (bytes over the air; Tidepool in 222-B packets and, in brackets, SF10's 51-B packets; JPEG before its chunk headers) ===`,
  );
  console.log(`channels  Tidepool MS-SSIM  bytes (51-B)   ${VARIANTS.map((v) => `${v.name} (q median) bytes`.padStart(24)).join(" ")}`);
  for (const k of KS) {
    const cells = VARIANTS.map((v) => {
      const js = photos.map((p) => p.jpeg[v.name][k]);
      if (js.some((j) => !j)) return `n/a (${reach(v, k)}/${photos.length} reach)`.padStart(24);
      const qs = js.map((j) => j!.quality).sort((a, b) => a - b);
      return `(q${qs[qs.length >> 1]}) ${mean(js.map((j) => j!.bytes)).toFixed(0)}`.padStart(24);
    });
    const tpBytes = (link: string) => mean(photos.map((p) => p.tp[k].packets[link].reduce((s, b) => s + b, 0))).toFixed(0);
    console.log(
      `${String(k).padStart(8)}  ${msAt(k).toFixed(4).padStart(16)}  ${`${tpBytes("lora-sf7")} (${tpBytes("lora-sf10")})`.padStart(12)}   ${cells.join(" ")}`,
    );
  }

  const sf10 = RADIO_LINKS.find((l) => l.name === "lora-sf10")!;
  console.log(
    `\n=== energy at LoRa SF10 (51-B packets, ${(sf10.txWatts * 1000).toFixed(0)} mW): mJ per delivered image (Tidepool / JPEG); best form = the JPEG form cheapest on average, per image = the cheapest form chosen per photo (an oracle) ===`,
  );
  console.log(`board        ch  Tidepool mJ  ${VARIANTS.map((v) => `${v.name} mJ (ratio)`.padStart(19)).join(" ")}   best form (ratio)  per image`);
  const summary: Array<{ board: string; k: string; vsFile: number; vsBest: number; vsPerImage: number }> = [];
  for (const board of BOARDS)
    for (const k of KS) {
      const e = energies(board, sf10, k);
      const cells = e.forms.map((f) => (Number.isFinite(f) ? `${(1000 * f).toFixed(0)} (${(e.tp / f).toFixed(2)}x)` : "n/a").padStart(19));
      summary.push({ board, k, vsFile: e.tp / e.forms[0], vsBest: e.tp / e.best.e, vsPerImage: e.tp / e.perImage });
      console.log(
        `${board.padEnd(11)} ${String(k).padStart(3)}  ${(1000 * e.tp).toFixed(0).padStart(11)}  ${cells.join(" ")}  ${`${e.best.name} (${(e.tp / e.best.e).toFixed(2)}x)`.padStart(18)}  ${(e.tp / e.perImage).toFixed(2).padStart(8)}x`,
      );
    }
  const holds = (key: "vsFile" | "vsBest" | "vsPerImage") =>
    KS.filter((k) => summary.filter((s) => s.k === k).every((s) => s[key] <= 0.5))
      .map((k) => `${k} ch (MS-SSIM ${msAt(k).toFixed(3)})`)
      .join(", ") || "nowhere";
  console.log(
    `goal <= 0.5x at SF10 on every board: against the JPEG file at ${holds("vsFile")}; against the best JPEG form at ${holds("vsBest")}; against the per-image best at ${holds("vsPerImage")}`,
  );
  console.log("StarFish claims 2.5x JPEG's energy efficiency: 0.40x in these terms");

  console.log("\n=== every link: Tidepool / best JPEG form (Tidepool / JPEG file in brackets) ===");
  console.log(`board        ch  ${RADIO_LINKS.map((l) => l.name.padStart(14)).join(" ")}`);
  for (const board of BOARDS)
    for (const k of KS) {
      const cells = RADIO_LINKS.map((l) => {
        const e = energies(board, l, k);
        return `${(e.tp / e.best.e).toFixed(2)} (${(e.tp / e.forms[0]).toFixed(2)})`.padStart(14);
      });
      console.log(`${board.padEnd(11)} ${String(k).padStart(3)}  ${cells.join(" ")}`);
    }
  const computeLine = BOARDS.map(
    (b) =>
      `${b} Tidepool ${(1000 * tpCompute[b][TOP]).toFixed(1)} mJ (${TOP} ch), JPEG file ${(1000 * mean(jpegCompute[b][`1:${TOP}`])).toFixed(1)} mJ, half ${(1000 * mean(jpegCompute[b][`2:${TOP}`].filter(Number.isFinite))).toFixed(1)} mJ`,
  );
  console.log(`compute per image (at Tidepool's ${TOP}-channel MS-SSIM): ${computeLine.join("; ")}`);

  console.log(
    `\n=== the compact layout against version 1 (same run): Tidepool / best JPEG form (Tidepool / JPEG file), compact -> version 1; mean bytes per image at ${TOP} channels ===`,
  );
  console.log(`board        ch  ${compactLinks.map((l) => l.name.padStart(30)).join(" ")}`);
  for (const board of BOARDS)
    for (const k of KS) {
      const cells = compactLinks.map((l) => {
        const e = energies(board, l, k),
          o = energies(board, l, k, "v1");
        return `${(e.tp / e.best.e).toFixed(2)} (${(e.tp / e.forms[0]).toFixed(2)}) <- ${(o.tp / o.best.e).toFixed(2)} (${(o.tp / o.forms[0]).toFixed(2)})`.padStart(
          30,
        );
      });
      console.log(`${board.padEnd(11)} ${String(k).padStart(3)}  ${cells.join(" ")}`);
    }
  for (const l of compactLinks) {
    const sum = (a: number[]) => a.reduce((s, b) => s + b, 0);
    const now = mean(photos.map((p) => sum(p.tp[TOP].packets[l.name]))),
      was = mean(photos.map((p) => sum(p.v1[TOP][l.name])));
    const n = mean(photos.map((p) => p.tp[TOP].packets[l.name].length)),
      nWas = mean(photos.map((p) => p.v1[TOP][l.name].length));
    console.log(
      `  ${l.name}: ${now.toFixed(0)} B in ${n.toFixed(0)} packets (compact) vs ${was.toFixed(0)} B in ${nWas.toFixed(0)} (version 1): ${((100 * (now - was)) / was).toFixed(1)} %; 222-B packets (version 1) ${mean(photos.map((p) => sum(p.tp[TOP].packets["lora-sf7"]))).toFixed(0)} B`,
    );
  }

  sigfoxReport(photos);
  console.log(
    `\nruntime: ${((tQuality - t0) / 1000).toFixed(0)} s encoding and equal-quality search, ${((tCount - tQuality) / 1000).toFixed(0)} s counting under QEMU, ${((Date.now() - t0) / 1000).toFixed(0)} s in all`,
  );
}

/** Every form must decode at the receiver to exactly what the device's file decodes to. */
async function checkReceiverDecodes(v: Variant, air: Uint8Array, file: Uint8Array) {
  const f = frameAt(v.scale);
  const rebuilt = v.name === "file" ? air : v.passes === 2 ? expandAbbreviatedJpegOptimised(air, f) : expandAbbreviatedJpeg(air, f);
  if (rebuilt === file) return;
  const [a, b] = await Promise.all([decodeJpeg(rebuilt), decodeJpeg(file)]);
  if (a.data.length !== b.data.length || a.data.some((x, i) => x !== b.data[i]))
    throw new Error(`${v.name}: the receiver's decode differs from the device file's`);
}

/** Sigfox: per-packet header and CRC in a 12-byte payload, measured on its packets, compact and version 1. */
function sigfoxReport(photos: Photo[]) {
  const sig = RADIO_LINKS.find((l) => l.name === "sigfox")!;
  const k = TOP;
  const msgs = mean(photos.map((p) => p.tp[k].packets.sigfox.length));
  const bytes = mean(photos.map((p) => p.tp[k].packets.sigfox.reduce((s, b) => s + b, 0)));
  const header = mean(photos.map((p) => p.sigfoxHeaderBytes));
  const chunk = sig.payloadBytes - JPEG_CHUNK_OVERHEAD;
  const jpeg = (v: string) => photos.map((p) => jpegPacketSizes(p.jpeg[v][k]!.bytes, sig.payloadBytes));
  const airOf = (sizes: number[][]) => mean(sizes.map((s) => s.reduce((t, b) => t + sig.airtime(b), 0)));
  const tpAir = airOf(photos.map((p) => p.tp[k].packets.sigfox));
  const v1Msgs = mean(photos.map((p) => p.v1[k].sigfox.length)),
    v1Bytes = mean(photos.map((p) => p.v1[k].sigfox.reduce((s, b) => s + b, 0))),
    v1Header = mean(photos.map((p) => p.sigfoxHeaderBytesV1));
  const v1Air = airOf(photos.map((p) => p.v1[k].sigfox));
  console.log(`\n=== Sigfox (${sig.payloadBytes}-B payload, ~14 B of framing, sent 3 times): ${k} channels ===`);
  console.log(
    `Tidepool, compact packets: ${msgs.toFixed(0)} messages of ${(bytes / msgs).toFixed(1)} B per image, ${(header / msgs).toFixed(2)} B of each packet header + CRC (docs/bitstream.md §5), ${((bytes - header) / msgs).toFixed(2)} B of coded symbols; radio / JPEG file ${(tpAir / airOf(jpeg("file"))).toFixed(2)}x, / abbreviated ${(tpAir / airOf(jpeg("abbr"))).toFixed(2)}x`,
  );
  console.log(
    `  version-1 packets (same run): ${v1Msgs.toFixed(0)} messages, ${(v1Header / v1Msgs).toFixed(2)} B header + CRC, ${((v1Bytes - v1Header) / v1Msgs).toFixed(2)} B of symbols; radio / file ${(v1Air / airOf(jpeg("file"))).toFixed(2)}x, / abbreviated ${(v1Air / airOf(jpeg("abbr"))).toFixed(2)}x`,
  );
  console.log(
    `  the JPEG chunk carries ${chunk} B of file behind a ${JPEG_CHUNK_OVERHEAD}-B header: file ${mean(jpeg("file").map((s) => s.length)).toFixed(0)} messages, abbreviated ${mean(jpeg("abbr").map((s) => s.length)).toFixed(0)}`,
  );
  const at222 = mean(photos.map((p) => p.tp[k].packets["lora-sf7"].reduce((s, b) => s + b, 0)));
  console.log(`  for scale: the same ${k} channels take ${at222.toFixed(0)} B in 222-B packets, ${bytes.toFixed(0)} B in 12-B packets`);
}
