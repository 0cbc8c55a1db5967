"""Precomputed training data for the split feature compressor (docs/split-computing.md §Feature compression).

The head (MobileNetV2 blocks 0..split) and the tail are frozen, so each training view's split tensor
and the teacher's logits are computed once and stored (uint8 split tensor on the int8 grid, float16
logits). Views: the classifier's own (short side 256, centre 224) and one random-resized, randomly
flipped 224 crop per photo. Photos: the imagenet-sample training split and photos-train only; the
test split (200 images) is stored separately with its labels, for evaluation only.

usage: nice -n 10 /usr/bin/python3 training/feature_data.py OUT_DIR [--split 2] [--limit N]
"""
import argparse
import csv
import glob
import os
import random

import numpy as np
import torch
from PIL import Image

import data
from teacher import load_teacher, normalise


def classifier_view(path):
    """host/receiver/classifier.ts classifierView: short side 256 (lanczos), centre crop 224."""
    im = Image.open(path).convert("RGB")
    s = 256 / min(im.size)
    im = im.resize((max(256, round(im.size[0] * s)), max(256, round(im.size[1] * s))), Image.LANCZOS)
    left, top = round((im.size[0] - 224) / 2), round((im.size[1] - 224) / 2)
    return np.asarray(im.crop((left, top, left + 224, top + 224)), dtype=np.uint8)


def random_view(path, rng):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    for _ in range(10):
        area = rng.uniform(0.3, 1.0) * w * h
        ar = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw, ch = int(round((area * ar) ** 0.5)), int(round((area / ar) ** 0.5))
        if cw <= w and ch <= h:
            x, y = rng.randrange(w - cw + 1), rng.randrange(h - ch + 1)
            break
    else:
        cw = ch = min(w, h)
        x, y = (w - cw) // 2, (h - ch) // 2
    c = im.crop((x, y, x + cw, y + ch)).resize((224, 224), Image.BILINEAR)
    a = np.asarray(c, dtype=np.uint8)
    return a[:, ::-1].copy() if rng.random() < 0.5 else a


def labels_by_path():
    with open(os.path.join(data.IMAGENET, data.SPLIT_RULE["labels"])) as f:
        rows = list(csv.DictReader(f))
    key = [k for k in rows[0].keys() if "index" in k.lower()][0]
    fkey = [k for k in rows[0].keys() if "file" in k.lower() or "path" in k.lower() or "image" in k.lower()][0]
    out = {}
    for r in rows:
        for p in (os.path.join(data.IMAGENET, r[fkey]), os.path.join(data.IMAGENET, "images", r[fkey])):
            out[p] = int(r[key])
    return out


@torch.no_grad()
def run(views, head, teacher, split_range, bs=16):
    """uint8 split tensors [N,C,H,W] (the int8 grid) and float16 teacher logits [N,1000] (teacher None: no logits;
    training takes its target from the tail on the stored split tensor instead, which saves most of the time)."""
    feats, logits = [], []
    for s in range(0, len(views), bs):
        x = torch.from_numpy(np.stack(views[s:s + bs]).transpose(0, 3, 1, 2).copy()).float() / 255
        xn = normalise(x)
        f = head(xn)
        q = torch.clamp(torch.round(f / split_range.scale) + split_range.zero_point, 0, 255).to(torch.uint8)
        feats.append(q.numpy())
        if teacher is not None:
            logits.append(teacher(xn).numpy().astype(np.float16))
    return np.concatenate(feats), np.concatenate(logits) if logits else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--split", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    teacher = load_teacher()
    fq = load_teacher(fake_quant=True)
    # The device's head: blocks 0..split on the int8 grid (fake_quant reproduces onnxruntime's integers
    # but for rounding ties, docs/split-computing.md); its last op's QuantRange is the split tensor's.
    head = torch.nn.Sequential(fq.inp, *list(fq.net.features[:a.split + 1]))
    last = [m for m in head.modules() if m.__class__.__name__ == "QuantRange"][-1]
    print(f"split {a.split}: scale {last.scale:.6g} zero point {last.zero_point}", flush=True)
    np.save(os.path.join(a.out, "split_quant.npy"), np.array([last.scale, last.zero_point], np.float64))

    test = data.split("test")
    train = data.split("train") + sorted(glob.glob(os.path.join(data.SHARED, "datasets", "photos-train", "**", "*.jpg"), recursive=True)
                                         + glob.glob(os.path.join(data.SHARED, "datasets", "photos-train", "**", "*.png"), recursive=True))
    if a.limit:
        train, test = train[:a.limit], test[:max(8, a.limit // 10)]
    lab = labels_by_path()
    if os.path.exists(os.path.join(a.out, "test_labels.npy")):
        test = []
    tv = [classifier_view(p) for p in test]
    if test:
        f, l = run(tv, head, teacher, last)
        np.save(os.path.join(a.out, "test_feats.npy"), f)
        np.save(os.path.join(a.out, "test_logits.npy"), l)
        np.save(os.path.join(a.out, "test_labels.npy"), np.array([lab[p] for p in test], np.int64))
    print(f"test: {len(test)} views", flush=True)
    rng = random.Random(1)
    # Saved in chunks of 64 photos (train_feats_NNNN.npy), so training can start on the first ones.
    for s in range(0, len(train), 64):
        out = os.path.join(a.out, f"train_feats_{s // 64:04d}.npy")
        views = []
        for p in train[s:s + 64]:
            views += [classifier_view(p), random_view(p, rng)]
        if os.path.exists(out):
            continue
        f, _ = run(views, head, None, last)
        np.save(out + ".tmp.npy", f)
        os.replace(out + ".tmp.npy", out)
        print(f"train: {s + len(train[s:s + 64])}/{len(train)} photos", flush=True)

if __name__ == "__main__":
    main()
