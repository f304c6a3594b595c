/* analysis_report.h - writers for `opbound analyze`: terminal table, csv, json.
 *
 * The JSON names are a contract (scripts depend on them; docs/output.md):
 * top level model, hw, scenario, totals, ops; see analysis_report.c. */
#ifndef OB_ANALYSIS_REPORT_H
#define OB_ANALYSIS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis_view.h"

enum out_format { OUT_TABLE, OUT_CSV, OUT_JSON };

void report_analysis_table(FILE *out, const struct analysis_view *v, bool per_op);
/* csv: one row of totals, or one row per op with per_op. */
void report_analysis_csv(FILE *out, const struct analysis_view *v, bool per_op);
void report_analysis_json(FILE *out, const struct analysis_view *v);

#endif
