/* Included before the wasm2c module on RISC-V targets (host/build/native/targets.ts, docs/native.md):
 * wasm2c loads and stores through memcpy, which GCC's default RISC-V tuning (strict alignment,
 * slow unaligned access) expands byte by byte: an i32 load became 4 lbu + 4 sb + lw, an i64 load 17
 * instructions. The module's loads and stores are naturally aligned (AssemblyScript's types; the
 * arena's regions are 4- or 8-byte aligned), so the copy may assume it and become one lw/ld/sw/sd.
 * RI5CY and CV32E40P would handle a misaligned access in hardware anyway; on the K210 it would trap
 * to the firmware's misaligned-access handler (slow, still correct). */
#include "wasm-rt.h"
#undef wasm_rt_memcpy
typedef uint16_t __attribute__((may_alias)) tp_u16_alias;
typedef uint32_t __attribute__((may_alias)) tp_u32_alias;
typedef uint64_t __attribute__((may_alias)) tp_u64_alias;
static inline void tp_copy_aligned(void* d, const void* s, unsigned long n) {
  /* n is a constant at every use (sizeof of the accessed type), so only one arm survives. */
  switch (n) {
    case 2: *(tp_u16_alias*)d = *(const tp_u16_alias*)s; break;
    case 4: *(tp_u32_alias*)d = *(const tp_u32_alias*)s; break;
    case 8: *(tp_u64_alias*)d = *(const tp_u64_alias*)s; break;
    default: __builtin_memcpy(d, s, n);
  }
}
#define wasm_rt_memcpy(d, s, n) tp_copy_aligned((d), (s), (n))
