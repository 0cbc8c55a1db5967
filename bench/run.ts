// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) in turn.
// Each exports a default async function that prints its figures together with their settings.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort()
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const mod = await import(pathToFileURL(join(dir, f)).href);
  await mod.default();
}
