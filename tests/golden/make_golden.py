#!/usr/bin/python3
# tests/golden/make_golden.py — writes the PyTorch reference data for Ganglion's golden tests (rung 1 and rung 4
# of the testing ladder) as small safetensors files in tests/golden/data/. Run with Debian's python3-torch (CPU,
# float32): `/usr/bin/python3 tests/golden/make_golden.py`. Deterministic: every case has its own fixed seed.
#
# Files:
#   op_<case>.safetensors   one op case: its inputs, "gy" (a random upstream gradient), "out" and "grad_<input>"
#                           for every differentiable input; metadata "op" plus the op's parameters as strings.
#                           Optimiser cases hold the state before and "<name>_after".
#   penalty_wgangp / penalty_r1.safetensors   a small critic's gradient penalty and its parameter gradients.
#   dcgan_3step.safetensors three DCGAN training steps (28x28, batch 8, nz 16) from fixed initial weights.
import json
import os
import struct
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "data")
written = []


# ---- The safetensors format, by hand ----
def save_safetensors(name, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu()
        if t.dtype == torch.float32:
            dtype, raw = "F32", t.numpy().astype("<f4").tobytes()
        elif t.dtype in (torch.int32, torch.int64):
            dtype, raw = "I32", t.to(torch.int32).numpy().astype("<i4").tobytes()
        else:
            raise ValueError(f"{name}: tensor {key} has dtype {t.dtype}")
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    path = os.path.join(OUT_DIR, name)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    size = os.path.getsize(path)
    written.append((name, size))
    summary = ", ".join(f"{k}{list(tensors[k].shape)}" for k in sorted(tensors))
    print(f"{name:40s} {size:8d} B  {summary[:150]}{'...' if len(summary) > 150 else ''}")


# ---- Random inputs ----
def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode()) & 0x7FFFFFFF)


def randn(*shape):
    return torch.randn(shape, dtype=torch.float32)


def uniform(lo, hi, *shape):
    return torch.rand(shape, dtype=torch.float32) * (hi - lo) + lo


def away(x, points, margin=0.05):
    """Moves values within `margin` of a kink to 2*margin from it, so central differences stay valid."""
    x = x.clone()
    for p in points:
        near = (x - p).abs() < margin
        side = torch.where(x >= p, torch.ones_like(x), -torch.ones_like(x))
        x = torch.where(near, p + 2 * margin * side, x)
    return x


def nonzero_sign(*shape, lo=0.5, hi=2.0):
    """Values with |v| in [lo, hi] and a random sign (denominators)."""
    mag = uniform(lo, hi, *shape)
    return torch.where(torch.rand(shape) < 0.5, -mag, mag)


# ---- One op case: inputs -> out, and the gradients for a random gy ----
def op_case(case, op, fn, inputs, diff, meta=None, extra=None, post=None):
    """fn(**inputs) -> out. `diff` names the inputs to differentiate; `extra` holds more tensors to store and
    post() (called after fn) returns tensors that fn changed in place. Writes op_<case>.safetensors."""
    ins = {k: v.clone().requires_grad_(k in diff) for k, v in inputs.items()}
    out = fn(**ins)
    gy = randn(*out.shape)
    tensors = {k: v.detach() for k, v in inputs.items()}
    tensors["out"] = out.detach()
    if diff:
        tensors["gy"] = gy
        grads = torch.autograd.grad(out, [ins[k] for k in diff], gy)
        for k, g in zip(diff, grads):
            tensors["grad_" + k] = g
    if extra:
        tensors.update(extra)
    if post:
        tensors.update(post())
    m = {"op": op}
    m.update(meta or {})
    save_safetensors(f"op_{case}.safetensors", tensors, m)


def ints(xs):
    return ",".join(str(v) for v in xs)


def binary_cases():
    fns = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    layouts = {  # name: (shape of a, shape of b)
        "same": ((2, 3, 4), (2, 3, 4)),
        "scalar": ((2, 3, 4), ()),
        "channel": ((2, 3, 4, 5), (1, 3, 1, 1)),
        "sample": ((2, 3, 4, 5), (2, 1, 1, 1)),
        "general": ((3, 1, 5), (4, 1)),
        "left": ((1, 3), (2, 4, 3)),  # a is the broadcast one
    }
    for op, fn in fns.items():
        for lay, (sa, sb) in layouts.items():
            case = f"{op}_{lay}"
            seed_for(case)
            a = randn(*sa)
            b = nonzero_sign(*sb) if op == "div" else randn(*sb)
            op_case(case, op, lambda a, b, fn=fn: fn(a, b), {"a": a, "b": b}, ["a", "b"])
    seed_for("add_scalar_op")
    op_case("add_scalar_op", "add_scalar", lambda x: x + 1.5, {"x": randn(3, 4)}, ["x"], {"s": "1.5"})
    seed_for("mul_scalar_op")
    op_case("mul_scalar_op", "mul_scalar", lambda x: x * -0.7, {"x": randn(3, 4)}, ["x"], {"s": "-0.7"})


def unary_cases():
    shape = (3, 4, 5)
    cases = [  # case, op, fn, input maker, meta
        ("neg", "neg", torch.neg, lambda: randn(*shape), {}),
        ("exp", "exp", torch.exp, lambda: randn(*shape), {}),
        ("log", "log", torch.log, lambda: uniform(0.2, 3.0, *shape), {}),
        ("sqrt", "sqrt", torch.sqrt, lambda: uniform(0.2, 3.0, *shape), {}),
        ("square", "square", torch.square, lambda: randn(*shape), {}),
        ("pow_2_5", "pow", lambda x: torch.pow(x, 2.5), lambda: uniform(0.2, 3.0, *shape), {"p": "2.5"}),
        ("pow_3", "pow", lambda x: torch.pow(x, 3.0), lambda: randn(*shape), {"p": "3"}),
        ("abs", "abs", torch.abs, lambda: away(randn(*shape), [0.0]), {}),
        ("clamp", "clamp", lambda x: torch.clamp(x, -0.5, 0.7), lambda: away(uniform(-1.5, 1.5, *shape), [-0.5, 0.7]),
         {"lo": "-0.5", "hi": "0.7"}),
        ("relu", "relu", torch.relu, lambda: away(randn(*shape), [0.0]), {}),
        ("leaky_relu", "leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda: away(randn(*shape), [0.0]),
         {"slope": "0.2"}),
        ("leaky_relu_001", "leaky_relu", lambda x: F.leaky_relu(x, 0.01), lambda: away(randn(*shape), [0.0]),
         {"slope": "0.01"}),
        ("tanh", "tanh", torch.tanh, lambda: randn(*shape) * 1.5, {}),
        ("sigmoid", "sigmoid", torch.sigmoid, lambda: randn(*shape) * 2, {}),
        ("softplus", "softplus", F.softplus, lambda: randn(*shape) * 3, {}),
        ("log_sigmoid", "log_sigmoid", F.logsigmoid, lambda: randn(*shape) * 3, {}),
    ]
    for case, op, fn, make, meta in cases:
        seed_for(case)
        op_case(case, op, lambda x, fn=fn: fn(x), {"x": make()}, ["x"], meta)


def reduction_cases():
    shape = (2, 3, 4, 5)
    for op, fn in (("sum", torch.sum), ("mean", torch.mean)):
        seed_for(op + "_all")
        op_case(op + "_all", op, lambda x, fn=fn: fn(x), {"x": randn(*shape)}, ["x"], {"dims": "all"})
        for dims, keep in (((1,), False), ((0, 2), True), ((-1,), False), ((1, 3), False), ((0, 1, 2, 3), True)):
            case = f"{op}_d{'_'.join(str(d).replace('-', 'm') for d in dims)}_k{int(keep)}"
            seed_for(case)
            op_case(case, op, lambda x, fn=fn, dims=dims, keep=keep: fn(x, dim=dims, keepdim=keep),
                    {"x": randn(*shape)}, ["x"], {"dims": ints(dims), "keepdim": str(int(keep))})
    for dim, keep in ((1, False), (-1, True), (0, False)):
        case = f"max_d{str(dim).replace('-', 'm')}_k{int(keep)}"
        seed_for(case)
        op_case(case, "max", lambda x, dim=dim, keep=keep: torch.max(x, dim=dim, keepdim=keep).values,
                {"x": randn(*shape)}, ["x"], {"dim": str(dim), "keepdim": str(int(keep))})
    seed_for("expand")
    op_case("expand", "expand", lambda x: x.expand(2, 3, 4, 5).contiguous(), {"x": randn(3, 1, 5)}, ["x"],
            {"shape": "2,3,4,5"})
    seed_for("sum_to_shape")
    op_case("sum_to_shape", "sum_to_shape", lambda x: x.sum(dim=(0, 2), keepdim=True).reshape(3, 1, 5),
            {"x": randn(2, 3, 4, 5)}, ["x"], {"shape": "3,1,5"})


def shape_cases():
    seed_for("reshape")
    op_case("reshape", "reshape", lambda x: x.reshape(4, -1), {"x": randn(2, 3, 4)}, ["x"], {"shape": "4,-1"})
    for start in (1, 2):
        case = f"flatten_{start}"
        seed_for(case)
        op_case(case, "flatten", lambda x, s=start: torch.flatten(x, s), {"x": randn(2, 3, 4, 5)}, ["x"],
                {"start_dim": str(start)})
    concat_layouts = {
        "concat_d0": (0, [(1, 3, 2), (2, 3, 2), (3, 3, 2)]),
        "concat_d1": (1, [(2, 1, 4), (2, 3, 4), (2, 2, 4)]),
        "concat_dm1": (-1, [(2, 3, 1), (2, 3, 4), (2, 3, 2)]),
    }
    for case, (dim, shapes) in concat_layouts.items():
        seed_for(case)
        parts = {f"p{i}": randn(*s) for i, s in enumerate(shapes)}
        op_case(case, "concat", lambda dim=dim, **p: torch.cat([p[k] for k in sorted(p)], dim), parts,
                sorted(parts), {"dim": str(dim), "parts": str(len(parts))})
    for case, dim, start, end in (("slice_d1", 1, 1, 4), ("slice_d0", 0, 0, 2), ("slice_d2", 2, 3, 6),
                                  ("slice_dm1", -1, 2, 5)):
        seed_for(case)
        op_case(case, "slice", lambda x, d=dim, s=start, e=end: x.narrow(d, s, e - s).contiguous(),
                {"x": randn(4, 5, 6)}, ["x"], {"dim": str(dim), "start": str(start), "end": str(end)})


def linalg_cases():
    M, K, N = 3, 4, 5
    for ta in (False, True):
        for tb in (False, True):
            case = f"matmul_{'t' if ta else 'n'}{'t' if tb else 'n'}"
            seed_for(case)
            a = randn(K, M) if ta else randn(M, K)
            b = randn(N, K) if tb else randn(K, N)
            op_case(case, "matmul", lambda a, b, ta=ta, tb=tb: (a.t() if ta else a) @ (b.t() if tb else b),
                    {"a": a, "b": b}, ["a", "b"], {"trans_a": str(int(ta)), "trans_b": str(int(tb))})
    seed_for("linear_bias")
    op_case("linear_bias", "linear", lambda x, w, bias: F.linear(x, w, bias),
            {"x": randn(4, 6), "w": randn(5, 6), "bias": randn(5)}, ["x", "w", "bias"])
    seed_for("linear_nobias")
    op_case("linear_nobias", "linear", lambda x, w: F.linear(x, w), {"x": randn(4, 6), "w": randn(5, 6)},
            ["x", "w"])


def conv_cases():
    conv = [  # case, x shape, w shape, bias?, stride, padding, dilation
        ("conv2d_s1p0_bias", (2, 3, 7, 6), (4, 3, 3, 3), True, 1, 0, 1),
        ("conv2d_s1p1", (2, 3, 6, 5), (4, 3, 3, 3), False, 1, 1, 1),
        ("conv2d_s2p1", (2, 3, 8, 7), (4, 3, 3, 3), False, 2, 1, 1),
        ("conv2d_k4s2p1_bias", (2, 3, 8, 8), (5, 3, 4, 4), True, 2, 1, 1),
        ("conv2d_dil2_bias", (2, 2, 9, 8), (3, 2, 3, 3), True, 1, 1, 2),
        ("conv2d_k7_valid", (2, 4, 7, 7), (1, 4, 7, 7), False, 1, 0, 1),
    ]
    for case, xs, ws, has_b, s, p, d in conv:
        seed_for(case)
        ins = {"x": randn(*xs), "w": randn(*ws) * 0.3}
        if has_b:
            ins["bias"] = randn(ws[0])
        op_case(case, "conv2d", lambda s=s, p=p, d=d, **t: F.conv2d(t["x"], t["w"], t.get("bias"), s, p, d),
                ins, sorted(ins), {"stride": str(s), "padding": str(p), "dilation": str(d)})
    convt = [  # case, x shape, w shape, bias?, stride, padding, output_padding, dilation
        ("convt_k4s2p1_op0_bias", (2, 3, 4, 5), (3, 2, 4, 4), True, 2, 1, 0, 1),
        ("convt_k4s2p1_op1", (2, 3, 4, 5), (3, 2, 4, 4), False, 2, 1, 1, 1),
        ("convt_k3s1p0_bias", (2, 3, 5, 4), (3, 4, 3, 3), True, 1, 0, 0, 1),
        ("convt_k3s1p1", (2, 3, 5, 4), (3, 4, 3, 3), False, 1, 1, 0, 1),
        ("convt_k7s1p0", (2, 4, 1, 1), (4, 3, 7, 7), False, 1, 0, 0, 1),
        ("convt_k3s2p1_dil2", (2, 2, 4, 3), (2, 3, 3, 3), True, 2, 1, 0, 2),
    ]
    for case, xs, ws, has_b, s, p, op, d in convt:
        seed_for(case)
        ins = {"x": randn(*xs), "w": randn(*ws) * 0.3}
        if has_b:
            ins["bias"] = randn(ws[1])
        op_case(case, "conv_transpose2d",
                lambda s=s, p=p, op=op, d=d, **t: F.conv_transpose2d(t["x"], t["w"], t.get("bias"), s, p, op, 1, d),
                ins, sorted(ins), {"stride": str(s), "padding": str(p), "output_padding": str(op), "dilation": str(d)})


def norm_cases():
    for case, xs, training, affine, running in (
        ("bn2d_train", (4, 3, 3, 5), True, True, True),
        ("bn1d_train", (6, 4), True, True, True),
        ("bn2d_eval", (4, 3, 3, 5), False, True, True),
        ("bn1d_eval", (6, 4), False, True, True),
        ("bn2d_train_plain", (3, 2, 4, 4), True, False, False),
    ):
        seed_for(case)
        C = xs[1]
        ins = {"x": randn(*xs) * 2 + 0.5}
        if affine:
            ins["gamma"] = uniform(0.5, 1.5, C)
            ins["beta"] = randn(C) * 0.3
        extra, stats = {}, {"rm": None, "rv": None}
        if running:
            extra = {"running_mean": randn(C) * 0.2, "running_var": uniform(0.5, 1.5, C)}
            stats = {"rm": extra["running_mean"].clone(), "rv": extra["running_var"].clone()}

        def fn(training=training, stats=stats, **t):
            return F.batch_norm(t["x"], stats["rm"], stats["rv"], t.get("gamma"), t.get("beta"), training, 0.1, 1e-5)

        if running and training:  # fn runs once in op_case, so the running stats see exactly one update
            def post(stats=stats):
                return {"running_mean_after": stats["rm"].clone(), "running_var_after": stats["rv"].clone()}
        else:
            post = None
        op_case(case, "batch_norm", fn, ins, sorted(ins),
                {"training": str(int(training)), "momentum": "0.1", "eps": "1e-05"}, extra, post)
    for case, xs, nd, affine in (("ln_last1", (4, 6), 1, True), ("ln_last3", (2, 3, 4, 5), 3, True),
                                 ("ln_last2_plain", (3, 4, 5), 2, False)):
        seed_for(case)
        ns = xs[-nd:]
        ins = {"x": randn(*xs) * 2 + 0.3}
        if affine:
            ins["gamma"] = uniform(0.5, 1.5, *ns)
            ins["beta"] = randn(*ns) * 0.3
        op_case(case, "layer_norm", lambda ns=ns, **t: F.layer_norm(t["x"], ns, t.get("gamma"), t.get("beta"), 1e-5),
                ins, sorted(ins), {"normalized_dims": str(nd), "eps": "1e-05"})


def loss_cases():
    seed_for("mse_loss")
    op_case("mse_loss", "mse_loss", lambda x, target: F.mse_loss(x, target),
            {"x": randn(3, 4), "target": randn(3, 4)}, ["x", "target"])
    seed_for("bce_with_logits")
    op_case("bce_with_logits", "bce_with_logits", lambda x, target: F.binary_cross_entropy_with_logits(x, target),
            {"x": randn(3, 4) * 2, "target": uniform(0, 1, 3, 4)}, ["x", "target"])
    seed_for("bce_with_logits_hard")
    op_case("bce_with_logits_hard", "bce_with_logits", lambda x: F.binary_cross_entropy_with_logits(
        x, torch.tensor([[1.0], [0.0], [1.0], [0.0], [1.0]])), {"x": randn(5, 1) * 4}, ["x"],
        extra={"target": torch.tensor([[1.0], [0.0], [1.0], [0.0], [1.0]])})

    def gp(g, lam, target):
        return lam * ((g.flatten(1).norm(dim=1) - target) ** 2).mean()

    for case, shape, lam, target in (("gradient_penalty", (4, 3, 2, 2), 10.0, 1.0),
                                     ("gradient_penalty_t05", (3, 5), 2.0, 0.5)):
        seed_for(case)
        op_case(case, "gradient_penalty", lambda g, lam=lam, t=target: gp(g, lam, t), {"g": randn(*shape) * 0.4},
                ["g"], {"lambda": str(lam), "target": str(target)})
    seed_for("interpolate")
    op_case("interpolate", "interpolate", lambda x, xt, eps: eps.view(-1, 1, 1, 1) * x + (1 - eps.view(-1, 1, 1, 1)) * xt,
            {"x": randn(4, 3, 2, 2), "xt": randn(4, 3, 2, 2), "eps": uniform(0, 1, 4)}, [])


def optim_cases():
    """One in-place optimiser update, taken from torch.optim after `steps - 1` warm-up steps."""

    def run(case, op, make_opt, state_keys, meta, steps):
        seed_for(case)
        p = randn(4, 5).requires_grad_()
        grads = [randn(4, 5) for _ in range(steps)]
        opt = make_opt([p])
        for g in grads[:-1]:
            p.grad = g.clone()
            opt.step()
        st = opt.state[p]
        tensors = {"p": p.detach().clone(), "g": grads[-1].clone()}
        for ours, theirs in state_keys.items():
            tensors[ours] = st[theirs].clone() if theirs in st else torch.zeros(4, 5)
        p.grad = grads[-1].clone()
        opt.step()
        tensors["p_after"] = p.detach().clone()
        for ours, theirs in state_keys.items():
            tensors[ours + "_after"] = opt.state[p][theirs].clone()
        m = {"op": op, "step": str(steps)}
        m.update({k: repr(v) for k, v in meta.items()})
        save_safetensors(f"op_{case}.safetensors", tensors, m)

    for case, wd in (("adam", 0.0), ("adam_wd", 0.1)):
        run(case, "adam_update_", lambda ps, wd=wd: torch.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.999), eps=1e-8,
                                                                     weight_decay=wd, foreach=False),
            {"m": "exp_avg", "v": "exp_avg_sq"},
            {"lr": 1e-2, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": wd}, 3)
    run("rmsprop", "rmsprop_update_", lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.9, eps=1e-8,
                                                                     weight_decay=0.05, foreach=False),
        {"sq": "square_avg"}, {"lr": 1e-2, "alpha": 0.9, "eps": 1e-8, "weight_decay": 0.05}, 3)
    for case, steps in (("sgd_first", 1), ("sgd_momentum", 3)):
        run(case, "sgd_update_", lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, weight_decay=1e-3,
                                                            foreach=False),
            {"buf": "momentum_buffer"}, {"lr": 1e-2, "momentum": 0.9, "weight_decay": 1e-3}, steps)


# ---- Gradient penalties through a small critic (double backward) ----
def critic():
    return nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(4, 8, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(32, 1))


def param_grads(penalty, D):
    """d penalty / d params. The penalty depends on the critic only through dD/dx, which the last layer's bias
    does not reach (and the leaky-ReLU masks are locally constant), so unused parameters get zeros."""
    params = [p for _, p in D.named_parameters()]
    grads = torch.autograd.grad(penalty, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def penalty_cases():
    seed_for("penalty_wgangp")
    D = critic()
    real, fake, eps = randn(4, 1, 8, 8), randn(4, 1, 8, 8) * 0.5, torch.rand(4)
    e = eps.view(-1, 1, 1, 1)
    xhat = (e * real + (1 - e) * fake).requires_grad_()
    d_out = D(xhat)
    (g,) = torch.autograd.grad(d_out.sum(), xhat, create_graph=True)
    penalty = 10 * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
    names = [n for n, _ in D.named_parameters()]
    grads = param_grads(penalty, D)
    t = {"param." + n: p.detach().clone() for n, p in D.named_parameters()}
    t.update({"grad." + n: gp for n, gp in zip(names, grads)})
    t.update({"real": real, "fake": fake, "eps": eps, "xhat": xhat.detach(), "d_out": d_out.detach(),
              "input_grad": g.detach(), "penalty": penalty.detach()})
    save_safetensors("penalty_wgangp.safetensors", t,
                     {"critic": "Conv2d(1,4,4,2,1) LeakyReLU(0.2) Conv2d(4,8,4,2,1) LeakyReLU(0.2) Flatten Linear(32,1)",
                      "lambda": "10", "target": "1"})

    seed_for("penalty_r1")
    D = critic()
    real = randn(4, 1, 8, 8).requires_grad_()
    d_out = D(real)
    (g,) = torch.autograd.grad(d_out.sum(), real, create_graph=True)
    penalty = 10 / 2 * g.pow(2).flatten(1).sum(1).mean()
    grads = param_grads(penalty, D)
    t = {"param." + n: p.detach().clone() for n, p in D.named_parameters()}
    t.update({"grad." + n: gp for n, gp in zip(names, grads)})
    t.update({"real": real.detach(), "d_out": d_out.detach(), "input_grad": g.detach(), "penalty": penalty.detach()})
    save_safetensors("penalty_r1.safetensors", t,
                     {"critic": "Conv2d(1,4,4,2,1) LeakyReLU(0.2) Conv2d(4,8,4,2,1) LeakyReLU(0.2) Flatten Linear(32,1)",
                      "gamma": "10"})


# ---- Three DCGAN training steps (rung 4) ----
def dcgan_case():
    torch.manual_seed(20240601)
    G = nn.Sequential(nn.ConvTranspose2d(16, 32, 7, 1, 0, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.ConvTranspose2d(16, 1, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
                      nn.Conv2d(16, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
                      nn.Conv2d(32, 1, 7, 1, 0, bias=False), nn.Flatten())

    def init(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    G.apply(init)
    D.apply(init)
    G.train()
    D.train()
    t = {}

    def state(prefix, model):
        for k, v in model.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                t[prefix + k] = v.detach().clone()

    state("init.G.", G)
    state("init.D.", D)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=False)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=False)
    bce = F.binary_cross_entropy_with_logits
    reals, zs, losses_d, losses_g = [], [], [], []
    for step in range(3):
        z = randn(8, 16, 1, 1)
        real = torch.tanh(randn(8, 1, 28, 28))
        zs.append(z)
        reals.append(real)
        D.zero_grad()
        fake = G(z)
        out_real = D(real)
        out_fake = D(fake.detach())
        loss_d = bce(out_real, torch.ones_like(out_real)) + bce(out_fake, torch.zeros_like(out_fake))
        loss_d.backward()
        if step == 0:
            t.update({"step0.grad.D." + n: p.grad.clone() for n, p in D.named_parameters()})
        opt_d.step()
        G.zero_grad()
        out = D(fake)
        loss_g = bce(out, torch.ones_like(out))
        loss_g.backward()
        if step == 0:
            t.update({"step0.grad.G." + n: p.grad.clone() for n, p in G.named_parameters()})
        opt_g.step()
        losses_d.append(loss_d.item())
        losses_g.append(loss_g.item())
    state("final.G.", G)
    state("final.D.", D)
    t.update({"real": torch.stack(reals), "z": torch.stack(zs), "loss_d": torch.tensor(losses_d),
              "loss_g": torch.tensor(losses_g)})
    save_safetensors("dcgan_3step.safetensors", t,
                     {"G": "ConvT(16,32,7,1,0) BN ReLU ConvT(32,16,4,2,1) BN ReLU ConvT(16,1,4,2,1) Tanh; no biases",
                      "D": "Conv(1,16,4,2,1) LReLU(0.2) Conv(16,32,4,2,1) BN LReLU(0.2) Conv(32,1,7,1,0) Flatten",
                      "adam": "lr 2e-4 betas (0.5,0.999) eps 1e-8", "bn_momentum": "0.1", "bn_eps": "1e-05"})
    print("  dcgan loss_d", [round(v, 6) for v in losses_d], "loss_g", [round(v, 6) for v in losses_g])


def gan_loss_cases():
    """The GAN losses of gan/losses.h on fixed critic outputs: every D and G loss, with and without one-sided
    label smoothing, and their gradients with respect to the real and fake logits."""
    seed_for("gan_losses")
    real = randn(16, 1) * 2.0
    fake = randn(16, 1) * 2.0
    t = {"real": real, "fake": fake}
    bce = F.binary_cross_entropy_with_logits

    def d_loss(kind, r, f, s):
        if kind in ("minimax", "nonsaturating"):
            return bce(r, torch.full_like(r, 1.0 - s)) + bce(f, torch.zeros_like(f))
        if kind == "wasserstein":
            return f.mean() - r.mean()
        if kind == "hinge":
            return F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
        return (((r - (1.0 - s)) ** 2).mean() + (f ** 2).mean()) / 2.0  # lsgan

    def g_loss(kind, f):
        if kind == "minimax":
            return -bce(f, torch.zeros_like(f))
        if kind == "nonsaturating":
            return bce(f, torch.ones_like(f))
        if kind in ("wasserstein", "hinge"):
            return -f.mean()
        return ((f - 1.0) ** 2).mean() / 2.0  # lsgan

    for kind in ("minimax", "nonsaturating", "wasserstein", "hinge", "lsgan"):
        for s in (0.0, 0.1):
            r = real.clone().requires_grad_(True)
            f = fake.clone().requires_grad_(True)
            loss = d_loss(kind, r, f, s)
            gr, gf = torch.autograd.grad(loss, (r, f))
            key = f"d.{kind}.s{int(s * 10)}"
            t[key], t[key + ".grad_real"], t[key + ".grad_fake"] = loss.detach(), gr, gf
        f = fake.clone().requires_grad_(True)
        loss = g_loss(kind, f)
        t[f"g.{kind}"], t[f"g.{kind}.grad_fake"] = loss.detach(), torch.autograd.grad(loss, f)[0]
    save_safetensors("gan_losses.safetensors", t, {"smoothing": "s0 = 0, s1 = 0.1"})


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):  # drop stale cases from earlier runs
        if f.endswith(".safetensors"):
            os.remove(os.path.join(OUT_DIR, f))
    binary_cases()
    unary_cases()
    reduction_cases()
    shape_cases()
    linalg_cases()
    conv_cases()
    norm_cases()
    loss_cases()
    optim_cases()
    penalty_cases()
    dcgan_case()
    gan_loss_cases()
    total = sum(s for _, s in written)
    print(f"wrote {len(written)} files, {total} bytes in all, to {OUT_DIR}")
    if total > 1_500_000:
        sys.exit("golden data exceeds 1.5 MB: shrink the cases")


if __name__ == "__main__":
    main()
