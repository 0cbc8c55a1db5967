/* The C API of tidepool_native.h over wasm2c's generated module (module name "tp"). */
#include <stddef.h>
#include "module.h"
#include "tidepool_native.h"

static Z_tp_instance_t instance;
static int opened;

static uint8_t* memory_at(uint32_t offset, uint32_t len) {
  wasm_rt_memory_t* m = Z_tpZ_memory(&instance);
  if ((uint64_t)offset + len > m->size) tp_fatal("tidepool", "module returned a pointer outside its memory");
  return m->data + offset;
}

void tidepool_open(void) {
  if (opened) Z_tp_free(&instance);
  wasm_rt_init();
  Z_tp_init_module();
  Z_tp_instantiate(&instance);
  opened = 1;
}

int32_t tidepool_abi_version(void) { return (int32_t)Z_tpZ_tp_abi_version(&instance); }
int32_t tidepool_init(uint32_t width, uint32_t height, uint32_t format) { return (int32_t)Z_tpZ_tp_init(&instance, width, height, format); }
uint8_t* tidepool_row(void) { return memory_at(Z_tpZ_tp_row_ptr(&instance), 0); }
int32_t tidepool_push_row(void) { return (int32_t)Z_tpZ_tp_push_row(&instance); }

const uint8_t* tidepool_latent(uint32_t* len, uint32_t* width, uint32_t* height, uint32_t* channels) {
  if (!Z_tpZ_tp_ready(&instance)) return NULL;
  uint32_t n = Z_tpZ_tp_latent_len(&instance);
  if (len) *len = n;
  if (width) *width = Z_tpZ_tp_latent_width(&instance);
  if (height) *height = Z_tpZ_tp_latent_height(&instance);
  if (channels) *channels = Z_tpZ_tp_latent_channels(&instance);
  return memory_at(Z_tpZ_tp_latent_ptr(&instance), n);
}

#ifdef TP_HAS_PACKETIZER
int32_t tidepool_has_packetizer(void) { return 1; }
int32_t tidepool_packets_begin(uint32_t image_id, uint32_t packet_bytes, uint32_t budget_bytes, uint32_t channels) {
  if (!channels) channels = Z_tpZ_tp_latent_channels(&instance);
  return (int32_t)Z_tpZ_tp_pk_begin(&instance, image_id, packet_bytes, budget_bytes, channels);
}
int32_t tidepool_packet_next(const uint8_t** packet) {
  int32_t n = (int32_t)Z_tpZ_tp_pk_next(&instance);
  if (n > 0 && packet) *packet = memory_at(Z_tpZ_tp_pk_ptr(&instance), (uint32_t)n);
  return n;
}
#else
int32_t tidepool_has_packetizer(void) { return 0; }
int32_t tidepool_packets_begin(uint32_t image_id, uint32_t packet_bytes, uint32_t budget_bytes, uint32_t channels) {
  (void)image_id; (void)packet_bytes; (void)budget_bytes; (void)channels;
  return -20; /* no entropy tables in this module */
}
int32_t tidepool_packet_next(const uint8_t** packet) { (void)packet; return -27; }
#endif
