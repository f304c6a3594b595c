/* cli.c - shared option parsing for the commands; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../models/model_file.h"
#include "../../reports/plot.h"
#include "../core/catalog.h"

bool cli_verbose = false;
const char *cli_command = NULL;

static void print_err(const struct err *e)
{
    if (!e->file[0] && cli_command) fprintf(stderr, "opbound %s: %s\n", cli_command, e->msg);
    else err_print(e, stderr);
}
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
    print_err(e);
    return CLI_USAGE;
}

int cli_fail_out(const struct err *e)
{
    print_err(e);
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

/* The options with a named field in struct cli_args. */
static const struct {
    const char *name;
    size_t off;
} FIELDS[] = {
    {"--hw", offsetof(struct cli_args, hw)},
    {"--phase", offsetof(struct cli_args, phase)},
    {"--seq", offsetof(struct cli_args, seq)},
    {"--context", offsetof(struct cli_args, ctx)},
    {"--batch", offsetof(struct cli_args, batch)},
    {"--weight-dtype", offsetof(struct cli_args, wdt)},
    {"--kv-dtype", offsetof(struct cli_args, kvdt)},
    {"--gemm-dtype", offsetof(struct cli_args, gemmdt)},
    {"--format", offsetof(struct cli_args, format)},
    {"--tp", offsetof(struct cli_args, tp)},
    {"--ep", offsetof(struct cli_args, ep)},
    {"-o", offsetof(struct cli_args, out)},
    {"--profile", offsetof(struct cli_args, profile)},
    {"--impl", offsetof(struct cli_args, impl)},
    {"--launch", offsetof(struct cli_args, launch)},
};

static const struct cli_opt *find_opt(const struct cli_cmd *c, const char *s)
{
    for (const struct cli_opt *o = c->opts; o && o->name; o++)
        if (strcmp(s, o->name) == 0 || (strcmp(o->name, "--verbose") == 0 && strcmp(s, "-v") == 0))
            return o;
    return NULL;
}

/* Whether some command has option s. */
static bool known_elsewhere(const char *s)
{
    static const struct cli_cmd *const ALL[] = {
        &CLI_ANALYZE, &CLI_COMPARE,  &CLI_IMPORT, &CLI_LIST,      &CLI_SERVE,    &CLI_SCHEMA,
        &CLI_ROOFLINE, &CLI_SWEEP, &CLI_REPORT, &CLI_CALIBRATE, &CLI_VALIDATE, &CLI_PREDICT,
        &CLI_TRAIN, &CLI_PLAN, &CLI_MEASURE};
    for (size_t i = 0; i < sizeof ALL / sizeof ALL[0]; i++)
        if (find_opt(ALL[i], s)) return true;
    return false;
}

int cli_parse(const struct cli_cmd *c, int argc, char **argv, struct cli_args *a)
{
    const char *cmd = c->name;
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (cli_is_help(s)) {
            a->help = true;
            return 0;
        }
        const struct cli_opt *o = s[0] == '-' && s[1] ? find_opt(c, s) : NULL;
        if (!o) {
            if (s[0] == '-' && s[1]) {
                if (!known_elsewhere(s)) return cli_fail(cmd, "unknown option '%s'", s);
                char list[512] = "";
                for (const struct cli_opt *k = c->opts; k && k->name; k++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             list[0] ? ", " : "", k->name);
                return cli_fail(cmd, "%s is not an option here (%s takes %s)", s, cmd,
                                list[0] ? list : "no options");
            }
            if (a->npos == CLI_MAX_ARGS) return cli_fail(cmd, "too many arguments");
            a->pos[a->npos++] = s;
            continue;
        }
        if (!o->arg) { /* a flag */
            if (strcmp(o->name, "--per-op") == 0) a->per_op = true;
            else if (strcmp(o->name, "--verbose") == 0) a->verbose = cli_verbose = true;
            else if (a->nx < CLI_MAX_ARGS) { /* a command's own flag: value "" */
                a->xname[a->nx] = o->name;
                a->xval[a->nx++] = "";
            } else {
                return cli_fail(cmd, "too many options");
            }
            continue;
        }
        if (i + 1 >= argc) return cli_fail(cmd, "%s needs a value", s);
        const char **slot = NULL;
        for (size_t k = 0; k < sizeof FIELDS / sizeof FIELDS[0]; k++)
            if (strcmp(o->name, FIELDS[k].name) == 0) slot = (const char **)((char *)a + FIELDS[k].off);
        /* an option given twice is a mistake to point at, not "the last wins" */
        if (slot) {
            if (*slot) return cli_fail(cmd, "%s given twice ('%s' and '%s')", s, *slot, argv[i + 1]);
            *slot = argv[++i];
        } else {
            for (int k = 0; k < a->nx && strcmp(o->name, "--vary") != 0; k++) /* --vary repeats */
                if (strcmp(a->xname[k], o->name) == 0)
                    return cli_fail(cmd, "%s given twice ('%s' and '%s')", s, a->xval[k],
                                    argv[i + 1]);
            if (a->nx == CLI_MAX_ARGS) return cli_fail(cmd, "too many options");
            a->xname[a->nx] = o->name;
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

void cli_help(const struct cli_cmd *c, FILE *out)
{
    const char *u = c->usage;
    for (int first = 1; *u; first = 0) {
        size_t l = strcspn(u, "\n");
        fprintf(out, "%s%.*s\n", first ? "usage: " : "       ", (int)l, u);
        u += l + (u[l] == '\n');
    }
    fprintf(out, "\n%s", c->about);
    if (c->opts && c->opts->name) {
        fprintf(out, "\noptions:\n");
        for (const struct cli_opt *o = c->opts; o->name; o++) {
            char head[64];
            snprintf(head, sizeof head, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
            const char *h = o->help;
            size_t l = strcspn(h, "\n");
            if (strlen(head) > 18) fprintf(out, "  %s\n  %-18s %.*s\n", head, "", (int)l, h);
            else fprintf(out, "  %-18s %.*s\n", head, (int)l, h);
            for (h += l; *h == '\n'; h += l) {
                h++;
                l = strcspn(h, "\n");
                fprintf(out, "  %-18s %.*s\n", "", (int)l, h);
            }
        }
        fprintf(out, "  %-18s %s\n", "--help", "this help (also -h)");
    }
    if (c->notes) fprintf(out, "%s", c->notes);
}

/* Writes s as roff text: backslashes and hyphens escaped, a leading dot or
 * quote guarded. */
static void roff(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        if ((i == 0 || s[i - 1] == '\n') && (s[i] == '.' || s[i] == '\'')) fputs("\\&", out);
        if (s[i] == '\\') fputs("\\e", out);
        else if (s[i] == '-') fputs("\\-", out);
        else fputc(s[i], out);
    }
}

static void man_tail(FILE *out)
{
    fputs(".SH ENVIRONMENT\n.TP\n.B OPBOUND_DATA\nThe folder holding the bundled models/ and hw/. "
          "When unset they are looked for beside the program: ../share/opbound (an installed "
          "tree), then the clone it was built in.\n"
          ".SH EXIT STATUS\n0 success, 2 bad input or usage (FILE:LINE:COL: what is wrong), "
          "1 any other failure.\n",
          out);
}

void cli_man(const struct cli_cmd *c, const struct cli_cmd *const *cmds, int n,
             const char *version, FILE *out)
{
    if (!c) {
        fprintf(out, ".TH OPBOUND 1 \"\" \"opbound %s\" \"opbound manual\"\n.SH NAME\n"
                     "opbound \\- cost model for attention and MoE designs of LLMs\n"
                     ".SH SYNOPSIS\n.B opbound\n.I COMMAND\n[\\fIARGS\\fR]\n.br\n"
                     ".B opbound\n\\-\\-help | \\-\\-version\n.SH DESCRIPTION\n",
                version);
        fputs("Describe an architecture in YAML, pick a device and a scenario: opbound lowers it "
              "to an op graph and gives FLOPs, bytes moved, arithmetic intensity, the bound and the "
              "roofline time of every op, and per model parameters, KV cache, memory fit, time to "
              "first token, time per output token and tokens per second.\n.SH COMMANDS\n",
              out);
        for (int i = 0; i < n; i++) {
            fputs(".TP\n.B ", out);
            roff(out, cmds[i]->brief, strlen(cmds[i]->brief));
            fputs("\n", out);
            roff(out, cmds[i]->summary, strlen(cmds[i]->summary));
            fprintf(out, " (\\fBopbound\\-%s\\fR(1))\n", cmds[i]->name);
        }
        man_tail(out);
        fputs(".SH SEE ALSO\n", out);
        for (int i = 0; i < n; i++)
            fprintf(out, ".BR opbound\\-%s (1)%s\n", cmds[i]->name, i + 1 < n ? "," : "");
        return;
    }
    fprintf(out, ".TH OPBOUND\\-");
    for (const char *p = c->name; *p; p++) fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, out);
    fprintf(out, " 1 \"\" \"opbound %s\" \"opbound manual\"\n.SH NAME\nopbound\\-%s \\- ", version,
            c->name);
    roff(out, c->summary, strlen(c->summary));
    fputs("\n.SH SYNOPSIS\n.nf\n", out);
    roff(out, c->usage, strlen(c->usage));
    fputs("\n.fi\n.SH DESCRIPTION\n", out);
    for (const char *p = c->about; *p;) {
        const char *end = strstr(p, "\n\n");
        size_t l = end ? (size_t)(end - p) : strlen(p);
        while (l > 0 && p[l - 1] == '\n') l--;
        roff(out, p, l);
        fputs("\n", out);
        if (!end) break;
        p = end + 2;
        fputs(".PP\n", out);
    }
    if (c->opts && c->opts->name) {
        fputs(".SH OPTIONS\n", out);
        for (const struct cli_opt *o = c->opts; o->name; o++) {
            fputs(".TP\n.B ", out);
            roff(out, o->name, strlen(o->name));
            if (o->arg) {
                fputs(" \\fI", out);
                roff(out, o->arg, strlen(o->arg));
                fputs("\\fR", out);
            }
            fputs("\n", out);
            roff(out, o->help, strlen(o->help));
            fputs("\n", out);
        }
        fputs(".TP\n.B \\-\\-help\\fR, \\fB\\-h\nthis help\n", out);
    }
    if (c->notes) {
        fputs(".SH NOTES\n", out);
        size_t l = strlen(c->notes);
        while (l > 0 && c->notes[l - 1] == '\n') l--;
        roff(out, c->notes, l);
        fputs("\n", out);
    }
    man_tail(out);
    fputs(".SH SEE ALSO\n.BR opbound (1)\n", out);
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
    if (sc->ep > 1 && sc->tp > 1 && fmod(sc->ep, sc->tp) != 0)
        return cli_fail(cmd, "--ep %.0f with --tp %.0f: the expert group must hold whole "
                             "attention groups (--ep a multiple of --tp; docs/moe.md)",
                        sc->ep, sc->tp);
    if (cli_profile(cmd, a->profile, a->impl, &sc->profile)) return CLI_USAGE;
    if (a->wdt) {
        if (dtype_parse(a->wdt, &sc->dt_w))
            return cli_fail(cmd,
                            "--weight-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, int8, int4, int4_g128, nvfp4, mxfp4)",
                            a->wdt);
        sc->has_dt_w = true;
    }
    if (a->gemmdt) {
        if (dtype_parse(a->gemmdt, &sc->dt_gemm))
            return cli_fail(cmd,
                            "--gemm-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, int8, int4, int4_g128, nvfp4, mxfp4)",
                            a->gemmdt);
        sc->has_dt_gemm = true;
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
    const double len = sc->phase == PHASE_PREFILL ? sc->seq : sc->context + 1.0;
    if (model_len_check(m, len, &e)) return cli_fail_len(&e);
    return 0;
}

int cli_fail_len(struct err *e)
{
    e->file[0] = 0; /* a command-line length, not a place in the model file */
    return cli_fail_err(e);
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
