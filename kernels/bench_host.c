/* bench_host.c - CPU-side logic of the kernels and their bench (see
 * bench_host.h): split plan, napkin bytes and floors, timed shapes, CSV rows.
 * Plain C11, no CUDA: built into libopbound.a and tested by
 * tests/test_kernels_host.c. */
#include "bench_host.h"

#include <stdio.h>
#include <string.h>

/* Datasheet HBM bandwidths (bytes/s), matched by substring of the CUDA name;
 * first match wins, so the more specific names come first. Sources: NVIDIA
 * H100 datasheet (SXM 3.35 TB/s, PCIe 2.0 TB/s, NVL 3.9 TB/s), H200 (4.8),
 * A100 80GB SXM (2.039), A100 40GB (1.555). */
static const struct {
    const char *match;
    double bw;
} BH_DEVICES[] = {
    {"H100 PCIe", 2.0e12}, {"H100 NVL", 3.9e12}, {"H100", BH_H100_SXM_BW_BYTES_PER_S},
    {"H200", 4.8e12},      {"A100-SXM4-80GB", 2.039e12}, {"A100-PCIE-80GB", 1.935e12},
    {"A100", 1.555e12},
};

double bh_datasheet_bw(const char *device_name)
{
    if (!device_name) return 0;
    for (size_t i = 0; i < sizeof BH_DEVICES / sizeof BH_DEVICES[0]; i++)
        if (strstr(device_name, BH_DEVICES[i].match)) return BH_DEVICES[i].bw;
    return 0;
}

static long long cdiv_ll(long long a, long long b) { return (a + b - 1) / b; }

int bh_split_plan(long long n_keys, long long base_blocks, int blocks_per_sm, int sm_count,
                  int align, int min_keys, int forced, int *splits, int *chunk)
{
    if (n_keys < 0 || base_blocks <= 0 || blocks_per_sm <= 0 || sm_count <= 0 || align <= 0 ||
        min_keys <= 0 || forced < 0)
        return -1;
    if (n_keys == 0) {
        *splits = 1, *chunk = align;
        return 0;
    }
    const long long tiles = cdiv_ll(n_keys, align);
    long long s;
    if (forced > 0) {
        s = forced < tiles ? forced : tiles;
    } else {
        const long long slots = (long long)blocks_per_sm * sm_count;
        const long long want = base_blocks >= slots ? 1 : slots / base_blocks;
        const long long most = n_keys / min_keys;
        s = want < most ? want : most;
    }
    if (s < 1) s = 1;
    const long long c = cdiv_ll(cdiv_ll(n_keys, s), align) * align;
    *chunk = (int)c;
    *splits = (int)cdiv_ll(n_keys, c);
    return 0;
}

long long bh_dec_keys(long long n_ctx, long long win, int has_blk, long long nsel,
                      long long blk_size)
{
    if (has_blk) return nsel * blk_size;
    return win > 0 && win < n_ctx ? win : n_ctx;
}

double bh_dec_bytes(long long b, long long hq, long long hkv, long long dqk, long long dv,
                    long long n_keys, int v_in_k)
{
    const double kv = (double)b * hkv * n_keys * (dqk + (v_in_k ? 0 : dv));
    return 2.0 * (kv + (double)b * hq * (dqk + dv));
}

double bh_floor_s(double bytes, double bw_bytes_per_s)
{
    return bw_bytes_per_s > 0 ? bytes / bw_bytes_per_s : 0;
}

double bh_pct_of_floor(double floor_s, double time_s)
{
    return floor_s > 0 && time_s > 0 ? 100.0 * floor_s / time_s : 0;
}

const char *const BH_DEC_CLASS[BH_DEC_COUNT] = {
    [BH_DEC_GQA] = "gqa_decode", [BH_DEC_SWA] = "swa_decode", [BH_DEC_MOBA] = "moba_decode",
    [BH_DEC_MLA] = "mla_decode", [BH_DEC_CCA] = "cca_decode",
};

int bh_dec_shapes(struct bh_dec_shape *out, int max)
{
    static const int BATCH[] = {1, 8, 32, 128}, CTX[] = {1024, 4096, 16384, 65536};
    int n = 0;
#define BH_ADD(...)                                                                            \
    do {                                                                                       \
        const struct bh_dec_shape s_ = {__VA_ARGS__};                                          \
        if (n < max) out[n] = s_;                                                              \
        n++;                                                                                   \
    } while (0)
    for (int bi = 0; bi < 4; bi++)
        for (int ci = 0; ci < 4; ci++) {
            const int B = BATCH[bi], L = CTX[ci];
            if ((double)B * L > 2.2e6) continue;
            BH_ADD(BH_DEC_GQA, B, 32, 8, 128, L, 0, 0, 0);
            BH_ADD(BH_DEC_SWA, B, 32, 8, 128, L, 4096, 0, 0);
            if (L >= 4096) BH_ADD(BH_DEC_MOBA, B, 32, 8, 128, L, 0, 8, 512);
            BH_ADD(BH_DEC_MLA, B, 128, 1, 576, L, 0, 0, 0);
            BH_ADD(BH_DEC_CCA, B, 32, 8, 32, L, 0, 0, 0);
        }
    /* the decode shapes of the library timings (/work/shared/measurements,
     * kernels/measurements/library/): (B, Hq, Hkv, L) at D 128, then MLA (B, L) */
    static const int LIB[][4] = {{1, 32, 8, 8192},   {1, 32, 8, 131072}, {16, 32, 1, 32768},
                                 {16, 32, 8, 8192},  {16, 32, 32, 8192}, {32, 8, 8, 32768},
                                 {64, 32, 8, 4096},  {64, 64, 8, 8192}};
    for (int i = 0; i < 8; i++) BH_ADD(BH_DEC_GQA, LIB[i][0], LIB[i][1], LIB[i][2], 128, LIB[i][3], 0, 0, 0);
    static const int LIB_MLA[][2] = {{1, 8192}, {16, 8192}, {32, 32768}, {64, 4096}};
    for (int i = 0; i < 4; i++) BH_ADD(BH_DEC_MLA, LIB_MLA[i][0], 128, 1, 576, LIB_MLA[i][1], 0, 0, 0);
#undef BH_ADD
    return n;
}

int bh_gemm_shapes(int (*out)[4], int max)
{
    static const int M[] = {1, 16, 64, 256, 1024, 4096};
    int n = 0;
    for (int mi = 0; mi < 6; mi++) {
        const int rows[3][4] = {{1, M[mi], 4096, 4096}, {1, M[mi], 14336, 4096},
                                {8, M[mi], 2048, 7168}};
        for (int r = 0; r < 3; r++) {
            if (r == 2 && M[mi] > 1024) continue;
            if (n < max) memcpy(out[n], rows[r], sizeof rows[r]);
            n++;
        }
    }
    return n;
}

const char BH_CSV_HEADER[] = "kind,class,name,dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,kv_width,"
                             "count,m,n,k,flops,bytes,median_s,min_s";

/* Letters, digits, _ - . + (the loader's rule for class and name). */
static int ident_ok(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++) {
        const char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '+'))
            return 0;
    }
    return 1;
}

/* Appends like snprintf at *len; returns -1 once the buffer is full. */
static int put(char *buf, size_t n, int *len, const char *fmt, double x, int have)
{
    if (*len < 0) return -1;
    const int w = have ? snprintf(buf + *len, n - (size_t)*len, fmt, x)
                       : snprintf(buf + *len, n - (size_t)*len, ",");
    if (w < 0 || (size_t)(*len + w) >= n) return *len = -1;
    *len += w;
    return 0;
}

int bh_csv_row(char *buf, size_t n, const char *kind, const char *cls, const char *name,
               const double *attn, const double *gemm, int have_cost, double flops,
               double bytes, double median_s, double min_s)
{
    if (!ident_ok(kind) || !ident_ok(cls) || !ident_ok(name) || n == 0) return -1;
    int len = snprintf(buf, n, "%s,%s,%s,bf16,bf16", kind, cls, name);
    if (len < 0 || (size_t)len >= n) return -1;
    for (int i = 0; i < 8; i++) put(buf, n, &len, ",%.17g", attn ? attn[i] : 0, attn != NULL);
    for (int i = 0; i < 4; i++) put(buf, n, &len, ",%.17g", gemm ? gemm[i] : 0, gemm != NULL);
    put(buf, n, &len, ",%.17g", flops, have_cost);
    put(buf, n, &len, ",%.17g", bytes, have_cost);
    put(buf, n, &len, ",%.6e", median_s, 1);
    put(buf, n, &len, ",%.6e", min_s, 1);
    if (len < 0 || (size_t)len + 1 >= n) return -1;
    buf[len++] = '\n';
    buf[len] = 0;
    return len;
}

const char *const BH_PF_CLASS[BH_PF_COUNT] = {
    [BH_PF_CAUSAL] = "gqa_prefill", [BH_PF_SWA] = "swa_prefill", [BH_PF_MOBA] = "moba_prefill",
};

double bh_pf_pairs(enum bh_pf_variant v, long long s, long long win, long long nsel,
                   long long blk_size)
{
    if (s <= 0) return 0;
    const double S = (double)s;
    switch (v) {
    case BH_PF_CAUSAL: return S * (S + 1) / 2;
    case BH_PF_SWA:
        if (win <= 0 || win >= s) return S * (S + 1) / 2;
        return (double)win * (win + 1) / 2 + (S - win) * win;
    case BH_PF_MOBA: {
        double n = 0;
        for (long long i = 0; i < s; i++) {
            const long long qb = i / blk_size, extra = nsel - 1 < qb ? nsel - 1 : qb;
            n += (double)(i % blk_size + 1) + (double)extra * blk_size;
        }
        return n;
    }
    case BH_PF_COUNT: break;
    }
    return 0;
}

int bh_pf_shapes(struct bh_pf_shape *out, int max)
{
    static const struct bh_pf_shape SHAPES[] = {
        {BH_PF_CAUSAL, 1, 32, 8, 128, 4096, 0, 0, 0},
        {BH_PF_SWA, 1, 32, 8, 128, 4096, 1024, 0, 0},
        {BH_PF_MOBA, 1, 32, 8, 128, 4096, 0, 4, 512},
        {BH_PF_CAUSAL, 8, 32, 8, 128, 2048, 0, 0, 0},
        {BH_PF_CAUSAL, 1, 64, 8, 128, 8192, 0, 0, 0},
        {BH_PF_CAUSAL, 1, 16, 16, 64, 16384, 0, 0, 0},
        {BH_PF_CAUSAL, 1, 32, 8, 128, 16384, 0, 0, 0},
        {BH_PF_SWA, 1, 32, 8, 128, 16384, 4096, 0, 0},
        {BH_PF_MOBA, 1, 32, 8, 128, 16384, 0, 4, 512},
    };
    const int n = (int)(sizeof SHAPES / sizeof SHAPES[0]);
    for (int i = 0; i < n && i < max; i++) out[i] = SHAPES[i];
    return n;
}
