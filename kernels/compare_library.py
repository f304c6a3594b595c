#!/usr/bin/env python3
"""compare_library.py - our kernels' timings beside the library timings at the
same shapes: decode (SDPA flash / cuDNN / eager grouped_bmm), MLA absorbed
decode (eager batched matmuls) and causal prefill (FlashAttention-2 / cuDNN).

usage: python3 kernels/compare_library.py MEASUREMENTS.csv [LIBRARY.json]
LIBRARY.json defaults to kernels/measurements/library/h100-library-2026-11-22.json
(provenance: kernels/measurements/library/README.md). Standard library only.
"""
import csv
import json
import os
import sys


def rows(path):
    with open(path) as f:
        lines = [l for l in f if not l.startswith("#")]
    return list(csv.DictReader(lines))


def num(r, k):
    return float(r[k]) if r.get(k) else 0.0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    lib_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        here, "measurements", "library", "h100-library-2026-11-22.json")
    lib = json.load(open(lib_path))
    ours = [r for r in rows(sys.argv[1]) if r["kind"] == "attention" and r.get("median_s")]
    print("decode (ours vs library, median ms; speedup = library / ours)")
    print("%-30s %9s %9s %9s %9s %8s %8s" % ("shape", "ours", "flash", "cudnn", "eager", "x flash", "x cudnn"))
    for r in ours:
        b, hq, dqk, skv, sq = (int(num(r, k)) for k in ("b", "hq", "dqk", "skv", "sq"))
        if sq != 1:
            continue
        t = num(r, "median_s") * 1e3
        if dqk == 576:
            for m in lib["mla_decode_bmm"]:
                if m["B"] == b and m["L"] == skv:
                    print("%-30s %9.4f %9s %9s %9.4f %8s %8s   eager/ours %.2fx" % (
                        "mla B%d L%d" % (b, skv), t, "-", "-", m["ms"], "-", "-", m["ms"] / t))
            continue
        hkv = int(num(r, "kv_width")) // (2 * dqk)
        got = {}
        for d in lib["decode"]:
            if (d["B"], d["H"], d["Hkv"], d["D"], d["L"]) == (b, hq, hkv, dqk, skv) and "ms" in d:
                got[d["backend"]] = d["ms"]
        if not got:
            continue
        f = lambda k: "%9.4f" % got[k] if k in got else "%9s" % "-"
        x = lambda k: "%8.2f" % (got[k] / t) if k in got else "%8s" % "-"
        print("%-30s %9.4f %s %s %s %s %s" % ("%s B%d %d/%d L%d" % (r["class"], b, hq, hkv, skv), t,
                                             f("flash"), f("cudnn"), f("grouped_bmm"), x("flash"), x("cudnn")))
    print()
    print("causal prefill (TFLOP/s by the FA convention 2 B H S^2 D)")
    print("%-30s %9s %9s %9s %8s %8s" % ("shape", "ours", "flash", "cudnn", "/flash", "/cudnn"))
    for r in ours:
        b, hq, dqk, skv, sq = (int(num(r, k)) for k in ("b", "hq", "dqk", "skv", "sq"))
        if sq == 1 or r["class"] != "gqa_prefill":
            continue
        hkv = int(num(r, "kv_width")) // (2 * dqk)
        flops = 2.0 * b * hq * sq * sq * dqk
        ours_tf = flops / num(r, "median_s") * 1e-12
        got = {}
        for p in lib["prefill"]:
            if (p["B"], p["H"], p["Hkv"], p["D"], p["S"], p["causal"]) == (b, hq, hkv, dqk, sq, True) and "ms" in p:
                got[p["backend"]] = p["flops_fwd"] / (p["ms"] * 1e-3) * 1e-12
        f = lambda k: "%9.1f" % got[k] if k in got else "%9s" % "-"
        x = lambda k: "%8.2f" % (ours_tf / got[k]) if k in got else "%8s" % "-"
        print("%-30s %9.1f %s %s %s %s" % ("B%d %d/%d D%d S%d" % (b, hq, hkv, dqk, sq), ours_tf,
                                           f("flash"), f("cudnn"), x("flash"), x("cudnn")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
