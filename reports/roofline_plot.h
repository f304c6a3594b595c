/* roofline_plot.h - the roofline chart (gnuplot data and script) of one device
 * with every op of up to ROOFLINE_MAX_MODELS models as a point; used by
 * `opbound roofline` and `opbound report`.
 *
 * x = the op's arithmetic intensity, y = its roofline rate (FLOPs / max(t_compute,
 * t_memory, t_network)) or, with `achieved`, FLOPs / time_s. Colour = model,
 * shape = op kind, filled = prefill and open = decode when two phases are drawn.
 * The chart is explained in docs/plots.md.
 *
 * Entry point: roofline_plot_write. */
#ifndef OB_ROOFLINE_PLOT_H
#define OB_ROOFLINE_PLOT_H

#include <stdbool.h>

#include "../sim/analyze.h"
#include "../sim/core/err.h"
#include "plot.h"

#define ROOFLINE_MAX_MODELS PLOT_NCOLORS

struct roofline_plot {
    const char *cmd_line;   /* recorded in the files' headers */
    const struct device *d;
    int n;                  /* models, 1..ROOFLINE_MAX_MODELS */
    const struct model *m[ROOFLINE_MAX_MODELS];
    const char *label[ROOFLINE_MAX_MODELS]; /* legend names; NULL: the model's name */
    const char *title;      /* NULL: "Roofline of DEVICE: model, model, ..." */
    struct scenario sc[2];  /* nph phases, each checked with model_tp_check */
    int nph;                /* 1 or 2 (prefill then decode) */
    bool achieved;          /* y = FLOPs / time_s (kernel overhead included) */
};

/* Runs every model's scenarios and writes DIR/BASE.dat and DIR/BASE.gp (the
 * folder must exist); the script draws BASE.png and BASE.svg (run it with
 * plot_render, variables png_file and svg_file). Each file is written
 * atomically. Returns 0, or -1 with e set. */
int roofline_plot_write(const struct roofline_plot *p, const char *dir, const char *base,
                        struct err *e);

#endif
