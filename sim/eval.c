/* eval.c - roofline evaluation; see eval.h. */
#include "eval.h"

#include <math.h>

#include "net.h"


const char *bound_name(enum bound b)
{
    switch (b) {
    case BOUND_MEMORY: return "memory";
    case BOUND_COMPUTE: return "compute";
    case BOUND_NETWORK: return "network";
    case BOUND_COUNT: break;
    }
    return "?";
}

/* Causal tail of a prefill attention kernel (docs/measurements.md, "The
 * CTA schedule's tail"): the grid has one CTA per (sequence, head, query tile
 * of tq rows), query tiles fastest, dispatched in order onto `slots` resident
 * CTAs (ctas_per_sm x SMs). Returns makespan / (work / slots), >= 1, applied
 * to the compute time.
 *   full (pairs = S x L): equal tiles, whole waves: ceil(N/P) / (N/P), N = B H n;
 *   causal from an empty cache (pairs = S(S+1)/2): tile i has min((i+1)tq, S)
 *     keys; W = B H sum_i, makespan = max(W/P + ATTN_TAIL_C x S, S).
 * ATTN_TAIL_C = 0.6: greedy in-order dispatch of ascending triangles ends
 * with the last heads' longest tiles; simulating it gives 0.59-0.66 x S past
 * the even share over n = 16-1000 tiles and 4-64 x 1-16 heads
 * (tests/test_accuracy.c checks one case against a simulation). Other masks
 * (windows, chunked prefill, flex block masks): 1. */
#define ATTN_TAIL_C 0.6
#define SOFTMAX_PERSISTENT_COLS 1024
static double attn_tail(const struct attn_shape *s, double tq, double slots)
{
    const double S = s->sq, L = s->skv, n = ceil(S / tq), bh = s->b * s->hq;
    if (s->pairs >= S * L * (1 - 1e-12)) {
        const double N = bh * n, waves = N / slots;
        return ceil(waves - 1e-9) / waves;
    }
    if (L != S || fabs(s->pairs - S * (S + 1) / 2) > 1e-9 * s->pairs) return 1;
    /* sum_i min((i+1) tq, S) = tq n(n-1)/2 + S (the last tile holds the rest) */
    const double per_head = tq * n * (n - 1) / 2 + S;
    const double ideal = bh * per_head / slots;
    const double span = fmax(ideal + ATTN_TAIL_C * S, S);
    return span / ideal;
}

static inline double eval_one(const struct op *op, const struct device *d, struct op_eval *out)
{
    const struct op_cost *c = &op->cost;
    const double bytes = c->bytes_w + c->bytes_act + c->bytes_kv + c->bytes_out;
    /* Per-kind calibration (hw/device.h): identity when the file has none. */
    const struct device_cal *k = device_cal_of(d, op);
    const double mm = c->flops_mm > 0 ? c->flops_mm + k->r_flops_half : 0;
    double tc = mm * d->inv_tensor_rate[op->dt_act] * k->tensor_scale +
                c->flops_vec * d->inv_vector_rate[op->dt_act] * k->vector_scale;
    if (k->r_slots > 0 && op->kind == OP_ATTENTION && op->shape.attn.sq > CAL_DECODE_SQ)
        tc *= attn_tail(&op->shape.attn, k->r_tile_q, k->r_slots);
    double tm = (bytes + k->r_bytes_half) * k->inv_mem_rate;
    /* a softmax over rows longer than 1024 runs one CTA per row (PyTorch
     * aten/src/ATen/native/cuda/SoftMax.cu, host_softmax: grid(outer_size)
     * outside the persistent path for dim <= 1024): with fewer rows than SMs,
     * only `rows` SMs stream memory (docs/measurements.md, "Row-parallel
     * softmax"); rows = 0 (a profile kernel that does not say): not applied */
    if (op->kind == OP_SOFTMAX && op->shape.softmax.cols > SOFTMAX_PERSISTENT_COLS &&
        op->shape.softmax.rows > 0 && op->shape.softmax.rows < d->sm_count)
        tm *= d->sm_count / op->shape.softmax.rows;
    /* one tier: bytes over the link; a network map: the collective's tiers
     * and latencies (sim/net.h) */
    const double tn = c->bytes_net <= 0 ? 0
                      : d->has_network ? net_op_time_s(op, d)
                                       : c->bytes_net * d->inv_net_rate;
    out->t_compute_s = tc;
    out->t_memory_s = tm;
    out->t_network_s = tn;
    double t = tm;
    out->bound = BOUND_MEMORY;
    if (tc > t) t = tc, out->bound = BOUND_COMPUTE;
    if (tn > t) t = tn, out->bound = BOUND_NETWORK;
    /* partial overlap: a share of the output write (a GEMM's epilogue stores
     * its tile after the main loop) is not hidden under the compute */
    if (k->r_serial > 0 && out->bound != BOUND_NETWORK) {
        const double tout = c->bytes_out * k->inv_mem_rate;
        t += k->r_serial * (tc < tout ? tc : tout);
    }
    /* launch: a gap per kernel; eager, with a graph figure: at least the host's
     * time per launch (hw/device.h, enum launch_mode) */
    double tt = t + k->t_overhead_s;
    if (tt < k->t_floor_s) tt = k->t_floor_s;
    out->time_s = tt;
    out->t_overhead_s = tt - t;
    out->flops = c->flops_mm + c->flops_vec;
    out->bytes = bytes;
    out->intensity = bytes > 0 ? out->flops / bytes : 0;
    return out->time_s;
}

double eval_op(const struct op *op, const struct device *d, struct op_eval *out)
{
    return eval_one(op, d, out);
}

void eval_graph(const struct graph *g, const struct device *d, struct op_eval *per_op,
                struct eval_totals *tot)
{
    /* Accumulate in locals: writing through tot inside the loop would force a
     * store and reload per op (tot may alias the graph as far as C knows). */
    double mm = 0, vec = 0, bw = 0, bact = 0, bkv = 0, bout = 0, time = 0, kernels = 0;
    double blk[BLK_COUNT] = {0}, bnd[BOUND_COUNT] = {0}, act_peak = 0, net = 0, wasted = 0;
    const struct op *ops = g->ops;
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &ops[i];
        struct op_eval ev;
        eval_one(op, d, &ev);
        if (per_op) per_op[i] = ev;
        const double n = (double)op->layer_count;
        mm += n * op->cost.flops_mm;
        vec += n * op->cost.flops_vec;
        bw += n * op->cost.bytes_w;
        bact += n * op->cost.bytes_act;
        bkv += n * op->cost.bytes_kv;
        bout += n * op->cost.bytes_out;
        net += n * op->cost.bytes_net;
        wasted += n * op->cost.flops_wasted;
        time += n * ev.time_s;
        blk[op->block] += n * ev.time_s;
        bnd[ev.bound] += n * ev.time_s;
        kernels += n;
        const double act = op_act_bytes(op);
        if (act > act_peak) act_peak = act;
    }
    tot->cost = (struct op_cost){.flops_mm = mm, .flops_vec = vec, .bytes_w = bw,
                                 .bytes_act = bact, .bytes_kv = bkv, .bytes_out = bout,
                                 .bytes_net = net, .flops_wasted = wasted};
    tot->flops = mm + vec;
    tot->bytes = bw + bact + bkv + bout;
    tot->time_s = time;
    for (int b = 0; b < BLK_COUNT; b++) tot->time_block_s[b] = blk[b];
    for (int b = 0; b < BOUND_COUNT; b++) tot->time_bound_s[b] = bnd[b];
    tot->kernels = kernels;
    tot->act_peak_bytes = act_peak;
}
