#!/usr/bin/env python3
"""collect_torch.py - measure a GPU with PyTorch alone and write opbound's
measurement CSV (docs/measurements.md), for users who have a GPU and PyTorch
but no CUDA C toolchain (kernels/bench.cu needs nvcc).

What it measures, for one model's shapes (a Hugging Face config.json, or the
--hidden/--heads/... numbers; default Llama-3-8B):
  gemm        the projections (qkv, o, gate_up, down) at decode and prefill
              token counts, torch.matmul (cuBLAS)                 impl cublas
  attention   prefill SDPA per backend (FlashAttention-2, cuDNN,
              memory-efficient) and decode SDPA from a KV cache   impl fa2, cudnn,
                                                                  mem_efficient
  eager       grouped-query decode as matmul, scale, cast up, fp32 softmax,
              cast down, matmul: one time for the composition ('+KIND' rows)
                                                                  impl eager
  launch      an empty-sized kernel, eager and replayed from a CUDA graph
                                                                  impl eager, graph
  elementwise add, mul, SiLU, casts, copies, softmax, LayerNorm over rows x cols
  step        one decoder layer written as the transformers reference code
              (the bundled `hf` profile, docs/profiles.md): decode replayed as
              a CUDA graph, prefill launched eagerly

Method (the same as kernels/bench.cu, docs/kernels.md): warm-up runs; before
every timed repetition a 256 MiB buffer is rewritten so that no operand is
left in L2 (H100 L2: 50 MB); each repetition is timed with a pair of CUDA
events around the kernel(s) only; the median and the minimum of the
repetitions are written (median_s, min_s).

Output columns: MEAS_HEADER of sim/measure.h plus a last column `impl`:
    kind,class,name,dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,kv_width,count,m,n,k,
    flops,bytes,median_s,min_s,impl
flops and bytes are left empty (opbound counts them from the shape). Row
kinds: attention, gemm, batched_gemm, elementwise, copy, norm, softmax,
launch, '+KIND' (one more op of the composition timed by the row before) and
step (a whole layer: b, sq, skv give the step, count the layers timed, name
the model and profile; docs/profiles.md).

Usage (one command, a few minutes on an H100):
    python3 kernels/collect_torch.py --out kernels/measurements/h100-torch.csv
    python3 kernels/collect_torch.py --config config.json --reps 50 --quick --out m.csv
Then: opbound validate m.csv --hw h100; opbound calibrate m.csv --hw h100 -o dev.yaml

The CSV writing (everything above `def main`'s torch import) needs no torch
and is tested by tests/test_collect_torch.py with python3 alone.
"""

import argparse
import json
import math
import statistics
import sys

# ---------------------------------------------------------------- CSV format

COLUMNS = ("kind", "class", "name", "dtype", "kv_dtype", "b", "hq", "dqk", "dv", "sq", "skv",
           "pairs", "kv_width", "count", "m", "n", "k", "flops", "bytes", "median_s", "min_s",
           "impl")
HEADER = ",".join(COLUMNS)
KINDS = ("attention", "gemm", "batched_gemm", "elementwise", "copy", "norm", "softmax",
         "launch", "step")
IMPLS = ("default", "fa2", "cudnn", "mem_efficient", "eager", "opbound", "cublas", "fused")
LAUNCH_IMPLS = ("graph", "eager")
DTYPES = ("fp32", "bf16", "fp16", "fp8", "int8", "int4")
MAX_DIM = 2.0 ** 31          # sim/measure.c MEAS_MAX_DIM
MIN_TIME_S, MAX_TIME_S = 1e-9, 3600.0
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+")
SIZE_FIELDS = ("b", "hq", "dqk", "dv", "sq", "skv", "kv_width", "count", "m", "n", "k")


class RowError(ValueError):
    """A row the loader (sim/measure.c) would refuse."""


def fmt_num(v):
    """Exact text of a number: integers without a point, others as repr()
    (the shortest text that reads back as the same double)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        raise RowError("a number was expected, got a bool")
    if isinstance(v, int):
        return str(v)
    v = float(v)
    if not math.isfinite(v) or v < 0:
        raise RowError("numbers must be finite and >= 0, got %r" % v)
    if v == int(v) and abs(v) < 2 ** 53:
        return str(int(v))
    return repr(v)


def check_name(what, s, limit):
    if not s or len(s) >= limit or any(c not in NAME_CHARS for c in s):
        raise RowError("%s must be letters, digits, _ - . + (under %d characters), got %r"
                       % (what, limit, s))


def row(kind, cls, name, dtype="bf16", impl="", median_s=None, min_s=None, kv_dtype="", **shape):
    """One measurement row as a dict of column -> text, checked like the
    loader checks it. shape: any of b hq dqk dv sq skv pairs kv_width count
    m n k."""
    base = kind[1:] if kind.startswith("+") else kind
    if base not in KINDS:
        raise RowError("unknown kind %r (%s)" % (kind, ", ".join(KINDS)))
    check_name("class", cls, 48)
    check_name("name", name, 64)
    if base != "launch" and dtype not in DTYPES:
        raise RowError("unknown dtype %r" % dtype)
    if kv_dtype and kv_dtype not in DTYPES:
        raise RowError("unknown kv_dtype %r" % kv_dtype)
    if impl:
        allowed = LAUNCH_IMPLS if base in ("launch", "step") else IMPLS
        if impl not in allowed:
            raise RowError("impl of a %s row must be one of %s, got %r"
                           % (base, ", ".join(allowed), impl))
    for k in shape:
        if k not in COLUMNS:
            raise RowError("unknown column %r" % k)
    for k in SIZE_FIELDS:
        if shape.get(k) is not None and shape[k] > MAX_DIM:
            raise RowError("%s %r is larger than 2^31" % (k, shape[k]))
    if kind.startswith("+"):
        if median_s is not None or min_s is not None:
            raise RowError("a '+' row is timed by the row before it; it has no time")
    for t in (median_s, min_s):
        if t is not None and not (MIN_TIME_S <= t <= MAX_TIME_S):
            raise RowError("time %r is not a kernel time (1 ns to 1 h)" % t)
    if median_s is not None and min_s is not None and min_s > median_s:
        raise RowError("min_s %r is larger than median_s %r" % (min_s, median_s))
    out = {c: "" for c in COLUMNS}
    out.update(kind=kind, **{"class": cls}, name=name, impl=impl, kv_dtype=kv_dtype)
    out["dtype"] = "" if base == "launch" else dtype
    for k, v in shape.items():
        out[k] = fmt_num(v)
    out["median_s"] = fmt_num(median_s)
    out["min_s"] = fmt_num(min_s)
    return out


def gemm_row(cls, name, m, n, k, median_s=None, min_s=None, dtype="bf16", impl="cublas", count=1):
    """(m x k) @ (k x n); count > 1: a batched GEMM of count instances."""
    kind = "batched_gemm" if count > 1 else "gemm"
    return row(kind, cls, name, dtype, impl, median_s, min_s, m=m, n=n, k=k,
               count=count if count > 1 else None)


def causal_pairs(sq, prior):
    """(query, key) pairs per head and sequence of a causal step adding sq
    tokens to prior cached ones: query i (1-based) sees prior + i keys, so
    sq*prior + sq*(sq+1)/2 (docs/conventions.md)."""
    return sq * prior + sq * (sq + 1) // 2


def attention_row(cls, name, b, hq, hkv, d, sq, prior, median_s=None, min_s=None,
                  dtype="bf16", impl="fa2", kv_dtype=""):
    """A fused attention core: b sequences, hq query heads over hkv K/V heads
    of dim d, sq new queries on top of prior cached keys (causal)."""
    return row("attention", cls, name, dtype, impl, median_s, min_s, kv_dtype=kv_dtype, b=b,
               hq=hq, dqk=d, dv=d, sq=sq, skv=prior + sq, pairs=causal_pairs(sq, prior),
               kv_width=2 * hkv * d)


def pointwise_row(kind, cls, name, rows, cols, median_s=None, min_s=None, dtype="bf16",
                  out_dtype="", impl="eager", inputs=None, flops_per_elem=None):
    """elementwise (inputs read, flops_per_elem), copy (a cast when out_dtype
    differs), norm (flops_per_elem), softmax, over rows x cols: m = rows,
    n = cols, count = inputs, k = FLOPs per element (sim/measure.c)."""
    if kind.lstrip("+") not in ("elementwise", "copy", "norm", "softmax"):
        raise RowError("not a pointwise kind: %r" % kind)
    return row(kind, cls, name, dtype, impl, median_s, min_s, kv_dtype=out_dtype, m=rows,
               n=cols, count=inputs, k=flops_per_elem)


def launch_row(name, median_s, min_s=None, mode="eager"):
    """The fixed cost of one kernel: mode eager (a launch from Python) or
    graph (one node of a replayed CUDA graph)."""
    return row("launch", "launch_" + mode, name, impl=mode, median_s=median_s, min_s=min_s)


def step_row(cls, name, b, sq, prior, layers, median_s=None, min_s=None, dtype="bf16",
             mode="eager"):
    """A whole step of `layers` decoder layers: b sequences adding sq tokens
    to prior cached ones; mode graph or eager (how it was launched)."""
    return row("step", cls, name, dtype, mode, median_s, min_s, b=b, sq=sq, skv=prior + sq,
               count=layers)


def write_csv(fp, rows, comments=()):
    """Writes '# ' comment lines, the header and the rows."""
    for c in comments:
        fp.write("# %s\n" % c.replace("\n", " "))
    fp.write(HEADER + "\n")
    for r in rows:
        fp.write(",".join(r[c] for c in COLUMNS) + "\n")


# ---------------------------------------------------------------- model shapes

class Shapes:
    """The dimensions the measurements use (per device, no tensor parallelism)."""

    def __init__(self, name, hidden, heads, kv_heads, head_dim, intermediate, layers):
        self.name, self.h, self.H, self.Hkv = name, hidden, heads, kv_heads
        self.D, self.I, self.layers = head_dim, intermediate, layers

    @classmethod
    def from_config(cls, path):
        with open(path) as f:
            c = json.load(f)
        h, H = c["hidden_size"], c["num_attention_heads"]
        return cls(c.get("_name_or_path") or c.get("model_type", "model"), h, H,
                   c.get("num_key_value_heads", H), c.get("head_dim") or h // H,
                   c["intermediate_size"], c["num_hidden_layers"])

    def gemms(self):
        """(name, n, k) of the layer's projections, as serving engines fuse
        them (qkv, gate_up) and as the reference code splits them."""
        h, H, Hkv, D, I = self.h, self.H, self.Hkv, self.D, self.I
        return [("qkv_proj", (H + 2 * Hkv) * D, h), ("q_proj", H * D, h), ("kv_proj", Hkv * D, h),
                ("o_proj", h, H * D), ("gate_up_proj", 2 * I, h), ("up_proj", I, h),
                ("down_proj", h, I)]


LLAMA3_8B = Shapes("llama-3-8b", 4096, 32, 8, 128, 14336, 32)


# ---------------------------------------------------------------- timing (torch)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="measurement CSV to write")
    ap.add_argument("--config", help="Hugging Face config.json for the shapes (default Llama-3-8B)")
    ap.add_argument("--reps", type=int, default=30, help="timed repetitions per point")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer shapes (about a minute)")
    ap.add_argument("--only", default="", help="comma list of parts: gemm,sdpa,decode,eager,"
                    "launch,elementwise,layer (default all)")
    a = ap.parse_args(argv)
    import torch  # only here: the format part above needs no torch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        sys.exit("collect_torch.py: no CUDA device visible to PyTorch")
    shp = Shapes.from_config(a.config) if a.config else LLAMA3_8B
    parts = set(a.only.split(",")) if a.only else {"gemm", "sdpa", "decode", "eager", "launch",
                                                   "elementwise", "layer"}
    dev = torch.device("cuda")
    bf16 = torch.bfloat16
    flush = torch.empty(256 * 1024 * 1024 // 4, dtype=torch.float32, device=dev)

    def timeit(fn, flush_l2=True, reps=None):
        """median and min seconds of fn() over reps, each after an L2 flush,
        timed with CUDA events around fn only."""
        reps = reps or a.reps
        for _ in range(a.warmup):
            fn()
        ts = []
        for _ in range(reps):
            if flush_l2:
                flush.fill_(1.0)  # rewrite 256 MiB: evicts the operands from L2
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            ts.append(s.elapsed_time(e) * 1e-3)
        return statistics.median(ts), min(ts)

    rows = []
    tok_decode = [1, 8, 32, 128] if a.quick else [1, 4, 8, 16, 32, 64, 128, 256]
    tok_prefill = [512, 4096] if a.quick else [512, 1024, 2048, 4096, 8192]

    if "gemm" in parts:
        for T in tok_decode + tok_prefill:
            for name, n, k in shp.gemms():
                x = torch.randn(T, k, dtype=bf16, device=dev)
                w = torch.randn(k, n, dtype=bf16, device=dev)
                med, mn = timeit(lambda: torch.matmul(x, w))
                cls = "gemm_decode" if T <= 256 else "gemm_prefill"
                rows.append(gemm_row(cls, "%s.T%d" % (name, T), T, n, k, med, mn))

    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = [(impl, getattr(SDPBackend, attr)) for impl, attr in
                (("fa2", "FLASH_ATTENTION"), ("cudnn", "CUDNN_ATTENTION"),
                 ("mem_efficient", "EFFICIENT_ATTENTION")) if hasattr(SDPBackend, attr)]
    gqa = "enable_gqa" in (F.scaled_dot_product_attention.__doc__ or "")
    H, Hkv, D = shp.H, shp.Hkv, shp.D

    def kv_for_sdpa(k, v):
        """K/V as the kernel reads them: Hkv heads with enable_gqa (torch >=
        2.5), else repeated to H heads before timing (not inside it)."""
        if gqa:
            return k, v
        return k.repeat_interleave(H // Hkv, 1), v.repeat_interleave(H // Hkv, 1)

    def sdpa(q, k, v, causal):
        if gqa:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    if "sdpa" in parts:
        for B, S in ([(1, 1024), (1, 4096)] if a.quick else
                     [(1, 512), (1, 1024), (1, 2048), (1, 4096), (1, 8192), (4, 2048), (8, 1024)]):
            q = torch.randn(B, H, S, D, dtype=bf16, device=dev)
            k, v = kv_for_sdpa(torch.randn(B, Hkv, S, D, dtype=bf16, device=dev),
                               torch.randn(B, Hkv, S, D, dtype=bf16, device=dev))
            for impl, be in backends:
                try:
                    with sdpa_kernel([be]):
                        med, mn = timeit(lambda: sdpa(q, k, v, True))
                except RuntimeError as err:  # backend not available for this shape/GPU
                    print("skipped %s B=%d S=%d: %s" % (impl, B, S, str(err).split("\n")[0]),
                          file=sys.stderr)
                    continue
                hk = Hkv if gqa else H  # K/V heads the kernel reads
                rows.append(attention_row("attn_prefill_" + impl, "sdpa.B%d.S%d" % (B, S), B, H,
                                          hk, D, S, 0, med, mn, impl=impl))

    decode_pts = [(1, 1024), (8, 4096), (32, 2048)] if a.quick else \
        [(1, 512), (1, 4096), (1, 32768), (8, 1024), (8, 8192), (32, 2048), (64, 4096)]
    if "decode" in parts:
        for B, L in decode_pts:
            q = torch.randn(B, H, 1, D, dtype=bf16, device=dev)
            k, v = kv_for_sdpa(torch.randn(B, Hkv, L + 1, D, dtype=bf16, device=dev),
                               torch.randn(B, Hkv, L + 1, D, dtype=bf16, device=dev))
            for impl, be in backends:
                try:
                    with sdpa_kernel([be]):
                        med, mn = timeit(lambda: sdpa(q, k, v, False))
                except RuntimeError as err:
                    print("skipped decode %s B=%d L=%d: %s" % (impl, B, L,
                          str(err).split("\n")[0]), file=sys.stderr)
                    continue
                hk = Hkv if gqa else H
                rows.append(attention_row("attn_decode_" + impl, "sdpa.B%d.L%d" % (B, L), B, H,
                                          hk, D, 1, L, med, mn, impl=impl))

    if "eager" in parts:
        # grouped-query decode as matmuls: q (B, Hkv, G, D) @ K^T (B, Hkv, D, L+1)
        G = H // Hkv
        for B, L in decode_pts:
            q = torch.randn(B, Hkv, G, D, dtype=bf16, device=dev)
            k = torch.randn(B, Hkv, L + 1, D, dtype=bf16, device=dev)
            v = torch.randn(B, Hkv, L + 1, D, dtype=bf16, device=dev)

            scale = D ** -0.5

            def comp():
                s = torch.matmul(q, k.transpose(-1, -2)) * scale
                p = torch.softmax(s.float(), dim=-1).to(bf16)
                return torch.matmul(p, v)
            med, mn = timeit(comp)
            # the same op list as the shipped data's eager composition
            # (sim/measure_import.c): qk, scale, cast up, fp32 softmax, cast down, pv
            cls, nm = "attn_decode_eager", "gqa_matmul.B%d.L%d" % (B, L)
            rows.append(gemm_row(cls, nm + ".qk", G, L + 1, D, med, mn, impl="eager",
                                 count=B * Hkv))
            rows.append(pointwise_row("+elementwise", cls, nm + ".scale", B * H, L + 1,
                                      inputs=1, flops_per_elem=1))
            rows.append(pointwise_row("+copy", cls, nm + ".to_fp32", B * H, L + 1,
                                      out_dtype="fp32"))
            rows.append(pointwise_row("+softmax", cls, nm + ".softmax", B * H, L + 1,
                                      dtype="fp32"))
            rows.append(pointwise_row("+copy", cls, nm + ".to_bf16", B * H, L + 1, dtype="fp32",
                                      out_dtype="bf16"))
            rows.append(row("+batched_gemm", cls, nm + ".pv", "bf16", "eager", count=B * Hkv,
                            m=G, n=D, k=L + 1))

    if "launch" in parts:
        x = torch.zeros(1, device=dev)
        n = 200
        med, mn = timeit(lambda: [x.add_(1) for _ in range(n)], flush_l2=False)
        rows.append(launch_row("add_1elem.x%d" % n, med / n, mn / n, "eager"))
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                x.add_(1)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for _ in range(n):
                x.add_(1)
        med, mn = timeit(g.replay, flush_l2=False)
        rows.append(launch_row("add_1elem.graph%d" % n, med / n, mn / n, "graph"))

    if "elementwise" in parts:
        for T in ([1, 4096] if a.quick else [1, 32, 512, 4096, 16384]):
            for cols in (shp.h, shp.I):
                x = torch.randn(T, cols, dtype=bf16, device=dev)
                y = torch.randn(T, cols, dtype=bf16, device=dev)
                xf = x.float()
                w = torch.randn(cols, dtype=bf16, device=dev)
                tag = "T%d.c%d" % (T, cols)
                cases = [
                    ("elementwise", "add", lambda: x + y, dict(inputs=2, flops_per_elem=1)),
                    ("elementwise", "mul", lambda: x * y, dict(inputs=2, flops_per_elem=1)),
                    ("elementwise", "silu", lambda: F.silu(x), dict(inputs=1, flops_per_elem=4)),
                    ("copy", "to_fp32", lambda: x.float(), dict(out_dtype="fp32")),
                    ("copy", "contiguous", lambda: x.t().contiguous(), {}),
                    ("softmax", "softmax", lambda: torch.softmax(x, -1), {}),
                    ("norm", "layer_norm", lambda: F.layer_norm(x, (cols,), w),
                     dict(flops_per_elem=8)),
                ]
                for kind, nm, fn, kw in cases:
                    med, mn = timeit(fn)
                    rows.append(pointwise_row(kind, kind + "_" + nm, "%s.%s" % (nm, tag), T, cols,
                                              med, mn, **kw))
                med, mn = timeit(lambda: xf.to(bf16))
                rows.append(pointwise_row("copy", "copy_to_bf16", "to_bf16." + tag, T, cols, med,
                                          mn, dtype="fp32", out_dtype="bf16"))

    if "layer" in parts:
        rows += measure_layers(torch, F, shp, timeit, a.quick)

    comments = ["device: " + torch.cuda.get_device_name(),
                "torch %s, CUDA %s" % (torch.__version__, torch.version.cuda),
                "collected by kernels/collect_torch.py: model %s, reps %d, warm-up %d, "
                "256 MiB L2 flush before each repetition, CUDA events, median and min"
                % (shp.name, a.reps, a.warmup),
                "sm_count %d" % torch.cuda.get_device_properties(0).multi_processor_count]
    with open(a.out, "w") as f:
        write_csv(f, rows, comments)
    print("wrote %s (%d rows)" % (a.out, len(rows)))


def measure_layers(torch, F, shp, timeit, quick):
    """One Llama decoder layer written as the transformers reference code
    (LlamaRMSNorm in fp32, rotate-half RoPE, separate q/k/v and gate/up
    projections, SDPA, residual adds; the `hf` profile, docs/profiles.md):
    decode replayed as a CUDA graph (static KV cache, index_copy_ into it),
    prefill launched eagerly. One step row each."""
    dev, bf16 = torch.device("cuda"), torch.bfloat16
    h, H, Hkv, D, I = shp.h, shp.H, shp.Hkv, shp.D, shp.I

    def w(*s):
        return torch.randn(*s, dtype=bf16, device=dev) * 0.02

    Wq, Wk, Wv, Wo = w(h, H * D), w(h, Hkv * D), w(h, Hkv * D), w(H * D, h)
    Wg, Wu, Wd = w(h, I), w(h, I), w(I, h)
    n1, n2 = torch.ones(h, dtype=bf16, device=dev), torch.ones(h, dtype=bf16, device=dev)

    def rmsnorm(x, weight):
        dt = x.dtype
        x = x.to(torch.float32)
        var = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(var + 1e-5)
        return weight * x.to(dt)

    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def layer(x, cos, sin, kc, vc, pos, causal):
        B, S, _ = x.shape
        r = x
        x = rmsnorm(x, n1)
        q = (x @ Wq).view(B, S, H, D).transpose(1, 2)
        k = (x @ Wk).view(B, S, Hkv, D).transpose(1, 2)
        v = (x @ Wv).view(B, S, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        kc.index_copy_(2, pos, k)
        vc.index_copy_(2, pos, v)
        L = kc.shape[2]
        o = F.scaled_dot_product_attention(q, kc[:, :, :L], vc[:, :, :L], is_causal=causal,
                                           enable_gqa=True)
        o = o.transpose(1, 2).contiguous().view(B, S, H * D)
        x = r + o @ Wo
        r = x
        x = rmsnorm(x, n2)
        x = (F.silu(x @ Wg) * (x @ Wu)) @ Wd
        return r + x

    rows = []
    for B, S in ([(1, 1024)] if quick else [(1, 512), (1, 2048), (4, 1024)]):
        x = torch.randn(B, S, h, dtype=bf16, device=dev)
        cos = torch.randn(B, 1, S, D, dtype=bf16, device=dev)
        sin = torch.randn(B, 1, S, D, dtype=bf16, device=dev)
        kc = torch.zeros(B, Hkv, S, D, dtype=bf16, device=dev)
        vc = torch.zeros(B, Hkv, S, D, dtype=bf16, device=dev)
        pos = torch.arange(S, device=dev)
        med, mn = timeit(lambda: layer(x, cos, sin, kc, vc, pos, True))
        rows.append(step_row("layer_prefill_hf", "%s.hf.L1.B%d.S%d" % (shp.name, B, S), B, S, 0,
                             1, med, mn, mode="eager"))
    for B, L in ([(1, 1024), (16, 2048)] if quick else [(1, 1024), (1, 8192), (16, 2048),
                                                         (64, 1024)]):
        x = torch.randn(B, 1, h, dtype=bf16, device=dev)
        cos = torch.randn(B, 1, 1, D, dtype=bf16, device=dev)
        sin = torch.randn(B, 1, 1, D, dtype=bf16, device=dev)
        kc = torch.randn(B, Hkv, L + 1, D, dtype=bf16, device=dev)
        vc = torch.randn(B, Hkv, L + 1, D, dtype=bf16, device=dev)
        pos = torch.tensor([L], device=dev)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                layer(x, cos, sin, kc, vc, pos, False)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            layer(x, cos, sin, kc, vc, pos, False)
        med, mn = timeit(g.replay)
        rows.append(step_row("layer_decode_hf", "%s.hf.L1.B%d.L%d" % (shp.name, B, L), B, 1, L,
                             1, med, mn, mode="graph"))
    return rows


if __name__ == "__main__":
    main()
