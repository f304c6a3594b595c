/* pipeline.h - pipeline parallelism in inference (docs/pipeline.md).
 *
 * pp stages hold contiguous layers (the first L mod pp stages one layer more;
 * the embedding with stage 0, the final norm and lm_head with the last). A
 * step's B sequences run as m micro-batches of B/m; every stage holds the KV
 * cache of its own layers for all B sequences.
 *   stage time t_s   = its layers' op times at B/m (+ its end ops)
 *   boundary send    = (B/m) x q_len x hidden x activation bytes, P2P on the
 *                      tier the pipeline spans (sim/net.h)
 *   prefill (GPipe)  = sum_s t_s + (pp-1) t_send + (m-1) max_s t_s
 *                      (even stages: (m + pp - 1) t_s; bubble (pp-1)/m of the
 *                      ideal, Narayanan et al. 2021 sec. 2.2; Huang et al. 2019)
 *   decode step      = max(R, m max_s t_s), R = sum_s t_s + (pp-1) t_send
 *                      (a micro-batch's next token needs its last one: R;
 *                      the slowest stage serves m micro-batches per round)
 * Entry points: pipe_split, pipe_stage_times, pipe_eval. */
#ifndef OB_PIPELINE_H
#define OB_PIPELINE_H

#include "../hw/device.h"
#include "../models/model.h"
#include "eval.h"

#define PIPE_MAX_STAGES 256

struct pipe_stage {
    int layer_lo, layer_hi;     /* layers [lo, hi) */
    double t_prefill_s, t_decode_s; /* one micro-batch through this stage */
    double weight_bytes;        /* per device */
    double cache_bytes_per_seq; /* KV (at the step's context) + state, per device */
    double memory_bytes;        /* weights + B x cache + activations */
};

struct pipe_figures {
    double pp, m, b_mb;          /* stages, micro-batches, sequences per micro-batch */
    struct pipe_stage stage[PIPE_MAX_STAGES];
    double send_bytes_prefill, send_bytes_decode; /* per boundary per micro-batch */
    double t_send_prefill_s, t_send_decode_s;
    bool send_crosses;           /* the pipeline spans nodes: sends use the inter-node tier */
    int slowest_prefill, slowest_decode; /* stage index */
    double t_prefill_s;          /* the B prompts, GPipe schedule */
    double t_decode_s;           /* one decode step of all B sequences */
    double bubble_prefill;       /* (time - ideal) / ideal, ideal = m sum_s t_s / pp */
    double busy_decode;          /* share of device time spent computing in a decode step */
    int worst_memory;            /* stage with the largest memory */
};

/* Layers [*lo, *hi) of stage s of pp over `layers` layers. */
void pipe_split(int layers, int pp, int s, int *lo, int *hi);

/* Adds each op's time (per_op from eval_graph) to the stage holding its
 * layers: t[s] for s < pp. Ops outside the layer stack go to stage 0 before
 * the stack and to the last stage after it. */
void pipe_stage_times(const struct graph *g, const struct op_eval *per_op, int layers, int pp,
                      double *t);

#endif
