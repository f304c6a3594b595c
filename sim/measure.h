/* measure.h - measurement files: kernel timings in CSV (docs/measurements.md).
 *
 * One row per measured (or, for `opbound predict`, to-be-predicted) run: op
 * kind, a free class label, kernel name, dtypes, shape, FLOPs, bytes, median
 * and min time. Loading rebuilds every row as a cost-model op (sim/core/graph.h
 * builders) and checks that the file's flops and bytes columns, when given,
 * equal the cost model's counts: the bench and the model cannot drift apart.
 * Rows of kind `step` time a whole model step or a range of its layers (a
 * bundled model or a model file beside the CSV, batch, new tokens, context).
 * Rows of kind `launch` time an empty kernel (the per-kernel overhead). A row
 * whose kind starts with '+' adds one more op to the timed row before it (an
 * eager composition of several kernels timed together; no time of its own).
 * Errors cite FILE:LINE:COL (1-based; the header is line 1 unless comments
 * come before it; COL is where the offending field starts). Sizes above 2^31
 * and times outside [1 ns, 1 h] are refused (measure.c, MEAS_MAX_DIM).
 *
 * Entry points: meas_load, meas_free, meas_import_json (measure_import.c),
 * MEAS_HEADER, MEAS_HEADER_IMPL. */
#ifndef OB_MEASURE_H
#define OB_MEASURE_H

#include <stdbool.h>

#include "core/err.h"
#include "core/graph.h"

/* The header row every measurement file starts with (after # comments). */
#define MEAS_HEADER                                                                        \
    "kind,class,name,dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,kv_width,count,m,n,k,flops," \
    "bytes,median_s,min_s"
/* The same with a last column `impl`: the op implementation
 * (OP_IMPL_LIST, sim/core/graph.h) or, on a
 * launch row, graph or eager. */
#define MEAS_HEADER_IMPL MEAS_HEADER ",impl"
/* Ops one timed row may hold: the row plus up to 15 '+KIND' rows after it. */
#define MEAS_MAX_PARTS 16

struct device;
struct meas_step;

struct meas_row {
    int line;            /* 1-based line in the file */
    bool launch;         /* kind `launch`: empty kernel; op unused */
    char cls[48];        /* class label (per-class error summaries) */
    char name[64];       /* kernel name */
    struct op op;        /* the cost-model op (kind, dtypes, shape, cost) */
    enum op_impl impl;   /* the impl column (IMPL_DEFAULT when absent) */
    int launch_eager;    /* launch rows: 0 when impl is graph, else 1 (eager) */
    int nmore;           /* ops of the '+KIND' rows that follow, timed with this one */
    struct op more[MEAS_MAX_PARTS - 1];
    struct meas_step *step; /* kind `step`: a model step or layer range (measure.c) */
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

/* Predicted time of a `step` row on d: the model's step lowered and evaluated
 * (sim/analyze.h) in the row's launch mode, summed over its layer range
 * (whole step: every op). 0 for other rows. */
double meas_step_predict(const struct meas_row *r, const struct device *d);
/* Lowers every step row of m under implementation profile p from now on
 * (NULL: opbound's one fused op per role), e.g. `validate --profile hf`
 * (docs/profiles.md). p must outlive m's use. */
struct profile;
void meas_set_profile(struct meas_file *m, const struct profile *p);

/* Converts the JSON of the library-kernel benchmark (kernels/measurements/
 * README.md) into measurement CSV text (with the impl column). *csv is owned
 * by the caller (free). Returns 0, or -1 with e set (FILE:LINE:COL). */
int meas_import_json(const char *path, char **csv, struct err *e);
/* The same, and where each CSV line came from: origin[i] is the JSON line
 * and column of the row (or, for the header, the document) that wrote CSV
 * line i + 1 (*origin malloc'd, *n_origin lines). */
struct meas_origin {
    int line, col;
};
int meas_import_json_at(const char *path, char **csv, struct meas_origin **origin, int *n_origin,
                        struct err *e);

#endif
