"""Integer semantics of the device (docs/model-format.md), shared by training, export and golden vectors."""
import math
import torch

MIN_SHIFT, MAX_SHIFT = 16, 62
INPUT_ZERO_POINT = 128
INPUT_SCALE = 1.0 / 128.0


def quantize_scale(scale: float):
    """(multiplier, shift) with multiplier in [2^30, 2^31), as host/model/requantize.ts quantizeScale."""
    if not (0 < scale < 2 ** 15):
        raise ValueError(f"requantization scale {scale} outside (0, 32768)")
    shift = 31 - math.floor(math.log2(scale)) - 1
    mult = round(scale * 2 ** shift)
    while mult >= 2 ** 31:
        shift -= 1
        mult = round(scale * 2 ** shift)
    while mult < 2 ** 30 and shift < MAX_SHIFT:
        shift += 1
        mult = round(scale * 2 ** shift)
    if not (MIN_SHIFT <= shift <= MAX_SHIFT):
        raise ValueError(f"requantization scale {scale} out of range")
    return int(mult), int(shift)


def requantize(acc: torch.Tensor, mult: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """(acc * m + 2^(s-1)) >> s in int64: round half towards +infinity (exact for |acc| < 2^31)."""
    acc = acc.to(torch.int64)
    return (acc * mult + (torch.ones_like(shift) << (shift - 1))) >> shift


def round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def fake_quant_weights(w: torch.Tensor):
    """Per-output-channel symmetric int8 weights with a straight-through estimator; returns (wq_float, scale)."""
    scale = w.detach().abs().amax(dim=(1, 2, 3)).clamp(min=1e-8) / 127.0
    q = torch.clamp(round_ste(w / scale[:, None, None, None]), -127, 127)
    return q * scale[:, None, None, None], scale


def input_to_int(pixels_u8: torch.Tensor) -> torch.Tensor:
    """Device input normalisation: clamp(p - 128, -128, 127)."""
    return torch.clamp(pixels_u8.to(torch.int64) - INPUT_ZERO_POINT, -128, 127)


def to_luma(pixels_u8: torch.Tensor) -> torch.Tensor:
    """What a grey camera (or the device, for a 1-channel model fed colour) sees: BT.601 integer luma
    (77R + 150G + 29B + 128) >> 8 of uint8 NCHW RGB, as uint8 N1HW (docs/device-abi.md)."""
    p = pixels_u8.to(torch.int64)
    return ((77 * p[:, 0:1] + 150 * p[:, 1:2] + 29 * p[:, 2:3] + 128) >> 8).to(torch.uint8)
