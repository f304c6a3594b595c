/* main.c - the opbound command line: parses arguments, loads descriptions,
 * runs the engine and hands results to a report writer. The only place that
 * prints errors and chooses exit codes: 0 success, 2 bad input or usage,
 * 1 an internal failure (out of memory, write error).
 *
 * To add a command: write cmd_<name>(argc, argv), add it to COMMANDS and
 * give it a usage text. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "../reports/analysis_report.h"
#include "../reports/fmt.h"
#include "analyze.h"
#include "catalog.h"

#ifndef OB_VERSION
#define OB_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2

static int fail_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "opbound%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'opbound %s--help')\n", cmd ? cmd : "");
    return EXIT_USAGE;
}

static int fail_err(const struct err *e)
{
    err_print(e, stderr);
    return EXIT_USAGE;
}

static const char USAGE[] =
    "opbound - cost model for attention and MoE designs on GPUs\n"
    "\n"
    "usage: opbound COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  analyze MODEL --hw HW --phase prefill|decode ...   FLOPs, bytes, intensity, roofline time\n"
    "  list models|hw|kinds                              bundled models, devices, block kinds\n"
    "  schema                                            the YAML schema (docs/schema.md)\n"
    "\n"
    "options: --help (also after a command), --version\n"
    "MODEL and HW are bundled names (see 'opbound list') or paths to YAML files.\n";

static const char USAGE_ANALYZE[] =
    "usage: opbound analyze MODEL --hw HW --phase prefill --seq S [options]\n"
    "       opbound analyze MODEL --hw HW --phase decode --context L [options]\n"
    "\n"
    "Lowers MODEL to an op graph for one step and evaluates it on device HW with a\n"
    "roofline: per op FLOPs, bytes (weights / activations / KV cache / written),\n"
    "intensity, bound and time; per model parameters, KV cache, memory fit, largest\n"
    "batch, time to first token, time per output token and tokens per second.\n"
    "\n"
    "  --hw HW              device (bundled name, unique prefix, or path)      required\n"
    "  --phase P            prefill or decode                                  required\n"
    "  --seq S              prefill: prompt tokens per sequence                required for prefill\n"
    "  --context L          decode: tokens already cached per sequence; the    required for decode\n"
    "                       step adds one token that attends to L + 1 keys\n"
    "  --batch B            sequences in the batch (default 1)\n"
    "  --weight-dtype D     override the model's weight dtype\n"
    "  --kv-dtype D         override the model's KV-cache dtype\n"
    "                       D: fp32, bf16, fp16, fp8, int8, int4\n"
    "  --format F           table (default), csv or json\n"
    "  --per-op             table/csv: one row per op (json always lists ops)\n"
    "\n"
    "Numbers accept a k (x1024) or m (x1048576) suffix: --context 128k.\n";

static const char USAGE_LIST[] =
    "usage: opbound list models|hw|kinds\n"
    "\n"
    "  models   bundled models: name, family, parameters, active parameters, KV cache per token\n"
    "  hw       bundled devices: memory, bandwidth, bf16 tensor peak, ridge point\n"
    "  kinds    attention and FFN block kinds a model can use\n";

static const char USAGE_SCHEMA[] =
    "usage: opbound schema\n"
    "\n"
    "Prints the YAML schema of model and device files as markdown, generated from the\n"
    "loader's own key tables (docs/schema.md is this output).\n";

/* Parses a count with an optional k (1024) or m (1048576) suffix. */
static int parse_count(const char *s, double min, double max, double *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-') return -1;
    double mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024, end++;
    else if (*end == 'm' || *end == 'M') mul = 1048576, end++;
    if (*end) return -1;
    double x = (double)v * mul;
    if (x < min || x > max) return -1;
    *out = x;
    return 0;
}

static bool is_help(const char *s) { return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0; }

static int load_model(const char *arg, struct model **m, struct err *e)
{
    char path[1024];
    if (catalog_resolve("models", arg, path, sizeof path, e)) return -1;
    return model_load(path, m, e);
}

static int load_device(const char *arg, struct device **d, struct err *e)
{
    char path[1024];
    if (catalog_resolve("hw", arg, path, sizeof path, e)) return -1;
    return device_load(path, d, e);
}

static int cmd_analyze(int argc, char **argv)
{
    const char *C = "analyze";
    const char *model_arg = NULL, *hw_arg = NULL, *phase = NULL, *seq = NULL, *ctx = NULL,
               *batch = NULL, *wdt = NULL, *kvdt = NULL, *format = "table";
    bool per_op = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(USAGE_ANALYZE, stdout);
            return 0;
        }
        const char **slot = NULL;
        if (strcmp(a, "--hw") == 0) slot = &hw_arg;
        else if (strcmp(a, "--phase") == 0) slot = &phase;
        else if (strcmp(a, "--seq") == 0) slot = &seq;
        else if (strcmp(a, "--context") == 0) slot = &ctx;
        else if (strcmp(a, "--batch") == 0) slot = &batch;
        else if (strcmp(a, "--weight-dtype") == 0) slot = &wdt;
        else if (strcmp(a, "--kv-dtype") == 0) slot = &kvdt;
        else if (strcmp(a, "--format") == 0) slot = &format;
        else if (strcmp(a, "--per-op") == 0) {
            per_op = true;
            continue;
        } else if (a[0] == '-' && a[1]) {
            return fail_usage(C, "unknown option '%s'", a);
        } else {
            if (model_arg) return fail_usage(C, "one MODEL expected, got '%s' and '%s'", model_arg, a);
            model_arg = a;
            continue;
        }
        if (i + 1 >= argc) return fail_usage(C, "%s needs a value", a);
        *slot = argv[++i];
    }
    if (!model_arg) return fail_usage(C, "missing MODEL");
    if (!hw_arg) return fail_usage(C, "missing --hw HW");
    if (!phase) return fail_usage(C, "missing --phase prefill|decode");
    struct scenario sc = {0};
    sc.batch = 1;
    if (strcmp(phase, "prefill") == 0) {
        sc.phase = PHASE_PREFILL;
        if (ctx) return fail_usage(C, "--context is for --phase decode; prefill takes --seq");
        if (!seq) return fail_usage(C, "--phase prefill needs --seq S (prompt tokens)");
        if (parse_count(seq, 1, 1099511627776.0, &sc.seq))
            return fail_usage(C, "--seq must be a whole number from 1 to 2^40, got '%s'", seq);
    } else if (strcmp(phase, "decode") == 0) {
        sc.phase = PHASE_DECODE;
        if (seq) return fail_usage(C, "--seq is for --phase prefill; decode takes --context");
        if (!ctx) return fail_usage(C, "--phase decode needs --context L (cached tokens)");
        if (parse_count(ctx, 0, 1099511627776.0, &sc.context))
            return fail_usage(C, "--context must be a whole number from 0 to 2^40, got '%s'",
                              ctx);
    } else {
        return fail_usage(C, "--phase must be prefill or decode, got '%s'", phase);
    }
    if (batch && parse_count(batch, 1, 1073741824.0, &sc.batch))
        return fail_usage(C, "--batch must be a whole number from 1 to 2^30, got '%s'", batch);
    if (wdt) {
        if (dtype_parse(wdt, &sc.dt_w))
            return fail_usage(C, "--weight-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, "
                                 "int8, int4)", wdt);
        sc.has_dt_w = true;
    }
    if (kvdt) {
        if (dtype_parse(kvdt, &sc.dt_kv))
            return fail_usage(C, "--kv-dtype: unknown dtype '%s' (fp32, bf16, fp16, fp8, "
                                 "int8, int4)", kvdt);
        sc.has_dt_kv = true;
    }
    enum out_format fmt;
    if (strcmp(format, "table") == 0) fmt = OUT_TABLE;
    else if (strcmp(format, "csv") == 0) fmt = OUT_CSV;
    else if (strcmp(format, "json") == 0) fmt = OUT_JSON;
    else return fail_usage(C, "--format must be table, csv or json, got '%s'", format);

    struct err e;
    struct model *m = NULL;
    struct device *d = NULL;
    if (load_model(model_arg, &m, &e)) return fail_err(&e);
    if (load_device(hw_arg, &d, &e)) {
        model_free(m);
        return fail_err(&e);
    }
    struct analysis a;
    if (analysis_init(&a, m)) {
        fprintf(stderr, "opbound: out of memory\n");
        return 1;
    }
    analysis_run(&a, m, d, &sc);
    const struct analysis_view v = {.m = m, .d = d, .sc = &sc, .a = &a};
    switch (fmt) {
    case OUT_TABLE: report_analysis_table(stdout, &v, per_op); break;
    case OUT_CSV: report_analysis_csv(stdout, &v, per_op); break;
    case OUT_JSON: report_analysis_json(stdout, &v); break;
    }
    analysis_free(&a);
    device_free(d);
    model_free(m);
    return 0;
}

static const char *slot_kind_name(const struct model *m, enum block_slot s)
{
    const char *first = m->groups[0].kind[s]->name;
    for (int i = 1; i < m->n_groups; i++)
        if (strcmp(m->groups[i].kind[s]->name, first) != 0) return "mixed";
    return first;
}

static int cmd_list(int argc, char **argv)
{
    if (argc != 1 || is_help(argv[0])) {
        fputs(USAGE_LIST, argc == 1 ? stdout : stderr);
        return argc == 1 ? 0 : EXIT_USAGE;
    }
    static char names[256][64];
    char b[4][64];
    struct err e;
    if (strcmp(argv[0], "models") == 0) {
        static const char *const hdr[] = {"name",  "family", "params", "active",
                                          "attention", "ffn", "KV/token", "dtypes"};
        struct table t;
        table_init(&t, 8, hdr, "llrrllrl");
        int n = catalog_list("models", names, 256);
        for (int i = 0; i < n; i++) {
            struct model *m;
            if (load_model(names[i], &m, &e)) {
                table_free(&t);
                return fail_err(&e);
            }
            struct model_counts c;
            model_count(m, &c);
            table_row(&t);
            table_cell(&t, 0, "%s", names[i]);
            table_cell(&t, 1, "%s", m->family);
            table_cell(&t, 2, "%s", fmt_si(b[0], 64, c.params, ""));
            table_cell(&t, 3, "%s", fmt_si(b[1], 64, c.active_params, ""));
            table_cell(&t, 4, "%s", slot_kind_name(m, SLOT_ATTN));
            table_cell(&t, 5, "%s", slot_kind_name(m, SLOT_FFN));
            table_cell(&t, 6, "%s", fmt_si(b[2], 64, c.kv_elems_per_token * dtype_bytes(m->dt_kv), "B"));
            table_cell(&t, 7, "w %s, kv %s", dtype_name(m->dt_w), dtype_name(m->dt_kv));
            model_free(m);
        }
        table_print(&t, stdout);
        table_free(&t);
        printf("\n(from %s/models; KV/token at the model's KV dtype, all layers)\n", catalog_dir());
        return 0;
    }
    if (strcmp(argv[0], "hw") == 0) {
        static const char *const hdr[] = {"name", "device", "memory", "bandwidth", "bf16 tensor",
                                          "ridge (bf16)"};
        struct table t;
        table_init(&t, 6, hdr, "llrrrr");
        int n = catalog_list("hw", names, 256);
        for (int i = 0; i < n; i++) {
            struct device *d;
            if (load_device(names[i], &d, &e)) {
                table_free(&t);
                return fail_err(&e);
            }
            table_row(&t);
            table_cell(&t, 0, "%s", names[i]);
            table_cell(&t, 1, "%s", d->name);
            table_cell(&t, 2, "%s", fmt_si(b[0], 64, d->mem_capacity_bytes, "B"));
            table_cell(&t, 3, "%s/s", fmt_si(b[1], 64, d->mem_rate, "B"));
            table_cell(&t, 4, "%s/s", fmt_si(b[2], 64, d->tensor_rate[DT_BF16], "FLOP"));
            table_cell(&t, 5, "%.0f FLOP/B", device_ridge(d, DT_BF16));
            device_free(d);
        }
        table_print(&t, stdout);
        table_free(&t);
        printf("\n(from %s/hw)\n", catalog_dir());
        return 0;
    }
    if (strcmp(argv[0], "kinds") == 0) {
        for (int i = 0; block_kind_at(i); i++) {
            const struct block_kind *k = block_kind_at(i);
            printf("%-10s %-9s %s\n", k->name, k->slot == SLOT_ATTN ? "attention" : "ffn",
                   k->summary);
        }
        return 0;
    }
    return fail_usage("list", "unknown list '%s' (models, hw or kinds)", argv[0]);
}

static void schema_section(const char *title, const struct key_spec *keys, size_t n)
{
    printf("### %s\n\n", title);
    yml_spec_markdown(stdout, keys, n);
    printf("\n");
}

static int cmd_schema(int argc, char **argv)
{
    if (argc > 0) {
        if (is_help(argv[0])) {
            fputs(USAGE_SCHEMA, stdout);
            return 0;
        }
        return fail_usage("schema", "takes no arguments, got '%s'", argv[0]);
    }
    printf("<!-- Generated by `opbound schema` from the loader's key tables; do not edit.\n"
           "     `make check` fails if this file and the tables disagree. -->\n"
           "# opbound YAML schema\n\n"
           "Every key of a model file (`models/`) and a device file (`hw/`). Types: integer "
           "(decimal, `_` allowed), number (decimal or e-notation), bool (`true`/`false`), "
           "dtype (fp32, bf16, fp16, fp8, int8, int4). Unknown keys, duplicate keys, wrong "
           "types, out-of-range values and missing required keys are errors reported as "
           "`FILE:LINE:COL: message` (exit status 2). Keys marked \"no\" under required take the "
           "default their meaning states. Anchors and aliases (`&a`, `*a`) may be used to "
           "repeat a block.\n\n"
           "An annotated model file: `examples/annotated-model.yaml`; an annotated device "
           "file: every file in `hw/`.\n\n## Model files\n\n");
    const char *title;
    const struct key_spec *keys;
    size_t n;
    for (int i = 0; model_schema_section(i, &title, &keys, &n) == 0; i++)
        schema_section(title, keys, n);
    for (int i = 0; block_kind_at(i); i++) {
        const struct block_kind *k = block_kind_at(i);
        char t[256];
        snprintf(t, sizeof t, "%s block `kind: %s` - %s",
                 k->slot == SLOT_ATTN ? "Attention" : "FFN", k->name, k->summary);
        schema_section(t, k->keys, k->n_keys);
    }
    printf("## Device files\n\n");
    for (int i = 0; device_schema_section(i, &title, &keys, &n) == 0; i++)
        schema_section(title, keys, n);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} COMMANDS[] = {
    {"analyze", cmd_analyze},
    {"list", cmd_list},
    {"schema", cmd_schema},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("opbound %s\n", OB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) {
            int rc = COMMANDS[i].run(argc - 2, argv + 2);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "opbound: error writing output\n");
                return 1;
            }
            return rc;
        }
    fprintf(stderr, "opbound: unknown command '%s'\n\n%s", argv[1], USAGE);
    return EXIT_USAGE;
}
