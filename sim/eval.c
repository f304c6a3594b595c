/* eval.c - roofline evaluation; see eval.h. */
#include "eval.h"


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

static inline double eval_one(const struct op *op, const struct device *d, struct op_eval *out)
{
    const struct op_cost *c = &op->cost;
    const double bytes = c->bytes_w + c->bytes_act + c->bytes_kv + c->bytes_out;
    /* Per-kind calibration (hw/device.h): identity when the file has none. */
    const struct device_cal *k = device_cal_of(d, op);
    const double mm = c->flops_mm > 0 ? c->flops_mm + k->r_flops_half : 0;
    const double tc = mm * d->inv_tensor_rate[op->dt_act] * k->tensor_scale +
                      c->flops_vec * d->inv_vector_rate[op->dt_act] * k->vector_scale;
    const double tm = (bytes + k->r_bytes_half) * k->inv_mem_rate;
    const double tn = c->bytes_net * d->inv_net_rate;
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

double eval_graph_time(const struct graph *g, const struct device *d, double *act_peak)
{
    double time = 0, peak = 0;
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        struct op_eval ev;
        time += (double)op->layer_count * eval_one(op, d, &ev);
        const double act = op_act_bytes(op);
        if (act > peak) peak = act;
    }
    *act_peak = peak;
    return time;
}
