/* attn_decode.cu - the decode attention kernels; see attn_decode.h for the
 * variants they cover.
 *
 * dec_v2 (version 2, the bandwidth kernel). Napkin math, GQA decode on H100
 * SXM: each cached K and V element is read once for all G query heads of its
 * group; bytes = 2 (B Hkv n (Dqk + Dv) + B Hq (Dqk + Dv)) (bf16), FLOPs =
 * 2 B Hq n (Dqk + Dv), i.e. G FLOP per byte: G = 4 (Llama-3 32/8) is 4 FLOP/B,
 * far under the fp32 CUDA-core balance (~20 FLOP/B), so the floor is bytes /
 * 3.35e12 B/s: B = 32, L = 4096, Hkv = 8, D = 128 moves 537 MB, 160 us.
 * Layout: 4 warps per block, one block per (sequence, KV head, chunk of <= 8
 * query heads, split). A warp owns every fourth tile of TK keys of its split;
 * within a warp, D/8 lanes share one key (16 bytes = 8 bf16 each) and
 * 32/(D/8) keys are in flight per pass. Each lane copies exactly the 16-byte
 * pieces it later reads (cp.async.cg, zero-filled past the end) through a
 * DEC_STAGES-deep warp-private shared-memory ring: no block barrier in the
 * key loop. q (scaled by scale*log2 e) and the (head, 8-dim) accumulators
 * live in registers; softmax is online per lane group in base 2, one max
 * update per DEC_U keys. Then lane groups merge by shuffles, warps through
 * shared memory, and splits in the last block of a (sequence, head group) to
 * finish (atomic ticket; the ticket is reset for the next launch).
 * Variants: the block table is read once per tile (block size a multiple of
 * TK); a window is a start offset. Nothing else differs.
 *
 * dec_v1 (version 1): the first kernel (4-byte loads, synchronous 32-key
 * tiles, q in shared memory), kept as the baseline and for MLA absorbed
 * until the tensor-core kernel (issue 16). */
#include "attn_decode.h"

#include <cfloat>
#include <cstdio>
#include <cstring>

#include "bench_host.h"
#include "cuda_check.h"

__host__ __device__ static inline int cdiv(int a, int b) { return (a + b - 1) / b; }

/* ---- version 2 ------------------------------------------------------------- */

#define DEC_WARPS 4
#define DEC_THREADS2 (DEC_WARPS * 32)
#define DEC_U 4        /* passes per tile: one softmax max update per DEC_U keys per group */
#define DEC_STAGES 4   /* cp.async ring depth per warp */
#define DEC_HB_MAX 8   /* query heads per block at most */
#define DEC_MIN_SPLIT_KEYS 256

/* keys per warp tile for head dim D: (32 / (D / 8)) keys per pass x DEC_U */
__host__ __device__ constexpr int dec_tk(int d) { return (256 / d) * DEC_U; }
/* shared memory of one block: DEC_WARPS rings of DEC_STAGES (K, V) tiles;
 * the warp merge reuses it (needs DEC_WARPS * hb * (D + 2) floats, less). */
__host__ __device__ constexpr int dec_smem2(int d) { return DEC_WARPS * DEC_STAGES * 2 * dec_tk(d) * d * 2; }

__device__ __forceinline__ void cp_async16(void *dst, const void *src, bool valid)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src),
                 "r"(valid ? 16 : 0)
                 : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ float ex2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
__device__ __forceinline__ void bf16x8_to_float(const uint4 &r, float *f)
{
    const unsigned w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f[2 * i] = __uint_as_float(w[i] << 16);
        f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}

/* Weight of a partial (m, l) result relative to the running max mx (base 2);
 * 0 for an empty partial. */
__device__ __forceinline__ float dec_w(float m, float mx) { return m == -INFINITY ? 0.f : ex2(m - mx); }

/* Token of key index `base` (a tile start): start + base, or through the
 * block table (a tile never straddles two blocks). */
template <bool BLK>
__device__ __forceinline__ long long dec_tile_token(const struct dec_args &a, const int *blk,
                                                    int start, int base)
{
    if (!BLK) return (long long)start + base;
    const int bi = base / a.blk_size;
    return (long long)blk[bi] * a.blk_size + (base - bi * a.blk_size);
}

template <int D, int HB, bool BLK>
__global__ void __launch_bounds__(DEC_THREADS2, 1) /* no register cap: no spills */
    dec_v2(const struct dec_args a, int nchunks, int chunk, int splits)
{
    constexpr int LPK = D / 8, KPI = 32 / LPK, TK = KPI * DEC_U;
    constexpr int TILE_BYTES = TK * D * 2; /* K or V of one tile */
    extern __shared__ __align__(16) unsigned char smem2[];
    __shared__ int s_last;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int grp = lane / LPK, sub = lane % LPK;
    const int g = a.hq / a.hkv;
    const int hc = blockIdx.x % nchunks, kvh = (blockIdx.x / nchunks) % a.hkv;
    const int b = blockIdx.x / (nchunks * a.hkv), split = blockIdx.y;
    const int h0 = kvh * g + hc * HB, nh = min(HB, g - hc * HB);
    const int n_keys = BLK ? a.nsel * a.blk_size : (a.win > 0 && a.win < a.n_ctx ? a.win : a.n_ctx);
    const int start = BLK ? 0 : a.n_ctx - n_keys;
    const int k_lo = split * chunk, k_hi = min(n_keys, k_lo + chunk);

    /* q in registers, pre-scaled for base-2 softmax */
    const float qs = a.scale * 1.4426950408889634f;
    float q[HB][8];
#pragma unroll
    for (int h = 0; h < HB; h++) {
        uint4 r = make_uint4(0, 0, 0, 0);
        if (h < nh) r = *(const uint4 *)(a.q + ((long long)b * a.hq + h0 + h) * D + sub * 8);
        bf16x8_to_float(r, q[h]);
#pragma unroll
        for (int j = 0; j < 8; j++) q[h][j] *= qs;
    }
    float m[HB], l[HB], acc[HB][8];
#pragma unroll
    for (int h = 0; h < HB; h++) {
        m[h] = -INFINITY, l[h] = 0;
#pragma unroll
        for (int j = 0; j < 8; j++) acc[h][j] = 0;
    }

    const __nv_bfloat16 *kb = a.k + b * a.k_bs + kvh * a.k_hs + sub * 8;
    const __nv_bfloat16 *vb = a.v + b * a.v_bs + kvh * a.v_hs + sub * 8;
    const int *blk = BLK ? a.blk + ((long long)b * a.hkv + kvh) * a.nsel : nullptr;
    unsigned char *ring = smem2 + warp * DEC_STAGES * 2 * TILE_BYTES;
    const int ntiles = k_hi > k_lo ? cdiv(k_hi - k_lo, TK) : 0;
    const int my_tiles = ntiles > warp ? cdiv(ntiles - warp, DEC_WARPS) : 0;

    /* first key index and token of tile n of this warp: one block-table read per tile */
#define DEC_TILE_BASE(n) (k_lo + (warp + (n) * DEC_WARPS) * TK)
    auto issue = [&](int n) {
        const int base = DEC_TILE_BASE(n);
        const long long tok0 = dec_tile_token<BLK>(a, blk, start, base);
        unsigned char *st = ring + (n % DEC_STAGES) * 2 * TILE_BYTES;
#pragma unroll
        for (int u = 0; u < DEC_U; u++) {
            const long long tok = tok0 + u * KPI + grp;
            const bool ok = base + u * KPI + grp < k_hi && (!BLK || tok < a.n_ctx);
            cp_async16(st + (u * 32 + lane) * 16, ok ? (const void *)(kb + tok * a.k_ts) : a.k, ok);
            cp_async16(st + TILE_BYTES + (u * 32 + lane) * 16,
                       ok ? (const void *)(vb + tok * a.v_ts) : a.k, ok);
        }
    };
#pragma unroll
    for (int n = 0; n < DEC_STAGES - 1; n++) {
        if (n < my_tiles) issue(n);
        cp_async_commit();
    }
    for (int n = 0; n < my_tiles; n++) {
        if (n + DEC_STAGES - 1 < my_tiles) issue(n + DEC_STAGES - 1);
        cp_async_commit();
        cp_async_wait<DEC_STAGES - 1>();
        const int base = DEC_TILE_BASE(n);
        const long long tok0 = dec_tile_token<BLK>(a, blk, start, base);
        const unsigned char *st = ring + (n % DEC_STAGES) * 2 * TILE_BYTES;
        float s[HB][DEC_U];
#pragma unroll
        for (int u = 0; u < DEC_U; u++) {
            float kf[8];
            bf16x8_to_float(*(const uint4 *)(st + (u * 32 + lane) * 16), kf);
#pragma unroll
            for (int h = 0; h < HB; h++) {
                float x = 0;
#pragma unroll
                for (int j = 0; j < 8; j++) x = fmaf(q[h][j], kf[j], x);
                s[h][u] = x;
            }
        }
#pragma unroll
        for (int off = LPK / 2; off > 0; off >>= 1)
#pragma unroll
            for (int h = 0; h < HB; h++)
#pragma unroll
                for (int u = 0; u < DEC_U; u++)
                    s[h][u] += __shfl_xor_sync(0xffffffffu, s[h][u], off);
#pragma unroll
        for (int u = 0; u < DEC_U; u++) {
            const long long tok = tok0 + u * KPI + grp;
            const bool ok = base + u * KPI + grp < k_hi && (!BLK || tok < a.n_ctx);
            if (!ok)
#pragma unroll
                for (int h = 0; h < HB; h++) s[h][u] = -INFINITY;
        }
#pragma unroll
        for (int h = 0; h < HB; h++) {
            float mx = m[h];
#pragma unroll
            for (int u = 0; u < DEC_U; u++) mx = fmaxf(mx, s[h][u]);
            const float al = dec_w(m[h], mx);
            float sum = 0;
#pragma unroll
            for (int u = 0; u < DEC_U; u++) {
                s[h][u] = s[h][u] == -INFINITY ? 0.f : ex2(s[h][u] - mx);
                sum += s[h][u];
            }
            l[h] = l[h] * al + sum;
            m[h] = mx;
#pragma unroll
            for (int j = 0; j < 8; j++) acc[h][j] *= al;
        }
#pragma unroll
        for (int u = 0; u < DEC_U; u++) {
            float vf[8];
            bf16x8_to_float(*(const uint4 *)(st + TILE_BYTES + (u * 32 + lane) * 16), vf);
#pragma unroll
            for (int h = 0; h < HB; h++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[h][j] = fmaf(s[h][u], vf[j], acc[h][j]);
        }
    }
    cp_async_wait<0>();
#undef DEC_TILE_BASE

    /* merge the lane groups of the warp (same sub = same dims) */
#pragma unroll
    for (int off = LPK; off < 32; off <<= 1)
#pragma unroll
        for (int h = 0; h < HB; h++) {
            const float mo = __shfl_xor_sync(0xffffffffu, m[h], off);
            const float lo = __shfl_xor_sync(0xffffffffu, l[h], off);
            const float mx = fmaxf(m[h], mo), w0 = dec_w(m[h], mx), w1 = dec_w(mo, mx);
            l[h] = l[h] * w0 + lo * w1;
            m[h] = mx;
#pragma unroll
            for (int j = 0; j < 8; j++)
                acc[h][j] = acc[h][j] * w0 + __shfl_xor_sync(0xffffffffu, acc[h][j], off) * w1;
        }

    /* merge the warps through shared memory (the rings are done) */
    __syncthreads();
    float *r_acc = (float *)smem2;                  /* (WARPS, HB, D) */
    float *r_m = r_acc + DEC_WARPS * HB * D;        /* (WARPS, HB) */
    float *r_l = r_m + DEC_WARPS * HB;
    if (grp == 0) {
#pragma unroll
        for (int h = 0; h < HB; h++) {
            float4 *dst = (float4 *)(r_acc + (warp * HB + h) * D + sub * 8);
            dst[0] = make_float4(acc[h][0], acc[h][1], acc[h][2], acc[h][3]);
            dst[1] = make_float4(acc[h][4], acc[h][5], acc[h][6], acc[h][7]);
            if (sub == 0) r_m[warp * HB + h] = m[h], r_l[warp * HB + h] = l[h];
        }
    }
    __syncthreads();
    const long long row0 = (long long)b * a.hq + h0;
    int *ticket = (int *)a.ws;                                 /* (gridDim.x), first */
    float *part_o = a.ws + (gridDim.x + 3) / 4 * 4;            /* (B Hq, splits, D) */
    float *part_ml = part_o + (size_t)a.b * a.hq * splits * D; /* (B Hq, splits, 2) */
    for (int e = tid; e < nh * D; e += DEC_THREADS2) {
        const int h = e / D, d = e % D;
        float mx = -INFINITY;
#pragma unroll
        for (int w = 0; w < DEC_WARPS; w++) mx = fmaxf(mx, r_m[w * HB + h]);
        float num = 0, den = 0;
#pragma unroll
        for (int w = 0; w < DEC_WARPS; w++) {
            const float wt = dec_w(r_m[w * HB + h], mx);
            num += wt * r_acc[(w * HB + h) * D + d];
            den += wt * r_l[w * HB + h];
        }
        const float out = den > 0 ? num / den : 0.f;
        if (splits == 1) {
            a.o[(row0 + h) * D + d] = __float2bfloat16(out);
        } else {
            part_o[((row0 + h) * splits + split) * D + d] = out;
            if (d == 0) {
                part_ml[((row0 + h) * splits + split) * 2] = mx;
                part_ml[((row0 + h) * splits + split) * 2 + 1] = den;
            }
        }
    }
    if (splits == 1) return;

    /* the last split block to finish merges all splits of its heads */
    __threadfence();
    __syncthreads();
    if (tid == 0) s_last = atomicAdd(&ticket[blockIdx.x], 1) == splits - 1;
    __syncthreads();
    if (!s_last) return;
    __threadfence();
    for (int e = tid; e < nh * D; e += DEC_THREADS2) {
        const int h = e / D, d = e % D;
        const float *ml = part_ml + (row0 + h) * splits * 2;
        const float *po = part_o + (row0 + h) * splits * D + d;
        float mx = -INFINITY;
        for (int sp = 0; sp < splits; sp++)
            if (__ldcg(ml + 2 * sp + 1) > 0) mx = fmaxf(mx, __ldcg(ml + 2 * sp));
        float num = 0, den = 0;
        for (int sp = 0; sp < splits; sp++) {
            const float ls = __ldcg(ml + 2 * sp + 1);
            if (!(ls > 0)) continue;
            const float wt = ls * ex2(__ldcg(ml + 2 * sp) - mx);
            num += wt * __ldcg(po + (size_t)sp * D);
            den += wt;
        }
        a.o[(row0 + h) * D + d] = __float2bfloat16(den > 0 ? num / den : 0.f);
    }
    if (tid == 0) ticket[blockIdx.x] = 0;
}

/* ---- version 1 ------------------------------------------------------------- */

#define DEC_THREADS 128
#define DEC_TILE 32 /* keys per tile = warp size (softmax: lane = key) */
#define DEC_HB 16   /* query heads per block at most */

int dec_keys(const struct dec_args *a)
{
    return (int)bh_dec_keys(a->n_ctx, a->win, a->blk != NULL, a->nsel, a->blk_size);
}

__device__ static inline int key_token(const struct dec_args &a, int b, int h, int i, int start)
{
    if (a.blk) {
        const int sel = a.blk[((long long)b * a.hkv + h) * a.nsel + i / a.blk_size];
        return sel * a.blk_size + i % a.blk_size;
    }
    return start + i;
}

template <int ACC>
__global__ void __launch_bounds__(DEC_THREADS)
    dec_v1(const struct dec_args a, int hb, int chunk, int splits)
{
    extern __shared__ float smem[];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = a.hq / a.hkv, nchunks = cdiv(g, hb);
    const int hc = blockIdx.x % nchunks, kvh = (blockIdx.x / nchunks) % a.hkv;
    const int b = blockIdx.x / (nchunks * a.hkv), split = blockIdx.y;
    const int h0 = kvh * g + hc * hb, nh = min(hb, g - hc * hb);
    const int n_keys = a.blk ? a.nsel * a.blk_size
                             : (a.win > 0 && a.win < a.n_ctx ? a.win : a.n_ctx);
    const int start = a.blk ? 0 : a.n_ctx - n_keys;
    const int k_lo = split * chunk, k_hi = min(n_keys, k_lo + chunk);
    const int kw = a.dqk / 2 + 1, vw = a.dv / 2 + 1; /* row strides in 32-bit words (odd) */

    float *qs = smem;                                  /* (hb, dqk), scaled */
    float *sc = qs + hb * a.dqk;                       /* (hb, TILE) scores, then p */
    float *mrow = sc + hb * DEC_TILE, *lrow = mrow + hb, *alpha = lrow + hb;
    unsigned *ks = (unsigned *)(alpha + hb);           /* (TILE, kw) bf16 pairs */
    unsigned *vs = a.v_in_k ? ks : ks + DEC_TILE * kw; /* (TILE, vw) */
    const int vstride = a.v_in_k ? 2 * kw : 2 * vw;    /* in bf16 elements */

    for (int i = tid; i < hb * a.dqk; i += DEC_THREADS) {
        const int h = i / a.dqk, d = i % a.dqk;
        qs[i] = h < nh ? __bfloat162float(a.q[((long long)b * a.hq + h0 + h) * a.dqk + d]) * a.scale
                       : 0.f;
    }
    for (int h = tid; h < hb; h += DEC_THREADS) mrow[h] = -FLT_MAX, lrow[h] = 0, alpha[h] = 1;
    float acc[ACC];
#pragma unroll
    for (int i = 0; i < ACC; i++) acc[i] = 0;
    __syncthreads();

    for (int t0 = k_lo; t0 < k_hi; t0 += DEC_TILE) {
        const int nt = min(DEC_TILE, k_hi - t0);
        for (int i = tid; i < nt * (a.dqk / 2); i += DEC_THREADS) {
            const int j = i / (a.dqk / 2), c = i % (a.dqk / 2);
            const long long tok = key_token(a, b, kvh, t0 + j, start);
            ks[j * kw + c] = ((const unsigned *)(a.k + b * a.k_bs + tok * a.k_ts + kvh * a.k_hs))[c];
        }
        if (!a.v_in_k)
            for (int i = tid; i < nt * (a.dv / 2); i += DEC_THREADS) {
                const int j = i / (a.dv / 2), c = i % (a.dv / 2);
                const long long tok = key_token(a, b, kvh, t0 + j, start);
                vs[j * vw + c] =
                    ((const unsigned *)(a.v + b * a.v_bs + tok * a.v_ts + kvh * a.v_hs))[c];
            }
        __syncthreads();
        for (int i = tid; i < hb * DEC_TILE; i += DEC_THREADS) {
            const int h = i / DEC_TILE, j = i % DEC_TILE;
            float s = -FLT_MAX;
            if (j < nt && h < nh) {
                s = 0;
                const float *qh = qs + h * a.dqk;
                const __nv_bfloat162 *kr = (const __nv_bfloat162 *)(ks + j * kw);
                for (int c = 0; c < a.dqk / 2; c++) {
                    const float2 kf = __bfloat1622float2(kr[c]);
                    s += qh[2 * c] * kf.x + qh[2 * c + 1] * kf.y;
                }
            }
            sc[i] = s;
        }
        __syncthreads();
        for (int h = warp; h < hb; h += DEC_THREADS / 32) {
            const float s = sc[h * DEC_TILE + lane];
            float mx = s;
            for (int o = 16; o; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
            const float m_old = mrow[h], m_new = fmaxf(m_old, mx);
            const float p = s == -FLT_MAX ? 0.f : __expf(s - m_new);
            float sum = p;
            for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
            sc[h * DEC_TILE + lane] = p;
            __syncwarp();
            if (lane == 0) {
                const float al = m_old == -FLT_MAX ? (m_new == -FLT_MAX ? 1.f : 0.f)
                                                   : __expf(m_old - m_new);
                lrow[h] = lrow[h] * al + sum;
                mrow[h] = m_new;
                alpha[h] = al;
            }
        }
        __syncthreads();
        const __nv_bfloat16 *vb = (const __nv_bfloat16 *)vs;
#pragma unroll
        for (int i = 0; i < ACC; i++) {
            const int e = tid + i * DEC_THREADS;
            if (e < hb * a.dv) {
                const int h = e / a.dv, d = e % a.dv;
                float x = acc[i] * alpha[h];
                for (int j = 0; j < nt; j++)
                    x += sc[h * DEC_TILE + j] * __bfloat162float(vb[j * vstride + d]);
                acc[i] = x;
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < ACC; i++) {
        const int e = tid + i * DEC_THREADS;
        if (e >= hb * a.dv) continue;
        const int h = e / a.dv, d = e % a.dv;
        if (h >= nh) continue;
        const long long row = (long long)b * a.hq + h0 + h;
        const float l = lrow[h], out = l > 0 ? acc[i] / l : 0.f;
        if (splits == 1) {
            a.o[row * a.dv + d] = __float2bfloat16(out);
        } else {
            float *part = a.ws + (row * splits + split) * (a.dv + 2);
            part[2 + d] = out;
            if (d == 0) part[0] = mrow[h], part[1] = l;
        }
    }
}

/* Merges the splits of one (sequence, head): o = sum_s w_s o_s / sum_s w_s,
 * w_s = l_s exp(m_s - max m). */
__global__ void dec_v1_reduce(const float *ws, __nv_bfloat16 *o, int splits, int dv)
{
    const long long row = blockIdx.x;
    const float *p = ws + row * splits * (dv + 2);
    float mx = -FLT_MAX;
    for (int s = 0; s < splits; s++)
        if (p[s * (dv + 2) + 1] > 0) mx = fmaxf(mx, p[s * (dv + 2)]);
    for (int d = threadIdx.x; d < dv; d += blockDim.x) {
        float num = 0, den = 0;
        for (int s = 0; s < splits; s++) {
            const float *q = p + s * (dv + 2);
            if (!(q[1] > 0)) continue;
            const float w = q[1] * __expf(q[0] - mx);
            num += w * q[2 + d];
            den += w;
        }
        o[row * dv + d] = __float2bfloat16(den > 0 ? num / den : 0.f);
    }
}

/* ---- host side ------------------------------------------------------------- */

typedef void (*dec_v2_fn)(const struct dec_args, int, int, int);

template <int D> static dec_v2_fn dec_v2_pick_hb(int hb, bool blk)
{
    switch (hb) {
    case 1: return blk ? dec_v2<D, 1, true> : dec_v2<D, 1, false>;
    case 2: return blk ? dec_v2<D, 2, true> : dec_v2<D, 2, false>;
    case 4: return blk ? dec_v2<D, 4, true> : dec_v2<D, 4, false>;
    case 8: return blk ? dec_v2<D, 8, true> : dec_v2<D, 8, false>;
    }
    return nullptr;
}

static dec_v2_fn dec_v2_pick(int d, int hb, bool blk)
{
    switch (d) {
    case 32: return dec_v2_pick_hb<32>(hb, blk);
    case 64: return dec_v2_pick_hb<64>(hb, blk);
    case 128: return dec_v2_pick_hb<128>(hb, blk);
    case 256: return dec_v2_pick_hb<256>(hb, blk);
    }
    return nullptr;
}

/* Resident blocks per SM of one v2 instantiation; sets its shared-memory
 * limit first. Cached per kernel (host calls, not device time). */
static int dec_v2_occupancy(dec_v2_fn fn, int d)
{
    static struct { dec_v2_fn fn; int occ; } cache[32];
    static int n;
    for (int i = 0; i < n; i++)
        if (cache[i].fn == fn) return cache[i].occ;
    const int smem = dec_smem2(d);
    CUDA_CHECK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    int occ = 0;
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, fn, DEC_THREADS2, smem));
    if (n < 32) cache[n].fn = fn, cache[n].occ = occ, n++;
    return occ;
}

static int dec_sm_count(const struct dec_args *a)
{
    if (a->sm_count > 0) return a->sm_count;
    int dev, sms;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return sms;
}

static bool aligned16(const void *p) { return ((unsigned long long)p & 15) == 0; }

/* Why version 2 cannot run these arguments, or NULL. */
static const char *dec_v2_refusal(const struct dec_args *a)
{
    if (a->v_in_k) return "V inside the K row (MLA) is version 1 only";
    if (a->dqk != a->dv) return "dqk != dv";
    if (a->dqk != 32 && a->dqk != 64 && a->dqk != 128 && a->dqk != 256)
        return "head dim not 32, 64, 128 or 256";
    if (a->hkv <= 0 || a->hq % a->hkv) return "hq not a multiple of hkv";
    if (a->blk && a->blk_size % dec_tk(a->dqk))
        return "block size not a multiple of the tile (256 / D * 4 keys)";
    if (a->k_bs % 8 || a->k_ts % 8 || a->k_hs % 8 || a->v_bs % 8 || a->v_ts % 8 || a->v_hs % 8)
        return "K/V strides not multiples of 8 elements";
    if (!a->v || !aligned16(a->q) || !aligned16(a->k) || !aligned16(a->v))
        return "q, K or V not 16-byte aligned";
    return nullptr;
}

/* MLA absorbed on tensor cores (attn_mla.cu). */
const char *mla_mma_refusal(const struct dec_args *a);
int mla_mma_occupancy(void);
void mla_mma_launch(const struct dec_args *a, int chunk, int splits, cudaStream_t s);

int dec_plan(const struct dec_args *a, struct dec_launch *p, char *why, size_t why_n)
{
    memset(p, 0, sizeof *p);
    p->n_keys = dec_keys(a);
    const char *no2 = dec_v2_refusal(a), *no3 = mla_mma_refusal(a);
    p->version = a->version ? a->version : !no2 ? 2 : !no3 ? 3 : 1;
    if (p->version < 1 || p->version > 3) {
        snprintf(why, why_n, "decode version %d does not exist", a->version);
        return -1;
    }
    if ((p->version == 2 && no2) || (p->version == 3 && no3)) {
        snprintf(why, why_n, "decode version %d cannot run this shape: %s", p->version,
                 p->version == 2 ? no2 : no3);
        return -1;
    }
    const int g = a->hq / a->hkv, sms = dec_sm_count(a);
    int occ, align, min_keys;
    if (p->version == 2) {
        int hb = 1;
        while (hb < g && hb < DEC_HB_MAX) hb *= 2;
        p->heads_per_block = hb;
        occ = dec_v2_occupancy(dec_v2_pick(a->dqk, hb, a->blk != NULL), a->dqk);
        align = dec_tk(a->dqk), min_keys = DEC_MIN_SPLIT_KEYS;
    } else if (p->version == 3) {
        p->heads_per_block = 64;
        occ = mla_mma_occupancy(), align = 32, min_keys = DEC_MIN_SPLIT_KEYS;
    } else {
        p->heads_per_block = g < DEC_HB ? g : DEC_HB;
        occ = 2, align = DEC_TILE, min_keys = 4 * DEC_TILE; /* the first kernel's rule */
    }
    p->nchunks = cdiv(g, p->heads_per_block);
    if (bh_split_plan(p->n_keys, (long long)a->b * a->hkv * p->nchunks, occ > 0 ? occ : 1, sms,
                      align, min_keys, a->splits, &p->splits, &p->chunk)) {
        snprintf(why, why_n, "decode: bad split arguments");
        return -1;
    }
    return 0;
}

static void dec_plan_or_die(const struct dec_args *a, struct dec_launch *p)
{
    char why[160];
    if (dec_plan(a, p, why, sizeof why)) {
        fprintf(stderr, "%s\n", why);
        exit(1);
    }
}

int dec_splits(const struct dec_args *a)
{
    struct dec_launch p;
    dec_plan_or_die(a, &p);
    return p.splits;
}

size_t dec_workspace_floats(const struct dec_args *a)
{
    struct dec_launch p;
    dec_plan_or_die(a, &p);
    const size_t rows = (size_t)a->b * a->hq * p.splits;
    if (p.version != 2) return rows * (a->dv + 2); /* v1 and v3: dec_v1_reduce's layout */
    const size_t tickets = ((size_t)a->b * a->hkv * p.nchunks + 3) / 4 * 4;
    return tickets + rows * (a->dv + 2);
}

template <int ACC>
static void launch_v1(const struct dec_args *a, int hb, int chunk, int splits, size_t smem,
                      dim3 grid, cudaStream_t s)
{
    CUDA_CHECK(cudaFuncSetAttribute(dec_v1<ACC>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    (int)smem));
    dec_v1<ACC><<<grid, DEC_THREADS, smem, s>>>(*a, hb, chunk, splits);
    CUDA_LAUNCH_CHECK();
}

void dec_attention(const struct dec_args *a, cudaStream_t s)
{
    struct dec_launch p;
    dec_plan_or_die(a, &p);
    const int hb = p.heads_per_block, splits = p.splits;
    const dim3 grid(a->b * a->hkv * p.nchunks, splits);
    if (p.version == 2) {
        dec_v2_fn fn = dec_v2_pick(a->dqk, hb, a->blk != NULL);
        dec_v2_occupancy(fn, a->dqk); /* sets the shared-memory limit */
        fn<<<grid, DEC_THREADS2, dec_smem2(a->dqk), s>>>(*a, p.nchunks, p.chunk, splits);
        CUDA_LAUNCH_CHECK();
        return;
    }
    if (p.version == 3) {
        mla_mma_launch(a, p.chunk, splits, s);
        if (splits > 1) {
            dec_v1_reduce<<<a->b * a->hq, 128, 0, s>>>(a->ws, a->o, splits, a->dv);
            CUDA_LAUNCH_CHECK();
        }
        return;
    }
    const size_t smem = sizeof(float) * ((size_t)hb * a->dqk + (size_t)hb * DEC_TILE + 3 * hb) +
                        4 * (size_t)DEC_TILE * ((a->dqk / 2 + 1) + (a->v_in_k ? 0 : a->dv / 2 + 1));
    const int need = cdiv(hb * a->dv, DEC_THREADS);
    if (need <= 4) launch_v1<4>(a, hb, p.chunk, splits, smem, grid, s);
    else if (need <= 8) launch_v1<8>(a, hb, p.chunk, splits, smem, grid, s);
    else if (need <= 16) launch_v1<16>(a, hb, p.chunk, splits, smem, grid, s);
    else if (need <= 32) launch_v1<32>(a, hb, p.chunk, splits, smem, grid, s);
    else if (need <= 72) launch_v1<72>(a, hb, p.chunk, splits, smem, grid, s);
    else {
        fprintf(stderr, "dec_attention: %d heads x dv %d per block is too many\n", hb, a->dv);
        exit(1);
    }
    if (splits > 1) {
        dec_v1_reduce<<<a->b * a->hq, 128, 0, s>>>(a->ws, a->o, splits, a->dv);
        CUDA_LAUNCH_CHECK();
    }
}
