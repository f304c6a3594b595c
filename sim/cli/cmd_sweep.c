/* cmd_sweep.c - `opbound sweep MODEL... --hw HW --phase P --vary NAME=RANGE... -o DIR`:
 * every combination of batch and length (context for decode, seq for prefill)
 * for every model, written as DIR/sweep.csv, and charts of the figures that
 * change along the varied axes (each with its .dat and .gp beside it):
 *
 *   kv_cache_vs_context|seq   KV-cache bytes (per device) against the length
 *   decode_time_vs_context    decode step time (TPOT) against the context
 *   decode_time_vs_batch      ... against the batch
 *   prefill_time_vs_seq       prefill step time (TTFT) against the prompt length
 *   prefill_time_vs_batch     ... against the batch
 *
 * A chart is drawn when its x axis has two values or more; one curve per model
 * and value of the other axis. Ranges: `a..b` doubles from a up to b (b is the
 * last point), `a,b,c` lists; k and m suffixes as elsewhere. Each point is one
 * analysis_run (no allocation per point).
 *
 * `--vary tp=..` and `--vary ep=..` vary the parallel split: every (tp, ep)
 * pair is a series beside the models (a curve per model and split in each
 * chart, the split in each csv row); a split the model cannot take is an
 * error naming it. */
#define _POSIX_C_SOURCE 200809L /* isatty */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../reports/fmt.h"
#include "../../reports/plot.h"
#include "../core/outfile.h"
#include "cli.h"

#define SW_MAX_VALS 64
#define SW_MAX_MODELS PLOT_NCOLORS
#define SW_KEY_MAX 24 /* curves named in a chart's key */

static const struct cli_opt OPTS[] = {
    CLI_OPT_HW,
    CLI_OPT_PHASE,
    CLI_OPTS_SCENARIO_BODY,
    {"--vary", "NAME=RANGE", "NAME: batch, context (decode) or seq (prefill),\n"
                             "tp or ep (the parallel split: a curve per value)\n"
                             "RANGE: a..b doubles from a up to b (1k..128k), or a list\n"
                             "(1,8,64); k = x1024, m = x1048576; at most 64 values"},
    {"-o", "DIR", "output folder (created if missing)"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_SWEEP = {
    .name = "sweep",
    .brief = "sweep MODEL... --hw HW --phase ... --vary ... -o DIR",
    .summary = "csv and charts over batch/length",
    .usage = "opbound sweep MODEL... --hw HW --phase decode|prefill --vary NAME=RANGE... -o DIR",
    .about = "Evaluates every combination of the varied values for every MODEL (up to 8) on\n"
             "device HW and writes DIR/sweep.csv (one row per point: time, TTFT, TPOT, KV cache,\n"
             "memory, fit, FLOPs, bytes, ...) and charts, each as .png, .svg, .gp (gnuplot\n"
             "script) and .dat: KV-cache bytes against the length; decode (or prefill) step\n"
             "time against the length and against the batch, one curve per model and value of\n"
             "the other axis. A name that is not varied takes its --batch, --context or --seq\n"
             "value. --vary tp=1,2,4,8 (and ep=) adds a curve per tensor- (expert-) parallel\n"
             "split; figures are per device.\n",
    .opts = OPTS,
    .notes = CLI_NOTE_COUNTS
    "Without gnuplot the csv, data and scripts are still written (exit status 0).\n",
};

enum sw_axis { AX_BATCH, AX_LEN, AX_COUNT };

struct sw_point {
    int model, par;
    double batch, len;
    double time_s, ttft_s, tpot_s, tokens_per_s, kv_cache_bytes, act_bytes, memory_bytes;
    double max_batch, flops, bytes, bytes_w, bytes_kv, params, active_params, weight_bytes,
        kv_per_token;
    bool fits;
};

/* A (tp, ep) split of the varied parallel axes. */
struct sw_par {
    double tp, ep;
};

struct sw {
    const char *cmd_line;
    const struct device *d;
    struct model *m[SW_MAX_MODELS];
    int nm;
    struct sw_par par[SW_MAX_VALS]; /* the splits; one (the fixed --tp/--ep) when not varied */
    int npar;
    bool vary_tp, vary_ep;
    struct scenario sc;          /* fixed options; batch and len overwritten per point */
    double vals[AX_COUNT][SW_MAX_VALS];
    int nv[AX_COUNT];
    struct sw_point *pts;        /* [model][batch][len] */
    int npts;
    enum dtype dt_w, dt_act, dt_kv;
};

static const char *len_name(const struct sw *s)
{
    return s->sc.phase == PHASE_DECODE ? "context" : "seq";
}

/* Parses RANGE into vals; CLI_USAGE after printing why. */
static int parse_range(const char *C, const char *name, const char *spec, double min,
                       double max, double *vals, int *n)
{
    char buf[256];
    *n = 0;
    if (!*spec) return cli_fail(C, "--vary %s= needs values: a..b or a,b,c", name);
    if (strlen(spec) >= sizeof buf) return cli_fail(C, "--vary %s: range too long", name);
    snprintf(buf, sizeof buf, "%s", spec);
    char *dots = strstr(buf, "..");
    if (dots) {
        *dots = 0;
        double a, b;
        if (cli_count(buf, min, max, &a) || cli_count(dots + 2, min, max, &b))
            return cli_fail(C, "--vary %s=%s: the ends of a..b must be whole numbers from %.0f "
                               "to %.0f (k and m suffixes allowed)",
                            name, spec, min, max);
        if (a < 1) return cli_fail(C, "--vary %s=%s: a doubling range a..b starts at 1 or more "
                                      "(use a list for 0: 0,1k,2k)", name, spec);
        if (a > b) return cli_fail(C, "--vary %s=%s: the range runs backwards", name, spec);
        for (double v = a; v < b; v *= 2) {
            if (*n == SW_MAX_VALS - 1)
                return cli_fail(C, "--vary %s=%s: more than %d values", name, spec, SW_MAX_VALS);
            vals[(*n)++] = v;
        }
        vals[(*n)++] = b;
        return 0;
    }
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        if (*n == SW_MAX_VALS)
            return cli_fail(C, "--vary %s=%s: more than %d values", name, spec, SW_MAX_VALS);
        if (cli_count(tok, min, max, &vals[*n]))
            return cli_fail(C, "--vary %s=%s: '%s' is not a whole number from %.0f to %.0f (k "
                               "and m suffixes allowed; a range is a..b)",
                            name, spec, tok, min, max);
        (*n)++;
    }
    return 0;
}

/* --vary options and the fixed scenario; CLI_USAGE after printing why. */
static int parse_axes(const char *C, const struct cli_args *a, struct sw *s)
{
    struct cli_args fixed = *a;
    if (!a->phase) return cli_fail(C, "missing --phase prefill|decode");
    const bool decode = strcmp(a->phase, "decode") == 0;
    if (!decode && strcmp(a->phase, "prefill") != 0)
        return cli_fail(C, "--phase must be prefill or decode, got '%s'", a->phase);
    const char *len = decode ? "context" : "seq";
    bool seen[AX_COUNT] = {false};
    double tps[SW_MAX_VALS], eps[SW_MAX_VALS];
    int ntp = 0, nep = 0;
    for (int i = 0; i < a->nx; i++) {
        const char *eq = strchr(a->xval[i], '=');
        size_t kn = eq ? (size_t)(eq - a->xval[i]) : 0;
        char key[32];
        if (!eq || kn == 0 || kn >= sizeof key)
            return cli_fail(C, "--vary takes NAME=RANGE (e.g. context=1k..128k), got '%s'",
                            a->xval[i]);
        snprintf(key, sizeof key, "%.*s", (int)kn, a->xval[i]);
        if (strcmp(key, "tp") == 0 || strcmp(key, "ep") == 0) {
            const bool tp = key[0] == 't';
            if (tp ? s->vary_tp : s->vary_ep) return cli_fail(C, "--vary %s given twice", key);
            if (tp ? a->tp != NULL : a->ep != NULL)
                return cli_fail(C, "--vary %s and --%s both given; keep one", key, key);
            int rc = parse_range(C, key, eq + 1, 1, 4096, tp ? tps : eps, tp ? &ntp : &nep);
            if (rc) return rc;
            if (tp) s->vary_tp = true;
            else s->vary_ep = true;
            continue;
        }
        int ax;
        if (strcmp(key, "batch") == 0) ax = AX_BATCH;
        else if (strcmp(key, len) == 0) ax = AX_LEN;
        else if (strcmp(key, "context") == 0 || strcmp(key, "seq") == 0)
            return cli_fail(C, "--vary %s is for --phase %s; --phase %s varies %s", key,
                            decode ? "prefill" : "decode", a->phase, len);
        else
            return cli_fail(C, "--vary: unknown name '%s' (batch, %s, tp, ep)", key, len);
        if (seen[ax]) return cli_fail(C, "--vary %s given twice", key);
        seen[ax] = true;
        const char *fixed_opt = ax == AX_BATCH ? a->batch : decode ? a->ctx : a->seq;
        if (fixed_opt)
            return cli_fail(C, "--vary %s and --%s both given; keep one", key,
                            ax == AX_BATCH ? "batch" : len);
        int rc = ax == AX_BATCH
                     ? parse_range(C, key, eq + 1, 1, 1073741824.0, s->vals[ax], &s->nv[ax])
                     : parse_range(C, key, eq + 1, decode ? 0 : 1, 1099511627776.0, s->vals[ax],
                                   &s->nv[ax]);
        if (rc) return rc;
        if (ax == AX_BATCH) fixed.batch = "1";
        else if (decode) fixed.ctx = "0";
        else fixed.seq = "1";
    }
    if (!seen[AX_BATCH] && !seen[AX_LEN] && !s->vary_tp && !s->vary_ep)
        return cli_fail(C, "nothing to sweep: give --vary batch=... and/or --vary %s=... "
                           "(or tp=..., ep=...)", len);
    int rc = cli_scenario(C, &fixed, &s->sc);
    if (rc) return rc;
    /* the splits: every (tp, ep) pair of the varied values */
    if (!s->vary_tp) tps[0] = s->sc.tp, ntp = 1;
    if (!s->vary_ep) eps[0] = s->sc.ep >= 1 ? s->sc.ep : 1, nep = 1;
    if (ntp * nep > SW_MAX_VALS)
        return cli_fail(C, "--vary tp and ep: %d x %d splits, at most %d", ntp, nep, SW_MAX_VALS);
    for (int t = 0; t < ntp; t++)
        for (int k = 0; k < nep; k++) {
            if (tps[t] > 1 && eps[k] > 1)
                return cli_fail(C, "--vary: tp %g with ep %g: ep with tp is not modelled yet; "
                                   "vary one of them", tps[t], eps[k]);
            s->par[s->npar++] = (struct sw_par){tps[t], eps[k]};
        }
    if (!seen[AX_BATCH]) s->vals[AX_BATCH][0] = s->sc.batch, s->nv[AX_BATCH] = 1;
    if (!seen[AX_LEN])
        s->vals[AX_LEN][0] = decode ? s->sc.context : s->sc.seq, s->nv[AX_LEN] = 1;
    return 0;
}

static int run_points(struct sw *s)
{
    const int nb = s->nv[AX_BATCH], nl = s->nv[AX_LEN];
    s->npts = s->nm * s->npar * nb * nl;
    s->pts = calloc((size_t)s->npts, sizeof *s->pts);
    if (!s->pts) return -1;
    const bool progress = isatty(STDERR_FILENO);
    int done = 0;
    for (int mi = 0; mi < s->nm; mi++) {
        struct analysis an;
        if (analysis_init(&an, s->m[mi])) return -1;
        for (int pi = 0; pi < s->npar; pi++)
        for (int bi = 0; bi < nb; bi++)
            for (int li = 0; li < nl; li++) {
                struct scenario sc = s->sc;
                sc.tp = s->par[pi].tp;
                sc.ep = s->par[pi].ep;
                sc.batch = s->vals[AX_BATCH][bi];
                if (sc.phase == PHASE_DECODE) sc.context = s->vals[AX_LEN][li];
                else sc.seq = s->vals[AX_LEN][li];
                analysis_run(&an, s->m[mi], s->d, &sc);
                struct sw_point *p = &s->pts[((mi * s->npar + pi) * nb + bi) * nl + li];
                const struct eval_totals *t = &an.tot;
                *p = (struct sw_point){
                    .model = mi, .par = pi, .batch = sc.batch, .len = s->vals[AX_LEN][li],
                    .time_s = t->time_s, .ttft_s = an.ttft_s, .tpot_s = an.tpot_s,
                    .tokens_per_s = an.tokens_per_s, .kv_cache_bytes = an.kv_cache_bytes,
                    .act_bytes = an.act_bytes, .memory_bytes = an.memory_bytes,
                    .max_batch = an.max_batch, .flops = t->flops, .bytes = t->bytes,
                    .bytes_w = t->cost.bytes_w, .bytes_kv = t->cost.bytes_kv,
                    .params = an.counts.params, .active_params = an.counts.active_params,
                    .weight_bytes = an.weight_bytes, .kv_per_token = an.kv_bytes_per_token,
                    .fits = an.fits};
                if (mi == 0 && pi == 0 && bi == 0 && li == 0)
                    s->dt_w = an.step.dt_w, s->dt_act = an.step.dt_act, s->dt_kv = an.step.dt_kv;
                if (progress && (++done % 64 == 0 || done == s->npts))
                    fprintf(stderr, "\rsweep: %d/%d points", done, s->npts);
            }
        analysis_free(&an);
    }
    if (progress) fprintf(stderr, "\r\033[K");
    return 0;
}

static void csv_name(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, const struct sw *s)
{
    char nb[64];
    fprintf(f, "model,hw,phase,batch,seq,context,tp,weight_dtype,activation_dtype,kv_dtype,"
               "time_s,ttft_s,tpot_s,tokens_per_s,kv_cache_bytes,activation_bytes,memory_bytes,"
               "fits,max_batch,flops,bytes,intensity,bytes_weights,bytes_kv_cache,params,"
               "active_params,weight_bytes,kv_cache_bytes_per_token,ep%s\n",
            s->sc.profile ? ",profile" : "");
    for (int i = 0; i < s->npts; i++) {
        const struct sw_point *p = &s->pts[i];
        csv_name(f, s->m[p->model]->name);
        fputc(',', f);
        csv_name(f, s->d->name);
        fprintf(f, ",%s,%s,", phase_name(s->sc.phase), fmt_exact(nb, sizeof nb, p->batch));
        if (s->sc.phase == PHASE_PREFILL) fprintf(f, "%s,,", fmt_exact(nb, sizeof nb, p->len));
        else fprintf(f, ",%s,", fmt_exact(nb, sizeof nb, p->len));
        fprintf(f, "%s,%s,%s,%s", fmt_exact(nb, sizeof nb, s->par[p->par].tp), dtype_name(s->dt_w),
                dtype_name(s->dt_act), dtype_name(s->dt_kv));
        const double v1[] = {p->time_s, p->ttft_s, p->tpot_s, p->tokens_per_s, p->kv_cache_bytes,
                             p->act_bytes, p->memory_bytes};
        for (size_t k = 0; k < sizeof v1 / sizeof v1[0]; k++)
            fprintf(f, ",%s", fmt_exact(nb, sizeof nb, v1[k]));
        fprintf(f, ",%s", p->fits ? "true" : "false");
        const double v2[] = {p->max_batch, p->flops, p->bytes, p->bytes > 0 ? p->flops / p->bytes : 0,
                             p->bytes_w, p->bytes_kv, p->params, p->active_params,
                             p->weight_bytes, p->kv_per_token};
        for (size_t k = 0; k < sizeof v2 / sizeof v2[0]; k++)
            fprintf(f, ",%s", fmt_exact(nb, sizeof nb, v2[k]));
        fprintf(f, ",%s", fmt_exact(nb, sizeof nb, s->par[p->par].ep));
        if (s->sc.profile) {
            fputc(',', f);
            csv_name(f, profile_name(s->sc.profile));
        }
        fputc('\n', f);
    }
}

/* One chart: y against axis `x`, curves over models and the other axis. */
struct chart {
    const char *name;   /* file base */
    const char *title;
    const char *ylabel, *yunit; /* yunit for SI tick labels ("s", "B") */
    int x;              /* AX_BATCH or AX_LEN */
    double (*y)(const struct sw_point *p);
    bool capacity;      /* draw the device's memory capacity */
};

static double y_kv(const struct sw_point *p) { return p->kv_cache_bytes; }
static double y_time(const struct sw_point *p) { return p->time_s; }

static void count_label(char *buf, size_t n, double v)
{
    if (v >= 1048576 && fmod(v, 1048576) == 0) snprintf(buf, n, "%.0fm", v / 1048576);
    else if (v >= 1024 && fmod(v, 1024) == 0) snprintf(buf, n, "%.0fk", v / 1024);
    else snprintf(buf, n, "%.0f", v);
}

/* Series mi (model mi / npar, split mi % npar): the model's name (when
 * several or `always`) and the split (when varied). */
static const char *series_name(char *buf, size_t n, const struct sw *s, int mi, bool always)
{
    const struct sw_par *p = &s->par[mi % s->npar];
    size_t k = (size_t)snprintf(buf, n, "%s", s->nm > 1 || always ? s->m[mi / s->npar]->name : "");
    if (s->vary_tp && k < n) k += (size_t)snprintf(buf + k, n - k, "%stp %g", k ? ", " : "", p->tp);
    if (s->vary_ep && k < n) snprintf(buf + k, n - k, "%sep %g", k ? ", " : "", p->ep);
    return buf;
}

static void write_chart_dat(FILE *f, const struct sw *s, const struct chart *c)
{
    const int other = 1 - c->x, nb = s->nv[AX_BATCH], nl = s->nv[AX_LEN];
    const char *xn = c->x == AX_BATCH ? "batch" : len_name(s);
    char nb64[2][64];
    fprintf(f, "# %s.dat - made by: %s\n# one block per curve (gnuplot index); columns: %s %s "
               "fits (1 = fits in device memory)\n",
            c->name, s->cmd_line, xn, c->ylabel);
    int block = 0;
    char sn[160];
    for (int mi = 0; mi < s->nm * s->npar; mi++)
        for (int o = 0; o < s->nv[other]; o++, block++) {
            fprintf(f, "%s# block %d: model %s, %s %.0f\n", block ? "\n\n" : "", block,
                    series_name(sn, sizeof sn, s, mi, true), other == AX_BATCH ? "batch" : len_name(s),
                    s->vals[other][o]);
            for (int xi = 0; xi < s->nv[c->x]; xi++) {
                int bi = c->x == AX_BATCH ? xi : o, li = c->x == AX_BATCH ? o : xi;
                const struct sw_point *p = &s->pts[(mi * nb + bi) * nl + li];
                fprintf(f, "%s %s %d\n", fmt_exact(nb64[0], 64, s->vals[c->x][xi]),
                        fmt_exact(nb64[1], 64, c->y(p)), p->fits ? 1 : 0);
            }
        }
}

static void write_chart_gp(FILE *f, const struct sw *s, const struct chart *c)
{
    const int other = 1 - c->x;
    const char *xn = c->x == AX_BATCH ? "batch (sequences)" : s->sc.phase == PHASE_DECODE
                                                                ? "context (cached tokens)"
                                                                : "prompt length (tokens)";
    char b[512], v[64];
    fprintf(f, "# %s.gp - made by: %s\n# Restyle and redraw from this folder: gnuplot %s.gp\n",
            c->name, s->cmd_line, c->name);
    fprintf(f, "if (!exists(\"png_file\")) png_file = '%s.png'\n", c->name);
    fprintf(f, "if (!exists(\"svg_file\")) svg_file = '%s.svg'\n", c->name);
    fprintf(f, "DATA = '%s.dat'\n\n", c->name);
    fprintf(f, "set terminal pngcairo size 1200,800 noenhanced font 'sans,12'\n");
    fprintf(f, "set output png_file\n");
    fprintf(f, "set logscale x 2\nset logscale y 10\nset grid xtics ytics lc rgb '#dddddd' lt 1\n");
    fprintf(f, "set xlabel '%s'\nset ylabel '%s'\n", xn, c->ylabel);
    plot_gp_yformat(f, c->yunit);
    if (s->nv[c->x] <= 16) {
        fprintf(f, "set xtics (");
        for (int i = 0; i < s->nv[c->x]; i++) {
            count_label(v, sizeof v, s->vals[c->x][i]);
            fprintf(f, "%s'%s' %.17g", i ? ", " : "", v, s->vals[c->x][i]);
        }
        fprintf(f, ")\n");
    }
    fprintf(f, "set offsets graph 0.02, graph 0.02, 0, 0\n");
    size_t k = (size_t)snprintf(b, sizeof b, "%s on %s", c->title, s->d->name);
    fprintf(f, "set title ");
    plot_gp_str(f, b);
    k = (size_t)snprintf(b, sizeof b, "weights %s, KV cache %s", dtype_name(s->dt_w),
                         dtype_name(s->dt_kv));
    if (s->vary_tp || s->vary_ep)
        snprintf(b + k, sizeof b - k, ", per device of each split");
    else if (s->sc.tp > 1)
        snprintf(b + k, sizeof b - k, ", %.0f-way tensor parallel: per device", s->sc.tp);
    fprintf(f, " . \"\\n\" . ");
    plot_gp_str(f, b);
    fprintf(f, "\nset key outside right top Left reverse samplen 3 spacing 1.2\n");
    if (c->capacity)
        fprintf(f, "CAPACITY = %.17g  # device memory, bytes\n"
                   "set arrow from graph 0, first CAPACITY to graph 1, first CAPACITY nohead "
                   "dt 2 lw 1.5 lc rgb '#555555'\n"
                   "set label 'device memory %s' at graph 0.01, first CAPACITY offset 0,0.7 "
                   "left tc rgb '#555555'\n",
                s->d->mem_capacity_bytes, fmt_bin(v, sizeof v, s->d->mem_capacity_bytes));
    fprintf(f, "# a curve per model (point type) and %s (colour); open points do not fit in "
               "device memory\nplot \\\n",
            other == AX_BATCH ? "batch" : len_name(s));
    /* Curve (model mi, value o): colour o mod 8 (Okabe-Ito); point type and dash
     * from (mi + w, mi + 2w) mod 5 with w = o / 8, a one-to-one map of (mi, w)
     * for mi, w < 5, so up to 5 models x 40 values every curve differs from
     * every other in colour, marker or dash. The key lists at most SW_KEY_MAX
     * curves; the rest are counted under it (all are named in sweep.csv). */
    const int ns = s->nm * s->npar, total = ns * s->nv[other];
    int block = 0;
    char sn[160];
    for (int mi = 0; mi < ns; mi++)
        for (int o = 0; o < s->nv[other]; o++, block++) {
            /* one value on the other axis: the colour tells the series apart */
            const char *col = PLOT_COLORS[(s->nv[other] > 1 ? o : mi) % PLOT_NCOLORS];
            static const int PT_FILLED[5] = {7, 5, 9, 13, 11}, PT_OPEN[5] = {6, 4, 8, 12, 10};
            const int w = o / PLOT_NCOLORS, pt = (mi + w) % 5, dt = 1 + (mi + 2 * w) % 5;
            count_label(v, sizeof v, s->vals[other][o]);
            series_name(sn, sizeof sn, s, mi, false);
            snprintf(b, sizeof b, "%s%s%s %s", sn, sn[0] ? ", " : "",
                     other == AX_BATCH ? "batch" : len_name(s), v);
            if (total <= SW_KEY_MAX || block < SW_KEY_MAX - 1) {
                fprintf(f, "  keyentry with linespoints lw 2 dt %d pt %d ps 1.2 lc rgb '%s' title ",
                        dt, PT_FILLED[pt], col);
                plot_gp_str(f, b);
                fprintf(f, ", \\\n");
            } /* else unnamed in the key (a comment would end the plot command) */
            fprintf(f, "  DATA index %d using 1:2 with lines lw 2 dt %d lc rgb '%s' notitle, "
                       "\\\n", block, dt, col);
            fprintf(f, "  DATA index %d using 1:($3 > 0 ? $2 : NaN) with points pt %d ps 1.2 "
                       "lc rgb '%s' notitle, \\\n",
                    block, PT_FILLED[pt], col);
            fprintf(f, "  DATA index %d using 1:($3 > 0 ? NaN : $2) with points pt %d ps 1.2 "
                       "lc rgb '%s' notitle, \\\n",
                    block, PT_OPEN[pt], col);
        }
    if (total > SW_KEY_MAX)
        fprintf(f, "  keyentry title '... and %d more curves (named in sweep.csv)', \\\n",
                total - (SW_KEY_MAX - 1));
    fprintf(f, "  keyentry title ' ', keyentry with points pt 6 lc rgb '#333333' "
               "title 'open: does not fit'\n\n");
    fprintf(f, "set terminal svg size 1200,800 dynamic noenhanced font 'sans,12' background "
               "rgb 'white'\nset output svg_file\nreplot\nset output\n");
}

/* The files this run has written so far: an interrupt before the last chart
 * is drawn removes them all (outfile_guard), so an interrupted sweep leaves
 * no folder holding some of its files and not others. */
#define SW_MAX_FILES 16
static char sw_written[SW_MAX_FILES][PLOT_PATH_MAX];
static int sw_n_written;

static void unguard_written(void)
{
    for (int i = 0; i < sw_n_written; i++) outfile_unguard(sw_written[i]);
    sw_n_written = 0;
}

static int write_file(const char *dir, const char *name, void (*fn)(FILE *, const struct sw *,
                                                                    const struct chart *),
                      const struct sw *s, const struct chart *c, struct err *e)
{
    OB_ASSERT(sw_n_written < SW_MAX_FILES);
    char *path = sw_written[sw_n_written];
    struct plot_out o;
    if (plot_path(path, PLOT_PATH_MAX, dir, name)) return err_set(e, dir, 0, 0, "path too long");
    if (plot_out_open(&o, path, e)) return -1;
    fn(o.f, s, c);
    if (plot_out_commit(&o, e)) return -1;
    outfile_guard(path);
    sw_n_written++;
    return 0;
}

static void csv_fn(FILE *f, const struct sw *s, const struct chart *c)
{
    (void)c;
    write_csv(f, s);
}

static int write_all(struct sw *s, const char *dir)
{
    const char *C = "sweep";
    const bool dec = s->sc.phase == PHASE_DECODE;
    const struct chart charts[] = {
        {dec ? "kv_cache_vs_context" : "kv_cache_vs_seq", "KV cache", "KV cache (bytes)", "B",
         AX_LEN, y_kv, true},
        {dec ? "decode_time_vs_context" : "prefill_time_vs_seq",
         dec ? "Decode time per output token" : "Prefill time (time to first token)",
         dec ? "time per output token (s)" : "prefill step time (s)", "s", AX_LEN, y_time, false},
        {dec ? "decode_time_vs_batch" : "prefill_time_vs_batch",
         dec ? "Decode time per output token" : "Prefill time (time to first token)",
         dec ? "time per output token (s)" : "prefill step time (s)", "s", AX_BATCH, y_time,
         false},
    };
    struct err e;
    /* -o that cannot be created or written is bad input (exit 2, docs/output.md) */
    if (plot_mkdirs(dir, &e) || write_file(dir, "sweep.csv", csv_fn, s, NULL, &e)) {
        unguard_written();
        return cli_fail_out(&e);
    }
    printf("wrote %s/sweep.csv (%d points)\n", dir, s->npts);
    bool warned = false;
    int rc = 0;
    for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) {
        const struct chart *c = &charts[i];
        if (s->nv[c->x] < 2) continue;
        char name[3][128];
        snprintf(name[0], sizeof name[0], "%s.dat", c->name);
        snprintf(name[1], sizeof name[1], "%s.gp", c->name);
        if (write_file(dir, name[0], write_chart_dat, s, c, &e) ||
            write_file(dir, name[1], write_chart_gp, s, c, &e)) {
            unguard_written();
            return cli_fail_out(&e);
        }
        snprintf(name[0], sizeof name[0], "%s.png", c->name);
        snprintf(name[2], sizeof name[2], "%s.svg", c->name);
        const char *vars[] = {"png_file", "svg_file"}, *files[] = {name[0], name[2]};
        int r = cli_render(C, dir, name[1], vars, files, 2, &warned);
        for (int k = 0; k < 2 && r == 0 && !warned; k++) { /* the images drawn */
            OB_ASSERT(sw_n_written < SW_MAX_FILES);
            if (plot_path(sw_written[sw_n_written], PLOT_PATH_MAX, dir, files[k]) == 0)
                outfile_guard(sw_written[sw_n_written++]);
        }
        if (r) rc = r;
        else printf("wrote %s/%s.%s\n", dir, c->name, warned ? "{gp,dat}" : "{png,svg,gp,dat}");
    }
    unguard_written();
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    const char *C = "sweep";
    struct cli_args a;
    int rc = cli_parse(&CLI_SWEEP, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_SWEEP, stdout);
        return 0;
    }
    static struct sw s;
    memset(&s, 0, sizeof s);
    if (a.npos == 0) return cli_fail(C, "missing MODEL");
    if (a.npos > SW_MAX_MODELS)
        return cli_fail(C, "at most %d models in one sweep, got %d", SW_MAX_MODELS, a.npos);
    if (!a.hw) return cli_fail(C, "missing --hw HW");
    if (!a.out) return cli_fail(C, "missing -o DIR (the output folder)");
    if ((rc = parse_axes(C, &a, &s))) return rc;
    if (strlen(a.out) > 900) return cli_fail(C, "-o %.40s...: path too long", a.out);
    char cmd_line[2048];
    size_t k = (size_t)snprintf(cmd_line, sizeof cmd_line, "opbound sweep");
    for (int i = 0; i < argc && k < sizeof cmd_line; i++)
        k += (size_t)snprintf(cmd_line + k, sizeof cmd_line - k, " %s", argv[i]);
    s.cmd_line = cmd_line;

    struct err e;
    struct device *d = NULL;
    if (cli_load_device(a.hw, &d, &e)) return cli_fail_err(&e);
    s.d = d;
    for (int i = 0; i < a.npos && !rc; i++) {
        if (cli_load_model(a.pos[i], &s.m[i], &e)) {
            rc = cli_fail_err(&e);
            break;
        }
        s.nm = i + 1;
        for (int pi = 0; pi < s.npar && !rc; pi++) {
            struct scenario sc = s.sc;
            sc.tp = s.par[pi].tp;
            sc.ep = s.par[pi].ep;
            rc = cli_check_scenario(s.m[i], &sc);
            if (!rc && analysis_check_compute(s.m[i], d, &sc, &e)) rc = cli_fail_err(&e);
        }
    }
    if (!rc && run_points(&s)) {
        fprintf(stderr, "opbound: out of memory\n");
        rc = 1;
    }
    if (!rc) rc = write_all(&s, a.out);
    free(s.pts);
    for (int i = 0; i < s.nm; i++) model_free(s.m[i]);
    device_free(d);
    return rc;
}
