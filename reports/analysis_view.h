/* analysis_view.h - what the writers of one analysis read: the model, device,
 * scenario and analysis, and optionally the same on the device's PIM
 * baseline. Shared by analysis_report.c and pim_report.c (its own header so
 * that neither report includes the other's). */
#ifndef OB_ANALYSIS_VIEW_H
#define OB_ANALYSIS_VIEW_H

#include <stdbool.h>

#include "../sim/analyze.h"

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

#endif
