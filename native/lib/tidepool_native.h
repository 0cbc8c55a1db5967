/* Tidepool encoder as a C library for a board runtime (docs/native.md).
 *
 * libtidepool-<board>.a holds the encoder module of `tidepool build --board <board>` translated by
 * wasm2c and compiled for the board's instruction set, plus a bare-metal runtime whose linear memory
 * (the encoder's arena, planned at build time) is one static block. Nothing is allocated. The
 * integrator provides tp_fatal() (called on a trap: out-of-bounds access with bounds checks on,
 * unreachable) and the C library's memcpy/memset.
 *
 * Typical use, one camera row at a time:
 *   tidepool_open();
 *   tidepool_init(320, 240, TIDEPOOL_RGB565);
 *   for each row: memcpy(tidepool_row(), row, 320 * 2); tidepool_push_row();
 *   tidepool_packets_begin(frame_id, 222, budget, 0);
 *   while ((n = tidepool_packet_next(&p)) > 0) radio_send(p, n);
 * Negative returns are the error codes of docs/device-abi.md and docs/bitstream.md. */
#ifndef TIDEPOOL_NATIVE_H
#define TIDEPOOL_NATIVE_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { TIDEPOOL_GRAY8 = 0, TIDEPOOL_RGB565 = 1, TIDEPOOL_RGB888 = 2 };

/** Provided by the integrator: report and stop (never returns). */
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void tp_fatal(const char* what, const char* detail);

/** Instantiates the module (copies its initialised data into the arena). Call once before tidepool_init. */
void tidepool_open(void);
/** ABI version of the module (docs/device-abi.md). */
int32_t tidepool_abi_version(void);
/** Starts a frame; width/height up to the size the library was built for. */
int32_t tidepool_init(uint32_t width, uint32_t height, uint32_t format);
/** Where the next camera row goes (width x bytes per pixel). */
uint8_t* tidepool_row(void);
/** Consumes the staged row; returns the rows still expected (0 after the last) or an error. */
int32_t tidepool_push_row(void);
/** The latent once complete (channel-major [c][y][x], one symbol per byte); NULL before. */
const uint8_t* tidepool_latent(uint32_t* len, uint32_t* width, uint32_t* height, uint32_t* channels);
/** 1 when the library's module carries the packetizer (a model with entropy tables). */
int32_t tidepool_has_packetizer(void);
/** Starts packetizing the latent (channels 0: all). */
int32_t tidepool_packets_begin(uint32_t image_id, uint32_t packet_bytes, uint32_t budget_bytes, uint32_t channels);
/** Builds the next packet; returns its length (0 when done) and points *packet at it. */
int32_t tidepool_packet_next(const uint8_t** packet);

#ifdef __cplusplus
}
#endif
#endif
