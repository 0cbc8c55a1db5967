"""Train the Tidepool codec: L = D + lambda * R, D = (1 - MS-SSIM) + 3 * MSE, R = bits per pixel under
the learned per-channel prior. PNC tail-drop over channels, StarFish element dropout, QAT with the
device's integer semantics. Resumable: `python3 training/train.py --config training/configs/X.json`
continues from <run_dir>/checkpoint.pt when present. Logs to <run_dir>/train.log."""
import argparse
import json
import os
import random
import time
import numpy as np
import torch
import torch.nn.functional as F
from data import Crops, load_images, split
from model import CHANNELS, Decoder, Encoder, FactorizedPrior, quantize_latent
from msssim import ms_ssim
from quant import input_to_int

HERE = os.path.dirname(os.path.abspath(__file__))


def masks(n, h, w, rng: torch.Generator):
    """1 = received. Tail-drop keeps k ~ U{1..12} leading channels; half the samples also lose
    elements i.i.d. at a rate ~ U(0, 0.3)."""
    m = torch.ones(n, CHANNELS, h, w)
    for i in range(n):
        k = int(torch.randint(1, CHANNELS + 1, (1,), generator=rng))
        if torch.rand(1, generator=rng) < 0.5:
            m[i, k:] = 0
        if torch.rand(1, generator=rng) < 0.5:
            rate = float(torch.rand(1, generator=rng)) * 0.3
            m[i] *= (torch.rand(CHANNELS, h, w, generator=rng) >= rate).float()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(HERE, "configs", "short.json"))
    args = ap.parse_args()
    cfg = json.load(open(args.config))
    run = os.path.join(HERE, "..", cfg["run_dir"])
    os.makedirs(run, exist_ok=True)
    torch.set_num_threads(cfg.get("threads", 2))
    random.seed(cfg["seed"]); np.random.seed(cfg["seed"]); torch.manual_seed(cfg["seed"])
    log = open(os.path.join(run, "train.log"), "a")

    def say(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n"); log.flush()

    enc, dec, prior = Encoder(), Decoder(cfg.get("decoder_width", 48)), FactorizedPrior()
    params = list(enc.parameters()) + list(dec.parameters()) + list(prior.parameters())
    opt = torch.optim.Adam(params, lr=cfg["lr"])
    step = 0
    ckpt = os.path.join(run, "checkpoint.pt")
    if os.path.exists(ckpt):
        st = torch.load(ckpt)
        enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"]); prior.load_state_dict(st["prior"])
        opt.load_state_dict(st["opt"]); step = st["step"]
        say(f"resumed from step {step}")
    paths = split("train")
    say(f"config {json.dumps(cfg)}; {len(paths)} training images (imagenet-sample, label_index % 5 != 0)")
    data = Crops(load_images(paths), crop=cfg["crop"], seed=cfg["seed"] + step)
    rng = torch.Generator().manual_seed(cfg["seed"] + step)
    enc.train(); dec.train()
    t0, acc = time.time(), []
    while step < cfg["steps"]:
        enc.calibrating = step < cfg.get("calibrate_steps", 500)
        lr = cfg["lr"] * min(1.0, (step + 1) / 100) * (0.5 * (1 + np.cos(np.pi * step / cfg["steps"])) * 0.9 + 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        px = data.batch(cfg["batch"])
        x = px.float() / 255.0
        u = enc(input_to_int(px).float())
        q, _ = quantize_latent(u)
        noisy = u + torch.empty_like(u).uniform_(-0.5, 0.5)
        bits = prior.bits(noisy).sum() / (x.shape[0] * x.shape[2] * x.shape[3])
        m = masks(x.shape[0], u.shape[2], u.shape[3], rng)
        xh = dec(q * enc.step()[None, :, None, None], m)
        mse = F.mse_loss(xh, x)
        msssim = ms_ssim(xh, x)
        loss = (1 - msssim) + 3 * mse + cfg["lambda"] * bits
        opt.zero_grad(); loss.backward(); opt.step()
        step += 1
        acc.append((float(msssim), float(mse), float(bits)))
        if step % cfg["log_every"] == 0 or step == cfg["steps"]:
            a = np.mean(acc, axis=0); acc = []
            say(f"step {step} ms-ssim {a[0]:.4f} mse {a[1]:.5f} rate {a[2]:.3f} bpp lr {lr:.2e} act_max {float(enc.act_max):.3f} {(time.time() - t0) / cfg['log_every']:.2f}s/step")
            t0 = time.time()
        if step % cfg["checkpoint_every"] == 0 or step == cfg["steps"]:
            tmp = ckpt + ".tmp"
            torch.save({"enc": enc.state_dict(), "dec": dec.state_dict(), "prior": prior.state_dict(), "opt": opt.state_dict(), "step": step, "config": cfg}, tmp)
            os.replace(tmp, ckpt)  # a crash mid-save never replaces the good checkpoint
    say("done")


if __name__ == "__main__":
    main()
