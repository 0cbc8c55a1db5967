// The one error convention of Tidepool (docs/errors.md). Every error that a user can cause or meet
// is a TidepoolError: `kind` says what went wrong in a word a test can match, `exitCode` is what the
// CLI exits with (2: bad usage or bad input, 1: a failure while doing the work). The message names the
// thing and the place (file, offset, field, board), never a CLI flag: the CLI adds its own context.

export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;
export type ExitCode = typeof EXIT_FAILURE | typeof EXIT_BAD_INPUT;

export class TidepoolError extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly exitCode: ExitCode = EXIT_BAD_INPUT,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad usage of a command (unknown flag, missing argument): always exit 2. */
export class UsageError extends TidepoolError {
  constructor(message: string) {
    super("usage", message, EXIT_BAD_INPUT);
  }
}

/** Something failed while doing the work (a subprocess, the device, I/O): exit 1. */
export class FailureError extends TidepoolError {
  constructor(kind: string, message: string) {
    super(kind, message, EXIT_FAILURE);
  }
}

export function isTidepoolError(e: unknown): e is TidepoolError {
  return e instanceof TidepoolError;
}
