// The host's mirror of the device's status codes (assembly/abi.ts is the one definition; a test checks
// this table against it). Every host module that drives a built module names codes from here.

export const DEVICE_STATUS: Record<string, { code: number; message: string }> = {
  E_BAD_PLAN: { code: -1, message: "bad plan block (module not built by tidepool build?)" },
  E_BAD_FORMAT: { code: -2, message: "unknown pixel format" },
  E_FRAME_TOO_LARGE: { code: -3, message: "frame larger than the size the module was built for" },
  E_FRAME_TOO_SMALL: { code: -4, message: "frame smaller than the encoder's receptive field" },
  E_NOT_INITIALISED: { code: -5, message: "tp_push_row before tp_init" },
  E_FRAME_COMPLETE: { code: -6, message: "more rows pushed than the frame has" },
  E_NO_TABLES: { code: -20, message: "module has no entropy tables (build with a model that has an ENTR section)" },
  E_LATENT_NOT_READY: { code: -21, message: "latent not complete: push every row of a frame first" },
  E_BAD_PACKET_SIZE: { code: -22, message: "packet size outside 12..255 bytes" },
  E_LATENT_TOO_LARGE: { code: -23, message: "latent larger than the frame the module was planned for" },
  E_TABLES_MISMATCH: { code: -24, message: "entropy tables do not match the latent (channels or levels)" },
  E_SYMBOL_TOO_LARGE: { code: -25, message: "packet size too small to carry one symbol" },
  E_BAD_ARGUMENT: { code: -26, message: "bad budget or channel count" },
  E_NOT_STARTED: { code: -27, message: "tp_pk_next before tp_pk_begin" },
  E_NO_POLICY: { code: -30, message: "module has no adaptive policy (model without a PLCY section)" },
  E_POLICY_LATENT_NOT_READY: { code: -31, message: "policy run before the latent is complete" },
  E_POLICY_MISMATCH: { code: -32, message: "policy does not fit this latent (channels, levels or tables)" },
};

/** What a negative status from the device means, e.g. "frame larger than … (E_FRAME_TOO_LARGE, -3)". */
export function describeDeviceStatus(code: number): string {
  for (const [name, s] of Object.entries(DEVICE_STATUS)) if (s.code === code) return `${s.message} (${name}, ${code})`;
  return `unknown device status ${code}`;
}
