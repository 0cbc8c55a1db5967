// The WASM runtime module the virtual board gives MicroPython as `import wasm3`. It stands in for
// the board's runtime binding (modelled on micropython-wasm3: load a module, a view of its memory,
// call exports) and enforces the board's arena limit on the host side. Bytes cross the FFI as hex
// strings because the pyscript port passes Python bytes to JavaScript as opaque proxies.
export function createWasmRuntime(arenaLimitBytes) {
  const modules = [];
  const hex = (s) => Buffer.from(String(s), "hex");
  return {
    /** Loads a module from hex; returns a handle. Refuses modules whose memory exceeds the arena limit. */
    load(blobHex) {
      const bytes = hex(blobHex);
      const mod = new WebAssembly.Module(bytes);
      const instance = new WebAssembly.Instance(mod, { env: { abort: () => { throw new Error("wasm abort"); } } });
      const memory = instance.exports.memory;
      if (!memory) throw new Error("module exports no memory");
      const limitPages = Math.max(1, Math.ceil(arenaLimitBytes / 65536));
      if (memory.buffer.byteLength > limitPages * 65536)
        throw new Error(`MemoryError: module needs ${memory.buffer.byteLength} bytes, board arena limit is ${arenaLimitBytes}`);
      // Growth past the limit would be a board crash: cap it.
      const grow = memory.grow.bind(memory);
      memory.grow = (n) => { if (memory.buffer.byteLength / 65536 + n > limitPages) throw new Error("MemoryError: memory.grow past the board's arena"); return grow(n); };
      modules.push(instance);
      return modules.length - 1;
    },
    call(handle, name, ...args) {
      const f = modules[handle]?.exports[name];
      if (typeof f !== "function") throw new Error(`no export ${name}`);
      return f(...args);
    },
    write(handle, offset, dataHex) {
      const data = hex(dataHex);
      const mem = new Uint8Array(modules[handle].exports.memory.buffer);
      if (offset < 0 || offset + data.length > mem.length) throw new Error(`write outside memory at ${offset}`);
      mem.set(data, offset);
    },
    read(handle, offset, length) {
      const mem = new Uint8Array(modules[handle].exports.memory.buffer);
      if (offset < 0 || offset + length > mem.length) throw new Error(`read outside memory at ${offset}`);
      return Buffer.from(mem.subarray(offset, offset + length)).toString("hex");
    },
    memory_size(handle) { return modules[handle].exports.memory.buffer.byteLength; },
  };
}
