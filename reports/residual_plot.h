/* residual_plot.h - predicted vs measured kernel times (`opbound validate -o
 * PATH.png`): log-log, one colour per class, the y = x line and +-10% bands.
 * Writes NAME.dat (one block per class: measured_s predicted_s) and NAME.gp
 * in DIR; the caller renders the script (cli_render). docs/measurements.md.
 * Entry point: residual_plot_write. */
#ifndef OB_RESIDUAL_PLOT_H
#define OB_RESIDUAL_PLOT_H

#include "../sim/measure.h"

/* pred[i] (0 for rows without a prediction) against m's median times.
 * title: first line of the chart. Returns 0, or -1 with e set; nothing is
 * left half-written. */
int residual_plot_write(const struct meas_file *m, const double *pred, const char *title,
                        const char *dir, const char *base, struct err *e);

#endif
