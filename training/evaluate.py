"""Quick rate-distortion of a training run for choosing between configs (not the product's evaluation,
which is `tidepool eval` on the built WASM with real packets): imagenet-sample test-split 224x224
centre crops, device-exact latents, the decoder at every channel prefix k, ideal code length under
static per-channel tables fitted on training-split latents. Never reads Kodak.
With --task: also the teacher's (training/teacher.py) top-1/top-5 on the classifier view (short side
256, centre 224) of the images, each sent as the largest channel prefix within 1000..2500 B.
`/usr/bin/python3 training/evaluate.py --run training/runs/X [--images 100] [--json] [--task]`
(`--checkpoint models/codec-weights-task.pt` instead of --run evaluates exported weights.)"""
import argparse
import json
import os
import numpy as np
import torch
from data import split
from export import center_crop, integer_encode, integer_layers, symbol_counts
from model import LEVELS, build
from msssim import ms_ssim

BUDGETS = [500, 1000, 1500, 2000, 2500]


def crops(paths):
    return torch.from_numpy(np.stack([center_crop(p, 224) for p in paths]).transpose(0, 3, 1, 2).copy())


TASK_BUDGETS = (1000, 1200, 1500, 1700, 2000, 2250, 2500)  # 1.2 / 1.7 / 2.25 kB: LimitNet's operating points (issue 13)


def task_accuracy(paths, layers, step, dec, bits_of, budgets=TASK_BUDGETS):
    from teacher import load_teacher, normalise
    from teacher_check import labels_for, preprocess
    teacher, labels = load_teacher(), labels_for(paths)
    C = len(step)
    hits = {B: [] for B in budgets}
    ref = []
    with torch.no_grad():
        for i in range(0, len(paths), 20):
            px = torch.from_numpy(np.stack([preprocess(p) for p in paths[i:i + 20]]).transpose(0, 3, 1, 2).copy())
            lab = torch.from_numpy(labels[i:i + 20])
            sym = integer_encode(layers, px)
            lat = (sym.float() - LEVELS // 2) * step.float()[None, :, None, None]
            cum = np.cumsum(np.stack([bits_of[c][sym[:, c].numpy()].reshape(len(px), -1).sum(1) for c in range(C)], 1), 1) / 8

            def top(x01):
                t5 = teacher(normalise(x01)).topk(5, dim=1).indices
                return (t5[:, 0] == lab).float(), (t5 == lab[:, None]).any(1).float()
            ref.append(torch.stack(top(px.float() / 255), 1))
            for B in budgets:
                k = (cum <= B).sum(1)  # channels that fit, per image
                m = (torch.arange(C)[None, :] < torch.from_numpy(k)[:, None]).float()[:, :, None, None].expand_as(lat)
                xh = torch.round(dec(lat, m)[:, :, :224, :224] * 255) / 255
                t1, t5 = top(xh)
                ok = torch.from_numpy(k > 0).float()  # nothing fits: not delivered, wrong
                hits[B].append(torch.stack([t1 * ok, t5 * ok], 1))
    r = torch.cat(ref).mean(0).tolist()
    return {"reference": r, "at_bytes": {B: torch.cat(v).mean(0).tolist() for B, v in hits.items()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run")
    ap.add_argument("--checkpoint", help="a weights file (models/codec-weights*.pt) instead of RUN/checkpoint.pt")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--task", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.run and not args.checkpoint:
        ap.error("give --run or --checkpoint")
    st = torch.load(args.checkpoint or os.path.join(args.run, "checkpoint.pt"))
    enc, dec, _ = build(st["config"])
    enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"]); enc.eval(); dec.eval()
    layers, _, step = integer_layers(enc)
    C = enc.channels
    counts = symbol_counts(layers, split("train")[:200], C) + 1  # +1 smoothing
    bits_of = -np.log2(counts / counts.sum(1, keepdims=True))
    test = split("test")[:args.images]
    rows = {k: [] for k in range(1, C + 1)}
    with torch.no_grad():
        for i in range(0, len(test), 20):
            px = crops(test[i:i + 20])
            x = px.float() / 255
            sym = integer_encode(layers, px)
            lat = (sym.float() - LEVELS // 2) * step.float()[None, :, None, None]
            chan_bits = np.stack([bits_of[c][sym[:, c].numpy()].reshape(len(px), -1).sum(1) for c in range(C)], 1)
            for k in range(1, C + 1):
                m = torch.zeros_like(lat); m[:, :k] = 1
                xh = torch.round(dec(lat, m)[:, :, :224, :224] * 255) / 255
                for j in range(len(px)):
                    mse = float(((xh[j] - x[j]) ** 2).mean())
                    rows[k].append((chan_bits[j, :k].sum() / 8, float(ms_ssim(xh[j:j + 1], x[j:j + 1], scales=5)), 10 * np.log10(1 / mse)))
    curve = [{"k": k, "bytes": float(np.mean([r[0] for r in v])), "msssim": float(np.mean([r[1] for r in v])), "psnr": float(np.mean([r[2] for r in v]))} for k, v in rows.items()]
    b, q = [c["bytes"] for c in curve], [c["msssim"] for c in curve]
    at = {B: (float(np.interp(B, b, q)) if b[0] <= B <= b[-1] else None) for B in BUDGETS}
    out = {"run": args.run or args.checkpoint, "step": st["step"], "images": len(test), "encoder_macs": enc.macs(), "curve": curve, "msssim_at_bytes": at}
    if args.task:
        out["task"] = task_accuracy(test, layers, step, dec, bits_of)
    if args.json:
        print(json.dumps(out))
    else:
        for c in curve:
            print(f"k={c['k']:2d} {c['bytes']:7.0f} B  MS-SSIM {c['msssim']:.4f}  PSNR {c['psnr']:.2f}")
        print("MS-SSIM at " + ", ".join(f"{B} B: {v:.4f}" if v is not None else f"{B} B: n/a" for B, v in at.items()))
        if args.task:
            t = out["task"]
            print(f"teacher top-1/top-5 uncompressed {t['reference'][0]:.3f}/{t['reference'][1]:.3f}; " +
                  ", ".join(f"{B} B: {a:.3f}/{b:.3f}" for B, (a, b) in t["at_bytes"].items()))
            print("share of the uncompressed top-1 kept: " + ", ".join(f"{B} B: {a / t['reference'][0]:.2f}" for B, (a, _) in t["at_bytes"].items()))


if __name__ == "__main__":
    main()
