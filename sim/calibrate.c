/* calibrate.c - fitting calibration entries and prediction errors; see
 * calibrate.h for the model and the method. */
#define _POSIX_C_SOURCE 200809L
#include "calibrate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/outfile.h"
#include "eval.h"

/* ---- held-out rows ---- */

int cal_holdout_parse(const char *s, struct cal_holdout *h)
{
    memset(h, 0, sizeof *h);
    char *end;
    if (strcmp(s, "none") == 0) return h->mode = HOLD_NONE, 0;
    if (strncmp(s, "every:", 6) == 0 || strncmp(s, "kfold:", 6) == 0) {
        errno = 0;
        const long n = strtol(s + 6, &end, 10);
        if (errno || *end || end == s + 6 || n < 2 || n > 1000) return -1;
        h->mode = s[0] == 'e' ? HOLD_EVERY : HOLD_KFOLD;
        h->n = (int)n;
        return 0;
    }
    if (strncmp(s, "class:", 6) == 0 && s[6] && strlen(s + 6) < sizeof h->cls) {
        h->mode = HOLD_CLASS;
        snprintf(h->cls, sizeof h->cls, "%s", s + 6);
        return 0;
    }
    return -1;
}

void cal_holdout_describe(const struct cal_holdout *h, char *buf, size_t n)
{
    switch (h->mode) {
    case HOLD_EVERY: snprintf(buf, n, "every %d-th row held out", h->n); return;
    case HOLD_CLASS: snprintf(buf, n, "class %s held out", h->cls); return;
    case HOLD_KFOLD: snprintf(buf, n, "fold %d of %d held out", h->fold + 1, h->n); return;
    default: snprintf(buf, n, "no row held out"); return;
    }
}

bool cal_is_held(const struct cal_holdout *h, const struct meas_file *m, int i)
{
    if (!h) return false;
    switch (h->mode) {
    case HOLD_EVERY: return i % h->n == h->n - 1;
    case HOLD_CLASS: return strcmp(m->rows[i].cls, h->cls) == 0;
    case HOLD_KFOLD: return i % h->n == h->fold;
    default: return false;
    }
}

/* ---- prediction and errors ---- */

double cal_row_predict(const struct meas_row *r, const struct device *d)
{
    if (r->launch) return 0;
    if (r->step) return meas_step_predict(r, d);
    struct op_eval ev;
    double t = eval_op(&r->op, d, &ev);
    for (int j = 0; j < r->nmore; j++) t += eval_op(&r->more[j], d, &ev);
    return t;
}

void cal_errors(const struct meas_file *m, const struct device *d, double *ape, double *pred)
{
    for (int i = 0; i < m->n; i++) {
        const struct meas_row *r = &m->rows[i];
        ape[i] = -1;
        if (pred) pred[i] = 0;
        if (r->launch) continue;
        const double p = cal_row_predict(r, d);
        if (pred) pred[i] = p;
        if (r->timed) ape[i] = 100 * fabs(p - r->median_s) / r->median_s;
    }
}

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

void cal_summarize(const struct meas_file *m, const double *ape, const double *pred,
                   const struct cal_holdout *h, int set, const char *cls, struct cal_summary *s)
{
    double *v = calloc((size_t)m->n + 1, sizeof *v), *sg = calloc((size_t)m->n + 1, sizeof *sg);
    OB_ASSERT(v && sg);
    s->n = 0;
    s->max_ape = 0;
    for (int i = 0; i < m->n; i++) {
        if (ape[i] < 0) continue;
        const bool held = cal_is_held(h, m, i);
        if ((set == 1 && held) || (set == 2 && !held)) continue;
        if (cls && strcmp(cls, m->rows[i].cls) != 0) continue;
        sg[s->n] = pred ? 100 * (pred[i] - m->rows[i].median_s) / m->rows[i].median_s : 0;
        v[s->n++] = ape[i];
        if (ape[i] > s->max_ape) s->max_ape = ape[i];
    }
    s->median_ape = median(v, s->n);
    s->median_signed = median(sg, s->n);
    free(v);
    free(sg);
}

/* ---- fitting ---- */

/* Nelder-Mead over n <= 8 parameters, minimising f(x, ctx). x is the start
 * and receives the best point. Step: 0.3 in every coordinate. */
#define NM_MAX 8
static void nelder_mead(double (*f)(const double *, void *), void *ctx, double *x, int n,
                        int iters)
{
    double p[NM_MAX + 1][NM_MAX] = {{0}}, v[NM_MAX + 1] = {0}, c[NM_MAX] = {0};
    double xr[NM_MAX] = {0}, xe[NM_MAX] = {0};
    for (int i = 0; i <= n; i++) {
        for (int j = 0; j < n; j++) p[i][j] = x[j] + (i == j + 1 ? 0.3 : 0);
        v[i] = f(p[i], ctx);
    }
    for (int it = 0; it < iters; it++) {
        /* order: best first */
        for (int i = 1; i <= n; i++)
            for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
                double t = v[j];
                v[j] = v[j - 1], v[j - 1] = t;
                for (int q = 0; q < n; q++) t = p[j][q], p[j][q] = p[j - 1][q], p[j - 1][q] = t;
            }
        if (fabs(v[n] - v[0]) <= 1e-12 * (1 + fabs(v[0]))) break;
        for (int j = 0; j < n; j++) {
            c[j] = 0;
            for (int i = 0; i < n; i++) c[j] += p[i][j] / n;
            xr[j] = 2 * c[j] - p[n][j];
        }
        const double fr = f(xr, ctx);
        if (fr < v[0]) {
            for (int j = 0; j < n; j++) xe[j] = 3 * c[j] - 2 * p[n][j];
            const double fe = f(xe, ctx);
            const double *src = fe < fr ? xe : xr;
            for (int j = 0; j < n; j++) p[n][j] = src[j];
            v[n] = fe < fr ? fe : fr;
        } else if (fr < v[n - 1]) {
            for (int j = 0; j < n; j++) p[n][j] = xr[j];
            v[n] = fr;
        } else {
            for (int j = 0; j < n; j++) xe[j] = 0.5 * (c[j] + p[n][j]);
            const double fc = f(xe, ctx);
            if (fc < v[n]) {
                for (int j = 0; j < n; j++) p[n][j] = xe[j];
                v[n] = fc;
            } else {
                for (int i = 1; i <= n; i++) {
                    for (int j = 0; j < n; j++) p[i][j] = 0.5 * (p[0][j] + p[i][j]);
                    v[i] = f(p[i], ctx);
                }
            }
        }
    }
    int best = 0;
    for (int i = 1; i <= n; i++)
        if (v[i] < v[best]) best = i;
    for (int j = 0; j < n; j++) x[j] = p[best][j];
}

/* One fit problem: entries whose parameters move, the rows that judge them. */
struct problem {
    struct device *d;  /* trial device (entries written into it) */
    const struct meas_file *m;
    const int *rows;
    int nrows;
    int nent;
    struct cal_entry_fit *ent[CAL_MAX_ENTRIES];
    double inv_rt[CAL_MAX_ENTRIES]; /* 1 / datasheet tensor rate of the entry's dtype */
};

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Parameter order per entry, for the terms it fits: 1/e_t, 1/e_m, 1/e_v,
 * flops floor (us), bytes floor (us), serial. Efficiencies stay in
 * [1e-3, 1], floors in [0, 1e5] us (and the schema's half-size ranges). */
static const unsigned TERM_ORDER[6] = {CAL_T_TENSOR, CAL_T_MEMORY, CAL_T_VECTOR,
                                       CAL_T_FLOPS_HALF, CAL_T_BYTES_HALF, CAL_T_SERIAL};

static void apply(struct problem *P, const double *x)
{
    int q = 0;
    for (int e = 0; e < P->nent; e++) {
        struct cal_entry_fit *f = P->ent[e];
        struct device_cal *c = &f->cal;
        for (int t = 0; t < 6; t++) {
            if (!(f->terms & TERM_ORDER[t])) continue;
            const double v = x[q++];
            switch (TERM_ORDER[t]) {
            case CAL_T_TENSOR: c->eff_tensor = 1 / clampd(v, 1, 1e3); break;
            case CAL_T_MEMORY: c->eff_memory = 1 / clampd(v, 1, 1e3); break;
            case CAL_T_VECTOR: c->eff_vector = 1 / clampd(v, 1, 1e3); break;
            case CAL_T_FLOPS_HALF:
                c->flops_half = clampd(clampd(v, 0, 1e5) * 1e-6 / P->inv_rt[e], 0, 1e18);
                break;
            case CAL_T_BYTES_HALF:
                c->bytes_half = clampd(clampd(v, 0, 1e5) * 1e-6 * P->d->mem_bw_bytes_per_s, 0, 1e15);
                break;
            case CAL_T_SERIAL: c->serial = clampd(v, 0, 1); break;
            }
        }
        c->present = 1;
        c->overhead_s = -1;
        P->d->cal[f->kind][f->impl][f->phase] = *c;
    }
    device_derive(P->d);
}

static double loss(const double *x, void *ctx)
{
    struct problem *P = ctx;
    apply(P, x);
    double s = 0;
    for (int j = 0; j < P->nrows; j++) {
        const struct meas_row *r = &P->m->rows[P->rows[j]];
        const double l = log(cal_row_predict(r, P->d) / r->median_s);
        s += l * l;
    }
    return s;
}

static void solve(struct problem *P)
{
    double x[NM_MAX];
    int n = 0;
    for (int e = 0; e < P->nent; e++)
        for (int t = 0; t < 6; t++)
            if (P->ent[e]->terms & TERM_ORDER[t])
                x[n++] = TERM_ORDER[t] == CAL_T_SERIAL ? 0.2
                         : TERM_ORDER[t] & (CAL_T_FLOPS_HALF | CAL_T_BYTES_HALF) ? 1.0 : 1.25;
    OB_ASSERT(n <= NM_MAX);
    /* starts with falloff floors of 0.5, 5 and 50 us (the scale of a small
     * kernel to a large one); each run restarted once (NM can stall on a flat
     * simplex); the best point wins */
    double best[NM_MAX], best_f = INFINITY;
    static const double FLOORS[3] = {0.5, 5, 50};
    for (int st = 0; st < 3; st++) {
        double y[NM_MAX];
        int q = 0;
        for (int e = 0; e < P->nent; e++)
            for (int t = 0; t < 6; t++)
                if (P->ent[e]->terms & TERM_ORDER[t]) {
                    y[q] = x[q];
                    if (TERM_ORDER[t] & (CAL_T_FLOPS_HALF | CAL_T_BYTES_HALF)) y[q] = FLOORS[st];
                    q++;
                }
        nelder_mead(loss, P, y, n, 4000);
        nelder_mead(loss, P, y, n, 4000);
        const double fy = loss(y, P);
        if (fy < best_f) {
            best_f = fy;
            memcpy(best, y, sizeof best);
        }
    }
    apply(P, best);
}

/* Entry key of a single-op row: (kind, impl or the default impl of the
 * kind, phase of attention). */
static void row_entry(const struct device *d, const struct op *op, int *k, int *i, int *p)
{
    *k = (int)op->kind;
    *i = op->impl != IMPL_DEFAULT ? (int)op->impl : d->default_impl[op->kind];
    *p = device_op_phase(op);
}

/* The entry being fitted for (k, i, p), added when new; it keeps the prior's
 * kernel tile (tile_q, ctas_per_sm: facts of the kernel, never fitted). */
static struct cal_entry_fit *find_or_add(struct cal_result *res, const struct device *prior,
                                         int k, int i, int p, int pass)
{
    for (int e = 0; e < res->nent; e++)
        if (res->ent[e].kind == k && res->ent[e].impl == i && res->ent[e].phase == p)
            return &res->ent[e];
    if (res->nent == CAL_MAX_ENTRIES) return NULL;
    struct cal_entry_fit *f = &res->ent[res->nent++];
    memset(f, 0, sizeof *f);
    f->kind = k, f->impl = i, f->phase = p, f->pass = pass;
    f->cal.tile_q = prior->cal[k][i][p].tile_q;
    f->cal.ctas_per_sm = prior->cal[k][i][p].ctas_per_sm;
    return f;
}

/* Chooses the terms rows support; notes the ones refused. Returns the
 * number of parameters. */
static int root_kind(int k)
{
    while (device_cal_parent(k) >= 0) k = device_cal_parent(k);
    return k;
}

/* The pass-2 entry an op of a composition gets, when it has no entry of its
 * own kind: its own kind when a parent kind's entry would serve it (a batched
 * GEMM of tiny m is not a weight GEMM), else the root kind of its chain (an
 * eager softmax -> elementwise.eager). Returns false when the op has an
 * entry of its own kind (fitted in pass 1). */
static bool pass2_entry(const struct device *d, const struct op *op, int *k, int *im)
{
    const struct device_cal *c = device_cal_of(d, op);
    if (c->src_kind == (int)op->kind) return false;
    *k = c->src_kind >= 0 ? (int)op->kind : root_kind((int)op->kind);
    *im = op->impl != IMPL_DEFAULT ? (int)op->impl : d->default_impl[*k];
    return true;
}

/* pass2: only the ops of the compositions that the entry stands for count. */
static int choose_terms(struct cal_entry_fit *f, const struct meas_file *m, const int *rows,
                        int n, const struct device *d, bool pass2)
{
    bool mm = false, mem = false, vec = false;
    int n_compute = 0, n_ops = 0;
    for (int j = 0; j < n; j++) {
        const struct meas_row *r = &m->rows[rows[j]];
        for (int q = -1; q < r->nmore; q++) {
            const struct op *op = q < 0 ? &r->op : &r->more[q];
            int pk, pi;
            if (pass2 && (!pass2_entry(d, op, &pk, &pi) || pk != f->kind || pi != f->impl))
                continue;
            mm |= op->cost.flops_mm > 0;
            mem |= op->cost.bytes_w + op->cost.bytes_act + op->cost.bytes_kv + op->cost.bytes_out > 0;
            /* a vector efficiency only where one kernel mixes tensor and vector work
             * (fused attention's softmax: exp throughput, FlashAttention-3 sec. 3) */
            vec |= op->cost.flops_mm > 0 && op->cost.flops_vec > 0;
            struct op_eval ev;
            eval_op(op, d, &ev);
            n_compute += ev.bound == BOUND_COMPUTE;
            n_ops++;
        }
    }
    const bool dominant_compute = 2 * n_compute > n_ops;
    f->n = n;
    f->terms = 0;
    f->note[0] = 0;
    size_t w = 0;
#define NOTE(...) w += (size_t)snprintf(f->note + w, w < sizeof f->note ? sizeof f->note - w : 0, __VA_ARGS__)
    if (n < 1) return 0;
    /* an efficiency only for a term that bounds some row under the prior
     * (one that bounds none cannot be identified); one row: one efficiency */
    const bool both = mm && mem && n_compute > 0 && n_compute < n_ops;
    if (n < CAL_MIN_ROWS_EFF || !both) {
        f->terms = mm && (!mem || dominant_compute) ? CAL_T_TENSOR : CAL_T_MEMORY;
        if (both) NOTE("one efficiency only (%d row < %d); ", n, CAL_MIN_ROWS_EFF);
    } else {
        f->terms = CAL_T_TENSOR | CAL_T_MEMORY;
    }
    const bool fit_mem = f->terms & CAL_T_MEMORY, fit_mm = f->terms & CAL_T_TENSOR;
    if (f->inherit_half)
        NOTE("falloff of the parent kind's entry (not identifiable in compositions); ");
    else if (n >= CAL_MIN_ROWS_FALLOFF)
        f->terms |= (fit_mm ? CAL_T_FLOPS_HALF : 0) | (fit_mem ? CAL_T_BYTES_HALF : 0);
    else
        NOTE("falloff refused (%d rows < %d); ", n, CAL_MIN_ROWS_FALLOFF);
    if (fit_mm && vec) {
        if (n >= CAL_MIN_ROWS_VECTOR) f->terms |= CAL_T_VECTOR;
        else NOTE("vector refused (%d rows < %d); ", n, CAL_MIN_ROWS_VECTOR);
    }
    if (fit_mm && fit_mem) {
        if (n >= CAL_MIN_ROWS_SERIAL) f->terms |= CAL_T_SERIAL;
        else NOTE("serial refused (%d rows < %d)", n, CAL_MIN_ROWS_SERIAL);
    }
#undef NOTE
    int np = 0;
    for (int t = 0; t < 6; t++) np += (f->terms & TERM_ORDER[t]) != 0;
    return np;
}

int cal_fit(const struct meas_file *m, const struct device *prior, const struct cal_holdout *h,
            struct device *out, struct cal_result *res, struct err *e)
{
    memset(res, 0, sizeof *res);
    if (h) res->hold = *h;
    *out = *prior;
    /* start from the datasheet: no calibration entries */
    for (int k = 0; k < OP_COUNT; k++)
        for (int i = 0; i < IMPL_COUNT; i++)
            for (int p = 0; p < PH_COUNT; p++)
                out->cal[k][i][p] = (struct device_cal){.overhead_s = -1};
    double *eager = calloc((size_t)m->n + 1, sizeof *eager);
    double *graph = calloc((size_t)m->n + 1, sizeof *graph);
    int *rows = calloc((size_t)m->n + 1, sizeof *rows);
    OB_ASSERT(eager && graph && rows);
    for (int i = 0; i < m->n; i++) {
        const struct meas_row *r = &m->rows[i];
        if (cal_is_held(h, m, i)) {
            res->n_held++;
            continue;
        }
        if (!r->timed) continue;
        if (r->launch && r->launch_eager) eager[res->n_launch++] = r->median_s;
        else if (r->launch) graph[res->n_launch_graph++] = r->median_s;
        else if (!r->step) res->n_fit++; /* step rows are validated, never fitted */
    }
    res->overhead_s = res->n_launch ? median(eager, res->n_launch) : prior->kernel_overhead_s;
    res->graph_overhead_s = res->n_launch_graph ? median(graph, res->n_launch_graph)
                                                : prior->graph_overhead_s;
    free(eager);
    free(graph);
    int rc = 0;
    /* schema range of kernel_overhead_s and graph_overhead_s: [0, 1] s */
    if (res->overhead_s > 1 || res->graph_overhead_s > 1) {
        rc = err_set(e, m->path, 0, 0, "launch rows give a per-kernel overhead of %g s, above "
                     "the device schema's 1 s: these are not launch timings",
                     res->overhead_s > 1 ? res->overhead_s : res->graph_overhead_s);
        goto done;
    }
    out->kernel_overhead_s = res->overhead_s;
    out->graph_overhead_s = res->graph_overhead_s;
    out->has_graph_overhead = res->graph_overhead_s >= 0;
    /* kernel rows are timed on the GPU (CUDA events) with the launch queued
     * behind the L2 flush: the host's launch cost is hidden, as under graph
     * replay. The fitted device stays in graph mode (a file does not store it). */
    out->launch = LAUNCH_GRAPH;
    if (res->n_fit == 0 && res->n_launch + res->n_launch_graph == 0) {
        rc = err_set(e, m->path, 0, 0, "no timed rows to fit (%d held out)", res->n_held);
        goto done;
    }
    device_derive(out);
    /* pass 1: entries named by single-op rows */
    for (int i = 0; i < m->n; i++) {
        const struct meas_row *r = &m->rows[i];
        if (cal_is_held(h, m, i) || !r->timed || r->launch || r->nmore || r->step) continue;
        int k, im, p;
        row_entry(out, &r->op, &k, &im, &p);
        if (!find_or_add(res, prior, k, im, p, 1)) {
            rc = err_set(e, m->path, r->line, 1, "more than %d calibration entries", CAL_MAX_ENTRIES);
            goto done;
        }
    }
    for (int q = 0; q < res->nent; q++) {
        struct cal_entry_fit *f = &res->ent[q];
        int n = 0;
        enum dtype dt = DT_BF16;
        for (int i = 0; i < m->n; i++) {
            const struct meas_row *r = &m->rows[i];
            if (cal_is_held(h, m, i) || !r->timed || r->launch || r->nmore || r->step) continue;
            int k, im, p;
            row_entry(out, &r->op, &k, &im, &p);
            if (k == f->kind && im == f->impl && p == f->phase) rows[n++] = i, dt = r->op.dt_act;
        }
        if (choose_terms(f, m, rows, n, out, false) == 0) continue;
        struct problem P = {.d = out, .m = m, .rows = rows, .nrows = n, .nent = 1};
        P.ent[0] = f;
        P.inv_rt[0] = out->inv_tensor_rate[dt] * out->eff_tensor;
        solve(&P);
        f->fitted = true;
    }
    /* pass 2: compositions; the entries their ops would take from the
     * device-wide values */
    struct problem P = {.d = out, .m = m, .rows = rows};
    const int first2 = res->nent;
    for (int i = 0; i < m->n; i++) {
        const struct meas_row *r = &m->rows[i];
        if (cal_is_held(h, m, i) || !r->timed || r->launch || !r->nmore || r->step) continue;
        rows[P.nrows++] = i;
        for (int q = -1; q < r->nmore; q++) {
            const struct op *op = q < 0 ? &r->op : &r->more[q];
            int root, im;
            if (!pass2_entry(out, op, &root, &im)) continue;
            struct cal_entry_fit *f = find_or_add(res, prior, root, im, PH_ANY, 2);
            if (!f) {
                rc = err_set(e, m->path, r->line, 1, "more than %d calibration entries",
                             CAL_MAX_ENTRIES);
                goto done;
            }
            if (f - res->ent >= first2 && P.nent < CAL_MAX_ENTRIES) {
                bool have = false;
                for (int j = 0; j < P.nent; j++) have |= P.ent[j] == f;
                if (!have) {
                    P.inv_rt[P.nent] = out->inv_tensor_rate[op->dt_act] * out->eff_tensor;
                    P.ent[P.nent++] = f;
                    /* a kind with a parent entry keeps the parent's falloff: the
                     * compositions time several kernels together, so the fixed
                     * time of each cannot be told apart (fitting both the GEMM's
                     * and the pointwise kernels' falloff is not identifiable) */
                    const struct device_cal *pc = device_cal_of(out, op);
                    if (pc->src_kind >= 0) {
                        f->inherit_half = true;
                        f->cal.bytes_half = pc->r_bytes_half;
                        f->cal.flops_half = pc->r_flops_half;
                    }
                }
            }
        }
    }
    if (P.nent) {
        int np = 0;
        for (int j = 0; j < P.nent; j++) np += choose_terms(P.ent[j], m, rows, P.nrows, out, true);
        /* jointly: every parameter needs CAL_MIN_ROWS_EFF rows of its own */
        if (np > 0 && np <= NM_MAX && P.nrows >= CAL_MIN_ROWS_EFF * np) {
            solve(&P);
            for (int j = 0; j < P.nent; j++) P.ent[j]->fitted = P.ent[j]->terms != 0;
        } else {
            for (int j = 0; j < P.nent; j++) {
                P.ent[j]->fitted = false;
                snprintf(P.ent[j]->note, sizeof P.ent[j]->note, "refused: %d composition rows "
                         "for %d parameters (needs %d per parameter, at most %d)", P.nrows, np,
                         CAL_MIN_ROWS_EFF, NM_MAX);
            }
        }
    }
    /* the device: fitted entries only */
    for (int k = 0; k < OP_COUNT; k++)
        for (int i = 0; i < IMPL_COUNT; i++)
            for (int p = 0; p < PH_COUNT; p++)
                out->cal[k][i][p] = (struct device_cal){.overhead_s = -1};
    for (int q = 0; q < res->nent; q++) {
        const struct cal_entry_fit *f = &res->ent[q];
        if (f->fitted) out->cal[f->kind][f->impl][f->phase] = f->cal;
    }
    device_derive(out);
done:
    free(rows);
    return rc;
}

int cal_cv(const struct meas_file *m, const struct device *prior, int k, double *pred,
           struct err *e)
{
    struct device *fitted = malloc(sizeof *fitted);
    struct cal_result *res = malloc(sizeof *res);
    OB_ASSERT(fitted && res);
    for (int i = 0; i < m->n; i++) pred[i] = 0;
    int rc = 0;
    for (int f = 0; f < k && rc == 0; f++) {
        struct cal_holdout h = {.mode = HOLD_KFOLD, .n = k, .fold = f};
        if ((rc = cal_fit(m, prior, &h, fitted, res, e))) break;
        for (int i = 0; i < m->n; i++)
            if (cal_is_held(&h, m, i) && m->rows[i].timed && !m->rows[i].launch)
                pred[i] = cal_row_predict(&m->rows[i], fitted);
    }
    free(fitted);
    free(res);
    return rc;
}

/* ---- writing the device file ---- */

/* Copies the prior's file text, leaving out a top-level `calibration:` map
 * (the key and its indented or blank lines), earlier "# fitted" lines, and
 * the top-level keys in drop[] (replaced by the writer). */
static int copy_without_calibration(FILE *in, FILE *out, const char *const *drop)
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
        bool dropped = false;
        for (int i = 0; drop[i]; i++)
            if (strncmp(line, drop[i], strlen(drop[i])) == 0) dropped = true;
        if (dropped) continue;
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
    char when[64], hold[96];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    cal_holdout_describe(&r->hold, hold, sizeof hold);
    fprintf(out, "# fitted by opbound calibrate on %s from %s (prior: %s)\n", when, meas_path,
            d->file);
    fprintf(out, "# fitted by opbound calibrate: %d rows fitted, %d held out (%s); "
            "overhead from %d eager and %d graph launch rows\n", r->n_fit, r->n_held, hold,
            r->n_launch, r->n_launch_graph);
    /* the overhead keys are replaced only when launch rows fitted them (the
     * prior's lines, with their sources, stay otherwise) */
    const char *drop[6] = {"calibration_note:", "calibration_source:", "calibration_holdout:"};
    int nd = 3;
    if (r->n_launch) drop[nd++] = "kernel_overhead_s:";
    if (r->n_launch_graph) drop[nd++] = "graph_overhead_s:";
    drop[nd] = NULL;
    int rc = copy_without_calibration(in, out, drop);
    fclose(in);
    if (r->n_launch)
        fprintf(out, "kernel_overhead_s: %.6g   # median of %d eager launch rows\n", r->overhead_s,
                r->n_launch);
    if (r->n_launch_graph)
        fprintf(out, "graph_overhead_s: %.6g   # median of %d graph launch rows\n",
                r->graph_overhead_s, r->n_launch_graph);
    const char *base = strrchr(meas_path, '/');
    char src[128]; /* the file name, quoted safely: no '"', '\\' or control characters */
    snprintf(src, sizeof src, "%s", base ? base + 1 : meas_path);
    for (char *c = src; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '_';
    fprintf(out, "calibration_note: \"calibrated: fitted to %.60s (%s)\"\n", src, hold);
    fprintf(out, "calibration_source: \"%s\"\n", src);
    char hs[64] = "none";
    if (r->hold.mode == HOLD_EVERY) snprintf(hs, sizeof hs, "every:%d", r->hold.n);
    if (r->hold.mode == HOLD_CLASS) snprintf(hs, sizeof hs, "class:%.40s", r->hold.cls);
    fprintf(out, "calibration_holdout: \"%s\"\n", hs);
    fprintf(out, "calibration:   # fitted by opbound calibrate (%s); docs/measurements.md\n", when);
    for (int q = 0; q < r->nent; q++) {
        const struct cal_entry_fit *f = &r->ent[q];
        if (!f->fitted) continue;
        char name[96];
        device_cal_name(f->kind, f->impl, f->phase, name, sizeof name);
        fprintf(out, "  %s:   # %d rows, pass %d%s%s\n", name, f->n, f->pass, f->note[0] ? "; " : "",
                f->note);
        const struct device_cal *c = &f->cal;
        if (f->terms & CAL_T_TENSOR) fprintf(out, "    tensor: %.6g\n", c->eff_tensor);
        if (f->terms & CAL_T_MEMORY) fprintf(out, "    memory: %.6g\n", c->eff_memory);
        if (f->terms & CAL_T_VECTOR) fprintf(out, "    vector: %.6g\n", c->eff_vector);
        if ((f->terms & CAL_T_FLOPS_HALF) || (f->inherit_half && c->flops_half > 0))
            fprintf(out, "    flops_half: %.6g\n", c->flops_half);
        if ((f->terms & CAL_T_BYTES_HALF) || (f->inherit_half && c->bytes_half > 0))
            fprintf(out, "    bytes_half: %.6g\n", c->bytes_half);
        if (f->terms & CAL_T_SERIAL) fprintf(out, "    serial: %.6g\n", c->serial);
        if (c->tile_q > 0) /* given in the prior, not fitted */
            fprintf(out, "    tile_q: %.6g   # kernel fact, kept from the prior\n    ctas_per_sm: "
                    "%.6g\n", c->tile_q, c->ctas_per_sm);
    }
    if (rc || fflush(out) != 0) {
        outfile_discard(&of);
        return err_set(e, out_path, 0, 0, "cannot write");
    }
    /* validate before anything is renamed into place */
    struct device *check = NULL;
    if (device_load(of.tmp, &check, e)) {
        outfile_discard(&of);
        return -1;
    }
    device_free(check);
    return outfile_commit(&of, e);
}
