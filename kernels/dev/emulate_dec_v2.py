#!/usr/bin/env python3
"""emulate_dec_v2.py - a lane-by-lane Python emulation of dec_v2 (kernels/attn_decode.cu)
and of its split plan (kernels/bench_host.c bh_split_plan), checked against a direct
softmax(q k^T) v: key-to-lane assignment, the warp-private cp.async ring (stage n % 4,
issued 3 tiles ahead, each lane reading the bytes it copied), tile bases, block-table
lookup once per tile, masking past k_hi and past n_ctx, lane-group and warp merges, and
the split merge done by the last block. Double precision and exact exp2, so any
difference above rounding is a logic error. Keep it in step with the kernel.

usage: python3 kernels/dev/emulate_dec_v2.py   (standard library only; ~1 minute)
"""
import math
import random
import sys

WARPS, U, STAGES, MIN_SPLIT_KEYS = 4, 4, 4, 256
NEG = -math.inf


def split_plan(n_keys, base, occ, sms, align, min_keys, forced):
    cdiv = lambda a, b: (a + b - 1) // b
    if n_keys == 0:
        return 1, align
    tiles = cdiv(n_keys, align)
    if forced > 0:
        s = min(forced, tiles)
    else:
        slots = occ * sms
        want = 1 if base >= slots else slots // base
        s = min(want, n_keys // min_keys)
    s = max(s, 1)
    c = cdiv(cdiv(n_keys, s), align) * align
    return cdiv(n_keys, c), c


def w_of(m, mx):
    return 0.0 if m == NEG else 2.0 ** (m - mx)


def block(a, D, HB, blk, b, kvh, hc, split, chunk):
    """One dec_v2 block; returns {(head, d): (m, l, o_normalised)} for its heads."""
    LPK = D // 8
    KPI = 32 // LPK
    TK = KPI * U
    g = a["hq"] // a["hkv"]
    h0, nh = kvh * g + hc * HB, min(HB, g - hc * HB)
    n_keys = a["nsel"] * a["bs"] if blk else (a["win"] if 0 < a["win"] < a["n_ctx"] else a["n_ctx"])
    start = 0 if blk else a["n_ctx"] - n_keys
    k_lo, k_hi = split * chunk, min(n_keys, split * chunk + chunk)
    ntiles = (k_hi - k_lo + TK - 1) // TK if k_hi > k_lo else 0
    qs = a["scale"] / math.log(2)  # scale * log2(e)
    res_m, res_l, res_acc = {}, {}, {}
    for warp in range(WARPS):
        my = (ntiles - warp + WARPS - 1) // WARPS if ntiles > warp else 0
        ring = {}  # (stage, slot) -> (token or None); slot = u*32 + lane
        lanes = []
        for lane in range(32):
            grp, sub = lane // LPK, lane % LPK
            q = [[(a["q"][b][h0 + h][sub * 8 + j] * qs if h < nh else 0.0) for j in range(8)] for h in range(HB)]
            lanes.append(dict(grp=grp, sub=sub, q=q, m=[NEG] * HB, l=[0.0] * HB, acc=[[0.0] * 8 for _ in range(HB)]))

        def tile_token(n):
            base = k_lo + (warp + n * WARPS) * TK
            if not blk:
                return base, start + base
            bi = base // a["bs"]
            return base, a["blk"][b][kvh][bi] * a["bs"] + (base - bi * a["bs"])

        def issue(n):
            base, tok0 = tile_token(n)
            for lane in range(32):
                grp = lanes[lane]["grp"]
                for u in range(U):
                    tok = tok0 + u * KPI + grp
                    ok = base + u * KPI + grp < k_hi and (not blk or tok < a["n_ctx"])
                    ring[(n % STAGES, u * 32 + lane)] = (tok if ok else None, n)

        for n in range(STAGES - 1):
            if n < my:
                issue(n)
        for n in range(my):
            if n + STAGES - 1 < my:
                issue(n + STAGES - 1)
            base, tok0 = tile_token(n)
            s = [[[0.0] * U for _ in range(HB)] for _ in range(32)]
            for lane in range(32):
                L = lanes[lane]
                for u in range(U):
                    tok, issued_for = ring[(n % STAGES, u * 32 + lane)]
                    assert issued_for == n, "ring slot overwritten before it was read"
                    kf = [a["k"][b][tok][kvh][L["sub"] * 8 + j] if tok is not None else 0.0 for j in range(8)]
                    for h in range(HB):
                        s[lane][h][u] = sum(L["q"][h][j] * kf[j] for j in range(8))
            off = LPK // 2
            while off > 0:  # xor-shuffle reduction inside each lane group
                s = [[[s[lane][h][u] + s[lane ^ off][h][u] for u in range(U)] for h in range(HB)] for lane in range(32)]
                off //= 2
            for lane in range(32):
                L = lanes[lane]
                for u in range(U):
                    tok = tok0 + u * KPI + L["grp"]
                    ok = base + u * KPI + L["grp"] < k_hi and (not blk or tok < a["n_ctx"])
                    if not ok:
                        for h in range(HB):
                            s[lane][h][u] = NEG
                for h in range(HB):
                    mx = max([L["m"][h]] + s[lane][h])
                    al = w_of(L["m"][h], mx)
                    p = [0.0 if x == NEG else 2.0 ** (x - mx) for x in s[lane][h]]
                    L["l"][h] = L["l"][h] * al + sum(p)
                    L["m"][h] = mx
                    L["acc"][h] = [x * al for x in L["acc"][h]]
                    s[lane][h] = p
                for u in range(U):
                    tok, _ = ring[(n % STAGES, u * 32 + lane)]
                    vf = [a["v"][b][tok][kvh][L["sub"] * 8 + j] if tok is not None else 0.0 for j in range(8)]
                    for h in range(HB):
                        for j in range(8):
                            L["acc"][h][j] += s[lane][h][u] * vf[j]
        off = LPK
        while off < 32:  # merge lane groups
            new = []
            for lane in range(32):
                A, B = lanes[lane], lanes[lane ^ off]
                m, l, acc = [], [], []
                for h in range(HB):
                    mx = max(A["m"][h], B["m"][h])
                    w0, w1 = w_of(A["m"][h], mx), w_of(B["m"][h], mx)
                    m.append(mx)
                    l.append(A["l"][h] * w0 + B["l"][h] * w1)
                    acc.append([A["acc"][h][j] * w0 + B["acc"][h][j] * w1 for j in range(8)])
                new.append(dict(A, m=m, l=l, acc=acc))
            lanes = new
            off *= 2
        for lane in range(LPK):  # grp 0 writes the warp's result
            L = lanes[lane]
            for h in range(HB):
                res_m[(warp, h)], res_l[(warp, h)] = L["m"][h], L["l"][h]
                for j in range(8):
                    res_acc[(warp, h, L["sub"] * 8 + j)] = L["acc"][h][j]
    out = {}
    for h in range(nh):
        mx = max(res_m[(w, h)] for w in range(WARPS))
        for d in range(D):
            num = sum(w_of(res_m[(w, h)], mx) * res_acc[(w, h, d)] for w in range(WARPS))
            den = sum(w_of(res_m[(w, h)], mx) * res_l[(w, h)] for w in range(WARPS))
            out[(h0 + h, d)] = (mx, den, num / den if den > 0 else 0.0)
    return out


def run(a, D, forced):
    g = a["hq"] // a["hkv"]
    HB = 1
    while HB < g and HB < 8:
        HB *= 2
    nchunks = (g + HB - 1) // HB
    blk = a["blk"] is not None
    n_keys = a["nsel"] * a["bs"] if blk else (a["win"] if 0 < a["win"] < a["n_ctx"] else a["n_ctx"])
    TK = (256 // D) * U
    splits, chunk = split_plan(n_keys, a["b"] * a["hkv"] * nchunks, 3, 132, TK, MIN_SPLIT_KEYS, forced)
    assert (splits - 1) * chunk < n_keys or n_keys == 0
    o = {}
    for b in range(a["b"]):
        for kvh in range(a["hkv"]):
            for hc in range(nchunks):
                parts = [block(a, D, HB, blk, b, kvh, hc, sp, chunk) for sp in range(splits)]
                for key in parts[0]:
                    if splits == 1:
                        o[(b,) + key] = parts[0][key][2]
                        continue
                    live = [p[key] for p in parts if p[key][1] > 0]
                    mx = max((x[0] for x in live), default=NEG)
                    num = sum(x[1] * 2.0 ** (x[0] - mx) * x[2] for x in live)
                    den = sum(x[1] * 2.0 ** (x[0] - mx) for x in live)
                    o[(b,) + key] = num / den if den > 0 else 0.0
    return o, splits


def reference(a, D):
    g = a["hq"] // a["hkv"]
    blk = a["blk"] is not None
    n = a["nsel"] * a["bs"] if blk else (a["win"] if 0 < a["win"] < a["n_ctx"] else a["n_ctx"])
    start = 0 if blk else a["n_ctx"] - n
    o = {}
    for b in range(a["b"]):
        for h in range(a["hq"]):
            kvh = h // g
            toks = []
            for i in range(n):
                t = a["blk"][b][kvh][i // a["bs"]] * a["bs"] + i % a["bs"] if blk else start + i
                if t < a["n_ctx"]:
                    toks.append(t)
            sc = [a["scale"] * sum(a["q"][b][h][d] * a["k"][b][t][kvh][d] for d in range(D)) for t in toks]
            mx = max(sc) if sc else 0
            p = [math.exp(x - mx) for x in sc]
            for d in range(D):
                o[(b, h, d)] = sum(pi * a["v"][b][t][kvh][d] for pi, t in zip(p, toks)) / sum(p) if p else 0.0
    return o


def case(D, B, hq, hkv, n_ctx, win=0, nsel=0, bs=0, forced=0, seed=0):
    rnd = random.Random(seed)
    r = lambda: rnd.uniform(-1, 1)
    a = dict(b=B, hq=hq, hkv=hkv, n_ctx=n_ctx, win=win, nsel=nsel, bs=bs, scale=12 / math.sqrt(D))
    a["q"] = [[[r() for _ in range(D)] for _ in range(hq)] for _ in range(B)]
    a["k"] = [[[[r() for _ in range(D)] for _ in range(hkv)] for _ in range(n_ctx)] for _ in range(B)]
    a["v"] = [[[[r() for _ in range(D)] for _ in range(hkv)] for _ in range(n_ctx)] for _ in range(B)]
    a["blk"] = None
    if nsel:
        nb = (n_ctx + bs - 1) // bs
        # the last (partial) block, block 0, then others drawn: nsel distinct blocks
        pick = lambda: sorted(([nb - 1, 0] + rnd.sample(range(1, nb - 1), nsel - 2))[:nsel]) if nsel > 1 else [nb - 1]
        a["blk"] = [[pick() for _ in range(hkv)] for _ in range(B)]
    got, splits = run(a, D, forced)
    ref = reference(a, D)
    err = max(abs(got[k] - ref[k]) for k in ref)
    print("D=%d B=%d %d/%d n_ctx=%d win=%d nsel=%d bs=%d forced=%d -> %d splits: max err %.2e" % (
        D, B, hq, hkv, n_ctx, win, nsel, bs, forced, splits, err))
    return err


if __name__ == "__main__":
    worst = 0
    worst = max(worst, case(32, 1, 6, 2, 300, forced=3))          # g 3 (4 heads per block, 3 used)
    worst = max(worst, case(64, 1, 2, 1, 613, forced=0))          # auto: 2 splits
    worst = max(worst, case(128, 1, 2, 2, 45, forced=1))          # one split, partial tiles
    worst = max(worst, case(128, 1, 4, 2, 1001, win=33, forced=5))
    worst = max(worst, case(256, 1, 1, 1, 37, forced=4))          # D 256: one key per pass
    worst = max(worst, case(64, 1, 2, 1, 5 * 16 + 3, nsel=3, bs=16, forced=3))  # partial last block
    worst = max(worst, case(32, 1, 16, 1, 100, forced=2))         # g 16: 2 chunks of 8
    ok = worst < 1e-9
    print("emulation: OK" if ok else "emulation: MISMATCH")
    sys.exit(0 if ok else 1)
