/* cmd_calibrate.c - `opbound calibrate`, `opbound validate` and `opbound
 * predict`: the cost model against kernel timings (docs/measurements.md).
 *
 *   calibrate MEAS --hw HW -o OUT.yaml [--holdout H]   fit calibration entries
 *   validate MEAS --hw HW [--format table|csv|json]     predicted vs measured, per class
 *   predict OPS --hw HW                  predicted time of each row (no times needed) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../calibrate.h"
#include "../../reports/plot.h"
#include "../../reports/residual_plot.h"
#include "cli.h"
#include "../eval.h"

/* --profile / --impl: how step rows (whole layers or steps) are lowered;
 * kernel rows are single ops and take their impl column. */
#define CLI_OPT_STEP_PROFILE                                                                   \
    {"--profile", "P", "step rows: implementation profile the measured code\n"                \
                       "ran (engine, hf, or a file; docs/profiles.md)"},                      \
    {"--impl", "K=I,...", "step rows: implementation per role or op kind"}

static const struct cli_opt CAL_OPTS[] = {
    CLI_OPT_HW,
    {"-o", "OUT.yaml", "the calibrated device file to write"},
    {"--holdout", "H", "none | every:N | class:NAME | kfold:K: rows never fitted\n"
                       "(default every:5); kfold:K fits K times without one fold,\n"
                       "prints the out-of-fold errors, writes the fit on every row"},
    CLI_OPT_LAUNCH,
    CLI_OPT_STEP_PROFILE,
    CLI_OPT_END,
};
static const struct cli_opt VAL_OPTS[] = {
    CLI_OPT_HW,
    {"--format", "F", "table (default), csv or json"},
    CLI_OPT_LAUNCH,
    {"-o", "PLOT.png", "also draw predicted vs measured (gnuplot; .gp and .dat kept)"},
    CLI_OPT_STEP_PROFILE,
    CLI_OPT_END,
};
static const struct cli_opt PRED_OPTS[] = {CLI_OPT_HW, CLI_OPT_LAUNCH, CLI_OPT_STEP_PROFILE,
                                           CLI_OPT_END};

const struct cli_cmd CLI_CALIBRATE = {
    .name = "calibrate",
    .brief = "calibrate MEAS.csv --hw HW -o OUT.yaml",
    .summary = "fit efficiencies to kernel timings",
    .usage = "opbound calibrate MEASUREMENTS.csv --hw HW -o OUT.yaml [--holdout H] [--profile P]",
    .about = "Fits calibration entries (op kind, implementation, phase: efficiencies,\n"
             "small-problem falloff, compute/memory overlap) and the launch overheads to the\n"
             "timings in MEASUREMENTS.csv (docs/measurements.md) and writes an ordinary device\n"
             "file (loadable with --hw) that says when and from what it was fitted. Prints every\n"
             "fitted entry, the terms refused for lack of rows, and per class the error of the\n"
             "prior and of the calibrated device. Shapes come from the file.\n",
    .opts = CAL_OPTS,
};
const struct cli_cmd CLI_VALIDATE = {
    .name = "validate",
    .brief = "validate MEAS.csv --hw HW",
    .summary = "predicted vs measured time, errors",
    .usage = "opbound validate MEASUREMENTS.csv --hw HW [--format table|csv|json] [-o PLOT.png]\n"
             "       [--profile P] [--impl K=I,...]",
    .about = "Predicted vs measured time of every row, its signed error, then per class: rows,\n"
             "median and max absolute percentage error and the signed median (bias; < 0: the\n"
             "model is too fast). Kernel rows are predicted as under CUDA-graph replay (they\n"
             "are GPU-timed; --launch eager to change it); step rows in their own launch mode,\n"
             "lowered under --profile / --impl (the code that was timed, e.g. hf).\n"
             "Rows are labelled fitted / held-out only when HW was calibrated on this file.\n",
    .opts = VAL_OPTS,
};
const struct cli_cmd CLI_PREDICT = {
    .name = "predict",
    .brief = "predict OPS.csv --hw HW",
    .summary = "predicted time of ops in that format",
    .usage = "opbound predict OPS.csv --hw HW [--profile P] [--impl K=I,...]",
    .about = "Predicts the time of every row of a file in the measurement format (times may be\n"
             "left empty) and writes CSV to standard output: line, kind, class, name, flops,\n"
             "bytes, predicted_s, bound.\n",
    .opts = PRED_OPTS,
};

/* Shared start: parse, check arguments, load measurements and device. */
static int load_all(const struct cli_cmd *spec, int argc, char **argv, bool need_times,
                    struct cli_args *a, struct meas_file *m, struct device **d, bool *help)
{
    const char *C = spec->name;
    *help = false;
    int rc = cli_parse(spec, argc, argv, a);
    if (rc) return rc;
    if (a->help) {
        cli_help(spec, stdout);
        *help = true;
        return 0;
    }
    if (a->npos != 1) return cli_fail(C, "expected one measurement file");
    if (!a->hw) return cli_fail(C, "missing --hw HW");
    struct err e;
    if (cli_load_device(a->hw, d, &e)) return cli_fail_err(&e);
    if (!a->launch) { /* kernel rows are GPU-timed: graph replay unless --launch says */
        (*d)->launch = LAUNCH_GRAPH;
        device_derive(*d);
    }
    if (meas_load(a->pos[0], need_times, m, &e)) {
        device_free(*d);
        return cli_fail_err(&e);
    }
    const struct profile *p = NULL;
    if (cli_profile(C, a->profile, a->impl, &p)) {
        meas_free(m);
        device_free(*d);
        return CLI_USAGE;
    }
    meas_set_profile(m, p);
    return 0;
}

/* Distinct classes of rows with ape >= 0, in file order; returns the count
 * and the widest name. */
static int classes(const struct meas_file *m, const double *ape, const char **cls, int *width)
{
    int n = 0;
    *width = 5;
    for (int i = 0; i < m->n; i++) {
        if (ape[i] < 0) continue;
        bool seen = false;
        for (int j = 0; j < n && !seen; j++) seen = strcmp(cls[j], m->rows[i].cls) == 0;
        if (seen) continue;
        cls[n++] = m->rows[i].cls;
        const int w = (int)strlen(m->rows[i].cls);
        if (w > *width) *width = w;
    }
    return n;
}

/* Per-class table: n, median |%|, max |%|, signed median %; sets 0 (all)
 * and, when h is non-NULL, 1 (fitted) and 2 (held out). */
static void print_summary(const struct meas_file *m, const double *ape, const double *pred,
                          const struct cal_holdout *h, const char *title)
{
    static const char *const SETS[3] = {"all", "fitted", "held-out"};
    const char **cls = calloc((size_t)m->n + 1, sizeof *cls);
    OB_ASSERT(cls);
    int w;
    const int nc = classes(m, ape, cls, &w);
    printf("%s\n  %-*s %-8s %5s %10s %10s %10s\n", title, w, "class", "set", "n", "median|%|",
           "max|%|", "signed%");
    for (int c = -1; c < nc; c++)
        for (int set = 0; set < (h ? 3 : 1); set++) {
            struct cal_summary s;
            cal_summarize(m, ape, pred, h, set, c < 0 ? NULL : cls[c], &s);
            if (s.n == 0 && set) continue;
            printf("  %-*s %-8s %5d %10.2f %10.2f %+10.2f\n", w, c < 0 ? "(all)" : cls[c],
                   SETS[set], s.n, s.median_ape, s.max_ape, s.median_signed);
        }
    free(cls);
}

static void print_entries(const struct device *d, const struct cal_result *res)
{
    printf("  per-kernel overhead: eager %.3g s (%s), graph %.3g s (%s)\n", res->overhead_s,
           res->n_launch ? "median of eager launch rows" : "no eager launch rows: prior kept",
           res->graph_overhead_s >= 0 ? res->graph_overhead_s : d->kernel_overhead_s,
           res->n_launch_graph ? "median of graph launch rows" : "no graph launch rows: prior kept");
    printf("  %-28s %5s %8s %8s %8s %11s %11s %7s  %s\n", "entry", "rows", "tensor", "memory",
           "vector", "flops_half", "bytes_half", "serial", "notes");
    for (int q = 0; q < res->nent; q++) {
        const struct cal_entry_fit *f = &res->ent[q];
        char name[96], v[6][24];
        device_cal_name(f->kind, f->impl, f->phase, name, sizeof name);
        const double x[6] = {f->cal.eff_tensor, f->cal.eff_memory, f->cal.eff_vector,
                             f->cal.flops_half, f->cal.bytes_half, f->cal.serial};
        static const unsigned T[6] = {CAL_T_TENSOR, CAL_T_MEMORY, CAL_T_VECTOR,
                                      CAL_T_FLOPS_HALF, CAL_T_BYTES_HALF, CAL_T_SERIAL};
        for (int t = 0; t < 6; t++)
            if (f->fitted && (f->terms & T[t])) snprintf(v[t], sizeof v[t], t < 3 || t == 5 ? "%.4f" : "%.3g", x[t]);
            else snprintf(v[t], sizeof v[t], "-");
        printf("  %-28s %5d %8s %8s %8s %11s %11s %7s  %s%s%s\n", name, f->n, v[0], v[1], v[2],
               v[3], v[4], v[5], f->pass == 2 ? "(fitted on compositions) " : "",
               f->fitted ? "" : "NOT FITTED ", f->note);
    }
}

int cmd_calibrate(int argc, char **argv)
{
    const char *C = "calibrate";
    struct cli_args a;
    struct meas_file m;
    struct device *d = NULL;
    bool help;
    int rc = load_all(&CLI_CALIBRATE, argc, argv, true, &a, &m, &d, &help);
    if (rc || help) return rc;
    struct cal_holdout h = {.mode = HOLD_EVERY, .n = 5};
    for (int i = 0; i < a.nx; i++)
        if (cal_holdout_parse(a.xval[i], &h)) {
            rc = cli_fail(C, "--holdout must be none, every:N, class:NAME or kfold:K (N, K "
                          "from 2 to 1000), got '%s'", a.xval[i]);
            goto done;
        }
    if (!a.out) {
        rc = cli_fail(C, "missing -o OUT.yaml (the calibrated device file)");
        goto done;
    }
    if (a.format) {
        rc = cli_fail(C, "calibrate prints a table; use validate --format for csv or json");
        goto done;
    }
    if (h.mode == HOLD_CLASS) {
        bool found = false;
        for (int i = 0; i < m.n && !found; i++) found = strcmp(m.rows[i].cls, h.cls) == 0;
        if (!found) {
            rc = cli_fail(C, "--holdout class:%s: no row of %s has that class", h.cls, m.path);
            goto done;
        }
    }
    const bool kfold = h.mode == HOLD_KFOLD;
    struct cal_holdout fit_h = kfold ? (struct cal_holdout){.mode = HOLD_NONE} : h;
    struct device *fitted = malloc(sizeof *fitted);
    struct cal_result *res = malloc(sizeof *res);
    OB_ASSERT(fitted && res);
    struct err e;
    if (cal_fit(&m, d, &fit_h, fitted, res, &e) ||
        cal_write_device(fitted, res, m.path, a.out, &e)) {
        rc = cli_fail_err(&e);
        free(fitted);
        free(res);
        goto done;
    }
    char hold[96];
    cal_holdout_describe(&fit_h, hold, sizeof hold);
    printf("calibrated %s from %s (%d rows fitted, %s) -> %s\n", d->name, m.path, res->n_fit,
           hold, a.out);
    print_entries(d, res);
    double *ape = calloc((size_t)m.n, sizeof *ape), *pred = calloc((size_t)m.n, sizeof *pred);
    OB_ASSERT(ape && pred);
    cal_errors(&m, d, ape, pred);
    print_summary(&m, ape, pred, NULL, "error of the prior device (percent):");
    cal_errors(&m, fitted, ape, pred);
    print_summary(&m, ape, pred, kfold || fit_h.mode == HOLD_NONE ? NULL : &fit_h,
                  "error of the calibrated device (percent; in-sample unless held out):");
    if (kfold) {
        if (cal_cv(&m, d, h.n, pred, &e)) {
            rc = cli_fail_err(&e);
        } else {
            for (int i = 0; i < m.n; i++)
                ape[i] = m.rows[i].timed && !m.rows[i].launch
                             ? 100 * fabs(pred[i] - m.rows[i].median_s) / m.rows[i].median_s : -1;
            char title[128];
            snprintf(title, sizeof title, "%d-fold cross-validation (each row predicted by the "
                     "fit without its fold; percent):", h.n);
            print_summary(&m, ape, pred, NULL, title);
        }
    }
    free(ape);
    free(pred);
    free(fitted);
    free(res);
done:
    meas_free(&m);
    device_free(d);
    return rc;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void jstr(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int cmd_validate(int argc, char **argv)
{
    const char *C = "validate";
    struct cli_args a;
    struct meas_file m;
    struct device *d = NULL;
    bool help;
    int rc = load_all(&CLI_VALIDATE, argc, argv, true, &a, &m, &d, &help);
    if (rc || help) return rc;
    enum out_format fmt;
    if ((rc = cli_format(C, &a, &fmt))) goto done;
    char dir[PLOT_PATH_MAX], base_name[256];
    if (a.out && (rc = cli_out_split(C, a.out, dir, sizeof dir, base_name, sizeof base_name)))
        goto done;
    /* fitted / held-out only when d was calibrated on this very file */
    const char *base = strrchr(m.path, '/');
    base = base ? base + 1 : m.path;
    struct cal_holdout hold, *h = NULL;
    if (d->cal_source[0] && strcmp(d->cal_source, base) == 0 &&
        cal_holdout_parse(d->cal_holdout[0] ? d->cal_holdout : "none", &hold) == 0)
        h = &hold;
    double *ape = calloc((size_t)m.n, sizeof *ape), *pred = calloc((size_t)m.n, sizeof *pred);
    OB_ASSERT(ape && pred);
    cal_errors(&m, d, ape, pred);
    char desc[512];
    device_describe(d, desc, sizeof desc);
    int wc = 5, wn = 4;
    for (int i = 0; i < m.n; i++) {
        if ((int)strlen(m.rows[i].cls) > wc) wc = (int)strlen(m.rows[i].cls);
        if ((int)strlen(m.rows[i].name) > wn) wn = (int)strlen(m.rows[i].name);
    }
    const char *const SETS[3] = {"all", "fitted", "held-out"};
    if (fmt == OUT_CSV) {
        printf("record,line,kind,impl,class,name,set,n,predicted_s,measured_s,error_pct,"
               "median_abs_pct,max_abs_pct,median_signed_pct\n");
    } else if (fmt == OUT_JSON) {
        printf("{\"file\": ");
        jstr(base);
        printf(", \"device\": ");
        jstr(d->name);
        printf(", \"header\": ");
        jstr(desc);
        printf(", \"rows\": [");
    } else {
        printf("%s on %s (%s)\n%6s %-13s %-13s %-*s %-*s %-8s %11s %11s %8s\n", m.path, d->name,
               desc, "line", "kind", "impl", wc, "class", wn, "name", "set", "predicted",
               "measured", "error%");
    }
    int nrow = 0;
    for (int i = 0; i < m.n; i++) {
        const struct meas_row *r = &m.rows[i];
        if (ape[i] < 0) continue;
        const char *kind = r->step ? "step" : op_kind_name(r->op.kind);
        const char *impl = r->step ? (r->launch_eager ? "eager" : "graph") : op_impl_name(r->impl);
        const char *set = !h ? "-" : cal_is_held(h, &m, i) ? "held-out" : "fitted";
        const double err = 100 * (pred[i] - r->median_s) / r->median_s;
        if (fmt == OUT_CSV)
            printf("row,%d,%s,%s,%s,%s,%s,1,%.6g,%.6g,%.3f,,,\n", r->line, kind, impl, r->cls,
                   r->name, set, pred[i], r->median_s, err);
        else if (fmt == OUT_JSON)
            printf("%s\n  {\"line\": %d, \"kind\": \"%s\", \"impl\": \"%s\", \"class\": \"%s\", "
                   "\"name\": \"%s\", \"set\": \"%s\", \"predicted_s\": %.6g, \"measured_s\": "
                   "%.6g, \"error_pct\": %.3f}", nrow ? "," : "", r->line, kind, impl, r->cls,
                   r->name, set, pred[i], r->median_s, err);
        else
            printf("%6d %-13s %-13s %-*s %-*s %-8s %11.4g %11.4g %+8.2f\n", r->line, kind, impl,
                   wc, r->cls, wn, r->name, set, pred[i], r->median_s, err);
        nrow++;
    }
    if (fmt == OUT_TABLE) {
        print_summary(&m, ape, pred, h, "error per class (percent; signed < 0: model too fast):");
    } else {
        const char **cls = calloc((size_t)m.n + 1, sizeof *cls);
        OB_ASSERT(cls);
        int w;
        const int nc = classes(&m, ape, cls, &w);
        if (fmt == OUT_JSON) printf("\n], \"classes\": [");
        int nj = 0;
        for (int c = -1; c < nc; c++)
            for (int set = 0; set < (h ? 3 : 1); set++) {
                struct cal_summary s;
                cal_summarize(&m, ape, pred, h, set, c < 0 ? NULL : cls[c], &s);
                if (s.n == 0 && set) continue;
                const char *cn = c < 0 ? "(all)" : cls[c];
                if (fmt == OUT_CSV)
                    printf("class,,,,%s,,%s,%d,,,,%.3f,%.3f,%.3f\n", cn, SETS[set], s.n,
                           s.median_ape, s.max_ape, s.median_signed);
                else {
                    printf("%s\n  {\"class\": ", nj++ ? "," : "");
                    jstr(cn);
                    printf(", \"set\": \"%s\", \"n\": %d, \"median_abs_pct\": %.3f, "
                           "\"max_abs_pct\": %.3f, \"median_signed_pct\": %.3f}",
                           SETS[set], s.n, s.median_ape, s.max_ape, s.median_signed);
                }
            }
        if (fmt == OUT_JSON) printf("\n]}\n");
        free(cls);
    }
    if (a.out) {
        /* the residual chart: NAME.dat, NAME.gp, and NAME.png/.svg with gnuplot */
        struct err e;
        char title[300], path[PLOT_PATH_MAX];
        snprintf(title, sizeof title, "%.200s on %.60s", base, d->name);
        if (plot_mkdirs(dir, &e) || residual_plot_write(&m, pred, title, dir, base_name, &e)) {
            rc = cli_fail_out(&e);
        } else {
            char name[2][PLOT_PATH_MAX];
            snprintf(name[0], sizeof name[0], "%s.png", base_name);
            snprintf(name[1], sizeof name[1], "%s.svg", base_name);
            snprintf(path, sizeof path, "%s.gp", base_name);
            bool warned = false;
            const char *vars[] = {"png_file", "svg_file"}, *files[] = {name[0], name[1]};
            rc = cli_render(C, dir, path, vars, files, 2, &warned);
            if (rc == 0)
                fprintf(stderr, "wrote %s/%s.%s\n", dir, base_name,
                        warned ? "{gp,dat}" : "{png,svg,gp,dat}");
        }
    }
    free(ape);
    free(pred);
done:
    meas_free(&m);
    device_free(d);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    struct cli_args a;
    struct meas_file m;
    struct device *d = NULL;
    bool help;
    int rc = load_all(&CLI_PREDICT, argc, argv, false, &a, &m, &d, &help);
    if (rc || help) return rc;
    printf("line,kind,class,name,flops,bytes,predicted_s,bound\n");
    for (int i = 0; i < m.n; i++) {
        const struct meas_row *r = &m.rows[i];
        if (r->launch) {
            printf("%d,launch,%s,%s,0,0,%.17g,overhead\n", r->line, r->cls, r->name,
                   d->kernel_overhead_s);
            continue;
        }
        struct op_eval ev;
        eval_op(&r->op, d, &ev);
        const double t = cal_row_predict(r, d);
        if (r->step) {
            printf("%d,step,%s,%s,,,%.17g,step\n", r->line, r->cls, r->name, t);
            continue;
        }
        printf("%d,%s,%s,%s,%.17g,%.17g,%.17g,%s\n", r->line, op_kind_name(r->op.kind), r->cls,
               r->name, ev.flops, ev.bytes, t, bound_name(ev.bound));
    }
    meas_free(&m);
    device_free(d);
    return rc;
}
