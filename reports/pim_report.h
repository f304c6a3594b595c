/* pim_report.h - the placement, speedup and energy parts of `opbound analyze`
 * on a device with a `pim` or `energy` map (docs/logic-pim.md). Called by
 * analysis_report.c only when the analysis was placed (a->placed).
 *
 * Entry points: report_pim_summary (table lines), report_pim_json_totals and
 * report_pim_json_op (extra json fields, each written with a leading ", "),
 * report_pim_csv_header / report_pim_csv_op (extra per-op csv columns). */
#ifndef OB_PIM_REPORT_H
#define OB_PIM_REPORT_H

#include <stdio.h>

#include "analysis_view.h"

void report_pim_summary(FILE *out, const struct analysis_view *v);
void report_pim_json_totals(FILE *out, const struct analysis_view *v);
void report_pim_json_op(FILE *out, const struct analysis_view *v, int i);
void report_pim_csv_header(FILE *out);
void report_pim_csv_op(FILE *out, const struct analysis_view *v, int i);

#endif
