// The shipped device models by name, so a command can say `--model task` instead of a path: each entry
// names its model file and the server decoder its packets pair with. A --model value that is one of
// these names resolves to the shipped file; anything else is a file path (write ./task for a file
// called "task" in the current directory).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { repoPath } from "./paths.ts";
import type { PixelFormat } from "./pixel-format.ts";

export interface NamedModel {
  name: string;
  /** The .tpm file (docs/model-format.md). */
  model: string;
  /** The server decoder that reconstructs this model's latents (ONNX). */
  decoder: string;
  /**
   * True when only this decoder understands the model's latents (the task encoder): a receiver must
   * use it for previews and labels. False when the model shares the picture decoder (default, grey).
   */
  ownDecoder: boolean;
  /** The registered 1-channel variant a GRAY8 camera gets instead (as the default model gets grey). */
  greyVariant?: string;
  summary: string;
}

export const MODEL_REGISTRY: readonly NamedModel[] = [
  {
    name: "default",
    model: repoPath("models", "default.tpm"),
    decoder: repoPath("models", "decoder.onnx"),
    ownDecoder: false,
    summary: "the picture codec (colour cameras)",
  },
  {
    name: "grey",
    model: repoPath("models", "default-grey.tpm"),
    decoder: repoPath("models", "decoder.onnx"),
    ownDecoder: false,
    summary: "the picture codec for GRAY8 cameras (shares decoder.onnx)",
  },
  {
    name: "task",
    model: repoPath("models", "task.tpm"),
    decoder: repoPath("models", "decoder-task-encoder.onnx"),
    ownDecoder: true,
    summary: "the encoder trained end to end for the server's classifier (MobileNetV2), with its own tables and decoder",
  },
  {
    name: "fast",
    model: repoPath("models", "fast.tpm"),
    decoder: repoPath("models", "decoder.onnx"),
    ownDecoder: false,
    greyVariant: "fast-grey",
    summary: "the fast encoder (4x4 stride-4 first layer, ~5x fewer MACs; more bytes at equal quality), shares decoder.onnx; GRAY8 cameras get fast-grey",
  },
  {
    name: "fast-grey",
    model: repoPath("models", "fast-grey.tpm"),
    decoder: repoPath("models", "decoder.onnx"),
    ownDecoder: false,
    summary: "the fast encoder for GRAY8 cameras (shares decoder.onnx)",
  },
];

/** The registry entry called `name`, if any. */
export function namedModel(name: string): NamedModel | undefined {
  return MODEL_REGISTRY.find((m) => m.name === name);
}

/** A --model value: a registered name becomes its shipped file; anything else is returned as given (a path). */
export function resolveModelPath(nameOrPath: string): string {
  return namedModel(nameOrPath)?.model ?? nameOrPath;
}

/** The registry entry whose model file is `path` (a receiver finds a model's own decoder this way). */
export function registryEntryForFile(path: string): NamedModel | undefined {
  return MODEL_REGISTRY.find((m) => m.model === resolve(path));
}

/** The registered model `name` when its model file and decoder are installed. */
export function shippedModel(name: string): NamedModel | undefined {
  const t = namedModel(name);
  return t && existsSync(t.model) && existsSync(t.decoder) ? t : undefined;
}

/** The shipped task encoder, when its model and decoder are installed. */
export function shippedTaskModel(): NamedModel | undefined {
  return shippedModel("task");
}

/**
 * The model file a build for `format` uses when given `path`: a registered model with a grey variant
 * (fast -> fast-grey) gives GRAY8 frames that variant when it is installed, as the default model gives
 * them the grey one; any other path is returned as given.
 */
export function modelPathForFormat(path: string, format: PixelFormat | undefined): string {
  const entry = namedModel(path) ?? registryEntryForFile(path);
  const grey = format === "gray8" && entry?.greyVariant ? namedModel(entry.greyVariant) : undefined;
  return grey && existsSync(grey.model) ? grey.model : path;
}

/** For help texts: "default, grey, task". */
export const MODEL_NAMES = MODEL_REGISTRY.map((m) => m.name).join(", ");
