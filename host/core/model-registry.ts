// The shipped device models by name, so a command can say `--model task` instead of a path: each entry
// names its model file and the server decoder its packets pair with. A --model value that is one of
// these names resolves to the shipped file; anything else is a file path (write ./task for a file
// called "task" in the current directory).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { repoPath } from "./paths.ts";

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

/** The shipped task encoder, when its model and decoder are installed. */
export function shippedTaskModel(): NamedModel | undefined {
  const t = namedModel("task");
  return t && existsSync(t.model) && existsSync(t.decoder) ? t : undefined;
}

/** For help texts: "default, grey, task". */
export const MODEL_NAMES = MODEL_REGISTRY.map((m) => m.name).join(", ");
