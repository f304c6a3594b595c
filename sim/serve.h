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
 * Entry points: serve_engine_init/_free/_eval, serve_load/serve_free and
 * serve_trace_set (serve_load.c: scenario files), serve_gen_init/_next/_free
 * (serve_gen.c: the requests), serve_run, serve_result_free; for fleets
 * (sim/fleet.h) serve_replica_open/_push/_next/_event/_finish/_free. Traces:
 * trace.h; prefix caching: prefix_cache.h.
 * Rules and formulas: docs/serving.md. */
#ifndef OB_SERVE_H
#define OB_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "eval.h"
#include "trace.h"

/* n sequences, each adding q new tokens on top of ctx cached ones; `samples`
 * of them (<= n) produce an output token this iteration (lm_head rows). */
struct serve_item {
    double n, q, ctx, samples;
};

/* Cost of one iteration on one device of a tensor-parallel group. */
struct serve_cache;

struct serve_engine {
    const struct model *m;
    const struct device *d;
    struct step st;           /* dtypes and tp; batch/q_len/ctx_prior per call */
    struct graph g;           /* the composed iteration graph */
    struct graph scratch;     /* one attention block of one group */
    struct serve_item *items; /* sorted copy of the caller's items */
    struct serve_item *tmp;   /* merge sort's buffer */
    double *key;              /* the iteration's cache key (serve_cache.h) */
    int items_cap;
    bool no_cache;              /* set to evaluate every iteration (tests) */
    double work;                /* work units of the calls so far (SERVE_MAX_WORK) */
    double calls, evaluated;    /* calls so far; of them, evaluated (not from the cache) */
    struct serve_cache *cache;  /* iterations by batch composition; NULL until first used */
};

/* Prepares an engine for model m on device d over tp devices with the given
 * dtypes. 0, or -1 if out of memory. */
int serve_engine_init(struct serve_engine *e, const struct model *m, const struct device *d,
                      double tp, enum dtype dt_w, enum dtype dt_act, enum dtype dt_kv);
void serve_engine_free(struct serve_engine *e); /* accepts a zeroed engine */
/* Evaluates one iteration of n items (n >= 1, every q >= 1, n and samples
 * whole). Fills tot (time_block_s splits attention / ffn / model) and returns
 * the iteration time in seconds. An iteration whose merged groups (n, q, ctx)
 * and sampling count were evaluated before is answered from the engine's
 * cache with the same totals (bit for bit; no_cache turns it off). Allocates
 * only when n exceeds every earlier call's n, and the cache (bounded, about
 * 32 MiB) on the first call. */
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
    /* Data-parallel attention (docs/serving.md, AFD): each attention device
     * holds its own sequences, whole (attention weights replicated, KV not
     * split nor replicated); false: the pool is tensor-parallel. */
    bool attn_dp;
};

/* Where request lengths come from (docs/serving.md, "Requests"). */
enum serve_mix { MIX_CYCLE, MIX_UNIFORM, MIX_LOGNORMAL, MIX_HISTOGRAM, MIX_TRACE };

#define SERVE_MAX_BINS 64   /* histogram bins per length */
#define SERVE_MAX_RATES 288 /* slices of a rate curve (5 minutes over a day) */

/* A length distribution of one side (0 = input, 1 = output). */
struct serve_dist {
    double mu, sigma;                   /* lognormal: exp(mu + sigma Z), rounded, >= 1 */
    int n_bins;                         /* histogram */
    double edges[SERVE_MAX_BINS + 1];   /* bin b holds lengths edges[b] .. edges[b+1] - 1 */
    double weights[SERVE_MAX_BINS];     /* cumulative, normalised to end at 1 */
};

/* Speculative decoding (docs/speculative.md, "In serve"). */
struct serve_spec {
    bool on;
    struct model *draft; /* owned: the draft model or MTP module */
    double k;            /* draft tokens per verify */
    double accept;       /* per-token acceptance probability */
};

struct serve_scenario {
    char name[128];
    char file[512];
    struct model *m; /* owned */
    double requests;
    bool has_requests; /* `requests` given (a trace replays its first N rows) */
    enum serve_mix mix;
    int n_lengths;                       /* fixed mix (cycled) */
    double input[SERVE_MAX_LENGTHS], output[SERVE_MAX_LENGTHS];
    double in_min, in_max, out_min, out_max; /* uniform mix */
    struct serve_dist dist[2];               /* lognormal or histogram mix: input, output */
    struct trace trace;                      /* MIX_TRACE: the requests (owned) */
    double trace_time_scale;                 /* trace arrivals are multiplied by it */
    double arrival_rate_per_s;               /* 0 = all requests at t = 0 */
    double arrival_cv;   /* inter-arrival coefficient of variation (gamma; 1 = Poisson) */
    int n_rates;         /* rate curve: 0 = constant arrival_rate_per_s */
    double rate_period_s, rates_per_s[SERVE_MAX_RATES];
    /* synthetic sharing (prefix caching) */
    double shared_prompt_tokens, shared_prompts; /* every prompt starts with one of them */
    double chat_sessions; /* 0 = none; request i continues session i mod chat_sessions */
    double block_tokens;  /* prefix cache: 0 = off */
    /* preemption under KV pressure (vLLM style): paged allocation when on */
    bool preempt, preempt_swap;
    double swap_bytes_per_s;
    double max_wait_s; /* 0 = wait forever */
    int n_priorities;  /* synthetic priority classes 0 .. n-1 drawn by weight (0 = none) */
    double priority_cum[16]; /* cumulative shares, ending at 1 */
    bool has_priority; /* some request has a priority other than 0 (trace or classes) */
    /* SLO targets (0 = none) */
    double slo_ttft_s, slo_tpot_s;
    uint64_t seed;
    double max_batch, token_budget, prefill_chunk;
    double act_reserve_bytes; /* < 0 = default (see docs/serving.md) */
    double kv_memory_bytes;   /* < 0 = capacity - weights - reserve */
    double tp;                /* scenario default; --tp overrides */
    bool has_dt_w, has_dt_kv;
    enum dtype dt_w, dt_kv;
    struct serve_afd afd;
    struct serve_spec spec;
    struct profile *profile; /* owned; implementation profile the iterations are lowered
                              * with (NULL: none; models/profile.h) */
    double max_work;      /* SERVE_MAX_WORK (tests lower it) */
    /* Called every 4096 iterations with the requests done and their total
     * (NULL: none; not read from the file): cmd_serve prints a progress line
     * with it when standard error is a terminal. */
    void (*progress)(void *ctx, double done, double total);
    void *progress_ctx;
    bool no_cache;        /* evaluate every iteration, no cache (tests set it) */
    double series_window_s; /* time series window (--timeseries, --window); 0 = none */
    struct serve_fleet *fleet; /* owned; replicas and router (fleet:), or NULL */
    size_t exact_samples; /* SERVE_EXACT_SAMPLES (tests lower it) */
    /* where serve_run points its errors (1-based line, column; 0 = unknown) */
    int line_model, col_model, line_mix, col_mix, line_requests, col_requests;
    int line_cache, col_cache;
};

/* Replaces the scenario's request mix and arrivals with the trace at path
 * (`serve --trace`); requests: the scenario's count when it gave one, else
 * the trace's rows. 0, or -1 with e set (FILE:LINE:COL in the trace). */
int serve_trace_set(struct serve_scenario *s, const char *path, bool limit_rows, struct err *e);

/* ---- request generation (serve_gen.c) ---- */

/* One request as generated: arrival, lengths, and what its prompt shares
 * (docs/serving.md, "Requests" and "Prefix caching"). */
struct serve_req_spec {
    double arrival_s, input, output;
    uint64_t session, prefix;  /* 0 = none */
    double prefix_tokens;      /* the first prefix_tokens of the prompt are prefix's */
    double priority;           /* admission class, lower first */
    int line, col;             /* trace line and column (0 = generated) */
};

/* Deterministic generator of a scenario's requests, in order. */
struct serve_gen {
    const struct serve_scenario *s;
    uint64_t rs, as, ps; /* length, arrival and priority streams (splitmix64) */
    double t, unit;  /* last arrival; the unit-rate clock under a rate curve */
    double *history; /* chat: each session's context so far (tokens) */
    size_t i;
};
void serve_gen_init(struct serve_gen *g, const struct serve_scenario *s);
void serve_gen_next(struct serve_gen *g, struct serve_req_spec *out);
void serve_gen_free(struct serve_gen *g);
/* Samplers (exposed for tests): splitmix64 unit in [0, 1), a gamma variate of
 * shape k and scale 1 (Marsaglia and Tsang 2000), and the time at which the
 * integrated rate curve of s reaches u (its inverse). */
double serve_rng_unit(uint64_t *state);
double serve_rng_gamma(uint64_t *state, double k);
double serve_curve_time(const struct serve_scenario *s, double u);

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
 * attention-block lowerings: an iteration the engine evaluates lowers the
 * attention block once per scheduled sequence in every layer group, and
 * lowers and evaluates the token-wise ops, which cost about SERVE_ITER_WORK
 * attention lowerings per layer group; so an evaluated iteration of n
 * sequences is (n + SERVE_ITER_WORK) x layer groups units (about 73 ns each
 * on the BENCHMARKS.md machine). An iteration answered from the engine's
 * cache (same batch composition as an earlier one) costs SERVE_HIT_WORK per
 * scheduled sequence: sorting, hashing and comparing its key plus the
 * scheduler's own work per sequence. A scenario whose least possible work
 * exceeds its max_work (SERVE_MAX_WORK) is refused before it runs, and a
 * run is stopped (refused) when it reaches it. Statistics are exact over at
 * most SERVE_EXACT_SAMPLES stored samples each; beyond, percentiles come from
 * a log-spaced histogram (relative error below 0.07%) and the occupancy
 * timeline from every 2^k-th iteration. */
#define SERVE_MAX_WORK 2e8
#define SERVE_ITER_WORK 24.0
#define SERVE_HIT_WORK 0.5
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

/* Time series in fixed windows (docs/serving.md, "Time series"): per window,
 * integrals over time of the waiting queue (requests x s), the running batch
 * (sequences x s) and the KV cache held (bytes x s), and the output tokens
 * of the iterations that ended in it. Windows start at t = 0 and are width_s
 * wide; when a run needs more than SERVE_SERIES_CAP of them, neighbours are
 * merged in pairs and the width doubles (bounded memory). */
#define SERVE_SERIES_CAP 4096
struct serve_series {
    double width_s;
    size_t n; /* windows used */
    double *queue, *running, *kv, *tokens; /* SERVE_SERIES_CAP each */
};
/* 0, or -1 if out of memory. */
int serve_series_init(struct serve_series *ts, double width_s);
void serve_series_free(struct serve_series *ts); /* accepts a zeroed series */
/* The interval [t0, t1] held queue, running and kv throughout; tokens came
 * out at t1. */
void serve_series_add(struct serve_series *ts, double t0, double t1, double queue,
                      double running, double kv, double tokens);
/* Merges windows in pairs until the width is at least width_s. */
void serve_series_widen(struct serve_series *ts, double width_s);

struct serve_result {
    double tp;
    double iterations, requests, makespan_s;
    double cache_hits, cache_misses; /* engine evaluations answered from / missed by the cache */
    double input_tokens, output_tokens;
    struct serve_stats iter_s, ttft_s, tbt_s, e2e_s;
    double output_tokens_per_s, total_tokens_per_s;
    double waited, wait_mean_s, wait_max_s; /* requests admitted after they arrived */
    double starved_tokens;                  /* decode turns skipped for the token budget */
    bool trace;                             /* requests replayed from a trace */
    double trace_rows_skipped;              /* trace rows with 0 prompt or 0 output tokens */
    /* prefix caching (block_tokens 0 = off) */
    double prefix_block_tokens, prefix_hit_tokens, prefix_hit_requests, prefix_hit_rate;
    double prefix_evicted_blocks;
    /* preemption and timeouts */
    bool paged;
    double preemptions, recomputed_tokens, swapped_bytes, swap_time_s, timed_out;
    double priority_classes; /* distinct classes seen (1 without priorities) */
    /* SLO attainment (docs/serving.md, "SLO attainment and goodput") */
    double slo_ttft_s, slo_tpot_s;          /* targets (0 = none) */
    double slo_ttft_met, slo_tpot_met, slo_met, slo_met_output_tokens;
    double slo_ttft_attainment, slo_tpot_attainment, slo_attainment;
    double goodput_requests_per_s, goodput_tokens_per_s;
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
    /* speculative decoding */
    bool spec;
    double spec_k, spec_accept, spec_tokens_per_verify; /* E = (1 - a^(k+1)) / (1 - a) */
    double spec_draft_s;                                /* draft steps' time, summed */
    double spec_draft_weight_bytes_dev;                 /* draft weights per device */
    /* cost */
    bool has_price;
    double devices_attn, devices_ffn;     /* devices paid for each side */
    double price_attn_usd_per_hour, price_ffn_usd_per_hour;
    double usd_total, usd_per_mtok, usd_per_mtok_attn, usd_per_mtok_ffn;
    char hw_name[64], attn_hw_name[64], ffn_hw_name[64];
    struct serve_series series; /* when the scenario's series_window_s > 0 */
};
/* Frees what a result owns (its time series); accepts a zeroed result. */
void serve_result_free(struct serve_result *r);

/* The scenario's requests in order, as serve_run draws them: start with a
 * zeroed serve_draw and call once per request. */
struct serve_draw {
    uint64_t rs, as;
    double t;
    size_t i;
    bool started;
};
void serve_requests_draw(const struct serve_scenario *s, struct serve_draw *g, double *arrival,
                         double *input, double *output);

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

/* ---- one replica stepped event by event (sim/fleet.c) ----
 *
 * A replica is serve_run's engine and scheduler with its own device, tp,
 * clock and KV cache, fed by a router instead of a request list:
 * serve_replica_push hands it a request at its arrival time, and the fleet
 * advances every replica in time order through serve_replica_next /
 * serve_replica_event (an event starts an iteration, which costs and
 * schedules it, or ends one, which advances the clock and hands out tokens).
 * One replica fed every request reproduces serve_run exactly. */

enum serve_role {
    SERVE_ROLE_BOTH,    /* prefill and decode (the usual replica) */
    SERVE_ROLE_PREFILL, /* disaggregated: prompts only; hands the KV cache on */
    SERVE_ROLE_DECODE,  /* disaggregated: receives prefilled requests */
    SERVE_ROLE_COUNT
};

/* A prompt a prefill replica finished, whose request decodes elsewhere. */
struct serve_handoff {
    double t_s;      /* absolute time the prompt's last chunk ended */
    double before_s; /* seconds from the router's arrival to t_s */
    double input, output;
};

/* What replicas report to the fleet: fleet-wide latency samples (measured
 * from the request's arrival at the router) and hand-offs. */
struct serve_fleet_out {
    struct serve_stream ttft, e2e, gaps;
    struct serve_handoff *ho;
    size_t nho, ho_cap;
};

struct serve_replica;

/* Opens a replica of scenario s (its model, limits and engine options) on hw
 * over tp devices in the given role, reporting into fo (may be NULL) and
 * filling r at serve_replica_finish. cap: most requests it may be handed. 0,
 * or -1 with e set (weights do not fit, no KV memory). */
int serve_replica_open(const struct serve_scenario *s, const struct serve_hw *hw, double tp,
                       enum serve_role role, struct serve_fleet_out *fo, size_t cap,
                       struct serve_result *r, struct serve_replica **out, struct err *e);
/* The KV-cache limit and bytes a sequence of `tokens` holds, per device. */
double serve_replica_kv_limit(const struct serve_replica *x);
double serve_replica_kv_bytes(const struct serve_replica *x, double tokens);
/* Hands a request over at absolute time t_s (never before the replica's
 * clock), before_s seconds after it reached the router. prefilled: its
 * prompt ran elsewhere and its first token is out. */
void serve_replica_push(struct serve_replica *x, double t_s, double before_s, double input,
                        double output, bool prefilled);
/* The time of the replica's next event (+inf: idle until a push); *ends is
 * set when that event ends an iteration. */
double serve_replica_next(const struct serve_replica *x, bool *ends);
/* Runs that event. */
void serve_replica_event(struct serve_replica *x);
double serve_replica_outstanding(const struct serve_replica *x); /* tokens still to do */
double serve_replica_work(const struct serve_replica *x);        /* SERVE_MAX_WORK units */
double serve_replica_done(const struct serve_replica *x);        /* requests finished here */
double serve_replica_iterations(const struct serve_replica *x);
/* Statistics and price into r, over makespan_s (the fleet's) . */
void serve_replica_finish(struct serve_replica *x, double makespan_s);
void serve_replica_free(struct serve_replica *x); /* accepts NULL */

#endif
