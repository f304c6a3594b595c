/* cli.c - shared option parsing for the commands; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../models/model_file.h"
#include "../../reports/plot.h"
#include "../core/catalog.h"

bool cli_verbose = false;
static int cli_launch = LAUNCH_EAGER; /* set by cli_parse from --launch */

/* Tells the user what an imported config.json left out: every field with
 * --verbose, else one line when some field is unknown to opbound. */
void cli_print_hf_notes(const char *path, const struct hf_notes *n)
{
    if (cli_verbose) {
        fprintf(stderr, "%s: imported as model_type %s\n", path, n->family);
        for (int i = 0; i < n->n_ignored; i++) fprintf(stderr, "  %s\n", n->ignored[i]);
        for (int i = 0; i < n->n_unknown; i++)
            fprintf(stderr, "  ignored %s: unknown to opbound, assumed not to change cost\n",
                    n->unknown[i]);
    } else if (n->n_unknown > 0) {
        fprintf(stderr, "note: %s: %d field(s) unknown to opbound were ignored (", path,
                n->n_unknown);
        for (int i = 0; i < n->n_unknown; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", n->unknown[i]);
        fprintf(stderr, "); --verbose lists every ignored field\n");
    }
}

const char CLI_SCENARIO_HELP[] =
    "  --hw HW              device (bundled name, unique prefix, or path)\n"
    "  --phase P            prefill or decode\n"
    "  --seq S              prefill: prompt tokens per sequence\n"
    "  --context L          decode: tokens already cached per sequence; the step adds\n"
    "                       one token that attends to L + 1 keys\n"
    "  --batch B            sequences in the batch (default 1)\n"
    "  --tp N               tensor-parallel devices (default 1); figures are per device\n"
    "  --ep N               expert-parallel devices (default 1): each holds E/N experts;\n"
    "                       tokens reach them by all-to-all (docs/moe.md)\n"
    "  --weight-dtype D     override the model's weight dtype\n"
    "  --kv-dtype D         override the model's KV-cache dtype\n"
    "                       D: fp32, bf16, fp16, fp8, int8, int4, int4_g128,\n"
    "                       nvfp4, mxfp4 (block scales counted: docs/conventions.md)\n"
    "  --profile P          implementation profile: engine, hf, or a profile file\n"
    "                       (docs/profiles.md); default: one fused op per role\n"
    "  --impl K=I,...       implementation per role or op kind, e.g.\n"
    "                       attention=cudnn,gemm=cublas,norm=eager\n"
    "Numbers accept a k (x1024) or m (x1048576) suffix: --context 128k.\n";

bool cli_is_help(const char *s) { return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0; }

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "opbound%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'opbound %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return CLI_USAGE;
}

int cli_fail_err(const struct err *e)
{
    err_print(e, stderr);
    return CLI_USAGE;
}

int cli_fail_out(const struct err *e)
{
    err_print(e, stderr);
    return strcmp(e->msg, "out of memory") == 0 ? 1 : CLI_USAGE;
}

int cli_count(const char *s, double min, double max, double *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno) return -1;
    double mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024, end++;
    else if (*end == 'm' || *end == 'M') mul = 1048576, end++;
    if (*end) return -1;
    double x = (double)v * mul;
    if (x < min || x > max) return -1;
    *out = x;
    return 0;
}

int cli_parse(const char *cmd, int argc, char **argv, const char *const *extra,
              struct cli_args *a)
{
    memset(a, 0, sizeof *a);
    static const struct {
        const char *name;
        size_t off;
    } OPTS[] = {
        {"--hw", offsetof(struct cli_args, hw)},
        {"--phase", offsetof(struct cli_args, phase)},
        {"--seq", offsetof(struct cli_args, seq)},
        {"--context", offsetof(struct cli_args, ctx)},
        {"--batch", offsetof(struct cli_args, batch)},
        {"--weight-dtype", offsetof(struct cli_args, wdt)},
        {"--kv-dtype", offsetof(struct cli_args, kvdt)},
        {"--format", offsetof(struct cli_args, format)},
        {"--tp", offsetof(struct cli_args, tp)},
        {"--ep", offsetof(struct cli_args, ep)},
        {"-o", offsetof(struct cli_args, out)},
        {"--launch", offsetof(struct cli_args, launch)},
        {"--profile", offsetof(struct cli_args, profile)},
        {"--impl", offsetof(struct cli_args, impl)},
    };
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (cli_is_help(s)) {
            a->help = true;
            return 0;
        }
        if (strcmp(s, "--per-op") == 0) {
            a->per_op = true;
            continue;
        }
        if (strcmp(s, "--verbose") == 0 || strcmp(s, "-v") == 0) {
            a->verbose = true;
            cli_verbose = true;
            continue;
        }
        const char **slot = NULL;
        for (size_t k = 0; k < sizeof OPTS / sizeof OPTS[0]; k++)
            if (strcmp(s, OPTS[k].name) == 0) slot = (const char **)((char *)a + OPTS[k].off);
        bool is_extra = false;
        for (int k = 0; extra && extra[k]; k++)
            if (strcmp(s, extra[k]) == 0) is_extra = true;
        if (!slot && !is_extra) {
            if (s[0] == '-' && s[1]) return cli_fail(cmd, "unknown option '%s'", s);
            if (a->npos == CLI_MAX_ARGS) return cli_fail(cmd, "too many arguments");
            a->pos[a->npos++] = s;
            continue;
        }
        if (i + 1 >= argc) return cli_fail(cmd, "%s needs a value", s);
        if (slot) {
            *slot = argv[++i];
        } else {
            if (a->nx == CLI_MAX_ARGS) return cli_fail(cmd, "too many options");
            a->xname[a->nx] = s;
            a->xval[a->nx++] = argv[++i];
        }
    }
    cli_launch = LAUNCH_EAGER;
    if (a->launch) {
        if (strcmp(a->launch, "graph") == 0) cli_launch = LAUNCH_GRAPH;
        else if (strcmp(a->launch, "eager") != 0)
            return cli_fail(cmd, "--launch must be graph (CUDA-graph replay) or eager, got '%s'",
                            a->launch);
    }
    return 0;
}

int cli_scenario(const char *cmd, const struct cli_args *a, struct scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->batch = 1;
    sc->tp = 1;
    if (!a->phase) return cli_fail(cmd, "missing --phase prefill|decode");
    if (strcmp(a->phase, "prefill") == 0) {
        sc->phase = PHASE_PREFILL;
        if (a->ctx) return cli_fail(cmd, "--context is for --phase decode; prefill takes --seq");
        if (!a->seq) return cli_fail(cmd, "--phase prefill needs --seq S (prompt tokens)");
        if (cli_count(a->seq, 1, 1099511627776.0, &sc->seq))
            return cli_fail(cmd, "--seq must be a whole number from 1 to 2^40, got '%s'", a->seq);
    } else if (strcmp(a->phase, "decode") == 0) {
        sc->phase = PHASE_DECODE;
        if (a->seq) return cli_fail(cmd, "--seq is for --phase prefill; decode takes --context");
        if (!a->ctx) return cli_fail(cmd, "--phase decode needs --context L (cached tokens)");
        if (cli_count(a->ctx, 0, 1099511627776.0, &sc->context))
            return cli_fail(cmd, "--context must be a whole number from 0 to 2^40, got '%s'",
                            a->ctx);
    } else {
        return cli_fail(cmd, "--phase must be prefill or decode, got '%s'", a->phase);
    }
    if (a->batch && cli_count(a->batch, 1, 1073741824.0, &sc->batch))
        return cli_fail(cmd, "--batch must be a whole number from 1 to 2^30, got '%s'", a->batch);
    if (a->tp && cli_count(a->tp, 1, 65536, &sc->tp))
        return cli_fail(cmd, "--tp must be a whole number from 1 to 65536, got '%s'", a->tp);
    sc->ep = 1;
    if (a->ep && cli_count(a->ep, 1, 65536, &sc->ep))
        return cli_fail(cmd, "--ep must be a whole number from 1 to 65536, got '%s'", a->ep);
    if (sc->ep > 1 && sc->tp > 1)
        return cli_fail(cmd, "--ep with --tp is not modelled yet: use one of them");
    if (cli_profile(cmd, a->profile, a->impl, &sc->profile)) return CLI_USAGE;
    if (a->wdt) {
        if (dtype_parse(a->wdt, &sc->dt_w))
            return cli_fail(cmd,
                            "--weight-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, int8, int4, int4_g128, nvfp4, mxfp4)",
                            a->wdt);
        sc->has_dt_w = true;
    }
    if (a->kvdt) {
        if (dtype_parse(a->kvdt, &sc->dt_kv))
            return cli_fail(cmd,
                            "--kv-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, int8, int4, int4_g128, nvfp4, mxfp4)",
                            a->kvdt);
        sc->has_dt_kv = true;
    }
    return 0;
}

#define CLI_PROFILES_MAX 8
static struct profile *cli_profiles[CLI_PROFILES_MAX];
static int cli_n_profiles;

static void cli_profiles_free(void)
{
    for (int i = 0; i < cli_n_profiles; i++) profile_free(cli_profiles[i]);
    cli_n_profiles = 0;
}

int cli_profile(const char *cmd, const char *name, const char *impl, const struct profile **out)
{
    *out = NULL;
    if (!name && !impl) return 0;
    if (cli_n_profiles == CLI_PROFILES_MAX) return cli_fail(cmd, "too many profiles");
    struct err e;
    char path[1024];
    struct profile *p = NULL;
    if (catalog_resolve("models/profiles", name ? name : "default", path, sizeof path, &e) ||
        profile_load(path, &p, &e))
        return cli_fail_err(&e);
    if (impl && profile_set_impl(p, impl, "--impl", &e)) {
        profile_free(p);
        fprintf(stderr, "opbound %s: %s\n", cmd, e.msg);
        return CLI_USAGE;
    }
    if (cli_n_profiles == 0) atexit(cli_profiles_free);
    cli_profiles[cli_n_profiles++] = p;
    *out = p;
    return 0;
}

int cli_format(const char *cmd, const struct cli_args *a, enum out_format *fmt)
{
    const char *f = a->format ? a->format : "table";
    if (strcmp(f, "table") == 0) *fmt = OUT_TABLE;
    else if (strcmp(f, "csv") == 0) *fmt = OUT_CSV;
    else if (strcmp(f, "json") == 0) *fmt = OUT_JSON;
    else return cli_fail(cmd, "--format must be table, csv or json, got '%s'", f);
    return 0;
}

int cli_load_model(const char *arg, struct model **m, struct err *e)
{
    char path[1024];
    if (catalog_resolve("models", arg, path, sizeof path, e)) return -1;
    struct hf_notes notes;
    const bool json = model_file_is_json(path);
    if (model_file_load(path, m, json ? &notes : NULL, e)) return -1;
    if (json) cli_print_hf_notes(path, &notes);
    return 0;
}

int cli_load_device(const char *arg, struct device **d, struct err *e)
{
    char path[1024];
    if (catalog_resolve("hw", arg, path, sizeof path, e)) return -1;
    if (device_load(path, d, e)) return -1;
    (*d)->launch = cli_launch; /* --launch of the last cli_parse */
    device_derive(*d);
    return 0;
}

int cli_check_scenario(const struct model *m, const struct scenario *sc)
{
    struct err e;
    if (model_tp_check(m, sc->tp, &e)) return cli_fail_err(&e);
    if (sc->ep > 1 && model_ep_check(m, sc->ep, &e)) return cli_fail_err(&e);
    return 0;
}

int cli_render(const char *cmd, const char *dir, const char *script, const char *const *vars,
               const char *const *files, int n, bool *warned)
{
    struct err e;
    switch (plot_render(dir, script, vars, files, n, &e)) {
    case PLOT_RENDERED: return 0;
    case PLOT_NO_GNUPLOT:
        if (!*warned) {
            const char *prog;
            plot_gnuplot_find(&prog);
            fprintf(stderr,
                    "opbound %s: '%s' not found, so no images were drawn; the data and gnuplot "
                    "scripts are in %s.\nInstall gnuplot (Debian/Ubuntu: apt-get install "
                    "gnuplot-nox; or 'make deps') and run: cd %s && gnuplot %s\n",
                    cmd, prog, dir, dir, script);
            *warned = true;
        }
        return 0;
    case PLOT_FAILED: err_print(&e, stderr); return 1;
    }
    return 1;
}

int cli_out_split(const char *cmd, const char *out, char *dir, size_t ndir, char *base,
                  size_t nbase)
{
    const char *slash = strrchr(out, '/');
    const char *name = slash ? slash + 1 : out;
    if (slash == out) snprintf(dir, ndir, "/");
    else if (slash) snprintf(dir, ndir, "%.*s", (int)(slash - out), out);
    else snprintf(dir, ndir, ".");
    size_t len = strlen(name);
    const char *dot = strrchr(name, '.');
    if (dot && dot != name) {
        static const char *const EXT[] = {".png", ".svg", ".gp", ".dat", ".csv"};
        bool known = false;
        for (size_t i = 0; i < sizeof EXT / sizeof EXT[0]; i++)
            if (strcmp(dot, EXT[i]) == 0) known = true;
        if (!known)
            return cli_fail(cmd, "-o %s: the name must end in .png or .svg (or have no "
                                 "extension); a .png, .svg, .gp and .dat are written",
                            out);
        len = (size_t)(dot - name);
    }
    if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return cli_fail(cmd, "-o %s: give a file name, e.g. -o out/roofline.png", out);
    if (len + 8 >= nbase || strlen(dir) + 1 >= ndir || strlen(out) > 900)
        return cli_fail(cmd, "-o %s: path too long", out);
    snprintf(base, nbase, "%.*s", (int)len, name);
    return 0;
}
