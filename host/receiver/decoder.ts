// Server-side decoder: dequantize the latent symbols, mark what is missing as training did
// (value 0, mask 0), and run the ONNX decoder (models/decoder.onnx) with onnxruntime-node.
import { existsSync } from "node:fs";
import { repoPath } from "../core/paths.ts";
import type { ServerDecoder } from "../core/types.ts";
import { cropTopLeft } from "../image/crop.ts";
import { TidepoolError, EXIT_FAILURE } from "../core/errors.ts";

export const DEFAULT_DECODER_PATH = repoPath("models", "decoder.onnx");

export class DecoderError extends TidepoolError {
  constructor(m: string) {
    super("decoder", m, EXIT_FAILURE);
  }
}

export async function loadDecoder(path = DEFAULT_DECODER_PATH): Promise<ServerDecoder & { close(): Promise<void> }> {
  if (!existsSync(path)) throw new DecoderError(`no trained decoder installed (${path}): run \`npm run train\` and training/export.py`);
  const ort = await import("onnxruntime-node");
  // No spin-waiting between runs: the same outputs, without burning a core while the caller works
  // (eval computes metrics between decodes).
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: 2,
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  });
  return {
    async decode(latent, present, model, size) {
      const { width: w, height: h, channels: c, data } = latent;
      if (c !== model.latent.levels.length) throw new DecoderError(`latent has ${c} channels, the model ${model.latent.levels.length}`);
      if (data.length !== c * h * w || present.length !== data.length)
        throw new DecoderError(`latent/mask sizes ${data.length}/${present.length} do not match ${c}x${h}x${w}`);
      const values = new Float32Array(data.length),
        mask = new Float32Array(data.length);
      for (let ch = 0; ch < c; ch++) {
        const off = model.latent.offsets[ch],
          step = model.latent.steps[ch];
        for (let i = ch * h * w; i < (ch + 1) * h * w; i++) {
          if (!present[i]) continue;
          values[i] = (data[i] - off) * step;
          mask[i] = 1;
        }
      }
      const out = await session.run({ latent: new ort.Tensor("float32", values, [1, c, h, w]), mask: new ort.Tensor("float32", mask, [1, c, h, w]) });
      const img = out.image;
      const [, , H, W] = img.dims as number[];
      const f = img.data as Float32Array;
      const rgb = new Uint8Array(H * W * 3);
      for (let k = 0; k < 3; k++) for (let p = 0; p < H * W; p++) rgb[p * 3 + k] = Math.max(0, Math.min(255, Math.round(f[k * H * W + p] * 255)));
      const whole = { width: W, height: H, data: rgb };
      if (!size) return whole;
      if (size.width > W || size.height > H)
        throw new DecoderError(`a ${size.width}x${size.height} frame cannot come from a ${w}x${h} latent (the decoder gives ${W}x${H})`);
      return cropTopLeft(whole, size.width, size.height);
    },
    async close() {
      await session.release();
    },
  };
}
