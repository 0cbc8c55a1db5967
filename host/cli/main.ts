// Entry point of the `tidepool` CLI: host/cli/commands/<name>.ts implements `tidepool <name>`.
// Only the command being run is imported, so a command never pays for another's dependencies.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EXIT_FAILURE, TidepoolError } from "../core/errors.ts";
import type { Command } from "./command.ts";

const COMMANDS_DIR = join(dirname(fileURLToPath(import.meta.url)), "commands");

function commandNames(): string[] {
  return readdirSync(COMMANDS_DIR)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadCommand(name: string): Promise<Command | null> {
  const file = join(COMMANDS_DIR, `${name}.ts`);
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(file)) return null;
  const mod = await import(pathToFileURL(file).href);
  return (mod.command as Command) ?? null;
}

async function help(): Promise<string> {
  const commands = (await Promise.all(commandNames().map(loadCommand))).filter((c): c is Command => c !== null);
  return [
    "usage: tidepool <command> [options]",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "Run `tidepool <command> --help` for a command's options.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(await help());
    return name ? 0 : 2;
  }
  const cmd = await loadCommand(name);
  if (!cmd) {
    console.error(`tidepool: unknown command "${name}" (commands: ${commandNames().join(", ")})`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    // Tidepool's own errors carry a clear message and their exit status (2 bad input, 1 failure);
    // anything else is a failure. The stack only when asked.
    const err = e as Error;
    console.error(`tidepool ${name}: ${err.message}`);
    if (process.env.TIDEPOOL_DEBUG) console.error(err.stack);
    return e instanceof TidepoolError ? e.exitCode : EXIT_FAILURE;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
