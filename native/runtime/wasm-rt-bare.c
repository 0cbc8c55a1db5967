// A bare-metal runtime for wasm2c output (wabt 1.0.32's wasm-rt.h): the linear memory is one static
// block sized at build time (TP_MEMORY_BYTES), nothing is allocated, and a trap reports itself and
// stops. wabt's own wasm-rt-impl.c needs mmap, signals and a 64 KiB exception buffer, which a
// microcontroller does not have.
#include <stdarg.h>
#include <string.h>
#include "wasm-rt.h"
#include "tp-platform.h"

#ifndef TP_MEMORY_BYTES
#error "define TP_MEMORY_BYTES: the module's linear memory size (pages x 65536)"
#endif

/* Runtime state. Static by default; a MicroPython native module compiles it with TP_STATE empty, as
 * MicroPython's linker (mpy_ld) reaches zero-initialised data only through global symbols. */
#ifndef TP_STATE
#define TP_STATE static
#endif

#ifdef TP_MEMORY_EXTERNAL
/* The platform gives the block before instantiating (a MicroPython native module: a GC heap block). */
extern uint8_t* tp_linear_memory;
#define linear_memory tp_linear_memory
#else
static uint8_t linear_memory[TP_MEMORY_BYTES] __attribute__((aligned(8)));
#endif
TP_STATE bool tp_rt_memory_in_use;
TP_STATE bool tp_rt_initialized;
uint32_t wasm_rt_call_stack_depth;

void wasm_rt_init(void) { tp_rt_initialized = true; }
bool wasm_rt_is_initialized(void) { return tp_rt_initialized; }
void wasm_rt_free(void) { tp_rt_initialized = false; }

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "no error";
    case WASM_RT_TRAP_OOB: return "out-of-bounds memory access (or call stack exhausted)";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "invalid call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
#if !WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
#endif
  }
  return "unknown trap";
}

void wasm_rt_trap(wasm_rt_trap_t trap) { tp_fatal("wasm trap", wasm_rt_strerror(trap)); }

/* Function types: index + 1 of an interned (params, results, types) signature; 0 is the null type. */
#define TP_MAX_FUNC_TYPES 48
#define TP_MAX_TYPE_ARITY 12
typedef struct { uint32_t params, results; uint8_t types[TP_MAX_TYPE_ARITY]; } tp_func_type;
TP_STATE tp_func_type tp_rt_func_types[TP_MAX_FUNC_TYPES];
TP_STATE uint32_t tp_rt_func_type_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  tp_func_type t;
  memset(&t, 0, sizeof t);
  if (params + results > TP_MAX_TYPE_ARITY) tp_fatal("wasm runtime", "function type with too many parameters");
  t.params = params; t.results = results;
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params + results; i++) t.types[i] = (uint8_t)va_arg(ap, int);
  va_end(ap);
  for (uint32_t i = 0; i < tp_rt_func_type_count; i++)
    if (memcmp(&tp_rt_func_types[i], &t, sizeof t) == 0) return i + 1;
  if (tp_rt_func_type_count == TP_MAX_FUNC_TYPES) tp_fatal("wasm runtime", "too many function types");
  tp_rt_func_types[tp_rt_func_type_count] = t;
  return ++tp_rt_func_type_count;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages, uint32_t max_pages) {
  if (tp_rt_memory_in_use) tp_fatal("wasm runtime", "one linear memory only");
  if ((uint64_t)initial_pages * 65536u > TP_MEMORY_BYTES) tp_fatal("wasm runtime", "module memory larger than TP_MEMORY_BYTES");
  memset(linear_memory, 0, TP_MEMORY_BYTES);
  memory->data = linear_memory;
  memory->pages = initial_pages;
  memory->max_pages = max_pages;
  memory->size = initial_pages * 65536u;
  tp_rt_memory_in_use = true;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
  uint64_t pages = (uint64_t)memory->pages + delta;
  if (pages > memory->max_pages || pages * 65536u > TP_MEMORY_BYTES) return UINT32_MAX;
  uint32_t old = memory->pages;
  memset(memory->data + memory->size, 0, (size_t)delta * 65536u);
  memory->pages = (uint32_t)pages;
  memory->size = (uint32_t)pages * 65536u;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t* memory) { (void)memory; tp_rt_memory_in_use = false; }

/* Tables: Tidepool modules have at most a small funcref table; a static pool serves it. */
#define TP_TABLE_SLOTS 64
TP_STATE wasm_rt_funcref_t tp_rt_table_pool[TP_TABLE_SLOTS];
TP_STATE uint32_t tp_rt_table_used;

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements, uint32_t max_elements) {
  if (elements > TP_TABLE_SLOTS - tp_rt_table_used) tp_fatal("wasm runtime", "funcref table larger than the static pool");
  table->data = &tp_rt_table_pool[tp_rt_table_used];
  tp_rt_table_used += elements;
  for (uint32_t i = 0; i < elements; i++) table->data[i] = wasm_rt_funcref_null_value;
  table->size = elements;
  table->max_size = max_elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) { tp_rt_table_used -= table->size; table->size = 0; }

uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* table, uint32_t delta, wasm_rt_funcref_t init) {
  (void)table; (void)delta; (void)init;
  return UINT32_MAX; /* fixed-size tables: growth fails as the spec allows */
}
