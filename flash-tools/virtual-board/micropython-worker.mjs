// Runs real MicroPython (the WebAssembly port from npm) in a worker thread for the virtual board.
// The main thread owns the serial line; it can terminate this worker when a script hangs, since a
// busy MicroPython cannot be interrupted from JavaScript, and restart it with the saved filesystem.
//
// Messages in:  {type:'chars', data:Uint8Array}  bytes typed at the REPL
//               {type:'bridge', data:Uint8Array} bytes for the running bridge (bridge mode)
// Messages out: {type:'out', data}  bytes the board prints
//               {type:'done', fs, bridge, softReboot}  after each message: files changed under
//               /flash, whether the bridge is attached, whether a soft reboot happened
import { parentPort, workerData } from "node:worker_threads";
import { readFileSync } from "node:fs";
import { createWasmRuntime } from "./wasm-runtime.mjs";

const { files, cameraFrames, arenaLimitBytes, heapBytes, rawMode, syncBuffer, modem } = workerData;
const FLASH = "/flash";
// Python modules of the virtual board's firmware, outside /flash (as frozen modules are on a board).
const FIRMWARE = {
  "wasm3.py": readFileSync(new URL("./wasm3.py", import.meta.url)),
  "vboard_uart.py": readFileSync(new URL("./vboard_uart.py", import.meta.url)),
};

// MicroPython's own linear memory: the wasm3 module reads and writes Python buffers in it by address.
// The port does not export its heap, so it is captured when the port instantiates its module.
let mpMemory = null;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const r = await instantiate.apply(this, args);
  const exports = (r.instance ?? r).exports;
  if (exports?.memory instanceof WebAssembly.Memory) mpMemory = exports.memory;
  return r;
};
const { loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript");

/**
 * A synchronous request to the main thread (the virtual modem lives there): the worker blocks on the
 * shared buffer until the answer is written. Layout: i32 state (0 waiting, 1 answered), i32 length, bytes.
 */
function syncCall(request) {
  const head = new Int32Array(syncBuffer, 0, 2);
  Atomics.store(head, 0, 0);
  parentPort.postMessage({ type: "sync", request });
  if (Atomics.wait(head, 0, 0, 30_000) === "timed-out") throw new Error("virtual board: the main thread did not answer");
  return new TextDecoder().decode(new Uint8Array(syncBuffer, 8, Atomics.load(head, 1)).slice());
}

let out = [];
const flushOut = () => {
  if (out.length) {
    parentPort.postMessage({ type: "out", data: Uint8Array.from(out) });
    out = [];
  }
};
function emit(b) {
  if (holding) {
    for (const x of b) out.push(x);
    return;
  }
  parentPort.postMessage({ type: "out", data: Uint8Array.from(b) });
}
let holding = false; // set while the worker must inspect output before releasing it
let bridge = null; // Python callable receiving bridge bytes, while the bridge is attached
let heldPrompt = false;

async function boot() {
  const mp = await loadMicroPython({
    heapsize: heapBytes,
    linebuffer: false,
    // Output leaves at once, so "OK" reaches the client before a long-running script starts.
    stdout: emit,
    stderr: emit,
  });
  try {
    mp.FS.mkdir(FLASH);
  } catch {
    /* exists */
  }
  for (const [name, data] of Object.entries(files)) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      try {
        mp.FS.mkdir(`${FLASH}/${parts.slice(0, i).join("/")}`);
      } catch {
        /* exists */
      }
    }
    mp.FS.writeFile(`${FLASH}/${name}`, data);
  }
  let frameIndex = 0;
  mp.registerJsModule("tidepool_vboard", {
    // The bridge calls this instead of looping on stdin: the emulator then routes line bytes to `feed`.
    attach_bridge: (feed) => {
      bridge = feed;
      holding = true;
    },
    detach_bridge: () => {
      bridge = null;
    },
    // Next frame from the emulated camera, as hex rows; the request must match the camera's mode.
    camera_rows: (w, h, fmt) => {
      if (cameraFrames.length === 0) throw new Error("the virtual board has no camera frames");
      const f = cameraFrames[frameIndex++ % cameraFrames.length];
      if (f.width !== w || f.height !== h || f.format !== fmt)
        throw new Error(`camera is ${f.width}x${f.height} format ${f.format}, asked for ${w}x${h} format ${fmt}`);
      const rowBytes = f.data.length / f.height;
      const rows = [];
      for (let y = 0; y < f.height; y++) rows.push(Buffer.from(f.data.subarray(y * rowBytes, (y + 1) * rowBytes)).toString("hex"));
      return rows;
    },
    // The LoRaWAN modem on the board's UART (docs/flash-tools.md §Uplink): its type ("" when none), the
    // AT line exchange, and the radio's clock (a duty-cycle wait advances it instead of sleeping).
    modem_type: () => modem ?? "",
    modem_io: (text) => syncCall({ op: "modem", text }),
    sleep_ms: (ms) => {
      syncCall({ op: "sleep", ms });
    },
  });
  mp.registerJsModule(
    "_wasm3_js",
    createWasmRuntime(arenaLimitBytes, () => mpMemory),
  );
  try {
    mp.FS.mkdir("/lib");
  } catch {
    /* exists */
  }
  for (const [name, data] of Object.entries(FIRMWARE)) mp.FS.writeFile(`/lib/${name}`, data);
  mp.runPython(`import os, sys\nif '/lib' not in sys.path: sys.path.append('/lib')\nos.chdir('${FLASH}')`);
  return mp;
}

let modeRaw = false;
holding = true; // the (re)start itself prints nothing the client did not ask for
let mp = await boot();
mp.replInit();
if (rawMode) {
  mp.replProcessChar(1);
  modeRaw = true;
}
out = [];
holding = false;

function snapshot() {
  const fs = {};
  const walk = (dir, prefix) => {
    for (const name of mp.FS.readdir(dir)) {
      if (name === "." || name === "..") continue;
      const p = `${dir}/${name}`;
      const st = mp.FS.stat(p);
      if (mp.FS.isDir(st.mode)) walk(p, `${prefix}${name}/`);
      else fs[`${prefix}${name}`] = mp.FS.readFile(p);
    }
  };
  walk(FLASH, "");
  return fs;
}

async function softReboot() {
  // Soft reset: a fresh interpreter on the same filesystem, back in the REPL mode we were in.
  const fs = snapshot();
  Object.keys(files).forEach((k) => delete files[k]);
  Object.assign(files, fs);
  bridge = null;
  holding = true;
  mp = await boot();
  mp.replInit();
  if (modeRaw) mp.replProcessChar(1);
  out = [];
}

parentPort.on("message", async (msg) => {
  let softRebooted = false;
  if (msg.type === "chars") {
    for (const c of msg.data) {
      if (c === 1) modeRaw = true;
      if (c === 2) modeRaw = false;
      const r = mp.replProcessChar(c);
      if (r & 0x100) {
        // PYEXEC_FORCED_EXIT: Ctrl-D at an empty prompt asks for a soft reset
        flushOut();
        await softReboot();
        out.push(...Buffer.from(modeRaw ? "soft reboot\r\nraw REPL; CTRL-B to exit\r\n>" : "soft reboot\r\n>>> "));
        softRebooted = true;
      }
    }
    // While the bridge serves, the raw REPL's end-of-exec output waits until the bridge exits,
    // as it would on a board where serve() blocks.
    if (holding) {
      const s = Buffer.from(out).toString("latin1");
      const i = s.lastIndexOf("\x04\x04>");
      if (i >= 0) {
        out = out.slice(0, i);
        heldPrompt = true;
      }
      holding = false;
    }
  } else if (msg.type === "bridge" && bridge) {
    bridge(msg.data);
    if (!bridge && heldPrompt) {
      out.push(4, 4, 0x3e);
      heldPrompt = false;
    }
  }
  flushOut();
  parentPort.postMessage({ type: "done", fs: snapshot(), bridge: bridge !== null, softReboot: softRebooted });
});
parentPort.postMessage({ type: "ready" });
