/* serve.h - continuous-batching serving simulator (`opbound serve`).
 *
 * Two layers:
 *  - the iteration engine (serve_engine_*): the roofline cost of one serving
 *    iteration whose sequences each add their own number of tokens on top of
 *    their own cached context (decodes at different contexts mixed with chunks
 *    of prefill). Token-wise ops (projections, norms, FFN/MoE, all-reduces,
 *    lm_head) are lowered once for the iteration's T tokens; the attention
 *    core (and any op reading the KV cache) is lowered per group of sequences
 *    with equal (new tokens, context) and the groups' counts are summed into
 *    one kernel per layer group. A single uniform group reproduces `analyze`
 *    exactly (docs/serving.md, "Iteration cost").
 *  - the scheduler (serve_run): requests arrive, are admitted while the batch
 *    and the KV-cache memory allow, and are served Sarathi-Serve style
 *    (decodes first, then prefill chunks up to a token budget); optional
 *    attention-FFN disaggregation (Step-3 AFD) and a price per device hour.
 *
 * Entry points: serve_engine_init/_free/_eval, serve_load/serve_free
 * (serve_load.c: scenario files), serve_run, serve_result_free.
 * Rules and formulas: docs/serving.md. */
#ifndef OB_SERVE_H
#define OB_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "eval.h"

/* n sequences, each adding q new tokens on top of ctx cached ones; `samples`
 * of them (<= n) produce an output token this iteration (lm_head rows). */
struct serve_item {
    double n, q, ctx, samples;
};

/* Cost of one iteration on one device of a tensor-parallel group. */
struct serve_engine {
    const struct model *m;
    const struct device *d;
    struct step st;           /* dtypes and tp; batch/q_len/ctx_prior per call */
    struct graph g;           /* the composed iteration graph */
    struct graph scratch;     /* one attention block of one group */
    struct serve_item *items; /* sorted copy of the caller's items */
    int items_cap;
};

/* Prepares an engine for model m on device d over tp devices with the given
 * dtypes. 0, or -1 if out of memory. */
int serve_engine_init(struct serve_engine *e, const struct model *m, const struct device *d,
                      double tp, enum dtype dt_w, enum dtype dt_act, enum dtype dt_kv);
void serve_engine_free(struct serve_engine *e); /* accepts a zeroed engine */
/* Evaluates one iteration of n items (n >= 1, every q >= 1, n and samples
 * whole). Fills tot (time_block_s splits attention / ffn / model) and returns
 * the iteration time in seconds. Allocates only when n exceeds every earlier
 * call's n. */
double serve_engine_eval(struct serve_engine *e, const struct serve_item *items, int n,
                         struct eval_totals *tot);

/* ---- scenario (serve_load.c) ---- */

#define SERVE_MAX_LENGTHS 256

struct serve_afd {
    bool on;
    double attn_devices, ffn_devices; /* tensor-parallel size of each pool */
    char attn_hw[1024], ffn_hw[1024]; /* resolved device paths ("" = the --hw device) */
    double micro_batches;
    double link_bytes_per_s; /* 0 = derived from the pools' interconnects */
};

struct serve_scenario {
    char name[128];
    char file[512];
    struct model *m; /* owned */
    double requests;
    int n_lengths;                       /* fixed mix (cycled), or 0 for uniform */
    double input[SERVE_MAX_LENGTHS], output[SERVE_MAX_LENGTHS];
    double in_min, in_max, out_min, out_max; /* uniform mix */
    double arrival_rate_per_s;               /* 0 = all requests at t = 0 */
    uint64_t seed;
    double max_batch, token_budget, prefill_chunk;
    double act_reserve_bytes; /* < 0 = default (see docs/serving.md) */
    double kv_memory_bytes;   /* < 0 = capacity - weights - reserve */
    double tp;                /* scenario default; --tp overrides */
    bool has_dt_w, has_dt_kv;
    enum dtype dt_w, dt_kv;
    struct serve_afd afd;
    struct profile *profile; /* owned; implementation profile the iterations are lowered
                              * with (NULL: none; models/profile.h) */
    double max_work;      /* SERVE_MAX_WORK (tests lower it) */
    /* Called every 4096 iterations with the requests done and their total
     * (NULL: none; not read from the file): cmd_serve prints a progress line
     * with it when standard error is a terminal. */
    void (*progress)(void *ctx, double done, double total);
    void *progress_ctx;
    size_t exact_samples; /* SERVE_EXACT_SAMPLES (tests lower it) */
    /* where serve_run points its errors (1-based line, column; 0 = unknown) */
    int line_model, col_model, line_mix, col_mix, line_requests, col_requests;
};

/* Loads and checks a scenario file. *out owned by the caller (serve_free).
 * 0, or -1 with e set (FILE:LINE:COL). */
int serve_load(const char *path, struct serve_scenario **out, struct err *e);
void serve_free(struct serve_scenario *s); /* accepts NULL */
int serve_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n);

/* ---- simulation ---- */

#define SERVE_TIMELINE 16

struct serve_stats {
    double mean, p50, p99, max;
};

/* Bounds on one run (docs/serving.md, "Work bound"). Work is counted in
 * attention-block lowerings: an iteration lowers the attention block once per
 * scheduled sequence in every layer group, and lowers and evaluates the
 * token-wise ops, which cost about SERVE_ITER_WORK attention lowerings per
 * layer group; so an iteration of n sequences is (n + SERVE_ITER_WORK) x
 * layer groups units (about 73 ns each on the BENCHMARKS.md machine). A
 * scenario whose least possible work exceeds its max_work (SERVE_MAX_WORK)
 * is refused before it runs, and a run is stopped (refused) when it reaches
 * it. Statistics are exact over at
 * most SERVE_EXACT_SAMPLES stored samples each; beyond, percentiles come from
 * a log-spaced histogram (relative error below 0.07%) and the occupancy
 * timeline from every 2^k-th iteration. */
#define SERVE_MAX_WORK 5e7
#define SERVE_ITER_WORK 24.0
#define SERVE_EXACT_SAMPLES ((size_t)1 << 20)

/* Sample statistics in bounded memory: count, sum, min and max always;
 * samples (as runs of equal consecutive values when merge is set) stored
 * until cap_runs runs, then a histogram. */
struct serve_stream {
    double n, sum, comp, min, max; /* sum + comp: compensated sum */
    double *v, *c;          /* stored runs: value, count */
    size_t nr, alloc, closed; /* runs stored, allocated, already summed */
    size_t cap_runs;
    bool merge;
    double *hist; /* NULL while exact */
};
void serve_stream_init(struct serve_stream *st, size_t cap_runs, bool merge_runs);
void serve_stream_add(struct serve_stream *st, double v);
/* mean, nearest-rank p50 and p99, max. Exact while no histogram is used. */
void serve_stream_stats(struct serve_stream *st, struct serve_stats *out);
void serve_stream_free(struct serve_stream *st); /* accepts a zeroed stream */

struct serve_result {
    double tp;
    double iterations, requests, makespan_s;
    double input_tokens, output_tokens;
    struct serve_stats iter_s, ttft_s, tbt_s, e2e_s;
    double output_tokens_per_s, total_tokens_per_s;
    double waited, wait_mean_s, wait_max_s; /* requests admitted after they arrived */
    double starved_tokens;                  /* decode turns skipped for the token budget */
    /* KV cache, per device (attention pool under AFD) */
    double weight_bytes_dev, act_reserve_bytes, kv_limit_bytes, kv_bytes_per_token_dev;
    double kv_peak_bytes, kv_mean_bytes; /* mean weighted by time */
    int n_timeline;
    double timeline_t_s[SERVE_TIMELINE], timeline_kv_bytes[SERVE_TIMELINE];
    /* time split summed over iterations (non-AFD: block times; AFD: pools) */
    double time_attn_s, time_ffn_s, time_other_s;
    /* AFD */
    bool afd;
    double afd_attn_devices, afd_ffn_devices, afd_micro_batches, afd_link_bytes_per_s;
    double afd_transfer_s;  /* transfer time summed over iterations (one direction, per micro-batch chain) */
    double ffn_weight_bytes_dev;
    /* cost */
    bool has_price;
    double devices_attn, devices_ffn;     /* devices paid for each side */
    double price_attn_usd_per_hour, price_ffn_usd_per_hour;
    double usd_total, usd_per_mtok, usd_per_mtok_attn, usd_per_mtok_ffn;
    char hw_name[64], attn_hw_name[64], ffn_hw_name[64];
};

/* AFD step time from per-micro-batch stage times (docs/serving.md):
 * a + f + 2x + (m - 1) * max(a, f, x). */
double serve_afd_step(double a, double f, double x, double micro_batches);

/* The devices a run uses: d (the --hw device), and under AFD the attention
 * and FFN pools' devices, which the caller loads from s->afd.attn_hw /
 * ffn_hw (NULL when the scenario names none: d is used). */
struct serve_hw {
    const struct device *d, *attn, *ffn;
};

/* Runs scenario s on hw (tp >= 1 devices), in the steps of docs/serving.md:
 * pools, memory budget, requests, then admit / schedule / cost / advance
 * until every request is done, then statistics and price. 0, or -1 with e set
 * (the scenario does not fit: weights exceed memory, a request can never
 * fit). */
int serve_run(const struct serve_scenario *s, const struct serve_hw *hw, double tp,
              struct serve_result *r, struct err *e);

#endif
