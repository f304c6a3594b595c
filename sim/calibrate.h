/* calibrate.h - fitting a device's calibration entries to kernel timings, and
 * the error of its predictions (docs/measurements.md, "Fitting").
 *
 * The model is sim/eval.c's with hw/device.h's struct device_cal: per entry
 * (op kind, implementation, phase) tensor, memory and vector efficiencies,
 * falloff half sizes and a serial share of min(compute, memory). A row's
 * predicted time is the sum of eval_op over its ops (one op, or an eager
 * composition written as '+KIND' rows).
 *
 * Method: the fit starts from the prior with its calibration map removed.
 * Pass 1 fits each entry that single-op rows name (kind, impl or the prior's
 * default impl for the kind, phase for attention) by Nelder-Mead on the sum
 * of squared log errors, with only the terms its row count supports
 * (CAL_MIN_ROWS_*; a refused term says why). Pass 2 fits, jointly on the
 * composition rows, the entries their ops would otherwise take from the
 * device-wide efficiencies (the root kind of the chain with the op's impl,
 * e.g. elementwise.eager for an eager softmax). Launch rows set
 * kernel_overhead_s (eager) and graph_overhead_s (graph): their median.
 *
 * Held out (struct cal_holdout): none, every N-th row (index % N == N-1),
 * one class, or fold f of K (index % K == f). Held-out rows are never fitted.
 *
 * Entry points: cal_holdout_parse, cal_is_held, cal_fit, cal_cv, cal_errors,
 * cal_row_predict, cal_summarize, cal_write_device. */
#ifndef OB_CALIBRATE_H
#define OB_CALIBRATE_H

#include <stdbool.h>
#include <stdio.h>

#include "../hw/device.h"
#include "measure.h"

/* Rows an entry needs before each term is fitted. */
/* One row: the efficiency of the term that bounds it (under the prior) only. */
#define CAL_MIN_ROWS_EFF 2     /* tensor and memory efficiencies both */
#define CAL_MIN_ROWS_FALLOFF 6 /* bytes_half, flops_half */
#define CAL_MIN_ROWS_VECTOR 4  /* vector efficiency (kernels with matmul and vector work) */
#define CAL_MIN_ROWS_SERIAL 12 /* serial share of the output write */
#define CAL_MAX_ENTRIES 64

enum cal_hold_mode { HOLD_NONE, HOLD_EVERY, HOLD_CLASS, HOLD_KFOLD };
struct cal_holdout {
    int mode;     /* enum cal_hold_mode */
    int n;        /* every: N; kfold: K */
    int fold;     /* kfold: the fold held out, 0 .. K-1 */
    char cls[48]; /* class: the class held out */
};
/* Parses none | every:N | class:NAME | kfold:K (fold 0). 0, or -1 when bad. */
int cal_holdout_parse(const char *s, struct cal_holdout *h);
/* "none", "every 5th row", "class NAME", "fold 1 of 5" */
void cal_holdout_describe(const struct cal_holdout *h, char *buf, size_t n);
/* True when row i of m is held out. */
bool cal_is_held(const struct cal_holdout *h, const struct meas_file *m, int i);

/* Term bits of struct cal_entry_fit. */
enum { CAL_T_TENSOR = 1, CAL_T_MEMORY = 2, CAL_T_VECTOR = 4, CAL_T_FLOPS_HALF = 8,
       CAL_T_BYTES_HALF = 16, CAL_T_SERIAL = 32 };

struct cal_entry_fit {
    int kind, impl, phase; /* the entry (hw/device.h) */
    int n;                 /* rows it was fitted on */
    int pass;              /* 1: its own rows; 2: jointly on compositions */
    bool fitted;           /* false: refused (note says why) */
    unsigned terms;        /* CAL_T_* bits fitted */
    bool inherit_half;     /* pass 2: half sizes copied from the parent kind's entry */
    char note[160];        /* terms refused and why */
    struct device_cal cal; /* fitted values (eff_*, *_half, serial) */
};

struct cal_result {
    double overhead_s, graph_overhead_s; /* eager and graph per-kernel overhead */
    int n_launch, n_launch_graph;        /* launch rows behind each (0: prior kept) */
    int n_fit, n_held;                   /* timed rows fitted, held out */
    int nent;
    struct cal_entry_fit ent[CAL_MAX_ENTRIES];
    struct cal_holdout hold;
};

/* Fits *prior to the timed rows of m not held out by h. *out becomes a copy
 * of *prior with the calibration map replaced by the fitted entries, derived.
 * Returns 0, or -1 with e set (no row to fit; launch rows outside the schema's
 * overhead range). */
int cal_fit(const struct meas_file *m, const struct device *prior, const struct cal_holdout *h,
            struct device *out, struct cal_result *res, struct err *e);

/* K-fold cross-validation: for each fold f, fits on the other folds and
 * predicts the rows of f. pred[i] (m->n entries) gets the out-of-fold
 * prediction of each timed non-launch row (0 for others). 0, or -1 with e. */
int cal_cv(const struct meas_file *m, const struct device *prior, int k, double *pred,
           struct err *e);

/* Predicted time of a row: the sum of eval_op over its ops (0 for launch). */
double cal_row_predict(const struct meas_row *r, const struct device *d);

/* Absolute percentage error of d's prediction for each timed non-launch row
 * (ape[i] < 0 for rows without a time or of kind launch); pred[i] predicted
 * time (may be NULL). */
void cal_errors(const struct meas_file *m, const struct device *d, double *ape, double *pred);

struct cal_summary {
    int n;
    double median_ape, max_ape; /* percent */
    double median_signed;       /* percent; < 0: predictions too fast (bias) */
};
/* Summary over rows with ape[i] >= 0 (pred: the predictions behind ape),
 * selected by set (0 all, 1 fitted, 2 held out by h; h may be NULL for set
 * 0) and, when cls is non-NULL, of that class only. */
void cal_summarize(const struct meas_file *m, const double *ape, const double *pred,
                   const struct cal_holdout *h, int set, const char *cls, struct cal_summary *s);

/* Writes the calibrated device file: the text of the prior's file (its own
 * calibration map, calibration_note and fitted overhead keys dropped), headed
 * by comments saying it was fitted, from which file and when, followed by the
 * fitted keys and `calibration:` map. Written to a temporary name beside
 * out_path, loaded back as a device file (every value within the schema's
 * ranges) and only then renamed; on any failure nothing is left. Returns 0,
 * or -1 with e set. */
int cal_write_device(const struct device *fitted, const struct cal_result *r,
                     const char *meas_path, const char *out_path, struct err *e);

#endif
