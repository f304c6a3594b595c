/* placement.c - xPU / PIM placement, co-processing and energy; see placement.h
 * and docs/logic-pim.md. Only called for devices with a `pim` or `energy`
 * map, so plain devices keep eval_graph's cost. */
#include "placement.h"

#include <math.h>

const char *place_side_name(enum place_side s)
{
    switch (s) {
    case SIDE_XPU: return "xpu";
    case SIDE_PIM: return "pim";
    case SIDE_CO: return "co";
    case SIDE_COUNT: break;
    }
    return "?";
}

double placement_threshold(const struct device *d)
{
    return d->has_pim && d->pim.flops_per_s > 0 ? d->pim.flops_per_s * d->inv_mem_rate : 0;
}

/* Units an op splits into between the two sides, by its kind's placement
 * class (graph.h): touched experts of a routed expert GEMM (Duplex expert
 * co-processing), requests of an attention core (attention co-processing);
 * 0 when the op is not split. */
static double op_units(const struct op *op)
{
    switch (op_kind_place_class(op->kind)) {
    case OPP_SPLIT_EXPERTS: return op->block == BLK_FFN ? op->shape.gemm.count : 0;
    case OPP_SPLIT_SEQS: return op->shape.attn.b;
    case OPP_WHOLE:
    case OPP_XPU_ONLY:
    case OPP_COUNT: break;
    }
    return 0;
}

static double energy_of(const struct device *d, double flops, double bytes, double frac_xpu,
                        double time)
{
    if (!d->has_energy) return 0;
    const struct energy_spec *en = &d->energy;
    const double fp = 1.0 - frac_xpu;
    return frac_xpu * (flops * en->j_flop_xpu + bytes * en->j_byte_ext) +
           fp * (flops * en->j_flop_pim + bytes * en->j_byte_pim) + en->static_w * time;
}

double placement_op(const struct op *op, const struct device *d, enum place_mode mode,
                    struct op_place *out)
{
    struct op_eval ev;
    const double tx = eval_op(op, d, &ev);
    out->t_xpu_s = tx;
    out->units = 0;
    out->units_xpu = 0;
    out->side = SIDE_XPU;
    out->bound = ev.bound;
    out->time_s = tx;
    /* PIM cannot run collectives (placement class OPP_XPU_ONLY), PIM without
     * compute units runs nothing, and attention-only PIM (pim.ops: attention)
     * runs only the attention core. */
    if (!d->has_pim || d->pim.flops_per_s <= 0 ||
        op_kind_place_class(op->kind) == OPP_XPU_ONLY ||
        (d->pim.ops == PIM_OPS_ATTENTION && op->kind != OP_ATTENTION)) {
        out->t_pim_s = 0;
        out->energy_j = energy_of(d, ev.flops, ev.bytes, 1.0, tx);
        return tx;
    }
    const struct pim_spec *p = &d->pim;
    const double pc = ev.flops * p->inv_flops, pm = ev.bytes * p->inv_bw;
    const double wp = fmax(fmax(pc, pm), ev.t_network_s);
    const double tp = wp + p->overhead_s;
    const enum bound bp = pc > pm ? BOUND_COMPUTE : BOUND_MEMORY;
    out->t_pim_s = tp;
    if (mode == PLACE_XPU) {
        out->energy_j = energy_of(d, ev.flops, ev.bytes, 1.0, tx);
        return tx;
    }
    if (mode == PLACE_PIM || tp < tx) {
        out->side = SIDE_PIM;
        out->bound = bp;
        out->time_s = tp;
    }
    const double n = op_units(op);
    out->units = n;
    if (mode == PLACE_AUTO && p->coprocess && n >= 2) {
        /* the xPU's overhead for this op kind, as eval_op charged it */
        const double ox = eval_overhead_s(op, d), wx = tx - ox;
        const double xs = n * wp / (wx + wp); /* continuous balance point */
        const double cand[2] = {floor(xs), ceil(xs)};
        const double ov = fmax(ox, p->overhead_s);
        for (int i = 0; i < 2; i++) {
            const double x = fmin(fmax(cand[i], 1.0), n - 1.0); /* both sides busy */
            const double ax = x / n * wx, ap = (n - x) / n * wp;
            const double t = fmax(fmax(ax, ap), pm) + ov;
            if (t < out->time_s) {
                out->side = SIDE_CO;
                out->time_s = t;
                out->units_xpu = x;
                out->bound = ax > ap ? ev.bound : bp;
            }
        }
    }
    const double fx = out->side == SIDE_XPU ? 1.0 : out->side == SIDE_PIM ? 0.0 : out->units_xpu / n;
    out->energy_j = energy_of(d, ev.flops, ev.bytes, fx, out->time_s);
    return out->time_s;
}

void placement_graph(const struct graph *g, const struct device *d, enum place_mode mode,
                     struct op_place *per_op, struct place_totals *tot)
{
    struct place_totals t = {0};
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        struct op_place pl;
        placement_op(op, d, mode, &pl);
        if (per_op) per_op[i] = pl;
        const double n = (double)op->layer_count;
        t.time_s += n * pl.time_s;
        t.energy_j += n * pl.energy_j;
        t.time_xpu_s += n * pl.t_xpu_s;
        t.energy_xpu_j += n * energy_of(d, op->cost.flops_mm + op->cost.flops_vec,
                                        op->cost.bytes_w + op->cost.bytes_act +
                                            op->cost.bytes_kv + op->cost.bytes_out,
                                        1.0, pl.t_xpu_s);
        t.time_side_s[pl.side] += n * pl.time_s;
        t.ops_side[pl.side] += n;
        t.time_block_s[op->block] += n * pl.time_s;
        t.time_bound_s[pl.bound] += n * pl.time_s;
    }
    t.threshold = placement_threshold(d);
    *tot = t;
}

void placement_apply(int n, const struct op_place *place, struct op_eval *per_op,
                     const struct place_totals *pt, struct eval_totals *tot)
{
    if (place && per_op)
        for (int i = 0; i < n; i++) {
            per_op[i].time_s = place[i].time_s;
            per_op[i].bound = place[i].bound;
        }
    tot->time_s = pt->time_s;
    for (int b = 0; b < BLK_COUNT; b++) tot->time_block_s[b] = pt->time_block_s[b];
    for (int b = 0; b < BOUND_COUNT; b++) tot->time_bound_s[b] = pt->time_bound_s[b];
}
