// Reading a file the user named: a missing or unreadable file is bad input (exit 2), named with its role.
import { readFileSync } from "node:fs";
import { TidepoolError } from "./errors.ts";

export class InputFileError extends TidepoolError {
  constructor(message: string) {
    super("input-file", message);
  }
}

/** The bytes of `path`; `what` says what the file is for ("model file", "times file", …). */
export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new InputFileError(`${what} ${path}: ${why}`);
  }
}
