// The instruction sets the native (wasm2c + GCC) build targets, each with its compiler, C library,
// QEMU machine and the Debian packages that provide them (docs/native.md).

export type NativeTargetName = "m7" | "rv32" | "rv64";

export interface NativeTarget {
  name: NativeTargetName;
  /** What `tidepool profile --runtime` calls it. */
  runtime: `qemu-${NativeTargetName}`;
  isa: string;
  /** Boards whose core this instruction set stands for. */
  boards: string[];
  cc: string;
  size: string;
  nm: string;
  ar: string;
  cflags: string[];
  /** Extra flags for the wasm2c module only, relative to native/ (RISC-V: aligned loads and stores, native/runtime/aligned-access.h). */
  moduleCflags(nativeDir: string): string[];
  /** Flags for the final link (C library, startup, memory layout), given the native/ directory. */
  ldflags(nativeDir: string): string[];
  /** Extra sources linked into the firmware (startup code), relative to native/. */
  startup: string[];
  qemu: string;
  qemuArgs: string[];
  /** Debian packages: the compiler, the C library, QEMU. */
  packages: { cc: string; libc: string; qemu: string };
  /** A file the C library package installs (to name the package when it is missing). */
  libcProbe: string;
}

const common = ["-O2", "-ffunction-sections", "-fdata-sections", "-fno-common"];
const picolibcLayout = [
  "--specs=picolibc.specs",
  "--crt0=semihost",
  "--oslib=semihost",
  // QEMU virt: RAM at 0x80000000; code and constants in the first 4 MiB, data, heap and stack in the next.
  "-Wl,--defsym=__flash=0x80000000",
  "-Wl,--defsym=__flash_size=0x400000",
  "-Wl,--defsym=__ram=0x80400000",
  "-Wl,--defsym=__ram_size=0x400000",
  "-Wl,--defsym=__stack_size=0x4000",
  "-Wl,--gc-sections",
];
/** RISC-V: wasm2c's memcpy loads and stores as single aligned accesses (GCC's strict-alignment tuning splits them into bytes). */
const alignedAccess = (nativeDir: string) => ["-include", `${nativeDir}/runtime/aligned-access.h`];
const qemuCommon = ["-nographic", "-monitor", "none", "-serial", "none", "-semihosting-config", "enable=on,target=native"];

export const NATIVE_TARGETS: Record<NativeTargetName, NativeTarget> = {
  m7: {
    name: "m7",
    runtime: "qemu-m7",
    isa: "armv7e-m (Cortex-M7, Thumb-2)",
    boards: ["openmv-h7"],
    cc: "arm-none-eabi-gcc",
    size: "arm-none-eabi-size",
    nm: "arm-none-eabi-nm",
    ar: "arm-none-eabi-ar",
    cflags: ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=soft", ...common],
    // ARMv7-M loads and stores unaligned words in hardware: GCC already emits one ldr/str per access.
    moduleCflags: () => [],
    ldflags: (dir) => [
      "-mcpu=cortex-m7",
      "-mthumb",
      "-mfloat-abi=soft",
      "--specs=rdimon.specs",
      "-nostartfiles",
      "-T",
      `${dir}/arm/mps2-an500.ld`,
      "-Wl,--gc-sections",
    ],
    startup: ["arm/startup.c"],
    qemu: "qemu-system-arm",
    qemuArgs: ["-M", "mps2-an500", ...qemuCommon],
    packages: { cc: "gcc-arm-none-eabi", libc: "libnewlib-arm-none-eabi", qemu: "qemu-system-arm" },
    libcProbe: "/usr/lib/arm-none-eabi/newlib/rdimon.specs",
  },
  rv32: {
    name: "rv32",
    runtime: "qemu-rv32",
    isa: "rv32imc (RI5CY / CV32E40P class, no Xpulp)",
    boards: ["gap8", "gap9"],
    cc: "riscv64-unknown-elf-gcc",
    size: "riscv64-unknown-elf-size",
    nm: "riscv64-unknown-elf-nm",
    ar: "riscv64-unknown-elf-ar",
    // Debian's picolibc has no rv32imc multilib: code is compiled for rv32imc, the C library linked from rv32im.
    cflags: ["-march=rv32imc_zicsr", "-mabi=ilp32", "--specs=picolibc.specs", ...common],
    moduleCflags: alignedAccess,
    ldflags: () => ["-march=rv32im", "-mabi=ilp32", ...picolibcLayout],
    startup: [],
    qemu: "qemu-system-riscv32",
    qemuArgs: ["-M", "virt", "-bios", "none", ...qemuCommon],
    packages: { cc: "gcc-riscv64-unknown-elf", libc: "picolibc-riscv64-unknown-elf", qemu: "qemu-system-misc" },
    libcProbe: "/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs",
  },
  rv64: {
    name: "rv64",
    runtime: "qemu-rv64",
    isa: "rv64imac (K210's RV64GC without the FPU)",
    boards: ["k210"],
    cc: "riscv64-unknown-elf-gcc",
    size: "riscv64-unknown-elf-size",
    nm: "riscv64-unknown-elf-nm",
    ar: "riscv64-unknown-elf-ar",
    cflags: ["-march=rv64imac", "-mabi=lp64", "-mcmodel=medany", "--specs=picolibc.specs", ...common],
    moduleCflags: alignedAccess,
    ldflags: () => ["-march=rv64imac", "-mabi=lp64", "-mcmodel=medany", ...picolibcLayout],
    startup: [],
    qemu: "qemu-system-riscv64",
    qemuArgs: ["-M", "virt", "-bios", "none", ...qemuCommon],
    packages: { cc: "gcc-riscv64-unknown-elf", libc: "picolibc-riscv64-unknown-elf", qemu: "qemu-system-misc" },
    libcProbe: "/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs",
  },
};

/** Bounds checks as wasm2c compiles them: "on" checks every load/store and counts call depth. */
export type BoundsChecks = "on" | "off";

export function boundsCheckFlags(b: BoundsChecks): string[] {
  return b === "on"
    ? ["-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", "-DWASM_RT_USE_STACK_DEPTH_COUNT=1"]
    : // No guard pages on a microcontroller: "off" means no checks at all (the module is trusted, its
      // accesses stay inside the planned arena; tidepool build checks the plan).
      ["-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1", "-DWASM_RT_SKIP_SIGNAL_RECOVERY=1", "-DWASM_RT_USE_STACK_DEPTH_COUNT=0"];
}

export function nativeTargetForRuntime(runtime: string): NativeTarget | undefined {
  return Object.values(NATIVE_TARGETS).find((t) => t.runtime === runtime);
}

/** The native target whose instruction set a board's core has (undefined: none emulated, e.g. Xtensa). */
export function nativeTargetForBoard(board: string): NativeTarget | undefined {
  return Object.values(NATIVE_TARGETS).find((t) => t.boards.includes(board));
}
