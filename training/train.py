"""Train the Tidepool codec: L = D + lambda * R (+ task term), D = (1 - MS-SSIM) + mse_weight * MSE,
R = bits per pixel under the learned per-channel prior. PNC tail-drop over channels, StarFish element
dropout, QAT with the device's integer semantics. Resumable: `python3 training/train.py --config
training/configs/X.json` continues from <run_dir>/checkpoint.pt when present; a config with "init_from"
starts from another run's checkpoint (PNC's stage 2 starts from stage 1); "init_parts" loads only some of it
(a new encoder architecture keeps the shipped decoder and prior), and "distil" first trains that encoder alone
to reproduce a teacher encoder's latent (no decoder pass: cheap). Logs to <run_dir>/train.log."""
import argparse
import json
import os
import random
import time
import numpy as np
import torch
import torch.nn.functional as F
from data import Crops, load_images, split
from model import LEVELS, OFFSET, build, quantize_latent
from msssim import ms_ssim
from quant import input_to_int, to_luma

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..")


def masks(n, channels, h, w, rng: torch.Generator, tail_drop=0.5, erasure=0.5):
    """1 = received. A share `tail_drop` of the samples (half by default) keep only the first
    k ~ U{1..C} channels (tail-drop); a share `erasure` (independently) also lose elements i.i.d. at a
    rate ~ U(0, 0.3)."""
    m = torch.ones(n, channels, h, w)
    for i in range(n):
        k = int(torch.randint(1, channels + 1, (1,), generator=rng))
        if torch.rand(1, generator=rng) < tail_drop:
            m[i, k:] = 0
        if torch.rand(1, generator=rng) < erasure:
            rate = float(torch.rand(1, generator=rng)) * 0.3
            m[i] *= (torch.rand(channels, h, w, generator=rng) >= rate).float()
    return m


def onnx_state(path, like):
    """A decoder state dict from an exported ONNX decoder's initializers (same names and shapes as `like`)."""
    import onnx
    from onnx import numpy_helper
    if not os.path.exists(path):
        raise SystemExit(f"train.py: init_decoder_from {path} not found")
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    missing = [k for k in like if k not in inits or tuple(inits[k].shape) != tuple(like[k].shape)]
    if missing:
        raise SystemExit(f"train.py: {path} does not match the decoder (missing or reshaped: {', '.join(missing[:5])})")
    return {k: torch.from_numpy(inits[k].copy()) for k in like}


def save_checkpoint(path, enc, dec, prior, opt, step, cfg):
    tmp = path + ".tmp"
    torch.save({"enc": enc.state_dict(), "dec": dec.state_dict(), "prior": prior.state_dict(), "opt": opt.state_dict(), "step": step, "config": cfg}, tmp)
    os.replace(tmp, path)  # a crash mid-save never replaces the good checkpoint


class Distiller:
    """Phase 1 of a new encoder: regress its pre-quantisation latent (in latent steps) onto a frozen
    teacher encoder's, both clamped to the symbol range (what lies beyond the clamp is one symbol anyway).
    The teacher is a shipped model whose decoder the student keeps, so phase 2 starts near a working codec."""

    def __init__(self, path):
        if not os.path.exists(path):
            raise SystemExit(f"train.py: distil teacher {path} not found")
        st = torch.load(path)
        self.enc, _, _ = build(st["config"])
        self.enc.load_state_dict(st["enc"])
        self.enc.eval()
        for p in self.enc.parameters():
            p.requires_grad_(False)

    def __call__(self, u, px):
        with torch.no_grad():
            t = self.enc(input_to_int(px).float())
        lo, hi = -OFFSET - 0.5, LEVELS - 1 - OFFSET + 0.5
        return F.mse_loss(u.clamp(lo, hi), t.clamp(lo, hi))


class TaskLoss:
    """PNC stage 2: distil the frozen MobileNetV2 teacher's prediction on the original image into its
    prediction on the reconstruction (KL at temperature T, times T^2)."""

    def __init__(self, spec):
        from teacher import load_teacher, normalise
        self.model, self.normalise = load_teacher(), normalise
        self.t = spec.get("temperature", 2.0)

    def __call__(self, xh, x):
        with torch.no_grad():
            target = F.softmax(self.model(self.normalise(x)) / self.t, dim=1)
        logp = F.log_softmax(self.model(self.normalise(xh)) / self.t, dim=1)
        return F.kl_div(logp, target, reduction="batchmean") * self.t ** 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(HERE, "configs", "short.json"))
    args = ap.parse_args()
    cfg = json.load(open(args.config))
    run = os.path.join(REPO, cfg["run_dir"])
    os.makedirs(run, exist_ok=True)
    torch.set_num_threads(cfg.get("threads", 2))
    random.seed(cfg["seed"]); np.random.seed(cfg["seed"]); torch.manual_seed(cfg["seed"])
    log = open(os.path.join(run, "train.log"), "a")

    def say(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n"); log.flush()

    ckpt = os.path.join(run, "checkpoint.pt")
    resumed = torch.load(ckpt) if os.path.exists(ckpt) else None
    init = None
    if resumed is None and cfg.get("init_from"):
        src = os.path.join(REPO, cfg["init_from"])
        if not os.path.exists(src):
            raise SystemExit(f"train.py: init_from {src} not found: train or export that model first")
        init = torch.load(src)
    # A stage that starts from another model keeps its architecture unless the config names one.
    base = (resumed or init or {}).get("config", {})
    for key in ("encoder", "decoder", "decoder_width"):
        if key not in cfg and key in base:
            cfg[key] = base[key]
    enc, dec, prior = build(cfg)
    freeze_encoder, freeze_decoder = cfg.get("freeze_encoder", False), cfg.get("freeze_decoder", False)
    grey = enc.in_channels == 1
    trainable = ([] if freeze_encoder else list(enc.parameters()) + list(prior.parameters())) + ([] if freeze_decoder else list(dec.parameters()))
    opt = torch.optim.Adam(trainable, lr=cfg["lr"])
    step = 0
    if init is not None and resumed is None and init["enc"]["convs.0.weight"].shape[1] != enc.in_channels:
        # A grey encoder from a colour one: on grey input (R = G = B = Y) the summed first-layer weights
        # compute exactly what the colour layer did.
        init = {**init, "enc": {**init["enc"], "convs.0.weight": init["enc"]["convs.0.weight"].sum(dim=1, keepdim=True)}}
    parts = cfg.get("init_parts", ["enc", "dec", "prior"])  # a new encoder takes only the decoder and prior
    for st, keep in ((resumed, ("enc", "dec", "prior")), (init, parts)):
        if st is not None:
            for name, module in (("enc", enc), ("dec", dec), ("prior", prior)):
                if name in keep:
                    module.load_state_dict(st[name])
    if resumed is None and init is not None and "enc" not in parts:
        with torch.no_grad():  # start the new encoder's latent steps at the old one's: the decoder expects them
            enc.log_step.copy_(init["enc"]["log_step"])
    if resumed is None and cfg.get("init_decoder_from"):
        # The task encoder starts its decoder from the task-aware decoder (shipped only as ONNX: its
        # initializers carry the PyTorch parameter names), so it starts where the frozen-encoder route ends.
        dec.load_state_dict(onnx_state(os.path.join(REPO, cfg["init_decoder_from"]), dec.state_dict()))
        say(f"decoder initialised from {cfg['init_decoder_from']}")
    if resumed is not None:
        opt.load_state_dict(resumed["opt"]); step = resumed["step"]
        say(f"resumed from step {step}")
    elif init is not None:
        say(f"initialised from {cfg['init_from']} (step {init['step']})")
    if freeze_encoder:
        enc.calibrating = False
        for p in list(enc.parameters()) + list(prior.parameters()):
            p.requires_grad_(False)
    if freeze_decoder:
        for p in dec.parameters():
            p.requires_grad_(False)
    task = TaskLoss(cfg["task"]) if cfg.get("task") else None
    distil = cfg.get("distil")
    distiller = Distiller(os.path.join(REPO, distil["teacher"])) if distil else None
    distil_steps = distil["steps"] if distil else 0
    paths = split("train")
    say(f"config {json.dumps(cfg)}; {len(paths)} training images (imagenet-sample, label_index % 5 != 0); "
        f"encoder {sum(p.numel() for p in enc.parameters())} parameters, {enc.macs() / 1e6:.1f} M MAC per 224x224")
    data = Crops(load_images(paths), crop=cfg["crop"], seed=cfg["seed"] + step)
    rng = torch.Generator().manual_seed(cfg["seed"] + step)
    enc.train(); dec.train()
    if freeze_encoder:
        enc.eval()
    if freeze_decoder:
        dec.eval()
    mse_w, task_w = cfg.get("mse_weight", 3.0), (cfg["task"]["weight"] if task else 0.0)
    # The task encoder trains for the classifier first: D only keeps the picture usable.
    dist_w = cfg.get("distortion_weight", 1.0)
    tail_drop, erasure = cfg.get("tail_drop", 0.5), cfg.get("erasure", 0.5)
    t0, acc = time.time(), []
    while step < cfg["steps"]:
        if not freeze_encoder:
            enc.calibrating = step < cfg.get("calibrate_steps", 500)
        distilling = step < distil_steps
        # Each phase has its own warm-up and cosine schedule.
        base_lr, t, n = (distil.get("lr", cfg["lr"]), step, distil_steps) if distilling else (cfg["lr"], step - distil_steps, cfg["steps"] - distil_steps)
        lr = base_lr * min(1.0, (t + 1) / 100) * (0.5 * (1 + np.cos(np.pi * t / n)) * 0.9 + 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        px = data.batch(distil.get("batch", cfg["batch"]) if distilling else cfg["batch"])
        if grey:  # the camera sees luma; the target is that grey picture (as RGB, what the decoder outputs)
            px = to_luma(torch.from_numpy(px) if isinstance(px, np.ndarray) else px)
        if distilling:
            u = enc(input_to_int(px).float())
            loss = distiller(u, px)
            opt.zero_grad(); loss.backward(); opt.step()
            step += 1
            acc.append((float(loss),))
            if step % cfg["log_every"] == 0 or step == distil_steps:
                say(f"step {step} distil latent mse {np.mean(acc):.4f} (steps^2) lr {lr:.2e} act_max {[round(float(v), 3) for v in enc.act_max]} "
                    f"{(time.time() - t0) / len(acc):.3f}s/step")
                acc, t0 = [], time.time()
            if step % cfg["checkpoint_every"] == 0 or step == distil_steps:
                save_checkpoint(ckpt, enc, dec, prior, opt, step, cfg)
            continue
        x = px.float().expand(-1, 3, -1, -1) / 255.0
        u = enc(input_to_int(px).float())
        q, _ = quantize_latent(u)
        noisy = u + torch.empty_like(u).uniform_(-0.5, 0.5)
        bits = prior.bits(noisy).sum() / (x.shape[0] * x.shape[2] * x.shape[3])
        m = masks(x.shape[0], enc.channels, u.shape[2], u.shape[3], rng, tail_drop, erasure)
        xh = dec(q * enc.step()[None, :, None, None], m)
        mse = F.mse_loss(xh, x)
        msssim = ms_ssim(xh, x)
        loss = dist_w * ((1 - msssim) + mse_w * mse) + (0.0 if freeze_encoder else cfg["lambda"] * bits)
        kd = task(xh, x) if task else torch.zeros(())
        loss = loss + task_w * kd
        opt.zero_grad(); loss.backward(); opt.step()
        step += 1
        acc.append((float(msssim), float(mse), float(bits), float(kd)))
        if step % cfg["log_every"] == 0 or step == cfg["steps"]:
            a = np.mean(acc, axis=0); acc = []
            say(f"step {step} ms-ssim {a[0]:.4f} mse {a[1]:.5f} rate {a[2]:.3f} bpp" + (f" kd {a[3]:.4f}" if task else "") +
                f" lr {lr:.2e} act_max {[round(float(v), 3) for v in enc.act_max]} {(time.time() - t0) / cfg['log_every']:.2f}s/step")
            t0 = time.time()
        if step % cfg["checkpoint_every"] == 0 or step == cfg["steps"]:
            save_checkpoint(ckpt, enc, dec, prior, opt, step, cfg)
    say("done")


if __name__ == "__main__":
    main()
