#!/usr/bin/python3
"""benchmarks/quality/digit_bias.py — where a stacked-MNIST generator's digit-frequency KL comes from.

Ganglion's MNIST classifier (the file `ganglion eval` uses) is re-run here in PyTorch (Debian's python3-torch) on
  * the held-out test digits, plain and degraded (dilated, eroded, blurred, noisy): does a degradation alone move
    the predicted digit shares? (checks that the port reproduces the file's recorded accuracy first), and
  * optionally a folder of generated PNGs (`ganglion sample RUN --count N -o DIR`, 1 or 3 channels; each channel
    is one digit): hard shares (argmax) against soft shares (mean probability), confidence per predicted digit,
    ink (mean intensity) per predicted digit against the test digits', and the commonest (top-1, top-2) pairs of
    the low-confidence samples.

  /usr/bin/python3 benchmarks/quality/digit_bias.py --classifier FILE --mnist DIR [--samples DIR --limit N]

Findings on the 64-wide DCGAN are in benchmarks/quality/notes.md. Needs numpy and torch (python3-torch).
"""
import argparse
import collections
import gzip
import json
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, v in header.items():
        if v["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {v['dtype']}, expected F32")
        a, b = v["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[8 + n + a:8 + n + b], np.float32).reshape(v["shape"]).copy())
    return tensors, meta


class Classifier:
    """conv3x3(1,32)-relu-conv4x4s2(32,32)-relu-conv3x3(32,64)-relu-conv4x4s2(64,64)-relu-flatten-
    linear(3136,128)-relu-linear(128,10), inputs [N,1,28,28] in [-1,1] (gan/classifier.h)."""

    def __init__(self, path):
        self.w, self.meta = read_safetensors(path)
        arch = self.meta.get("architecture", "")
        if not arch.startswith("conv3x3(1,32)"):
            raise SystemExit(f"{path}: unknown classifier architecture '{arch}'")

    def logits(self, x):
        w = self.w
        x = F.relu(F.conv2d(x, w["body.0.weight"], w["body.0.bias"], 1, 1))
        x = F.relu(F.conv2d(x, w["body.2.weight"], w["body.2.bias"], 2, 1))
        x = F.relu(F.conv2d(x, w["body.4.weight"], w["body.4.bias"], 1, 1))
        x = F.relu(F.conv2d(x, w["body.6.weight"], w["body.6.bias"], 2, 1))
        x = F.relu(F.linear(x.flatten(1), w["body.9.weight"], w["body.9.bias"]))
        return F.linear(x, w["head.weight"], w["head.bias"])

    def probs(self, x):
        with torch.no_grad():
            return torch.cat([F.softmax(self.logits(x[i:i + 1000]), 1) for i in range(0, len(x), 1000)])


def read_idx(path):
    with gzip.open(path) as f:
        d = f.read()
    n = struct.unpack(">I", d[4:8])[0]
    if d[3] == 3:
        return np.frombuffer(d[16:], np.uint8).reshape(n, 28, 28)
    return np.frombuffer(d[8:], np.uint8)


def read_png(path):
    """8-bit grey / RGB / grey+alpha / RGBA PNG without interlacing, as an [H, W, C] uint8 array."""
    with open(path, "rb") as f:
        d = f.read()
    pos, idat, w, h, ct = 8, b"", 0, 0, 0
    while pos < len(d):
        n = struct.unpack(">I", d[pos:pos + 4])[0]
        kind, chunk = d[pos + 4:pos + 8], d[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ct, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or interlace != 0:
                raise SystemExit(f"{path}: only 8-bit non-interlaced PNGs are read")
        elif kind == b"IDAT":
            idat += chunk
    ch = {0: 1, 4: 2, 2: 3, 6: 4}[ct]
    raw, stride = zlib.decompress(idat), w * ch
    out, prev = np.zeros((h, stride), np.int32), np.zeros(stride, np.int32)
    for y in range(h):
        filt = raw[y * (stride + 1)]
        line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if filt == 0:
                v = line[i]
            elif filt == 1:
                v = line[i] + a
            elif filt == 2:
                v = line[i] + b
            elif filt == 3:
                v = line[i] + (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                v = line[i] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))
            cur[i] = v & 255
        out[y], prev = cur, cur
    return out.reshape(h, w, ch).astype(np.uint8)


def shares(labels):
    return np.bincount(labels, minlength=10) / len(labels) * 100


def kl_uniform(pct):
    p = pct / 100
    return float(np.sum(np.where(p > 0, p * np.log(np.maximum(p, 1e-30) / 0.1), 0)))


def row(values, fmt="{:5.1f}"):
    return " ".join(fmt.format(v) for v in values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--classifier", required=True, help="the Ganglion MNIST classifier (.safetensors)")
    ap.add_argument("--mnist", required=True, help="folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
    ap.add_argument("--samples", help="folder of generated PNGs (ganglion sample --count N -o DIR)")
    ap.add_argument("--limit", type=int, default=1500, help="at most this many PNGs (default 1500)")
    a = ap.parse_args()
    needed = [a.classifier] + [os.path.join(a.mnist, f) for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]
    for path in needed + ([a.samples] if a.samples else []):
        if not os.path.exists(path):
            raise SystemExit(f"digit_bias.py: '{path}' does not exist")
    torch.set_num_threads(1)
    clf = Classifier(a.classifier)
    x = torch.tensor(read_idx(os.path.join(a.mnist, "t10k-images-idx3-ubyte.gz")), dtype=torch.float32)[:, None]
    x = x / 255 * 2 - 1
    y = read_idx(os.path.join(a.mnist, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    print(f"classifier {a.classifier}: recorded held-out accuracy {clf.meta.get('test_accuracy', '?')}")
    print(f"true digit shares %:            {row(shares(y))}")
    u = (x + 1) / 2
    variants = [("test digits", u), ("dilated 3x3", F.max_pool2d(u, 3, 1, 1)), ("eroded 3x3", -F.max_pool2d(-u, 3, 1, 1)),
                ("blurred 3x3", F.avg_pool2d(u, 3, 1, 1, count_include_pad=False)), ("contrast x0.8", 0.8 * u),
                ("noise sd 0.3", ((x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1) + 1) / 2)]
    print(f"{'input':16s} {'accuracy':>8s} {'KL(s||U)':>9s}  predicted digit shares % s (0..9)")
    real_probs = None
    for name, v in variants:
        p = clf.probs(v * 2 - 1)
        if real_probs is None:
            real_probs = p
        lab = p.argmax(1).numpy()
        print(f"{name:16s} {(lab == y).mean():8.3f} {kl_uniform(shares(lab)):9.4f}  {row(shares(lab))}")
    if not a.samples:
        return
    files = sorted(f for f in os.listdir(a.samples) if f.endswith(".png"))[:a.limit]
    if not files:
        raise SystemExit(f"{a.samples}: no PNG files")
    imgs = np.stack([read_png(os.path.join(a.samples, f)) for f in files])
    g = torch.tensor(imgs, dtype=torch.float32).permute(0, 3, 1, 2).reshape(-1, 1, 28, 28) / 255 * 2 - 1
    p = clf.probs(g)
    conf, lab = p.max(1)
    conf, lab = conf.numpy(), lab.numpy()
    rconf, rlab = real_probs.max(1)
    rconf, rlab = rconf.numpy(), rlab.numpy()
    gu, ru = (g + 1) / 2, u
    print(f"\n{len(files)} generated images, {len(lab)} digits (each channel one digit)")
    print(f"hard shares % (argmax):         {row(shares(lab))}   KL(s||U) {kl_uniform(shares(lab)):.4f} (channels pooled)")
    print(f"soft shares % (mean prob):      {row(p.mean(0).numpy() * 100)}")
    print(f"mean confidence, generated:     {row([conf[lab == k].mean() for k in range(10)], '{:5.3f}')}")
    print(f"mean confidence, test digits:   {row([rconf[rlab == k].mean() for k in range(10)], '{:5.3f}')}")
    print(f"confidence < 0.9: generated {(conf < 0.9).mean():.3f}, test digits {(rconf < 0.9).mean():.3f}")
    print(f"ink per digit, generated:       {row([gu[lab == k].mean().item() for k in range(10)], '{:5.3f}')}")
    print(f"ink per digit, test digits:     {row([ru[rlab == k].mean().item() for k in range(10)], '{:5.3f}')}")
    top2 = p.topk(2, 1).indices.numpy()[conf < 0.9]
    pairs = collections.Counter(map(tuple, top2)).most_common(10)
    print("low-confidence (top-1, top-2) pairs: " + ", ".join(f"{a_}/{b_} {n}" for (a_, b_), n in pairs))


if __name__ == "__main__":
    main()
