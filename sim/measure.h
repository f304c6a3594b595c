/* measure.h - measurement files: kernel timings in CSV (docs/measurements.md).
 *
 * One row per measured (or, for `opbound predict`, to-be-predicted) run: op
 * kind, a free class label, kernel name, dtypes, shape, FLOPs, bytes, median
 * and min time. Loading rebuilds every row as a cost-model op (sim/core/graph.h
 * builders) and checks that the file's flops and bytes columns, when given,
 * equal the cost model's counts: the bench and the model cannot drift apart.
 * Rows of kind `launch` time an empty kernel (the per-kernel overhead).
 * Errors cite FILE:LINE:COL (1-based; the header is line 1 unless comments
 * come before it; COL is where the offending field starts). Sizes above 2^31
 * and times outside [1 ns, 1 h] are refused (measure.c, MEAS_MAX_DIM).
 *
 * Entry points: meas_load, meas_free, MEAS_HEADER. */
#ifndef OB_MEASURE_H
#define OB_MEASURE_H

#include <stdbool.h>

#include "core/err.h"
#include "core/graph.h"

/* The header row every measurement file starts with (after # comments). */
#define MEAS_HEADER                                                                        \
    "kind,class,name,dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,kv_width,count,m,n,k,flops," \
    "bytes,median_s,min_s"

struct meas_row {
    int line;            /* 1-based line in the file */
    bool launch;         /* kind `launch`: empty kernel; op unused */
    char cls[48];        /* class label (per-class error summaries) */
    char name[64];       /* kernel name */
    struct op op;        /* the cost-model op (kind, dtypes, shape, cost) */
    bool timed;          /* median_s given */
    double median_s, min_s;
};

struct meas_file {
    char path[512];
    char device[128];    /* from "# device: ..." ("" if absent) */
    int n;
    struct meas_row *rows;
};

/* Loads a measurement file. need_times: every row must have median_s.
 * Returns 0 with *m filled (meas_free), or -1 with e set (FILE:LINE:COL). */
int meas_load(const char *path, bool need_times, struct meas_file *m, struct err *e);
void meas_free(struct meas_file *m); /* accepts NULL and a zeroed struct */

#endif
