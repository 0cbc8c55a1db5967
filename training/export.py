"""Export a trained checkpoint: models/default.tpm (docs/model-format.md), models/decoder.onnx,
models/latent-stats.json (per-channel symbol counts on the training split) and golden vectors
(input frame -> latent symbols from an integer simulation of the device).

The config's "export" object chooses where: {"dir": "models"} by default. With {"encoder": false,
"decoder": "decoder-task.onnx"} (the task-aware stage, trained with the encoder frozen) only the decoder
is written, after checking that the run's encoder still produces DIR/golden/latents.json bit for bit,
so the new decoder pairs with DIR/default.tpm."""
import argparse
import base64
import json
import os
import struct
import zlib
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from data import split
from model import LEVELS, OFFSET, build
from quant import INPUT_SCALE, INPUT_ZERO_POINT, input_to_int, quantize_scale, requantize, to_luma

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = "codec-weights.pt"


def integer_layers(enc):
    """Weights, biases and (multiplier, shift) exactly as the device uses them."""
    acts = [float(s) for s in enc.act_scales()]
    step = enc.step().detach().double()
    layers, in_scale, last = [], INPUT_SCALE, len(enc.convs) - 1
    for i, conv in enumerate(enc.convs):
        w = conv.weight.detach().double()
        sw = w.abs().amax(dim=(1, 2, 3)).clamp(min=1e-12) / 127.0
        wq = torch.clamp(torch.round(w / sw[:, None, None, None]), -127, 127).to(torch.int64)
        bq = torch.round(conv.bias.detach().double() / (sw * in_scale)).to(torch.int64)
        act = "latent" if i == last else "relu"
        out_scale = step if act == "latent" else torch.full_like(sw, acts[i])
        ms = [quantize_scale(float(sw[c] * in_scale / out_scale[c])) for c in range(w.shape[0])]
        layers.append({"w": wq, "b": bq, "mult": torch.tensor([m for m, _ in ms]), "shift": torch.tensor([s for _, s in ms]),
                       "stride": conv.stride[0], "pad": conv.padding[0], "act": act, "out_scale": float(out_scale.mean())})
        in_scale = acts[i] if act == "relu" else None
    return layers, acts, step


def integer_encode(layers, pixels_u8: torch.Tensor) -> torch.Tensor:
    """Device-exact latent symbols for uint8 NCHW RGB pixels (a 1-channel model takes their luma, as the device does)."""
    if layers[0]["w"].shape[1] == 1 and pixels_u8.shape[1] == 3:
        pixels_u8 = to_luma(pixels_u8)
    x = input_to_int(pixels_u8)
    for L in layers:
        acc = F.conv2d(x.double(), L["w"].double(), stride=L["stride"], padding=L["pad"]).round().to(torch.int64) + L["b"][None, :, None, None]
        acc = ((acc + 2 ** 31) % 2 ** 32) - 2 ** 31  # int32 wrap, as the device
        v = requantize(acc, L["mult"][None, :, None, None], L["shift"][None, :, None, None])
        x = torch.clamp(v, 0, 255) if L["act"] == "relu" else torch.clamp(v + OFFSET, 0, LEVELS - 1)
    return x


def section(tag, body):
    return tag.encode() + struct.pack("<I", len(body)) + body


def write_tpm(path, layers, step, meta):
    cin = layers[0]["w"].shape[1]
    secs = [section("INPT", struct.pack("<B", cin) + b"".join(struct.pack("<Bf", INPUT_ZERO_POINT, INPUT_SCALE) for _ in range(cin)))]
    for L in layers:
        cout, cin, k, _ = L["w"].shape
        body = struct.pack("<BBBBHHf", k, L["stride"], L["pad"], {"linear": 0, "relu": 1, "latent": 2}[L["act"]], cin, cout, L["out_scale"])
        body += L["w"].permute(0, 2, 3, 1).contiguous().numpy().astype(np.int8).tobytes()
        body += L["b"].numpy().astype("<i4").tobytes() + L["mult"].numpy().astype("<i4").tobytes() + L["shift"].numpy().astype(np.uint8).tobytes()
        secs.append(section("CONV", body))
    channels = len(step)
    q = struct.pack("<HB", channels, 4) + b"".join(struct.pack("<iHf", OFFSET, LEVELS, float(step[c])) for c in range(channels))
    secs.append(section("QLAT", q))
    secs.append(section("META", json.dumps(meta).encode()))
    data = b"TPMD" + struct.pack("<HH", 1, len(secs)) + b"".join(secs)
    data += struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)
    tmp = path + ".tmp"
    open(tmp, "wb").write(data)
    os.replace(tmp, path)


def center_crop(path, size):
    im = Image.open(path).convert("RGB")
    s = size / min(im.size)
    im = im.resize((max(size, round(im.size[0] * s)), max(size, round(im.size[1] * s))), Image.LANCZOS)
    l, t = (im.size[0] - size) // 2, (im.size[1] - size) // 2
    return np.asarray(im.crop((l, t, l + size, t + size)), dtype=np.uint8)


def write_json(path, obj):
    """Temporary file, then rename: a crash never leaves half a JSON file in place of a good one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def symbol_counts(layers, paths, channels, size=224, batch=32):
    """Per-channel histograms of the device-exact latent symbols of `paths` as size x size centre crops."""
    counts = np.zeros((channels, LEVELS), dtype=np.int64)
    for i in range(0, len(paths), batch):
        px = torch.from_numpy(np.stack([center_crop(p, size) for p in paths[i:i + batch]]).transpose(0, 3, 1, 2).copy())
        sym = integer_encode(layers, px)
        for c in range(channels):
            counts[c] += np.bincount(sym[:, c].reshape(-1).numpy(), minlength=LEVELS)
    return counts


def golden_vectors(layers, channels):
    """Test-split images at an odd size, RGB888 rows -> latent symbols (channel-major)."""
    out = []
    for p in split("test")[:4]:
        im = np.asarray(Image.open(p).convert("RGB").resize((77, 53), Image.LANCZOS), dtype=np.uint8)
        sym = integer_encode(layers, torch.from_numpy(im.transpose(2, 0, 1)[None].copy()))[0]
        grey = {"gray8": base64.b64encode(to_luma(torch.from_numpy(im.transpose(2, 0, 1)[None].copy()))[0, 0].numpy().tobytes()).decode()} \
            if layers[0]["w"].shape[1] == 1 else {}
        out.append({"image": os.path.basename(p), "width": 77, "height": 53, "rgb888": base64.b64encode(im.tobytes()).decode(), **grey,
                    "latent": {"channels": channels, "height": sym.shape[1], "width": sym.shape[2],
                               "symbols": base64.b64encode(sym.numpy().astype(np.uint8).tobytes()).decode()}})
    return out


def export_decoder(dec, channels, path):
    lat, mask = torch.zeros(1, channels, 28, 28), torch.ones(1, channels, 28, 28)
    tmp = path + ".tmp"
    torch.onnx.export(dec, (lat, mask), tmp, input_names=["latent", "mask"], output_names=["image"], opset_version=13,
                      dynamic_axes={"latent": {0: "n", 2: "h", 3: "w"}, "mask": {0: "n", 2: "h", 3: "w"}, "image": {0: "n", 2: "H", 3: "W"}})
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "shipped"))
    args = ap.parse_args()
    st = torch.load(os.path.join(args.run, "checkpoint.pt"))
    cfg = st["config"]
    # File names: a second model beside the shipped one (the grey model) names its own; "decoder": null
    # when the run kept the shipped decoder frozen (the latents it makes are decoded by decoder.onnx).
    spec = {"dir": "models", "encoder": True, "decoder": "decoder.onnx", "model": "default.tpm", "golden": "golden/latents.json",
            "stats": "latent-stats.json", "weights": WEIGHTS, "name": "tidepool-limitnet-4bit", **cfg.get("export", {})}
    out_dir = os.path.join(HERE, "..", spec["dir"])
    # A run that trained the encoder for a task is a second model: it must never replace the picture codec's files.
    if cfg.get("task") and not cfg.get("freeze_encoder") and spec["encoder"]:
        taken = {"default.tpm", "default-grey.tpm", "decoder.onnx", "decoder-task.onnx", "golden/latents.json", "golden/latents-grey.json",
                 "latent-stats.json", "latent-stats-grey.json", WEIGHTS, "codec-weights-grey.pt"}
        clash = sorted({spec[k] for k in ("model", "decoder", "golden", "stats", "weights") if spec[k]} & taken)
        if clash:
            raise SystemExit(f"export.py: a task-trained encoder would overwrite the picture codec's {', '.join(clash)} in {spec['dir']}: "
                             f"name its own files in the config's \"export\" (training/configs/task-encoder.json)")
    enc, dec, _ = build(cfg)
    enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"])
    enc.eval(); dec.eval()
    layers, acts, step = integer_layers(enc)
    C = enc.channels
    os.makedirs(os.path.join(out_dir, "golden"), exist_ok=True)

    if not spec["encoder"]:
        ref = os.path.join(out_dir, "golden", "latents.json")
        if not os.path.exists(ref):
            raise SystemExit(f"export.py: {ref} not found: export the encoder this decoder pairs with first")
        shipped = json.load(open(ref))["vectors"]
        mine = golden_vectors(layers, C)
        if [v["latent"] for v in mine] != [v["latent"] for v in shipped]:
            raise SystemExit(f"export.py: this run's encoder does not reproduce {ref}: its decoder would not pair with "
                             f"{spec['dir']}/default.tpm (train it from that model's weights with freeze_encoder)")
        export_decoder(dec, C, os.path.join(out_dir, spec["decoder"]))
        print(f"exported step {st['step']}: {spec['decoder']} in {spec['dir']} (decoder only; encoder = {spec['dir']}/default.tpm, golden latents match)")
        return

    meta = {"name": spec["name"], "steps": st["step"], "config": cfg, "trained_on": "imagenet-sample train split (label_index % 5 != 0)"}
    if cfg.get("init_from"):
        meta["init_from"] = cfg["init_from"]
    write_tpm(os.path.join(out_dir, spec["model"]), layers, step, meta)

    # Per-channel symbol counts on the training split (224x224 centre crops): the static entropy statistics.
    train = split("train")[:spec.get("images")]
    counts = symbol_counts(layers, train, C)
    # The ChannelTables shape host/wire/bitstream/ideal-rate.ts reads.
    write_json(os.path.join(out_dir, spec["stats"]),
               {"levels": [LEVELS] * C, "counts": counts.tolist(), "latents": len(train), "source": "imagenet-sample train split, 224x224 centre crops"})
    write_json(os.path.join(out_dir, spec["golden"]), {"model": f"{spec['dir']}/{spec['model']}", "vectors": golden_vectors(layers, C)})
    if spec["decoder"]:
        export_decoder(dec, C, os.path.join(out_dir, spec["decoder"]))
    # Float weights (no optimiser state): what a fresh clone's task-aware stage starts from.
    tmp = os.path.join(out_dir, spec["weights"] + ".tmp")
    torch.save({k: st[k] for k in ("enc", "dec", "prior", "step", "config")}, tmp)
    os.replace(tmp, os.path.join(out_dir, spec["weights"]))
    print(f"exported step {st['step']} to {spec['dir']}/: {spec['model']}, {spec['decoder'] or '(decoder.onnx unchanged)'}, {spec['weights']}, {spec['stats']}, {spec['golden']} "
          f"(activation scales {[round(a, 5) for a in acts]}, steps {[round(float(s), 4) for s in step]})")


if __name__ == "__main__":
    main()
