// A virtual board on a real instruction set: MicroPython's QEMU port for the Cortex-M7 machine
// mps2-an500 (prebuilt, native/vendor/micropython) under qemu-system-arm, its UART on a real
// pseudo-terminal (`-serial pty`). Unlike the npm WebAssembly MicroPython of virtual-board.ts it
// loads native modules (.mpy) and runs their Thumb-2 code, so the encoder's .mpy is tested as a
// board runs it. The port has no writable filesystem: mountRamFilesystem gives it one (littlefs on a
// RAM block device), which the bridge's file uploads need.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FailureError } from "../../host/core/errors.ts";
import { MICROPYTHON_DIR } from "../../host/build/native/mpy.ts";
import { NATIVE_TARGETS } from "../../host/build/native/targets.ts";
import { requireTool } from "../../host/build/native/toolchain.ts";
import type { RawRepl } from "../raw-repl.ts";

export const QEMU_MICROPYTHON_FIRMWARE = join(MICROPYTHON_DIR, "firmware", "MPS2_AN500-tidepool.elf");

export class QemuMicroPython {
  private constructor(
    readonly path: string,
    private readonly proc: ChildProcess,
  ) {}

  /** Boots the firmware; resolves once QEMU has named its pseudo-terminal. */
  static start(firmware = QEMU_MICROPYTHON_FIRMWARE, timeoutMs = 20_000): Promise<QemuMicroPython> {
    const qemu = requireTool(NATIVE_TARGETS.m7.qemu, NATIVE_TARGETS.m7.packages.qemu);
    if (!existsSync(firmware)) throw new FailureError("qemu-board", `MicroPython firmware missing: ${firmware}`);
    const proc = spawn(qemu, ["-M", "mps2-an500", "-nographic", "-monitor", "none", "-semihosting", "-serial", "pty", "-kernel", firmware], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
      let said = "";
      const timer = setTimeout(() => fail(`no pseudo-terminal from QEMU within ${timeoutMs} ms`), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        proc.kill();
        reject(new FailureError("qemu-board", `${why}: ${said.trim()}`));
      };
      const hear = (d: Buffer) => {
        said += d.toString();
        const m = said.match(/(\/dev\/pts\/\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(new QemuMicroPython(m[1], proc));
        }
      };
      proc.stdout!.on("data", hear);
      proc.stderr!.on("data", hear);
      proc.on("error", (e) => fail(e.message));
      proc.on("exit", (code) => fail(`QEMU exited with ${code}`));
    });
  }

  stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.proc.once("exit", () => resolve());
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
