/* report_charts.h - the charts of `opbound report` besides the roofline
 * (reports/roofline_plot.h): gnuplot data and scripts for
 *
 *   curves     one curve per design against a shared x (KV-cache bytes or
 *              decode time against the context); designs whose curves are
 *              identical share one curve and one legend entry, so 14 designs
 *              stay readable
 *   breakdown  one stacked bar per design: the step time split into parts
 *              of the layer (attention projections, attention core, FFN, ...)
 *
 * Each writer makes DIR/BASE.dat and DIR/BASE.gp (atomically); the script
 * draws BASE.png and BASE.svg (gnuplot variables png_file and svg_file).
 * To add a breakdown part: add BD_X before BD_COUNT, its name and colour in
 * BD_PARTS (report_charts.c) and its ops in breakdown_part(). */
#ifndef OB_REPORT_CHARTS_H
#define OB_REPORT_CHARTS_H

#include <stdbool.h>

#include "../sim/analyze.h"
#include "../sim/core/err.h"

#define CURVES_MAX_X 64

struct curves {
    const char *cmd_line;       /* recorded in the files */
    const char *title, *subtitle;
    const char *xlabel, *ylabel, *yunit; /* yunit for SI tick labels ("s", "B") */
    int n;                      /* designs */
    const char *const *names;   /* [n] */
    int nx;                     /* 2..CURVES_MAX_X */
    const double *x;            /* [nx], increasing, > 0 (log axis) */
    const double *y;            /* [n * nx], y[i * nx + j] */
    const bool *fits;           /* [n * nx]: open point when false */
    double capacity;            /* > 0: a dashed line "device memory" at this y */
};

int chart_curves_write(const struct curves *c, const char *dir, const char *base, struct err *e);

/* Parts of a step's time. */
enum bd_part {
    BD_ATTN_PROJ,  /* GEMMs of the attention block (projections, latent up/down) */
    BD_ATTN_CORE,  /* the attention op: QK^T, softmax, PV over the cache */
    BD_ATTN_OTHER, /* norms, RoPE, residual, routers of the attention block */
    BD_FFN_GEMM,   /* GEMMs of the FFN block (experts included) */
    BD_FFN_OTHER,  /* activation, norms, residual, router of the FFN block */
    BD_MODEL,      /* outside the layers: embedding, final norm, LM head */
    BD_ALLREDUCE,  /* tensor-parallel all-reduces */
    BD_COUNT
};
const char *breakdown_part_name(enum bd_part p); /* legend text */
const char *breakdown_part_id(enum bd_part p);   /* csv column: "attn_core_s" */
/* Adds every op's time (x layer_count) of the scenario's step of a run
 * analysis into t[BD_COUNT] (zeroed first); the parts sum to a->tot.time_s. */
void breakdown_sum(const struct analysis *a, double t[BD_COUNT]);

struct breakdown {
    const char *cmd_line;
    const char *title, *subtitle, *ylabel;
    int n;                      /* designs (bars) */
    const char *const *names;   /* [n] */
    const double (*t)[BD_COUNT]; /* [n] seconds */
    const bool *fits;           /* [n], or NULL when all fit: a bar that does not is
                                 * marked "DOES NOT FIT" above its total */
};

int chart_breakdown_write(const struct breakdown *b, const char *dir, const char *base,
                          struct err *e);

#endif
