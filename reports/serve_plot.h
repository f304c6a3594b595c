/* serve_plot.h - time series of a serve run (`opbound serve --timeseries
 * PATH`): per replica and fixed window, the waiting queue, the running batch,
 * the KV cache held (bytes and share of the limit) and the output tokens per
 * second. Writes NAME.csv and NAME.gp in DIR (three stacked panels, one line
 * per replica); the caller renders the script (cli_render). Fields:
 * docs/output.md ("serve --timeseries"); rules: docs/serving.md, "Time series".
 * Entry point: serve_plot_write. */
#ifndef OB_SERVE_PLOT_H
#define OB_SERVE_PLOT_H

#include "../sim/serve.h"

/* n results (one per replica; each with its series, all of one width), their
 * labels, and the chart's title. 0, or -1 with e set; nothing is left
 * half-written. */
int serve_plot_write(const struct serve_result *const *r, const char *const *labels, int n,
                     const char *title, const char *dir, const char *base, struct err *e);

#endif
