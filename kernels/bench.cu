/* bench.cu - checks and times the decode attention kernels and cuBLAS GEMMs,
 * measures the device's own ceilings and writes a measurement file
 * (docs/measurements.md) for `opbound calibrate` / `validate`.
 *
 * Harness (llm.c dev/cuda habits): per case, fresh random inputs (never
 * zeros), output poisoned with NaN, CPU reference in double, relative error
 * ||out - ref|| / ||ref|| <= 1e-2 (bf16) and an atol + rtol element check that
 * stops after 5 mismatches; then warm-up, L2 flushed before every repetition,
 * CUDA events, median and min. FLOPs and bytes come from the cost model
 * (sim/core/opcost.h), so the file and `opbound predict` count alike.
 *
 * usage: bench [--all | --kernel gqa|swa|moba|mla|mla_compose|cca|gemm|batched_gemm]
 *              [--version 1|2] [--reps N] [-o FILE.csv]
 *   --version 1: single pass per (sequence, head group); 2 (default): split-KV.
 * To add a kernel: a case function that checks and times it, listed in main. */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <cuda_bf16.h>

#include "../sim/core/opcost.h"
#include "attn_decode.h"
#include "cuda_check.h"

typedef __nv_bfloat16 bf16;

static int g_reps = 50, g_version = 2;
static FILE *g_csv;
static cudaDeviceProp g_prop;
static double g_copy_bw, g_gemm_rate; /* measured ceilings */
static void *g_flush;
static size_t g_flush_bytes;
static cublasHandle_t g_blas;

static unsigned long long g_rng = 88172645463325252ull;
static float frand(void) /* uniform in [-1, 1), xorshift64 */
{
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (float)((g_rng >> 11) * (1.0 / 9007199254740992.0)) * 2.f - 1.f;
}

/* Fresh random bf16 device buffer; host copy (as float) in h. */
static bf16 *rand_dev(size_t n, std::vector<float> &h)
{
    std::vector<bf16> tmp(n);
    h.resize(n);
    for (size_t i = 0; i < n; i++) tmp[i] = __float2bfloat16(frand()), h[i] = __bfloat162float(tmp[i]);
    bf16 *d;
    CUDA_CHECK(cudaMalloc(&d, n * sizeof(bf16)));
    CUDA_CHECK(cudaMemcpy(d, tmp.data(), n * sizeof(bf16), cudaMemcpyHostToDevice));
    return d;
}

static void poison(bf16 *d, size_t n) { CUDA_CHECK(cudaMemset(d, 0xff, n * sizeof(bf16))); } /* NaN */

/* Compares a device bf16 result with a double reference; returns 0 if within
 * bf16 tolerance. */
static int check(const char *what, const bf16 *d, const std::vector<double> &ref)
{
    std::vector<bf16> h(ref.size());
    CUDA_CHECK(cudaMemcpy(h.data(), d, h.size() * sizeof(bf16), cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    int bad = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        const double x = __bfloat162float(h[i]), r = ref[i];
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

/* Times fn: warm-up, then g_reps runs each after an L2 flush, with events. */
template <class F> static void time_it(F fn, double *median_s, double *min_s)
{
    for (int i = 0; i < 3; i++) fn();
    CUDA_CHECK(cudaDeviceSynchronize());
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    std::vector<double> t(g_reps);
    for (int r = 0; r < g_reps; r++) {
        CUDA_CHECK(cudaMemsetAsync(g_flush, r & 0xff, g_flush_bytes));
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

/* One CSV row (MEAS_HEADER order) and one line of the table. */
static void report(const char *kind, const char *cls, const char *name, const double *attn,
                   const double *gemm, const struct opcost *c, double med, double mn)
{
    fprintf(g_csv, "%s,%s,%s,bf16,bf16", kind, cls, name);
    for (int i = 0; i < 8; i++) attn ? fprintf(g_csv, ",%.17g", attn[i]) : fprintf(g_csv, ",");
    for (int i = 0; i < 4; i++) gemm ? fprintf(g_csv, ",%.17g", gemm[i]) : fprintf(g_csv, ",");
    const double flops = c ? c->flops_mm + c->flops_vec : 0, bytes = c ? c->bytes : 0;
    if (c) fprintf(g_csv, ",%.17g,%.17g", flops, bytes);
    else fprintf(g_csv, ",,");
    fprintf(g_csv, ",%.6e,%.6e\n", med, mn);
    fflush(g_csv);
    const double floor_s = c ? std::max(bytes / g_copy_bw, c->flops_mm / g_gemm_rate) : 0;
    printf("%-13s %-22s %10.2f us %10.2f us %8.1f GB/s %8.1f TFLOP/s %6.1f%% of floor\n", cls,
           name, med * 1e6, mn * 1e6, bytes / med * 1e-9, flops / med * 1e-12,
           floor_s > 0 ? 100 * floor_s / med : 0);
}

/* ---- decode attention ---------------------------------------------------- */

/* CPU reference in double for the same arguments (host copies of q, k, v). */
static void dec_reference(const struct dec_args &a, const std::vector<float> &q,
                          const std::vector<float> &k, const std::vector<float> &v,
                          const std::vector<int> &blk, std::vector<double> &o)
{
    const int g = a.hq / a.hkv, n = dec_keys(&a), start = a.blk ? 0 : a.n_ctx - n;
    o.assign((size_t)a.b * a.hq * a.dv, 0);
    std::vector<double> s(n);
    for (int b = 0; b < a.b; b++)
        for (int h = 0; h < a.hq; h++) {
            const int kvh = h / g;
            double mx = -1e300, sum = 0;
            std::vector<long long> tok(n);
            for (int i = 0; i < n; i++) {
                tok[i] = a.blk ? (long long)blk[((size_t)b * a.hkv + kvh) * a.nsel + i / a.blk_size] *
                                         a.blk_size + i % a.blk_size
                               : start + i;
                double x = 0;
                for (int d = 0; d < a.dqk; d++)
                    x += (double)q[((size_t)b * a.hq + h) * a.dqk + d] *
                         k[b * a.k_bs + tok[i] * a.k_ts + kvh * a.k_hs + d];
                s[i] = x * a.scale;
                mx = std::max(mx, s[i]);
            }
            for (int i = 0; i < n; i++) s[i] = exp(s[i] - mx), sum += s[i];
            const std::vector<float> &vv = a.v_in_k ? k : v;
            const long long bs = a.v_in_k ? a.k_bs : a.v_bs, ts = a.v_in_k ? a.k_ts : a.v_ts,
                            hs = a.v_in_k ? a.k_hs : a.v_hs;
            for (int d = 0; d < a.dv; d++) {
                double x = 0;
                for (int i = 0; i < n; i++) x += s[i] * vv[b * bs + tok[i] * ts + kvh * hs + d];
                o[((size_t)b * a.hq + h) * a.dv + d] = x / sum;
            }
        }
}

/* variant: 0 gqa/cca, 1 swa, 2 moba, 3 mla. Checks (small shapes) or times. */
static int dec_case(const char *cls, int variant, int B, int hq, int hkv, int d, int L, int win,
                    int nsel, int bs, bool time_only)
{
    struct dec_args a;
    memset(&a, 0, sizeof a);
    a.b = B, a.hq = hq, a.hkv = hkv, a.n_ctx = L, a.sm_count = g_prop.multiProcessorCount;
    a.dqk = variant == 3 ? 576 : d, a.dv = variant == 3 ? 512 : d, a.v_in_k = variant == 3;
    a.win = variant == 1 ? win : 0;
    a.scale = (float)(1 / sqrt((double)a.dqk));
    a.splits = g_version == 1 ? 1 : 0;
    std::vector<float> hq_, hk, hv;
    bf16 *q = rand_dev((size_t)B * hq * a.dqk, hq_);
    /* cache layout (B, L, Hkv, D) for K and V; MLA: (B, L, 576) latent+rope */
    bf16 *k = rand_dev((size_t)B * L * hkv * a.dqk, hk), *v = NULL;
    a.k_hs = a.dqk, a.k_ts = (long long)hkv * a.dqk, a.k_bs = (long long)L * hkv * a.dqk;
    if (!a.v_in_k) {
        v = rand_dev((size_t)B * L * hkv * a.dv, hv);
        a.v_hs = a.dv, a.v_ts = (long long)hkv * a.dv, a.v_bs = (long long)L * hkv * a.dv;
    }
    std::vector<int> blk;
    int *dblk = NULL;
    if (variant == 2) { /* top-k distinct blocks, the last (current) block always chosen */
        a.nsel = nsel, a.blk_size = bs;
        const int nb = L / bs;
        for (int i = 0; i < B * hkv; i++) {
            std::vector<int> pick;
            pick.push_back(nb - 1);
            while ((int)pick.size() < nsel) {
                int c = (int)((frand() + 1) * 0.5f * (nb - 1));
                if (std::find(pick.begin(), pick.end(), c) == pick.end()) pick.push_back(c);
            }
            std::sort(pick.begin(), pick.end());
            blk.insert(blk.end(), pick.begin(), pick.end());
        }
        CUDA_CHECK(cudaMalloc(&dblk, blk.size() * sizeof(int)));
        CUDA_CHECK(cudaMemcpy(dblk, blk.data(), blk.size() * sizeof(int), cudaMemcpyHostToDevice));
        a.blk = dblk;
    }
    a.q = q, a.k = k, a.v = v;
    CUDA_CHECK(cudaMalloc(&a.o, (size_t)B * hq * a.dv * sizeof(bf16)));
    CUDA_CHECK(cudaMalloc(&a.ws, dec_workspace_floats(&a) * sizeof(float) + 4));
    int rc = 0;
    char name[64];
    snprintf(name, sizeof name, "%s_v%d_s%d", cls, g_version, dec_splits(&a));
    if (!time_only) {
        poison(a.o, (size_t)B * hq * a.dv);
        dec_attention(&a, 0);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<double> ref;
        dec_reference(a, hq_, hk, hv, blk, ref);
        rc = check(name, a.o, ref);
    } else {
        const double n = dec_keys(&a);
        const double attn[8] = {(double)B, (double)hq, (double)a.dqk, (double)a.dv, 1, n, n,
                                a.v_in_k ? (double)a.dqk : 2.0 * hkv * d};
        struct opcost c;
        if (opcost_attention("bf16", "bf16", attn[0], attn[1], attn[2], attn[3], attn[4],
                             attn[5], attn[6], attn[7], &c)) {
            fprintf(stderr, "%s: the cost model refuses this shape\n", name);
            exit(1);
        }
        double med, mn;
        time_it([&] { dec_attention(&a, 0); }, &med, &mn);
        report("attention", cls, name, attn, NULL, &c, med, mn);
    }
    CUDA_CHECK(cudaFree(q));
    CUDA_CHECK(cudaFree(k));
    if (v) CUDA_CHECK(cudaFree(v));
    if (dblk) CUDA_CHECK(cudaFree(dblk));
    CUDA_CHECK(cudaFree(a.o));
    CUDA_CHECK(cudaFree(a.ws));
    return rc;
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
    a.splits = g_version == 1 ? 1 : 0, a.sm_count = g_prop.multiProcessorCount;
    std::vector<float> hq_, hk, hv;
    bf16 *q = rand_dev((size_t)B * H * dqk, hq_), *k = rand_dev((size_t)B * n * dqk, hk), *p, *o;
    float *s;
    CUDA_CHECK(cudaMalloc(&s, (size_t)B * H * n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&p, (size_t)B * H * n * sizeof(bf16)));
    CUDA_CHECK(cudaMalloc(&o, (size_t)B * H * dv * sizeof(bf16)));
    a.q = q, a.k = k, a.o = o;
    CUDA_CHECK(cudaMalloc(&a.ws, dec_workspace_floats(&a) * sizeof(float) + 4));
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
    bf16 *A = rand_dev((size_t)count * m * k, ha), *B = rand_dev((size_t)count * k * n, hb), *C;
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

/* ---- ceilings and launch overhead ---------------------------------------- */

__global__ void empty_kernel(void) {}

static void ceilings(void)
{
    const size_t bytes = (size_t)1 << 30;
    void *a, *b;
    CUDA_CHECK(cudaMalloc(&a, bytes));
    CUDA_CHECK(cudaMalloc(&b, bytes));
    CUDA_CHECK(cudaMemset(a, 1, bytes));
    double med, mn;
    time_it([&] { CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); }, &med, &mn);
    g_copy_bw = 2.0 * bytes / med; /* read + write */
    CUDA_CHECK(cudaFree(a));
    CUDA_CHECK(cudaFree(b));
    const int n = 8192;
    std::vector<float> h;
    bf16 *A = rand_dev((size_t)n * n, h), *B = rand_dev((size_t)n * n, h), *C;
    CUDA_CHECK(cudaMalloc(&C, (size_t)n * n * sizeof(bf16)));
    time_it([&] { gemm_run(1, n, n, n, A, B, C); }, &med, &mn);
    g_gemm_rate = 2.0 * n * n * (double)n / med;
    CUDA_CHECK(cudaFree(A));
    CUDA_CHECK(cudaFree(B));
    CUDA_CHECK(cudaFree(C));
    fprintf(g_csv, "# ceiling_copy_bytes_per_s: %.6e\n# ceiling_gemm_bf16_flops_per_s: %.6e\n",
            g_copy_bw, g_gemm_rate);
    printf("ceilings: device-to-device copy %.1f GB/s (read + write), bf16 GEMM %dx%dx%d %.1f "
           "TFLOP/s\n", g_copy_bw * 1e-9, n, n, n, g_gemm_rate * 1e-12);
}

static void launch_rows(void)
{
    double med, mn;
    time_it([&] { empty_kernel<<<1, 32>>>(); CUDA_LAUNCH_CHECK(); }, &med, &mn);
    report("launch", "launch", "empty_kernel", NULL, NULL, NULL, med, mn);
}

/* ---- main ------------------------------------------------------------------ */

static bool want(const char *only, const char *k) { return !only || strcmp(only, k) == 0; }

int main(int argc, char **argv)
{
    const char *out = "measurements.csv", *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--all")) only = NULL;
        else if (!strcmp(argv[i], "--kernel") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--version") && i + 1 < argc) g_version = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) g_reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--all | --kernel gqa|swa|moba|mla|mla_compose|cca|gemm|batched_gemm] "
                    "[--version 1|2] [--reps N] [-o FILE.csv]\n", argv[0]);
            return 2;
        }
    }
    if (g_reps < 5 || (g_version != 1 && g_version != 2)) {
        fprintf(stderr, "bench: --reps >= 5 and --version 1 or 2\n");
        return 2;
    }
    int dev;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaGetDeviceProperties(&g_prop, dev));
    int clk_khz = 0, mclk_khz = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&clk_khz, cudaDevAttrClockRate, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&mclk_khz, cudaDevAttrMemoryClockRate, dev));
    CUBLAS_CHECK(cublasCreate(&g_blas));
    g_flush_bytes = 2 * (size_t)g_prop.l2CacheSize;
    CUDA_CHECK(cudaMalloc(&g_flush, g_flush_bytes));
    g_csv = fopen(out, "w");
    if (!g_csv) {
        fprintf(stderr, "bench: cannot write %s\n", out);
        return 1;
    }
    fprintf(g_csv, "# opbound kernel measurements (docs/measurements.md)\n# device: %s\n"
            "# sm_count: %d\n# clock_sm_max_khz: %d\n# clock_mem_max_khz: %d\n# l2_bytes: %d\n"
            "# reps: %d\n# version: %d\n", g_prop.name, g_prop.multiProcessorCount, clk_khz,
            mclk_khz, g_prop.l2CacheSize, g_reps, g_version);
    FILE *smi = popen("nvidia-smi --query-gpu=clocks.sm,clocks.mem,clocks.max.sm,power.draw,"
                      "temperature.gpu --format=csv,noheader 2>/dev/null", "r");
    char line[256];
    if (smi && fgets(line, sizeof line, smi))
        fprintf(g_csv, "# nvidia-smi clocks.sm, clocks.mem, clocks.max.sm, power, temp: %s", line);
    if (smi) pclose(smi);
    printf("%s, %d SMs\n", g_prop.name, g_prop.multiProcessorCount);
    /* 1. correctness on small shapes, every kernel, fresh random inputs */
    int bad = 0;
    if (want(only, "gqa")) bad += dec_case("gqa_decode", 0, 2, 16, 2, 128, 333, 0, 0, 0, false);
    if (want(only, "gqa")) bad += dec_case("gqa_decode", 0, 1, 32, 1, 64, 1000, 0, 0, 0, false);
    if (want(only, "swa")) bad += dec_case("swa_decode", 1, 2, 8, 2, 128, 700, 256, 0, 0, false);
    if (want(only, "moba")) bad += dec_case("moba_decode", 2, 2, 8, 2, 128, 1024, 0, 3, 64, false);
    if (want(only, "mla")) bad += dec_case("mla_decode", 3, 2, 128, 1, 0, 300, 0, 0, 0, false);
    if (want(only, "cca")) bad += dec_case("cca_decode", 0, 2, 16, 4, 32, 500, 0, 0, 0, false);
    if (want(only, "mla_compose")) bad += mla_compose_case(2, 300, false);
    if (want(only, "gemm")) bad += gemm_case("gemm", 1, 64, 96, 128, false);
    if (want(only, "batched_gemm")) bad += gemm_case("batched_gemm", 4, 16, 64, 96, false);
    if (bad) {
        fprintf(stderr, "bench: %d correctness check(s) failed; no timings written\n", bad);
        fclose(g_csv);
        remove(out);
        return 1;
    }
    printf("correctness: all checks passed\n");
    /* 2. ceilings, then timings over a grid of shapes */
    ceilings();
    fprintf(g_csv, "kind,class,name,dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,kv_width,count,m,n,k,"
            "flops,bytes,median_s,min_s\n");
    printf("%-13s %-22s %13s %13s %13s %16s %17s\n", "class", "name", "median", "min", "bandwidth",
           "rate", "floor/median");
    launch_rows();
    static const int BATCH[] = {1, 8, 32, 128}, CTX[] = {1024, 4096, 16384, 65536};
    for (int bi = 0; bi < 4; bi++)
        for (int ci = 0; ci < 4; ci++) {
            const int B = BATCH[bi], L = CTX[ci];
            if ((double)B * L > 2.2e6) continue; /* keeps each cache under ~4.5 GB */
            if (want(only, "gqa")) dec_case("gqa_decode", 0, B, 32, 8, 128, L, 0, 0, 0, true);
            if (want(only, "swa")) dec_case("swa_decode", 1, B, 32, 8, 128, L, 4096, 0, 0, true);
            if (want(only, "moba") && L >= 4096)
                dec_case("moba_decode", 2, B, 32, 8, 128, L, 0, 8, 512, true);
            if (want(only, "mla")) dec_case("mla_decode", 3, B, 128, 1, 0, L, 0, 0, 0, true);
            if (want(only, "cca")) dec_case("cca_decode", 0, B, 32, 8, 32, L, 0, 0, 0, true);
            /* the compose baseline keeps B*128*L fp32 scores: at most ~1.1 GB here */
            if (want(only, "mla_compose") && (double)B * L <= 2.2e6) mla_compose_case(B, L, true);
        }
    static const int M[] = {1, 16, 64, 256, 1024, 4096};
    for (int mi = 0; mi < 6; mi++) {
        if (want(only, "gemm")) {
            gemm_case("gemm", 1, M[mi], 4096, 4096, true);
            gemm_case("gemm", 1, M[mi], 14336, 4096, true);
        }
        if (want(only, "batched_gemm") && M[mi] <= 1024)
            gemm_case("batched_gemm", 8, M[mi], 2048, 7168, true);
    }
    fclose(g_csv);
    printf("wrote %s\n", out);
    CUBLAS_CHECK(cublasDestroy(g_blas));
    CUDA_CHECK(cudaFree(g_flush));
    return 0;
}
