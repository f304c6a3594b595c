/* compare_report.h - writers for `opbound compare`: one row per design and,
 * for each (device, scenario) block, ratios against the block's first row. */
#ifndef OB_COMPARE_REPORT_H
#define OB_COMPARE_REPORT_H

#include <stdio.h>

#include "../sim/analyze.h"
#include "analysis_report.h"

struct compare_row {
    const char *design;
    double params, active_params;
    double kv_bytes_per_token, kv_bytes_per_token_dev;
    double prefill_flops, decode_flops;
    double prefill_intensity, decode_intensity;
    double ttft_s, tpot_s;
    double memory_bytes, max_batch;
    bool fits;
};

struct compare_block {
    const struct device *d;
    const struct scenario *sc;
    struct compare_row *rows;
    int n;
};

/* Fills a row from an analysis that has run. */
void compare_row_fill(struct compare_row *r, const char *design, const struct analysis *a,
                      const struct scenario *sc);

void report_compare(FILE *out, enum out_format fmt, const char *title,
                    const struct compare_block *blocks, int n_blocks);

#endif
