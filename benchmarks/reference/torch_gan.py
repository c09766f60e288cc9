#!/usr/bin/env python3
"""benchmarks/reference/torch_gan.py — the PyTorch twin of benchmarks/train/bench_train.cpp: the same models,
hyperparameters, training iterations, synthetic data, FP32 precision, flags and output lines, so that
benchmarks/train/compare.sh can put the two side by side. Works with Debian's torch 1.13 (CPU) and PyTorch 2.x
(CUDA); --compile wraps the models in torch.compile where it exists.

Recipes (see bench_train.cpp's header comment for the full statement; keep the two in step):
  dcgan28  28x28x1, batch 64,  nz 100, ngf=ndf=64, BatchNorm in D; Adam(2e-4, (0.5, 0.999)); one D step.
  dcgan64  64x64x3, batch 128, the pytorch/examples DCGAN with logits + BCEWithLogits.
  wgangp28/wgangp64  the same shapes, critic with LayerNorm([C, H, W]) instead of BatchNorm; n_critic 5,
           gradient penalty lambda 10, G step with the critic frozen; Adam(1e-4, (0.5, 0.9)).
  toy      2-D WGAN-GP: G 2 -> 4 x [Linear 400 (no bias) + BatchNorm1d + ReLU] -> 2; critic
           3 x [Linear -> 200*5 + Maxout(5)] -> Linear 1; batch 256; the WGAN-GP recipe.
FLOPs: the same nominal formula as bench_train (DCGAN 3 F_G + 9 F_D, WGAN-GP 8 F_G + 62 F_D).
With --compile the gradient penalty pass (double backward) runs the eager critic, since torch.compile does not
support double backward; the other critic and generator passes run compiled.
"""
import argparse
import resource
import statistics
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = ("dcgan28", "dcgan64", "wgangp28", "wgangp64", "toy")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="dcgan28", choices=MODELS)
    p.add_argument("--batch", type=int, default=0, help="0: the model's default")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compile", action="store_true", help="torch.compile the models (PyTorch 2 only)")
    p.add_argument("--tf32", default="default", choices=("default", "on", "off"),
                   help="TF32 for cuDNN convs and cuBLAS matmuls; 'default' leaves PyTorch's setting")
    p.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True")
    p.add_argument("--quiet", action="store_true", help="no per-iteration lines")
    return p.parse_args()


# ---- TF32: PyTorch 2.9+ has the fp32_precision API and refuses to mix it with the legacy flags ----
def _new_precision_api():
    conv = getattr(torch.backends.cudnn, "conv", None)
    return conv is not None and hasattr(conv, "fp32_precision")


def set_tf32(mode):
    if mode == "default":
        return
    if _new_precision_api():
        v = "tf32" if mode == "on" else "ieee"
        torch.backends.cuda.matmul.fp32_precision = v
        torch.backends.cudnn.conv.fp32_precision = v
    else:
        torch.backends.cuda.matmul.allow_tf32 = mode == "on"
        torch.backends.cudnn.allow_tf32 = mode == "on"


def tf32_state():
    """The TF32 flags as PyTorch reports them: the fp32_precision API where it exists, and the legacy flags
    (which PyTorch may refuse to read once the new API was set; then that part says so)."""
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if _new_precision_api():
            try:
                parts.append("matmul.fp32_precision=%s cudnn.conv.fp32_precision=%s" % (
                    torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision))
            except Exception as e:  # report, never fail on a reading
                parts.append("fp32_precision unreadable (%s)" % e)
        try:
            parts.append("matmul.allow_tf32=%s cudnn.allow_tf32=%s" % (
                torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32))
        except Exception as e:
            parts.append("legacy allow_tf32 flags unreadable (%s)" % str(e).split("\n")[0])
    return "; ".join(parts)


def blas_header():
    """One line: the build's BLAS_INFO and the BLAS/LAPACK libraries this process has mapped."""
    cfg = torch.__config__.show()
    info = [tok.strip().rstrip(",") for tok in cfg.replace("\n", " ").split(" ")
            if tok.startswith(("BLAS_INFO=", "LAPACK_INFO="))]
    mapped = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if any(k in path for k in ("blas", "lapack", "mkl")):
                    mapped.add(path)
    except OSError:
        pass
    mkldnn = "mkldnn=%s" % torch.backends.mkldnn.is_available()
    return "blas: %s %s; loaded: %s" % (" ".join(info), mkldnn, ", ".join(sorted(mapped)) or "none")


# ---- Models ----
class Maxout(nn.Module):
    def __init__(self, pieces):
        super().__init__()
        self.pieces = pieces

    def forward(self, x):
        return x.view(x.shape[0], -1, self.pieces).max(2)[0]


def image_ladder(size):
    base = 7 if size == 28 else 4
    steps = 0
    while base << steps < size:
        steps += 1
    return base, steps


def image_generator(size, channels, nz, ngf):
    base, steps = image_ladder(size)
    width = ngf << (steps - 1)
    layers = [nn.ConvTranspose2d(nz, width, base, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
    for _ in range(steps - 1):
        layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                   nn.ReLU(True)]
        width //= 2
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def image_discriminator(size, channels, ndf, norm):
    base, steps = image_ladder(size)
    width, spatial = ndf, size // 2
    layers = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for _ in range(steps - 1):
        layers.append(nn.Conv2d(width, width * 2, 4, 2, 1, bias=False))
        width *= 2
        spatial //= 2
        if norm == "batchnorm":
            layers.append(nn.BatchNorm2d(width))
        elif norm == "layernorm":
            layers.append(nn.LayerNorm([width, spatial, spatial]))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    layers += [nn.Conv2d(width, 1, base, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*layers)


def dcgan_init(m):
    """The DCGAN paper's init: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02) and bias 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def toy_models():
    g_layers, d_layers, inp = [], [], 2
    for _ in range(4):
        g_layers += [nn.Linear(inp, 400, bias=False), nn.BatchNorm1d(400), nn.ReLU(True)]
        inp = 400
    g_layers.append(nn.Linear(400, 2))
    inp = 2
    for _ in range(3):
        d_layers += [nn.Linear(inp, 200 * 5), Maxout(5)]
        inp = 200
    d_layers.append(nn.Linear(200, 1))
    return nn.Sequential(*g_layers), nn.Sequential(*d_layers)


class Setup:
    pass


def make_setup(a):
    s = Setup()
    s.wgangp = a.model.startswith("wgangp") or a.model == "toy"
    if a.model == "toy":
        s.G, s.D = toy_models()
        s.data_shape, s.noise_shape, s.batch = (2,), (2,), 256
        s.summary = "2-D MLP G (4x400, BatchNorm1d) and Maxout critic (3x200x5)"
    else:
        small = a.model.endswith("28")
        size, ch = (28, 1) if small else (64, 3)
        norm = "layernorm" if s.wgangp else "batchnorm"
        s.G = image_generator(size, ch, 100, 64)
        s.D = image_discriminator(size, ch, 64, norm)
        s.G.apply(dcgan_init)
        s.D.apply(dcgan_init)
        s.data_shape, s.noise_shape, s.batch = (ch, size, size), (100, 1, 1), 64 if small else 128
        s.summary = "image %dx%dx%d, nz 100, ngf=ndf=64, D norm %s" % (size, size, ch, norm)
    s.n_critic = 5 if s.wgangp else 1
    s.lr, s.betas = (1e-4, (0.5, 0.9)) if s.wgangp else (2e-4, (0.5, 0.999))
    if a.batch > 0:
        s.batch = a.batch
    return s


def forward_macs_per_sample(net, in_shape):
    """Multiply-accumulates of convs, transposed convs and linears in one forward pass, per sample."""
    n, macs = 2, 0.0
    x = torch.zeros((n,) + tuple(in_shape))
    net.eval()
    with torch.no_grad():
        for m in net:
            y = m(x)
            if isinstance(m, nn.Conv2d):
                macs += y.numel() / n * m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.ConvTranspose2d):
                macs += x.numel() / n * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.Linear):
                macs += x.numel() / n * m.out_features
            x = y
    net.train()
    return macs


# ---- Iterations ----
def dcgan_iteration(s, opt_d, opt_g, dev):
    real = torch.rand((s.batch,) + s.data_shape, device=dev) * 2 - 1
    fake = s.Gc(torch.randn((s.batch,) + s.noise_shape, device=dev))
    out_real = s.Dc(real)
    out_fake = s.Dc(fake.detach())
    loss_d = (F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real)) +
              F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake)))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    out = s.Dc(fake)
    loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return loss_d.detach(), loss_g.detach()


def gradient_penalty(D, real, fake, lam):
    n = real.shape[0]
    eps = torch.rand((n,) + (1,) * (real.dim() - 1), device=real.device)
    xhat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    g, = torch.autograd.grad(D(xhat).sum(), xhat, create_graph=True)
    return lam * ((g.reshape(n, -1).norm(2, dim=1) - 1) ** 2).mean()


def wgangp_iteration(s, opt_d, opt_g, dev):
    for _ in range(s.n_critic):
        real = torch.rand((s.batch,) + s.data_shape, device=dev) * 2 - 1
        with torch.no_grad():
            fake = s.Gc(torch.randn((s.batch,) + s.noise_shape, device=dev))
        out_real = s.Dc(real)
        out_fake = s.Dc(fake)
        loss = out_fake.mean() - out_real.mean() + gradient_penalty(s.D, real, fake, 10.0)
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
    for p in s.D.parameters():
        p.requires_grad_(False)
    loss_g = -s.Dc(s.Gc(torch.randn((s.batch,) + s.noise_shape, device=dev))).mean()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    for p in s.D.parameters():
        p.requires_grad_(True)
    return loss.detach(), loss_g.detach()


def main():
    a = parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_gan: error: --device cuda but torch.cuda.is_available() is False")
    set_tf32(a.tf32)
    if a.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    s = make_setup(a)
    macs_g = forward_macs_per_sample(s.G, s.noise_shape)
    macs_d = forward_macs_per_sample(s.D, s.data_shape)
    fg, fd = 2 * macs_g * s.batch, 2 * macs_d * s.batch
    flops = 8 * fg + 62 * fd if s.wgangp else 3 * fg + 9 * fd
    d_steps = s.n_critic
    s.G.to(dev).train()
    s.D.to(dev).train()
    s.Gc, s.Dc = s.G, s.D
    if a.compile:
        if not hasattr(torch, "compile"):
            sys.exit("torch_gan: error: --compile needs PyTorch 2 (this is %s)" % torch.__version__)
        s.Gc, s.Dc = torch.compile(s.G), torch.compile(s.D)
    opt_g = torch.optim.Adam(s.G.parameters(), lr=s.lr, betas=s.betas)
    opt_d = torch.optim.Adam(s.D.parameters(), lr=s.lr, betas=s.betas)

    print("torch_gan: model=%s device=%s batch=%d iters=%d warmup=%d threads=%d seed=%d compile=%s" % (
        a.model, a.device, s.batch, a.iters, a.warmup, torch.get_num_threads(), a.seed, a.compile))
    print("torch: %s" % torch.__version__)
    if a.device == "cpu":
        print(blas_header())
    else:
        print("gpu: %s, FP32, TF32 %s: %s, cudnn.benchmark=%s" % (
            torch.cuda.get_device_name(), a.tf32, tf32_state(), torch.backends.cudnn.benchmark))
    print("models: %s; G %d params, D %d params" % (s.summary, sum(p.numel() for p in s.G.parameters()),
                                                   sum(p.numel() for p in s.D.parameters())))
    print("recipe: %s, Adam(lr %g, betas %g, %g), %d D step(s) per iteration%s" % (
        "WGAN-GP" if s.wgangp else "DCGAN (BCE-with-logits, non-saturating G)", s.lr, s.betas[0], s.betas[1],
        d_steps, ", lambda 10" if s.wgangp else ""))
    print("flops: MACs/sample G %.4g, D %.4g; per iteration %s = %.4g GFLOP" % (
        macs_g, macs_d, "8 F_G + 62 F_D" if s.wgangp else "3 F_G + 9 F_D", flops * 1e-9))
    sys.stdout.flush()

    iteration = wgangp_iteration if s.wgangp else dcgan_iteration
    cuda = a.device == "cuda"
    ms = []
    for i in range(a.warmup + a.iters):
        if cuda:
            torch.cuda.synchronize()
            if i == a.warmup:
                torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        ld, lg = iteration(s, opt_d, opt_g, dev)
        if cuda:
            torch.cuda.synchronize()
        t = (time.perf_counter() - t0) * 1e3
        if i >= a.warmup:
            ms.append(t)
        if not a.quiet:
            print("%s %d: %.3f ms  loss_d %.5f  loss_g %.5f" % (
                "warmup" if i < a.warmup else "iter", i if i < a.warmup else i - a.warmup, t, ld.item(), lg.item()))
            sys.stdout.flush()

    srt = sorted(ms)
    median = statistics.median(srt)
    p90 = srt[min(len(srt) - 1, int(round(0.9 * (len(srt) - 1))))]
    print("time ms/iter: median %.3f  mean %.3f  min %.3f  p90 %.3f  max %.3f  (%d iterations)" % (
        median, statistics.mean(srt), srt[0], p90, srt[-1], len(srt)))
    if cuda:
        print("peak_mem_mb=%.1f (torch.cuda.max_memory_allocated over the timed iterations; reserved %.1f MB)" % (
            torch.cuda.max_memory_allocated() / 1048576.0, torch.cuda.max_memory_reserved() / 1048576.0))
    else:
        print("peak_mem_mb=%.1f (process peak RSS)" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
    print("gflops_per_s=%.2f (%.4g GFLOP per iteration at the median time)" % (flops * 1e-9 / (median * 1e-3),
                                                                             flops * 1e-9))
    print("ms_per_iter=%.3f img_per_s=%.1f" % (median, s.batch * d_steps / (median * 1e-3)))


if __name__ == "__main__":
    main()
