/* eval.h - roofline evaluation of an op graph on a device.
 *
 * Per op (Williams, Waterman and Patterson 2009, "Roofline"):
 *   t_compute = matmul FLOPs / tensor rate(dtype) + vector FLOPs / vector rate(dtype)
 *   t_memory  = bytes (read + written) / memory rate
 *   t_network = bytes sent by a collective / interconnect bandwidth
 *   time      = max(t_compute, t_memory, t_network) + kernel overhead
 * rates with the device's efficiency factors applied; bound = the larger term.
 * With a calibration (hw/device.h, struct device_cal) the entry of the op's
 * (kind, impl, phase) adds falloff half sizes, its own efficiencies and a
 * partial overlap: t = max(tc, tm) + serial min(tc, t_out), t_out the
 * time of the bytes written.
 * Totals multiply each node by the layers it stands for. No allocation here:
 * callers pass the per-op result array (graph capacity). */
#ifndef OB_EVAL_H
#define OB_EVAL_H

#include "../hw/device.h"
#include "core/graph.h"

enum bound { BOUND_MEMORY, BOUND_COMPUTE, BOUND_NETWORK, BOUND_COUNT };

struct op_eval {
    double t_compute_s, t_memory_s, t_network_s, time_s; /* per layer */
    double t_overhead_s; /* of time_s, the part fixed per kernel (launch gap, eager floor) */
    double flops, bytes, intensity;         /* per layer; intensity = flops / bytes */
    enum bound bound;
};

struct eval_totals {
    struct op_cost cost; /* summed over every layer */
    double flops, bytes; /* flops_mm + flops_vec; all bytes read and written */
    double time_s;
    double time_block_s[BLK_COUNT];
    double time_bound_s[BOUND_COUNT]; /* time of ops by what bounds them */
    double kernels;         /* kernel launches in the step */
    double act_peak_bytes;  /* largest activation bytes (read + written) of one op */
};

/* Fixed time per kernel of op on d: the calibration entry's overhead (eager
 * launch) or the device's graph_overhead_s (graph launch), else the device's
 * kernel_overhead_s. */
static inline double eval_overhead_s(const struct op *op, const struct device *d)
{
    return device_cal_of(d, op)->t_overhead_s;
}

/* Evaluates one op; returns its time. */
double eval_op(const struct op *op, const struct device *d, struct op_eval *out);
/* Evaluates every op of g; per_op may be NULL (totals only). */
void eval_graph(const struct graph *g, const struct device *d, struct op_eval *per_op,
                struct eval_totals *tot);

/* The step time of g alone (the same sum as eval_graph's time_s) and the
 * largest activation bytes of one op: what a search over batches needs
 * (sim/plan.c), without the other totals. */
double eval_graph_time(const struct graph *g, const struct device *d, double *act_peak);

const char *bound_name(enum bound b);

#endif
