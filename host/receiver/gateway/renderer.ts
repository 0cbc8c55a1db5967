// Progressive decoding of stored images. An image is (re-)decoded from all of its stored packets each
// time new ones arrive: the first packet renders at once (a preview as early as possible), later ones
// are coalesced (at most one decode per image per `minIntervalMs`, and one queued decode however many
// packets arrive meanwhile). Decoding from the database, not from memory, is what lets several
// instances share one image's packets and a restarted gateway pick up where it stopped.
import sharp from "sharp";
import { decodePacketSet } from "../packet-decoder.ts";
import type { ServerDecoder } from "../../core/types.ts";
import type { Latent } from "../../core/types.ts";
import type { Codec, FrameCatalog } from "./frames.ts";
import type { Labeller } from "./labels.ts";
import type { GatewayStorage } from "./storage.ts";

export interface RendererOptions {
  storage: GatewayStorage;
  /** The models the gateway decodes: an image's model is the one its packets' CRC matches. */
  catalog: FrameCatalog;
  /** The reconstruction decoder (models/decoder.onnx); null: packets are reassembled but no preview is drawn. */
  decoder: ServerDecoder | null;
  labeller: Labeller | null;
  minIntervalMs: number;
  onUpdate(imageRowId: number, what: "preview" | "labels"): void;
  /** Called with every image whose packets carry every symbol (the drift loop looks for reference uploads). */
  onComplete?(image: { id: number; deviceId: string }, latent: Latent, codec: Codec): Promise<void>;
  log(line: string): void;
}

export class ImageRenderer {
  private readonly queue: number[] = [];
  private readonly queued = new Set<number>();
  private readonly lastRender = new Map<number, number>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: RendererOptions) {}

  /** Asks for a decode of the image; cheap to call for every packet. */
  schedule(imageRowId: number): void {
    if (this.closed || this.queued.has(imageRowId) || this.timers.has(imageRowId)) return;
    const wait = (this.lastRender.get(imageRowId) ?? -Infinity) + this.o.minIntervalMs - performance.now();
    if (wait > 0) {
      this.timers.set(
        imageRowId,
        setTimeout(() => {
          this.timers.delete(imageRowId);
          this.enqueue(imageRowId);
        }, wait),
      );
      return;
    }
    this.enqueue(imageRowId);
  }

  private enqueue(id: number): void {
    if (this.closed || this.queued.has(id)) return;
    this.queued.add(id);
    this.queue.push(id);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const id = this.queue.shift()!;
      this.queued.delete(id);
      const now = performance.now();
      if (this.lastRender.size > 10_000)
        // forget images that no longer need spacing out
        for (const [k, t] of this.lastRender) if (now - t > this.o.minIntervalMs) this.lastRender.delete(k);
      this.lastRender.set(id, now);
      try {
        await this.render(id);
      } catch (e) {
        this.o.log(`image ${id}: decode failed: ${(e as Error).message}`);
      }
    }
  }

  /** Resolves once nothing is queued, waiting or running (tests and the bench wait on it). */
  async idle(): Promise<void> {
    while (this.running || this.timers.size) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, Math.min(this.o.minIntervalMs, 20)));
    }
  }

  private async render(id: number): Promise<void> {
    const { storage, catalog, decoder, labeller } = this.o;
    const image = await storage.getImage(id);
    if (!image) return;
    const stored = await storage.imagePackets(id);
    const codec = catalog.codecOf(
      stored.map((p) => p.payload),
      image.frame,
    );
    if (!codec) return; // no packet of this image matches a model any more (never stored: ingest checks the CRC)
    const { model, tables } = codec;
    const set = decodePacketSet(
      stored.map((p) => p.payload),
      tables,
      image.latent,
      { imageId: image.imageId },
    );
    for (const r of set.rejected) await storage.markRejected([stored[r.input].uplinkId], r.kind, r.reason);
    const used = set.accepted.length + set.duplicates.length;
    if (set.accepted.length && set.symbols === set.latent.data.length && this.o.onComplete)
      await this.o.onComplete(image, set.latent, codec).catch((e: Error) => this.o.log(`image ${id}: drift loop: ${e.message}`));
    // A model with its own decoder (the task encoder) is drawn by it; the others by the gateway's.
    const draw = codec.decoder ?? decoder;
    if (set.accepted.length === 0 || !draw) return;
    const rgb = await draw.decode(set.latent, set.present, model);
    const png = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
      .png({ compressionLevel: 3 })
      .toBuffer();
    const saved = await storage.savePreview(id, {
      png: new Uint8Array(png),
      width: rgb.width,
      height: rgb.height,
      packets: used,
      symbols: set.symbols,
      totalSymbols: set.latent.data.length,
      renderedAt: Date.now(),
    });
    if (saved) this.o.onUpdate(id, "preview");
    // Labels only for the latest state: skip them while newer packets wait for a decode.
    if (labeller && !this.queued.has(id) && !this.timers.has(id) && !this.closed) {
      const top5 = await labeller.top5(set.latent, set.present, model, codec.decoder);
      await storage.saveLabels(id, used, top5);
      this.o.onUpdate(id, "labels");
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    if (this.running) await this.running;
  }
}
