/* placement.h - which processor runs each op on a device with processing in
 * memory (Logic-PIM or bank PIM beside an xPU), co-processing of one op by
 * both, and energy. Formulas and sources: docs/logic-pim.md.
 *
 * Per op (figures per layer):
 *   t_xpu = the op's roofline on the xPU (eval_op)
 *   t_pim = max(FLOPs / PIM FLOP/s, bytes / internal bandwidth, t_network)
 *           + PIM overhead
 *   one side: the one that finishes sooner. Both memory-bound ops go to PIM
 *   (internal bandwidth >= external); the crossover lies at the intensity
 *   where PIM compute time equals xPU memory time:
 *       I* = PIM FLOP/s / xPU memory bytes/s        (placement_threshold)
 *   (valid when PIM FLOP/s <= xPU FLOP/s; Duplex, Yun et al. MICRO 2024, §III).
 *   co-processing (pim.coprocess; MoE experts batched GEMM split by expert,
 *   attention split by request): x of the n units on the xPU, n - x on PIM,
 *       t = max(x/n W_xpu, (n-x)/n W_pim, bytes / internal bandwidth)
 *           + max(overheads)
 *   where W is a side's time without overhead; x is the integer next to
 *   n W_pim / (W_xpu + W_pim) that gives the smaller t (the two sides then
 *   differ by at most one unit's time). Both sides write to the shared stacks,
 *   so no transfer is added; the last term is the DRAM banks' own limit.
 *   energy = FLOPs x J/FLOP(side) + bytes x J/byte(path) + static W x t.
 *
 * Entry points: placement_op, placement_graph, placement_apply.
 * No allocation: callers pass per-op arrays (graph capacity). */
#ifndef OB_PLACEMENT_H
#define OB_PLACEMENT_H

#include "eval.h"

enum place_side { SIDE_XPU, SIDE_PIM, SIDE_CO, SIDE_COUNT };
/* PLACE_AUTO chooses per op; the pinned modes force one side (reference runs). */
enum place_mode { PLACE_AUTO, PLACE_XPU, PLACE_PIM };

struct op_place {
    enum place_side side;
    enum bound bound;     /* of the chosen side (the slower side when co-processed) */
    double t_xpu_s;       /* the whole op on the xPU */
    double t_pim_s;       /* the whole op on PIM (0 when the device has none) */
    double time_s;        /* chosen */
    double units;         /* experts or requests the op splits into; 0 = not splittable */
    double units_xpu;     /* of those, on the xPU (co-processing) */
    double energy_j;      /* per layer; 0 when the device has no energy table */
};

struct place_totals {
    double time_s, energy_j;                    /* placed, over every layer */
    double time_xpu_s, energy_xpu_j;            /* every op pinned to the xPU */
    double time_side_s[SIDE_COUNT];
    double ops_side[SIDE_COUNT];                /* kernels by side */
    double time_block_s[BLK_COUNT];             /* placed */
    double time_bound_s[BOUND_COUNT];           /* placed, by the chosen side's bound */
    double threshold;                           /* I* in FLOP/B, activation dtype */
};

/* Crossover intensity (FLOP/B) above which the xPU is faster:
 * PIM FLOP/s / xPU memory bytes/s, or 0 without PIM. */
double placement_threshold(const struct device *d);
/* Places one op; returns its time. */
double placement_op(const struct op *op, const struct device *d, enum place_mode mode,
                    struct op_place *out);
/* Places every op of g; per_op may be NULL. */
void placement_graph(const struct graph *g, const struct device *d, enum place_mode mode,
                     struct op_place *per_op, struct place_totals *tot);
/* Makes an evaluation describe the placed run: per-op time_s and bound (when
 * per_op and place are non-NULL; n ops) and the totals' time_s, time_block_s
 * and time_bound_s. t_compute_s and t_memory_s stay the xPU's. */
void placement_apply(int n, const struct op_place *place, struct op_eval *per_op,
                     const struct place_totals *pt, struct eval_totals *tot);

const char *place_side_name(enum place_side s);

#endif
