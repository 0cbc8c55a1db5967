# The virtual board's UART to its LoRaWAN modem, with the part of machine.UART's API the bridge uses:
# write(buf), readline() (None when nothing is waiting: a UART read timeout), any(). What is written
# reaches the virtual modem at once (tidepool_vboard.modem_io); its answer waits here to be read.
import tidepool_vboard as _vb


class UART:
    def __init__(self, *args, **kwargs):
        self._rx = b""

    def write(self, buf):
        self._rx += _vb.modem_io(bytes(buf).decode()).encode()
        return len(buf)

    def any(self):
        return len(self._rx)

    def readline(self):
        if not self._rx:
            return None
        i = self._rx.find(b"\n")
        n = len(self._rx) if i < 0 else i + 1
        line, self._rx = self._rx[:n], self._rx[n:]
        return line

    def read(self, n=-1):
        if not self._rx:
            return None
        n = len(self._rx) if n < 0 else n
        data, self._rx = self._rx[:n], self._rx[n:]
        return data
