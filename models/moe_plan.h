/* moe_plan.h - the per-step routing plan of one MoE layer (moe_plan.c), the
 * expert-count schedule's layer runs, and the MoE limits; public for tests
 * and used by ffn_moe.c's lowering. Formulas: docs/moe.md. */
#ifndef OB_MOE_PLAN_H
#define OB_MOE_PLAN_H

#include "moe_cfg.h"

/* What one device of `ep` does in one MoE layer (the slowest device under
 * expert parallelism) for a step of `tokens` tokens per device. */
struct moe_plan {
    double experts;       /* E of this layer run */
    int n_buckets;        /* expert GEMM groups (1..MOE_BUCKETS) */
    double count[MOE_BUCKETS];  /* expected experts touched in each group */
    double tokens[MOE_BUCKETS]; /* expected tokens processed by each group */
    double touched;       /* sum of count: experts touched on this device */
    double load;          /* sum of tokens: token rows the device's experts process */
    double routed;        /* T * k_bar: (token, expert) picks of the local tokens */
    double capacity;      /* tokens per expert (0 = unlimited) */
    double dropped;       /* expected picks dropped over capacity, all ep*T tokens */
    double sent, received; /* rows of h the busiest device sends / receives per all-to-all */
    double k_bar;         /* expected experts per token */
};

/* Plans layer run `run` (0 unless an expert schedule) of MoE block cfg for
 * `tokens` tokens per device over `ep` devices. No allocation. */
void moe_plan(const void *cfg, int run, double tokens, double ep, struct moe_plan *pl);
/* Layer runs of the block's expert schedule (1 without one) and run r's
 * experts and layers. */
int moe_runs(const void *cfg);
void moe_run_shape(const void *cfg, int r, double *experts, double *layers);

#endif
