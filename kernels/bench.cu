/* bench.cu - checks and times the decode attention kernels and cuBLAS GEMMs,
 * measures the device's own ceilings and writes a measurement file
 * (docs/measurements.md) for `opbound calibrate` / `validate`.
 *
 * Harness (llm.c dev/cuda habits): inputs filled on the GPU by a hash (fresh
 * seed per case, never zeros), output poisoned with NaN, CPU reference in
 * double for small shapes, ||out - ref|| / ||ref|| <= 1e-2 (bf16) and an atol
 * + rtol element check that stops after 5 mismatches. Check inputs are peaky
 * (q scaled so the scaled scores have a standard deviation near 4: softmax
 * is sharp and a missing rescale shows). Timing: warm-up, L2 evicted before
 * every repetition by READING a buffer larger than L2 (no dirty lines left
 * to write back inside the timed kernel), CUDA events, median and min; each
 * timing printed against the datasheet floor (bytes / datasheet bandwidth)
 * and the measured copy ceiling. FLOPs and bytes come from the cost model
 * (sim/core/opcost.h), so the file and `opbound predict` count alike; shapes,
 * split plans, floors and CSV rows from bench_host.c (tested without a GPU).
 *
 * usage: bench [--check-only [--no-large]]
 *              [--kernel gqa|swa|moba|mla|mla_compose|cca|prefill|gemm]
 *              [--version 0|1|2] [--reps N] [-o FILE.csv]
 *   --check-only: every kernel and instantiation against the CPU reference
 *       (single, forced and automatic splits; window and block-table edges),
 *       then split vs unsplit GPU-vs-GPU on every timed shape (skipped with
 *       --no-large, as under compute-sanitizer); exit 1 on any failure.
 *   --version: decode kernel, 0 auto (v2 where it runs, v3 for MLA, else v1), 1, 2, 3
 *       (2 and 3 both mean "the new kernels": MLA runs v3 under --version 2).
 * To add a kernel: a check in check_all, a case function that times it. */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <cuda_bf16.h>

#include "../sim/core/opcost.h"
#include "attn_decode.h"
#include "attn_prefill.h"
#include "bench_host.h"
#include "cuda_check.h"

typedef __nv_bfloat16 bf16;

static int g_reps = 30, g_version = 0;
static FILE *g_csv;
static cudaDeviceProp g_prop;
static double g_copy_bw, g_gemm_rate, g_sheet_bw; /* measured ceilings; datasheet */
static unsigned long long g_seed = 1;
static uint4 *g_flush;
static size_t g_flush_n; /* uint4 elements */
static unsigned *g_sink;
static cublasHandle_t g_blas;

/* ---- inputs on the GPU ------------------------------------------------------ */

__device__ __forceinline__ unsigned hash64(unsigned long long x)
{
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull, x ^= x >> 33;
    return (unsigned)x;
}

/* p[i] = scale * uniform in [-1, 1), from a hash of (seed, i). */
__global__ void fill_bf16(bf16 *p, size_t n, unsigned long long seed, float scale)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const unsigned h = hash64(seed * 0x9e3779b97f4a7c15ull + i);
        p[i] = __float2bfloat16(scale * ((float)(h >> 8) * (1.f / 8388608.f) - 1.f));
    }
}

/* Reads every element (sum kept only if it hits an impossible value), so the
 * next kernel starts with L2 holding clean lines of this buffer. */
__global__ void l2_evict_read(const uint4 *p, size_t n, unsigned *sink)
{
    unsigned x = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const uint4 v = __ldcg(p + i);
        x ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (x == 0x9e3779b9u) *sink = x;
}

static void fill(bf16 *d, size_t n, float scale)
{
    fill_bf16<<<g_prop.multiProcessorCount * 8, 256>>>(d, n, g_seed++, scale);
    CUDA_LAUNCH_CHECK();
}

/* Fresh random bf16 device buffer (scale * [-1, 1)); host copy (as float) in
 * *h when h is not NULL. */
static bf16 *rand_dev(size_t n, std::vector<float> *h, float scale = 1.f)
{
    bf16 *d;
    CUDA_CHECK(cudaMalloc(&d, n * sizeof(bf16) + 16));
    fill(d, n, scale);
    if (h) {
        std::vector<bf16> tmp(n);
        CUDA_CHECK(cudaMemcpy(tmp.data(), d, n * sizeof(bf16), cudaMemcpyDeviceToHost));
        h->resize(n);
        for (size_t i = 0; i < n; i++) (*h)[i] = __bfloat162float(tmp[i]);
    }
    return d;
}

static void poison(bf16 *d, size_t n) { CUDA_CHECK(cudaMemset(d, 0xff, n * sizeof(bf16))); } /* NaN */

static std::vector<double> to_host(const bf16 *d, size_t n)
{
    std::vector<bf16> h(n);
    CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(bf16), cudaMemcpyDeviceToHost));
    std::vector<double> out(n);
    for (size_t i = 0; i < n; i++) out[i] = __bfloat162float(h[i]);
    return out;
}

/* Compares got with ref; returns 0 if within bf16 tolerance (relative L2
 * error <= 1e-2 and |x - r| <= 2e-2 + 2e-2 |r| everywhere, NaN never). */
static int compare(const char *what, const std::vector<double> &got, const std::vector<double> &ref)
{
    double num = 0, den = 0;
    int bad = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        const double x = got[i], r = ref[i];
        if (!std::isfinite(x) || fabs(x - r) > 2e-2 + 2e-2 * fabs(r)) {
            if (bad < 5) fprintf(stderr, "%s: mismatch at %zu: got %g, expected %g\n", what, i, x, r);
            if (++bad >= 5) break;
        }
        num += (x - r) * (x - r), den += r * r;
    }
    const double rel = sqrt(num / (den > 0 ? den : 1));
    if (bad || !(rel <= 1e-2)) {
        fprintf(stderr, "%s: FAILED (relative error %.3g, %d mismatches)\n", what, rel, bad);
        return 1;
    }
    return 0;
}

static int check(const char *what, const bf16 *d, const std::vector<double> &ref)
{
    return compare(what, to_host(d, ref.size()), ref);
}

/* Times fn: warm-up, then g_reps runs each after an L2-evicting read, with events. */
template <class F> static void time_it(F fn, double *median_s, double *min_s)
{
    for (int i = 0; i < 3; i++) fn();
    CUDA_CHECK(cudaDeviceSynchronize());
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    std::vector<double> t(g_reps);
    for (int r = 0; r < g_reps; r++) {
        l2_evict_read<<<g_prop.multiProcessorCount * 4, 512>>>(g_flush, g_flush_n, g_sink);
        CUDA_LAUNCH_CHECK();
        CUDA_CHECK(cudaEventRecord(e0));
        fn();
        CUDA_CHECK(cudaEventRecord(e1));
        CUDA_CHECK(cudaEventSynchronize(e1));
        float ms;
        CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        t[r] = ms * 1e-3;
    }
    CUDA_CHECK(cudaEventDestroy(e0));
    CUDA_CHECK(cudaEventDestroy(e1));
    std::sort(t.begin(), t.end());
    *median_s = t[g_reps / 2], *min_s = t[0];
}

/* One CSV row (bh_csv_row) and one line of the table: GB/s, TFLOP/s, and the
 * datasheet floor and measured ceilings as % of the median. */
static void report(const char *kind, const char *cls, const char *name, const double *attn,
                   const double *gemm, const struct opcost *c, double med, double mn)
{
    char row[1024];
    const double flops = c ? c->flops_mm + c->flops_vec : 0, bytes = c ? c->bytes : 0;
    if (bh_csv_row(row, sizeof row, kind, cls, name, attn, gemm, c != NULL, flops, bytes, med,
                   mn) < 0) {
        fprintf(stderr, "bench: cannot write the row for %s\n", name);
        exit(1);
    }
    fputs(row, g_csv);
    fflush(g_csv);
    const double sheet = bh_floor_s(bytes, g_sheet_bw);
    const double ceil_s = c ? std::max(bh_floor_s(bytes, g_copy_bw),
                                       c->flops_mm / g_gemm_rate) : 0;
    printf("%-12s %-26s %9.2f us %9.2f us %7.0f GB/s %6.1f TF/s %6.1f%% sheet %6.1f%% meas\n",
           cls, name, med * 1e6, mn * 1e6, bytes / med * 1e-9, flops / med * 1e-12,
           bh_pct_of_floor(sheet, med), bh_pct_of_floor(ceil_s, med));
}

/* ---- decode attention ---------------------------------------------------- */

/* CPU reference in double for the same arguments (host copies of q, k, v):
 * keys at or past n_ctx (a partial last block) are masked. */
static void dec_reference(const struct dec_args &a, const std::vector<float> &q,
                          const std::vector<float> &k, const std::vector<float> &v,
                          const std::vector<int> &blk, std::vector<double> &o)
{
    const int g = a.hq / a.hkv, n = dec_keys(&a), start = a.blk ? 0 : a.n_ctx - n;
    o.assign((size_t)a.b * a.hq * a.dv, 0);
    std::vector<double> s(n);
    std::vector<long long> tok(n);
    for (int b = 0; b < a.b; b++)
        for (int h = 0; h < a.hq; h++) {
            const int kvh = h / g;
            double mx = -1e300, sum = 0;
            for (int i = 0; i < n; i++) {
                tok[i] = a.blk ? (long long)blk[((size_t)b * a.hkv + kvh) * a.nsel + i / a.blk_size] *
                                         a.blk_size + i % a.blk_size
                               : start + i;
                if (tok[i] >= a.n_ctx) {
                    s[i] = -1e300;
                    continue;
                }
                double x = 0;
                for (int d = 0; d < a.dqk; d++)
                    x += (double)q[((size_t)b * a.hq + h) * a.dqk + d] *
                         k[b * a.k_bs + tok[i] * a.k_ts + kvh * a.k_hs + d];
                s[i] = x * a.scale;
                mx = std::max(mx, s[i]);
            }
            for (int i = 0; i < n; i++) s[i] = s[i] <= -1e299 ? 0 : exp(s[i] - mx), sum += s[i];
            const std::vector<float> &vv = a.v_in_k ? k : v;
            const long long bs = a.v_in_k ? a.k_bs : a.v_bs, ts = a.v_in_k ? a.k_ts : a.v_ts,
                            hs = a.v_in_k ? a.k_hs : a.v_hs;
            for (int d = 0; d < a.dv; d++) {
                double x = 0;
                for (int i = 0; i < n; i++)
                    if (s[i] > 0) x += s[i] * vv[b * bs + tok[i] * ts + kvh * hs + d];
                o[((size_t)b * a.hq + h) * a.dv + d] = sum > 0 ? x / sum : 0;
            }
        }
}

/* One decode problem on the device: inputs, block table, output, workspace. */
struct dec_case {
    struct dec_args a;
    bf16 *q, *k, *v;
    int *dblk;
    std::vector<float> hq, hk, hv;
    std::vector<int> blk;
    std::vector<double> ref; /* CPU reference, computed once per case */
};

/* Allocates and fills a decode problem. variant as in bench_host.h; d the
 * head dim (ignored for MLA); peak multiplies q (12: sharp softmax); host:
 * keep host copies for the CPU reference. Cache layout (B, L, Hkv, D) for K
 * and V; MLA (B, L, 576). The block table: nsel distinct blocks per (b, kv
 * head), always the last (current, maybe partial) block and, when
 * first_block, block 0; drawn with the host RNG from the case seed. */
static void dec_setup(struct dec_case *c, enum bh_dec_variant variant, int B, int hq, int hkv,
                      int d, int L, int win, int nsel, int bs, float peak, bool host,
                      bool first_block = false)
{
    struct dec_args &a = c->a;
    memset(&a, 0, sizeof a);
    c->ref.clear();
    a.b = B, a.hq = hq, a.hkv = hkv, a.n_ctx = L, a.sm_count = g_prop.multiProcessorCount;
    a.dqk = variant == BH_DEC_MLA ? 576 : d, a.dv = variant == BH_DEC_MLA ? 512 : d;
    a.v_in_k = variant == BH_DEC_MLA;
    a.win = variant == BH_DEC_SWA ? win : 0;
    a.scale = (float)(1 / sqrt((double)a.dqk));
    /* MLA runs v3 (or v1); the others v2 (or v1) */
    a.version = variant == BH_DEC_MLA ? (g_version >= 2 ? 3 : g_version)
                                      : (g_version == 3 ? 2 : g_version);
    c->q = rand_dev((size_t)B * hq * a.dqk, host ? &c->hq : NULL, peak);
    c->k = rand_dev((size_t)B * L * hkv * a.dqk, host ? &c->hk : NULL);
    c->v = NULL;
    a.k_hs = a.dqk, a.k_ts = (long long)hkv * a.dqk, a.k_bs = (long long)L * hkv * a.dqk;
    if (!a.v_in_k) {
        c->v = rand_dev((size_t)B * L * hkv * a.dv, host ? &c->hv : NULL);
        a.v_hs = a.dv, a.v_ts = (long long)hkv * a.dv, a.v_bs = (long long)L * hkv * a.dv;
    }
    c->blk.clear();
    c->dblk = NULL;
    if (variant == BH_DEC_MOBA) {
        a.nsel = nsel, a.blk_size = bs;
        const int nb = (L + bs - 1) / bs;
        unsigned long long r = g_seed++ * 0x9e3779b97f4a7c15ull | 1;
        for (int i = 0; i < B * hkv; i++) {
            std::vector<int> pick;
            pick.push_back(nb - 1);
            if (first_block && nb > 1 && nsel > 1) pick.push_back(0);
            while ((int)pick.size() < nsel) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                const int cand = (int)(r % (unsigned long long)nb);
                if (std::find(pick.begin(), pick.end(), cand) == pick.end()) pick.push_back(cand);
            }
            std::sort(pick.begin(), pick.end());
            c->blk.insert(c->blk.end(), pick.begin(), pick.end());
        }
        CUDA_CHECK(cudaMalloc(&c->dblk, c->blk.size() * sizeof(int)));
        CUDA_CHECK(cudaMemcpy(c->dblk, c->blk.data(), c->blk.size() * sizeof(int),
                              cudaMemcpyHostToDevice));
        a.blk = c->dblk;
    }
    a.q = c->q, a.k = c->k, a.v = c->v;
    CUDA_CHECK(cudaMalloc(&a.o, (size_t)B * hq * a.dv * sizeof(bf16)));
    a.ws = NULL;
}

/* (Re)allocates the workspace for the current plan, zeroed (v2 tickets). */
static void dec_ws(struct dec_case *c)
{
    if (c->a.ws) CUDA_CHECK(cudaFree(c->a.ws));
    const size_t n = dec_workspace_floats(&c->a) + 4;
    CUDA_CHECK(cudaMalloc(&c->a.ws, n * sizeof(float)));
    CUDA_CHECK(cudaMemset(c->a.ws, 0, n * sizeof(float)));
}

static void dec_free(struct dec_case *c)
{
    CUDA_CHECK(cudaFree(c->q));
    CUDA_CHECK(cudaFree(c->k));
    if (c->v) CUDA_CHECK(cudaFree(c->v));
    if (c->dblk) CUDA_CHECK(cudaFree(c->dblk));
    CUDA_CHECK(cudaFree(c->a.o));
    if (c->a.ws) CUDA_CHECK(cudaFree(c->a.ws));
}

/* Runs the case with `splits` (0 auto) and `version`, twice (the second run
 * proves the v2 tickets were left at zero), and checks against the CPU
 * reference. Returns 0 if right. */
static int dec_check_one(struct dec_case *c, const char *what, int splits, int version)
{
    struct dec_args &a = c->a;
    a.splits = splits, a.version = version;
    struct dec_launch p;
    char why[160], name[200];
    if (dec_plan(&a, &p, why, sizeof why)) {
        fprintf(stderr, "%s: %s\n", what, why);
        return 1;
    }
    snprintf(name, sizeof name, "%s v%d splits %d (asked %d) hb %d", what, p.version, p.splits,
             splits, p.heads_per_block);
    dec_ws(c);
    if (c->ref.empty()) dec_reference(a, c->hq, c->hk, c->hv, c->blk, c->ref);
    const std::vector<double> &ref = c->ref;
    int bad = 0;
    for (int run = 0; run < 2; run++) {
        poison(a.o, ref.size());
        dec_attention(&a, 0);
        CUDA_CHECK(cudaDeviceSynchronize());
        bad |= check(name, a.o, ref);
    }
    return bad;
}

/* Split vs unsplit on the same inputs, GPU against GPU (the timed shapes are
 * too large for the CPU reference). When the automatic plan is one split,
 * 4 forced splits stand in for it. */
static int dec_check_large(const struct bh_dec_shape *s)
{
    struct dec_case c;
    dec_setup(&c, s->variant, s->b, s->hq, s->hkv, s->d, s->n_ctx, s->win, s->nsel, s->blk_size,
              12.f, false);
    c.a.splits = 0;
    int auto_splits = dec_splits(&c.a);
    c.a.splits = auto_splits > 1 ? 0 : 4;
    const int used = dec_splits(&c.a);
    const size_t n = (size_t)s->b * s->hq * c.a.dv;
    dec_ws(&c);
    poison(c.a.o, n);
    dec_attention(&c.a, 0);
    CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<double> split = to_host(c.a.o, n);
    c.a.splits = 1;
    poison(c.a.o, n);
    dec_attention(&c.a, 0);
    CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<double> one = to_host(c.a.o, n);
    char name[160];
    snprintf(name, sizeof name, "%s b=%d L=%d: %d splits vs 1", BH_DEC_CLASS[s->variant], s->b,
             s->n_ctx, used);
    const int bad = compare(name, split, one);
    dec_free(&c);
    return bad;
}

/* Times one shape; writes its row. */
static void dec_time(const struct bh_dec_shape *s)
{
    struct dec_case c;
    dec_setup(&c, s->variant, s->b, s->hq, s->hkv, s->d, s->n_ctx, s->win, s->nsel, s->blk_size,
              1.f, false);
    struct dec_args &a = c.a;
    a.splits = 0;
    struct dec_launch p;
    char why[160];
    if (dec_plan(&a, &p, why, sizeof why)) {
        fprintf(stderr, "bench: %s\n", why);
        exit(1);
    }
    dec_ws(&c);
    const double n = (double)p.n_keys;
    const double attn[8] = {(double)s->b, (double)s->hq, (double)a.dqk, (double)a.dv, 1, n, n,
                            a.v_in_k ? (double)a.dqk : 2.0 * s->hkv * s->d};
    struct opcost cost;
    char name[64];
    snprintf(name, sizeof name, "%s_v%d_s%d", BH_DEC_CLASS[s->variant], p.version, p.splits);
    if (opcost_attention("bf16", "bf16", attn[0], attn[1], attn[2], attn[3], attn[4], attn[5],
                         attn[6], attn[7], &cost)) {
        fprintf(stderr, "%s: the cost model refuses this shape\n", name);
        exit(1);
    }
    double med, mn;
    time_it([&] { dec_attention(&a, 0); }, &med, &mn);
    report("attention", BH_DEC_CLASS[s->variant], name, attn, NULL, &cost, med, mn);
    dec_free(&c);
}

/* ---- MLA absorbed decode composed from cuBLAS + a softmax kernel --------- */

/* The baseline the issue sets the fused MLA kernel against: per sequence,
 * scores S = scale * Q K^T (128 heads x n keys, fp32) by a strided batched
 * GEMM, a row softmax to P (bf16), then O = P V by a second batched GEMM,
 * V being the first 512 columns of the same cached latent rows. */
__global__ void softmax_rows(const float *s, __nv_bfloat16 *p, int n)
{
    __shared__ float red[32];
    const float *row = s + (size_t)blockIdx.x * n;
    __nv_bfloat16 *out = p + (size_t)blockIdx.x * n;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x) mx = fmaxf(mx, row[i]);
    for (int o = 16; o; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    if (lane == 0) red[warp] = mx;
    __syncthreads();
    mx = red[0];
    for (int w = 1; w < nw; w++) mx = fmaxf(mx, red[w]);
    __syncthreads();
    float sum = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) sum += __expf(row[i] - mx);
    for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) red[warp] = sum;
    __syncthreads();
    sum = 0;
    for (int w = 0; w < nw; w++) sum += red[w];
    const float inv = 1.f / sum;
    for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = __float2bfloat16(__expf(row[i] - mx) * inv);
}

/* q (B, H, 576), k (B, n, 576) latent + rope rows, o (B, H, 512). */
static void mla_compose_run(int B, int H, int n, float scale, const bf16 *q, const bf16 *k,
                            float *s, bf16 *p, bf16 *o)
{
    const int dqk = 576, dv = 512;
    const float zero = 0, one = 1;
    /* column-major S^T (n x H, ld n) = K^T (n x 576) * Q^T (576 x H) */
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        g_blas, CUBLAS_OP_T, CUBLAS_OP_N, n, H, dqk, &scale, k, CUDA_R_16BF, dqk,
        (long long)n * dqk, q, CUDA_R_16BF, dqk, (long long)H * dqk, &zero, s, CUDA_R_32F, n,
        (long long)H * n, B, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    softmax_rows<<<B * H, 256>>>(s, p, n);
    CUDA_LAUNCH_CHECK();
    /* column-major O^T (512 x H, ld 512) = V^T (512 x n, ld 576) * P^T (n x H, ld n) */
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        g_blas, CUBLAS_OP_N, CUBLAS_OP_N, dv, H, n, &one, k, CUDA_R_16BF, dqk, (long long)n * dqk,
        p, CUDA_R_16BF, n, (long long)H * n, &zero, o, CUDA_R_16BF, dv, (long long)H * dv, B,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* Checks the composition against the double reference (small shapes), or
 * times it beside the fused kernel on the same inputs and prints the ratio
 * (a "# mla_compose" comment line in the CSV: not a row, since the
 * composition is three kernels and must not enter the per-op fit). */
static int mla_compose_case(int B, int n, bool time_only)
{
    const int H = 128, dqk = 576, dv = 512;
    struct dec_args a;
    memset(&a, 0, sizeof a);
    a.b = B, a.hq = H, a.hkv = 1, a.dqk = dqk, a.dv = dv, a.v_in_k = 1, a.n_ctx = n;
    a.k_hs = dqk, a.k_ts = dqk, a.k_bs = (long long)n * dqk;
    a.scale = (float)(1 / sqrt((double)dqk));
    a.splits = 0, a.version = g_version == 1 ? 1 : 3, a.sm_count = g_prop.multiProcessorCount;
    std::vector<float> hq_, hk, hv;
    bf16 *q = rand_dev((size_t)B * H * dqk, time_only ? NULL : &hq_, time_only ? 1.f : 12.f);
    bf16 *k = rand_dev((size_t)B * n * dqk, time_only ? NULL : &hk), *p, *o;
    float *s;
    CUDA_CHECK(cudaMalloc(&s, (size_t)B * H * n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&p, (size_t)B * H * n * sizeof(bf16)));
    CUDA_CHECK(cudaMalloc(&o, (size_t)B * H * dv * sizeof(bf16)));
    a.q = q, a.k = k, a.o = o;
    CUDA_CHECK(cudaMalloc(&a.ws, dec_workspace_floats(&a) * sizeof(float) + 4));
    CUDA_CHECK(cudaMemset(a.ws, 0, dec_workspace_floats(&a) * sizeof(float) + 4));
    int rc = 0;
    char name[64];
    snprintf(name, sizeof name, "mla_compose_b%d_n%d", B, n);
    if (!time_only) {
        poison(o, (size_t)B * H * dv);
        mla_compose_run(B, H, n, a.scale, q, k, s, p, o);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<double> ref;
        dec_reference(a, hq_, hk, hv, std::vector<int>(), ref);
        rc = check(name, o, ref);
    } else {
        double cmed, cmin, fmed, fmin;
        time_it([&] { mla_compose_run(B, H, n, a.scale, q, k, s, p, o); }, &cmed, &cmin);
        bf16 *fo;
        CUDA_CHECK(cudaMalloc(&fo, (size_t)B * H * dv * sizeof(bf16)));
        a.o = fo;
        time_it([&] { dec_attention(&a, 0); }, &fmed, &fmin);
        CUDA_CHECK(cudaFree(fo));
        fprintf(g_csv, "# mla_compose b=%d n=%d compose_median_s=%.6e fused_median_s=%.6e "
                "speedup=%.3f\n", B, n, cmed, fmed, cmed / fmed);
        fflush(g_csv);
        printf("%-13s %-22s %10.2f us (cuBLAS + softmax) vs fused %10.2f us: %.2fx\n",
               "mla_compose", name, cmed * 1e6, fmed * 1e6, cmed / fmed);
    }
    CUDA_CHECK(cudaFree(q));
    CUDA_CHECK(cudaFree(k));
    CUDA_CHECK(cudaFree(s));
    CUDA_CHECK(cudaFree(p));
    CUDA_CHECK(cudaFree(o));
    CUDA_CHECK(cudaFree(a.ws));
    return rc;
}

/* ---- cuBLAS GEMMs (projections, experts) --------------------------------- */

/* Row-major C (m x n) = A (m x k) B (k x n), `count` instances (strided),
 * bf16 in and out, fp32 accumulation: column-major C^T = B^T A^T. */
static void gemm_run(int count, int m, int n, int k, const bf16 *A, const bf16 *B, bf16 *C)
{
    const float one = 1, zero = 0;
    if (count == 1)
        CUBLAS_CHECK(cublasGemmEx(g_blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, B, CUDA_R_16BF, n,
                                  A, CUDA_R_16BF, k, &zero, C, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT));
    else
        CUBLAS_CHECK(cublasGemmStridedBatchedEx(
            g_blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, B, CUDA_R_16BF, n, (long long)k * n, A,
            CUDA_R_16BF, k, (long long)m * k, &zero, C, CUDA_R_16BF, n, (long long)m * n, count,
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static int gemm_case(const char *cls, int count, int m, int n, int k, bool time_only)
{
    std::vector<float> ha, hb;
    bf16 *A = rand_dev((size_t)count * m * k, time_only ? NULL : &ha);
    bf16 *B = rand_dev((size_t)count * k * n, time_only ? NULL : &hb), *C;
    CUDA_CHECK(cudaMalloc(&C, (size_t)count * m * n * sizeof(bf16)));
    char name[64];
    snprintf(name, sizeof name, "cublas_%dx%dx%dx%d", count, m, n, k);
    int rc = 0;
    if (!time_only) {
        poison(C, (size_t)count * m * n);
        gemm_run(count, m, n, k, A, B, C);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<double> ref((size_t)count * m * n);
        for (int c = 0; c < count; c++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double x = 0;
                    for (int l = 0; l < k; l++)
                        x += (double)ha[((size_t)c * m + i) * k + l] * hb[((size_t)c * k + l) * n + j];
                    ref[((size_t)c * m + i) * n + j] = x;
                }
        rc = check(name, C, ref);
    } else {
        const double shape[4] = {(double)count, (double)m, (double)n, (double)k};
        struct opcost c;
        if (opcost_gemm("bf16", count, m, n, k, &c)) exit(1);
        double med, mn;
        time_it([&] { gemm_run(count, m, n, k, A, B, C); }, &med, &mn);
        report(count == 1 ? "gemm" : "batched_gemm", cls, name, NULL, shape, &c, med, mn);
    }
    CUDA_CHECK(cudaFree(A));
    CUDA_CHECK(cudaFree(B));
    CUDA_CHECK(cudaFree(C));
    return rc;
}

/* ---- prefill attention (attn_prefill.cu) ------------------------------------ */

/* One prefill problem: inputs, MoBA table, output. */
struct pf_case {
    struct pf_args a;
    bf16 *q, *k, *v;
    int *dblk;
    std::vector<float> hq, hk, hv;
    std::vector<int> blk;
};

/* Block table, MoBA style: query block qb keeps itself and min(nsel - 1, qb)
 * earlier blocks (block 0 first when all_earlier, else drawn); unused slots -1. */
static void pf_table(struct pf_case *c, int nsel, int bs, bool all_blocks)
{
    struct pf_args &a = c->a;
    const int nqb = (a.s + bs - 1) / bs;
    a.nsel = all_blocks ? nqb : nsel, a.blk_size = bs;
    unsigned long long r = g_seed++ * 0x9e3779b97f4a7c15ull | 1;
    c->blk.clear();
    for (int i = 0; i < a.b * a.hkv; i++)
        for (int qb = 0; qb < nqb; qb++) {
            std::vector<int> pick(1, qb);
            const int want = std::min(a.nsel - 1, qb);
            while ((int)pick.size() < want + 1) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                const int cand = all_blocks ? (int)pick.size() - 1 : (int)(r % (unsigned long long)qb);
                if (std::find(pick.begin(), pick.end(), cand) == pick.end()) pick.push_back(cand);
            }
            while ((int)pick.size() < a.nsel) pick.push_back(-1);
            c->blk.insert(c->blk.end(), pick.begin(), pick.end());
        }
    CUDA_CHECK(cudaMalloc(&c->dblk, c->blk.size() * sizeof(int)));
    CUDA_CHECK(cudaMemcpy(c->dblk, c->blk.data(), c->blk.size() * sizeof(int), cudaMemcpyHostToDevice));
    a.blk = c->dblk;
}

static void pf_setup(struct pf_case *c, enum bh_pf_variant v, int B, int hq, int hkv, int d, int S,
                     int win, int nsel, int bs, float peak, bool host, bool all_blocks = false)
{
    struct pf_args &a = c->a;
    memset(&a, 0, sizeof a);
    a.b = B, a.s = S, a.hq = hq, a.hkv = hkv, a.d = d, a.scale = (float)(1 / sqrt((double)d));
    a.win = v == BH_PF_SWA ? win : 0;
    c->q = rand_dev((size_t)B * S * hq * d, host ? &c->hq : NULL, peak);
    c->k = rand_dev((size_t)B * S * hkv * d, host ? &c->hk : NULL);
    c->v = rand_dev((size_t)B * S * hkv * d, host ? &c->hv : NULL);
    c->dblk = NULL;
    if (v == BH_PF_MOBA) pf_table(c, nsel, bs, all_blocks);
    a.q = c->q, a.k = c->k, a.v = c->v;
    CUDA_CHECK(cudaMalloc(&a.o, (size_t)B * S * hq * d * sizeof(bf16)));
}

static void pf_free(struct pf_case *c)
{
    CUDA_CHECK(cudaFree(c->q));
    CUDA_CHECK(cudaFree(c->k));
    CUDA_CHECK(cudaFree(c->v));
    if (c->dblk) CUDA_CHECK(cudaFree(c->dblk));
    CUDA_CHECK(cudaFree(c->a.o));
}

/* CPU reference in double: causal, window, block table; a query with no key
 * gives 0. */
static void pf_reference(const struct pf_case *c, std::vector<double> &o)
{
    const struct pf_args &a = c->a;
    const int D = a.d, g = a.hq / a.hkv;
    o.assign((size_t)a.b * a.s * a.hq * D, 0);
    std::vector<double> sc(a.s);
    for (int b = 0; b < a.b; b++)
        for (int h = 0; h < a.hq; h++) {
            const int kvh = h / g;
            for (int i = 0; i < a.s; i++) {
                double mx = -1e300, sum = 0;
                for (int j = 0; j < a.s; j++) {
                    bool ok = j <= i && (a.win <= 0 || j > i - a.win);
                    if (ok && a.blk) {
                        const int nqb = (a.s + a.blk_size - 1) / a.blk_size;
                        const int *row = &c->blk[(((size_t)b * a.hkv + kvh) * nqb + i / a.blk_size) * a.nsel];
                        ok = false;
                        for (int t = 0; t < a.nsel; t++) ok |= row[t] == j / a.blk_size;
                    }
                    if (!ok) {
                        sc[j] = -1e300;
                        continue;
                    }
                    double x = 0;
                    for (int d = 0; d < D; d++)
                        x += (double)c->hq[(((size_t)b * a.s + i) * a.hq + h) * D + d] *
                             c->hk[(((size_t)b * a.s + j) * a.hkv + kvh) * D + d];
                    sc[j] = x * a.scale;
                    mx = std::max(mx, sc[j]);
                }
                for (int j = 0; j < a.s; j++) sc[j] = sc[j] <= -1e299 ? 0 : exp(sc[j] - mx), sum += sc[j];
                for (int d = 0; d < D; d++) {
                    double x = 0;
                    for (int j = 0; j < a.s; j++)
                        if (sc[j] > 0) x += sc[j] * c->hv[(((size_t)b * a.s + j) * a.hkv + kvh) * D + d];
                    o[(((size_t)b * a.s + i) * a.hq + h) * D + d] = sum > 0 ? x / sum : 0;
                }
            }
        }
}

static int pf_check_one(struct pf_case *c, const char *what)
{
    std::vector<double> ref;
    pf_reference(c, ref);
    poison(c->a.o, ref.size());
    pf_attention(&c->a, 0);
    CUDA_CHECK(cudaDeviceSynchronize());
    return check(what, c->a.o, ref);
}

/* Small shapes against the CPU: head dims 64 and 128, causal, windows of 1,
 * 100 and more than S, block tables of 64- and 128-key blocks (S not a
 * multiple of 64); then, GPU against GPU, block-sparse with every block
 * selected against causal at S 4096 (when large). Returns the failures. */
static int pf_check_all(bool large, int *n)
{
    int bad = 0;
    struct pf_case c;
    static const int DS[] = {64, 128};
    for (int di = 0; di < 2; di++) {
        const int d = DS[di];
        char what[96];
        snprintf(what, sizeof what, "prefill d=%d causal", d);
        pf_setup(&c, BH_PF_CAUSAL, 2, 4, 2, d, 203, 0, 0, 0, 12.f, true);
        bad += pf_check_one(&c, what), ++*n;
        pf_free(&c);
        static const int WIN[] = {1, 100, 500};
        for (int wi = 0; wi < 3; wi++) {
            snprintf(what, sizeof what, "prefill d=%d window %d", d, WIN[wi]);
            pf_setup(&c, BH_PF_SWA, 1, 4, 1, d, 203, WIN[wi], 0, 0, 12.f, true);
            bad += pf_check_one(&c, what), ++*n;
            pf_free(&c);
        }
        static const int BS[] = {64, 128};
        for (int bi = 0; bi < 2; bi++) {
            snprintf(what, sizeof what, "prefill d=%d block-sparse %d x 2", d, BS[bi]);
            pf_setup(&c, BH_PF_MOBA, 2, 4, 2, d, 330, 0, 2, BS[bi], 12.f, true);
            bad += pf_check_one(&c, what), ++*n;
            pf_free(&c);
        }
    }
    if (large) {
        const int S = 4096, n_o = S * 32 * 128;
        struct pf_case all;
        pf_setup(&all, BH_PF_MOBA, 1, 32, 8, 128, S, 0, 0, 512, 12.f, false, true);
        pf_attention(&all.a, 0);
        CUDA_CHECK(cudaDeviceSynchronize());
        const std::vector<double> sparse = to_host(all.a.o, n_o);
        all.a.blk = NULL; /* same inputs, causal */
        poison(all.a.o, n_o);
        pf_attention(&all.a, 0);
        CUDA_CHECK(cudaDeviceSynchronize());
        bad += compare("prefill S 4096: all blocks selected vs causal", sparse, to_host(all.a.o, n_o));
        ++*n;
        pf_free(&all);
    }
    return bad;
}

/* Times one prefill shape; the row's pairs are the ones computed
 * (bh_pf_pairs). Returns the median. */
static double pf_time(const struct bh_pf_shape *s)
{
    struct pf_case c;
    pf_setup(&c, s->variant, s->b, s->hq, s->hkv, s->d, s->s, s->win, s->nsel, s->blk_size, 1.f, false);
    const double pairs = bh_pf_pairs(s->variant, s->s, s->win, s->nsel, s->blk_size);
    const double attn[8] = {(double)s->b, (double)s->hq, (double)s->d, (double)s->d, (double)s->s,
                            (double)s->s, pairs, 2.0 * s->hkv * s->d};
    struct opcost cost;
    char name[64];
    snprintf(name, sizeof name, "%s_fa2_d%d", BH_PF_CLASS[s->variant], s->d);
    if (opcost_attention("bf16", "bf16", attn[0], attn[1], attn[2], attn[3], attn[4], attn[5],
                         attn[6], attn[7], &cost)) {
        fprintf(stderr, "%s: the cost model refuses this shape\n", name);
        exit(1);
    }
    double med, mn;
    time_it([&] { pf_attention(&c.a, 0); }, &med, &mn);
    report("attention", BH_PF_CLASS[s->variant], name, attn, NULL, &cost, med, mn);
    pf_free(&c);
    return med;
}

/* ---- ceilings and launch overhead ---------------------------------------- */

__global__ void empty_kernel(void) {}

static void ceilings(void)
{
    const size_t bytes = (size_t)1 << 30;
    bf16 *a, *b;
    a = rand_dev(bytes / sizeof(bf16), NULL);
    CUDA_CHECK(cudaMalloc(&b, bytes));
    double med, mn;
    time_it([&] { CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); }, &med, &mn);
    g_copy_bw = 2.0 * bytes / med; /* read + write */
    CUDA_CHECK(cudaFree(a));
    CUDA_CHECK(cudaFree(b));
    const int n = 8192;
    bf16 *A = rand_dev((size_t)n * n, NULL), *B = rand_dev((size_t)n * n, NULL), *C;
    CUDA_CHECK(cudaMalloc(&C, (size_t)n * n * sizeof(bf16)));
    time_it([&] { gemm_run(1, n, n, n, A, B, C); }, &med, &mn);
    g_gemm_rate = 2.0 * n * n * (double)n / med;
    CUDA_CHECK(cudaFree(A));
    CUDA_CHECK(cudaFree(B));
    CUDA_CHECK(cudaFree(C));
    fprintf(g_csv, "# ceiling_copy_bytes_per_s: %.6e\n# ceiling_gemm_bf16_flops_per_s: %.6e\n"
            "# datasheet_bw_bytes_per_s: %.6e\n", g_copy_bw, g_gemm_rate, g_sheet_bw);
    printf("ceilings: device-to-device copy %.1f GB/s (read + write; %.0f%% of the datasheet "
           "%.0f GB/s), bf16 GEMM %dx%dx%d %.1f TFLOP/s\n", g_copy_bw * 1e-9,
           100 * g_copy_bw / g_sheet_bw, g_sheet_bw * 1e-9, n, n, n, g_gemm_rate * 1e-12);
}

static void launch_rows(void)
{
    double med, mn;
    time_it([&] { empty_kernel<<<1, 32>>>(); CUDA_LAUNCH_CHECK(); }, &med, &mn);
    report("launch", "launch", "empty_kernel", NULL, NULL, NULL, med, mn);
}

/* ---- check-only ------------------------------------------------------------ */

static bool want(const char *only, const char *k) { return !only || strcmp(only, k) == 0; }

/* Every check: v2 instantiations (head dim x heads per block x block table),
 * with one, automatic and forced splits; window, block-table and split edge
 * cases; the v1 kernel on its old list (MLA included); the MLA composition
 * and cuBLAS GEMMs; then, when large, split vs unsplit on every timed shape.
 * Prints one line per group; returns the number of failures. */
static int check_all(const char *only, bool large)
{
    int bad = 0, n = 0;
    struct dec_case c;
    const bool v2 = g_version != 1;
    if (v2 && (want(only, "gqa") || want(only, "moba") || want(only, "cca"))) {
        static const int DS[] = {32, 64, 128, 256};
        static const int GS[] = {1, 2, 3, 8, 16}; /* heads per block 1, 2, 4 (3 used), 8, 8 x 2 */
        for (int di = 0; di < 4; di++)
            for (int gi = 0; gi < 5; gi++)
                for (int blk = 0; blk < 2; blk++) {
                    const int d = DS[di], g = GS[gi], tk = 256 / d * 4;
                    char what[96];
                    snprintf(what, sizeof what, "v2 d=%d g=%d %s", d, g, blk ? "block-table" : "dense");
                    if (blk) /* minimal block (one tile), partial last block, block 0 chosen */
                        dec_setup(&c, BH_DEC_MOBA, 2, 2 * g, 2, d, 5 * tk + 3, 0, 3, tk, 12.f, true, true);
                    else
                        dec_setup(&c, BH_DEC_GQA, 2, 2 * g, 2, d, 613, 0, 0, 0, 12.f, true);
                    bad += dec_check_one(&c, what, 1, 2);
                    bad += dec_check_one(&c, what, 0, 2);
                    bad += dec_check_one(&c, what, 3, 2);
                    n += 3;
                    dec_free(&c);
                }
        printf("check: v2 instantiations (d 32/64/128/256 x 1/2/4/8 heads per block x dense/block "
               "table x 1/auto/3 splits): %d checks\n", n);
    }
    if (v2 && want(only, "swa")) {
        static const int WIN[] = {1, 33, 1000, 1001, 1500};
        for (int wi = 0; wi < 5; wi++) { /* window 1, a tile + 1, n_ctx - 1, n_ctx, > n_ctx */
            char what[64];
            snprintf(what, sizeof what, "v2 window %d of 1001", WIN[wi]);
            dec_setup(&c, BH_DEC_SWA, 2, 8, 2, 128, 1001, WIN[wi], 0, 0, 12.f, true);
            bad += dec_check_one(&c, what, 1, 2) + dec_check_one(&c, what, 0, 2) +
                   dec_check_one(&c, what, 5, 2);
            n += 3;
            dec_free(&c);
        }
        printf("check: v2 sliding-window edges: %d checks so far\n", n);
    }
    if (v2 && want(only, "gqa")) {
        dec_setup(&c, BH_DEC_GQA, 3, 4, 1, 128, 1, 0, 0, 0, 12.f, true); /* only the new key */
        bad += dec_check_one(&c, "v2 n_ctx 1", 0, 2) + dec_check_one(&c, "v2 n_ctx 1", 4, 2);
        dec_free(&c);
        dec_setup(&c, BH_DEC_GQA, 1, 32, 8, 128, 20011, 0, 0, 0, 12.f, true); /* many splits */
        bad += dec_check_one(&c, "v2 long, auto splits", 0, 2) +
               dec_check_one(&c, "v2 long, 1000 splits asked", 1000, 2);
        dec_free(&c);
        dec_setup(&c, BH_DEC_GQA, 2, 32, 8, 128, 777, 0, 0, 0, 1.f, true); /* flat softmax */
        bad += dec_check_one(&c, "v2 flat softmax", 0, 2);
        dec_free(&c);
        n += 5;
    }
    if (v2 && want(only, "moba")) {
        dec_setup(&c, BH_DEC_MOBA, 2, 8, 2, 128, 1000, 0, 1, 64, 12.f, true); /* current block only */
        bad += dec_check_one(&c, "v2 block table nsel 1", 1, 2) +
               dec_check_one(&c, "v2 block table nsel 1", 0, 2);
        dec_free(&c);
        dec_setup(&c, BH_DEC_MOBA, 2, 32, 8, 128, 4096, 0, 8, 512, 12.f, true); /* timed config */
        bad += dec_check_one(&c, "v2 block table 8 x 512", 0, 2) +
               dec_check_one(&c, "v2 block table 8 x 512", 7, 2);
        dec_free(&c);
        n += 4;
    }
    if (g_version != 1 && want(only, "mla")) { /* version 3: MLA absorbed on tensor cores */
        const int before = n;
        dec_setup(&c, BH_DEC_MLA, 2, 128, 1, 0, 300, 0, 0, 0, 12.f, true);
        bad += dec_check_one(&c, "v3 mla", 1, 3) + dec_check_one(&c, "v3 mla", 0, 3) +
               dec_check_one(&c, "v3 mla", 3, 3);
        dec_free(&c);
        dec_setup(&c, BH_DEC_MLA, 1, 64, 1, 0, 1, 0, 0, 0, 4.f, true); /* one key, 64 heads */
        bad += dec_check_one(&c, "v3 mla n_ctx 1", 0, 3);
        dec_free(&c);
        dec_setup(&c, BH_DEC_MLA, 1, 128, 1, 0, 5001, 0, 0, 0, 4.f, true); /* auto splits */
        bad += dec_check_one(&c, "v3 mla long", 0, 3) + dec_check_one(&c, "v3 mla long, 7 splits", 7, 3);
        dec_free(&c);
        n += 6;
        printf("check: v3 MLA tensor-core kernel: %d checks\n", n - before);
    }
    /* version 1: the old list, MLA included (v1 reads whole blocks: no partial one here) */
    {
        const int before = n;
        if (want(only, "gqa")) {
            dec_setup(&c, BH_DEC_GQA, 2, 16, 2, 128, 333, 0, 0, 0, 12.f, true);
            bad += dec_check_one(&c, "v1 gqa", 1, 1) + dec_check_one(&c, "v1 gqa", 0, 1), n += 2;
            dec_free(&c);
        }
        if (want(only, "swa")) {
            dec_setup(&c, BH_DEC_SWA, 2, 8, 2, 128, 700, 256, 0, 0, 12.f, true);
            bad += dec_check_one(&c, "v1 swa", 0, 1), n++;
            dec_free(&c);
        }
        if (want(only, "moba")) {
            dec_setup(&c, BH_DEC_MOBA, 2, 8, 2, 128, 1024, 0, 3, 64, 12.f, true);
            bad += dec_check_one(&c, "v1 moba", 0, 1), n++;
            dec_free(&c);
        }
        if (want(only, "mla")) {
            dec_setup(&c, BH_DEC_MLA, 2, 128, 1, 0, 300, 0, 0, 0, 4.f, true);
            bad += dec_check_one(&c, "v1 mla", 1, 1) + dec_check_one(&c, "v1 mla", 0, 1), n += 2;
            dec_free(&c);
        }
        if (want(only, "cca")) {
            dec_setup(&c, BH_DEC_CCA, 2, 16, 4, 32, 500, 0, 0, 0, 12.f, true);
            bad += dec_check_one(&c, "v1 cca", 0, 1), n++;
            dec_free(&c);
        }
        printf("check: v1 kernel: %d checks\n", n - before);
    }
    if (want(only, "prefill")) {
        const int before = n;
        bad += pf_check_all(large, &n);
        printf("check: prefill (FA2 style, mma.sync): %d checks\n", n - before);
    }
    if (want(only, "mla_compose")) bad += mla_compose_case(2, 300, false), n++;
    if (want(only, "gemm")) {
        bad += gemm_case("gemm", 1, 64, 96, 128, false);
        bad += gemm_case("batched_gemm", 4, 16, 64, 96, false);
        n += 2;
    }
    if (large) {
        static struct bh_dec_shape shapes[256];
        const int ns = bh_dec_shapes(shapes, 256);
        int nl = 0;
        for (int i = 0; i < ns; i++) {
            const char *k = BH_DEC_CLASS[shapes[i].variant];
            if (only && strncmp(k, only, strlen(only))) continue;
            bad += dec_check_large(&shapes[i]), nl++;
        }
        printf("check: split vs unsplit on %d timed shapes (GPU vs GPU)\n", nl);
        n += nl;
    }
    printf("check: %d checks, %d failed\n", n, bad);
    return bad;
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *out = "measurements.csv", *only = NULL;
    bool check_only = false, large = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--all")) only = NULL;
        else if (!strcmp(argv[i], "--check-only")) check_only = true;
        else if (!strcmp(argv[i], "--no-large")) large = false;
        else if (!strcmp(argv[i], "--kernel") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--version") && i + 1 < argc) g_version = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) g_reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--check-only [--no-large]] [--kernel gqa|swa|moba|mla|"
                    "mla_compose|cca|prefill|gemm] [--version 0|1|2|3] [--reps N] [-o FILE.csv]\n", argv[0]);
            return 2;
        }
    }
    if (g_reps < 5 || g_version < 0 || g_version > 3) {
        fprintf(stderr, "bench: --reps >= 5 and --version 0, 1, 2 or 3\n");
        return 2;
    }
    int dev;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaGetDeviceProperties(&g_prop, dev));
    int clk_khz = 0, mclk_khz = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&clk_khz, cudaDevAttrClockRate, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&mclk_khz, cudaDevAttrMemoryClockRate, dev));
    g_sheet_bw = bh_datasheet_bw(g_prop.name);
    if (g_sheet_bw <= 0) {
        printf("bench: no datasheet bandwidth for '%s'; using H100 SXM's 3.35 TB/s\n", g_prop.name);
        g_sheet_bw = BH_H100_SXM_BW_BYTES_PER_S;
    }
    CUBLAS_CHECK(cublasCreate(&g_blas));
    const size_t flush_bytes = std::max((size_t)2 * g_prop.l2CacheSize, (size_t)64 << 20);
    g_flush_n = flush_bytes / sizeof(uint4);
    CUDA_CHECK(cudaMalloc(&g_flush, flush_bytes));
    CUDA_CHECK(cudaMalloc(&g_sink, sizeof(unsigned)));
    fill((bf16 *)g_flush, flush_bytes / sizeof(bf16), 1.f);
    printf("%s, %d SMs, L2 %d MB (evicted by reading %zu MB)\n", g_prop.name,
           g_prop.multiProcessorCount, g_prop.l2CacheSize >> 20, flush_bytes >> 20);
    if (check_only) {
        const int bad = check_all(only, large);
        printf(bad ? "check-only: FAILED\n" : "check-only: all checks passed\n");
        CUBLAS_CHECK(cublasDestroy(g_blas));
        CUDA_CHECK(cudaFree(g_flush));
        CUDA_CHECK(cudaFree(g_sink));
        return bad ? 1 : 0;
    }
    /* 1. correctness on small shapes first; any failure writes no timings */
    if (check_all(only, false)) {
        fprintf(stderr, "bench: correctness checks failed; no timings written\n");
        return 1;
    }
    g_csv = fopen(out, "w");
    if (!g_csv) {
        fprintf(stderr, "bench: cannot write %s\n", out);
        return 1;
    }
    fprintf(g_csv, "# opbound kernel measurements (docs/measurements.md)\n# device: %s\n"
            "# sm_count: %d\n# clock_sm_max_khz: %d\n# clock_mem_max_khz: %d\n# l2_bytes: %d\n"
            "# reps: %d\n# version: %d\n# implementation: opbound\n", g_prop.name,
            g_prop.multiProcessorCount, clk_khz, mclk_khz, g_prop.l2CacheSize, g_reps, g_version);
    FILE *smi = popen("nvidia-smi --query-gpu=clocks.sm,clocks.mem,clocks.max.sm,power.draw,"
                      "temperature.gpu --format=csv,noheader 2>/dev/null", "r");
    char line[256];
    if (smi && fgets(line, sizeof line, smi))
        fprintf(g_csv, "# nvidia-smi clocks.sm, clocks.mem, clocks.max.sm, power, temp: %s", line);
    if (smi) pclose(smi);
    /* 2. ceilings, then timings over the shape list */
    ceilings();
    fprintf(g_csv, "%s\n", BH_CSV_HEADER);
    printf("%-12s %-26s %12s %12s %12s %11s %12s %11s\n", "class", "name", "median", "min",
           "bandwidth", "rate", "floor/med", "ceil/med");
    launch_rows();
    static struct bh_dec_shape shapes[256];
    const int ns = bh_dec_shapes(shapes, 256);
    for (int i = 0; i < ns; i++) {
        const struct bh_dec_shape *s = &shapes[i];
        static const char *const KEY[BH_DEC_COUNT] = {"gqa", "swa", "moba", "mla", "cca"};
        if (want(only, KEY[s->variant])) dec_time(s);
        if (s->variant == BH_DEC_MLA && want(only, "mla_compose")) mla_compose_case(s->b, s->n_ctx, true);
    }
    if (want(only, "prefill")) {
        static struct bh_pf_shape ps[32];
        const int np = bh_pf_shapes(ps, 32);
        double causal_s = 0, causal_pairs = 0;
        for (int i = 0; i < np; i++) {
            const double t = pf_time(&ps[i]);
            const double pairs = bh_pf_pairs(ps[i].variant, ps[i].s, ps[i].win, ps[i].nsel, ps[i].blk_size);
            if (ps[i].variant == BH_PF_CAUSAL) {
                causal_s = t, causal_pairs = pairs;
            } else if (causal_s > 0) { /* the tile model's ratio check (issue 16, item 3) */
                fprintf(g_csv, "# prefill_ratio %s S=%d time_ratio=%.4f pairs_ratio=%.4f\n",
                        BH_PF_CLASS[ps[i].variant], ps[i].s, t / causal_s, pairs / causal_pairs);
                printf("ratio to causal: %s S=%d time %.3f, pairs %.3f\n", BH_PF_CLASS[ps[i].variant],
                       ps[i].s, t / causal_s, pairs / causal_pairs);
            }
        }
    }
    static int gs[64][4];
    const int ng = bh_gemm_shapes(gs, 64);
    for (int i = 0; i < ng; i++)
        if (want(only, "gemm"))
            gemm_case(gs[i][0] == 1 ? "gemm" : "batched_gemm", gs[i][0], gs[i][1], gs[i][2],
                      gs[i][3], true);
    fclose(g_csv);
    printf("wrote %s\n", out);
    CUBLAS_CHECK(cublasDestroy(g_blas));
    CUDA_CHECK(cudaFree(g_flush));
    CUDA_CHECK(cudaFree(g_sink));
    return 0;
}
