"""ImageNet-sample training split (host/core/dataset-split.json: the one split rule, shared with the host):
never Kodak, never the test split."""
import csv
import json
import os
import random
import numpy as np
import torch
from PIL import Image

SHARED = os.environ.get("TIDEPOOL_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
with open(os.path.join(os.path.dirname(__file__), "..", "host", "core", "dataset-split.json")) as _f:
    SPLIT_RULE = json.load(_f)
IMAGENET = os.path.join(SHARED, "datasets", SPLIT_RULE["dataset"])


def split(name):
    """Paths of the 'train' or 'test' split from labels.csv."""
    with open(os.path.join(IMAGENET, SPLIT_RULE["labels"])) as f:
        rows = list(csv.DictReader(f))
    key = [k for k in rows[0].keys() if "index" in k.lower()][0]
    fkey = [k for k in rows[0].keys() if "file" in k.lower() or "path" in k.lower() or "image" in k.lower()][0]
    want_test = name == "test"
    out = []
    for r in rows:
        if (int(r[key]) % SPLIT_RULE["modulus"] == SPLIT_RULE["testRemainder"]) == want_test:
            p = os.path.join(IMAGENET, r[fkey])
            if not os.path.exists(p):
                p = os.path.join(IMAGENET, "images", r[fkey])
            out.append(p)
    return sorted(out)


def load_images(paths, short_side=256):
    imgs = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        s = short_side / min(im.size)
        if s < 1:
            im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.LANCZOS)
        imgs.append(np.asarray(im, dtype=np.uint8))
    return imgs


class Crops:
    """Random 1-2x downscale, crop, flips; yields uint8 NCHW batches."""

    def __init__(self, images, crop=128, seed=0):
        self.images, self.crop, self.rng = images, crop, random.Random(seed)

    def batch(self, n):
        out = np.empty((n, 3, self.crop, self.crop), dtype=np.uint8)
        for i in range(n):
            im = self.images[self.rng.randrange(len(self.images))]
            h, w, _ = im.shape
            s = self.rng.uniform(1.0, 2.0)
            if min(h, w) / s >= self.crop:
                pil = Image.fromarray(im).resize((max(self.crop, int(w / s)), max(self.crop, int(h / s))), Image.BILINEAR)
                im2 = np.asarray(pil)
            elif min(h, w) < self.crop:
                k = self.crop / min(h, w)
                im2 = np.asarray(Image.fromarray(im).resize((max(self.crop, round(w * k)), max(self.crop, round(h * k))), Image.BILINEAR))
            else:
                im2 = im
            h, w, _ = im2.shape
            y, x = self.rng.randrange(h - self.crop + 1), self.rng.randrange(w - self.crop + 1)
            c = im2[y:y + self.crop, x:x + self.crop]
            if self.rng.random() < 0.5:
                c = c[:, ::-1]
            if self.rng.random() < 0.5:
                c = c[::-1]
            out[i] = c.transpose(2, 0, 1)
        return torch.from_numpy(out)
