/* cmd_plan.c - `opbound plan MODEL --hw HW --gpus N --isl S --osl T`: the
 * deployments of a model ranked under latency targets (sim/plan.h,
 * docs/plan.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/plan_report.h"
#include "../../reports/plot.h"
#include "../plan.h"
#include "../core/outfile.h"
#include "../plan_shard.h"
#include "cli.h"

/* The options without a field in struct cli_args, in the order x[] reads them. */
static const char *const EXTRA[] = {"--gpus", "--isl", "--osl", "--ttft", "--tpot",
                                    "--objective", "--dtypes", "--top", "--modes",
                                    "--shard", "--csv", "--threads", "--merge", NULL};
enum { X_GPUS, X_ISL, X_OSL, X_TTFT, X_TPOT, X_OBJ, X_DTYPES, X_TOP, X_MODES, X_SHARD, X_CSV,
       X_THREADS, X_MERGE, X_COUNT };

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
    {"--modes", "M", "both (default), agg (prefill and decode on the same\n"
                     "devices) or disagg (separate prefill and decode pools)"},
    {"--shard", "K/N", "search only shard K of N (for a batch system; merge the\n"
                       "shards' --csv files with --merge)"},
    {"--csv", "PATH", "also write the result (top, front, chart sample) as CSV"},
    {"--threads", "N", "search threads (default: every online core)"},
    {"--merge", NULL, "the arguments are shard CSV files: combine them into the\n"
                      "ranking one unsharded run gives"},
    {"-o", "PATH.png", "also draw the front (PNG + SVG, gnuplot script and\n"
                       "data kept)"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_PLAN = {
    .name = "plan",
    .brief = "plan MODEL --hw HW --gpus N --isl S --osl T",
    .summary = "best deployment under TTFT/TPOT targets",
    .usage = "opbound plan MODEL --hw HW --gpus N --isl S --osl T [options]\n"
             "opbound plan --merge SHARD.csv ... [--csv PATH] [-o PATH.png]",
    .about = "Searches the deployments of MODEL on devices HW (tensor parallelism, expert\n"
             "parallelism for MoE models, weight and KV dtypes, decode batch), keeps those that\n"
             "fit and meet the latency targets, ranks them, and prints the Pareto front of\n"
             "tokens/s per GPU against tokens/s per user and the winner's per-op breakdown\n"
             "(docs/plan.md). It searches tp, ep, batch and dtypes itself, so the scenario\n"
             "options are not taken.\n"
             "\n"
             "Both serving modes are searched: aggregated (each deployment runs prefills and\n"
             "decode steps) and disaggregated (a prefill pool sized to a decode pool's request\n"
             "rate; the KV cache moves between them). The search runs on every core; --shard\n"
             "K/N with --csv splits it across machines and --merge combines the files.\n",
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

/* The outputs of a search or a merge: table, the winner's decode step, -o
 * chart, --csv file. */
static int plan_outputs(const char *C, const struct model *m, const struct device *d,
                        const struct plan_req *q, const struct plan_result *r, int top,
                        const char *out, const char *csv, const char *model_arg,
                        const char *hw_arg, bool timing)
{
    int rc = 0;
    struct err e;
    char dir[PLOT_PATH_MAX] = "", base[PLOT_PATH_MAX] = "";
    if (out && (rc = cli_out_split(C, out, dir, sizeof dir, base, sizeof base))) return rc;
    report_plan_table(stdout, m, d, q, r, top);
    if (timing && r->wall_s > 0)
        printf("\nsearch time %.3g s on %d thread%s: %.3g configurations/s\n", r->wall_s,
               r->threads, r->threads == 1 ? "" : "s", r->configs / r->wall_s);
    if (r->best >= 0) {
        /* why the winner wins: its decode step per op */
        const struct plan_row *w = &r->rows[r->best];
        struct scenario sc = {.phase = PHASE_DECODE, .batch = w->batch,
                              .context = q->isl + q->osl / 2.0, .tp = w->tp, .ep = w->ep,
                              .has_dt_w = true, .has_dt_kv = true, .dt_w = w->dt_w,
                              .dt_kv = w->dt_kv, .has_dt_gemm = true, .dt_gemm = w->dt_gemm};
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
    if (csv) {
        struct outfile of;
        if (outfile_open(&of, csv, &e)) return cli_fail_out(&e);
        if (plan_csv_write(of.f, model_arg, hw_arg, q, r)) {
            outfile_discard(&of);
            return cli_fail(C, "--csv '%s': write failed", csv);
        }
        if (outfile_commit(&of, &e)) return cli_fail_out(&e);
        printf("\nwrote %s\n", csv);
    }
    if (out) {
        if (plot_mkdirs(dir, &e) || report_plan_chart(m, d, q, r, dir, base, &e)) {
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
    return rc;
}

static int load_both(const char *model, const char *hw, struct model **m, struct device **d)
{
    struct err e;
    if (cli_load_model(model, m, &e)) return cli_fail_err(&e);
    if (cli_load_device(hw, d, &e)) {
        model_free(*m);
        *m = NULL;
        return cli_fail_err(&e);
    }
    return 0;
}

/* `plan --merge F1 F2 ...`: every shard 1..N exactly once, from one search. */
static int plan_merge_cmd(const char *C, const struct cli_args *a, const char *const *x)
{
    if (a->npos < 1) return cli_fail(C, "--merge: give the shards' CSV files");
    for (int i = 0; i < X_COUNT; i++)
        if (x[i] && i != X_MERGE && i != X_CSV && i != X_TOP)
            return cli_fail(C, "--merge takes the search from the files; %s is not taken",
                            EXTRA[i]);
    if (a->hw) return cli_fail(C, "--merge takes the device from the files; --hw is not taken");
    struct plan_meta *meta = calloc((size_t)a->npos, sizeof *meta);
    struct plan_result *parts = calloc((size_t)a->npos, sizeof *parts);
    bool *seen = calloc((size_t)a->npos + 1, 1);
    int rc = 0;
    if (!meta || !parts || !seen) {
        fprintf(stderr, "opbound: out of memory\n");
        rc = 1;
        goto out;
    }
    for (int i = 0; i < a->npos && rc == 0; i++) {
        struct err e;
        if (plan_csv_read(a->pos[i], &meta[i], &parts[i], &e)) {
            rc = cli_fail_err(&e);
            break;
        }
        const struct plan_req *q = &meta[i].q;
        if (i > 0 && !plan_meta_same(&meta[0], &meta[i]))
            rc = cli_fail(C, "%s and %s come from different searches (model, device, "
                             "request, options or shard count differ)", a->pos[0], a->pos[i]);
        else if (q->shard_n != a->npos)
            rc = cli_fail(C, "%s is shard %d of %d, but %d files were given: every shard is "
                             "needed once", a->pos[i], q->shard_k, q->shard_n, a->npos);
        else if (seen[q->shard_k])
            rc = cli_fail(C, "%s: shard %d/%d given twice", a->pos[i], q->shard_k, q->shard_n);
        else
            seen[q->shard_k] = true;
    }
    if (rc == 0) {
        struct plan_req q = meta[0].q;
        q.shard_k = q.shard_n = 0;
        double top = q.top;
        if (x[X_TOP] && (cli_count(x[X_TOP], 1, q.top, &top)))
            rc = cli_fail(C, "--top '%s': 1 to %d (the shards kept %d)", x[X_TOP], q.top, q.top);
        struct model *m = NULL;
        struct device *d = NULL;
        struct plan_result r;
        if (rc == 0 && (rc = load_both(meta[0].model, meta[0].hw, &m, &d)) == 0) {
            if (plan_merge(&q, parts, a->npos, &r)) {
                fprintf(stderr, "opbound: out of memory\n");
                rc = 1;
            } else {
                rc = plan_outputs(C, m, d, &q, &r, (int)top, a->out, x[X_CSV], meta[0].model,
                                  meta[0].hw, false);
                plan_free(&r);
            }
        }
        model_free(m);
        device_free(d);
    }
out:
    for (int i = 0; parts && i < a->npos; i++) plan_free(&parts[i]);
    free(parts);
    free(meta);
    free(seen);
    return rc;
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
    const char *x[X_COUNT] = {0};
    for (int i = 0; i < a.nx; i++)
        for (int k = 0; EXTRA[k]; k++)
            if (strcmp(a.xname[i], EXTRA[k]) == 0) x[k] = a.xval[i];
    if (x[X_MERGE]) return plan_merge_cmd(C, &a, x);
    if (a.npos != 1) return cli_fail(C, a.npos ? "one MODEL expected" : "missing MODEL");
    if (!a.hw) return cli_fail(C, "missing --hw HW");
    struct plan_req q = {.vary_dtypes = true, .top = 10};
    double top = 10;
    if (!x[X_GPUS]) return cli_fail(C, "missing --gpus N");
    if (!x[X_ISL] || !x[X_OSL]) return cli_fail(C, "missing --isl S and --osl T");
    if (cli_count(x[X_GPUS], 1, 4096, &q.gpus))
        return cli_fail(C, "--gpus '%s': 1 to 4096", x[X_GPUS]);
    if (cli_count(x[X_ISL], 1, 1e8, &q.isl)) return cli_fail(C, "--isl '%s': 1 to 1e8 tokens", x[X_ISL]);
    if (cli_count(x[X_OSL], 1, 1e8, &q.osl)) return cli_fail(C, "--osl '%s': 1 to 1e8 tokens", x[X_OSL]);
    if ((rc = ms(C, "--ttft", x[X_TTFT], &q.ttft_max_s)) ||
        (rc = ms(C, "--tpot", x[X_TPOT], &q.tpot_max_s)))
        return rc;
    if (x[X_OBJ]) {
        if (strcmp(x[X_OBJ], "tokens-per-gpu") == 0) q.objective = PLAN_TOKENS_PER_GPU;
        else if (strcmp(x[X_OBJ], "usd-per-mtok") == 0) q.objective = PLAN_USD_PER_MTOK;
        else return cli_fail(C, "--objective '%s': tokens-per-gpu or usd-per-mtok", x[X_OBJ]);
    }
    if (x[X_DTYPES]) {
        if (strcmp(x[X_DTYPES], "model") == 0) q.vary_dtypes = false;
        else if (strcmp(x[X_DTYPES], "vary") != 0)
            return cli_fail(C, "--dtypes '%s': vary or model", x[X_DTYPES]);
    }
    if (x[X_TOP] && cli_count(x[X_TOP], 1, 1000, &top))
        return cli_fail(C, "--top '%s': 1 to 1000", x[X_TOP]);
    q.top = (int)top;
    if (x[X_MODES]) {
        if (strcmp(x[X_MODES], "agg") == 0) q.no_disagg = true;
        else if (strcmp(x[X_MODES], "disagg") == 0) q.no_agg = true;
        else if (strcmp(x[X_MODES], "both") != 0)
            return cli_fail(C, "--modes '%s': both, agg or disagg", x[X_MODES]);
    }
    if (x[X_SHARD]) {
        int k, n, used = 0;
        if (sscanf(x[X_SHARD], "%d/%d%n", &k, &n, &used) != 2 || x[X_SHARD][used] || n < 1 ||
            n > 4095 || k < 1 || k > n)
            return cli_fail(C, "--shard '%s': expected K/N with 1 <= K <= N <= 4095", x[X_SHARD]);
        if (!x[X_CSV])
            return cli_fail(C, "--shard needs --csv PATH (the file --merge combines)");
        q.shard_k = k;
        q.shard_n = n;
    }
    if (x[X_THREADS]) {
        double t;
        if (cli_count(x[X_THREADS], 1, 256, &t)) return cli_fail(C, "--threads '%s': 1 to 256", x[X_THREADS]);
        q.threads = (int)t;
    }
    if (a.out) {
        char dir[PLOT_PATH_MAX], base[PLOT_PATH_MAX];
        if ((rc = cli_out_split(C, a.out, dir, sizeof dir, base, sizeof base))) return rc;
    }

    struct err e;
    struct model *m = NULL;
    struct device *d = NULL;
    if ((rc = load_both(a.pos[0], a.hw, &m, &d))) return rc;
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
    if (plan_run(m, d, &q, &r)) {
        fprintf(stderr, "opbound: out of memory\n");
        model_free(m);
        device_free(d);
        return 1;
    }
    rc = plan_outputs(C, m, d, &q, &r, (int)top, a.out, x[X_CSV], a.pos[0], a.hw, true);
    plan_free(&r);
    model_free(m);
    device_free(d);
    return rc;
}
