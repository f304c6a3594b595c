/* attn_prefill.cu - prefill attention, FlashAttention-2 style (see
 * attn_prefill.h for the variants).
 *
 * Block: 4 warps, 64 queries of one (sequence, head); warp w owns query rows
 * 16w..16w+15 (an m16 tile), its Q fragments in registers (ldmatrix once).
 * 64-key K and V tiles stream through a 2-stage cp.async ring (16-byte
 * copies, rows padded by 16 bytes); S = Q K^T by mma.sync m16n8k16, online
 * softmax in fp32 (base 2, quad shuffles), O += P V with P from the S
 * accumulators and V by ldmatrix.trans. Query blocks run longest first.
 * Which key tiles a query block visits is the only thing the variants change:
 * causal 0..diagonal; window from (q0 - win + 1) / 64; block-sparse the tiles
 * of the selected blocks up to the diagonal (list built in shared memory).
 *
 * Napkin math (H100 SXM): causal B 1, S 8192, 32 heads, D 128: 4 B H S^2 D / 2
 * = 281 GFLOP (FA convention) -> 284 us at 989 TFLOP/s dense bf16; mma.sync
 * kernels (FA2) reach ~300-350 TFLOP/s there: ~0.8-0.95 ms. NOT YET MEASURED. */
#include "attn_prefill.h"

#include <cfloat>
#include <cstdio>

#include "cuda_check.h"

#define PF_BM 64
#define PF_BN 64
#define PF_WARPS 4
#define PF_THREADS (PF_WARPS * 32)
#define PF_MAX_TILES 512 /* block-sparse: tiles listed per query block */

__host__ __device__ constexpr int pf_row(int d) { return d + 8; }
__host__ __device__ constexpr int pf_smem(int d) { return (PF_BM + 4 * PF_BN) * pf_row(d) * 2; }

__device__ __forceinline__ void pf_cp16(void *dst, const void *src, bool valid)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 16 : 0)
                 : "memory");
}
__device__ __forceinline__ void pf_ldsm(unsigned *r, const void *p)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}
__device__ __forceinline__ void pf_ldsm_t(unsigned *r, const void *p)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}
__device__ __forceinline__ void pf_mma(float *d, const unsigned *a, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
                 "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ unsigned pf_pack(float lo, float hi)
{
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(const unsigned *)&v;
}
__device__ __forceinline__ float pf_ex2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

template <int D, bool BLK>
__global__ void __launch_bounds__(PF_THREADS, 1) pf_kernel(const struct pf_args a)
{
    constexpr int ROW = pf_row(D), KD = D / 16, ND = D / 8;
    extern __shared__ __align__(16) unsigned char pf_smem_raw[];
    __nv_bfloat16 *qs = (__nv_bfloat16 *)pf_smem_raw; /* (64, ROW) */
    __nv_bfloat16 *kvs = qs + PF_BM * ROW;             /* (2 stages, K 64 rows, V 64 rows) */
    __shared__ int s_tiles[BLK ? PF_MAX_TILES : 1], s_n;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int qb = gridDim.x - 1 - blockIdx.x, q0 = qb * PF_BM;
    const int b = blockIdx.y / a.hq, h = blockIdx.y % a.hq, kvh = h / (a.hq / a.hkv);
    const long long q_ts = (long long)a.hq * D, kv_ts = (long long)a.hkv * D;
    const __nv_bfloat16 *qg = a.q + (long long)b * a.s * q_ts + h * D;
    const __nv_bfloat16 *kg = a.k + (long long)b * a.s * kv_ts + kvh * D;
    const __nv_bfloat16 *vg = a.v + (long long)b * a.s * kv_ts + kvh * D;
    const int q_last = min(a.s - 1, q0 + PF_BM - 1);

    /* the key tiles this query block visits */
    int first = 0, n_it;
    if (BLK) {
        if (tid == 0) {
            const int bpt = a.blk_size / PF_BN, nqb = (a.s + a.blk_size - 1) / a.blk_size;
            const int *row = a.blk + (((long long)b * a.hkv + kvh) * nqb + q0 / a.blk_size) * a.nsel;
            int n = 0;
            for (int i = 0; i < a.nsel; i++) {
                const int sb = row[i];
                if (sb < 0) continue;
                for (int w = 0; w < bpt && n < PF_MAX_TILES; w++)
                    if ((sb * bpt + w) * PF_BN <= q_last) s_tiles[n++] = sb * bpt + w;
            }
            s_n = n;
        }
        __syncthreads();
        n_it = s_n;
    } else {
        first = a.win > 0 ? max(0, q0 - a.win + 1) / PF_BN : 0;
        n_it = q_last / PF_BN - first + 1;
    }
    auto tile_of = [&](int it) { return BLK ? s_tiles[it] : first + it; };
    auto load_tile = [&](int it) {
        __nv_bfloat16 *ks = kvs + (it & 1) * 2 * PF_BN * ROW, *vs = ks + PF_BN * ROW;
        const int t0 = tile_of(it) * PF_BN;
        for (int i = tid; i < PF_BN * (D / 8); i += PF_THREADS) {
            const int r = i / (D / 8), c = i % (D / 8);
            const bool ok = t0 + r < a.s;
            const long long off = (long long)(t0 + r) * kv_ts + c * 8;
            pf_cp16(ks + r * ROW + c * 8, ok ? (const void *)(kg + off) : (const void *)a.k, ok);
            pf_cp16(vs + r * ROW + c * 8, ok ? (const void *)(vg + off) : (const void *)a.k, ok);
        }
    };
    for (int i = tid; i < PF_BM * (D / 8); i += PF_THREADS) {
        const int r = i / (D / 8), c = i % (D / 8);
        const bool ok = q0 + r < a.s;
        pf_cp16(qs + r * ROW + c * 8, ok ? (const void *)(qg + (long long)(q0 + r) * q_ts + c * 8)
                                         : (const void *)a.q, ok);
    }
    if (n_it > 0) load_tile(0);
    asm volatile("cp.async.commit_group;\n" ::: "memory");

    const float sl = a.scale * 1.4426950408889634f;
    unsigned qf[KD][4];
    float o[ND][4];
#pragma unroll
    for (int i = 0; i < ND; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0, 0};
    const int row0 = q0 + warp * 16 + g; /* query of rows g; g + 8 is row0 + 8 */

    for (int it = 0; it < n_it; it++) {
        if (it + 1 < n_it) load_tile(it + 1);
        asm volatile("cp.async.commit_group;\n" ::: "memory");
        asm volatile("cp.async.wait_group 1;\n" ::: "memory");
        __syncthreads();
        if (it == 0)
#pragma unroll
            for (int kk = 0; kk < KD; kk++)
                pf_ldsm(qf[kk], qs + (warp * 16 + (lane & 15)) * ROW + kk * 16 + (lane >> 4) * 8);
        const __nv_bfloat16 *ks = kvs + (it & 1) * 2 * PF_BN * ROW, *vs = ks + PF_BN * ROW;
        const int t0 = tile_of(it) * PF_BN;

        float s[8][4];
#pragma unroll
        for (int i = 0; i < 8; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0;
#pragma unroll
        for (int kk = 0; kk < KD; kk++)
#pragma unroll
            for (int p = 0; p < 4; p++) {
                unsigned bf[4];
                pf_ldsm(bf, ks + (16 * p + (lane & 7) + (lane >> 4) * 8) * ROW + kk * 16 +
                                ((lane >> 3) & 1) * 8);
                pf_mma(s[2 * p], qf[kk], bf[0], bf[1]);
                pf_mma(s[2 * p + 1], qf[kk], bf[2], bf[3]);
            }

        float al[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const int qi = row0 + 8 * r;
            float mx = m[r];
#pragma unroll
            for (int nt = 0; nt < 8; nt++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int kj = t0 + nt * 8 + t * 2 + e;
                    const bool ok = kj < a.s && kj <= qi && (a.win <= 0 || kj > qi - a.win);
                    float &x = s[nt][2 * r + e];
                    x = ok ? x * sl : -INFINITY;
                    mx = fmaxf(mx, x);
                }
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            al[r] = m[r] == -INFINITY ? 0.f : pf_ex2(m[r] - mx);
            float sum = 0;
#pragma unroll
            for (int nt = 0; nt < 8; nt++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float &x = s[nt][2 * r + e];
                    x = x == -INFINITY ? 0.f : pf_ex2(x - mx);
                    sum += x;
                }
            l[r] = l[r] * al[r] + sum;
            m[r] = mx;
        }
#pragma unroll
        for (int i = 0; i < ND; i++) o[i][0] *= al[0], o[i][1] *= al[0], o[i][2] *= al[1], o[i][3] *= al[1];

#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            const unsigned pa[4] = {pf_pack(s[2 * kk][0], s[2 * kk][1]), pf_pack(s[2 * kk][2], s[2 * kk][3]),
                                    pf_pack(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                    pf_pack(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int q = 0; q < D / 16; q++) {
                unsigned vf[4];
                pf_ldsm_t(vf, vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * ROW + q * 16 +
                                  (lane >> 4) * 8);
                pf_mma(o[2 * q], pa, vf[0], vf[1]);
                pf_mma(o[2 * q + 1], pa, vf[2], vf[3]);
            }
        }
        __syncthreads();
    }
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");

#pragma unroll
    for (int r = 0; r < 2; r++) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
        const int qi = row0 + 8 * r;
        if (qi >= a.s) continue;
        const float inv = l[r] > 0 ? 1.f / l[r] : 0.f;
        __nv_bfloat16 *dst = a.o + ((long long)b * a.s + qi) * q_ts + h * D + t * 2;
#pragma unroll
        for (int nt = 0; nt < ND; nt++)
            *(__nv_bfloat162 *)(dst + nt * 8) =
                __floats2bfloat162_rn(o[nt][2 * r] * inv, o[nt][2 * r + 1] * inv);
    }
}

const char *pf_refusal(const struct pf_args *a)
{
    if (a->d != 64 && a->d != 128) return "head dim not 64 or 128";
    if (a->hkv <= 0 || a->hq % a->hkv) return "hq not a multiple of hkv";
    if (a->blk && (a->blk_size <= 0 || a->blk_size % PF_BN)) return "block size not a multiple of 64";
    if (a->blk && a->win > 0) return "block table and window together";
    if (((unsigned long long)a->q | (unsigned long long)a->k | (unsigned long long)a->v) & 15)
        return "q, K or V not 16-byte aligned";
    return nullptr;
}

template <int D, bool BLK> static void pf_launch(const struct pf_args *a, cudaStream_t s)
{
    static bool set;
    if (!set) {
        CUDA_CHECK(cudaFuncSetAttribute(pf_kernel<D, BLK>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        pf_smem(D)));
        set = true;
    }
    const dim3 grid((a->s + PF_BM - 1) / PF_BM, a->b * a->hq);
    pf_kernel<D, BLK><<<grid, PF_THREADS, pf_smem(D), s>>>(*a);
    CUDA_LAUNCH_CHECK();
}

void pf_attention(const struct pf_args *a, cudaStream_t s)
{
    const char *no = pf_refusal(a);
    if (no) {
        fprintf(stderr, "pf_attention: %s\n", no);
        exit(1);
    }
    if (a->d == 64) a->blk ? pf_launch<64, true>(a, s) : pf_launch<64, false>(a, s);
    else a->blk ? pf_launch<128, true>(a, s) : pf_launch<128, false>(a, s);
}
