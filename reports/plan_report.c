/* plan_report.c - tables and chart of `opbound plan`; see plan_report.h. */
#include "plan_report.h"

#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "plot.h"

static void row_line(FILE *out, const struct plan_row *w, int rank)
{
    char t1[32], t2[32], s1[32], s2[32], s3[32], mem[32];
    char rk[16];
    if (rank > 0) snprintf(rk, sizeof rk, "%d", rank);
    else snprintf(rk, sizeof rk, "-");
    fprintf(out, "%4s  %3g  %3g  %4g  %8g  %-6s  %-6s  %6g  %9s  %9s  %10s  %10s  %8s  %10s\n", rk,
            w->tp, w->ep, w->gpus, w->replicas, dtype_name(w->dt_w), dtype_name(w->dt_kv),
            w->batch, fmt_time(t1, sizeof t1, w->ttft_s), fmt_time(t2, sizeof t2, w->tpot_s),
            fmt_si(s1, sizeof s1, w->tok_s_user, ""), fmt_si(s2, sizeof s2, w->tok_s_gpu, ""),
            w->usd_per_mtok > 0 ? (snprintf(s3, sizeof s3, "%.3g", w->usd_per_mtok), s3) : "n/a",
            fmt_bin(mem, sizeof mem, w->memory_bytes));
}

static void header(FILE *out)
{
    fprintf(out, "%4s  %3s  %3s  %4s  %8s  %-6s  %-6s  %6s  %9s  %9s  %10s  %10s  %8s  %10s\n",
            "rank", "tp", "ep", "gpus", "replicas", "weight", "kv", "batch", "TTFT", "TPOT",
            "tok/s/user", "tok/s/GPU", "$/Mtok", "memory");
}

void report_plan_table(FILE *out, const struct model *m, const struct device *d,
                       const struct plan_req *q, const struct plan_result *r, int top)
{
    char b1[32], b2[32];
    fprintf(out, "model     %s (%s)\n", m->name, m->file);
    fprintf(out, "device    %s (%s), up to %g per deployment\n", d->name, d->file, q->gpus);
    fprintf(out, "requests  %g input + %g output tokens; targets: TTFT %s, TPOT %s; "
                 "objective %s\n",
            q->isl, q->osl, q->ttft_max_s > 0 ? fmt_time(b1, sizeof b1, q->ttft_max_s) : "none",
            q->tpot_max_s > 0 ? fmt_time(b2, sizeof b2, q->tpot_max_s) : "none",
            plan_objective_name(q->objective));
    int meets = 0;
    for (int i = 0; i < r->n; i++) meets += r->rows[i].meets;
    fprintf(out, "searched  %d candidates that fit (%.0f analyses), %d meet the targets\n\n", r->n,
            r->evaluated, meets);
    if (r->best < 0) {
        fprintf(out, "No configuration meets the targets. Loosen --ttft/--tpot, allow more "
                     "--gpus, or try lower-precision weights.\n");
        return;
    }
    /* top rows by the objective: repeated selection (top is small) */
    fprintf(out, "Best %d by %s:\n", top, plan_objective_name(q->objective));
    header(out);
    char *used = calloc((size_t)r->n, 1);
    for (int k = 0; used && k < top; k++) {
        int best = -1;
        for (int i = 0; i < r->n; i++) {
            const struct plan_row *w = &r->rows[i];
            if (!w->meets || used[i]) continue;
            const struct plan_row *b = best >= 0 ? &r->rows[best] : NULL;
            bool win = !b;
            if (b && q->objective == PLAN_USD_PER_MTOK && w->usd_per_mtok > 0)
                win = w->usd_per_mtok < b->usd_per_mtok;
            else if (b)
                win = w->tok_s_gpu > b->tok_s_gpu;
            if (win) best = i;
        }
        if (best < 0) break;
        used[best] = 1;
        row_line(out, &r->rows[best], k + 1);
    }
    free(used);
    fprintf(out, "\nPareto front (tokens/s per GPU against tokens/s per user; no other "
                 "configuration meeting the targets is better on both):\n");
    header(out);
    for (int i = 0; i < r->n_pareto; i++) row_line(out, &r->rows[r->pareto[i]], 0);
}

int report_plan_chart(const struct model *m, const struct device *d, const struct plan_req *q,
                      const struct plan_result *r, const char *dir, const char *base,
                      struct err *e)
{
    char path[PLOT_PATH_MAX], name[PLOT_PATH_MAX];
    struct plot_out o;
    snprintf(name, sizeof name, "%s.dat", base);
    if (plot_path(path, sizeof path, dir, name)) return err_set(e, dir, 0, 0, "path too long");
    if (plot_out_open(&o, path, e)) return -1;
    fprintf(o.f, "# opbound plan: %s on %s, %g + %g tokens\n", m->name, d->name, q->isl, q->osl);
    fprintf(o.f, "# tok_s_user tok_s_gpu meets front best tp ep batch\n");
    char *front = calloc((size_t)(r->n > 0 ? r->n : 1), 1);
    if (!front) {
        plot_out_discard(&o);
        return err_set(e, path, 0, 0, "out of memory");
    }
    for (int i = 0; i < r->n_pareto; i++) front[r->pareto[i]] = 1;
    for (int i = 0; i < r->n; i++) {
        const struct plan_row *w = &r->rows[i];
        fprintf(o.f, "%.9g %.9g %d %d %d %g %g %g\n", w->tok_s_user, w->tok_s_gpu, w->meets,
                front[i], i == r->best, w->tp, w->ep, w->batch);
    }
    /* the front as a line, in its order (falling tokens/s per user) */
    fprintf(o.f, "\n\n");
    for (int i = 0; i < r->n_pareto; i++) {
        const struct plan_row *w = &r->rows[r->pareto[i]];
        fprintf(o.f, "%.9g %.9g\n", w->tok_s_user, w->tok_s_gpu);
    }
    free(front);
    if (plot_out_commit(&o, e)) return -1;
    snprintf(name, sizeof name, "%s.gp", base);
    if (plot_path(path, sizeof path, dir, name)) return err_set(e, dir, 0, 0, "path too long");
    if (plot_out_open(&o, path, e)) return -1;
    FILE *f = o.f;
    fprintf(f, "# opbound plan chart; gnuplot -e \"png_file='x.png'; svg_file='x.svg'\" %s.gp\n",
            base);
    fprintf(f, "data = '%s.dat'\n", base);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            fprintf(f, "set terminal pngcairo size 1200,800 noenhanced font 'sans,12'\nset output png_file\n");
        else
            fprintf(f, "set terminal svg size 1200,800 dynamic noenhanced font 'sans,12' "
                       "background rgb 'white'\nset output svg_file\n");
        fprintf(f, "set title ");
        char t[512];
        snprintf(t, sizeof t, "Deployments of %s on %s (%g + %g tokens per request)", m->name,
                 d->name, q->isl, q->osl);
        plot_gp_str(f, t);
        fprintf(f, "\nset xlabel 'tokens/s per user (1 / TPOT)'\nset ylabel 'tokens/s per GPU'\n");
        fprintf(f, "set logscale xy 10\nset grid lc rgb '#dddddd'\nset key outside right top\n");
        fprintf(f, "plot data index 0 using ($3 == 0 ? $1 : 1/0):2 with points pt 6 ps 0.8 "
                   "lc rgb '#bbbbbb' title 'misses a target', \\\n");
        fprintf(f, "     data index 0 using ($3 == 1 ? $1 : 1/0):2 with points pt 7 ps 0.8 "
                   "lc rgb '%s' title 'meets the targets', \\\n", PLOT_COLORS[0]);
        fprintf(f, "     data index 1 using 1:2 with linespoints pt 5 ps 1.2 lw 2 lc rgb '%s' "
                   "title 'Pareto front', \\\n", PLOT_COLORS[1]);
        fprintf(f, "     data index 0 using ($5 == 1 ? $1 : 1/0):2 with points pt 3 ps 3 lw 2 "
                   "lc rgb '#000000' title 'best by the objective'\n");
    }
    fprintf(f, "set output\n");
    return plot_out_commit(&o, e);
}
