// The encoder as a MicroPython native module (.mpy) on MicroPython's QEMU Cortex-M7 firmware, driven
// end to end as a board is: bridge installed over the raw REPL, the .mpy uploaded over the bridge,
// frames encoded through the bridge protocol; packets and latent byte for byte against the host
// WASM. Needs the Debian packages in .ci/apt-packages (python3-pyelftools for mpy_ld.py); without
// them it fails naming the package.
import { afterAll, describe, expect, it } from "vitest";
import { buildEncoder } from "../../host/build/build.ts";
import { buildNativeMpy, exportTable, mpyModuleName, requirePythonWithElftools, unstaticState } from "../../host/build/native/mpy.ts";
import { NATIVE_TARGETS } from "../../host/build/native/targets.ts";
import { requireTargetTools } from "../../host/build/native/toolchain.ts";
import { devicePacketize } from "../../host/build/runtime/device-packetizer.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { SerialLink } from "../../flash-tools/serial-link.ts";
import { RawRepl } from "../../flash-tools/raw-repl.ts";
import { bridgeSource, installTidepool } from "../../flash-tools/install.ts";
import { BridgeClient } from "../../flash-tools/bridge-client.ts";
import { mountRamFilesystem, QemuMicroPython } from "../../flash-tools/virtual-board/qemu-micropython.ts";
import { packFrame, randomRgb } from "../helpers/frames.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliInProcess } from "../helpers/cli.ts";

const W = 64,
  H = 48;
let board: QemuMicroPython | undefined;
let link: SerialLink | undefined;

afterAll(async () => {
  await link?.close();
  await board?.stop();
});

describe("native module (.mpy) on MicroPython's Cortex-M7 firmware under QEMU", () => {
  it("the bridge loads the .mpy instead of wasm3 and its packets and latent equal the host WASM's, also late in a fragmented heap", {
    timeout: 180_000,
  }, async () => {
    requireTargetTools(NATIVE_TARGETS.m7); // names the Debian package of a missing compiler or QEMU
    requirePythonWithElftools();
    const built = await buildEncoder({ board: "openmv-h7", width: W, height: H, format: "rgb565" });
    const name = mpyModuleName("openmv-h7");
    const mb = buildNativeMpy({ wasm: built.wasm, target: NATIVE_TARGETS.m7, boundsChecks: "off", name, simd: built.simd });
    expect(mb.arch).toBe("armv7emsp");
    expect(mb.native.simdLayers).toEqual([0, 1, 2]); // the Cortex-M7 DSP kernels, compiled position-independent with the module
    expect(mb.exports).toEqual(expect.arrayContaining(["tp_init", "tp_push_row", "tp_row_ptr", "tp_pk_begin", "tp_pk_next"]));
    expect(mb.textBytes).toBeGreaterThan(mb.code);

    board = await QemuMicroPython.start({ machine: "m7" });
    link = await SerialLink.open(board.path);
    const repl = new RawRepl(link);
    await repl.enter(false);
    expect(await repl.exec("import sys\nprint(sys.implementation._machine)")).toMatch(/Cortex-M7/);
    await mountRamFilesystem(repl);
    const { bridge, result } = await installTidepool(repl, "openmv-h7", bridgeSource(), readFileSync(mb.mpy), `${name}.mpy`);
    expect(result.moduleWritten).toBe(true);
    // The linear memory was reserved when the bridge started, and the .mpy loaded into it when it was flashed.
    expect(await bridge.info()).toMatchObject({ native_memory: 65536, native_module: `${name}.mpy` });

    const host = await EncoderInstance.load(built.wasm);
    const run = { packetBytes: 51, imageId: 9, budgetBytes: 400 };
    const packetFrame = packFrame(randomRgb(40, W, H), W, H, "rgb565");
    const sent = await bridge.encode(W, H, "rgb565", packetFrame, { module: `${name}.mpy`, ...run });
    host.encode(packetFrame, W, H, "rgb565");
    const wanted = devicePacketize(host, run);
    expect(sent.packets.length).toBeGreaterThan(0);
    expect(sent.packets.map((p) => Buffer.from(p).toString("hex"))).toEqual(wanted.packets.map((p) => Buffer.from(p).toString("hex")));
    expect([sent.bytes, sent.symbols, sent.complete]).toEqual([wanted.bytes, wanted.symbols, wanted.complete]);
    const frame = packFrame(randomRgb(7, W, H), W, H, "rgb565");
    const got = await bridge.encode(W, H, "rgb565", frame, { module: `${name}.mpy`, output: "latent" });
    const want = host.encode(frame, W, H, "rgb565");
    expect(Buffer.from(got.latent!.data).equals(Buffer.from(want.data))).toBe(true);
    // A .wasm on this firmware (no wasm3) is refused with the way out named.
    await expect(bridge.encode(W, H, "rgb565", frame, { module: "encoder.wasm" })).rejects.toThrow(
      /no WASM runtime \(wasm3\) on this board: install the encoder as a native module \(\.mpy\)/,
    );
    await bridge.exit(repl);
    // The module at the REPL: Module(memory) adopts a block reserved before (here the bridge's; the RV32
    // test below lets Module() allocate one on a fresh heap); a second Module closes the first (one
    // linear memory), which then refuses calls; a block smaller than MEMORY_BYTES is refused.
    const twice = await repl.exec(`import tidepool_bridge, ${name}
mem = tidepool_bridge._runtimes.native.memory
a = ${name}.Module(mem)
b = ${name}.Module(mem)
try:
    a.function('tp_ready')()
except RuntimeError as e:
    print(e)
print(a.memory is mem, b.memory is mem, b.mem_size == len(mem), b.function('tp_init')(${W}, ${H}, 1))
try:
    ${name}.Module(bytearray(16))
except ValueError as e:
    print(e)
del a, b, mem`);
    expect(twice.trim().split(/\r?\n/)).toEqual(["module is closed", "True True True 0", "linear memory smaller than MEMORY_BYTES"]);

    // A long session fragments the heap: fill it with 4 KiB tuples (one allocation each), then free every
    // other one by address. Plenty stays free, but no 64 KiB block (nor one for the .mpy's code). The
    // bridge took both at start and at flashing, so a later ENCODE needs neither.
    const fragment = `_blocks = None
gc.collect()
_blocks = []
try:
    while True:
        _blocks.append((None,) * 1020)
except MemoryError:
    pass
_blocks.sort(key=id)
for i in range(0, len(_blocks), 2):
    _blocks[i] = None
gc.collect()
try:
    bytearray(65536)
    print('a 64 KiB block is left')
except MemoryError:
    print('no 64 KiB block', gc.mem_free() > 262144)`;
    expect((await repl.exec(`import gc\n${fragment}`)).trim()).toBe("no 64 KiB block True");
    // A restarted bridge keeps its blocks; its module, closed by the Module() calls above, is instantiated
    // into them again (a few hundred bytes).
    const again = await BridgeClient.start(repl, "openmv-h7");
    const late = packFrame(randomRgb(13, W, H), W, H, "rgb565");
    const lateGot = await again.encode(W, H, "rgb565", late, { module: `${name}.mpy`, output: "latent" });
    expect(Buffer.from(lateGot.latent!.data).equals(Buffer.from(host.encode(late, W, H, "rgb565").data))).toBe(true);
    await again.exit(repl);
    // Had the bridge not kept them, the board says what did not fit, and how big, over the protocol.
    const released = await repl.exec(`import tidepool_bridge
tidepool_bridge._runtimes.native.release()
${fragment}
try:
    tidepool_bridge.NativeRuntime().reserve(65536)
except MemoryError as e:
    print(e)`);
    expect(released).toMatch(
      /^no 64 KiB block True\r?\nthe native module: no contiguous 65536 bytes for its linear memory \(\d+ bytes free, fragmented\): restart the board\r?\n$/,
    );
    const bare = await BridgeClient.start(repl, "openmv-h7");
    await expect(bare.encode(W, H, "rgb565", late, { module: `${name}.mpy`, output: "latent" })).rejects.toThrow(
      /board: tidepool\/tidepool_openmv_h7\.mpy: no contiguous block for its code \(memory allocation failed, allocating \d+ bytes; \d+ bytes free, fragmented\): restart the board$/,
    );
    await bare.exit(repl);
    await repl.exec("_blocks = None\ngc.collect()");
  });

  it("the rv32imc module for GAP8/GAP9 runs on MicroPython's RV32 firmware, packets equal to the host WASM's", { timeout: 180_000 }, async () => {
    requireTargetTools(NATIVE_TARGETS.rv32);
    requirePythonWithElftools();
    const built = await buildEncoder({ board: "gap8", width: W, height: H, format: "gray8" });
    const name = mpyModuleName("gap8");
    const mb = buildNativeMpy({ wasm: built.wasm, target: NATIVE_TARGETS.rv32, boundsChecks: "off", name });
    expect(mb.arch).toBe("rv32imc");
    const mpy = readFileSync(mb.mpy);
    const frame = packFrame(randomRgb(11, W, H), W, H, "gray8");
    // The .mpy and the frame reach the board in its ROM partition (the serial line is slow); the module
    // is imported from there through a read-only VFS, as MicroPython's run-natmodtests.py does.
    const rv = await QemuMicroPython.start({ machine: "rv32", rom: Buffer.concat([mpy, frame]) });
    const rvLink = await SerialLink.open(rv.path);
    try {
      const repl = new RawRepl(rvLink);
      await repl.enter(false);
      expect(await repl.exec("import sys\nprint(sys.implementation._machine)")).toMatch(/rv32imac/);
      const out = await repl.exec(`import vfs, io, binascii
rom = vfs.rom_ioctl(2, 0)
class File(io.IOBase):
    def __init__(self):
        self.off = 0
    def ioctl(self, op, arg):
        return 0 if op == 4 else -1
    def readinto(self, buf):
        n = min(len(buf), ${mpy.length} - self.off)
        buf[:n] = rom[self.off:self.off + n]
        self.off += n
        return n
class RomMpy:
    def mount(self, readonly, mkfs):
        pass
    def chdir(self, path):
        pass
    def stat(self, path):
        if path == '/${name}.mpy':
            return (0,) * 10
        raise OSError(2)
    def open(self, path, mode):
        return File()
vfs.mount(RomMpy(), '/rommpy')
sys.path.insert(0, '/rommpy')
import ${name}
m = ${name}.Module()
f = m.function
print(f('tp_init')(${W}, ${H}, 0))
row = f('tp_row_ptr')()
for y in range(${H}):
    m.memory[row:row + ${W}] = rom[${mpy.length} + y * ${W}:${mpy.length} + (y + 1) * ${W}]
    f('tp_push_row')()
print(f('tp_pk_begin')(5, 51, 400, f('tp_latent_channels')()))
packets = []
while True:
    n = f('tp_pk_next')()
    if n <= 0:
        break
    p = f('tp_pk_ptr')()
    packets.append(binascii.hexlify(m.memory[p:p + n]).decode())
print(','.join(packets))
`);
      const host = await EncoderInstance.load(built.wasm);
      const latent = host.encode(frame, W, H, "gray8");
      const want = devicePacketize(host, { imageId: 5, packetBytes: 51, budgetBytes: 400, channels: latent.channels });
      const [init, begin, packets] = out.trim().split(/\r?\n/);
      expect([init, begin]).toEqual(["0", "0"]);
      expect(packets.split(",")).toEqual(want.packets.map((p) => Buffer.from(p).toString("hex")));
    } finally {
      await rvLink.close();
      await rv.stop();
    }
  });

  it("tidepool native --mpy writes the .mpy and its code size and RAM", { timeout: 180_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), "tidepool-mpy-"));
    try {
      const r = await runCliInProcess(["native", "--board", "openmv-h7", "--frame", `${W}x${H}`, "--mpy", "--out", out, "--json"]);
      expect(r.code, r.out).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect([rep.arch, rep.import]).toEqual(["armv7emsp", "tidepool_openmv_h7"]);
      expect(readFileSync(rep.mpy).subarray(0, 2)).toEqual(Buffer.from([0x4d, 6])); // "M", .mpy version 6
      expect(rep.mpyFileBytes).toBe(readFileSync(rep.mpy).length);
      expect(rep.ramBytes.text).toBeGreaterThanOrEqual(rep.ramBytes.code + rep.ramBytes.constants); // + alignment
      expect(rep.ramBytes.total).toBe(rep.ramBytes.text + rep.ramBytes.bss + rep.ramBytes.linearMemory);
      expect(rep.ramBytes.linearMemory).toBeGreaterThanOrEqual(rep.ramBytes.arenaInUse);
      expect(existsSync(rep.report)).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("exports i32-only functions by name and makes wasm2c's file-scope state global for mpy_ld", () => {
    const h = "u32 Z_tpZ_tp_init(Z_tp_instance_t*, u32, u32, u32);\nu32 Z_tpZ_tp_ready(Z_tp_instance_t*);\nu64 Z_tpZ_wide(Z_tp_instance_t*, u64);\n";
    expect(exportTable(h)).toEqual({ names: ["tp_init", "tp_ready"], header: "TP_EXPORT(tp_init, 3)\nTP_EXPORT(tp_ready, 0)\n" });
    expect(unstaticState("static u32 func_types[7];\nstatic bool s_module_initialized = false;\nstatic u32 w2c_f0(Z_tp_instance_t*, u32);\n")).toBe(
      "u32 func_types[7];\nbool s_module_initialized = false;\nstatic u32 w2c_f0(Z_tp_instance_t*, u32);\n",
    );
    expect(mpyModuleName("openmv-h7")).toBe("tidepool_openmv_h7");
  });
});
