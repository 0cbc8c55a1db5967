// Installs Tidepool on a board: the bridge script over the raw REPL (base64 chunks into a temporary
// file, sha256 checked on the board, then renamed), then the encoder module (.wasm or .mpy) over the bridge.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RawRepl } from "./raw-repl.ts";
import { BridgeClient } from "./bridge-client.ts";

const BRIDGE_DIR = "tidepool";

/** The bridge script's source (flash-tools/bridge/tidepool_bridge.py), installed on boards with the encoder. */
export function bridgeSource(): Uint8Array {
  return readFileSync(new URL("./bridge/tidepool_bridge.py", import.meta.url));
}

/** Writes a file through plain raw-REPL exec calls: temp name, on-board sha256, rename. */
export async function replPutFile(repl: RawRepl, path: string, data: Uint8Array, chunk = 768): Promise<boolean> {
  const digest = createHash("sha256").update(data).digest("hex");
  const check = `import hashlib, binascii\ndef _h(p):\n try:\n  f=open(p,'rb')\n except OSError:\n  return ''\n h=hashlib.sha256()\n b=bytearray(256)\n while True:\n  n=f.readinto(b)\n  if not n: break\n  h.update(memoryview(b)[:n])\n f.close()\n return binascii.hexlify(h.digest()).decode()\n`;
  await repl.exec(check);
  if ((await repl.exec(`print(_h(${JSON.stringify(path)}))`)).trim() === digest) return false;
  const tmp = `${path}.part`;
  await repl.exec(`_f=open(${JSON.stringify(tmp)},'wb')`);
  for (let i = 0; i < data.length; i += chunk) {
    const b64 = Buffer.from(data.subarray(i, i + chunk)).toString("base64");
    await repl.exec(`_f.write(binascii.a2b_base64(b'${b64}'))`);
  }
  await repl.exec("_f.close()");
  const got = (await repl.exec(`print(_h(${JSON.stringify(tmp)}))`)).trim();
  if (got !== digest) {
    await repl.exec(`import os\nos.remove(${JSON.stringify(tmp)})`);
    throw new Error(`verify failed for ${path} on the board: sha256 ${got || "(unreadable)"} != ${digest}; the old file is untouched`);
  }
  await repl.exec(`import os\ntry:\n os.remove(${JSON.stringify(path)})\nexcept OSError:\n pass\nos.rename(${JSON.stringify(tmp)}, ${JSON.stringify(path)})`);
  return true;
}

export interface InstallResult {
  bridgeWritten: boolean;
  moduleWritten: boolean;
  bytes: number;
  seconds: number;
  verified: boolean;
}

export async function installTidepool(
  repl: RawRepl,
  board: string,
  bridgeScript: Uint8Array,
  wasm: Uint8Array,
  /** The module's name on the board: a .wasm runs in wasm3, a .mpy (`tidepool native --mpy`) natively. */
  moduleName = "encoder.wasm",
): Promise<{ result: InstallResult; bridge: BridgeClient }> {
  const t0 = Date.now();
  await repl.exec(`import os\ntry:\n os.mkdir('${BRIDGE_DIR}')\nexcept OSError:\n pass`);
  const bridgeWritten = await replPutFile(repl, `${BRIDGE_DIR}/tidepool_bridge.py`, bridgeScript);
  const bridge = await BridgeClient.start(repl, board);
  const moduleWritten = await bridge.putFile(moduleName, wasm);
  const bytes = (bridgeWritten ? bridgeScript.length : 0) + (moduleWritten ? wasm.length : 0);
  return { result: { bridgeWritten, moduleWritten, bytes, seconds: (Date.now() - t0) / 1000, verified: true }, bridge };
}
