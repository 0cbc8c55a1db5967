// The JavaScript half of the virtual board's `wasm3` module (the Python half is wasm3.py beside this
// file). Together they give MicroPython the API of micropython-wasm3 (o-murphy/micropython-wasm3):
// `wasm3.Module(blob, stack_bytes=…)`, `m.function(name)(…)`, `m.memory` (a bytearray), `m.mem_size`,
// `m.close()`; and they enforce the board's arena limit on the module's linear memory.
//
// Bytes do not cross this port's FFI (Python bytes reach JavaScript as opaque proxies), so the Python
// side passes addresses: `uctypes.addressof(buf)` is an offset in MicroPython's own linear memory,
// which the worker captured when it instantiated MicroPython (`heap()` below). `m.memory` is a real
// bytearray in MicroPython's heap: before each call its contents are copied into the module's linear
// memory and after the call back, so Python sees the module's writes and the module sees Python's, as
// with micropython-wasm3's live view (a copy of at most the module's few pages per call).
export function createWasmRuntime(arenaLimitBytes, heap) {
  const modules = new Map();
  let next = 1;
  let lastError = "";
  const bytesAt = (addr, len) => new Uint8Array(heap().buffer, addr, len);
  const get = (h) => {
    const m = modules.get(h);
    if (!m) throw new Error(`wasm3: module ${h} is closed`);
    return m;
  };
  return {
    /** Instantiates the module whose bytes are at [addr, addr+len) of MicroPython's memory; a handle, or 0 (see last_error). */
    load(addr, len, stackBytes) {
      try {
        const mod = new WebAssembly.Module(bytesAt(addr, len).slice());
        const instance = new WebAssembly.Instance(mod, {
          env: {
            abort: () => {
              throw new Error("wasm abort");
            },
          },
        });
        const memory = instance.exports.memory;
        if (!memory) throw new Error("module exports no memory");
        const limitPages = Math.max(1, Math.ceil(arenaLimitBytes / 65536));
        if (memory.buffer.byteLength > limitPages * 65536)
          return ((lastError = `MemoryError: module needs ${memory.buffer.byteLength} bytes, board arena limit is ${arenaLimitBytes}`), 0);
        const grow = memory.grow.bind(memory);
        memory.grow = (n) => {
          if (memory.buffer.byteLength / 65536 + n > limitPages) throw new Error("MemoryError: memory.grow past the board's arena");
          return grow(n);
        };
        const h = next++;
        modules.set(h, { instance, memory, stackBytes });
        return h;
      } catch (e) {
        lastError = `RuntimeError: ${e.message}`;
        return 0;
      }
    },
    last_error() {
      return lastError;
    },
    mem_size(h) {
      return get(h).memory.buffer.byteLength;
    },
    has_function(h, name) {
      return typeof get(h).instance.exports[name] === "function";
    },
    /** Copies the module's memory into the bytearray at `addr` (its initial contents after load). */
    read_memory(h, addr) {
      const m = get(h);
      bytesAt(addr, m.memory.buffer.byteLength).set(new Uint8Array(m.memory.buffer));
    },
    /** Calls an export with the Python bytearray at `addr` as its linear memory (copied in, then out). */
    call(h, name, addr, ...args) {
      const m = get(h);
      const f = m.instance.exports[name];
      if (typeof f !== "function") throw new Error(`no export ${name}`);
      const n = m.memory.buffer.byteLength;
      new Uint8Array(m.memory.buffer).set(bytesAt(addr, n));
      try {
        return f(...args);
      } finally {
        bytesAt(addr, n).set(new Uint8Array(m.memory.buffer, 0, n));
      }
    },
    close(h) {
      modules.delete(h);
    },
  };
}
