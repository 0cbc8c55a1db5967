// Entry point of the `tidepool` CLI: dispatches to host/cli/commands/<name>.ts.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UserError, type Command } from "./command.ts";

async function loadCommands(): Promise<Command[]> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), "commands");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts")).sort();
  const commands: Command[] = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    if (mod.command) commands.push(mod.command as Command);
  }
  return commands;
}

function help(commands: Command[]): string {
  return ["usage: tidepool <command> [options]", "", "commands:", ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`), "", "Run `tidepool <command> --help` for a command's options."].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") { console.log(help(commands)); return name ? 0 : 2; }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) { console.error(`tidepool: unknown command "${name}"\n\n${help(commands)}`); return 2; }
  if (rest.includes("--help") || rest.includes("-h")) { console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`); return 0; }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UserError) { console.error(`tidepool ${name}: ${e.message}`); return e.exitCode; }
    const err = e as Error;
    // Errors from our own modules carry clear messages; show the message, and the stack only when asked.
    console.error(`tidepool ${name}: ${err.message}`);
    if (process.env.TIDEPOOL_DEBUG) console.error(err.stack);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
