// The device's status codes and the ENTR table layout: defined here once for the device, mirrored by
// host/core/device-status.ts and host/wire/bitstream/tables.ts (tests/structure/device-abi.test.ts
// checks they agree). Each line is `export const NAME: i32 = value;` so the host test can read it.

// Status codes returned by the exports (0 = OK, negative = error), docs/device-abi.md.
export const OK: i32 = 0;
export const E_BAD_PLAN: i32 = -1;
export const E_BAD_FORMAT: i32 = -2;
export const E_FRAME_TOO_LARGE: i32 = -3;
export const E_FRAME_TOO_SMALL: i32 = -4;
export const E_NOT_INITIALISED: i32 = -5;
export const E_FRAME_COMPLETE: i32 = -6;
// Packetizer (tp_pk_*), docs/bitstream.md §Device API.
export const E_NO_TABLES: i32 = -20;
export const E_LATENT_NOT_READY: i32 = -21;
export const E_BAD_PACKET_SIZE: i32 = -22;
export const E_LATENT_TOO_LARGE: i32 = -23;
export const E_TABLES_MISMATCH: i32 = -24;
export const E_SYMBOL_TOO_LARGE: i32 = -25;
export const E_BAD_ARGUMENT: i32 = -26;
export const E_NOT_STARTED: i32 = -27;
// Adaptive policy (tp_policy_*), docs/adaptive.md.
export const E_NO_POLICY: i32 = -30;
export const E_POLICY_LATENT_NOT_READY: i32 = -31;
export const E_POLICY_MISMATCH: i32 = -32;

// ENTR section layout (docs/bitstream.md §Entropy tables): header fields read in place by the device.
export const ENTR_MAGIC: i32 = 0x43455054; // "TPEC" little-endian
export const ENTR_CHANNELS_AT: i32 = 6; // u16
export const ENTR_BLOCK_WIDTH_AT: i32 = 8; // u8
export const ENTR_BLOCK_HEIGHT_AT: i32 = 9; // u8
export const ENTR_SEED_AT: i32 = 12; // u32
export const ENTR_ID_AT: i32 = 16; // u32
export const ENTR_HEADER_BYTES: i32 = 20;
export const ENTR_ENTRY_BYTES: i32 = 12; // per channel: levels u16, classes u8, contexts u8, map offset u32, cum offset u32
export const ENTR_ENTRY_MAP_AT: i32 = 4;
export const ENTR_ENTRY_CUM_AT: i32 = 8;
