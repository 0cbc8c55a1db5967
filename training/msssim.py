"""Differentiable MS-SSIM for training (Gaussian 11/1.5, valid filtering); 4 scales on 128-px crops."""
import torch
import torch.nn.functional as F

WEIGHTS = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _gauss(device):
    g = torch.exp(-((torch.arange(11, device=device) - 5.0) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    return g


def _filter(x, g):
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _ssim(x, y, g, data_range=1.0):
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = _filter(x, g), _filter(y, g)
    sxx = _filter(x * x, g) - mx * mx
    syy = _filter(y * y, g) - my * my
    sxy = _filter(x * y, g) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = ((2 * mx * my + c1) / (mx * mx + my * my + c1)) * cs
    return ssim.mean(dim=(2, 3)), cs.mean(dim=(2, 3))


def ms_ssim(x, y, scales=4):
    w = WEIGHTS[:scales].to(x.device)
    w = w / w.sum()
    g = _gauss(x.device)
    vals = []
    for i in range(scales):
        s, cs = _ssim(x, y, g)
        vals.append(F.relu(s if i == scales - 1 else cs))
        if i < scales - 1:
            x = F.avg_pool2d(x, 2, padding=(x.shape[2] % 2, x.shape[3] % 2))
            y = F.avg_pool2d(y, 2, padding=(y.shape[2] % 2, y.shape[3] % 2))
    v = torch.stack(vals, dim=0)  # scales x N x C
    return torch.prod(v ** w[:, None, None], dim=0).mean()
