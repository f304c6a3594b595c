/* calibrate.c - fitting per-kind efficiencies and prediction errors; see
 * calibrate.h for the model and the method. */
#define _POSIX_C_SOURCE 200809L
#include "calibrate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/outfile.h"
#include "eval.h"

bool cal_held_out(int i) { return i % 5 == 4; }

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorted in place); 0 when n == 0. */
static double median(double *v, int n)
{
    if (n == 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One regime's points: y = p·x1 + q·x2 (times in seconds), weight w. */
struct pts {
    int n;
    double *x1, *x2, *y, *w;
};

/* Weighted least squares for y = p·x1 + q·x2 with p >= 1 (efficiency <= 1)
 * and q >= 0 (half size >= 0). Returns -1 when there are fewer than two
 * points or the system is singular. */
static int fit_line(const struct pts *P, double *p, double *q)
{
    if (P->n < 2) return -1;
    double s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
    for (int i = 0; i < P->n; i++) {
        const double w = P->w[i];
        s11 += w * P->x1[i] * P->x1[i];
        s12 += w * P->x1[i] * P->x2[i];
        s22 += w * P->x2[i] * P->x2[i];
        s1y += w * P->x1[i] * P->y[i];
        s2y += w * P->x2[i] * P->y[i];
    }
    const double det = s11 * s22 - s12 * s12;
    if (!(s11 > 0) || !(s22 > 0)) return -1;
    if (fabs(det) > 1e-12 * s11 * s22) {
        *p = (s1y * s22 - s2y * s12) / det;
        *q = (s2y * s11 - s1y * s12) / det;
    } else {
        *p = s1y / s11, *q = 0; /* all points at one size: no falloff identifiable */
    }
    if (*q < 0) *q = 0, *p = s1y / s11;
    if (*p < 1) {
        *p = 1;
        *q = (s2y - s12) / s22;
        if (*q < 0) *q = 0;
    }
    return 0;
}

/* Fits kind k: fills the calibration of *d (device-wide rates, overhead o). */
static void fit_kind(const struct meas_file *m, int k, double o, struct device *d,
                     struct cal_kind_fit *f, int *iters)
{
    int n = 0;
    for (int i = 0; i < m->n; i++)
        if (!cal_held_out(i) && !m->rows[i].launch && m->rows[i].timed &&
            (int)m->rows[i].op.kind == k)
            n++;
    if (n == 0) return;
    double *buf = calloc((size_t)n * 8, sizeof *buf);
    int *idx = calloc((size_t)n, sizeof *idx), *regime = calloc((size_t)n, sizeof *regime);
    OB_ASSERT(buf && idx && regime);
    struct pts mem = {0, buf, buf + n, buf + 2 * n, buf + 3 * n};
    struct pts cmp = {0, buf + 4 * n, buf + 5 * n, buf + 6 * n, buf + 7 * n};
    n = 0;
    for (int i = 0; i < m->n; i++)
        if (!cal_held_out(i) && !m->rows[i].launch && m->rows[i].timed &&
            (int)m->rows[i].op.kind == k)
            idx[n++] = i;
    const double bw = d->mem_bw_bytes_per_s;
    /* Start from the prior: device-wide efficiencies, no falloff. */
    double pm = 1 / d->eff_memory, qm = 0, pc = 1 / d->eff_tensor, qc = 0;
    for (int i = 0; i < n; i++) regime[i] = -1;
    for (int it = 0; it < 50; it++) {
        int changed = 0;
        mem.n = cmp.n = 0;
        for (int j = 0; j < n; j++) {
            const struct meas_row *r = &m->rows[idx[j]];
            const struct op_cost *c = &r->op.cost;
            /* 1 / datasheet tensor rate of the dtype (efficiency taken out) */
            const double inv_rt = d->inv_tensor_rate[r->op.dt_act] * d->eff_tensor;
            const double tvec = c->flops_vec * d->inv_vector_rate[r->op.dt_act];
            const double bytes = c->bytes_w + c->bytes_act + c->bytes_kv + c->bytes_out;
            const double tm = (pm * bytes + qm) / bw;
            const double tc = c->flops_mm > 0 ? pc * c->flops_mm * inv_rt + qc * inv_rt + tvec
                                              : tvec;
            const int rg = tc > tm ? 1 : 0;
            if (rg != regime[j]) changed++, regime[j] = rg;
            const double t = r->median_s, w = 1 / (t * t);
            struct pts *P = rg ? &cmp : &mem;
            P->x1[P->n] = rg ? c->flops_mm * inv_rt : bytes / bw;
            P->x2[P->n] = rg ? inv_rt : 1 / bw;
            P->y[P->n] = t - o - (rg ? tvec : 0);
            P->w[P->n] = w;
            P->n++;
        }
        *iters = it + 1 > *iters ? it + 1 : *iters;
        if (!changed && it > 0) break;
        f->memory_fitted = fit_line(&mem, &pm, &qm) == 0;
        if (!f->memory_fitted) pm = 1 / d->eff_memory, qm = 0;
        f->compute_fitted = fit_line(&cmp, &pc, &qc) == 0;
        if (!f->compute_fitted) pc = 1 / d->eff_tensor, qc = 0;
        f->n_memory = mem.n;
        f->n_compute = cmp.n;
    }
    f->eff_memory = 1 / pm;
    f->bytes_half = qm / pm;
    f->eff_tensor = 1 / pc;
    f->flops_half = qc / pc;
    struct device_cal *dc = &d->cal[k];
    dc->present = 1;
    dc->eff_memory = f->eff_memory;
    dc->eff_tensor = f->eff_tensor;
    dc->bytes_half = f->bytes_half;
    dc->flops_half = f->flops_half;
    dc->overhead_s = o;
    free(buf);
    free(idx);
    free(regime);
}

int cal_fit(const struct meas_file *m, const struct device *prior, struct device *out,
            struct cal_result *res, struct err *e)
{
    memset(res, 0, sizeof *res);
    *out = *prior;
    double *launch = calloc((size_t)m->n, sizeof *launch);
    OB_ASSERT(launch);
    for (int i = 0; i < m->n; i++) {
        const struct meas_row *r = &m->rows[i];
        if (cal_held_out(i)) {
            res->n_held++;
            continue;
        }
        if (!r->timed) continue;
        if (r->launch) launch[res->n_launch++] = r->median_s;
        else res->n_fit++;
    }
    res->overhead_s = res->n_launch ? median(launch, res->n_launch) : prior->kernel_overhead_s;
    free(launch);
    if (res->n_fit == 0)
        return err_set(e, m->path, 0, 0, "no timed rows to fit (every fifth row is held out)");
    for (int k = 0; k < OP_COUNT; k++) {
        out->cal[k] = (struct device_cal){.overhead_s = -1};
        fit_kind(m, k, res->overhead_s, out, &res->kind[k], &res->iterations);
    }
    device_derive(out);
    return 0;
}

void cal_errors(const struct meas_file *m, const struct device *d, double *ape, double *pred)
{
    for (int i = 0; i < m->n; i++) {
        const struct meas_row *r = &m->rows[i];
        ape[i] = -1;
        if (pred) pred[i] = 0;
        if (r->launch) continue;
        struct op_eval ev;
        const double p = eval_op(&r->op, d, &ev);
        if (pred) pred[i] = p;
        if (r->timed) ape[i] = 100 * fabs(p - r->median_s) / r->median_s;
    }
}

void cal_summarize(const struct meas_file *m, const double *ape, int set, const char *cls,
                   struct cal_summary *s)
{
    double *v = calloc((size_t)m->n + 1, sizeof *v);
    OB_ASSERT(v);
    s->n = 0;
    s->max_ape = 0;
    for (int i = 0; i < m->n; i++) {
        if (ape[i] < 0) continue;
        if ((set == 1 && cal_held_out(i)) || (set == 2 && !cal_held_out(i))) continue;
        if (cls && strcmp(cls, m->rows[i].cls) != 0) continue;
        v[s->n++] = ape[i];
        if (ape[i] > s->max_ape) s->max_ape = ape[i];
    }
    s->median_ape = median(v, s->n);
    free(v);
}

/* Copies the prior's file text, leaving out a top-level `calibration:` map
 * (the key and its indented or blank lines) and earlier "# fitted" lines. */
static int copy_without_calibration(FILE *in, FILE *out)
{
    char line[4096];
    bool skipping = false;
    while (fgets(line, sizeof line, in)) {
        if (skipping) {
            if (line[0] == ' ' || line[0] == '\t' || line[0] == '\n' || line[0] == '#') continue;
            skipping = false;
        }
        if (strncmp(line, "calibration:", 12) == 0) {
            skipping = true;
            continue;
        }
        if (strncmp(line, "# fitted by opbound calibrate", 29) == 0) continue;
        if (fputs(line, out) == EOF) return -1;
    }
    return ferror(in) ? -1 : 0;
}

int cal_write_device(const struct device *d, const struct cal_result *r, const char *meas_path,
                     const char *out_path, struct err *e)
{
    FILE *in = fopen(d->file, "r");
    if (!in) return err_set(e, d->file, 0, 0, "cannot read: %s", strerror(errno));
    struct outfile of; /* a temporary name beside out_path (sim/core/outfile.h) */
    if (outfile_open(&of, out_path, e)) {
        fclose(in);
        return -1;
    }
    FILE *out = of.f;
    char when[64];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    fprintf(out, "# fitted by opbound calibrate on %s from %s (prior: %s)\n", when, meas_path,
            d->file);
    fprintf(out, "# fitted by opbound calibrate: %d rows fitted, %d held out (every fifth row); "
            "overhead from %d launch rows%s\n", r->n_fit, r->n_held, r->n_launch,
            r->n_launch ? "" : " (none: the prior's kernel_overhead_s)");
    int rc = copy_without_calibration(in, out);
    fclose(in);
    fprintf(out, "calibration:   # fitted per op kind by opbound calibrate (%s)\n", when);
    for (int k = 0; k < OP_COUNT; k++) {
        const struct cal_kind_fit *f = &r->kind[k];
        if (!d->cal[k].present) continue;
        fprintf(out, "  %s:   # %d memory-bound rows%s, %d compute-bound rows%s\n",
                op_kind_name((enum op_kind)k), f->n_memory, f->memory_fitted ? "" : " (prior kept)",
                f->n_compute, f->compute_fitted ? "" : " (prior kept)");
        fprintf(out, "    memory: %.6g\n    bytes_half: %.6g\n    tensor: %.6g\n"
                "    flops_half: %.6g\n    overhead_s: %.6g\n",
                f->eff_memory, f->bytes_half, f->eff_tensor, f->flops_half, r->overhead_s);
    }
    if (rc) {
        outfile_discard(&of);
        return err_set(e, out_path, 0, 0, "cannot write");
    }
    return outfile_commit(&of, e);
}
