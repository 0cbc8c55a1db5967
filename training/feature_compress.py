"""Learned scalable feature compression after the split head (docs/split-computing.md §Feature compression).

Device (compressor): one conv, kernel = stride = R (a 4x4 patch -> C symbols), on the split tensor's
integers, with the device's arithmetic: int8 per-channel symmetric weights (quant.fake_quant_weights),
int32 bias, requantized to one symbol step, plus OFFSET, clamped to [0, LEVELS-1]. Its output is the
latent the existing bitstream codes: channel c is a scalable layer, sent in channel order.

Server (expander): the received symbols minus OFFSET (missing ones = 0), conv 3x3 C->E (a sum of
per-channel contributions, so each layer's expansion adds), ReLU, conv 3x3 E->E, ReLU, conv 1x1
E->24*R*R, depth-to-space R -> the split tensor, put on its uint8 grid, then the frozen tail.

Training: head and tail frozen (features precomputed by feature_data.py); KL to the teacher's logits
on the original split tensor (the frozen tail on it) + lambda * rate (a per-channel Laplace prior on the rounded symbols, the codec's
per-channel tables in spirit) + a little feature MSE; tail-drop: each sample keeps a random prefix of
the channels (one compressor serves every ratio); position drop-out imitates lost packets. lambda is
adapted so that the full latent's estimated rate sits at --target-bytes.

usage: nice -n 10 /usr/bin/python3 training/feature_compress.py DATA_DIR OUT.pt [--minutes 35]
"""
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from quant import fake_quant_weights, round_ste
from teacher import load_teacher

LEVELS = 32
OFFSET = 16


class Compressor(nn.Module):
    def __init__(self, cin=24, channels=32, ratio=4):
        super().__init__()
        self.ratio = ratio
        self.conv = nn.Conv2d(cin, channels, ratio, stride=ratio)
        # outputs of a few symbol steps from the start (split tensor std ~0.56): a near-zero latent
        # rounds to all zeros and the straight-through gradient then grows it only slowly
        nn.init.normal_(self.conv.weight, std=5.0 / math.sqrt(cin * ratio * ratio))
        nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        """x: the split tensor's real values, (q - zp) * scale. Returns the real-valued latent (before rounding)."""
        w, _ = fake_quant_weights(self.conv.weight)
        return F.conv2d(x, w, self.conv.bias, stride=self.ratio)


class Expander(nn.Module):
    def __init__(self, channels=32, cout=24, ratio=4, width=128):
        super().__init__()
        self.c1 = nn.Conv2d(channels, width, 3, padding=1)
        self.c2 = nn.Conv2d(width, width, 3, padding=1)
        self.c3 = nn.Conv2d(width, cout * ratio * ratio, 1)
        self.shuffle = nn.PixelShuffle(ratio)

    def forward(self, y):
        h = F.relu(self.c1(y))
        h = F.relu(self.c2(h))
        return self.shuffle(self.c3(h))


class Prior(nn.Module):
    """Per-channel Laplace(mu, b) on the integer symbols: bits = -log2 P(round(y))."""

    def __init__(self, channels):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(channels))
        self.log_b = nn.Parameter(torch.zeros(channels))

    def bits(self, y):
        mu, b = self.mu.view(1, -1, 1, 1), self.log_b.exp().view(1, -1, 1, 1)

        def cdf(v):
            z = (v - mu) / b
            return torch.where(z < 0, 0.5 * torch.exp(z.clamp(max=0)), 1 - 0.5 * torch.exp(-z.clamp(min=0)))

        lo, hi = y - 0.5, y + 0.5
        # the clamp's end symbols own the tails
        p_lo = torch.where(lo <= -OFFSET, torch.zeros_like(lo), cdf(lo))
        p_hi = torch.where(hi >= LEVELS - OFFSET - 1, torch.ones_like(hi), cdf(hi))
        return -torch.log2((p_hi - p_lo).clamp(min=1e-9))


def quantize_latent(y, train):
    """Symbols minus OFFSET: rounded (straight-through) and clamped to the alphabet."""
    return torch.clamp(round_ste(y), -OFFSET, LEVELS - 1 - OFFSET)


class Tail(nn.Module):
    """The frozen classifier from the split tensor on (teacher blocks split+1.., pooling, classifier)."""

    def __init__(self, teacher, split):
        super().__init__()
        self.features = teacher.net.features[split + 1:]
        self.classifier = teacher.net.classifier

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def kl(student, teacher_logits):
    t = F.log_softmax(teacher_logits.float(), 1)
    return (t.exp() * (t - F.log_softmax(student, 1))).sum(1).mean()


def evaluate(comp, exp, tail, prior, feats, logits, labels, sq, keeps):
    """Top-1/top-5 vs labels and agreement with the teacher at several channel prefixes; est. bytes."""
    scale, zp = sq
    out = {}
    with torch.no_grad():
        ys, bits = [], []
        for s in range(0, len(feats), 50):
            x = (torch.from_numpy(feats[s:s + 50]).float() - zp) * scale
            y = quantize_latent(comp(x), False)
            ys.append(y)
            bits.append(prior.bits(y).sum((2, 3)))
        y, bits = torch.cat(ys), torch.cat(bits)
        for k in keeps:
            mask = torch.zeros(1, y.shape[1], 1, 1)
            mask[:, :k] = 1
            preds = []
            for s in range(0, len(y), 50):
                f = exp(y[s:s + 50] * mask)
                f = (torch.clamp(torch.round(f / scale) + zp, 0, 255) - zp) * scale
                preds.append(tail(f))
            p = torch.cat(preds)
            top5 = p.topk(5, 1).indices
            lab = torch.from_numpy(labels)
            out[k] = dict(bytes=float(bits[:, :k].sum(1).mean()) / 8, top1=float((top5[:, 0] == lab).float().mean()),
                          top5=float((top5 == lab[:, None]).any(1).float().mean()))
    return out


def load_train(d):
    """Every train_feats_NNNN.npy chunk feature_data.py has finished so far."""
    chunks = sorted(f for f in os.listdir(d) if f.startswith("train_feats_") and f.endswith(".npy") and ".tmp" not in f)
    return np.concatenate([np.load(os.path.join(d, f)) for f in chunks])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--split", type=int, default=2)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--ratio", type=int, default=4)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--minutes", type=float, default=35)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--target-bytes", type=float, default=2400)
    ap.add_argument("--mse", type=float, default=0.5)
    ap.add_argument("--mse-minutes", type=float, default=12, help="first phase: feature MSE + rate only (no tail, ~15x cheaper)")
    ap.add_argument("--mse-batch", type=int, default=32)
    ap.add_argument("--eval-every", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--resume", help="start from this checkpoint (e.g. the MSE phase's)")
    ap.add_argument("--full-prob", type=float, default=0.0, help="share of samples that keep every channel (no tail-drop)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    sq = tuple(np.load(os.path.join(a.data, "split_quant.npy")))
    scale, zp = float(sq[0]), float(sq[1])
    feats = load_train(a.data)
    test = [np.load(os.path.join(a.data, f"test_{n}.npy")) for n in ("feats", "logits", "labels")]
    cin = feats.shape[1]
    teacher = load_teacher()
    tail = Tail(teacher, a.split).eval()
    lo, hi = (0 - zp) * scale, (255 - zp) * scale
    comp, exp, prior = Compressor(cin, a.channels, a.ratio), Expander(a.channels, cin, a.ratio, a.width), Prior(a.channels)
    if a.resume:
        ck = torch.load(a.resume, map_location="cpu")
        comp.load_state_dict(ck["compressor"]), exp.load_state_dict(ck["expander"]), prior.load_state_dict(ck["prior"])
    params = list(comp.parameters()) + list(exp.parameters()) + list(prior.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)
    lam, target_bits = (1e-4 if not a.resume else 1e-6), a.target_bytes * 8
    start, step, n = time.time(), 0, len(feats)
    hist = []
    keeps = [4, 8, 16, a.channels]
    while time.time() - start < a.minutes * 60:
        frac = min(1.0, (time.time() - start) / (a.minutes * 60))
        for g in opt.param_groups:
            g["lr"] = a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        warm = time.time() - start < a.mse_minutes * 60
        if step % 100 == 0 and step:
            feats = load_train(a.data)  # chunks still arriving from feature_data.py
            n = len(feats)
        idx = np.sort(rng.choice(n, a.mse_batch if warm else a.batch, replace=False))
        q = torch.from_numpy(np.ascontiguousarray(feats[idx])).float()
        x = (q - zp) * scale
        y = comp(x)
        yq = quantize_latent(y, True)
        bits_all = prior.bits(y + (torch.rand_like(y) - 0.5))  # noisy proxy carries the rate gradient
        B, C = y.shape[:2]
        keep = torch.from_numpy(np.where(rng.random(B) < a.full_prob, C, rng.integers(1, C + 1, B)))
        cmask = (torch.arange(C)[None, :] < keep[:, None]).float()[:, :, None, None]
        # lost packets: a random share of the kept positions is missing (zeros) in half the samples
        loss_p = torch.from_numpy(rng.uniform(0, 0.3, B) * (rng.random(B) < 0.5)).float()[:, None, None, None]
        pmask = (torch.rand(B, 1, y.shape[2], y.shape[3]) >= loss_p).float()
        f = exp(yq * cmask * pmask)
        f = torch.clamp(f, lo, hi)
        fq = f + ((torch.round(f / scale) * scale) - f).detach()  # the server puts it on the uint8 grid
        l_mse = F.mse_loss(f, x)
        rate = (bits_all * cmask).sum((1, 2, 3)).mean()
        full_bits = bits_all.detach().sum((1, 2, 3)).mean()
        if warm:
            l_kl = torch.zeros(())
            loss = l_mse + lam * rate
        else:
            with torch.no_grad():
                target = tail(x)  # the teacher on the original: the frozen tail on the device's split tensor
            l_kl = kl(tail(fq), target)
            loss = l_kl + a.mse * l_mse + lam * rate
        opt.zero_grad()
        loss.backward()
        opt.step()
        lam *= math.exp(0.01 * float(full_bits - target_bits) / target_bits)
        lam = min(max(lam, 1e-7), 1e-1)
        step += 1
        hist.append((float(l_kl), float(l_mse), float(full_bits) / 8))
        if step % a.log_every == 0:
            h = np.mean(hist[-50:], 0)
            print(f"step {step} {time.time() - start:.0f}s kl {h[0]:.3f} mse {h[1]:.4f} full {h[2]:.0f} B lam {lam:.2e}", flush=True)
        if step % a.eval_every == 0 or (warm and time.time() - start >= a.mse_minutes * 60):
            comp.eval(), exp.eval()
            ev = evaluate(comp, exp, tail, prior, *test, (scale, zp), [8, a.channels])
            print("eval", {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in ev.items()}, flush=True)
            comp.train(), exp.train()
            save(a, comp, exp, prior, sq, step)
    save(a, comp, exp, prior, sq, step)
    ev = evaluate(comp, exp, tail, prior, *test, (scale, zp), keeps)
    print("final", {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in ev.items()}, flush=True)


def save(a, comp, exp, prior, sq, step):
    tmp = a.out + ".tmp"
    torch.save(dict(compressor=comp.state_dict(), expander=exp.state_dict(), prior=prior.state_dict(),
                    split=a.split, channels=a.channels, ratio=a.ratio, width=a.width, levels=LEVELS, offset=OFFSET,
                    split_quant=[float(sq[0]), float(sq[1])], step=step), tmp)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
