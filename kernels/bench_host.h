/* bench_host.h - the CPU-side logic of the CUDA kernels and their bench, in
 * plain C so that `make check` tests it without nvcc (tests/test_kernels_host.c):
 * the split-KV plan of the decode kernel, napkin-math bytes and floors, the
 * datasheet bandwidths, the list of timed shapes and the measurement-file
 * (docs/measurements.md) rows. Compiled into build/libopbound.a and linked by
 * kernels/bench.
 *
 * To add a timed decode shape: a line in bh_dec_shapes' table (bench_host.c).
 * To add a device: a line in BH_DEVICES (bench_host.c). */
#ifndef OB_BENCH_HOST_H
#define OB_BENCH_HOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Datasheet HBM bandwidth of H100 SXM (bytes/s): the floor the issue quotes. */
#define BH_H100_SXM_BW_BYTES_PER_S 3.35e12

/* Datasheet memory bandwidth (bytes/s) for a CUDA device name as
 * cudaGetDeviceProperties reports it; 0 when the name is not in the table. */
double bh_datasheet_bw(const char *device_name);

/* Split-KV plan for n_keys keys per (sequence, head group) run as base_blocks
 * blocks before splitting, with blocks_per_sm resident blocks per SM (from
 * cudaOccupancyMaxActiveBlocksPerMultiprocessor) on sm_count SMs:
 *   forced > 0: that many splits (at most one per `align`-key tile);
 *   otherwise:  one wave, slots / base_blocks splits (slots = blocks_per_sm *
 *               sm_count), at most n_keys / min_keys, at least 1.
 * Then chunk = that many keys rounded up to a multiple of align, and splits =
 * ceil(n_keys / chunk), so no split is empty. Returns 0, or -1 for
 * non-positive arguments (n_keys may be 0: one split of one tile). */
int bh_split_plan(long long n_keys, long long base_blocks, int blocks_per_sm, int sm_count,
                  int align, int min_keys, int forced, int *splits, int *chunk);

/* Keys one decode query attends per (sequence, KV head): n_ctx, the last win
 * of them when 0 < win < n_ctx, or nsel * blk_size with a block table. */
long long bh_dec_keys(long long n_ctx, long long win, int has_blk, long long nsel,
                      long long blk_size);

/* Fewest bytes a bf16 decode attention moves: each cached K (and V unless
 * v_in_k) element of the attended keys read once, q read and o written once:
 * 2 * (b*hkv*n_keys*(dqk + dv') + b*hq*(dqk + dv)), dv' = v_in_k ? 0 : dv. */
double bh_dec_bytes(long long b, long long hq, long long hkv, long long dqk, long long dv,
                    long long n_keys, int v_in_k);

/* bytes / bw_bytes_per_s, and floor / measured as a percentage (0 when either is 0). */
double bh_floor_s(double bytes, double bw_bytes_per_s);
double bh_pct_of_floor(double floor_s, double time_s);

/* Decode variants the bench checks and times. */
enum bh_dec_variant { BH_DEC_GQA, BH_DEC_SWA, BH_DEC_MOBA, BH_DEC_MLA, BH_DEC_CCA, BH_DEC_COUNT };
extern const char *const BH_DEC_CLASS[BH_DEC_COUNT]; /* "gqa_decode", ... */

struct bh_dec_shape {
    enum bh_dec_variant variant;
    int b, hq, hkv, d; /* d: head dim (MLA: 576 / 512, set by the variant) */
    int n_ctx;         /* keys in the cache, the new token included */
    int win;           /* sliding window (SWA) */
    int nsel, blk_size; /* block-sparse selection (MoBA) */
};

/* The timed decode shapes, in run order: batch {1, 8, 32, 128} x context
 * {1k, 4k, 16k, 64k} with b * L <= 2.2e6 (each K or V cache <= 4.5 GB), for
 * GQA (32/8 heads, d 128), SWA (window 4096), MoBA (top 8 of 512-key blocks,
 * L >= 4k), MLA (128 heads, 576/512 latent) and CCA (32/8 latent heads,
 * d 32): 71 shapes; then the 8 GQA-family and 4 MLA decode shapes of the
 * library timings (kernels/measurements/library/): 83. Writes at most max
 * shapes; returns how many there are. */
int bh_dec_shapes(struct bh_dec_shape *out, int max);

/* The timed GEMM shapes (count, m, n, k) as rows of 4 ints; returns how many. */
int bh_gemm_shapes(int (*out)[4], int max);

/* Prefill variants (kernels/attn_prefill.cu). */
enum bh_pf_variant { BH_PF_CAUSAL, BH_PF_SWA, BH_PF_MOBA, BH_PF_COUNT };
extern const char *const BH_PF_CLASS[BH_PF_COUNT]; /* "gqa_prefill", ... */

struct bh_pf_shape {
    enum bh_pf_variant variant;
    int b, hq, hkv, d, s; /* q (B, S, Hq, D), k/v (B, S, Hkv, D) */
    int win;              /* SWA */
    int nsel, blk_size;   /* MoBA: own block + nsel - 1 earlier blocks of blk_size */
};

/* (query, key) pairs one head of one sequence computes: causal S (S + 1) / 2;
 * window w: w (w + 1) / 2 + (S - w) w when w < S; MoBA (the bench's tables:
 * each query block of blk_size keeps itself, causally, and min(nsel - 1, its
 * index) earlier whole blocks): sum over queries i of (i mod bs) + 1 +
 * min(nsel - 1, i / bs) bs. Returns 0 for a non-positive S. */
double bh_pf_pairs(enum bh_pf_variant v, long long s, long long win, long long nsel,
                   long long blk_size);

/* Timed prefill shapes, in run order (the library's shapes in
 * /work/shared/measurements where it has them: causal 32/8 heads D 128 at
 * B 1 S 4096 and 16384, B 8 S 2048; 64/8 at S 8192; 16/16 D 64 at S 16384),
 * and, beside the causal rows at B 1, 32/8, D 128, S 4096 and 16384, a
 * window (1024, 4096) and MoBA top 4 of 512-key blocks: 9 shapes. Returns
 * how many (writes at most max). */
int bh_pf_shapes(struct bh_pf_shape *out, int max);

/* The measurement file's header line (docs/measurements.md), no newline. */
extern const char BH_CSV_HEADER[];

/* One measurement row: kind, class, name, dtype, kv_dtype; attn (8 values:
 * b hq dqk dv sq skv pairs kv_width) or NULL; gemm (count m n k) or NULL;
 * flops and bytes (written only when have_cost); median and min seconds.
 * Writes the line (with '\n') into buf like snprintf; returns its length, or
 * -1 when it does not fit or a name holds a character the loader refuses. */
int bh_csv_row(char *buf, size_t n, const char *kind, const char *cls, const char *name,
               const double *attn, const double *gemm, int have_cost, double flops,
               double bytes, double median_s, double min_s);

#ifdef __cplusplus
}
#endif

#endif
