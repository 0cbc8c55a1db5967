// One route from a camera to the server's classifier, as the task table (host/eval/task-eval.ts) compares
// them: the picture codec with either decoder, the task-trained encoder, a split-computing head with its
// feature compressor, best-scale JPEG/WebP. Each route says what it delivers within a byte budget.
import type { Board } from "../core/boards.ts";
import type { RgbImage } from "../core/types.ts";
import type { Workload } from "../build/profile/profile.ts";
import type { NativeProfileInput } from "../build/profile/native-profile.ts";

/** What one image's packets deliver to the server within one budget. */
export interface TaskDelivery {
  /** Real bytes sent: every link packet, headers and CRCs included (or the whole file for JPEG/WebP). */
  bytes: number;
  /** A picture the server classifies with MobileNetV2 (image routes), at the classifier's 224² view… */
  image?: RgbImage;
  /** …or the server's top-5 class indices, best first, computed by the route itself (split routes run the tail). */
  top5?: number[];
}

/** Packet loss applied to a delivery: i.i.d. drops of `rate` of the packets, seeded for repeatability. */
export interface TaskLoss {
  rate: number;
  seed: number;
}

export interface TaskRoute {
  /** Row name in the task table, e.g. "tidepool-task-encoder" or "split-b2-compressed". */
  name: string;
  /** The settings a reader needs to reproduce the row (model file, decoder, split point, quality search). */
  settings: string;
  /**
   * Deliveries for each budget (null: nothing this route can send fits the budget, or every packet was
   * lost; the image then counts as wrong). `view` is the classifier's 224² view of the image.
   */
  deliver(view: RgbImage, budgets: number[], loss: TaskLoss): Promise<(TaskDelivery | null)[]>;
  /** What the board runs for this route, for its device cycles per image (absent: no device implementation). */
  device?: TaskDevice;
}

/** The board's side of a route, profiled at the classifier's 224² view (host/eval/task-cycles.ts). */
export interface TaskDevice {
  /** What runs on the board, in words (e.g. "picture encoder models/default.tpm, rgb565"). */
  describe: string;
  /** The built module and its driver for one 224² RGB565 frame, priced by `tidepool profile`'s cost models. */
  workload(board: Board, frame: Uint8Array): Promise<Workload>;
  /** The same module for a native run under QEMU (host/build/native), where that can run it. */
  native?(board: Board): Promise<Pick<NativeProfileInput, "encoder" | "jpeg" | "packets">>;
}
