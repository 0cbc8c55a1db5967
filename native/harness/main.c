// Bare-metal harness: runs a Tidepool module (wasm2c output, module name "tp") on frames read at run
// time from "tp-in.bin" and writes what it produced to "tp-out.bin", both through the platform's
// file I/O (semihosting under QEMU). The layout of both files is in docs/native.md; the host side
// is host/build/native/io-format.ts. The encoder is driven through the C library API
// (native/lib/tidepool_native.h, what a board runtime links), so the test exercises the library as
// shipped; build with -DTP_JPEG for the on-device JPEG module (its own exports, called directly).
//
// Instruction counting: tp_count_on/off/cut are empty functions whose addresses an instruction-
// counting QEMU plugin watches (native/qemu-plugin/insn-count.c). Only the module's own calls lie
// between on and off, so file I/O and row copies are not counted.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "module.h"
#include "tp-platform.h"
#ifndef TP_JPEG
#include "tidepool_native.h"
#endif

#define IN_MAGIC 0x314e5054u   /* "TPN1" */
#define OUT_MAGIC 0x314f5054u  /* "TPO1" */
#define END_MAGIC 0x31444e45u  /* "END1" */
#define HEADER_WORDS 16

enum { H_MAGIC, H_WORKLOAD, H_WIDTH, H_HEIGHT, H_FORMAT, H_FRAMES, H_PACKET_BYTES, H_BUDGET, H_CHANNELS, H_QUALITY, H_IMAGE_ID };

__attribute__((noinline, used)) void tp_count_on(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline, used)) void tp_count_off(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline, used)) void tp_count_cut(void) { __asm__ volatile("" ::: "memory"); }

#ifdef TP_JPEG
static Z_tp_instance_t instance;
#endif
static FILE* out;

void tp_fatal(const char* what, const char* detail) {
  fprintf(stderr, "tidepool native: %s: %s\n", what, detail);
  if (out) fclose(out);
  exit(3);
}

static void put_u32(uint32_t v) {
  uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
  if (fwrite(b, 1, 4, out) != 4) tp_fatal("tp-out.bin", "write failed");
}

static void put_bytes(const uint8_t* p, uint32_t n) {
  put_u32(n);
  if (n && fwrite(p, 1, n, out) != n) tp_fatal("tp-out.bin", "write failed");
}

static uint32_t bytes_per_pixel(uint32_t format) { return format == 0 ? 1 : format == 1 ? 2 : 3; }

int main(void) {
  FILE* in = fopen("tp-in.bin", "rb");
  if (!in) tp_fatal("tp-in.bin", "cannot open");
  uint32_t h[HEADER_WORDS];
  if (fread(h, 4, HEADER_WORDS, in) != HEADER_WORDS || h[H_MAGIC] != IN_MAGIC) tp_fatal("tp-in.bin", "bad header");
#ifdef TP_JPEG
  if (h[H_WORKLOAD] != 1) tp_fatal("tp-in.bin", "input is not for the JPEG harness");
#else
  if (h[H_WORKLOAD] != 0) tp_fatal("tp-in.bin", "input is not for the encoder harness");
#endif
  out = fopen("tp-out.bin", "wb");
  if (!out) tp_fatal("tp-out.bin", "cannot create");

#ifdef TP_JPEG
  wasm_rt_init();
  Z_tp_init_module();
  Z_tp_instantiate(&instance);
  wasm_rt_memory_t* mem = Z_tpZ_memory(&instance);
#else
  tidepool_open();
#endif
  const uint32_t row_bytes = h[H_WIDTH] * bytes_per_pixel(h[H_FORMAT]);
  put_u32(OUT_MAGIC);
  put_u32(1);
  put_u32(h[H_FRAMES]);

  for (uint32_t f = 0; f < h[H_FRAMES]; f++) {
    tp_count_on();
#ifdef TP_JPEG
    int32_t rc = (int32_t)Z_tpZ_tp_init(&instance, h[H_WIDTH], h[H_HEIGHT], h[H_FORMAT], h[H_QUALITY]);
#else
    int32_t rc = tidepool_init(h[H_WIDTH], h[H_HEIGHT], h[H_FORMAT]);
#endif
    tp_count_off();
    for (uint32_t y = 0; rc >= 0 && y < h[H_HEIGHT]; y++) {
#ifdef TP_JPEG
      uint32_t at = Z_tpZ_tp_row_ptr(&instance);
      if (at + row_bytes > mem->size) tp_fatal("module", "row pointer outside linear memory");
      uint8_t* row = mem->data + at;
#else
      uint8_t* row = tidepool_row();
#endif
      if (fread(row, 1, row_bytes, in) != row_bytes) tp_fatal("tp-in.bin", "short frame");
      tp_count_on();
#ifdef TP_JPEG
      rc = (int32_t)Z_tpZ_tp_push_row(&instance);
#else
      rc = tidepool_push_row();
#endif
      tp_count_off();
    }
    tp_count_cut();
    put_u32((uint32_t)rc);
    if (rc < 0) break; /* the host names the error; the rest of the input is not read */
#ifdef TP_JPEG
    put_bytes(mem->data + Z_tpZ_tp_output_ptr(&instance), Z_tpZ_tp_output_len(&instance));
#else
    uint32_t len = 0, lw = 0, lh = 0, lc = 0;
    const uint8_t* latent = tidepool_latent(&len, &lw, &lh, &lc);
    if (!latent) tp_fatal("module", "latent not ready after the last row");
    put_u32(lw);
    put_u32(lh);
    put_u32(lc);
    put_bytes(latent, len);
    if (h[H_PACKET_BYTES] && tidepool_has_packetizer()) {
      tp_count_on();
      int32_t pk = tidepool_packets_begin(h[H_IMAGE_ID] + f, h[H_PACKET_BYTES], h[H_BUDGET], h[H_CHANNELS]);
      tp_count_off();
      put_u32((uint32_t)pk);
      while (pk >= 0) {
        const uint8_t* packet = NULL;
        tp_count_on();
        pk = tidepool_packet_next(&packet);
        tp_count_off();
        if (pk <= 0) break;
        put_bytes(packet, (uint32_t)pk);
      }
      put_u32(0xffffffffu); /* end of packets */
      put_u32((uint32_t)pk);
      tp_count_cut();
    }
#endif
  }
  put_u32(END_MAGIC);
  fclose(out);
  out = NULL;
  fclose(in);
  return 0;
}
