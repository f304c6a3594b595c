/* attn_mla.cu - MLA absorbed decode on tensor cores (decode version 3):
 * mma.sync m16n8k16 bf16 -> fp32, sm_80 and later. Entry points: mla_mma_launch,
 * mla_mma_occupancy (attn_decode.cu plans and calls them through dec_attention).
 *
 * Shape: per sequence, q (H = 128 heads, 576 = 512 latent + 64 rope), one
 * cached latent row of 576 per key; V is the first 512 columns of that row.
 * Block: 8 warps, one (sequence, 64 heads, split). Q of the 64 heads sits in
 * shared memory (loaded once); 32-key latent tiles stream through a 2-stage
 * cp.async ring (16-byte copies, rows padded by 16 bytes: ldmatrix conflict
 * free) and are read by all 64 heads. Warps w and w + 4 share the 16 heads
 * 16 (w % 4)..: S = Q K^T with warp w taking keys 0-15 of the tile and w + 4
 * keys 16-31 (no QK computed twice), online softmax in fp32 (base 2, quad
 * shuffles; the two warps exchange row maxima and write P in bf16 through
 * shared memory), then O += P V with P by ldmatrix and V by ldmatrix.trans
 * from the same tile; warp w owns the dv half w / 4 (128 fp32 accumulators
 * per thread). Split-KV partials go to dec_v1_reduce's layout (m in natural
 * log).
 *
 * Napkin math (H100 SXM): B 32, L 4096: 159.9 MB of latent (47.7 us at
 * 3.35 TB/s; each tile is read by the 2 head blocks, the second mostly from
 * L2), 36.5 GFLOP: 37 us at ~1000 dense TFLOP/s, ~60-75 us at mma.sync
 * rates (~500-600 TFLOP/s): 65-80% of the floor, on the compute side.
 * NOT YET MEASURED. */
#include <cfloat>
#include <cstdio>

#include "attn_decode.h"
#include "cuda_check.h"

#define MLA_DQK 576
#define MLA_DV 512
#define MLA_HB 64      /* heads per block */
#define MLA_TK 32      /* keys per tile */
#define MLA_WARPS 8
#define MLA_THREADS (MLA_WARPS * 32)
#define MLA_ROW (MLA_DQK + 8) /* padded shared-memory row, bf16 elements (1168 bytes) */
#define MLA_STAGES 2

#define MLA_PROW (MLA_TK + 8) /* padded row of P, bf16 elements (80 bytes) */

/* Q, the K ring, P and the row exchange: 149,504 + 5,120 + 512 = 155,136 B */
static constexpr int MLA_SMEM = (MLA_HB + MLA_STAGES * MLA_TK) * MLA_ROW * 2 + MLA_HB * MLA_PROW * 2 +
                                4 * 2 * 16 * 4;

__device__ __forceinline__ void mla_cp16(void *dst, const void *src, bool valid)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src),
                 "r"(valid ? 16 : 0)
                 : "memory");
}

__device__ __forceinline__ void ldsm_x4(unsigned *r, const void *p)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

__device__ __forceinline__ void ldsm_x4_t(unsigned *r, const void *p)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

/* d += a (16x16 bf16, row) * b (16x8 bf16, col), fp32 accumulators. */
__device__ __forceinline__ void mma_bf16(float *d, const unsigned *a, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
                 "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi)
{
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(const unsigned *)&v;
}

__device__ __forceinline__ float mla_ex2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

__global__ void __launch_bounds__(MLA_THREADS, 1)
    mla_mma(const struct dec_args a, int chunk, int splits)
{
    extern __shared__ __align__(16) unsigned char mla_smem[];
    __nv_bfloat16 *qs = (__nv_bfloat16 *)mla_smem;   /* (64, MLA_ROW) */
    __nv_bfloat16 *ks = qs + MLA_HB * MLA_ROW;        /* (STAGES, 32, MLA_ROW) */
    __nv_bfloat16 *ps = ks + MLA_STAGES * MLA_TK * MLA_ROW; /* (64, MLA_PROW) P of a tile */
    float *red = (float *)(ps + MLA_HB * MLA_PROW);   /* (4 head groups, 2 halves, 16 rows) */
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;            /* mma fragment row / column pair */
    const int hg = warp & 3, half = warp >> 2;        /* 16-head group, dv half */
    const int hblocks = a.hq / MLA_HB;
    const int b = blockIdx.x / hblocks, h0 = (blockIdx.x % hblocks) * MLA_HB;
    const int split = blockIdx.y;
    const int n_keys = a.n_ctx;
    const int k_lo = split * chunk, k_hi = min(n_keys, k_lo + chunk);
    const int ntiles = k_hi > k_lo ? (k_hi - k_lo + MLA_TK - 1) / MLA_TK : 0;
    const float sl = a.scale * 1.4426950408889634f;

    /* Q of the block's 64 heads: 64 x 72 16-byte pieces */
    const __nv_bfloat16 *qg = a.q + ((long long)b * a.hq + h0) * MLA_DQK;
    for (int i = tid; i < MLA_HB * (MLA_DQK / 8); i += MLA_THREADS) {
        const int r = i / (MLA_DQK / 8), c = i % (MLA_DQK / 8);
        mla_cp16(qs + r * MLA_ROW + c * 8, qg + (long long)r * MLA_DQK + c * 8, true);
    }
    const __nv_bfloat16 *kg = a.k + b * a.k_bs;
    auto load_tile = [&](int it) {
        __nv_bfloat16 *dst = ks + (it % MLA_STAGES) * MLA_TK * MLA_ROW;
        const int t0 = k_lo + it * MLA_TK;
        for (int i = tid; i < MLA_TK * (MLA_DQK / 8); i += MLA_THREADS) {
            const int r = i / (MLA_DQK / 8), c = i % (MLA_DQK / 8);
            const bool ok = t0 + r < k_hi;
            mla_cp16(dst + r * MLA_ROW + c * 8, ok ? (const void *)(kg + (long long)(t0 + r) * a.k_ts + c * 8)
                                                   : (const void *)a.k, ok);
        }
    };
    if (ntiles > 0) load_tile(0);
    asm volatile("cp.async.commit_group;\n" ::: "memory");

    float o[32][4]; /* 16 heads x 256 dv: 32 n-tiles of 8 */
#pragma unroll
    for (int i = 0; i < 32; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0, 0}; /* rows g, g + 8 */

    for (int it = 0; it < ntiles; it++) {
        if (it + 1 < ntiles) load_tile(it + 1);
        asm volatile("cp.async.commit_group;\n" ::: "memory");
        asm volatile("cp.async.wait_group 1;\n" ::: "memory");
        __syncthreads();
        const __nv_bfloat16 *kt = ks + (it % MLA_STAGES) * MLA_TK * MLA_ROW;

        /* S = Q K^T for this warp's 16 keys (the other warp of the head group
         * takes the other 16): 16 heads x 16 keys, 36 k-steps of 16 dims */
        float s[2][4];
#pragma unroll
        for (int i = 0; i < 2; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0;
#pragma unroll 4
        for (int kk = 0; kk < MLA_DQK / 16; kk++) {
            unsigned af[4], bf[4];
            ldsm_x4(af, qs + (hg * 16 + (lane & 15)) * MLA_ROW + kk * 16 + (lane >> 4) * 8);
            ldsm_x4(bf, kt + (16 * half + (lane & 7) + (lane >> 4) * 8) * MLA_ROW + kk * 16 +
                            ((lane >> 3) & 1) * 8);
            mma_bf16(s[0], af, bf[0], bf[1]);
            mma_bf16(s[1], af, bf[2], bf[3]);
        }

        /* online softmax on rows g (s[.][0..1]) and g + 8 (s[.][2..3]): the row
         * maxima of both halves meet in shared memory, so both warps use the same */
        const int t0 = k_lo + it * MLA_TK + 16 * half;
        float mx[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            mx[r] = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < 2; nt++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const bool ok = t0 + nt * 8 + t * 2 + e < k_hi;
                    float &x = s[nt][2 * r + e];
                    x = ok ? x * sl : -INFINITY;
                    mx[r] = fmaxf(mx[r], x);
                }
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            if (t == 0) red[(hg * 2 + half) * 16 + g + 8 * r] = mx[r];
        }
        __syncthreads();
        float al[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const float mn = fmaxf(m[r], fmaxf(mx[r], red[(hg * 2 + (half ^ 1)) * 16 + g + 8 * r]));
            al[r] = m[r] == -INFINITY ? 0.f : mla_ex2(m[r] - mn);
            float sum = 0;
#pragma unroll
            for (int nt = 0; nt < 2; nt++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float &x = s[nt][2 * r + e];
                    x = x == -INFINITY ? 0.f : mla_ex2(x - mn);
                    sum += x;
                }
                *(__nv_bfloat162 *)(ps + (hg * 16 + g + 8 * r) * MLA_PROW + 16 * half + nt * 8 + t * 2) =
                    __floats2bfloat162_rn(s[nt][2 * r], s[nt][2 * r + 1]);
            }
            l[r] = l[r] * al[r] + sum; /* this thread's keys; summed over quad and halves at the end */
            m[r] = mn;
        }
#pragma unroll
        for (int i = 0; i < 32; i++) o[i][0] *= al[0], o[i][1] *= al[0], o[i][2] *= al[1], o[i][3] *= al[1];
        __syncthreads();

        /* O += P V: P (16 heads x 32 keys) from shared memory, V = the tile's first
         * 512 columns, this warp's dv half */
#pragma unroll
        for (int kk = 0; kk < 2; kk++) {
            unsigned pa[4];
            ldsm_x4(pa, ps + (hg * 16 + (lane & 15)) * MLA_PROW + kk * 16 + (lane >> 4) * 8);
#pragma unroll
            for (int q = 0; q < 16; q++) {
                unsigned vf[4];
                ldsm_x4_t(vf, kt + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * MLA_ROW +
                                  half * 256 + q * 16 + (lane >> 4) * 8);
                mma_bf16(o[2 * q], pa, vf[0], vf[1]);
                mma_bf16(o[2 * q + 1], pa, vf[2], vf[3]);
            }
        }
        __syncthreads(); /* the stage is refilled next iteration */
    }
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");

#pragma unroll
    for (int r = 0; r < 2; r++) { /* l over the quad, then over the two key halves */
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
        if (t == 0) red[(hg * 2 + half) * 16 + g + 8 * r] = l[r];
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < 2; r++) l[r] += red[(hg * 2 + (half ^ 1)) * 16 + g + 8 * r];
    const float inv[2] = {l[0] > 0 ? 1.f / l[0] : 0.f, l[1] > 0 ? 1.f / l[1] : 0.f};
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const long long row = (long long)b * a.hq + h0 + hg * 16 + g + 8 * r;
        if (splits == 1) {
            __nv_bfloat16 *dst = a.o + row * MLA_DV + half * 256 + t * 2;
#pragma unroll
            for (int nt = 0; nt < 32; nt++)
                *(__nv_bfloat162 *)(dst + nt * 8) =
                    __floats2bfloat162_rn(o[nt][2 * r] * inv[r], o[nt][2 * r + 1] * inv[r]);
        } else {
            float *part = a.ws + (row * splits + split) * (MLA_DV + 2);
            if (half == 0 && t == 0) {
                part[0] = m[r] * 0.6931471805599453f; /* natural log, as dec_v1_reduce reads */
                part[1] = l[r];
            }
#pragma unroll
            for (int nt = 0; nt < 32; nt++) {
                part[2 + half * 256 + nt * 8 + t * 2] = o[nt][2 * r] * inv[r];
                part[2 + half * 256 + nt * 8 + t * 2 + 1] = o[nt][2 * r + 1] * inv[r];
            }
        }
    }
}

/* Why this kernel cannot run the arguments, or NULL. */
const char *mla_mma_refusal(const struct dec_args *a)
{
    if (!a->v_in_k || a->dqk != MLA_DQK || a->dv != MLA_DV || a->hkv != 1)
        return "not MLA absorbed (v_in_k, 576 / 512, one latent head)";
    if (a->hq % MLA_HB) return "heads not a multiple of 64";
    if (a->blk || (a->win > 0 && a->win < a->n_ctx)) return "no window or block table";
    if (a->k_bs % 8 || a->k_ts % 8 || ((unsigned long long)a->q & 15) || ((unsigned long long)a->k & 15))
        return "latent rows not 16-byte aligned";
    return nullptr;
}

int mla_mma_occupancy(void)
{
    static int occ = -1;
    if (occ >= 0) return occ;
    CUDA_CHECK(cudaFuncSetAttribute(mla_mma, cudaFuncAttributeMaxDynamicSharedMemorySize, MLA_SMEM));
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, mla_mma, MLA_THREADS, MLA_SMEM));
    return occ;
}

void mla_mma_launch(const struct dec_args *a, int chunk, int splits, cudaStream_t s)
{
    mla_mma_occupancy(); /* sets the shared-memory limit */
    const dim3 grid(a->b * (a->hq / MLA_HB), splits);
    mla_mma<<<grid, MLA_THREADS, MLA_SMEM, s>>>(*a, chunk, splits);
    CUDA_LAUNCH_CHECK();
}
