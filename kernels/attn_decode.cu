/* attn_decode.cu - the decode attention kernel and its split-KV reduction;
 * see attn_decode.h for the variants it covers.
 *
 * Block: 128 threads, one (sequence, KV head, chunk of <= 16 query heads,
 * split). Per tile of 32 keys: K (and V) rows are copied to shared memory
 * once and used by every query head of the block; scores one (head, key) per
 * thread; online softmax one head per warp (lane = key); PV with each thread
 * owning ACC (head, dim) accumulators in registers. */
#include "attn_decode.h"

#include <cfloat>

#include "cuda_check.h"

#define DEC_THREADS 128
#define DEC_TILE 32 /* keys per tile = warp size (softmax: lane = key) */
#define DEC_HB 16   /* query heads per block at most */

__host__ __device__ static inline int cdiv(int a, int b) { return (a + b - 1) / b; }

int dec_keys(const struct dec_args *a)
{
    if (a->blk) return a->nsel * a->blk_size;
    return a->win > 0 && a->win < a->n_ctx ? a->win : a->n_ctx;
}

static int heads_per_block(const struct dec_args *a)
{
    const int g = a->hq / a->hkv;
    return g < DEC_HB ? g : DEC_HB;
}

int dec_splits(const struct dec_args *a)
{
    if (a->splits > 0) return a->splits;
    const int g = a->hq / a->hkv, hb = heads_per_block(a);
    const int blocks = a->b * a->hkv * cdiv(g, hb);
    const int want = cdiv(2 * (a->sm_count > 0 ? a->sm_count : 132), blocks);
    const int most = cdiv(dec_keys(a), DEC_TILE * 4); /* >= 4 tiles per split */
    int s = want < most ? want : most;
    return s < 1 ? 1 : s;
}

size_t dec_workspace_floats(const struct dec_args *a)
{
    return (size_t)a->b * a->hq * dec_splits(a) * (a->dv + 2);
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
    dec_kernel(const struct dec_args a, int hb, int chunk, int splits)
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
__global__ void dec_reduce(const float *ws, __nv_bfloat16 *o, int splits, int dv)
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

template <int ACC>
static void launch(const struct dec_args *a, int hb, int chunk, int splits, size_t smem,
                   dim3 grid, cudaStream_t s)
{
    CUDA_CHECK(cudaFuncSetAttribute(dec_kernel<ACC>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    (int)smem));
    dec_kernel<ACC><<<grid, DEC_THREADS, smem, s>>>(*a, hb, chunk, splits);
    CUDA_LAUNCH_CHECK();
}

void dec_attention(const struct dec_args *a, cudaStream_t s)
{
    const int g = a->hq / a->hkv, hb = heads_per_block(a);
    const int splits = dec_splits(a), n_keys = dec_keys(a);
    const int chunk = cdiv(cdiv(n_keys, splits), DEC_TILE) * DEC_TILE;
    const size_t smem = sizeof(float) * ((size_t)hb * a->dqk + (size_t)hb * DEC_TILE + 3 * hb) +
                        4 * (size_t)DEC_TILE * ((a->dqk / 2 + 1) + (a->v_in_k ? 0 : a->dv / 2 + 1));
    const dim3 grid(a->b * a->hkv * cdiv(g, hb), splits);
    const int need = cdiv(hb * a->dv, DEC_THREADS);
    if (need <= 4) launch<4>(a, hb, chunk, splits, smem, grid, s);
    else if (need <= 8) launch<8>(a, hb, chunk, splits, smem, grid, s);
    else if (need <= 16) launch<16>(a, hb, chunk, splits, smem, grid, s);
    else if (need <= 32) launch<32>(a, hb, chunk, splits, smem, grid, s);
    else if (need <= 72) launch<72>(a, hb, chunk, splits, smem, grid, s);
    else {
        fprintf(stderr, "dec_attention: %d heads x dv %d per block is too many\n", hb, a->dv);
        exit(1);
    }
    if (splits > 1) {
        dec_reduce<<<a->b * a->hq, 128, 0, s>>>(a->ws, a->o, splits, a->dv);
        CUDA_LAUNCH_CHECK();
    }
}
