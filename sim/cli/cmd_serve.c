/* cmd_serve.c - `opbound serve SCENARIO.yaml --hw HW [--tp N] [--format F]`:
 * continuous-batching simulation of a request mix (sim/serve.h), reported as
 * a table, one csv row, or json. Rules and formulas: docs/serving.md. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../reports/fmt.h"
#include "cli.h"
#include "../core/catalog.h"
#include "../serve.h"

static const struct cli_opt OPTS[] = {
    {"--hw", "HW", "device (bundled name in any case, unique prefix, or\n"
                   "path); refused when the scenario's afd: names both\n"
                   "attention_hw and ffn_hw"},
    {"--tp", "N", "tensor-parallel devices (default: the scenario's tp,\n"
                  "else 1); refused with afd: (its pools give the counts)"},
    {"--profile", "P", "implementation profile (engine, hf, or a file;\n"
                       "docs/profiles.md); overrides the scenario's `profile:`"},
    {"--impl", "K=I,..", "implementation per role or op kind (e.g.\n"
                         "attention=cudnn)"},
    {"--format", "F", "table (default), csv or json"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_SERVE = {
    .name = "serve",
    .brief = "serve SCENARIO.yaml --hw HW [--tp N]",
    .summary = "continuous-batching simulation, cost per token",
    .usage = "opbound serve SCENARIO.yaml --hw HW [--tp N] [--format table|csv|json]\n"
             "opbound serve AFD-SCENARIO.yaml [--format table|csv|json]",
    .about = "Simulates continuous batching of the scenario's requests (Sarathi-Serve style:\n"
             "decodes first, then prefill chunks up to the token budget; requests wait while the\n"
             "batch is full or their KV cache does not fit) on --tp devices of HW, each iteration\n"
             "costed by the roofline of its exact mix of decodes and prefill chunks. Reports\n"
             "iteration times, time to first token, time between tokens, throughput, KV-cache\n"
             "occupancy, waiting, and USD per million output tokens when the device has a price.\n"
             "A scenario may split attention and FFN over two device pools (afd:); when it names\n"
             "both pools' devices, --hw and --tp are refused. See docs/serving.md and\n"
             "examples/serve-*.yaml.\n",
    .opts = OPTS,
};

struct field {
    const char *name;
    double v;
    char kind; /* 't' time, 'b' bytes, 'n' number, 'u' USD (n/a without price), 'r' rate */
};

#define MAX_FIELDS 64

static int fields(const struct serve_result *r, struct field *f)
{
    int n = 0;
#define F(nm, val, k) f[n++] = (struct field){nm, (val), k}
    F("requests", r->requests, 'n');
    F("iterations", r->iterations, 'n');
    F("makespan_s", r->makespan_s, 't');
    F("input_tokens", r->input_tokens, 'n');
    F("output_tokens", r->output_tokens, 'n');
    F("iter_mean_s", r->iter_s.mean, 't');
    F("iter_p50_s", r->iter_s.p50, 't');
    F("iter_p99_s", r->iter_s.p99, 't');
    F("iter_max_s", r->iter_s.max, 't');
    F("ttft_mean_s", r->ttft_s.mean, 't');
    F("ttft_p99_s", r->ttft_s.p99, 't');
    F("tbt_mean_s", r->tbt_s.mean, 't');
    F("tbt_p99_s", r->tbt_s.p99, 't');
    F("e2e_mean_s", r->e2e_s.mean, 't');
    F("e2e_p99_s", r->e2e_s.p99, 't');
    F("output_tokens_per_s", r->output_tokens_per_s, 'r');
    F("total_tokens_per_s", r->total_tokens_per_s, 'r');
    F("waited", r->waited, 'n');
    F("wait_mean_s", r->wait_mean_s, 't');
    F("wait_max_s", r->wait_max_s, 't');
    F("starved_decodes", r->starved_tokens, 'n');
    F("weight_bytes_dev", r->weight_bytes_dev, 'b');
    F("activation_reserve_bytes", r->act_reserve_bytes, 'b');
    F("kv_limit_bytes", r->kv_limit_bytes, 'b');
    F("kv_bytes_per_token_dev", r->kv_bytes_per_token_dev, 'b');
    F("kv_peak_bytes", r->kv_peak_bytes, 'b');
    F("kv_mean_bytes", r->kv_mean_bytes, 'b');
    F("time_attention_s", r->time_attn_s, 't');
    F("time_ffn_s", r->time_ffn_s, 't');
    F("time_other_s", r->time_other_s, 't');
    if (r->afd) {
        F("afd_attention_devices", r->afd_attn_devices, 'n');
        F("afd_ffn_devices", r->afd_ffn_devices, 'n');
        F("afd_micro_batches", r->afd_micro_batches, 'n');
        F("afd_link_bytes_per_s", r->afd_link_bytes_per_s, 'r');
        F("afd_transfer_s", r->afd_transfer_s, 't');
        F("afd_ffn_weight_bytes_dev", r->ffn_weight_bytes_dev, 'b');
    }
    F("usd_per_hour_attention_device", r->price_attn_usd_per_hour, 'u');
    F("usd_per_hour_ffn_device", r->price_ffn_usd_per_hour, 'u');
    F("usd_total", r->usd_total, 'u');
    F("usd_per_mtok", r->usd_per_mtok, 'u');
    F("usd_per_mtok_attention", r->usd_per_mtok_attn, 'u');
    F("usd_per_mtok_ffn", r->usd_per_mtok_ffn, 'u');
#undef F
    return n;
}

static void print_table(const struct serve_scenario *s, const struct serve_result *r,
                        const struct device *d)
{
    struct field f[MAX_FIELDS];
    const int n = fields(r, f);
    printf("serve: %s  model %s  on %g x %s", s->name[0] ? s->name : s->file, s->m->name,
           r->afd ? r->afd_attn_devices : r->tp, r->attn_hw_name);
    if (r->afd) printf(" (attention) + %g x %s (FFN)", r->afd_ffn_devices, r->ffn_hw_name);
    if (s->profile) {
        char pb[512];
        profile_describe(s->profile, pb, sizeof pb);
        printf("\nprofile %s", pb);
    }
    printf("\n");
    char desc[512];
    device_describe(d, desc, sizeof desc);
    printf("kernels: %s\n\n", desc);
    for (int i = 0; i < n; i++) {
        char b[64];
        const char *v = b;
        switch (f[i].kind) {
        case 't': fmt_time(b, sizeof b, f[i].v); break;
        case 'b': fmt_bin(b, sizeof b, f[i].v); break; /* memory held */
        case 'r': fmt_si(b, sizeof b, f[i].v, "/s"); break;
        case 'u':
            if (r->has_price) snprintf(b, sizeof b, "$%.4g", f[i].v);
            else v = "n/a";
            break;
        default: snprintf(b, sizeof b, "%.15g", f[i].v); break;
        }
        printf("  %-30s %s\n", f[i].name, v);
    }
    printf("\nKV-cache occupancy over time (per device, of %s):\n",
           fmt_bin((char[32]){0}, 32, r->kv_limit_bytes));
    for (int i = 0; i < r->n_timeline; i++) {
        char t[32], b[32];
        printf("  t = %-10s %10s  %5.1f%%\n", fmt_time(t, sizeof t, r->timeline_t_s[i]),
               fmt_bin(b, sizeof b, r->timeline_kv_bytes[i]),
               100.0 * r->timeline_kv_bytes[i] / r->kv_limit_bytes);
    }
    if (!r->has_price)
        printf("\ncost: n/a (the device file has no price_usd_per_hour)\n");
}

/* A csv field: quoted (and quotes doubled) when it holds a comma, quote or newline. */
static void csv_text(const char *t)
{
    if (!strpbrk(t, ",\"\n")) {
        fputs(t, stdout);
        return;
    }
    putchar('"');
    for (; *t; t++) {
        if (*t == '"') putchar('"');
        putchar(*t);
    }
    putchar('"');
}

static void print_csv(const struct serve_scenario *s, const struct serve_result *r)
{
    struct field f[MAX_FIELDS];
    const int n = fields(r, f);
    printf("scenario,model,hw");
    for (int i = 0; i < n; i++) printf(",%s", f[i].name);
    putchar('\n');
    csv_text(s->name);
    putchar(',');
    csv_text(s->m->name);
    putchar(',');
    csv_text(r->attn_hw_name);
    for (int i = 0; i < n; i++) {
        char b[64];
        if (f[i].kind == 'u' && !r->has_price) printf(",n/a");
        else printf(",%s", fmt_exact(b, sizeof b, f[i].v));
    }
    printf("\n");
}

static void print_json(const struct serve_scenario *s, const struct serve_result *r)
{
    struct field f[MAX_FIELDS];
    const int n = fields(r, f);
    printf("{\"scenario\": ");
    fmt_json_str(stdout, s->name);
    printf(", \"model\": ");
    fmt_json_str(stdout, s->m->name);
    printf(", \"hw\": ");
    fmt_json_str(stdout, r->attn_hw_name);
    printf(", \"tp\": %g, \"afd\": %s, \"has_price\": %s,\n \"totals\": {", r->tp,
           r->afd ? "true" : "false", r->has_price ? "true" : "false");
    for (int i = 0; i < n; i++) {
        char b[64];
        printf("%s\n  \"%s\": %s", i ? "," : "", f[i].name,
               f[i].kind == 'u' && !r->has_price ? "null" : fmt_exact(b, sizeof b, f[i].v));
    }
    printf("},\n \"kv_timeline\": [");
    for (int i = 0; i < r->n_timeline; i++) {
        char t[64], b[64];
        printf("%s{\"t_s\": %s, \"kv_bytes\": %s}", i ? ", " : "",
               fmt_exact(t, sizeof t, r->timeline_t_s[i]),
               fmt_exact(b, sizeof b, r->timeline_kv_bytes[i]));
    }
    printf("]}\n");
}

/* The AFD pools' devices the scenario names (resolved paths; none: NULL, the
 * --hw device serves). 0, or -1 with e set and nothing left loaded. */
static int load_pools(const struct serve_scenario *s, struct device **pa, struct device **pf,
                      struct err *e)
{
    if (!s->afd.on) return 0;
    if (s->afd.attn_hw[0] && device_load(s->afd.attn_hw, pa, e)) return -1;
    if (s->afd.ffn_hw[0] && device_load(s->afd.ffn_hw, pf, e)) {
        device_free(*pa);
        *pa = NULL;
        return -1;
    }
    return 0;
}

/* Progress on standard error when it is a terminal, once the simulation has
 * run for half a second: requests done of their total. */
struct progress {
    struct timespec t0;
    bool shown;
};

static void on_progress(void *ctx, double done, double total)
{
    struct progress *p = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((double)(now.tv_sec - p->t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - p->t0.tv_nsec) < 0.5)
        return;
    fprintf(stderr, "\rserve: %.0f/%.0f requests done", done, total);
    p->shown = true;
}

int cmd_serve(int argc, char **argv)
{
    const char *C = "serve";
    struct cli_args a;
    int rc = cli_parse(&CLI_SERVE, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_SERVE, stdout);
        return 0;
    }
    enum out_format fmt;
    if ((rc = cli_format(C, &a, &fmt))) return rc;
    if (a.npos != 1) return cli_fail(C, "expected one SCENARIO.yaml");
    double tp = 0;
    if (a.tp && cli_count(a.tp, 1, 65536, &tp))
        return cli_fail(C, "--tp must be a whole number from 1 to 65536, got '%s'", a.tp);
    struct err e;
    struct serve_scenario *s = NULL;
    if (serve_load(a.pos[0], &s, &e)) return cli_fail_err(&e);
    /* An AFD scenario naming both pools' devices takes neither --hw (it would be
     * ignored) nor --tp (the pools give the device counts). */
    const bool pools_named = s->afd.on && s->afd.attn_hw[0] && s->afd.ffn_hw[0];
    if ((pools_named && a.hw) || (s->afd.on && a.tp)) {
        serve_free(s);
        return cli_fail(C, "%s does not apply: %s splits attention and FFN (afd:)%s", a.tp ? "--tp" : "--hw",
                        a.pos[0], a.tp ? " and its pools give the device counts"
                                       : " and names both pools' devices (attention_hw, ffn_hw)");
    }
    if (!a.hw && !pools_named) {
        serve_free(s);
        return cli_fail(C, "missing --hw HW");
    }
    if (tp == 0) tp = s->tp;
    if (model_tp_check(s->m, tp, &e)) {
        serve_free(s);
        return cli_fail_err(&e);
    }
    struct device *d = NULL, *pa = NULL, *pf = NULL;
    if ((pools_named ? device_load(s->afd.attn_hw, &d, &e) : cli_load_device(a.hw, &d, &e)) ||
        load_pools(s, &pa, &pf, &e)) {
        device_free(d);
        serve_free(s);
        return cli_fail_err(&e);
    }
    if (a.profile || (a.impl && !s->profile)) {
        /* --profile replaces the file's profile; --impl alone starts from the
         * file's, else from the bundled default */
        char path[1024];
        struct profile *p = NULL;
        if (catalog_resolve("models/profiles", a.profile ? a.profile : "default", path,
                            sizeof path, &e) ||
            profile_load(path, &p, &e)) {
            device_free(pf);
            device_free(pa);
            device_free(d);
            serve_free(s);
            return cli_fail_err(&e);
        }
        profile_free(s->profile);
        s->profile = p;
    }
    if (a.impl && profile_set_impl(s->profile, a.impl, "--impl", &e)) {
        fprintf(stderr, "opbound %s: %s\n", C, e.msg);
        device_free(pf);
        device_free(pa);
        device_free(d);
        serve_free(s);
        return CLI_USAGE;
    }
    const struct serve_hw hw = {.d = d, .attn = pa, .ffn = pf};
    struct serve_result r;
    struct progress pg = {.shown = false};
    if (isatty(STDERR_FILENO)) {
        clock_gettime(CLOCK_MONOTONIC, &pg.t0);
        s->progress = on_progress;
        s->progress_ctx = &pg;
    }
    const int sr = serve_run(s, &hw, tp, &r, &e);
    if (pg.shown) fprintf(stderr, "\r\033[K");
    if (sr) {
        rc = cli_fail_err(&e);
    } else {
        switch (fmt) {
        case OUT_TABLE: print_table(s, &r, d); break;
        case OUT_CSV: print_csv(s, &r); break;
        case OUT_JSON: print_json(s, &r); break;
        }
    }
    device_free(pf);
    device_free(pa);
    device_free(d);
    serve_free(s);
    return rc;
}
