"""The tiny device encoder (quantization-aware), its learned latent quantizer and prior, and the server decoder.

Both networks are described by the training config, so architecture experiments need no code change:
  "encoder": [[out, kernel, stride, padding], ...]   every layer but the last has ReLU (uint8 activations);
                                                     the last layer's outputs are the latent channels
  "decoder": {"width": W, "blocks": B, "up": [c1, c2, c3], "up_blocks": [b1, b2, b3]}
The defaults are the first shipped architecture."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from quant import INPUT_SCALE, fake_quant_weights, round_ste

LEVELS = 16          # 4-bit latent symbols
OFFSET = LEVELS // 2  # symbol = clamp(round(y / step) + OFFSET, 0, LEVELS - 1)
DEFAULT_ENCODER = [[16, 5, 4, 2], [12, 3, 2, 1]]
DEFAULT_DECODER = {"width": 48, "blocks": 2, "up": [32, 16, 8], "up_blocks": [0, 0, 0]}


def encoder_spec(cfg):
    return cfg.get("encoder", DEFAULT_ENCODER)


def decoder_spec(cfg):
    d = dict(DEFAULT_DECODER)
    if "decoder_width" in cfg:
        d["width"] = cfg["decoder_width"]
    d.update(cfg.get("decoder", {}))
    return d


class Encoder(nn.Module):
    """Conv layers as the device runs them: int8 weights per output channel, uint8 ReLU activations
    whose scale is calibrated (EMA of the max) and then frozen, last layer divided by a learned
    per-channel step and rounded to LEVELS symbols."""

    def __init__(self, spec=None, in_channels=3):
        super().__init__()
        spec = spec or DEFAULT_ENCODER
        self.spec = [list(s) for s in spec]
        self.in_channels = in_channels  # 3: RGB; 1: grey cameras (luma)
        cin, convs = in_channels, []
        for out, k, s, p in self.spec:
            convs.append(nn.Conv2d(cin, out, k, stride=s, padding=p))
            cin = out
        self.convs = nn.ModuleList(convs)
        self.channels = cin
        self.stride = 1
        for _, _, s, _ in self.spec:
            self.stride *= s
        self.log_step = nn.Parameter(torch.full((cin,), -1.0))
        # Activation ranges of the uint8 outputs of every ReLU layer: running max / 255.
        self.register_buffer("act_max", torch.full((len(self.spec) - 1,), 4.0))
        self.calibrating = True

    def step(self):
        return self.log_step.exp()

    def act_scales(self):
        return self.act_max / 255.0

    def macs(self, h=224, w=224):
        total, cin = 0, self.in_channels
        for out, k, s, p in self.spec:
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            total += h * w * out * cin * k * k
            cin = out
        return total

    def forward(self, x_int):
        """x_int: int8 device input (pixel - 128) as float. Returns the continuous latent in steps."""
        x = x_int * INPUT_SCALE
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            w, _ = fake_quant_weights(conv.weight)
            x = F.conv2d(x, w, conv.bias, stride=conv.stride, padding=conv.padding)
            if i == last:
                break
            x = F.relu(x)
            if self.training and self.calibrating:
                with torch.no_grad():
                    self.act_max[i].mul_(0.99).add_(0.01 * x.detach().amax())
            s_a = self.act_max[i] / 255.0
            x = torch.clamp(round_ste(x / s_a), 0, 255) * s_a
        return x / self.step()[None, :, None, None]


def quantize_latent(u):
    """Symbols in [0, LEVELS) as the device computes them (STE), centred: returns (u_hat in steps, symbols)."""
    q = torch.clamp(round_ste(u), -OFFSET, LEVELS - 1 - OFFSET)
    return q, (q.detach() + OFFSET).to(torch.int64)


class FactorizedPrior(nn.Module):
    """Per-channel discretised logistic over latent steps; its code length is the rate term."""

    def __init__(self, channels):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))

    def bits(self, v):
        loc = self.loc[None, :, None, None]
        s = self.log_scale.exp()[None, :, None, None]
        upper = torch.sigmoid((v - loc + 0.5) / s)
        lower = torch.sigmoid((v - loc - 0.5) / s)
        # The outermost symbols take the tails, as the clamp does.
        upper = torch.where(v >= LEVELS - 1 - OFFSET, torch.ones_like(upper), upper)
        lower = torch.where(v <= -OFFSET, torch.zeros_like(lower), lower)
        return -torch.log2((upper - lower).clamp(min=1e-9))


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.b(F.relu(self.a(F.relu(x))))


class Decoder(nn.Module):
    """Server decoder: dequantized latent + erasure mask (2C channels at H/stride) -> RGB in [0, 1].
    conv -> residual blocks -> per x2 stage (conv -> PixelShuffle -> ReLU -> residual blocks) -> conv."""

    def __init__(self, channels, spec=None, stride=8):
        super().__init__()
        spec = {**DEFAULT_DECODER, **(spec or {})}
        width, ups = spec["width"], spec["up"]
        if 2 ** len(ups) != stride:
            raise ValueError(f"decoder has {len(ups)} x2 stages but the encoder's stride is {stride}")
        self.inp = nn.Conv2d(2 * channels, width, 3, padding=1)
        self.res = nn.Sequential(*[ResBlock(width) for _ in range(spec["blocks"])])
        layers, c = [], width
        for out, nb in zip(ups, spec["up_blocks"]):
            layers += [nn.Conv2d(c, 4 * out, 3, padding=1), nn.PixelShuffle(2), nn.ReLU()]
            layers += [ResBlock(out) for _ in range(nb)]
            c = out
        layers.append(nn.Conv2d(c, 3, 3, padding=1))
        self.up = nn.Sequential(*layers)

    def forward(self, latent, mask):
        return torch.sigmoid(self.up(self.res(self.inp(torch.cat([latent * mask, mask], dim=1)))))


def build(cfg):
    """(encoder, decoder, prior) for a training config."""
    enc = Encoder(encoder_spec(cfg), cfg.get("input_channels", 3))
    dec = Decoder(enc.channels, decoder_spec(cfg), enc.stride)
    return enc, dec, FactorizedPrior(enc.channels)
