/* cmd_plan.c - `opbound plan MODEL --hw HW --gpus N --isl S --osl T`: the
 * deployments of a model ranked under latency targets (sim/plan.h,
 * docs/plan.md). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../reports/plan_report.h"
#include "../../reports/plot.h"
#include "../core/outfile.h"
#include "../plan.h"
#include "cli.h"

/* The options without a field in struct cli_args, in the order x[] reads them. */
static const char *const EXTRA[] = {"--gpus", "--isl", "--osl", "--ttft", "--tpot",
                                    "--objective", "--dtypes", "--top", NULL};

static const struct cli_opt OPTS[] = {
    CLI_OPT_HW,
    {"--gpus", "N", "devices one deployment may use (replicas fill the rest)"},
    {"--isl", "S", "input tokens per request"},
    {"--osl", "T", "output tokens per request"},
    {"--ttft", "MS", "time-to-first-token target, milliseconds"},
    {"--tpot", "MS", "time-per-output-token target, milliseconds"},
    {"--objective", "O", "tokens-per-gpu (default) or usd-per-mtok"},
    {"--dtypes", "D", "vary (default: also fp8/int4 weights, fp8 KV) or model"},
    {"--top", "K", "rows in the ranked table (default 10)"},
    {"-o", "PATH.png", "also draw the front (PNG + SVG, gnuplot script and\n"
                       "data kept)"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_PLAN = {
    .name = "plan",
    .brief = "plan MODEL --hw HW --gpus N --isl S --osl T",
    .summary = "best deployment under TTFT/TPOT targets",
    .usage = "opbound plan MODEL --hw HW --gpus N --isl S --osl T [options]",
    .about = "Searches the deployments of MODEL on devices HW (tensor parallelism, expert\n"
             "parallelism for MoE models, weight and KV dtypes, decode batch), keeps those that\n"
             "fit and meet the latency targets, ranks them, and prints the Pareto front of\n"
             "tokens/s per GPU against tokens/s per user and the winner's per-op breakdown\n"
             "(docs/plan.md). It searches tp, ep, batch and dtypes itself, so the scenario\n"
             "options are not taken.\n",
    .opts = OPTS,
    .notes = "Numbers accept a k (x1024) or m (x1048576) suffix: --isl 8k.\n",
};

static int ms(const char *C, const char *opt, const char *s, double *out)
{
    if (!s) return 0;
    char *end;
    const double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > 1e9)
        return cli_fail(C, "%s '%s': expected milliseconds above 0", opt, s);
    *out = v / 1000.0;
    return 0;
}

/* Progress on standard error when it is a terminal, once the search has run
 * for half a second (a quick plan prints nothing): groups of the search done
 * of their total. */
struct progress {
    struct timespec t0;
    bool shown;
};

static void on_progress(void *ctx, int done, int total)
{
    struct progress *p = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const double dt = (double)(now.tv_sec - p->t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - p->t0.tv_nsec);
    if (done >= total) {
        if (p->shown) fprintf(stderr, "\r\033[K");
        return;
    }
    if (dt < 0.5) return;
    fprintf(stderr, "\rplan: %d/%d (tp, ep, dtype) groups searched", done, total);
    p->shown = true;
}

int cmd_plan(int argc, char **argv)
{
    const char *C = "plan";
    struct cli_args a;
    int rc = cli_parse(&CLI_PLAN, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_PLAN, stdout);
        return 0;
    }
    if (a.npos != 1) return cli_fail(C, a.npos ? "one MODEL expected" : "missing MODEL");
    if (!a.hw) return cli_fail(C, "missing --hw HW");
    const char *x[9] = {0};
    for (int i = 0; i < a.nx; i++)
        for (int k = 0; EXTRA[k]; k++)
            if (strcmp(a.xname[i], EXTRA[k]) == 0) x[k] = a.xval[i];
    struct plan_req q = {.vary_dtypes = true};
    double top = 10;
    if (!x[0]) return cli_fail(C, "missing --gpus N");
    if (!x[1] || !x[2]) return cli_fail(C, "missing --isl S and --osl T");
    if (cli_count(x[0], 1, 4096, &q.gpus)) return cli_fail(C, "--gpus '%s': 1 to 4096", x[0]);
    if (cli_count(x[1], 1, 1e8, &q.isl)) return cli_fail(C, "--isl '%s': 1 to 1e8 tokens", x[1]);
    if (cli_count(x[2], 1, 1e8, &q.osl)) return cli_fail(C, "--osl '%s': 1 to 1e8 tokens", x[2]);
    if ((rc = ms(C, "--ttft", x[3], &q.ttft_max_s)) || (rc = ms(C, "--tpot", x[4], &q.tpot_max_s)))
        return rc;
    if (x[5]) {
        if (strcmp(x[5], "tokens-per-gpu") == 0) q.objective = PLAN_TOKENS_PER_GPU;
        else if (strcmp(x[5], "usd-per-mtok") == 0) q.objective = PLAN_USD_PER_MTOK;
        else return cli_fail(C, "--objective '%s': tokens-per-gpu or usd-per-mtok", x[5]);
    }
    if (x[6]) {
        if (strcmp(x[6], "model") == 0) q.vary_dtypes = false;
        else if (strcmp(x[6], "vary") != 0) return cli_fail(C, "--dtypes '%s': vary or model", x[6]);
    }
    if (x[7] && cli_count(x[7], 1, 1000, &top)) return cli_fail(C, "--top '%s': 1 to 1000", x[7]);
    char dir[PLOT_PATH_MAX] = "", base[PLOT_PATH_MAX] = "";
    if (a.out && (rc = cli_out_split(C, a.out, dir, sizeof dir, base, sizeof base))) return rc;

    struct err e;
    struct model *m = NULL;
    struct device *d = NULL;
    if (cli_load_model(a.pos[0], &m, &e)) return cli_fail_err(&e);
    if (cli_load_device(a.hw, &d, &e)) {
        model_free(m);
        return cli_fail_err(&e);
    }
    if (q.objective == PLAN_USD_PER_MTOK && d->price_usd_per_hour <= 0) {
        model_free(m);
        device_free(d);
        return cli_fail(C, "--objective usd-per-mtok needs a device price (price_usd_per_hour "
                           "in %s)", a.hw);
    }
    if (model_len_check(m, q.isl + q.osl, &e)) {
        model_free(m);
        device_free(d);
        return cli_fail_len(&e);
    }
    struct plan_result r;
    struct progress pg = {.shown = false};
    if (isatty(STDERR_FILENO)) {
        clock_gettime(CLOCK_MONOTONIC, &pg.t0);
        q.progress = on_progress;
        q.progress_ctx = &pg;
    }
    if (plan_run(m, d, &q, &r)) {
        fprintf(stderr, "opbound: out of memory\n");
        return 1;
    }
    report_plan_table(stdout, m, d, &q, &r, (int)top);
    if (r.best >= 0) {
        /* why the winner wins: its decode step per op */
        const struct plan_row *w = &r.rows[r.best];
        struct scenario sc = {.phase = PHASE_DECODE, .batch = w->batch,
                              .context = q.isl + q.osl / 2.0, .tp = w->tp, .ep = w->ep,
                              .has_dt_w = true, .has_dt_kv = true, .dt_w = w->dt_w,
                              .dt_kv = w->dt_kv};
        struct analysis an;
        if (analysis_init(&an, m) == 0) {
            analysis_run(&an, m, d, &sc);
            printf("\nThe best configuration's decode step (context %g, the middle of a "
                   "request's output):\n\n", sc.context);
            struct analysis_view v = {.m = m, .d = d, .sc = &sc, .a = &an};
            report_analysis_table(stdout, &v, true);
            analysis_free(&an);
        }
    }
    if (a.out && rc == 0) {
        if (plot_mkdirs(dir, &e) || report_plan_chart(m, d, &q, &r, dir, base, &e)) {
            rc = cli_fail_out(&e);
        } else {
            char gp[PLOT_PATH_MAX + 8], png[PLOT_PATH_MAX + 8], svg[PLOT_PATH_MAX + 8];
            snprintf(gp, sizeof gp, "%s.gp", base);
            snprintf(png, sizeof png, "%s.png", base);
            snprintf(svg, sizeof svg, "%s.svg", base);
            bool warned = false;
            const char *vars[] = {"png_file", "svg_file"}, *files[] = {png, svg};
            /* an interrupt while gnuplot draws removes the script and data
             * written just before, so nothing of this run is left half-done */
            char gp_path[2 * PLOT_PATH_MAX + 16], dat_path[2 * PLOT_PATH_MAX + 16];
            snprintf(gp_path, sizeof gp_path, "%s/%s.gp", dir, base);
            snprintf(dat_path, sizeof dat_path, "%s/%s.dat", dir, base);
            outfile_guard(gp_path);
            outfile_guard(dat_path);
            rc = cli_render(C, dir, gp, vars, files, 2, &warned);
            outfile_unguard(gp_path);
            outfile_unguard(dat_path);
            if (rc == 0) printf("\nwrote %s/%s.%s\n", dir, base, warned ? "{gp,dat}" : "{png,svg,gp,dat}");
        }
    }
    plan_free(&r);
    model_free(m);
    device_free(d);
    return rc;
}
