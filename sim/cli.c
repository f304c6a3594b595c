/* cli.c - shared option parsing for the commands; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

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
    "                       D: fp32, bf16, fp16, fp8, int8, int4\n"
    "  --format F           table (default), csv or json\n"
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
    if (a->wdt) {
        if (dtype_parse(a->wdt, &sc->dt_w))
            return cli_fail(cmd,
                            "--weight-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, int8, int4)",
                            a->wdt);
        sc->has_dt_w = true;
    }
    if (a->kvdt) {
        if (dtype_parse(a->kvdt, &sc->dt_kv))
            return cli_fail(cmd,
                            "--kv-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, int8, int4)",
                            a->kvdt);
        sc->has_dt_kv = true;
    }
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
    return model_load(path, m, e);
}

int cli_load_device(const char *arg, struct device **d, struct err *e)
{
    char path[1024];
    if (catalog_resolve("hw", arg, path, sizeof path, e)) return -1;
    return device_load(path, d, e);
}

int cli_check_scenario(const struct model *m, const struct scenario *sc)
{
    struct err e;
    if (model_tp_check(m, sc->tp, &e)) return cli_fail_err(&e);
    if (sc->ep > 1 && model_ep_check(m, sc->ep, &e)) return cli_fail_err(&e);
    return 0;
}
