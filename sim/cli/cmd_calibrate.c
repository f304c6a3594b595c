/* cmd_calibrate.c - `opbound calibrate`, `opbound validate` and `opbound
 * predict`: the cost model against kernel timings (docs/measurements.md).
 *
 *   calibrate MEAS --hw HW -o OUT.yaml   fit per-kind efficiencies, falloff, overhead
 *   validate MEAS --hw HW [--format csv] predicted vs measured, error summary
 *   predict OPS --hw HW                  predicted time of each row (no times needed) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../calibrate.h"
#include "cli.h"
#include "../eval.h"

static const struct cli_opt CAL_OPTS[] = {
    CLI_OPT_HW,
    {"-o", "OUT.yaml", "the calibrated device file to write"},
    CLI_OPT_END,
};
static const struct cli_opt VAL_OPTS[] = {
    CLI_OPT_HW,
    {"--format", "F", "table (default) or csv"},
    CLI_OPT_END,
};
static const struct cli_opt PRED_OPTS[] = {CLI_OPT_HW, CLI_OPT_END};

const struct cli_cmd CLI_CALIBRATE = {
    .name = "calibrate",
    .brief = "calibrate MEAS.csv --hw HW -o OUT.yaml",
    .summary = "fit efficiencies to kernel timings",
    .usage = "opbound calibrate MEASUREMENTS.csv --hw HW -o OUT.yaml",
    .about = "Fits the device's per-op-kind memory and tensor efficiencies, small-problem falloff\n"
             "and per-kernel overhead to the timings in MEASUREMENTS.csv (docs/measurements.md),\n"
             "holding out every fifth row, and writes an ordinary device file (loadable with --hw)\n"
             "that says when and from what it was fitted. Prints the fit and the median and max\n"
             "absolute percentage error on the fitted and the held-out rows. Shapes come from\n"
             "the file, so there are no scenario options.\n",
    .opts = CAL_OPTS,
};
const struct cli_cmd CLI_VALIDATE = {
    .name = "validate",
    .brief = "validate MEAS.csv --hw HW",
    .summary = "predicted vs measured time, errors",
    .usage = "opbound validate MEASUREMENTS.csv --hw HW [--format table|csv]",
    .about = "Predicted vs measured time of every row, its error, and the median and max absolute\n"
             "percentage error over all, fitted and held-out rows (every fifth row) and per class.\n",
    .opts = VAL_OPTS,
};
const struct cli_cmd CLI_PREDICT = {
    .name = "predict",
    .brief = "predict OPS.csv --hw HW",
    .summary = "predicted time of ops in that format",
    .usage = "opbound predict OPS.csv --hw HW",
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
    if (meas_load(a->pos[0], need_times, m, &e)) {
        device_free(*d);
        return cli_fail_err(&e);
    }
    return 0;
}

static void print_summary(const struct meas_file *m, const double *ape, const char *title)
{
    static const char *const SETS[3] = {"all", "fitted", "held-out"};
    printf("%s\n  %-28s %6s %10s %10s\n", title, "rows", "n", "median|%|", "max|%|");
    for (int set = 0; set < 3; set++) {
        struct cal_summary s;
        cal_summarize(m, ape, set, NULL, &s);
        printf("  %-28s %6d %10.2f %10.2f\n", SETS[set], s.n, s.median_ape, s.max_ape);
    }
    for (int i = 0; i < m->n; i++) {
        bool first = ape[i] >= 0;
        for (int j = 0; j < i && first; j++)
            if (ape[j] >= 0 && strcmp(m->rows[j].cls, m->rows[i].cls) == 0) first = false;
        if (!first) continue;
        for (int set = 1; set < 3; set++) {
            struct cal_summary s;
            cal_summarize(m, ape, set, m->rows[i].cls, &s);
            char label[80];
            snprintf(label, sizeof label, "%s (%s)", m->rows[i].cls, SETS[set]);
            printf("  %-28s %6d %10.2f %10.2f\n", label, s.n, s.median_ape, s.max_ape);
        }
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
    if (!a.out) {
        rc = cli_fail(C, "missing -o OUT.yaml (the calibrated device file)");
        goto done;
    }
    struct device fitted;
    struct cal_result res;
    struct err e;
    if (cal_fit(&m, d, &fitted, &res, &e) || cal_write_device(&fitted, &res, m.path, a.out, &e)) {
        rc = cli_fail_err(&e);
        goto done;
    }
    /* The written file must load as an ordinary device file. */
    struct device *check = NULL;
    if (device_load(a.out, &check, &e)) {
        rc = cli_fail_err(&e);
        goto done;
    }
    printf("calibrated %s from %s (%d rows fitted, %d held out) -> %s\n", d->name, m.path,
           res.n_fit, res.n_held, a.out);
    printf("  overhead %.3g s (%s)\n", res.overhead_s,
           res.n_launch ? "median of launch rows" : "no launch rows: prior kept");
    for (int k = 0; k < OP_COUNT; k++) {
        const struct cal_kind_fit *f = &res.kind[k];
        if (!fitted.cal[k].present) continue;
        printf("  %-13s memory %.4f (half %.3g B, %d rows%s)  tensor %.4f (half %.3g FLOP, "
               "%d rows%s)\n",
               op_kind_name((enum op_kind)k), f->eff_memory, f->bytes_half, f->n_memory,
               f->memory_fitted ? "" : ", prior", f->eff_tensor, f->flops_half, f->n_compute,
               f->compute_fitted ? "" : ", prior");
    }
    double *ape = calloc((size_t)m.n, sizeof *ape);
    OB_ASSERT(ape);
    cal_errors(&m, d, ape, NULL);
    print_summary(&m, ape, "error of the prior device (absolute percentage):");
    cal_errors(&m, check, ape, NULL);
    print_summary(&m, ape, "error of the calibrated device:");
    free(ape);
    device_free(check);
done:
    meas_free(&m);
    device_free(d);
    return rc;
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
    const bool csv = a.format && strcmp(a.format, "csv") == 0;
    if (a.format && !csv && strcmp(a.format, "table") != 0) {
        rc = cli_fail(C, "--format must be table or csv, got '%s'", a.format);
        goto done;
    }
    double *ape = calloc((size_t)m.n, sizeof *ape), *pred = calloc((size_t)m.n, sizeof *pred);
    OB_ASSERT(ape && pred);
    cal_errors(&m, d, ape, pred);
    if (csv) printf("line,kind,class,name,set,predicted_s,measured_s,error_pct\n");
    else printf("%s on %s\n%6s %-13s %-16s %-24s %-8s %11s %11s %8s\n", m.path, d->name, "line",
                "kind", "class", "name", "set", "predicted", "measured", "error%");
    for (int i = 0; i < m.n; i++) {
        const struct meas_row *r = &m.rows[i];
        if (ape[i] < 0) continue;
        const char *kind = op_kind_name(r->op.kind), *set = cal_held_out(i) ? "held-out" : "fitted";
        const double err = 100 * (pred[i] - r->median_s) / r->median_s;
        if (csv)
            printf("%d,%s,%s,%s,%s,%.6g,%.6g,%.3f\n", r->line, kind, r->cls, r->name, set,
                   pred[i], r->median_s, err);
        else
            printf("%6d %-13s %-16s %-24s %-8s %11.4g %11.4g %+8.2f\n", r->line, kind, r->cls,
                   r->name, set, pred[i], r->median_s, err);
    }
    if (!csv) print_summary(&m, ape, "absolute percentage error:");
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
        const double t = eval_op(&r->op, d, &ev);
        printf("%d,%s,%s,%s,%.17g,%.17g,%.17g,%s\n", r->line, op_kind_name(r->op.kind), r->cls,
               r->name, ev.flops, ev.bytes, t, bound_name(ev.bound));
    }
    meas_free(&m);
    device_free(d);
    return rc;
}
