/* moe_cfg.h - the MoE block's limits and its configuration as read and
 * derived by ffn_moe.c (the struct is private to ffn_moe.c and moe_plan.c;
 * the limits are public through moe_plan.h). */
#ifndef OB_MOE_CFG_H
#define OB_MOE_CFG_H

#include <stdbool.h>
#include <stdint.h>

#define MOE_BUCKETS 4    /* expert GEMM groups per layer (by expected load) */
#define MOE_MAX_RUNS 8   /* layer runs of an expert-count schedule */
#define MOE_MAX_SKEW 1024 /* most experts for zipf / histogram routing */
#define MOE_MAX_KDIST 16 /* entries of a top_k_dist */

enum expert_act { EXPERT_SWIGLU, EXPERT_GELU };
enum routing { ROUTE_UNIFORM, ROUTE_ZIPF, ROUTE_HISTOGRAM, ROUTE_CONCENTRATED, ROUTE_SPREAD };
enum schedule { SCHED_UNIFORM, SCHED_DESCENDING, SCHED_ASCENDING, SCHED_EXPLICIT };

struct moe_run {
    int64_t experts, layers;
    double p[MOE_MAX_SKEW]; /* zipf / histogram: per-expert pick probability */
};

struct moe_cfg {
    int64_t experts, top_k, expert_intermediate, shared_experts, shared_intermediate;
    int expert_activation;
    bool router_bias, expert_bias;
    int routing, schedule;
    double zipf_exponent, capacity_factor, expected_k;
    int64_t n_group, topk_group, experts_min, schedule_stages;
    /* derived by moe_check */
    int n_k;
    double kv[MOE_MAX_KDIST], kq[MOE_MAX_KDIST], k_bar, k_max;
    int64_t repeat;
    int n_runs;
    struct moe_run run[MOE_MAX_RUNS];
};

#endif
