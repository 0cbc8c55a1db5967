// Push throughput through the virtual board's pseudo-terminal, paced like a USB-UART (10 bits a
// byte): the bridge's framed put-file against plain raw-REPL repr writes (mpremote's `fs cp`
// method: 256-byte chunks as `w(repr(chunk))`), measured in the same run.
import { performance } from "node:perf_hooks";
import { getBoard } from "../host/core/boards.ts";
import { VirtualBoard } from "../flash-tools/virtual-board/virtual-board.ts";
import { SerialLink } from "../flash-tools/serial-link.ts";
import { RawRepl } from "../flash-tools/raw-repl.ts";
import { BridgeClient } from "../flash-tools/bridge-client.ts";
import { replPutFile } from "../flash-tools/install.ts";
import { seededRandom } from "../host/core/seeded-random.ts";
import { bridgeSource } from "../flash-tools/install.ts";

function pyBytesRepr(b: Uint8Array): string {
  let s = "b'";
  for (const x of b) s += x === 0x27 ? "\\'" : x === 0x5c ? "\\\\" : x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : `\\x${x.toString(16).padStart(2, "0")}`;
  return s + "'";
}

async function reprWrite(repl: RawRepl, path: string, data: Uint8Array) {
  await repl.exec(`f=open('${path}','wb')\nw=f.write`);
  for (let i = 0; i < data.length; i += 256) await repl.exec(`w(${pyBytesRepr(data.subarray(i, i + 256))})`);
  await repl.exec("f.close()");
}

export default async function flashBench() {
  const board = getBoard("k210");
  const rand = seededRandom(5);
  const payload = Uint8Array.from({ length: 16 * 1024 }, () => Math.floor(rand() * 256)); // incompressible, like a .wasm
  console.log(
    `payload ${payload.length} B of seeded random bytes; virtual k210 (MicroPython 1.27 WebAssembly port) behind a pty, line paced at baud/10 B/s each way`,
  );
  console.log("baud     wire limit KB/s  bridge put-file KB/s  raw-REPL base64 KB/s  raw-REPL repr (mpremote) KB/s");
  for (const baud of [115_200, 921_600]) {
    const vb = await VirtualBoard.start({ board, baud });
    const link = await SerialLink.open(vb.path, baud);
    try {
      const repl = new RawRepl(link, { enterMs: 20_000, execMs: 60_000, interCharMs: 20_000 });
      await repl.enter(true);
      await repl.exec("import os\ntry:\n os.mkdir('tidepool')\nexcept OSError:\n pass");
      await replPutFile(repl, "tidepool/tidepool_bridge.py", bridgeSource());
      let t = performance.now();
      await reprWrite(repl, "repr.bin", payload);
      const reprKBs = payload.length / 1000 / ((performance.now() - t) / 1000);
      t = performance.now();
      await replPutFile(repl, "tidepool/b64.bin", payload);
      const b64KBs = payload.length / 1000 / ((performance.now() - t) / 1000);
      const bridge = await BridgeClient.start(repl, board.name, 60_000);
      t = performance.now();
      await bridge.putFile("payload.bin", payload);
      const bridgeKBs = payload.length / 1000 / ((performance.now() - t) / 1000);
      await bridge.exit(repl);
      console.log(
        `${String(baud).padEnd(8)} ${(baud / 10 / 1000).toFixed(2).padStart(15)}  ${bridgeKBs.toFixed(2).padStart(20)}  ${b64KBs.toFixed(2).padStart(20)}  ${reprKBs.toFixed(2).padStart(29)}`,
      );
    } finally {
      await link.close();
      await vb.stop();
    }
  }
  console.log(
    "bridge: 1020-byte chunks, stop-and-wait, board verifies sha256 and renames; KB = 1000 B; goal at 115200: >= 9.2 KB/s, 80 % of the 11.52 KB/s wire limit",
  );
}
