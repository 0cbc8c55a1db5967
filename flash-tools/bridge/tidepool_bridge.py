# Tidepool bridge: a framed binary protocol on the board's REPL serial line (docs/bridge-protocol.md).
# Frames: COBS(payload) + 0x00, payload = b"TB" ver type seq(u16) len(u16) body crc32(u32), little-endian.
# Runs under MicroPython: `import tidepool_bridge; tidepool_bridge.serve()` from the raw REPL.
import sys, os, struct, time, binascii, hashlib, gc

VERSION = 3
MAX_BODY = 1024
MAX_UPLOAD = 512 * 1024
MAX_PACKET_STORE = 64 * 1024  # packets kept for PACKET requests, per encode
BASE = "tidepool"
MODEM_CONFIG = BASE + "/modem.json"
INSTALLED_POLICY = "policy.plcy"  # the adaptive policy installed over the bridge, applied to every module load
CHANNELS_POLICY = 255  # ENCODE channels: the module's policy chooses (docs/adaptive.md)
# The native module's linear memory, reserved when the bridge starts (the .mpy's MEMORY_BYTES: one 64 KiB
# page on the 32-bit boards; a module that needs more gets a larger block when it loads).
NATIVE_MEMORY_BYTES = 65536

T_INFO, T_PUT_OPEN, T_PUT_DATA, T_PUT_CLOSE, T_ENCODE, T_ROW, T_READ, T_STATS, T_EXIT, T_PACKET, T_MODEM, T_POLICY = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
R_ACK, R_INFO, R_RESULT, R_DATA, R_STATS, R_PACKET, R_MODEM, R_POLICY, R_ERR = 0x80, 0x81, 0x82, 0x84, 0x85, 0x86, 0x87, 0x88, 0xEE
FORMAT_BPP = {0: 1, 1: 2, 2: 3}
OUT_LATENT, OUT_PACKETS, OUT_UPLINK = 0, 1, 2


def replace_file(src, dst):
    # MicroPython's littlefs/FAT rename does not overwrite: drop the old file first (src is complete)
    try:
        os.remove(dst)
    except OSError:
        pass
    os.rename(src, dst)


def cobs_encode(data):
    out = bytearray(b"\x00")
    code_at, code = 0, 1
    for b in data:
        if b == 0:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_at] = code
                code_at, code = len(out), 1
                out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            raise ValueError("bad COBS")
        out.extend(data[i + 1:i + code])
        i += code
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


class Bridge:
    def __init__(self, write, runtime, camera=None, board="unknown", modem=None, seed=0x9E3779B9):
        self.write = write
        self.runtime = runtime
        self.camera = camera
        self.board = board
        self.modem = modem  # a callable making the LoRaWAN modem on first use, or None
        self.buf = bytearray()
        self.up = None
        self.enc = None
        self.running = True
        self.reference_p = 0  # probability of a reference upload per policy-chosen encode, in 1/65535
        self.rng = (seed & 0xFFFFFFFF) or 1
        self.stats = {"frames_in": 0, "frames_out": 0, "bad_frames": 0, "bytes_in": 0, "bytes_out": 0,
                      "encodes": 0, "last_encode_us": 0, "files_written": 0, "packets": 0, "uplinks": 0,
                      "uplink_wait_ms": 0, "references": 0, "policy_installs": 0, "policy_dropped": 0}
        try:
            os.mkdir(BASE)
        except OSError:
            pass

    # ---- framing ----
    def send(self, rtype, seq, body=b""):
        head = b"TB" + struct.pack("<BBHH", VERSION, rtype, seq, len(body)) + body
        frame = head + struct.pack("<I", binascii.crc32(head) & 0xFFFFFFFF)
        wire = cobs_encode(frame) + b"\x00"
        self.write(wire)
        self.stats["frames_out"] += 1
        self.stats["bytes_out"] += len(wire)

    def feed(self, data):
        for b in data:
            if b == 0:
                if self.buf:
                    self.frame(bytes(self.buf))
                self.buf = bytearray()
            elif len(self.buf) > 2 * MAX_BODY + 64:
                self.buf = bytearray()
                self.stats["bad_frames"] += 1
            else:
                self.buf.append(b)
            if not self.running:
                return

    def frame(self, wire):
        self.stats["bytes_in"] += len(wire) + 1
        try:
            raw = cobs_decode(wire)
        except Exception:
            self.stats["bad_frames"] += 1
            return
        if len(raw) < 12 or raw[0:2] != b"TB":
            self.stats["bad_frames"] += 1
            return
        ver, ftype, seq, n = struct.unpack("<BBHH", raw[2:8])
        if ver != VERSION or n != len(raw) - 12 or n > MAX_BODY:
            self.stats["bad_frames"] += 1
            self.send(R_ERR, seq, b"bad frame header")
            return
        (crc,) = struct.unpack("<I", raw[-4:])
        if crc != binascii.crc32(raw[:-4]) & 0xFFFFFFFF:
            self.stats["bad_frames"] += 1
            self.send(R_ERR, seq, b"crc mismatch")
            return
        self.stats["frames_in"] += 1
        body = raw[8:-4]
        try:
            self.handle(ftype, seq, body)
        except Exception as e:
            self.send(R_ERR, seq, str(e).encode()[:200])

    # ---- requests ----
    def handle(self, ftype, seq, body):
        if ftype == T_INFO:
            native = self.runtime.native
            info = '{"board":"%s","bridge":%d,"max_body":%d,"mem_free":%d,"native_memory":%d,"native_module":"%s","files":[%s]}' % (
                self.board, VERSION, MAX_BODY, gc.mem_free(), len(native.memory or b""), native.code[0].rsplit("/", 1)[1] if native.code else "",
                ",".join('"%s"' % f for f in os.listdir(BASE)))
            self.send(R_INFO, seq, info.encode())
        elif ftype == T_PUT_OPEN:
            size, digest, name = struct.unpack("<I", body[:4])[0], body[4:36], body[36:].decode()
            path = self.safe_path(name)
            if size > MAX_UPLOAD:
                raise ValueError("upload of %d bytes exceeds the %d-byte limit" % (size, MAX_UPLOAD))
            if self.sha256_of(path) == digest:
                self.send(R_ACK, seq, b"\x01")  # already up to date
                return
            tmp = path + ".part"
            self.up = [open(tmp, "wb"), path, tmp, size, digest, 0]
            self.send(R_ACK, seq, b"\x00")
        elif ftype == T_PUT_DATA:
            if not self.up:
                raise ValueError("PUT_DATA without PUT_OPEN")
            (off,) = struct.unpack("<I", body[:4])
            if off != self.up[5]:
                raise ValueError("PUT_DATA at offset %d, expected %d" % (off, self.up[5]))
            data = body[4:]
            if off + len(data) > self.up[3]:
                raise ValueError("PUT_DATA past the declared size")
            self.up[0].write(data)
            self.up[5] += len(data)
            self.send(R_ACK, seq)
        elif ftype == T_PUT_CLOSE:
            if not self.up:
                raise ValueError("PUT_CLOSE without PUT_OPEN")
            f, path, tmp, size, digest, got = self.up
            f.close()
            self.up = None
            if got != size or self.sha256_of(tmp) != digest:
                os.remove(tmp)
                raise ValueError("verify failed for %s: %d of %d bytes, sha256 mismatch" % (path, got, size))
            replace_file(tmp, path)
            self.stats["files_written"] += 1
            self.flashed(path)
            self.send(R_ACK, seq)
        elif ftype == T_ENCODE:
            w, h, fmt, source, output, image_id, packet_bytes, channels, budget = struct.unpack("<HHBBBBBBI", body[:14])
            name = body[14:].decode() or "encoder.wasm"
            if output not in (OUT_LATENT, OUT_PACKETS, OUT_UPLINK):
                raise ValueError("unknown ENCODE output %d" % output)
            if output != OUT_LATENT and not 12 <= packet_bytes <= 255:
                raise ValueError("packet size %d outside 12..255" % packet_bytes)
            self.start_encode(w, h, fmt, name)
            self.enc.update({"output": output, "image_id": image_id, "packet_bytes": packet_bytes, "channels": channels, "budget": budget})
            if source == 1:
                if not self.camera:
                    raise ValueError("no camera on this board")
                t0 = time.ticks_us()
                for row in self.camera(w, h, fmt):
                    self.push_row(row)
                self.enc["us"] = time.ticks_diff(time.ticks_us(), t0)
                self.finish_encode(seq)
            else:
                self.send(R_ACK, seq)
        elif ftype == T_ROW:
            if not self.enc:
                raise ValueError("ROW without ENCODE")
            t0 = time.ticks_us()
            self.push_row(body)
            self.enc["us"] += time.ticks_diff(time.ticks_us(), t0)
            if self.enc["rows"] == self.enc["h"]:
                self.finish_encode(seq)
            else:
                self.send(R_ACK, seq)
        elif ftype == T_READ:
            off, n = struct.unpack("<IH", body[:6])
            if not self.enc or off + n > self.enc["len"]:
                raise ValueError("READ outside the latent")
            self.send(R_DATA, seq, self.runtime.read(self.enc["ptr"] + off, min(n, MAX_BODY)))
        elif ftype == T_PACKET:
            (i,) = struct.unpack("<H", body[:2])
            if not self.enc or i >= len(self.enc.get("packets", ())):
                raise ValueError("PACKET %d: no such packet" % i)
            self.send(R_PACKET, seq, self.enc["packets"][i])
        elif ftype == T_MODEM:
            m = self.get_modem()
            m.join()
            self.send(R_MODEM, seq, m.info().encode())
        elif ftype == T_POLICY:
            # reference probability u16 (1/65535), module name length u8, module name, file to install (may be empty)
            prob, n = struct.unpack("<HB", body[:3])
            module, new = body[3:3 + n].decode() or "encoder.wasm", body[3 + n:].decode()
            self.load_module(self.safe_path(module))
            if new:
                self.install_policy(self.safe_path(new))
            self.reference_p = prob
            self.send(R_POLICY, seq, self.policy_info())
        elif ftype == T_STATS:
            s = ",".join('"%s":%d' % (k, v) for k, v in self.stats.items())
            self.send(R_STATS, seq, ("{" + s + "}").encode())
        elif ftype == T_EXIT:
            self.running = False
            self.send(R_ACK, seq)
        else:
            raise ValueError("unknown frame type %d" % ftype)

    # ---- helpers ----
    def safe_path(self, name):
        if not name or "/" in name or "\\" in name or name.startswith(".") or len(name) > 64:
            raise ValueError("path %r is outside the bridge directory" % name)
        return BASE + "/" + name

    def sha256_of(self, path):
        try:
            f = open(path, "rb")
        except OSError:
            return None
        h = hashlib.sha256()
        buf = bytearray(256)
        mv = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(mv[:n])
        f.close()
        return h.digest()

    def load_module(self, path, fresh=False):
        if self.runtime.load_file(path, fresh):
            self.apply_installed()

    def preload(self):
        """At start, before the session's small allocations fragment the heap: the native module's code
        and linear memory (docs/native.md, "When the RAM is taken"). A failure here is not fatal: the
        ENCODE that needs the module tries again and replies with the error."""
        try:
            path = self.runtime.preload(BASE)
            if path:
                self.load_module(path)
        except Exception:
            pass

    def flashed(self, path):
        """A module file was just written: a .mpy is loaded now (its code and memory taken while the
        session is young, not at the next ENCODE); a .wasm that was loaded is reloaded at its next use."""
        if path.endswith(".mpy"):
            try:
                self.load_module(path, True)
            except Exception:
                pass  # the upload stands; the next ENCODE naming it replies with the error
        else:
            self.runtime.forget(path)

    def start_encode(self, w, h, fmt, name):
        if fmt not in FORMAT_BPP:
            raise ValueError("unknown pixel format %d" % fmt)
        self.load_module(self.safe_path(name))
        rc = self.runtime.call("tp_init", w, h, fmt)
        if rc < 0:
            raise ValueError("tp_init failed with %d" % rc)
        self.enc = {"w": w, "h": h, "fmt": fmt, "rows": 0, "us": 0, "row_ptr": self.runtime.call("tp_row_ptr"), "len": 0, "ptr": 0}

    def push_row(self, row):
        if len(row) != self.enc["w"] * FORMAT_BPP[self.enc["fmt"]]:
            raise ValueError("row of %d bytes, expected %d" % (len(row), self.enc["w"] * FORMAT_BPP[self.enc["fmt"]]))
        self.runtime.write(self.enc["row_ptr"], row)
        rc = self.runtime.call("tp_push_row")
        if rc < 0:
            raise ValueError("tp_push_row failed with %d" % rc)
        self.enc["rows"] += 1

    def finish_encode(self, seq):
        rt, enc = self.runtime, self.enc
        lw, lh, lc = rt.call("tp_latent_width"), rt.call("tp_latent_height"), rt.call("tp_latent_channels")
        enc["ptr"], enc["len"] = rt.call("tp_latent_ptr"), rt.call("tp_latent_len")
        self.stats["encodes"] += 1
        self.stats["last_encode_us"] = enc["us"]
        sent, symbols, complete, pk_us, uplinks, wait_ms = 0, 0, 0, 0, 0, 0
        enc["packets"] = []
        level, reference, channels = 0, 0, enc["channels"] or lc
        if channels == CHANNELS_POLICY:
            # The module's adaptive policy picks the level from the latent; with probability p the image
            # goes as a reference upload instead (every channel, on the modem's reference port).
            level = rt.call("tp_policy_choose")
            if level < 0:
                raise ValueError("tp_policy_choose failed with %d (no policy in this module?)" % level)
            reference = 1 if self.reference_p == 0xFFFF or (self.reference_p and (self.next_random() & 0xFFFF) < self.reference_p) else 0
            channels = lc if reference else level
            self.stats["references"] += reference
        if enc["output"] != OUT_LATENT:
            modem = self.get_modem() if enc["output"] == OUT_UPLINK else None
            t0 = time.ticks_us()
            for packet in self.packetize(enc["image_id"], enc["packet_bytes"], enc["budget"], channels):
                if modem is not None:
                    wait_ms += modem.send(packet, reference)
                    uplinks += 1
                enc["packets"].append(packet)
            pk_us = time.ticks_diff(time.ticks_us(), t0)
            sent, symbols, complete = rt.call("tp_pk_sent"), rt.call("tp_pk_symbols"), rt.call("tp_pk_complete")
            self.stats["packets"] += len(enc["packets"])
            self.stats["uplinks"] += uplinks
            self.stats["uplink_wait_ms"] += wait_ms
        self.send(R_RESULT, seq, struct.pack("<HHHIIHIIBIHIBB", lw, lh, lc, enc["len"], enc["us"], len(enc["packets"]), sent, symbols,
                                             complete, pk_us, uplinks, wait_ms, level, reference))

    def next_random(self):
        x = self.rng  # xorshift32: the reference draw, seeded per board
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.rng = x
        return x

    # ---- the adaptive policy (docs/adaptive.md §Drift) ----
    def policy_region(self):
        rt = self.runtime
        at, cap = rt.call("tp_policy_ptr"), rt.call("tp_policy_capacity")
        if not at:
            raise ValueError("the encoder module has no policy region (built from a model without a PLCY section)")
        return at, cap

    def write_policy(self, payload):
        """Writes a PLCY payload into the loaded module and checks it; the old one stays if it is refused."""
        at, cap = self.policy_region()
        if len(payload) > cap:
            raise ValueError("policy of %d bytes does not fit the module's %d-byte policy region" % (len(payload), cap))
        if len(payload) < 48 or payload[0:4] != b"TPPL":
            raise ValueError("not a PLCY section (magic TPPL)")
        pid, n = struct.unpack("<II", payload[36:44])
        if n != len(payload) or binascii.crc32(payload[44:]) & 0xFFFFFFFF != pid:
            raise ValueError("policy section: length or CRC mismatch (policy id %08x)" % pid)
        old = self.runtime.read(at, len(payload))
        if old[12:16] != payload[12:16]:
            raise ValueError("policy is for entropy tables %08x, the module has %08x" % (struct.unpack("<I", payload[12:16])[0], struct.unpack("<I", old[12:16])[0]))
        self.runtime.write(at, payload)
        rc = self.runtime.call("tp_policy_check")
        if rc != 0:
            self.runtime.write(at, old)
            raise ValueError("the module rejected the policy (tp_policy_check %d); the old one is kept" % rc)

    def apply_installed(self):
        path = BASE + "/" + INSTALLED_POLICY
        try:
            f = open(path, "rb")
        except OSError:
            return
        payload = f.read()
        f.close()
        try:
            self.write_policy(payload)
        except ValueError:
            os.remove(path)  # made for another model (a re-flash): the module's own policy stays
            self.stats["policy_dropped"] += 1

    def install_policy(self, path):
        f = open(path, "rb")
        payload = f.read()
        f.close()
        try:
            self.write_policy(payload)
        except Exception:
            os.remove(path)
            raise
        target = BASE + "/" + INSTALLED_POLICY
        if path != target:
            replace_file(path, target)
        self.stats["policy_installs"] += 1

    def policy_info(self):
        at, cap = self.policy_region()
        n = struct.unpack("<I", self.runtime.read(at + 40, 4))[0]
        n = min(n, cap)
        (pid,) = struct.unpack("<I", self.runtime.read(at + 36, 4))
        crc = binascii.crc32(self.runtime.read(at, n)) & 0xFFFFFFFF
        return struct.pack("<IIIHh", pid, crc, n, self.reference_p, self.runtime.call("tp_policy_check"))

    def packetize(self, image_id, packet_bytes, budget, channels):
        """Runs the module's packetizer (docs/bitstream.md §8); yields each link packet as it is made."""
        rt = self.runtime
        rc = rt.call("tp_pk_begin", image_id, packet_bytes, budget or 0x7FFFFFFF, channels)
        if rc < 0:
            raise ValueError("tp_pk_begin failed with %d" % rc)
        kept = 0
        while True:
            n = rt.call("tp_pk_next")
            if n < 0:
                raise ValueError("tp_pk_next failed with %d" % n)
            if n == 0:
                return
            kept += n
            if kept > MAX_PACKET_STORE:
                raise ValueError("packets exceed the %d-byte store: set a byte budget" % MAX_PACKET_STORE)
            yield rt.read(rt.call("tp_pk_ptr"), n)

    def get_modem(self):
        if self.modem is None:
            raise ValueError("no LoRaWAN modem configured (%s)" % MODEM_CONFIG)
        if callable(self.modem):
            self.modem = self.modem()
        return self.modem


class Wasm3Runtime:
    """The bridge's one view of a WASM runtime: load a module file, call an export, write and read its
    linear memory. It speaks micropython-wasm3's API (`wasm3.Module(blob, stack_bytes=…)`,
    `m.function(name)(…)`, `m.memory` a live bytearray), which the virtual board's `wasm3` mirrors; the
    native AOT build of the encoder (NativeRuntime, a .mpy) offers the same Module API."""

    STACK_BYTES = 4096

    def __init__(self, wasm3):
        self.w = wasm3
        self.m = None
        self.loaded = None
        self.fns = {}

    def load_file(self, path, fresh=False):
        """Loads a module file; True when it was (re)loaded, False when it was already the loaded one."""
        if self.loaded == path and not fresh:
            return False
        self.close()
        gc.collect()
        f = open(path, "rb")
        blob = f.read()
        f.close()
        self.m = self.w.Module(blob, stack_bytes=self.STACK_BYTES)
        self.loaded = path
        return True

    def close(self):
        if self.m is not None and hasattr(self.m, "close"):
            self.m.close()
        self.m, self.loaded, self.fns = None, None, {}

    def forget(self, path):
        """`path` was rewritten: a loaded copy is stale."""
        if self.loaded == path:
            self.close()

    def call(self, name, *args):
        f = self.fns.get(name)
        if f is None:
            f = self.fns[name] = self.m.function(name)
        return f(*args)

    def write(self, off, data):
        mem = self.m.memory  # fetched each time: micropython-wasm3 replaces it if memory grows
        if off < 0 or off + len(data) > len(mem):
            raise ValueError("write outside the module's memory at %d" % off)
        mem[off:off + len(data)] = data

    def read(self, off, n):
        mem = self.m.memory
        if off < 0 or off + n > len(mem):
            raise ValueError("read outside the module's memory at %d" % off)
        return bytes(mem[off:off + n])


class NativeRuntime(Wasm3Runtime):
    """The encoder compiled ahead of time: a MicroPython native module (`tidepool native --mpy`) whose
    `Module()` offers the same API as wasm3's (`function(name)(…)`, `memory`, `mem_size`, `close`), so
    only loading differs: the .mpy is imported from the bridge directory, its code runs natively.

    Its two large blocks are taken once and kept: the linear memory (`memory`, a bytearray every
    `Module(memory)` adopts; reserved when the bridge starts) and the imported code (`code`, ~50 KB that
    MicroPython copies into the heap at import). A later instantiation allocates a few hundred bytes, so
    an ENCODE late in a session does not need a large contiguous block of a fragmented heap."""

    def __init__(self, _wasm3=None):
        super().__init__(None)
        self.memory = None  # the linear memory block, adopted by every Module()
        self.code = None  # (path, imported module): its code stays loaded between instantiations

    def reserve(self, nbytes, what="the native module"):
        """The linear memory block, allocated once; kept unless a module needs a larger one."""
        if self.memory is not None and len(self.memory) >= nbytes:
            return
        self.memory = None
        gc.collect()
        try:
            self.memory = bytearray(nbytes)
        except MemoryError:
            raise MemoryError("%s: no contiguous %d bytes for its linear memory (%d bytes free, fragmented): restart the board"
                              % (what, nbytes, gc.mem_free()))  # (under ERR's 200 bytes; the bridge takes it at start)

    def load_file(self, path, fresh=False):
        if self.loaded == path and not fresh and self.m.mem_size:
            return False  # (mem_size 0: closed, e.g. by a Module() made at the REPL; instantiated again below)
        self.close()
        if fresh or self.code is None or self.code[0] != path:
            self.drop_code()
            folder, name = path.rsplit("/", 1)
            name = name[:-4]
            if folder not in sys.path:
                sys.path.insert(0, folder)
            sys.modules.pop(name, None)  # a re-uploaded file is imported afresh
            gc.collect()
            try:
                self.code = (path, __import__(name))
            except MemoryError as e:  # MicroPython's message names the bytes: "memory allocation failed, allocating N bytes"
                sys.modules.pop(name, None)
                raise MemoryError("%s: no contiguous block for its code (%s; %d bytes free, fragmented): restart the board"
                                  % (path, e, gc.mem_free()))
        mod = self.code[1]
        self.reserve(getattr(mod, "MEMORY_BYTES", NATIVE_MEMORY_BYTES), path)
        self.m = mod.Module(self.memory)
        self.loaded = path
        return True

    def drop_code(self):
        if self.code is not None:
            sys.modules.pop(self.code[0].rsplit("/", 1)[1][:-4], None)  # else the import keeps the code alive
            self.code = None

    def release(self):
        """Gives the code and the linear memory back to the heap (for wasm3, which needs it)."""
        if self.m is None and self.code is None and self.memory is None:
            return
        self.close()
        self.drop_code()
        self.memory = None
        gc.collect()


class Runtimes:
    """Picks the runtime by the module file the ENCODE names: a .mpy runs natively, a .wasm in wasm3
    (when the firmware has it). Both are held; switching closes the other's module first, and switching
    to wasm3 gives it the native module's blocks (wasm3 allocates its own, larger, heap)."""

    def __init__(self, wasm3=None):
        self.wasm = Wasm3Runtime(wasm3) if wasm3 is not None else None
        self.native = NativeRuntime(None)
        self.active = None

    def preload(self, folder):
        """At bridge start: with no wasm3 the encoder can only be a native module, so its linear memory
        is reserved now, while the heap is whole, and the .mpy in `folder` (the first by name if there
        are several) is imported and instantiated into it. Returns its path, or None."""
        names = sorted(n for n in os.listdir(folder) if n.endswith(".mpy"))
        if self.wasm is not None and not names:
            return None  # a wasm3 board without a native module: the heap stays wasm3's
        self.native.reserve(NATIVE_MEMORY_BYTES)
        return folder + "/" + names[0] if names else None

    def load_file(self, path, fresh=False):
        rt = self.native if path.endswith(".mpy") else self.wasm
        if rt is None:
            raise ValueError("no WASM runtime (wasm3) on this board: install the encoder as a native module (.mpy)")
        if rt is self.wasm:
            self.native.release()
        elif self.wasm is not None:
            self.wasm.close()
        self.active = rt
        return rt.load_file(path, fresh)

    def forget(self, path):
        for rt in (self.wasm, self.native):
            if rt is not None:
                rt.forget(path)

    def call(self, name, *args):
        return self.active.call(name, *args)

    def write(self, off, data):
        self.active.write(off, data)

    def read(self, off, n):
        return self.active.read(off, n)


class LoraE5:
    """Seeed LoRa-E5 / Wio-E5 (RisingHF AT firmware) on a UART: OTAA join, then one unconfirmed uplink
    per packet (`AT+MSGHEX`), waiting out the EU868 duty cycle when the modem answers "No band in N ms"
    (docs/flash-tools.md §Uplink)."""

    name = "lora-e5"

    def __init__(self, uart, sleep_ms, ticks_ms, port=8, dr=None, app_eui=None, app_key=None, timeout_ms=20000, join_tries=5, reference_port=None):
        self.uart, self.sleep_ms, self.ticks_ms = uart, sleep_ms, ticks_ms
        self.port, self.dr, self.app_eui, self.app_key = port, dr, app_eui, app_key
        # Reference uploads (every channel, for the gateway's drift loop) go on their own port: the flag.
        self.reference_port = reference_port or port + 1
        self.current_port = port
        self.timeout_ms, self.join_tries = timeout_ms, join_tries
        self.ready = False
        self.joined = False
        self.dev_eui = ""
        self.max_payload = 0

    def cmd(self, line, ends, timeout_ms=None):
        """Sends one AT command; returns the answer's lines up to the first that contains one of `ends`."""
        while self.uart.any():
            self.uart.read()  # stale output (an earlier timeout)
        self.uart.write((line + "\r\n").encode())
        lines = []
        deadline = time.ticks_add(self.ticks_ms(), timeout_ms or self.timeout_ms)
        while time.ticks_diff(deadline, self.ticks_ms()) > 0:
            raw = self.uart.readline()
            if not raw:
                self.sleep_ms(10)
                continue
            try:
                text = raw.decode().strip()
            except UnicodeError:
                continue  # line noise (e.g. the modem's boot bytes at another baud rate)
            if not text:
                continue
            lines.append(text)
            for e in ends:
                if e in text:
                    return lines
        raise OSError("modem: no answer to %s within %d ms (got %r)" % (line.split("=")[0], timeout_ms or self.timeout_ms, lines))

    def setup(self):
        if self.ready:
            return
        self.cmd("AT", ("+AT: OK",))
        self.cmd("AT+MODE=LWOTAA", ("+MODE:",))
        if self.app_eui:
            self.cmd('AT+ID=AppEui,"%s"' % self.app_eui, ("+ID:",))
        if self.app_key:
            self.cmd('AT+KEY=APPKEY,"%s"' % self.app_key, ("+KEY:",))
        if self.dr is not None:
            self.cmd("AT+DR=%d" % self.dr, ("+DR:",))
        self.cmd("AT+PORT=%d" % self.port, ("+PORT:",))
        self.current_port = self.port
        for ln in self.cmd("AT+ID=DevEui", ("+ID: DevEui",)):
            if "DevEui" in ln:
                self.dev_eui = ln.split(",", 1)[1].strip().replace(":", "").lower()
        for ln in self.cmd("AT+LW=LEN", ("+LW:",)):
            if "LEN" in ln:
                self.max_payload = int(ln.split(",")[-1])
        self.ready = True

    def join(self):
        self.setup()
        if self.joined:
            return
        wait = 5000
        for _ in range(self.join_tries):
            lines = self.cmd("AT+JOIN", ("+JOIN: Done", "+JOIN: Joined already", "+JOIN: Join failed", "ERROR"), 30000)
            if any("Network joined" in ln or "Joined already" in ln for ln in lines):
                self.joined = True
                return
            self.sleep_ms(wait)  # join back-off (the network server may be slow or out of range)
            wait *= 2
        raise OSError("modem: OTAA join failed %d times (%s)" % (self.join_tries, "; ".join(lines)))

    def send(self, payload, reference=0):
        """One unconfirmed uplink (on the reference port when `reference`); returns the milliseconds spent waiting for the duty cycle."""
        self.join()
        port = self.reference_port if reference else self.port
        if port != self.current_port:
            self.cmd("AT+PORT=%d" % port, ("+PORT:",))
            self.current_port = port
        if self.max_payload and len(payload) > self.max_payload:
            raise ValueError("packet of %d bytes exceeds the modem's %d-byte payload at this data rate" % (len(payload), self.max_payload))
        hexed = binascii.hexlify(payload).decode()
        waited = 0
        for _ in range(1000):
            lines = self.cmd('AT+MSGHEX="%s"' % hexed, ("+MSGHEX: Done", "No band", "join network first", "ERROR", "Length error", "busy"))
            last = lines[-1]
            if "+MSGHEX: Done" in last:
                return waited
            if "No band in" in last:
                ms = int(last.split("No band in", 1)[1].strip().rstrip("ms").strip()) + 10
                self.sleep_ms(ms)
                waited += ms
            elif "join network first" in last:
                self.joined = False
                self.join()
            elif "busy" in last:
                self.sleep_ms(500)
                waited += 500
            else:
                raise OSError("modem refused the uplink: %s" % last)
        raise OSError("modem: uplink not sent after 1000 tries")

    def info(self):
        return '{"type":"%s","dev_eui":"%s","joined":%s,"max_payload":%d,"port":%d,"reference_port":%d}' % (
            self.name, self.dev_eui, "true" if self.joined else "false", self.max_payload, self.port, self.reference_port)


def modem_from_config(sleep_ms, ticks_ms):
    """A board's modem from tidepool/modem.json, e.g. {"type": "lora-e5", "uart": 1, "baud": 9600,
    "tx": 17, "rx": 16, "port": 8, "dr": 5, "app_eui": "…", "app_key": "…"}; None when absent."""
    try:
        import json
        f = open(MODEM_CONFIG)
        cfg = json.loads(f.read())
        f.close()
    except OSError:
        return None
    if cfg.get("type") != "lora-e5":
        raise ValueError("%s: unknown modem type %r (known: lora-e5)" % (MODEM_CONFIG, cfg.get("type")))

    def make():
        import machine
        kw = {"baudrate": cfg.get("baud", 9600), "timeout": 200}
        if "tx" in cfg:
            kw["tx"] = machine.Pin(cfg["tx"])
            kw["rx"] = machine.Pin(cfg["rx"])
        uart = machine.UART(cfg.get("uart", 1), **kw)
        return LoraE5(uart, sleep_ms, ticks_ms, cfg.get("port", 8), cfg.get("dr"), cfg.get("app_eui"), cfg.get("app_key"),
                      reference_port=cfg.get("reference_port"))
    return make


def cobs_need(need, data):
    """COBS reading state after `data`: how many bytes remain in the current block (0: the next byte is
    a block code or the frame delimiter). A 0x00 inside a block means lost bytes: resynchronise there."""
    for b in data:
        if need == 0:
            need = b - 1 if b else 0
        elif b == 0:
            need = 0
        else:
            need -= 1
    return need


def serve_stream(bridge, read):
    """Serves a blocking byte stream (a board's stdin) in blocks: one read per COBS block (up to 254
    bytes) rather than per byte, and never a read past the end of a frame, so a request is handled as
    soon as its delimiter arrives (stdin's read(n) blocks until n bytes came on MicroPython ports)."""
    need = 0
    while bridge.running:
        # A block and the byte after it (the next block's code, or the frame's 0x00): still this frame.
        n = need + 1 if need else 1
        data = read(n)
        if not data:
            continue
        bridge.feed(data)
        if need and len(data) == n and 0 not in data[:-1]:
            need = data[-1] - 1 if data[-1] else 0
        else:
            need = cobs_need(need, data)


_runtimes = None  # kept across serve() calls: a restarted bridge reuses the blocks it reserved


def serve(board="unknown"):
    global _runtimes
    if _runtimes is None:
        try:
            import wasm3
        except ImportError:
            wasm3 = None  # a firmware without wasm3 still runs the encoder as a native module (.mpy)
        _runtimes = Runtimes(wasm3)
    runtime = _runtimes
    try:
        import tidepool_vboard as vb
    except ImportError:
        vb = None
    if vb is not None:
        # Virtual board: the emulator pumps line bytes into feed() (its MicroPython cannot block on stdin).
        def camera(w, h, fmt):
            for r in vb.camera_rows(w, h, fmt):
                yield binascii.unhexlify(r)
        modem = None
        if vb.modem_type():
            # The radio runs on the emulator's clock: a duty-cycle wait advances it instead of sleeping.
            clock = [0]

            def sleep_ms(ms):
                vb.sleep_ms(ms)
                clock[0] += ms

            def make():
                from vboard_uart import UART
                return LoraE5(UART(), sleep_ms, lambda: clock[0])
            modem = make
        bridge = Bridge(lambda b: sys.stdout.buffer.write(b), runtime, camera, board, modem)
        bridge.preload()

        def feed(data):
            bridge.feed(bytes(data))
            if not bridge.running:
                vb.detach_bridge()
        vb.attach_bridge(feed)
        return
    import micropython
    micropython.kbd_intr(-1)  # 0x03 may occur inside frames
    try:
        bridge = Bridge(lambda b: sys.stdout.buffer.write(b), runtime, None, board, modem_from_config(time.sleep_ms, time.ticks_ms),
                        seed=time.ticks_us() ^ 0x9E3779B9)
        bridge.preload()
        serve_stream(bridge, sys.stdin.buffer.read)
    finally:
        micropython.kbd_intr(3)
