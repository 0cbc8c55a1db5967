#!/usr/bin/python3
"""Independent MS-SSIM / PSNR reference (NumPy, float64) for tests/eval.

Written from the published definition (Wang et al. 2003, with the conventions pytorch-msssim and
CompressAI use), not from host/eval/metrics.ts: one 2-D 11x11 Gaussian window applied with
sliding_window_view (no separable passes), explicit zero-padded 2x2 average pooling.
Usage: msssim_reference.py DIR  (DIR from write-pairs.ts) -> JSON on stdout.
"""
import json, os, sys
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def window():
    t = np.arange(11) - 5
    g = np.exp(-(t ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()
    return np.outer(g, g)


def filt(img, w):
    return np.einsum("ijkl,kl->ij", sliding_window_view(img, w.shape), w)


def ssim_cs(x, y, w):
    mx, my = filt(x, w), filt(y, w)
    vx = filt(x * x, w) - mx * mx
    vy = filt(y * y, w) - my * my
    cxy = filt(x * y, w) - mx * my
    cs = (2 * cxy + C2) / (vx + vy + C2)
    l = (2 * mx * my + C1) / (mx * mx + my * my + C1)
    return float((l * cs).mean()), float(cs.mean())


def pool(img):
    ph, pw = img.shape[0] % 2, img.shape[1] % 2
    p = np.pad(img, ((ph, ph), (pw, pw)))
    h, w = (p.shape[0] // 2) * 2, (p.shape[1] // 2) * 2
    p = p[:h, :w]
    return (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]) / 4


def msssim(a, b):
    w = window()
    vals, terms = [], []
    for ch in range(3):
        x, y = a[:, :, ch].astype(np.float64), b[:, :, ch].astype(np.float64)
        cs_list, ss_list = [], []
        for s in range(5):
            ss, cs = ssim_cs(x, y, w)
            cs_list.append(cs)
            ss_list.append(ss)
            if s < 4:
                x, y = pool(x), pool(y)
        terms.append({"cs": cs_list, "ssim": ss_list})
        f = np.array([max(c, 0) for c in cs_list[:4]] + [max(ss_list[4], 0)])
        vals.append(float(np.prod(f ** WEIGHTS)))
    return float(np.mean(vals)), terms


def main(d):
    out = []
    for p in json.load(open(os.path.join(d, "index.json"))):
        shape = (p["height"], p["width"], 3)
        a = np.fromfile(os.path.join(d, p["a"]), dtype=np.uint8).reshape(shape)
        b = np.fromfile(os.path.join(d, p["b"]), dtype=np.uint8).reshape(shape)
        m, terms = msssim(a, b)
        mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
        out.append({"name": p["name"], "width": p["width"], "height": p["height"], "msssim": m,
                    "psnr": float(10 * np.log10(255 ** 2 / mse)), "terms": terms})
    json.dump({"generator": "tests/eval/reference/msssim_reference.py (NumPy %s, float64)" % np.__version__,
               "pairs": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
