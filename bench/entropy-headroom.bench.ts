// What a better entropy model could still take off the shipped encoder's bytes (docs/energy.md, "What
// the goal needs"): ideal code lengths under conditional tables fitted on the imagenet-sample training
// split (224² views) and scored on the energy bench's 31 camera frames (320x240 RGB565), for contexts
// of increasing reach up to an oracle (host/eval/entropy-headroom.ts), against the same run's real
// packets. ENTROPY_BENCH_TRAIN=N fits on N training images (800 by default), ENTROPY_BENCH_PHOTOS=N
// scores the first N photos.
import { readFileSync } from "node:fs";
import { DEFAULT_MODEL_PATH } from "../host/build/build.ts";
import { referenceEncode } from "../host/build/reference/encoder.ts";
import { trainingLatents, TRAINING_SOURCE } from "../host/build/training-latents.ts";
import type { Latent } from "../host/core/types.ts";
import { CONTEXT_RULES, type ContextRule, fitConditional, idealBits } from "../host/eval/entropy-headroom.ts";
import { loadRgb, toFrame } from "../host/image/load.ts";
import { readModel } from "../host/model/format.ts";
import { packetOverheadBytes, parsePacket } from "../host/wire/bitstream/packet-format.ts";
import { packetize } from "../host/wire/bitstream/packetizer.ts";
import { symbolGeometry } from "../host/wire/bitstream/symbol-order.ts";
import { modelTables } from "../host/wire/bitstream/tables.ts";
import { photoSet } from "./photo-set.ts";

const KS = [4, 8, 12];
const LINKS = [
  { name: "222-B packets (version 1, SF7-SF9)", bytes: 222 },
  { name: "51-B packets (compact, SF10-SF12)", bytes: 51 },
];
const W = 320,
  H = 240;
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

export default async function entropyHeadroomBench() {
  const t0 = Date.now();
  const model = readModel(new Uint8Array(readFileSync(DEFAULT_MODEL_PATH)), DEFAULT_MODEL_PATH);
  const tables = modelTables(model);
  const levels = Math.max(...model.latent.levels);
  const offsets = model.latent.offsets;
  const trainN = Number(process.env.ENTROPY_BENCH_TRAIN ?? 800);
  const { paths, source } = photoSet(Number(process.env.ENTROPY_BENCH_PHOTOS ?? Infinity));
  console.log(`settings: shipped model ${DEFAULT_MODEL_PATH} (${model.meta.name ?? "model"}, ${model.latent.levels.length} channels, ${levels} levels)`);
  console.log(
    `tables fitted on ${trainN} images of the ${TRAINING_SOURCE}, 224x224 cover crops, add-1/2 smoothing; scored on ${paths.length} photos: ${source}`,
  );
  console.log("context rules (ideal code length, -log2 p; no codec reaches below it):");
  for (const [rule, what] of Object.entries(CONTEXT_RULES)) console.log(`  ${rule.padEnd(16)} ${what}`);
  console.log(
    `same-run baseline: the shipped bitstream's real packets (host packetizer, bit-exact with the device), whose range coder sees the left/upper symbol inside a ${tables.blockWidth}x${tables.blockHeight} block of one packet (docs/bitstream.md §3)`,
  );

  const training = (await trainingLatents(model, { size: 224, limit: trainN })).latents;
  const fitted = Object.fromEntries((Object.keys(CONTEXT_RULES) as ContextRule[]).map((r) => [r, fitConditional(training, r, levels, offsets)]));
  const frames: Latent[] = [];
  for (const p of paths) frames.push(referenceEncode(model, toFrame(await loadRgb(p, { width: W, height: H }), "rgb565"), W, H, "rgb565"));

  for (const link of LINKS) {
    console.log(`\n=== ${link.name}: mean bytes per image; ideal lengths / the real packets' payload, and the saving on all bytes over the air ===`);
    console.log(
      `channels  real total  real payload  ${Object.keys(CONTEXT_RULES)
        .map((r) => r.padStart(24))
        .join("")}`,
    );
    for (const k of KS) {
      const real = frames.map((lat) => {
        const packets = packetize(lat, tables, { imageId: 1, packetBytes: link.bytes, channels: k }).packets;
        const slots = symbolGeometry(lat, tables).totalSlots;
        const total = packets.reduce((s, p) => s + p.length, 0);
        const header = packets.reduce((s, p) => s + packetOverheadBytes(parsePacket(p, tables.id, lat.width, lat.height, slots), p.length), 0);
        return { total, payload: total - header };
      });
      const total = mean(real.map((r) => r.total)),
        payload = mean(real.map((r) => r.payload));
      const cells = Object.values(fitted).map((t) => {
        const bytes = mean(frames.map((lat) => idealBits(lat, t, k) / 8));
        const saving = (payload - bytes) / total;
        return `${bytes.toFixed(0)} (${(bytes / payload).toFixed(3)}, ${saving >= 0 ? "-" : "+"}${Math.abs(100 * saving).toFixed(1)} %)`.padStart(24);
      });
      console.log(`${String(k).padStart(8)}  ${total.toFixed(0).padStart(10)}  ${payload.toFixed(0).padStart(12)}  ${cells.join("")}`);
    }
  }
  console.log(
    "\nreading: the oracle column is a generous estimate (side information free, neighbours not yet sent known) of what a prior conditioned on the latent's neighbourhood and other channels (a hyperprior, a channel-conditional or spatial context model) could save on this encoder's latents; more needs a different encoder, trained with that prior",
  );
  console.log(`time: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
