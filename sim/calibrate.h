/* calibrate.h - fitting a device's efficiencies to kernel timings, and the
 * error of its predictions (docs/measurements.md, "Fitting").
 *
 * Model per op kind k (sim/eval.c with hw/device.h's struct device_cal):
 *   t = max((F_mm + flops_half)/(R_tensor·e_t) + F_vec/R_vector,
 *           (bytes + bytes_half)/(BW·e_m)) + overhead
 * The overhead is the median time of `launch` rows (an empty kernel), else the
 * prior device's kernel_overhead_s. Per kind, each row is put in the regime
 * that the current parameters say bounds it, and each regime is a linear least
 * squares in relative error (weights 1/t²) for 1/e and half/e, with e <= 1 and
 * half >= 0; repeated until no row changes regime. A regime with fewer than
 * two rows keeps the prior's efficiency and no falloff.
 *
 * Held out: rows whose 0-based index in the file is 4 mod 5 (every fifth row)
 * are never fitted (cal_held_out); validation reports both sets.
 *
 * Entry points: cal_fit, cal_held_out, cal_errors, cal_write_device. */
#ifndef OB_CALIBRATE_H
#define OB_CALIBRATE_H

#include <stdbool.h>
#include <stdio.h>

#include "../hw/device.h"
#include "measure.h"

struct cal_kind_fit {
    int n_memory, n_compute;      /* fitted rows in each regime */
    bool memory_fitted, compute_fitted;
    double eff_memory, bytes_half, eff_tensor, flops_half;
};

struct cal_result {
    double overhead_s;
    int n_launch;   /* launch rows the overhead came from (0: prior's value) */
    int n_fit, n_held;
    int iterations;
    struct cal_kind_fit kind[OP_COUNT];
};

/* True for rows never used by the fit (index i in file order). */
bool cal_held_out(int i);

/* Fits the per-kind calibration of *prior to the timed rows of m that are not
 * held out. *out becomes a copy of *prior with cal[] filled for every kind
 * that has rows, derived (device_derive). Returns 0, or -1 with e set when no
 * row can be fitted. */
int cal_fit(const struct meas_file *m, const struct device *prior, struct device *out,
            struct cal_result *res, struct err *e);

/* Absolute percentage error of d's prediction for each timed non-launch row
 * (ape[i] < 0 for rows without a time or of kind launch); pred[i] predicted
 * time (may be NULL). */
void cal_errors(const struct meas_file *m, const struct device *d, double *ape, double *pred);

struct cal_summary {
    int n;
    double median_ape, max_ape; /* percent */
};
/* Summary of the ape[] values >= 0 of rows selected by set (0 all, 1 fitted
 * rows, 2 held out) and, when cls is non-NULL, of that class only. */
void cal_summarize(const struct meas_file *m, const double *ape, int set, const char *cls,
                   struct cal_summary *s);

/* Writes the calibrated device file: the text of the prior's file (its own
 * calibration map dropped), headed by comments saying it was fitted, from
 * which file and when, and followed by the fitted `calibration:` map. Written
 * to a temp name and renamed. Returns 0, or -1 with e set. */
int cal_write_device(const struct device *fitted, const struct cal_result *r,
                     const char *meas_path, const char *out_path, struct err *e);

#endif
