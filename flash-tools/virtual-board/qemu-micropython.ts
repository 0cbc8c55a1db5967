// A virtual board on a real instruction set: MicroPython's QEMU port for the Cortex-M7 machine
// mps2-an500 (or RISC-V virt, RV32), prebuilt in native/vendor/micropython, under QEMU, its UART on a real
// pseudo-terminal (`-serial pty`). Unlike the npm WebAssembly MicroPython of virtual-board.ts it
// loads native modules (.mpy) and runs their Thumb-2 code, so the encoder's .mpy is tested as a
// board runs it. The port has no writable filesystem: mountRamFilesystem gives it one (littlefs on a
// RAM block device), which the bridge's file uploads need.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailureError } from "../../host/core/errors.ts";
import { MICROPYTHON_DIR } from "../../host/build/native/mpy.ts";
import { NATIVE_TARGETS } from "../../host/build/native/targets.ts";
import { requireTool } from "../../host/build/native/toolchain.ts";
import type { RawRepl } from "../raw-repl.ts";

/** MicroPython's QEMU port builds vendored in native/vendor/micropython/firmware (PROVENANCE.md). */
export const QEMU_MICROPYTHON_MACHINES = {
  m7: {
    firmware: join(MICROPYTHON_DIR, "firmware", "MPS2_AN500-tidepool.elf"),
    args: ["-M", "mps2-an500"],
    /** The port's ROMFS partition 0: raw bytes put here are `vfs.rom_ioctl(2, 0)`, a memoryview. */
    romAddress: 0x60c00000,
  },
  rv32: {
    firmware: join(MICROPYTHON_DIR, "firmware", "VIRT_RV32-tidepool.elf"),
    // The port's Makefile adds -cpu rv32,zcd=off,zcmp=on, which Debian's QEMU 7.2 lacks; the
    // firmware is built for rv32imac without Zcmp, so the default CPU runs it.
    args: ["-M", "virt", "-bios", "none"],
    romAddress: 0x80610000,
  },
} as const;
export type QemuMicroPythonMachine = keyof typeof QEMU_MICROPYTHON_MACHINES;

export class QemuMicroPython {
  private constructor(
    readonly path: string,
    private readonly proc: ChildProcess,
    private readonly tmp: string | null,
  ) {}

  /**
   * Boots the firmware; resolves once QEMU has named its pseudo-terminal. `rom` is loaded raw into
   * the port's ROMFS partition: a way to hand the board bytes without the (slow: one byte per UART
   * round trip) serial line.
   */
  static start(opts: { machine?: QemuMicroPythonMachine; rom?: Uint8Array; timeoutMs?: number } = {}): Promise<QemuMicroPython> {
    const m = QEMU_MICROPYTHON_MACHINES[opts.machine ?? "m7"];
    const target = NATIVE_TARGETS[opts.machine ?? "m7"];
    const qemu = requireTool(target.qemu, target.packages.qemu);
    if (!existsSync(m.firmware)) throw new FailureError("qemu-board", `MicroPython firmware missing: ${m.firmware}`);
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const args = [...m.args, "-nographic", "-monitor", "none", "-semihosting", "-serial", "pty", "-kernel", m.firmware];
    let tmp: string | null = null;
    if (opts.rom) {
      tmp = mkdtempSync(join(tmpdir(), "tidepool-qemu-rom-"));
      writeFileSync(join(tmp, "rom.bin"), opts.rom);
      args.push("-device", `loader,file=${join(tmp, "rom.bin")},addr=0x${m.romAddress.toString(16)},force-raw=on`);
    }
    const proc = spawn(qemu, args, { stdio: ["ignore", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
      let said = "";
      const timer = setTimeout(() => fail(`no pseudo-terminal from QEMU within ${timeoutMs} ms`), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        proc.kill();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
        reject(new FailureError("qemu-board", `${why}: ${said.trim()}`));
      };
      const hear = (d: Buffer) => {
        said += d.toString();
        const found = said.match(/(\/dev\/pts\/\d+)/);
        if (found) {
          clearTimeout(timer);
          resolve(new QemuMicroPython(found[1], proc, tmp));
        }
      };
      proc.stdout!.on("data", hear);
      proc.stderr!.on("data", hear);
      proc.on("error", (e) => fail(e.message));
      proc.on("exit", (code) => fail(`QEMU exited with ${code}`));
    });
  }

  stop(): Promise<void> {
    const cleanup = () => {
      if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    };
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve(cleanup());
    return new Promise((resolve) => {
      this.proc.once("exit", () => resolve(cleanup()));
      this.proc.kill();
    });
  }
}

/** littlefs on a RAM block device, mounted at / as a board's flash would be (MicroPython's documented RAM disk). */
export async function mountRamFilesystem(repl: RawRepl, kib = 256): Promise<void> {
  await repl.exec(`import vfs, os
class _RamDisk:
    def __init__(self, n):
        self.data = bytearray(n * 512)
    def readblocks(self, block, buf, offset=0):
        a = block * 512 + offset
        buf[:] = memoryview(self.data)[a:a + len(buf)]
    def writeblocks(self, block, buf, offset=0):
        a = block * 512 + offset
        self.data[a:a + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // 512
        if op == 5:
            return 512
        if op == 6:
            return 0
_disk = _RamDisk(${kib * 2})
vfs.VfsLfs2.mkfs(_disk)
vfs.mount(vfs.VfsLfs2(_disk), '/')
os.chdir('/')
`);
}
