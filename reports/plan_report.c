/* plan_report.c - tables and chart of `opbound plan`; see plan_report.h. */
#include "plan_report.h"

#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "plot.h"

#define PLAN_FRONT_SHOWN 16

static void row_line(FILE *out, const struct plan_row *w, int rank)
{
    char t1[32], t2[32], s1[32], s2[32], s3[32], mem[32], pool[48];
    char rk[16];
    if (rank > 0) snprintf(rk, sizeof rk, "%d", rank);
    else snprintf(rk, sizeof rk, "-");
    if (w->mode == PLAN_DISAGG)
        snprintf(pool, sizeof pool, "%gx tp%g ep%g %s/%s", w->n_prefill, w->tp_p, w->ep_p,
                 dtype_name(w->dt_w_p), dtype_name(w->dt_gemm_p));
    else
        snprintf(pool, sizeof pool, "-");
    fprintf(out,
            "%4s  %-6s  %3g  %3g  %4g  %8g  %-9s  %-6s  %-5s  %7g  %-26s  %7g  %9s  %9s  %10s  "
            "%10s  %8s  %10s\n",
            rk, plan_mode_name(w->mode), w->tp, w->ep, w->gpus, w->replicas, dtype_name(w->dt_w),
            dtype_name(w->dt_kv), dtype_name(w->dt_gemm), w->batch, pool, w->mode == PLAN_DISAGG ? w->n_decode : 1,
            fmt_time(t1, sizeof t1, w->ttft_s), fmt_time(t2, sizeof t2, w->tpot_s),
            fmt_si(s1, sizeof s1, w->tok_s_user, ""), fmt_si(s2, sizeof s2, w->tok_s_gpu, ""),
            w->usd_per_mtok > 0 ? (snprintf(s3, sizeof s3, "%.3g", w->usd_per_mtok), s3) : "n/a",
            fmt_bin(mem, sizeof mem, w->memory_bytes));
}

static void header(FILE *out)
{
    fprintf(out,
            "%4s  %-6s  %3s  %3s  %4s  %8s  %-9s  %-6s  %-5s  %7s  %-26s  %7s  %9s  %9s  %10s  "
            "%10s  %8s  %10s\n",
            "rank", "mode", "tp", "ep", "gpus", "replicas", "weight", "kv", "gemm", "batch",
            "prefill pool (w/gemm)", "decode", "TTFT", "TPOT", "tok/s/user", "tok/s/GPU", "$/Mtok",
            "memory");
}

void report_plan_header(FILE *out, const struct model *m, const struct device *d,
                        const struct plan_req *q, const struct plan_result *r)
{
    char b1[32], b2[32];
    fprintf(out, "model     %s (%s)\n", m->name, m->file);
    fprintf(out, "device    %s (%s), up to %g\n", d->name, d->file, q->gpus);
    fprintf(out, "requests  %g input + %g output tokens; targets: TTFT %s, TPOT %s; "
                 "objective %s\n",
            q->isl, q->osl, q->ttft_max_s > 0 ? fmt_time(b1, sizeof b1, q->ttft_max_s) : "none",
            q->tpot_max_s > 0 ? fmt_time(b2, sizeof b2, q->tpot_max_s) : "none",
            plan_objective_name(q->objective));
    fprintf(out, "searched  %.0f configurations that fit (%.0f step analyses), %.0f meet the "
                 "targets\n",
            r->configs, r->analyses, r->meets);
}

/* Why the winner: the two serving modes' best rows side by side, the
 * winner's time terms and what stops it from going further. */
static void reasoning(FILE *out, const struct device *d, const struct plan_req *q,
                      const struct plan_result *r)
{
    const struct plan_row *w = &r->rows[r->best];
    char a[32], b[32], c[32], e[32], f[32];
    fprintf(out, "\nWhy the winner (rank 1):\n");
    for (int mo = 0; mo < PLAN_MODE_COUNT; mo++) {
        const int i = r->best_mode[mo];
        if (i < 0) {
            fprintf(out, "  best %-13s none meets the targets%s\n",
                    mo == PLAN_AGG ? "aggregated:" : "disaggregated:",
                    (mo == PLAN_AGG ? q->no_agg : q->no_disagg) ? " (not searched)" : "");
            continue;
        }
        const struct plan_row *x = &r->rows[i];
        fprintf(out, "  best %-15s %s tokens/s per GPU, %s tokens/s per user\n",
                mo == PLAN_AGG ? "aggregated:" : "disaggregated:",
                fmt_si(a, sizeof a, x->tok_s_gpu, ""), fmt_si(b, sizeof b, x->tok_s_user, ""));
    }
    if (w->mode == PLAN_AGG) {
        fprintf(out, "  aggregated: every decode step also carries B/osl = %g/%g prefills, so\n"
                     "    TPOT = t_decode(B) + (B/osl) t_prefill = %s + %s = %s\n",
                w->batch, q->osl, fmt_time(a, sizeof a, w->t_decode_s),
                fmt_time(b, sizeof b, w->batch / q->osl * w->t_prefill_s),
                fmt_time(c, sizeof c, w->tpot_s));
    } else {
        const double rate = w->n_decode * w->batch / (q->osl * w->t_decode_s);
        fprintf(out, "  disaggregated: decode steps carry no prefills, TPOT = t_decode(B) = %s;\n"
                     "    TTFT = t_prefill + KV transfer = %s + %s = %s;\n"
                     "    the decode pool finishes %.4g requests/s, the prefill pool (%g x %s)\n"
                     "    prefills %.4g/s: sized to the rate\n",
                fmt_time(a, sizeof a, w->t_decode_s), fmt_time(b, sizeof b, w->t_prefill_s),
                fmt_time(c, sizeof c, w->t_kv_s), fmt_time(e, sizeof e, w->ttft_s), rate,
                w->n_prefill, fmt_time(f, sizeof f, w->t_prefill_s),
                w->n_prefill / w->t_prefill_s);
    }
    /* what stops the batch from growing */
    const double mem_share = w->memory_bytes / d->mem_capacity_bytes;
    if (q->tpot_max_s > 0 && w->tpot_s > 0.9 * q->tpot_max_s)
        fprintf(out, "  limit: the TPOT target (%s of %s)\n", fmt_time(a, sizeof a, w->tpot_s),
                fmt_time(b, sizeof b, q->tpot_max_s));
    else if (mem_share > 0.9)
        fprintf(out, "  limit: memory (%.0f%% of the device's at context isl + osl)\n",
                100 * mem_share);
    else
        fprintf(out, "  limit: neither the TPOT target nor memory; larger batches or other "
                     "splits give fewer tokens/s per GPU\n");
}

void report_plan_table(FILE *out, const struct model *m, const struct device *d,
                       const struct plan_req *q, const struct plan_result *r, int top)
{
    report_plan_header(out, m, d, q, r);
    fputc('\n', out);
    if (r->best < 0) {
        fprintf(out, "No configuration meets the targets. Loosen --ttft/--tpot, allow more "
                     "--gpus, or try lower-precision weights.\n");
        return;
    }
    fprintf(out, "Best %d by %s (each deployment at its best batch):\n",
            top < r->n_top ? top : r->n_top, plan_objective_name(q->objective));
    header(out);
    for (int k = 0; k < top && k < r->n_top; k++) row_line(out, &r->rows[r->top[k]], k + 1);
    fprintf(out, "\nPareto front (tokens/s per GPU against tokens/s per user; no other "
                 "configuration meeting the targets is better on both):\n");
    header(out);
    /* a long front is shown at PLAN_FRONT_SHOWN rows spread along it (the
     * chart and --csv have all) */
    const int shown = r->n_pareto < PLAN_FRONT_SHOWN ? r->n_pareto : PLAN_FRONT_SHOWN;
    for (int k = 0; k < shown; k++) {
        const int i = shown == r->n_pareto ? k : (int)((long)k * (r->n_pareto - 1) / (shown - 1));
        row_line(out, &r->rows[r->pareto[i]], 0);
    }
    if (shown < r->n_pareto)
        fprintf(out, "(%d of the %d rows on the front, evenly spaced; -o and --csv have all)\n",
                shown, r->n_pareto);
    reasoning(out, d, q, r);
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
    fprintf(o.f, "# tok_s_user tok_s_gpu meets front best tp ep batch mode(0 agg, 1 disagg)\n");
    char *front = calloc((size_t)(r->n > 0 ? r->n : 1), 1);
    if (!front) {
        plot_out_discard(&o);
        return err_set(e, path, 0, 0, "out of memory");
    }
    for (int i = 0; i < r->n_pareto; i++) front[r->pareto[i]] = 1;
    for (int i = 0; i < r->n; i++) {
        const struct plan_row *w = &r->rows[i];
        if (!w->sample && !front[i] && i != r->best) continue;
        fprintf(o.f, "%.9g %.9g %d %d %d %g %g %g %d\n", w->tok_s_user, w->tok_s_gpu, w->meets,
                front[i], i == r->best, w->tp, w->ep, w->batch, (int)w->mode);
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
        fprintf(f, "set logscale xy 10\nset grid lc rgb '#dddddd'\n"
                   "set key inside bottom left box opaque\n");
        fprintf(f, "plot data index 0 using ($3 == 0 ? $1 : 1/0):2 with points pt 6 ps 0.8 "
                   "lc rgb '#bbbbbb' title 'misses a target', \\\n");
        fprintf(f, "     data index 0 using ($3 == 1 && $9 == 0 ? $1 : 1/0):2 with points pt 7 "
                   "ps 0.8 lc rgb '%s' title 'meets: aggregated', \\\n", PLOT_COLORS[0]);
        fprintf(f, "     data index 0 using ($3 == 1 && $9 == 1 ? $1 : 1/0):2 with points pt 9 "
                   "ps 0.8 lc rgb '%s' title 'meets: disaggregated prefill/decode', \\\n",
                PLOT_COLORS[2]);
        /* a long front: a marker every pi points along the line */
        fprintf(f, "     data index 1 using 1:2 with linespoints pt 5 ps 1.0 pi %d lw 2 "
                   "lc rgb '%s' title 'Pareto front', \\\n",
                r->n_pareto > 50 ? r->n_pareto / 25 : 1, PLOT_COLORS[1]);
        fprintf(f, "     data index 0 using ($5 == 1 ? $1 : 1/0):2 with points pt 3 ps 3 lw 2 "
                   "lc rgb '#000000' title 'best by the objective'\n");
    }
    fprintf(f, "set output\n");
    return plot_out_commit(&o, e);
}
