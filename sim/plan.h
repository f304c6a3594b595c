/* plan.h - `opbound plan`: search the deployments of a model on a device for
 * the best one under latency targets (docs/plan.md).
 *
 * Each candidate is tensor parallelism tp, expert parallelism ep (MoE models,
 * tp = 1), weight and KV dtypes, and a decode batch B; a deployment uses
 * tp x ep devices and is replicated over the GPU budget. Its figures come from
 * the analysis engine (sim/analyze.h) under a steady-state serving model:
 * every request is one prefill of `isl` tokens and `osl` decode steps, so a
 * decode step at batch B carries B/osl prefills on average.
 *
 * Entry points: plan_run, plan_free. */
#ifndef OB_PLAN_H
#define OB_PLAN_H

#include <stdbool.h>

#include "../hw/device.h"
#include "../models/model.h"

enum plan_objective { PLAN_TOKENS_PER_GPU, PLAN_USD_PER_MTOK, PLAN_OBJECTIVE_COUNT };

struct plan_req {
    double gpus;        /* devices available for one deployment (tp x ep <= gpus) */
    double isl, osl;    /* input and output tokens per request */
    double ttft_max_s;  /* 0 = no target */
    double tpot_max_s;  /* 0 = no target */
    enum plan_objective objective;
    bool vary_dtypes;   /* also try fp8 / int4 weights and an fp8 KV cache */
    /* Called before each (tp, ep, weight dtype, KV dtype) group of the search
     * with the groups done and their total (NULL: none); cmd_plan prints a
     * progress line with it when standard error is a terminal. */
    void (*progress)(void *ctx, int done, int total);
    void *progress_ctx;
};

struct plan_row {
    double tp, ep, gpus, replicas, batch;
    enum dtype dt_w, dt_kv;
    double ttft_s;       /* prefill of one request of isl tokens */
    double t_decode_s;   /* one decode step at batch B, context isl + osl/2 */
    double tpot_s;       /* decode step + its share of prefills: t_decode + (B/osl) ttft */
    double tok_s_user;   /* 1 / tpot */
    double tok_s_gpu;    /* B / (tpot x tp x ep) */
    double tok_s_total;  /* replicas x B / tpot */
    double usd_per_mtok; /* 0 when the device has no price */
    double memory_bytes; /* per device at context isl + osl */
    bool meets;          /* fits and meets the latency targets */
};

struct plan_result {
    struct plan_row *rows; /* every candidate that fits, in evaluation order */
    int n, cap;
    double evaluated;      /* analyses run */
    int best;              /* index of the best row that meets the targets, -1 if none */
    int *pareto;           /* rows on the tokens/s-per-GPU vs per-user front (meeting ones) */
    int n_pareto;
};

/* Runs the search. 0, or -1 if out of memory. */
int plan_run(const struct model *m, const struct device *d, const struct plan_req *q,
             struct plan_result *r);
void plan_free(struct plan_result *r); /* accepts a zeroed result */

const char *plan_objective_name(enum plan_objective o);

#endif
