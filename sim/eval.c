/* eval.c - roofline evaluation; see eval.h. */
#include "eval.h"

#include <string.h>

const char *bound_name(enum bound b) { return b == BOUND_COMPUTE ? "compute" : "memory"; }

double eval_op(const struct op *op, const struct device *d, struct op_eval *out)
{
    const struct op_cost *c = &op->cost;
    const double bytes = c->bytes_w + c->bytes_act + c->bytes_kv + c->bytes_out;
    const double tc = c->flops_mm * d->inv_tensor_rate[op->dt_act] +
                      c->flops_vec * d->inv_vector_rate[op->dt_act];
    const double tm = bytes * d->inv_mem_rate;
    out->t_compute_s = tc;
    out->t_memory_s = tm;
    out->bound = tc > tm ? BOUND_COMPUTE : BOUND_MEMORY;
    out->time_s = (tc > tm ? tc : tm) + d->kernel_overhead_s;
    out->flops = c->flops_mm + c->flops_vec;
    out->bytes = bytes;
    out->intensity = bytes > 0 ? out->flops / bytes : 0;
    return out->time_s;
}

void eval_graph(const struct graph *g, const struct device *d, struct op_eval *per_op,
                struct eval_totals *tot)
{
    memset(tot, 0, sizeof *tot);
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        struct op_eval ev;
        eval_op(op, d, &ev);
        if (per_op) per_op[i] = ev;
        const double n = (double)op->layer_count;
        tot->cost.flops_mm += n * op->cost.flops_mm;
        tot->cost.flops_vec += n * op->cost.flops_vec;
        tot->cost.bytes_w += n * op->cost.bytes_w;
        tot->cost.bytes_act += n * op->cost.bytes_act;
        tot->cost.bytes_kv += n * op->cost.bytes_kv;
        tot->cost.bytes_out += n * op->cost.bytes_out;
        tot->time_s += n * ev.time_s;
        tot->time_block_s[op->block] += n * ev.time_s;
        tot->time_bound_s[ev.bound] += n * ev.time_s;
        tot->kernels += n;
        const double act = op->cost.bytes_act + op->cost.bytes_out;
        if (act > tot->act_peak_bytes) tot->act_peak_bytes = act;
    }
    tot->flops = tot->cost.flops_mm + tot->cost.flops_vec;
    tot->bytes = tot->cost.bytes_w + tot->cost.bytes_act + tot->cost.bytes_kv + tot->cost.bytes_out;
}
