"""The tiny device encoder (quantization-aware), its learned latent quantizer and prior, and the server decoder."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from quant import INPUT_SCALE, fake_quant_weights, round_ste

LEVELS = 16          # 4-bit latent symbols
OFFSET = LEVELS // 2  # symbol = clamp(round(y / step) + OFFSET, 0, LEVELS - 1)
CHANNELS = 12


class Encoder(nn.Module):
    """conv 3->16 k5 s4 p2 ReLU (uint8 activations) -> conv 16->12 k3 s2 p1 -> 4-bit latent."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 5, stride=4, padding=2)
        self.conv2 = nn.Conv2d(16, CHANNELS, 3, stride=2, padding=1)
        self.log_step = nn.Parameter(torch.full((CHANNELS,), -1.0))
        # Activation scale of conv1's uint8 output: running max / 255, frozen once training settles.
        self.register_buffer("act_max", torch.tensor(4.0))
        self.calibrating = True

    def step(self):
        return self.log_step.exp()

    def forward(self, x_int):
        """x_int: int8 device input (pixel - 128) as float. Returns continuous latent in steps (u) and quantized symbols (STE)."""
        x = x_int * INPUT_SCALE
        w1, _ = fake_quant_weights(self.conv1.weight)
        a = F.relu(F.conv2d(x, w1, self.conv1.bias, stride=4, padding=2))
        if self.training and self.calibrating:
            with torch.no_grad():
                self.act_max.mul_(0.99).add_(0.01 * a.detach().amax())
        s_a = self.act_max / 255.0
        a = torch.clamp(round_ste(a / s_a), 0, 255) * s_a
        w2, _ = fake_quant_weights(self.conv2.weight)
        y = F.conv2d(a, w2, self.conv2.bias, stride=2, padding=1)
        u = y / self.step()[None, :, None, None]
        return u


def quantize_latent(u):
    """Symbols in [0, LEVELS) as the device computes them (STE), centred: returns (u_hat in steps, symbols)."""
    q = torch.clamp(round_ste(u), -OFFSET, LEVELS - 1 - OFFSET)
    return q, (q.detach() + OFFSET).to(torch.int64)


class FactorizedPrior(nn.Module):
    """Per-channel discretised logistic over latent steps; its code length is the rate term."""

    def __init__(self):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(CHANNELS))
        self.log_scale = nn.Parameter(torch.zeros(CHANNELS))

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
    """Server decoder: dequantized latent + erasure mask (12 + 12 channels at H/8) -> RGB in [0, 1]."""

    def __init__(self, width=48):
        super().__init__()
        self.inp = nn.Conv2d(2 * CHANNELS, width, 3, padding=1)
        self.res = nn.Sequential(ResBlock(width), ResBlock(width))
        self.up = nn.Sequential(
            nn.Conv2d(width, 4 * 32, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
            nn.Conv2d(32, 4 * 16, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
            nn.Conv2d(16, 4 * 8, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
            nn.Conv2d(8, 3, 3, padding=1),
        )

    def forward(self, latent, mask):
        return torch.sigmoid(self.up(self.res(self.inp(torch.cat([latent * mask, mask], dim=1)))))
