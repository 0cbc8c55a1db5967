/* The Tidepool encoder as a MicroPython native module (.mpy; docs/native.md): wasm2c's module.c and
 * the bare-metal runtime (native/runtime) with this glue, linked by MicroPython's tools/mpy_ld.py.
 * To Python it is micropython-wasm3's Module, the API the bridge's runtime adapter speaks:
 *
 *   import tidepool_m7
 *   mem = bytearray(tidepool_m7.MEMORY_BYTES)  # reserved once, early (the bridge does it at start)
 *   m = tidepool_m7.Module(mem)         # instantiate into it: `memory` is that bytearray
 *   m = tidepool_m7.Module()            # or: the linear memory is a new block on the GC heap
 *   m.function("tp_init")(320, 240, 1)  # exports are called by name, i32 in and out
 *   m.memory[off:off + n]               # a bytearray over the linear memory itself (live)
 *   m.mem_size; m.close()
 *
 * One module is open at a time (the runtime has one linear memory: a new Module() closes the last);
 * a trap raises RuntimeError. Why adopt a reserved block: a long-running MicroPython heap fragments,
 * and a 64 KiB block found late in a session is luck (docs/native.md, "When the RAM is taken").
 * tp_exports.h is generated with module.c: TP_EXPORT(name, arity) for each i32-only export. */
#include "py/dynruntime.h"
#include "module.h"

typedef struct {
    mp_obj_base_t base;
    Z_tp_instance_t *instance; /* NULL once closed */
    mp_obj_t memory;           /* the adopted bytearray, or a bytearray by reference over our own block */
} module_obj_t;

typedef struct {
    mp_obj_base_t base;
    module_obj_t *module;
    uint16_t index;
} function_obj_t;

typedef struct {
    const char *name;
    uint8_t arity;
    const void *fn;
} export_t;

#define TP_EXPORT(name, arity) {#name, arity, (const void *)Z_tpZ_##name},
const export_t tp_exports[] = {
#include "tp_exports.h"
};
#undef TP_EXPORT
#define TP_EXPORT_COUNT (sizeof(tp_exports) / sizeof(tp_exports[0]))

/* Not static: mpy_ld places zero-initialised globals in the module's bss and reaches them through the GOT. */
mp_obj_full_type_t tp_module_type;
mp_obj_full_type_t tp_function_type;
uint8_t *tp_linear_memory; /* the runtime's linear memory (TP_MEMORY_EXTERNAL) */
module_obj_t *tp_open_module;

/* The C library calls wasm2c's output makes, served by the firmware's own (dynruntime's table). */
void *memcpy(void *dst, const void *src, size_t n) { return mp_fun_table.memmove_(dst, src, n); }
void *memmove(void *dst, const void *src, size_t n) { return mp_fun_table.memmove_(dst, src, n); }
void *memset(void *dst, int c, size_t n) { return mp_fun_table.memset_(dst, c, n); }
int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] - y[i];
        }
    }
    return 0;
}

/* A trap or a runtime limit: a Python exception (nlr unwinds the C frames of the module). */
void tp_fatal(const char *what, const char *detail) {
    (void)what;
    mp_raise_msg(&mp_type_RuntimeError, detail);
}

static module_obj_t *open_module(mp_obj_t self_in) {
    module_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->instance == NULL) {
        mp_raise_msg(&mp_type_RuntimeError, "module is closed");
    }
    return self;
}

static mp_obj_t module_close(mp_obj_t self_in);

/* The linear memory from Module's argument: a writable buffer of at least TP_MEMORY_BYTES, 8-byte aligned
 * (a bytearray's data is a GC block), or NULL when there is none: a read-only blob as wasm3's
 * Module(blob, stack_bytes=…) takes is ignored, the code being this .mpy. The caller must not resize it. */
static uint8_t *adopted_memory(size_t n_args, size_t n_kw, const mp_obj_t *args, mp_obj_t *memory) {
    mp_obj_t arg = MP_OBJ_NULL;
    if (n_args > 0) {
        arg = args[0];
    }
    for (size_t i = 0; i < n_kw; i++) {
        if (args[n_args + 2 * i] == MP_OBJ_NEW_QSTR(MP_QSTR_memory)) {
            arg = args[n_args + 2 * i + 1];
        }
    }
    mp_buffer_info_t buf;
    if (arg == MP_OBJ_NULL || arg == mp_const_none || !mp_get_buffer(arg, &buf, MP_BUFFER_RW)) {
        return NULL;
    }
    if (buf.len < TP_MEMORY_BYTES) {
        mp_raise_ValueError("linear memory smaller than MEMORY_BYTES");
    }
    if (((uintptr_t)buf.buf & 7) != 0) {
        mp_raise_ValueError("linear memory not 8-byte aligned");
    }
    *memory = arg;
    return buf.buf;
}

static mp_obj_t module_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    /* Module(memory) adopts a block reserved early; Module() (or wasm3's Module(blob, …)) allocates one. */
    mp_obj_t memory = MP_OBJ_NULL;
    uint8_t *block = adopted_memory(n_args, n_kw, args, &memory);
    if (tp_open_module != NULL) {
        /* One linear memory: a new Module closes the last (a bridge restarted without a reset left it open). */
        module_close(MP_OBJ_FROM_PTR(tp_open_module));
    }
    if (block == NULL) {
        block = m_malloc(TP_MEMORY_BYTES); /* raises MemoryError when the heap has no such block */
        memory = mp_obj_new_bytearray_by_ref(TP_MEMORY_BYTES, block);
    }
    module_obj_t *self = mp_obj_malloc(module_obj_t, type);
    self->instance = NULL;
    self->memory = memory;
    Z_tp_instance_t *instance = m_malloc(sizeof(Z_tp_instance_t)); /* a few hundred bytes */
    memset(instance, 0, sizeof(Z_tp_instance_t));
    tp_linear_memory = block; /* zeroed by the runtime as it instantiates */
    wasm_rt_init();
    Z_tp_init_module();
    Z_tp_instantiate(instance);
    self->instance = instance;
    tp_open_module = self;
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t module_function(mp_obj_t self_in, mp_obj_t name_in) {
    module_obj_t *self = open_module(self_in);
    size_t len;
    const char *name = mp_obj_str_get_data(name_in, &len);
    for (size_t i = 0; i < TP_EXPORT_COUNT; i++) {
        const char *e = tp_exports[i].name;
        size_t k = 0;
        while (k < len && e[k] == name[k]) {
            k++;
        }
        if (k == len && e[k] == 0) {
            function_obj_t *f = mp_obj_malloc(function_obj_t, (mp_obj_type_t *)&tp_function_type);
            f->module = self;
            f->index = i;
            return MP_OBJ_FROM_PTR(f);
        }
    }
    mp_raise_msg(&mp_type_RuntimeError, "function lookup failed");
}
static MP_DEFINE_CONST_FUN_OBJ_2(module_function_obj, module_function);

static mp_obj_t module_close(mp_obj_t self_in) {
    module_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->instance != NULL) {
        Z_tp_free(self->instance);
        wasm_rt_free();
        m_free(self->instance);
        self->instance = NULL;
        tp_open_module = NULL;
        /* The block stays as long as Python holds `memory` (an adopted one is the caller's to reuse). */
        tp_linear_memory = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(module_close_obj, module_close);

static void module_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    module_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] != MP_OBJ_NULL) {
        return; /* read-only */
    }
    if (attr == MP_QSTR_memory) {
        dest[0] = self->memory;
    } else if (attr == MP_QSTR_mem_size) {
        dest[0] = mp_obj_new_int(self->instance ? (mp_int_t)Z_tpZ_memory(self->instance)->size : 0);
    } else if (attr == MP_QSTR_function) {
        dest[0] = MP_OBJ_FROM_PTR(&module_function_obj);
        dest[1] = self_in;
    } else if (attr == MP_QSTR_close) {
        dest[0] = MP_OBJ_FROM_PTR(&module_close_obj);
        dest[1] = self_in;
    }
}

typedef u32 (*fn0_t)(Z_tp_instance_t *);
typedef u32 (*fn1_t)(Z_tp_instance_t *, u32);
typedef u32 (*fn2_t)(Z_tp_instance_t *, u32, u32);
typedef u32 (*fn3_t)(Z_tp_instance_t *, u32, u32, u32);
typedef u32 (*fn4_t)(Z_tp_instance_t *, u32, u32, u32, u32);
typedef u32 (*fn5_t)(Z_tp_instance_t *, u32, u32, u32, u32, u32);

static mp_obj_t function_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    function_obj_t *self = MP_OBJ_TO_PTR(self_in);
    const export_t *e = &tp_exports[self->index];
    mp_arg_check_num(n_args, n_kw, e->arity, e->arity, false);
    Z_tp_instance_t *in = open_module(MP_OBJ_FROM_PTR(self->module))->instance;
    u32 a[5] = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < n_args; i++) {
        a[i] = (u32)mp_obj_get_int_truncated(args[i]);
    }
    u32 r;
    switch (e->arity) {
        case 0: r = ((fn0_t)e->fn)(in); break;
        case 1: r = ((fn1_t)e->fn)(in, a[0]); break;
        case 2: r = ((fn2_t)e->fn)(in, a[0], a[1]); break;
        case 3: r = ((fn3_t)e->fn)(in, a[0], a[1], a[2]); break;
        case 4: r = ((fn4_t)e->fn)(in, a[0], a[1], a[2], a[3]); break;
        default: r = ((fn5_t)e->fn)(in, a[0], a[1], a[2], a[3], a[4]); break;
    }
    return mp_obj_new_int((mp_int_t)(int32_t)r); /* i32 results are signed, as wasm3 returns them */
}

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    tp_module_type.base.type = (void *)&mp_type_type;
    tp_module_type.name = MP_QSTR_Module;
    MP_OBJ_TYPE_SET_SLOT(&tp_module_type, make_new, module_make_new, 0);
    MP_OBJ_TYPE_SET_SLOT(&tp_module_type, attr, module_attr, 1);
    tp_function_type.base.type = (void *)&mp_type_type;
    tp_function_type.name = MP_QSTR_Function;
    MP_OBJ_TYPE_SET_SLOT(&tp_function_type, call, function_call, 0);
    mp_store_global(MP_QSTR_Module, MP_OBJ_FROM_PTR(&tp_module_type));
    mp_store_global(MP_QSTR_MEMORY_BYTES, mp_obj_new_int(TP_MEMORY_BYTES));

    MP_DYNRUNTIME_INIT_EXIT
}
