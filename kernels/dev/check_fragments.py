#!/usr/bin/env python3
"""check_fragments.py - checks, without a GPU, the ldmatrix / mma.sync fragment
indexing of the tensor-core kernels (kernels/attn_mla.cu, kernels/attn_prefill.cu):
a pure-Python model of `ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16` and
`mma.sync.aligned.m16n8k16.row.col` as the PTX ISA describes them, fed with the
kernels' own address expressions (copied from the .cu files; keep them in step),
against plain matrix products. Exit status 1 on a mismatch.

usage: python3 kernels/dev/check_fragments.py   (a few seconds; standard library only)
"""
import random
import sys

WORST = [0.0]
random.seed(1)

def ldsm(smem, addr_of_lane, lane, trans=False):
    """addr_of_lane(l) = element index given by lane l; returns 4 regs, each a pair."""
    g, t = lane >> 2, lane & 3
    regs = []
    for i in range(4):
        if not trans:
            base = addr_of_lane(8 * i + g)
            regs.append((smem[base + 2 * t], smem[base + 2 * t + 1]))
        else:
            regs.append((smem[addr_of_lane(8 * i + 2 * t) + g], smem[addr_of_lane(8 * i + 2 * t + 1) + g]))
    return regs

def mma(C, A, B0, B1):
    """C: per-lane list of 4 floats (32 lanes). A: per-lane 4 pairs. B0, B1: per-lane pairs."""
    Am = [[0.0] * 16 for _ in range(16)]
    Bm = [[0.0] * 8 for _ in range(16)]
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for e in range(2):
            Am[g][2 * t + e] = A[lane][0][e]
            Am[g + 8][2 * t + e] = A[lane][1][e]
            Am[g][2 * t + 8 + e] = A[lane][2][e]
            Am[g + 8][2 * t + 8 + e] = A[lane][3][e]
            Bm[2 * t + e][g] = B0[lane][e]
            Bm[2 * t + 8 + e][g] = B1[lane][e]
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for e in range(2):
            C[lane][e] += sum(Am[g][k] * Bm[k][2 * t + e] for k in range(16))
            C[lane][2 + e] += sum(Am[g + 8][k] * Bm[k][2 * t + e] for k in range(16))

def check_mla():
    """attn_mla.cu: warps (hg, half) split a 32-key tile for S; P goes through
    shared memory (rows of MLA_PROW) and comes back as A fragments."""
    DQK, ROW, TK, PROW = 576, 584, 32, 40
    hg = 1
    Q = [[random.uniform(-1, 1) for _ in range(DQK)] for _ in range(64)]
    K = [[random.uniform(-1, 1) for _ in range(DQK)] for _ in range(TK)]
    qs = [0.0] * (64 * ROW); kt = [0.0] * (TK * ROW); ps = [0.0] * (64 * PROW)
    for r in range(64):
        for c in range(DQK): qs[r * ROW + c] = Q[r][c]
    for r in range(TK):
        for c in range(DQK): kt[r * ROW + c] = K[r][c]
    S = [[0.0] * TK for _ in range(16)]
    for half in range(2):
        s = [[[0.0] * 4 for _ in range(32)] for _ in range(2)]  # s[nt][lane][4]
        for kk in range(DQK // 16):
            af = [ldsm(qs, lambda l: (hg * 16 + (l & 15)) * ROW + kk * 16 + (l >> 4) * 8, lane) for lane in range(32)]
            bf = [ldsm(kt, lambda l: (16 * half + (l & 7) + (l >> 4) * 8) * ROW + kk * 16 + ((l >> 3) & 1) * 8, lane)
                  for lane in range(32)]
            mma(s[0], af, [bf[l][0] for l in range(32)], [bf[l][1] for l in range(32)])
            mma(s[1], af, [bf[l][2] for l in range(32)], [bf[l][3] for l in range(32)])
        for lane in range(32):  # the kernel's P store (P = S here: no softmax)
            g, t = lane >> 2, lane & 3
            for r in range(2):
                for nt in range(2):
                    base = (hg * 16 + g + 8 * r) * PROW + 16 * half + nt * 8 + t * 2
                    ps[base], ps[base + 1] = s[nt][lane][2 * r], s[nt][lane][2 * r + 1]
                    for e in range(2):
                        S[g + 8 * r][16 * half + nt * 8 + t * 2 + e] = s[nt][lane][2 * r + e]
    err = 0
    for i in range(16):
        for j in range(TK):
            ref = sum(Q[hg * 16 + i][d] * K[j][d] for d in range(DQK))
            err = max(err, abs(ref - S[i][j]))
    print("MLA S max err", err)
    WORST[0] = max(WORST[0], err)
    err = 0
    for half in range(2):
        o = [[[0.0] * 4 for _ in range(32)] for _ in range(32)]
        for kk in range(2):
            pa = [ldsm(ps, lambda l: (hg * 16 + (l & 15)) * PROW + kk * 16 + (l >> 4) * 8, lane) for lane in range(32)]
            for q in range(16):
                vf = [ldsm(kt, lambda l: (kk * 16 + (l & 7) + ((l >> 3) & 1) * 8) * ROW + half * 256 + q * 16 + (l >> 4) * 8,
                           lane, trans=True) for lane in range(32)]
                mma(o[2 * q], pa, [vf[l][0] for l in range(32)], [vf[l][1] for l in range(32)])
                mma(o[2 * q + 1], pa, [vf[l][2] for l in range(32)], [vf[l][3] for l in range(32)])
        for lane in range(32):
            g, t = lane >> 2, lane & 3
            for nt in range(32):
                for r in range(2):
                    for e in range(2):
                        row, dv = g + 8 * r, half * 256 + nt * 8 + t * 2 + e
                        ref = sum(S[row][j] * K[j][dv] for j in range(TK))
                        err = max(err, abs(ref - o[nt][lane][2 * r + e]))
    print("MLA O max err", err)
    WORST[0] = max(WORST[0], err)


def check_prefill(D=64, warp=2):
    ROW, BN = D + 8, 64
    Q = [[random.uniform(-1, 1) for _ in range(D)] for _ in range(64)]
    K = [[random.uniform(-1, 1) for _ in range(D)] for _ in range(BN)]
    V = [[random.uniform(-1, 1) for _ in range(D)] for _ in range(BN)]
    qs = [0.0] * (64 * ROW); ks = [0.0] * (BN * ROW); vs = [0.0] * (BN * ROW)
    for r in range(64):
        for c in range(D): qs[r * ROW + c] = Q[r][c]
    for r in range(BN):
        for c in range(D): ks[r * ROW + c] = K[r][c]; vs[r * ROW + c] = V[r][c]
    qf = [[ldsm(qs, lambda l: (warp * 16 + (l & 15)) * ROW + kk * 16 + (l >> 4) * 8, lane) for lane in range(32)]
          for kk in range(D // 16)]
    s = [[[0.0] * 4 for _ in range(32)] for _ in range(8)]
    for kk in range(D // 16):
        for p in range(4):
            bf = [ldsm(ks, lambda l: (16 * p + (l & 7) + (l >> 4) * 8) * ROW + kk * 16 + ((l >> 3) & 1) * 8, lane)
                  for lane in range(32)]
            mma(s[2 * p], qf[kk], [bf[l][0] for l in range(32)], [bf[l][1] for l in range(32)])
            mma(s[2 * p + 1], qf[kk], [bf[l][2] for l in range(32)], [bf[l][3] for l in range(32)])
    S = [[0.0] * BN for _ in range(16)]
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for nt in range(8):
            for r in range(2):
                for e in range(2):
                    S[g + 8 * r][nt * 8 + t * 2 + e] = s[nt][lane][2 * r + e]
    err = max(abs(S[i][j] - sum(Q[warp * 16 + i][d] * K[j][d] for d in range(D))) for i in range(16) for j in range(BN))
    print("prefill S max err", err)
    WORST[0] = max(WORST[0], err)
    o = [[[0.0] * 4 for _ in range(32)] for _ in range(D // 8)]
    for kk in range(4):
        pa = [[(s[2 * kk][l][0], s[2 * kk][l][1]), (s[2 * kk][l][2], s[2 * kk][l][3]),
               (s[2 * kk + 1][l][0], s[2 * kk + 1][l][1]), (s[2 * kk + 1][l][2], s[2 * kk + 1][l][3])] for l in range(32)]
        for q in range(D // 16):
            vf = [ldsm(vs, lambda l: (kk * 16 + (l & 7) + ((l >> 3) & 1) * 8) * ROW + q * 16 + (l >> 4) * 8,
                       lane, trans=True) for lane in range(32)]
            mma(o[2 * q], pa, [vf[l][0] for l in range(32)], [vf[l][1] for l in range(32)])
            mma(o[2 * q + 1], pa, [vf[l][2] for l in range(32)], [vf[l][3] for l in range(32)])
    err = 0
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for nt in range(D // 8):
            for r in range(2):
                for e in range(2):
                    row, dv = g + 8 * r, nt * 8 + t * 2 + e
                    err = max(err, abs(sum(S[row][j] * V[j][dv] for j in range(BN)) - o[nt][lane][2 * r + e]))
    print("prefill O max err", err)
    WORST[0] = max(WORST[0], err)

if __name__ == "__main__":
    check_mla()
    check_prefill(64, 2)
    check_prefill(128, 3)
    print("fragments: OK" if WORST[0] < 1e-9 else "fragments: MISMATCH")
    sys.exit(0 if WORST[0] < 1e-9 else 1)
