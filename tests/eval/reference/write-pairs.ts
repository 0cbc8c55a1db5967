// Writes the MS-SSIM validation pairs as raw RGB for reference/msssim_reference.py:
//   npx tsx tests/eval/reference/write-pairs.ts DIR && /usr/bin/python3 tests/eval/reference/msssim_reference.py DIR > tests/eval/fixtures/msssim-reference.json
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { msssimPairs } from "../msssim-pairs.ts";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: write-pairs.ts DIR");
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const index = [];
for (const [i, p] of (await msssimPairs()).entries()) {
  writeFileSync(join(dir, `${i}-a.rgb`), p.a.data);
  writeFileSync(join(dir, `${i}-b.rgb`), p.b.data);
  index.push({ name: p.name, width: p.a.width, height: p.a.height, a: `${i}-a.rgb`, b: `${i}-b.rgb` });
}
writeFileSync(join(dir, "index.json"), JSON.stringify(index, null, 2));
