"""Trained feature compressor (feature_compress.py checkpoint) -> JSON the host attaches to the split head
(`tidepool import --onnx FILE --split N --compressor THIS.json`, host/model/import/feature-compressor.ts).

The compressor conv is written in the device's integers (docs/model-format.md §Version 2): int8 weights
[out][ky][kx][in] with per-channel scale s_w = max|w| / 127 (quant.fake_quant_weights, as trained), int32
bias = round(b / (s_x * s_w)), and the float32 requantization scale s_x * s_w (one symbol step = 1.0),
which the host turns into (multiplier, shift) with the importer's own quantizeScale. The expander stays
float32 (server side), PyTorch layout.

usage: /usr/bin/python3 training/export_feature_compressor.py CHECKPOINT.pt OUT.json
"""
import json
import sys

import numpy as np
import torch


def main():
    ck = torch.load(sys.argv[1], map_location="cpu")
    w = ck["compressor"]["conv.weight"].numpy().astype(np.float64)
    b = ck["compressor"]["conv.bias"].numpy().astype(np.float64)
    s_x = np.float32(ck["split_quant"][0])
    s_w = (np.abs(w).reshape(w.shape[0], -1).max(1).clip(min=1e-8) / 127.0).astype(np.float32)
    q = np.clip(np.round(w / s_w[:, None, None, None]), -127, 127).astype(np.int64)
    scale = (np.float32(s_x) * s_w).astype(np.float32)
    bias = np.round(b / scale.astype(np.float64)).astype(np.int64)
    e = ck["expander"]
    out = {
        "format": "tidepool-feature-compressor",
        "version": 1,
        "split": ck["split"],
        "levels": ck["levels"],
        "offset": ck["offset"],
        "ratio": ck["ratio"],
        "channels": ck["channels"],
        "splitScale": float(s_x),
        "splitZeroPoint": int(ck["split_quant"][1]),
        "trainingSteps": ck["step"],
        "compressor": {
            # [out][ky][kx][in], the device's dense layout
            "weights": q.transpose(0, 2, 3, 1).reshape(-1).tolist(),
            "bias": bias.tolist(),
            "scale": [float(v) for v in scale],
        },
        "expander": {
            "width": ck["width"],
            **{f"conv{i}": {"weight": e[f"c{i}.weight"].numpy().reshape(-1).tolist(), "bias": e[f"c{i}.bias"].numpy().tolist()} for i in (1, 2, 3)},
        },
    }
    with open(sys.argv[2] + ".tmp", "w") as f:
        json.dump(out, f)
    import os
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    print(f"{sys.argv[2]}: split {ck['split']}, {ck['channels']} channels, ratio {ck['ratio']}, step {ck['step']}")


if __name__ == "__main__":
    main()
