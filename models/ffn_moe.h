/* ffn_moe.h - routing helpers of the MoE block (ffn_moe.c), public for tests:
 * the expected-touched formula and the per-step routing plan the lowering
 * uses. Formulas: docs/moe.md. */
#ifndef OB_FFN_MOE_H
#define OB_FFN_MOE_H

#define MOE_BUCKETS 4    /* expert GEMM groups per layer (by expected load) */
#define MOE_MAX_RUNS 8   /* layer runs of an expert-count schedule */
#define MOE_MAX_SKEW 1024 /* most experts for zipf / histogram routing */
#define MOE_MAX_KDIST 16 /* entries of a top_k_dist */

/* Expected number of distinct experts that `tokens` tokens touch when each
 * picks k of E experts uniformly: E * (1 - (1 - k/E)^T). */
double moe_experts_touched(double experts, double k, double tokens);

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
