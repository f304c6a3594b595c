/* analyze.h - one scenario of one model on one device: the op graph of the
 * step, its roofline evaluation, and the model-level figures (parameters, KV
 * cache, memory footprint and fit, largest batch, TTFT, TPOT, tokens/s).
 *
 * analysis_init allocates everything once per model; analysis_run does no
 * allocation and no formatting, so sweeps and `make bench` call it in a loop. */
#ifndef OB_ANALYZE_H
#define OB_ANALYZE_H

#include <stdbool.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "eval.h"
#include "pipeline.h"
#include "placement.h"

struct scenario {
    enum phase phase;
    double batch;   /* B sequences */
    double seq;     /* prefill: prompt length S */
    double context; /* decode: cached tokens L before the step */
    double tp;      /* tensor-parallel devices (>= 1); figures are per device */
    double ep;      /* expert-parallel devices (0 or 1 = none); see docs/moe.md */
    bool has_dt_w, has_dt_kv;
    enum dtype dt_w, dt_kv; /* overrides of the model's dtypes */
    const struct profile *profile; /* implementation profile; NULL: none (models/profile.h) */
    double pp;            /* pipeline stages (0 or 1 = none; <= layers); docs/pipeline.md */
    double micro_batches; /* with pp: micro-batches per step (0 = pp; at most batch) */
    double attn_dp;       /* data-parallel attention devices (0 or 1 = none; tp = ep = 1);
                           * the batch is each device's; docs/pipeline.md */
};

struct analysis {
    struct step step, other_step; /* the scenario's phase and the other one */
    struct graph graph, other;
    struct op_eval *per_op; /* graph.cap entries, for graph */
    struct op_eval *other_per_op; /* graph.cap entries, for other */
    struct eval_totals tot, other_tot;
    struct model_counts counts;      /* at counts_tp */
    struct model_counts counts1;     /* at tp 1 (EP with TP: the experts are not tp-split) */
    double counts_tp;
    double weight_bytes;             /* params x weight dtype (whole model) */
    double kv_bytes_per_token;       /* summed over layers (whole model) */
    double weight_bytes_dev;         /* one device's share under tensor parallelism */
    double kv_bytes_per_token_dev;
    double state_bytes_per_seq;      /* per-sequence state (conv/recurrent), whole model */
    double state_bytes_per_seq_dev;
    double ctx_tokens;               /* tokens each sequence holds in cache after the step */
    /* per device: */
    double kv_cache_bytes;           /* B x (ctx_tokens x kv_bytes_per_token_dev
                                      *      + state_bytes_per_seq_dev) */
    double act_bytes;                /* activation workspace: the largest op's */
    double memory_bytes;             /* weights + KV cache + activations */
    bool fits;
    double max_batch;                /* largest B that fits at this sequence length */
    double ttft_s;                   /* prefill of B prompts (S, or L for decode) */
    double tpot_s;                   /* one decode step (context L, or S after a prefill) */
    double tokens_per_s;             /* this phase's tokens per second */
    bool counts_exact;               /* every total below 2^53 */
    /* Devices with `pim` or `energy` (sim/placement.h): per-op placement; the
     * times above (per_op, tot, ttft, tpot) are then those of the placed run. */
    bool placed;
    struct op_place *place;          /* graph.cap entries, for graph */
    struct place_totals place_tot, other_place_tot;
    double energy_per_token_j;       /* place_tot.energy_j / tokens in the step */
    /* Pipeline parallelism (scenario pp > 1): graph, other and tot are one
     * micro-batch (B/m sequences) through every layer; the memory figures,
     * fits, max_batch, ttft_s, tpot_s and tokens_per_s above are then the
     * pipeline's (the worst stage's memory, the schedules of pipeline.h). */
    bool piped;
    struct pipe_figures pipe;
};

/* Allocates graphs for model m and counts its parameters; the analysis is
 * then valid for m only. Returns 0, or -1 if out of memory. */
int analysis_init(struct analysis *a, const struct model *m);
void analysis_free(struct analysis *a); /* accepts a zeroed or freed analysis */
/* Evaluates the scenario (valid: batch >= 1, seq >= 1 for prefill, tp >= 1
 * and model_tp_check(m, tp) passed). */
void analysis_run(struct analysis *a, const struct model *m, const struct device *d,
                  const struct scenario *sc);

/* Time to first token of one request alone: the prefill of one prompt (batch
 * 1) of the scenario's length, on the scenario's devices; 0 for decode at
 * context 0. a->ttft_s is the prefill of the whole batch. -1 if out of memory. */
double analysis_ttft_request_s(const struct model *m, const struct device *d,
                               const struct scenario *sc);
/* The smallest number of tensor-parallel (ep false) or expert-parallel (ep
 * true) devices, 2 to max, for which the scenario fits in memory, keeping
 * every other setting; 0 when none does (or the model cannot be split that
 * way), -1 if out of memory. */
double analysis_smallest_fit(const struct model *m, const struct device *d,
                             const struct scenario *sc, bool ep, int max);

const char *phase_name(enum phase p);

#endif
