// The virtual board's pseudo-terminal must deliver every byte in order even when its client is slow to
// read: the bridge's frames are checked by CRC, and one lost or reordered chunk costs a reply.
import { closeSync, constants, openSync, readSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PseudoTerminal } from "../../flash-tools/virtual-board/pseudo-terminal.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("virtual board pseudo-terminal", () => {
  it("keeps every byte, in order, for a client that reads only after the terminal's buffer has filled", async () => {
    const term = new PseudoTerminal(() => {});
    const fd = openSync(term.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    try {
      // 256 KiB in line-rate-sized chunks, far more than the kernel holds for an unread terminal.
      const sent = Buffer.alloc(256 * 1024);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 8)) & 0xff;
      for (let off = 0; off < sent.length; off += 58) term.write(sent.subarray(off, Math.min(off + 58, sent.length)));
      await sleep(50); // the client is busy elsewhere

      const got = Buffer.alloc(sent.length);
      let have = 0;
      for (let idle = 0; have < sent.length && idle < 2000; ) {
        try {
          const n = readSync(fd, got, have, got.length - have, null);
          have += n;
          idle = 0;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
          idle++;
          await sleep(5);
        }
      }
      expect(have).toBe(sent.length);
      expect(got.equals(sent)).toBe(true);
    } finally {
      closeSync(fd);
      term.close();
    }
  });
});
