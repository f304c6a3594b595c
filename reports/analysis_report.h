/* analysis_report.h - writers for `opbound analyze`: terminal table, csv, json.
 *
 * The JSON names are a contract (scripts depend on them; docs/output.md):
 * top level model, hw, scenario, totals, ops; see analysis_report.c. */
#ifndef OB_ANALYSIS_REPORT_H
#define OB_ANALYSIS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "../sim/analyze.h"

enum out_format { OUT_TABLE, OUT_CSV, OUT_JSON };

struct analysis_view {
    const struct model *m;
    const struct device *d;
    const struct scenario *sc;
    const struct analysis *a;
    /* optional: the same model and scenario on the device's `pim.baseline`
     * (a bank-PIM variant), for the speedup line; NULL when absent */
    const struct analysis *base;
    const struct device *base_d;
    /* optional (analysis_ttft_request_s): TTFT of one request prefilled alone;
     * has_ttft_request false when not computed */
    bool has_ttft_request;
    double ttft_request_s;
};

void report_analysis_table(FILE *out, const struct analysis_view *v, bool per_op);
/* csv: one row of totals, or one row per op with per_op. */
void report_analysis_csv(FILE *out, const struct analysis_view *v, bool per_op);
void report_analysis_json(FILE *out, const struct analysis_view *v);

#endif
