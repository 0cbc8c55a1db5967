# The virtual board's `wasm3` module: the API of micropython-wasm3 (o-murphy/micropython-wasm3), which
# a board's firmware provides in C. The JavaScript half (wasm-runtime.mjs, imported as _wasm3_js) runs
# the module; bytes travel as addresses in MicroPython's memory (uctypes.addressof), since this port's
# FFI cannot pass bytes. `memory` is a bytearray kept in step with the module's linear memory on every
# call, as micropython-wasm3's live view is.
import uctypes
import _wasm3_js as _js


class Function:
    def __init__(self, module, name):
        self._m = module
        self.name = name

    def __call__(self, *args):
        m = self._m
        if m._h == 0:
            raise RuntimeError("module is closed")
        return _js.call(m._h, self.name, uctypes.addressof(m.memory), *args)


class Module:
    def __init__(self, blob, stack_bytes=2048):
        blob = bytes(blob)
        self._h = _js.load(uctypes.addressof(blob), len(blob), stack_bytes)
        if self._h == 0:
            err = _js.last_error()
            if err.startswith("MemoryError: "):
                raise MemoryError(err[13:])
            raise RuntimeError(err)
        self.mem_size = _js.mem_size(self._h)
        self.memory = bytearray(self.mem_size)
        _js.read_memory(self._h, uctypes.addressof(self.memory))

    def function(self, name):
        if self._h == 0 or not _js.has_function(self._h, name):
            raise RuntimeError("function lookup failed: %s" % name)
        return Function(self, name)

    def close(self):
        if self._h:
            _js.close(self._h)
            self._h = 0
