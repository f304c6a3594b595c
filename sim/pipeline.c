/* pipeline.c - stage split and stage times; see pipeline.h. The schedule
 * (pipe figures) is assembled in analyze.c, which owns the graphs. */
#include "pipeline.h"

void pipe_split(int layers, int pp, int s, int *lo, int *hi)
{
    const int q = layers / pp, r = layers % pp;
    *lo = s * q + (s < r ? s : r);
    *hi = *lo + q + (s < r ? 1 : 0);
}

void pipe_stage_times(const struct graph *g, const struct op_eval *per_op, int layers, int pp,
                      double *t)
{
    for (int s = 0; s < pp; s++) t[s] = 0;
    bool seen_stack = false;
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        const double ti = per_op[i].time_s;
        if (op->layer_first < 0) {
            t[seen_stack ? pp - 1 : 0] += ti;
            continue;
        }
        seen_stack = true;
        const int a = op->layer_first, b = op->layer_first + op->layer_count;
        for (int s = 0; s < pp; s++) {
            int lo, hi;
            pipe_split(layers, pp, s, &lo, &hi);
            const int x = a > lo ? a : lo, y = b < hi ? b : hi;
            if (y > x) t[s] += (double)(y - x) * ti;
        }
    }
}
