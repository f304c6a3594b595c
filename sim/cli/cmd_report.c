/* cmd_report.c - `opbound report STUDY.yaml -o DIR`: everything about a study
 * in one folder, for reading (report.md, report.html) and for scripts (csv,
 * gnuplot data and scripts).
 *
 * Per (device, scenario) block: the compare table (rows as `opbound compare`),
 * rooflines of the scenario's step with every design (at most 8 designs per
 * chart; with more, every chart repeats the first design as the baseline),
 * KV-cache bytes and decode time per token against the context at the
 * scenario's batch, a stacked bar per design of where the step time goes, and
 * the per-op tables (ops/BLOCK/NN-design.csv). compare.csv holds every block.
 *
 * Everything is written into a hidden temp folder beside DIR and renamed to
 * DIR at the end, so a failed report leaves nothing half-written. An existing
 * DIR is replaced only when it holds a report.md (an earlier report). Bad
 * input exits 2 before anything is created. docs/plots.md describes the files. */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp, isatty */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../reports/compare_report.h"
#include "../../reports/fmt.h"
#include "../../reports/plot.h"
#include "../../reports/report_charts.h"
#include "../../reports/report_doc.h"
#include "../../reports/roofline_plot.h"
#include "../core/outfile.h"
#include "cli.h"
#include "../study.h"

#define RP_PER_CHART ROOFLINE_MAX_MODELS
#ifndef OB_VERSION
#define OB_VERSION "0.1.0"
#endif

static const struct cli_opt OPTS[] = {
    {"-o", "DIR", "output folder; it is replaced when it holds an earlier\n"
                  "report"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_REPORT = {
    .name = "report",
    .brief = "report STUDY.yaml -o DIR",
    .summary = "tables, charts and csv of a study",
    .usage = "opbound report STUDY.yaml -o DIR",
    .about = "Writes a report of a study file (see examples/study-attention.yaml) into folder DIR:\n"
             "report.md and report.html (tables and charts), compare.csv (the rows of 'opbound\n"
             "compare STUDY.yaml --format csv'), and per device and scenario: rooflines of every\n"
             "design, KV-cache bytes and decode time per token against the context, a breakdown of\n"
             "the step time per design (each chart as .png, .svg, .gp and .dat), the breakdown as\n"
             "csv and the per-op tables as csv (ops/). The devices and scenarios come from the\n"
             "study file.\n",
    .opts = OPTS,
    .notes = "Without gnuplot everything but the images is written (exit status 0).\n",
};

struct rp_block {
    char slug[160];  /* file-name part: "h100-sxm5-80gb_decode-b32-c8192" */
    char title[256]; /* "H100-SXM5-80GB: decode, batch 32, context 8192" */
    struct compare_block cb;
    int n_roof;      /* roofline charts */
};

struct rp {
    const char *cmd_line, *final_dir;
    struct study *s;
    struct device *devs[STUDY_MAX];
    struct analysis an[STUDY_MAX];
    const char *names[STUDY_MAX];
    struct rp_block *blocks;
    int nb;
    struct compare_row *rows;
    char dir[PLOT_PATH_MAX]; /* the temp folder everything goes to */
    bool images;             /* gnuplot found: images are drawn */
    bool failed_inside;      /* gnuplot failed or memory ran out: exit 1, not 2 */
    bool progress;
    int nfiles;
};

/* Lower-case letters and digits; anything else becomes one '-'. */
static void slugify(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.') out[k++] = c;
        else if (k > 0 && out[k - 1] != '-') out[k++] = '-';
    }
    while (k > 0 && out[k - 1] == '-') k--;
    if (k == 0 && n > 1) out[k++] = 'x';
    out[k] = 0;
}

static void scenario_text(char *buf, size_t n, const struct scenario *sc)
{
    int k = sc->phase == PHASE_PREFILL
                ? snprintf(buf, n, "prefill, batch %.0f, prompt %.0f", sc->batch, sc->seq)
                : snprintf(buf, n, "decode, batch %.0f, context %.0f", sc->batch, sc->context);
    if (sc->tp > 1 && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, ", %.0f-way tensor parallel", sc->tp);
}

/* "decode-b32-c8192", "prefill-b1-s4096-tp2" */
static void scenario_slug(char *buf, size_t n, const struct scenario *sc)
{
    int k = sc->phase == PHASE_PREFILL
                ? snprintf(buf, n, "prefill-b%.0f-s%.0f", sc->batch, sc->seq)
                : snprintf(buf, n, "decode-b%.0f-c%.0f", sc->batch, sc->context);
    if (sc->tp > 1 && k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, "-tp%.0f", sc->tp);
}

static void progress(const struct rp *r, int bi, const char *what)
{
    if (r->progress)
        fprintf(stderr, "\rreport: %d/%d %s: %s\033[K", bi + 1, r->nb, r->blocks[bi].slug, what);
}

static int open_out(struct rp *r, const char *name, struct plot_out *o, struct err *e)
{
    char path[PLOT_PATH_MAX];
    if (plot_path(path, sizeof path, r->dir, name)) return err_set(e, name, 0, 0, "path too long");
    r->nfiles++;
    return plot_out_open(o, path, e);
}

/* Draws BASE.png and BASE.svg from BASE.gp when gnuplot is there. */
static int render(struct rp *r, const char *base, struct err *e)
{
    if (!r->images) return 0;
    char gp[256], png[256], svg[256];
    snprintf(gp, sizeof gp, "%s.gp", base);
    snprintf(png, sizeof png, "%s.png", base);
    snprintf(svg, sizeof svg, "%s.svg", base);
    const char *vars[] = {"png_file", "svg_file"}, *files[] = {png, svg};
    switch (plot_render(r->dir, gp, vars, files, 2, e)) {
    case PLOT_RENDERED: r->nfiles += 2; return 0;
    case PLOT_NO_GNUPLOT: r->images = false; return 0;
    case PLOT_FAILED: r->failed_inside = true; return -1;
    }
    return -1;
}

/* Per-op csv of every design and the breakdown of the step, for block bi
 * (the analyses have run for its scenario). */
static int write_tables(struct rp *r, int bi, double (*bd)[BD_COUNT], struct err *e)
{
    const struct rp_block *b = &r->blocks[bi];
    const struct study *s = r->s;
    char name[PLOT_PATH_MAX], path[PLOT_PATH_MAX], slug[80];
    struct plot_out o;
    snprintf(name, sizeof name, "ops/%s", b->slug);
    if (plot_path(path, sizeof path, r->dir, name) || plot_mkdirs(path, e))
        return err_set(e, name, 0, 0, "cannot create the folder");
    for (int k = 0; k < s->n_designs; k++) {
        slugify(slug, sizeof slug, s->designs[k].name);
        snprintf(name, sizeof name, "ops/%s/%02d-%s.csv", b->slug, k + 1, slug);
        if (open_out(r, name, &o, e)) return -1;
        const struct analysis_view v = {.m = s->designs[k].m, .d = b->cb.d, .sc = b->cb.sc, .a = &r->an[k]};
        report_analysis_csv(o.f, &v, true);
        if (plot_out_commit(&o, e)) return -1;
    }
    snprintf(name, sizeof name, "breakdown_%s.csv", b->slug);
    if (open_out(r, name, &o, e)) return -1;
    char nb[64];
    fprintf(o.f, "design");
    for (int p = 0; p < BD_COUNT; p++) fprintf(o.f, ",%s", breakdown_part_id((enum bd_part)p));
    fprintf(o.f, ",time_s\n");
    for (int k = 0; k < s->n_designs; k++) {
        fprintf(o.f, "\"");
        for (const char *c = s->designs[k].name; *c; c++)
            fprintf(o.f, *c == '"' ? "\"\"" : "%c", *c);
        fprintf(o.f, "\"");
        for (int p = 0; p < BD_COUNT; p++) fprintf(o.f, ",%s", fmt_exact(nb, sizeof nb, bd[k][p]));
        fprintf(o.f, ",%s\n", fmt_exact(nb, sizeof nb, r->an[k].tot.time_s));
    }
    return plot_out_commit(&o, e);
}

/* Rooflines of block bi: at most RP_PER_CHART designs per chart; with more,
 * each chart starts with the first design (the baseline) and the others are
 * spread evenly over the charts. */
static int write_rooflines(struct rp *r, int bi, struct err *e)
{
    struct rp_block *b = &r->blocks[bi];
    const int n = r->s->n_designs;
    const int nchart = n <= RP_PER_CHART ? 1 : (n - 1 + RP_PER_CHART - 2) / (RP_PER_CHART - 1);
    b->n_roof = nchart;
    int next = n <= RP_PER_CHART ? 0 : 1;
    for (int c = 0; c < nchart; c++) {
        struct roofline_plot p;
        memset(&p, 0, sizeof p);
        p.cmd_line = r->cmd_line;
        p.d = b->cb.d;
        p.sc[0] = *b->cb.sc;
        p.nph = 1;
        char title[256], base[256];
        if (nchart == 1) {
            for (int k = 0; k < n; k++) p.m[k] = r->s->designs[k].m, p.label[k] = r->names[k];
            p.n = n;
            snprintf(title, sizeof title, "Roofline of %s: %d design%s", b->cb.d->name, n,
                     n == 1 ? "" : "s");
            snprintf(base, sizeof base, "roofline_%s", b->slug);
        } else {
            const int others = n - 1, take = others / nchart + (c < others % nchart);
            p.m[0] = r->s->designs[0].m, p.label[0] = r->names[0];
            for (int k = 0; k < take; k++, next++)
                p.m[k + 1] = r->s->designs[next].m, p.label[k + 1] = r->names[next];
            p.n = take + 1;
            snprintf(title, sizeof title, "Roofline of %s: %s and designs %d-%d of %d (chart %d "
                                          "of %d)",
                     b->cb.d->name, r->names[0], next - take + 1, next, n, c + 1, nchart);
            snprintf(base, sizeof base, "roofline_%s_%d", b->slug, c + 1);
        }
        p.title = title;
        r->nfiles += 2;
        if (roofline_plot_write(&p, r->dir, base, e) || render(r, base, e)) return -1;
    }
    return 0;
}

/* KV-cache bytes and decode time per token against the context (1k doubling
 * up to max(128k, the scenario's length)) at the scenario's batch. */
static int write_curves(struct rp *r, int bi, struct err *e)
{
    const struct rp_block *b = &r->blocks[bi];
    const int n = r->s->n_designs;
    const double len = b->cb.sc->phase == PHASE_DECODE ? b->cb.sc->context : b->cb.sc->seq;
    const double last = len > 131072 ? len : 131072;
    double x[CURVES_MAX_X];
    int nx = 0;
    for (double v = 1024; v < last && nx < CURVES_MAX_X - 1; v *= 2) x[nx++] = v;
    x[nx++] = last;
    double *kv = calloc((size_t)(2 * n * nx), sizeof *kv), *tp = kv + n * nx;
    bool *fits = calloc((size_t)(n * nx), sizeof *fits);
    if (!kv || !fits) {
        free(kv);
        free(fits);
        return err_set(e, r->final_dir, 0, 0, "out of memory");
    }
    struct scenario sc = *b->cb.sc;
    sc.phase = PHASE_DECODE;
    sc.seq = 0;
    for (int k = 0; k < n; k++)
        for (int j = 0; j < nx; j++) {
            sc.context = x[j];
            analysis_run(&r->an[k], r->s->designs[k].m, b->cb.d, &sc);
            kv[k * nx + j] = r->an[k].kv_cache_bytes;
            tp[k * nx + j] = r->an[k].tot.time_s;
            fits[k * nx + j] = r->an[k].fits;
        }
    char sub[256], title[256], base[256];
    snprintf(sub, sizeof sub, "%s; batch %.0f%s; designs with identical values share a curve",
             b->cb.d->name, sc.batch, sc.tp > 1 ? ", per device" : "");
    struct curves c = {
        .cmd_line = r->cmd_line, .title = title, .subtitle = sub,
        .xlabel = "context (cached tokens per sequence)", .n = n, .names = r->names,
        .nx = nx, .x = x, .fits = fits};
    snprintf(title, sizeof title, "KV cache against context");
    c.ylabel = "KV cache (bytes)", c.yunit = "B", c.y = kv;
    c.capacity = b->cb.d->mem_capacity_bytes;
    snprintf(base, sizeof base, "kv_cache_%s", b->slug);
    r->nfiles += 2;
    int rc = chart_curves_write(&c, r->dir, base, e) || render(r, base, e) ? -1 : 0;
    if (rc == 0) {
        snprintf(title, sizeof title, "Decode time per output token against context");
        c.ylabel = "time per output token (s)", c.yunit = "s", c.y = tp, c.capacity = 0;
        snprintf(base, sizeof base, "decode_time_%s", b->slug);
        r->nfiles += 2;
        rc = chart_curves_write(&c, r->dir, base, e) || render(r, base, e) ? -1 : 0;
    }
    free(kv);
    free(fits);
    return rc;
}

static int run_block(struct rp *r, int bi, struct err *e)
{
    struct rp_block *b = &r->blocks[bi];
    const int n = r->s->n_designs;
    double (*bd)[BD_COUNT] = calloc((size_t)n, sizeof *bd);
    bool *fits = calloc((size_t)n, sizeof *fits);
    if (!bd || !fits) {
        free(bd);
        free(fits);
        r->failed_inside = true;
        return err_set(e, r->final_dir, 0, 0, "out of memory");
    }
    progress(r, bi, "tables");
    for (int k = 0; k < n; k++) {
        analysis_run(&r->an[k], r->s->designs[k].m, b->cb.d, b->cb.sc);
        compare_row_fill(&b->cb.rows[k], r->names[k], &r->an[k], b->cb.sc);
        if (compare_row_train(&b->cb.rows[k], r->s->designs[k].m, b->cb.d, b->cb.sc)) {
            free(bd);
            free(fits);
            r->failed_inside = true;
            return err_set(e, r->final_dir, 0, 0, "out of memory");
        }
        breakdown_sum(&r->an[k], bd[k]);
        fits[k] = r->an[k].fits;
    }
    int rc = write_tables(r, bi, bd, e);
    char title[256], sub[256], base[256];
    snprintf(title, sizeof title, "Where the %s step time goes",
             phase_name(b->cb.sc->phase));
    snprintf(sub, sizeof sub, "%s", b->title);
    const struct breakdown brk = {r->cmd_line, title, sub, "step time, all layers (s)", n,
                                  r->names, (const double(*)[BD_COUNT])bd, fits};
    snprintf(base, sizeof base, "breakdown_%s", b->slug);
    progress(r, bi, "breakdown");
    if (rc == 0) r->nfiles += 2, rc = chart_breakdown_write(&brk, r->dir, base, e);
    if (rc == 0) rc = render(r, base, e);
    free(bd);
    free(fits);
    progress(r, bi, "rooflines");
    if (rc == 0) rc = write_rooflines(r, bi, e);
    progress(r, bi, "curves");
    if (rc == 0) rc = write_curves(r, bi, e);
    return rc;
}

static void image(struct doc *d, const struct rp *r, const char *base, const char *alt)
{
    char png[300], gp[300];
    snprintf(png, sizeof png, "%s.png", base);
    snprintf(gp, sizeof gp, "%s.gp", base);
    doc_image(d, png, alt, r->images, gp);
}

static void write_doc(FILE *f, enum doc_fmt fmt, const struct rp *r)
{
    const struct study *s = r->s;
    struct doc d;
    char buf[512], base[256];
    doc_begin(&d, f, fmt, s->name);
    d.dir = r->dir; /* the images are inlined from the folder being built */
    doc_para(&d, "Made by opbound %s from the study file %s: %d designs, %d device%s, %d "
                 "scenario%s. The command:", OB_VERSION, s->file, s->n_designs, s->n_hw,
             s->n_hw == 1 ? "" : "s", s->n_scenarios, s->n_scenarios == 1 ? "" : "s");
    doc_code(&d, r->cmd_line);
    doc_para(&d, "TTFT is the prefill of the batch at the scenario's length, TPOT one decode "
                 "step at that context; ratios are against the first design; '!' marks a "
                 "memory footprint that does not fit the device. Memory held (KV/token, memory) "
                 "is in binary units (GiB = 2^30 B), other numbers use decimal SI prefixes; "
                 "the csv files hold them exactly. Every chart has its gnuplot "
                 "script (.gp) and data (.dat) beside it: run gnuplot NAME.gp in this folder "
                 "to redraw it.");
    doc_list_begin(&d);
    doc_link(&d, "compare.csv", "- every table below, as opbound compare STUDY --format csv");
    doc_list_end(&d);
    for (int bi = 0; bi < r->nb; bi++) {
        const struct rp_block *b = &r->blocks[bi];
        doc_heading(&d, 2, b->title);
        doc_heading(&d, 3, "Designs side by side");
        doc_compare_table(&d, &b->cb);
        doc_heading(&d, 3, "Roofline");
        doc_para(&d, "One point per op of the %s step (figures per layer): x = FLOPs per byte, "
                     "y = FLOPs / roofline time; colour = design, shape = op kind.%s",
                 phase_name(b->cb.sc->phase),
                 b->n_roof > 1 ? " With more designs than fit one chart, every chart repeats "
                                 "the first design as the baseline."
                               : "");
        for (int c = 0; c < b->n_roof; c++) {
            if (b->n_roof == 1) snprintf(base, sizeof base, "roofline_%s", b->slug);
            else snprintf(base, sizeof base, "roofline_%s_%d", b->slug, c + 1);
            snprintf(buf, sizeof buf, "roofline %d of %d, %s", c + 1, b->n_roof, b->title);
            image(&d, r, base, buf);
        }
        doc_heading(&d, 3, "Where the time goes");
        doc_para(&d, "The %s step time of each design split by part of the layer, summed over "
                     "all layers (kernel overhead included).", phase_name(b->cb.sc->phase));
        snprintf(base, sizeof base, "breakdown_%s", b->slug);
        snprintf(buf, sizeof buf, "breakdown, %s", b->title);
        image(&d, r, base, buf);
        doc_heading(&d, 3, "KV cache and decode time against context");
        doc_para(&d, "At this scenario's batch of %.0f, context doubling from 1k; designs with "
                     "identical values share one curve; open points do not fit in device "
                     "memory.", b->cb.sc->batch);
        snprintf(base, sizeof base, "kv_cache_%s", b->slug);
        snprintf(buf, sizeof buf, "KV cache against context, %s", b->title);
        image(&d, r, base, buf);
        snprintf(base, sizeof base, "decode_time_%s", b->slug);
        snprintf(buf, sizeof buf, "decode time per token against context, %s", b->title);
        image(&d, r, base, buf);
        doc_heading(&d, 3, "Data");
        doc_list_begin(&d);
        snprintf(base, sizeof base, "breakdown_%s.csv", b->slug);
        doc_link(&d, base, "- the breakdown above, seconds per part");
        for (int k = 0; k < s->n_designs; k++) {
            char slug[80];
            slugify(slug, sizeof slug, s->designs[k].name);
            snprintf(buf, sizeof buf, "ops/%s/%02d-%s.csv", b->slug, k + 1, slug);
            snprintf(base, sizeof base, "- per-op table of %s (as opbound analyze --per-op "
                                        "--format csv)", s->designs[k].name);
            doc_link(&d, buf, base);
        }
        doc_list_end(&d);
    }
    doc_end(&d);
}

static int write_docs(struct rp *r, struct err *e)
{
    struct plot_out o;
    if (open_out(r, "compare.csv", &o, e)) return -1;
    struct compare_block *cb = calloc((size_t)r->nb, sizeof *cb);
    if (!cb) {
        plot_out_discard(&o);
        return err_set(e, r->final_dir, 0, 0, "out of memory");
    }
    for (int bi = 0; bi < r->nb; bi++) cb[bi] = r->blocks[bi].cb;
    report_compare(o.f, OUT_CSV, r->s->name, cb, r->nb);
    free(cb);
    if (plot_out_commit(&o, e)) return -1;
    static const char *const NAMES[] = {"report.md", "report.html"};
    for (int i = 0; i < 2; i++) {
        if (open_out(r, NAMES[i], &o, e)) return -1;
        write_doc(o.f, i ? DOC_HTML : DOC_MD, r);
        if (plot_out_commit(&o, e)) return -1;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Moves the finished temp folder to DIR (replacing an earlier report). */
static int install(struct rp *r, const char *parent, const char *name, struct err *e)
{
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    chmod(r->dir, 0777 & ~mask);
    if (stat(r->final_dir, &st) != 0) {
        if (rename(r->dir, r->final_dir) != 0)
            return err_set(e, r->final_dir, 0, 0, "cannot create: %s", strerror(errno));
        return 0;
    }
    char old[PLOT_PATH_MAX];
    snprintf(old, sizeof old, "%.700s/.%.200s.old-XXXXXX", parent, name);
    if (!mkdtemp(old) || rename(r->final_dir, old) != 0)
        return err_set(e, r->final_dir, 0, 0, "cannot replace: %s", strerror(errno));
    if (rename(r->dir, r->final_dir) != 0) {
        int er = errno;
        rename(old, r->final_dir);
        return err_set(e, r->final_dir, 0, 0, "cannot replace: %s", strerror(er));
    }
    rm_tree(old);
    return 0;
}

/* Checks -o DIR before anything is written: an existing DIR must be a folder
 * with an earlier report or empty. Splits it into parent and name. */
static int check_out(const char *C, const char *out, char *dir, char *parent, char *name)
{
    size_t len = strlen(out);
    while (len > 1 && out[len - 1] == '/') len--;
    if (len == 0 || len > 700) return cli_fail(C, "-o: give a folder name (at most 700 characters)");
    snprintf(dir, PLOT_PATH_MAX, "%.*s", (int)len, out);
    const char *slash = strrchr(dir, '/');
    snprintf(name, 256, "%.200s", slash ? slash + 1 : dir);
    if (slash == dir) snprintf(parent, PLOT_PATH_MAX, "/");
    else if (slash) snprintf(parent, PLOT_PATH_MAX, "%.*s", (int)(slash - dir), dir);
    else snprintf(parent, PLOT_PATH_MAX, ".");
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(dir, "/") == 0)
        return cli_fail(C, "-o %s: give a new folder name, e.g. -o out/report", out);
    struct stat st;
    if (stat(dir, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return cli_fail(C, "-o %s: exists and is not a folder", out);
    char md[PLOT_PATH_MAX + 16];
    snprintf(md, sizeof md, "%s/report.md", dir);
    if (access(md, F_OK) == 0) return 0;
    DIR *dp = opendir(dir);
    bool empty = dp != NULL;
    for (struct dirent *de; dp && (de = readdir(dp));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = false;
    if (dp) closedir(dp);
    if (empty) return 0;
    return cli_fail(C, "-o %s: the folder exists and holds no earlier report (report.md); "
                       "give a new or empty folder",
                    out);
}

static int make_report(struct rp *r, const char *parent, const char *name)
{
    const struct study *s = r->s;
    struct err e;
    int rc = 0;
    for (int i = 0; i < s->n_hw && rc == 0; i++)
        if (device_load(s->hw[i], &r->devs[i], &e)) return cli_fail_err(&e);
    r->nb = s->n_hw * s->n_scenarios;
    r->blocks = calloc((size_t)r->nb, sizeof *r->blocks);
    r->rows = calloc((size_t)(r->nb * s->n_designs), sizeof *r->rows);
    OB_ASSERT(r->blocks && r->rows);
    for (int i = 0; i < s->n_hw; i++)
        for (int j = 0; j < s->n_scenarios; j++) {
            struct rp_block *b = &r->blocks[i * s->n_scenarios + j];
            char hw[64], sc[128];
            slugify(hw, sizeof hw, r->devs[i]->name);
            scenario_text(sc, sizeof sc, &s->scenarios[j]);
            snprintf(b->title, sizeof b->title, "%s: %s", r->devs[i]->name, sc);
            scenario_slug(sc, sizeof sc, &s->scenarios[j]);
            /* the scenario's number keeps names unique (dtype overrides are not named) */
            snprintf(b->slug, sizeof b->slug, "%.60s_%d-%.80s", hw, j + 1, sc);
            b->cb = (struct compare_block){r->devs[i], &s->scenarios[j],
                                           r->rows + (i * s->n_scenarios + j) * s->n_designs,
                                           s->n_designs};
        }
    for (int k = 0; k < s->n_designs; k++) {
        r->names[k] = s->designs[k].name;
        if (analysis_init(&r->an[k], s->designs[k].m)) {
            fprintf(stderr, "opbound: out of memory\n");
            return 1;
        }
    }
    /* -o that cannot be created or written is bad input (exit 2, docs/output.md) */
    if (plot_mkdirs(parent, &e)) return cli_fail_err(&e);
    snprintf(r->dir, sizeof r->dir, "%.700s/.%.200s.tmp-XXXXXX", parent, name);
    if (!mkdtemp(r->dir)) {
        fprintf(stderr, "opbound report: cannot create a folder in %s: %s\n", parent,
                strerror(errno));
        return CLI_USAGE;
    }
    outfile_guard_dir(r->dir); /* an interrupt removes the folder being built */
    r->images = plot_gnuplot_find(&(const char *){NULL});
    r->progress = isatty(STDERR_FILENO);
    for (int bi = 0; bi < r->nb && rc == 0; bi++) rc = run_block(r, bi, &e);
    if (rc == 0) rc = write_docs(r, &e);
    if (r->progress) fprintf(stderr, "\r\033[K");
    if (rc == 0) {
        /* the renames of install run with the signals held, so an interrupt
         * leaves either the earlier report or the new one, never neither */
        sigset_t hold, prev;
        sigemptyset(&hold);
        sigaddset(&hold, SIGINT);
        sigaddset(&hold, SIGTERM);
        sigaddset(&hold, SIGHUP);
        sigprocmask(SIG_BLOCK, &hold, &prev);
        rc = install(r, parent, name, &e);
        if (rc == 0) outfile_guard_dir(NULL);
        sigprocmask(SIG_SETMASK, &prev, NULL);
    }
    if (rc) {
        err_print(&e, stderr);
        fprintf(stderr, "opbound report: nothing was written to %s\n", r->final_dir);
        if (r->dir[0]) rm_tree(r->dir);
        outfile_guard_dir(NULL);
        return r->failed_inside || strcmp(e.msg, "out of memory") == 0 ? 1 : CLI_USAGE;
    }
    if (!r->images) {
        const char *prog;
        plot_gnuplot_find(&prog);
        fprintf(stderr, "opbound report: '%s' not found, so no images were drawn; the data and "
                        "gnuplot scripts are in %s.\nInstall gnuplot (Debian/Ubuntu: apt-get "
                        "install gnuplot-nox; or 'make deps') and run gnuplot NAME.gp there.\n",
                prog, r->final_dir);
    }
    printf("wrote %s/report.md, %s/report.html and %d other files\n", r->final_dir,
           r->final_dir, r->nfiles - 2);
    return 0;
}

int cmd_report(int argc, char **argv)
{
    const char *C = "report";
    struct cli_args a;
    int rc = cli_parse(&CLI_REPORT, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_REPORT, stdout);
        return 0;
    }
    if (a.npos == 0) return cli_fail(C, "missing STUDY.yaml");
    if (a.npos > 1) return cli_fail(C, "one study file only, got %d arguments", a.npos);
    if (!a.out) return cli_fail(C, "missing -o DIR (the output folder)");
    char dir[PLOT_PATH_MAX], parent[PLOT_PATH_MAX], name[256], cmd_line[2048];
    if ((rc = check_out(C, a.out, dir, parent, name))) return rc;
    size_t k = (size_t)snprintf(cmd_line, sizeof cmd_line, "opbound report");
    for (int i = 0; i < argc && k < sizeof cmd_line; i++)
        k += (size_t)snprintf(cmd_line + k, sizeof cmd_line - k, " %s", argv[i]);
    struct err e;
    struct rp *r = calloc(1, sizeof *r);
    OB_ASSERT(r);
    r->cmd_line = cmd_line;
    r->final_dir = dir;
    if (study_load(a.pos[0], &r->s, &e)) rc = cli_fail_err(&e);
    else rc = make_report(r, parent, name);
    for (int i = 0; r->s && i < r->s->n_designs; i++) analysis_free(&r->an[i]);
    for (int i = 0; i < STUDY_MAX; i++) device_free(r->devs[i]);
    free(r->blocks);
    free(r->rows);
    study_free(r->s);
    free(r);
    return rc;
}
