/* cp.h - context parallelism: the tokens of each sequence split over cp
 * devices, shared by `analyze` (prefill, sim/analyze.c) and `train`
 * (sim/train.c). Three schemes:
 *
 *   ring      ring attention (Liu et al. 2023) with zig-zag load balance
 *             (each device two chunks, one from each end; Megatron-LM's
 *             context parallelism): K and V blocks pass around the ring,
 *             overlapped with the attention.
 *   ulysses   DeepSpeed-Ulysses (Jacobs et al. 2023): all-to-alls switch q, k,
 *             v from sequence to head sharding and o back; not overlapped.
 *   lightseq  LightSeq / DistFlashAttn (Li et al. 2023): contiguous chunks,
 *             load-balanced schedule where idle devices compute other devices'
 *             queries against their own K and V and return partial outputs;
 *             floor(cp/2) + 1 steps, overlapped with the attention.
 *
 * Per device and per attention layer: the bytes the busiest device sends or
 * receives (the larger direction; links are full duplex), the transient
 * buffers, and the causal (query, key) pairs it computes. Formulas and
 * sources: docs/training.md, "Context parallelism". */
#ifndef OB_CP_H
#define OB_CP_H

#include <stdbool.h>
#include <stddef.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "core/graph.h"

enum cp_scheme { CP_RING, CP_ULYSSES, CP_LIGHTSEQ, CP_SCHEME_COUNT };

const char *cp_scheme_name(enum cp_scheme s);
/* 0 and *out set, or -1 for an unknown name. */
int cp_scheme_parse(const char *s, enum cp_scheme *out);

/* The busiest device's share of a causal prefill of seq tokens: q_len = S/cp
 * queries over ctx_prior earlier keys, so that q_len * ctx_prior +
 * q_len (q_len + 1)/2 is its (query, key) pairs per head:
 *   ring, ulysses: ctx_prior = (S - S/cp)/2, exactly S(S + 1)/(2 cp) pairs;
 *   lightseq:      ctx_prior = floor(cp/2) S/cp (the last device computes
 *                  floor(cp/2) off-diagonal blocks and its diagonal block).
 * cp = 1: ctx_prior 0. */
void cp_step_shape(enum cp_scheme s, double seq, double cp, double *q_len, double *ctx_prior);

/* The sequence splits as the scheme needs (cp divides S; ring: 2 cp divides
 * S). -1 with a message in msg. */
int cp_check_seq(enum cp_scheme s, double seq, double cp, char *msg, size_t n);
/* Ulysses: every attention layer's query heads per device (after tp) split
 * over cp. -1 with a message naming the layer; -2 out of memory. */
int cp_check_heads(const struct model *m, double tp, double cp, enum cp_scheme s, char *msg,
                   size_t n);

/* Key/value heads of an attention shape: kv_width / (dqk + dv), at least 1
 * (MLA's shared latent counts as one head: Ulysses replicates it). */
double cp_kv_heads(const struct attn_shape *a);

/* One attention layer on the busiest device, for B sequences of S tokens
 * split over cp (a->b = B; a->hq, a->kv_width per device after tp). Bytes of
 * elements ab (activations), statistics fp32. */
struct cp_layer {
    double fwd_bytes; /* forward: the larger of sent and received */
    double bwd_bytes; /* backward (training) */
    double buf_bytes; /* transient buffers alive while the attention runs */
    bool overlapped;  /* the traffic runs behind the attention's compute */
};
void cp_layer_cost(enum cp_scheme s, double cp, double seq, const struct attn_shape *a,
                   double ab, struct cp_layer *out);

/* Time of traffic t_net not hidden behind compute t_attn: max(0, t_net -
 * t_attn) when overlapped, else t_net. */
double cp_exposed_s(bool overlapped, double t_net, double t_attn);

/* Prefill (analyze): after lowering the busiest device's step (cp_step_shape),
 * inserts the context-parallel traffic of every attention op into g, next to
 * it and standing for the same layers: ring `cp.ring_kv` and lightseq
 * `cp.lightseq` (allgather kind; bytes_net = the part not hidden behind the
 * attention on device d), ulysses `cp.a2a_qkv` before and `cp.a2a_o` after
 * (alltoall kind, not overlapped). g needs room for 2 more ops per attention
 * op. Totals per step (all layers): traffic in *traffic, exposed time in
 * *exposed_s, the largest layer's buffers in *buf, KV-cache tokens held per
 * device per sequence relative to S/cp in *kv_factor (ulysses: cp / min(cp,
 * Hkv), averaged over the KV bytes of the attention layers; else 1). */
struct cp_totals {
    double traffic_bytes, exposed_s, buf_bytes, kv_factor, attn_pairs;
};
void cp_insert_ops(struct graph *g, enum cp_scheme s, double cp, double tp, double seq,
                   const struct device *d, struct cp_totals *t);

#endif
