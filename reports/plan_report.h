/* plan_report.h - the outputs of `opbound plan` (sim/plan.h): the ranked
 * table, the Pareto front and its chart (gnuplot data + script; docs/plan.md). */
#ifndef OB_PLAN_REPORT_H
#define OB_PLAN_REPORT_H

#include <stdio.h>

#include "../sim/plan.h"

/* The lines saying what was searched (model, device, request, counts). */
void report_plan_header(FILE *out, const struct model *m, const struct device *d,
                        const struct plan_req *q, const struct plan_result *r);
/* Prints the header, the top `top` rows by the objective among those meeting
 * the targets, then the front. */
void report_plan_table(FILE *out, const struct model *m, const struct device *d,
                       const struct plan_req *q, const struct plan_result *r, int top);
/* Writes dir/base.dat (every fitting candidate, flags for meeting/front/best)
 * and dir/base.gp (reads png_file and svg_file). 0, or -1 with e set. */
int report_plan_chart(const struct model *m, const struct device *d, const struct plan_req *q,
                      const struct plan_result *r, const char *dir, const char *base,
                      struct err *e);

#endif
