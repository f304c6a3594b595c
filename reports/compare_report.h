/* compare_report.h - writers for `opbound compare`: one row per design and,
 * for each (device, scenario) block, ratios against the block's first row. */
#ifndef OB_COMPARE_REPORT_H
#define OB_COMPARE_REPORT_H

#include <stdio.h>

#include "../sim/analyze.h"
#include "../sim/train.h"
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
    /* training columns at the default setting (compare_train_cfg); has_train
     * false when the setting cannot run the design (n/a) */
    bool has_train, train_fits;
    double train_flops_per_token; /* model FLOPs (matmul, fwd + bwd) per token */
    double train_step_s, train_tokens_per_s, train_memory_bytes, train_mfu;
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

/* The stated default training setting of the training columns
 * (docs/output.md): 8 devices of the block's kind, ZeRO-3 data parallel, one
 * sequence per device of the scenario's length (prefill S, decode L), 8 per
 * step, selective recomputation, AdamW, bf16. */
#define COMPARE_TRAIN_GPUS 8
void compare_train_cfg(const struct scenario *sc, struct train_cfg *c);
/* Runs the training step of model m on device d at that setting into r's
 * training fields. 0, or -1 if out of memory. */
int compare_row_train(struct compare_row *r, const struct model *m, const struct device *d,
                      const struct scenario *sc);

void report_compare(FILE *out, enum out_format fmt, const char *title,
                    const struct compare_block *blocks, int n_blocks);

#endif
