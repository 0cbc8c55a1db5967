// The shape of a `tidepool` sub-command. Each file in host/cli/commands/ exports `command`;
// host/cli/main.ts discovers them, so adding a command touches no shared file.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT_BAD_INPUT, EXIT_FAILURE, TidepoolError, type ExitCode } from "../core/errors.ts";

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number | void>;
}

/** A command's own error, shown as is (no stack trace): exit 2 for bad usage or input, 1 for a failure. */
export class UserError extends TidepoolError {
  constructor(message: string, exitCode: ExitCode = EXIT_FAILURE) {
    super(exitCode === EXIT_BAD_INPUT ? "usage" : "command", message, exitCode);
  }
}

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T, usage: string, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\nusage: ${usage}`, 2);
  }
}

/** "320x240" -> {width, height}. */
export function parseFrame(s: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m || +m[1] < 1 || +m[2] < 1) throw new UserError(`invalid frame size "${s}": expected WIDTHxHEIGHT, e.g. 320x240`, 2);
  return { width: +m[1], height: +m[2] };
}

/** An optional integer option: undefined when absent, a usage error (exit 2) when not an integer >= min. */
export function intOption(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || +v < min) throw new UserError(`--${name} must be an integer >= ${min}, got "${v}"`, 2);
  return +v;
}

/** Runs a parser from a lower layer and turns its TidepoolError into a UserError that names the flag. */
export function parseFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TidepoolError) throw new UserError(`--${flag}: ${e.message}`, e.exitCode);
    throw e;
  }
}
