/* train.h - one training step of a model on a cluster of identical devices:
 * forward, backward and recomputation per op, weights / gradients / optimizer
 * states under ZeRO sharding, activation memory per recompute mode, the
 * collectives of tensor, pipeline, data, context and expert parallelism, step
 * time, tokens/s and MFU. Formulas and sources: docs/training.md.
 *
 * The forward pass of one micro-batch on one device is the model's prefill
 * graph (models/lower.c) at the device's share (tp heads, ep experts, S/cp
 * tokens), with the LM head over every token and a cross-entropy op added;
 * backward and recompute passes are derived per op kind (train_bwd_cost).
 *
 * Entry points: train_check, train_init / train_run / train_free. */
#ifndef OB_TRAIN_H
#define OB_TRAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "cp.h"
#include "eval.h"

enum recompute { RECOMPUTE_NONE, RECOMPUTE_SELECTIVE, RECOMPUTE_FULL, RECOMPUTE_COUNT };
enum optimizer { OPT_ADAMW, OPT_SGD, OPT_COUNT };

struct train_cfg {
    double gpus;          /* devices in the job; tp * pp * dp * cp */
    double seq;           /* tokens per sequence S */
    double global_tokens; /* tokens per optimizer step (global batch) */
    double micro_batch;   /* sequences per micro-batch (per data-parallel replica) */
    double pp_virtual; /* interleaved 1F1B: virtual stages per device (0 or 1 = plain 1F1B) */
    double tp, pp, dp, cp, ep; /* ep divides dp * tp... here: experts split over ep <= dp */
    enum recompute recompute;
    int zero; /* 0..3 */
    enum optimizer opt;
    enum cp_scheme cp_scheme;
    enum dtype dt; /* weights, activations and gradients (bf16 by default) */
};

/* One row of the per-op table: a forward op and what its backward (and
 * recompute) cost, per layer and micro-batch on one device. */
struct train_op {
    struct op fwd;           /* as lowered (cost per layer) */
    struct op bwd;           /* same kind/name, backward cost */
    double t_fwd_s, t_bwd_s; /* per layer */
    double saved_bytes;      /* activations kept for backward (recompute none), per layer */
    bool recomputed;         /* recomputed before its backward (selective/full) */
};

struct train_result {
    int n_ops;
    struct train_op *ops;  /* owned; n_ops rows */
    double layers_per_stage_frac; /* 1/pp: the share of the layer stack one stage runs */
    double micro_batches;  /* per step and pipeline: global / (dp * mb * S) */
    double tokens_mb_dev;  /* tokens one device processes per micro-batch: mb * S / cp */
    /* per micro-batch on the busiest stage (layers / pp plus head and loss) */
    double t_fwd_s, t_bwd_s, t_recompute_s;
    double t_tp_s;         /* tensor-parallel collectives inside t_fwd + t_bwd */
    double t_cp_s;         /* context-parallel traffic not hidden behind attention */
    double t_pp_p2p_s;     /* stage-boundary sends (activations forward, gradients back) */
    double t_stage_s;      /* one micro-batch through the stage: fwd + recompute + bwd + sends */
    double bubble_frac;    /* (pp - 1) / (V m) (1F1B, interleaved: V; Narayanan et al. 2021) */
    double t_pipeline_s;   /* (m + (pp - 1)/V) * t_stage */
    double t_dp_s;         /* gradient (and ZeRO-3 parameter) traffic, not overlapped */
    double t_optimizer_s;  /* optimizer update: reads and writes its states once */
    double step_time_s;
    double tokens_per_s;   /* whole job */
    double model_flops_per_token; /* forward + backward, no recompute, whole model */
    double hw_flops_per_token;    /* including recompute */
    double mfu;            /* model FLOPs/s over the job's datasheet tensor peak */
    /* memory per device (bytes) */
    double params_dev;     /* parameters one device holds before ZeRO */
    double mem_weights, mem_grads, mem_optimizer, mem_activations, mem_total;
    double act_per_mb;     /* activations of one micro-batch on the stage */
    double cp_buf_bytes;   /* context-parallel buffers of one attention layer (cp.h) */
    double mb_in_flight;   /* micro-batches whose activations are held at once: min(pp, m) */
    bool fits;
    /* traffic per device per step (bytes) */
    double net_tp_bytes, net_cp_bytes, net_pp_bytes, net_dp_bytes;
};

/* Checks the configuration against the model; -1 with a message in msg. */
int train_check(const struct model *m, const struct train_cfg *c, char *msg, size_t n);
/* Runs the cost model (c must pass train_check). 0, or -1 if out of memory. */
int train_run(const struct model *m, const struct device *d, const struct train_cfg *c,
              struct train_result *r);
void train_free(struct train_result *r); /* accepts a zeroed result */

/* Backward cost of one forward op (docs/training.md, "Backward per op kind"). */
void train_bwd_cost(const struct op *fwd, struct op_cost *out);
/* Activation bytes an op keeps for its backward (recompute none). */
double train_saved_bytes(const struct op *fwd);

const char *recompute_name(enum recompute r);
const char *optimizer_name(enum optimizer o);
/* Optimizer-state bytes per parameter (fp32 master copy included). */
double optimizer_bytes_per_param(enum optimizer o);

#endif
