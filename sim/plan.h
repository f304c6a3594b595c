/* plan.h - `opbound plan`: search the deployments of a model on a device for
 * the best one under latency targets (docs/plan.md).
 *
 * A deployment configuration ("cfg") is tensor parallelism tp, expert
 * parallelism ep (MoE models, tp = 1) and weight and KV dtypes. A candidate is
 * either
 *   - aggregated: one cfg serving prefill and decode at decode batch B,
 *     replicated over the GPU budget; or
 *   - disaggregated (DistServe, Splitwise): a prefill pool of n_prefill
 *     deployments of one cfg and a decode pool of n_decode deployments of
 *     another (same KV dtype) at batch B, the prefill pool sized to the
 *     decode pool's request rate; the KV cache moves between them.
 * Figures come from the analysis engine (sim/analyze.h): every request is one
 * prefill of `isl` tokens and `osl` decode steps.
 *
 * The search runs on every core (threads over the decode cfgs), keeps the
 * best `top` rows, the Pareto front and a sample for the chart, and can be cut
 * into shards (shard k of n searches the decode cfgs j with j mod n = k - 1);
 * plan_merge combines the shards' results into the ranking one run gives.
 *
 * Entry points: plan_run, plan_merge, plan_free; plan_csv_write/plan_csv_read
 * (sim/plan_shard.c) carry a shard's result between machines. */
#ifndef OB_PLAN_H
#define OB_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "core/err.h"

enum plan_objective { PLAN_TOKENS_PER_GPU, PLAN_USD_PER_MTOK, PLAN_OBJECTIVE_COUNT };
enum plan_mode { PLAN_AGG, PLAN_DISAGG, PLAN_MODE_COUNT };

struct plan_req {
    double gpus;        /* devices available (a deployment or both pools use at most this) */
    double isl, osl;    /* input and output tokens per request */
    double ttft_max_s;  /* 0 = no target */
    double tpot_max_s;  /* 0 = no target */
    enum plan_objective objective;
    bool vary_dtypes;   /* also try fp8 / int4 weights and an fp8 KV cache */
    bool no_agg, no_disagg; /* leave a serving mode out (both searched by default) */
    int top;            /* rows kept by the objective; 0 = 10 */
    int shard_k, shard_n; /* search shard k of n (1-based); 0 = the whole search */
    int threads;        /* 0 = every online core */
    bool keep_all;      /* keep every fitting row (tests, small searches) */
    bool naive;         /* benchmark baseline: one thread, a full analysis_run per
                         * configuration (both phases), aggregated only */
};

struct plan_row {
    uint64_t key;        /* position in the search order (unique; ties break on it) */
    enum plan_mode mode;
    double tp, ep;       /* the (decode) deployment */
    double gpus;         /* devices of one deployment (aggregated) or of both pools */
    double replicas;     /* floor(budget / gpus) */
    double batch;        /* decode batch B per (decode) deployment */
    enum dtype dt_w, dt_kv;
    /* disaggregated only: the pools */
    double n_prefill, n_decode; /* deployments in each pool */
    double tp_p, ep_p;          /* one prefill deployment */
    enum dtype dt_w_p;          /* its weights (KV dtype: dt_kv, shared) */
    enum dtype dt_gemm, dt_gemm_p; /* weight GEMMs' compute dtype: decode, prefill */
    double t_prefill_s;  /* prefill of one request of isl tokens */
    double t_kv_s;       /* moving its KV cache to the decode pool (disaggregated) */
    double ttft_s;       /* t_prefill (+ t_kv) */
    double t_decode_s;   /* one decode step at batch B, context isl + osl/2 */
    double tpot_s;       /* aggregated: t_decode + (B/osl) t_prefill; disaggregated: t_decode */
    double tok_s_user;   /* 1 / tpot */
    double tok_s_gpu;    /* output tokens/s per device used */
    double tok_s_total;  /* replicas x the deployment's tokens/s */
    double usd_per_mtok; /* 0 when the device has no price */
    double memory_bytes; /* per (decode) device at context isl + osl */
    bool meets;          /* fits and meets the latency targets */
    bool sample;         /* in the chart's sample (or kept under keep_all) */
};

struct plan_result {
    struct plan_row *rows; /* rows kept, by key: every fitting one under keep_all, else
                            * the top, the front and the chart's sample */
    int n, cap;
    int *top, n_top;       /* indices into rows, best first (meeting rows only) */
    int *pareto, n_pareto; /* the tokens/s-per-GPU vs per-user front of the meeting
                            * rows, falling tokens/s per user */
    int best;              /* rows index of the best, -1 if none meets the targets */
    int best_mode[PLAN_MODE_COUNT]; /* the best of each serving mode, -1 if none */
    double configs;        /* configurations that fit (rows evaluated) */
    double meets;          /* of which meet the targets */
    double analyses;       /* step evaluations run */
    double wall_s;         /* search time */
    int threads;           /* threads used */
};

/* Runs the search (or the shard of it q asks for). 0, or -1 if out of memory. */
int plan_run(const struct model *m, const struct device *d, const struct plan_req *q,
             struct plan_result *r);
/* Combines shard results parts[0..n) of the same request into out (rows
 * merged, top, front and best recomputed, counters summed): the result of
 * the unsharded run. 0, or -1 if out of memory. */
int plan_merge(const struct plan_req *q, const struct plan_result *parts, int n,
               struct plan_result *out);
void plan_free(struct plan_result *r); /* accepts a zeroed result */

/* True when row a ranks before row b under objective o (the objective, then
 * the key). */
bool plan_row_before(const struct plan_row *a, const struct plan_row *b, enum plan_objective o);

const char *plan_objective_name(enum plan_objective o);
const char *plan_mode_name(enum plan_mode m);

#endif
