# Tidepool bridge: a framed binary protocol on the board's REPL serial line (docs/bridge-protocol.md).
# Frames: COBS(payload) + 0x00, payload = b"TB" ver type seq(u16) len(u16) body crc32(u32), little-endian.
# Runs under MicroPython: `import tidepool_bridge; tidepool_bridge.serve()` from the raw REPL.
import sys, os, struct, time, binascii, hashlib, gc

VERSION = 1
MAX_BODY = 1024
MAX_UPLOAD = 512 * 1024
BASE = "tidepool"

T_INFO, T_PUT_OPEN, T_PUT_DATA, T_PUT_CLOSE, T_ENCODE, T_ROW, T_READ, T_STATS, T_EXIT = 1, 2, 3, 4, 5, 6, 7, 8, 9
R_ACK, R_INFO, R_RESULT, R_DATA, R_STATS, R_ERR = 0x80, 0x81, 0x82, 0x84, 0x85, 0xEE
FORMAT_BPP = {0: 1, 1: 2, 2: 3}


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
    def __init__(self, write, runtime, camera=None, board="unknown"):
        self.write = write
        self.runtime = runtime
        self.camera = camera
        self.board = board
        self.buf = bytearray()
        self.up = None
        self.enc = None
        self.running = True
        self.stats = {"frames_in": 0, "frames_out": 0, "bad_frames": 0, "bytes_in": 0, "bytes_out": 0,
                      "encodes": 0, "last_encode_us": 0, "files_written": 0}
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
            info = '{"board":"%s","bridge":%d,"max_body":%d,"mem_free":%d,"files":[%s]}' % (
                self.board, VERSION, MAX_BODY, gc.mem_free(), ",".join('"%s"' % f for f in os.listdir(BASE)))
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
            try:
                os.remove(path)
            except OSError:
                pass
            os.rename(tmp, path)
            self.stats["files_written"] += 1
            self.send(R_ACK, seq)
        elif ftype == T_ENCODE:
            w, h, fmt, source, name = struct.unpack("<HHBB", body[:6]) + (body[6:].decode() or "encoder.wasm",)
            self.start_encode(w, h, fmt, name)
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

    def start_encode(self, w, h, fmt, name):
        if fmt not in FORMAT_BPP:
            raise ValueError("unknown pixel format %d" % fmt)
        self.runtime.load_file(self.safe_path(name))
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
        rt = self.runtime
        lw, lh, lc = rt.call("tp_latent_width"), rt.call("tp_latent_height"), rt.call("tp_latent_channels")
        self.enc["ptr"], self.enc["len"] = rt.call("tp_latent_ptr"), rt.call("tp_latent_len")
        self.stats["encodes"] += 1
        self.stats["last_encode_us"] = self.enc["us"]
        self.send(R_RESULT, seq, struct.pack("<HHHII", lw, lh, lc, self.enc["len"], self.enc["us"]))


class Wasm3Runtime:
    """Adapter over the board's WASM runtime module (docs/flash-tools.md, "WASM runtime API")."""

    def __init__(self, wasm3):
        self.w = wasm3
        self.h = None
        self.loaded = None

    def load_file(self, path):
        if self.loaded == path:
            return
        f = open(path, "rb")
        blob = f.read()
        f.close()
        self.h = self.w.load(binascii.hexlify(blob).decode())
        self.loaded = path

    def call(self, name, *args):
        return self.w.call(self.h, name, *args)

    def write(self, off, data):
        self.w.write(self.h, off, binascii.hexlify(data).decode())

    def read(self, off, n):
        return binascii.unhexlify(self.w.read(self.h, off, n))


def serve(board="unknown"):
    import wasm3
    runtime = Wasm3Runtime(wasm3)
    try:
        import tidepool_vboard as vb
    except ImportError:
        vb = None
    if vb is not None:
        # Virtual board: the emulator pumps line bytes into feed() (its MicroPython cannot block on stdin).
        def camera(w, h, fmt):
            for r in vb.camera_rows(w, h, fmt):
                yield binascii.unhexlify(r)
        bridge = Bridge(lambda b: sys.stdout.buffer.write(b), runtime, camera, board)

        def feed(data):
            bridge.feed(bytes(data))
            if not bridge.running:
                vb.detach_bridge()
        vb.attach_bridge(feed)
        return
    import micropython
    micropython.kbd_intr(-1)  # 0x03 may occur inside frames
    try:
        bridge = Bridge(lambda b: sys.stdout.buffer.write(b), runtime, None, board)
        rd = sys.stdin.buffer
        while bridge.running:
            bridge.feed(rd.read(1))
    finally:
        micropython.kbd_intr(3)
