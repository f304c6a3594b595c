/* cmd_serve.c - `opbound serve SCENARIO.yaml --hw HW [--tp N] [--format F]`:
 * continuous-batching simulation of a request mix (sim/serve.h), reported as
 * a table, one csv row, or json. Rules and formulas: docs/serving.md. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../reports/fmt.h"
#include "cli.h"
#include "../core/catalog.h"
#include "../fleet.h"
#include "../serve.h"
#include "../../reports/plot.h"
#include "../../reports/serve_plot.h"

#include <math.h>
#include <stdlib.h>

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
    {"--trace", "CSV", "replay a request trace (opbound, Azure LLM inference\n"
                       "or BurstGPT layout) instead of the scenario's mix and\n"
                       "arrivals; the scenario's `requests` keeps the first N"},
    {"--slo-ttft", "S", "time-to-first-token target in seconds (overrides\n"
                        "the scenario's slo: ttft_s)"},
    {"--slo-tpot", "S", "time-per-output-token target in seconds (overrides\n"
                        "the scenario's slo: tpot_s)"},
    {"--format", "F", "table (default), csv or json"},
    {"--timeseries", "PATH", "also write the time series per replica and window:\n"
                             "DIR/NAME.csv, NAME.gp and, with gnuplot, NAME.png\n"
                             "and .svg (queue, running batch, KV held, tokens/s)"},
    {"--window", "S", "time-series window in seconds (default 1; doubles\n"
                      "while the run would need more than 4096 windows)"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_SERVE = {
    .name = "serve",
    .brief = "serve SCENARIO.yaml --hw HW [--tp N]",
    .summary = "continuous-batching simulation, cost per token",
    .usage = "opbound serve SCENARIO.yaml --hw HW [--tp N] [--format table|csv|json]\n"
             "opbound serve AFD-SCENARIO.yaml [--format table|csv|json]\n"
             "opbound serve FLEET-SCENARIO.yaml [--hw HW] [--timeseries PATH [--window S]]",
    .about = "Simulates continuous batching of the scenario's requests (Sarathi-Serve style:\n"
             "decodes first, then prefill chunks up to the token budget; requests wait while the\n"
             "batch is full or their KV cache does not fit) on --tp devices of HW, each iteration\n"
             "costed by the roofline of its exact mix of decodes and prefill chunks. Reports\n"
             "iteration times, time to first token, time between tokens, throughput, KV-cache\n"
             "occupancy, waiting, and USD per million output tokens when the device has a price.\n"
             "A scenario may split attention and FFN over two device pools (afd:); when it names\n"
             "both pools' devices, --hw and --tp are refused. A scenario with fleet: runs\n"
             "replicas behind a router (round robin or least outstanding tokens), optionally\n"
             "as prefill and decode pools with a KV-cache link; its replicas give their tp\n"
             "(--tp refused) and --hw is the device of replicas that name none. See\n"
             "docs/serving.md and examples/serve-*.yaml.\n",
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
    if (r->trace) F("trace_rows_skipped", r->trace_rows_skipped, 'n');
    if (r->prefix_block_tokens > 0) {
        F("prefix_block_tokens", r->prefix_block_tokens, 'n');
        F("prefix_hit_tokens", r->prefix_hit_tokens, 'n');
        F("prefix_hit_rate", r->prefix_hit_rate, 'n');
        F("prefix_hit_requests", r->prefix_hit_requests, 'n');
        F("prefix_evicted_blocks", r->prefix_evicted_blocks, 'n');
    }
    if (r->paged) {
        F("preemptions", r->preemptions, 'n');
        F("recomputed_tokens", r->recomputed_tokens, 'n');
        F("swapped_bytes", r->swapped_bytes, 'b');
        F("swap_time_s", r->swap_time_s, 't');
    }
    F("timed_out", r->timed_out, 'n');
    if (r->priority_classes > 1) F("priority_classes", r->priority_classes, 'n');
    if (r->slo_ttft_s > 0 || r->slo_tpot_s > 0) {
        F("slo_ttft_s", r->slo_ttft_s, 't');
        F("slo_tpot_s", r->slo_tpot_s, 't');
        F("slo_ttft_attainment", r->slo_ttft_attainment, 'n');
        F("slo_tpot_attainment", r->slo_tpot_attainment, 'n');
        F("slo_attainment", r->slo_attainment, 'n');
        F("goodput_requests_per_s", r->goodput_requests_per_s, 'r');
        F("goodput_tokens_per_s", r->goodput_tokens_per_s, 'r');
    }
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
    if (r->spec) {
        F("spec_k", r->spec_k, 'n');
        F("spec_accept", r->spec_accept, 'n');
        F("spec_tokens_per_verify", r->spec_tokens_per_verify, 'n');
        F("spec_draft_s", r->spec_draft_s, 't');
        F("spec_draft_weight_bytes_dev", r->spec_draft_weight_bytes_dev, 'b');
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


/* ---- fleets ---- */

struct rfield {
    const char *name;
    char kind; /* as struct field; 's' text */
};
static const struct rfield RFIELDS[] = {
    {"replica", 'n'}, {"role", 's'}, {"hw", 's'}, {"tp", 'n'}, {"requests", 'n'},
    {"iterations", 'n'}, {"input_tokens", 'n'}, {"output_tokens", 'n'},
    {"ttft_mean_s", 't'}, {"tbt_mean_s", 't'}, {"e2e_mean_s", 't'},
    {"output_tokens_per_s", 'r'}, {"wait_mean_s", 't'}, {"kv_limit_bytes", 'b'},
    {"kv_peak_bytes", 'b'}, {"kv_mean_bytes", 'b'}, {"usd_total", 'u'},
};
#define NRF ((int)(sizeof RFIELDS / sizeof RFIELDS[0]))

static double rfield_num(const struct serve_result *p, int i, int k)
{
    switch (k) {
    case 0: return i;
    case 3: return p->tp;
    case 4: return p->requests;
    case 5: return p->iterations;
    case 6: return p->input_tokens;
    case 7: return p->output_tokens;
    case 8: return p->ttft_s.mean;
    case 9: return p->tbt_s.mean;
    case 10: return p->e2e_s.mean;
    case 11: return p->output_tokens_per_s;
    case 12: return p->wait_mean_s;
    case 13: return p->kv_limit_bytes;
    case 14: return p->kv_peak_bytes;
    case 15: return p->kv_mean_bytes;
    default: return p->usd_total;
    }
}

static int fleet_fields(const struct fleet_result *fr, struct field *f)
{
    const struct serve_result *r = &fr->total;
    int n = 0;
#define F(nm, val, k) f[n++] = (struct field){nm, (val), k}
    F("requests", r->requests, 'n');
    F("replicas", fr->n, 'n');
    F("iterations", r->iterations, 'n');
    F("makespan_s", r->makespan_s, 't');
    F("input_tokens", r->input_tokens, 'n');
    F("output_tokens", r->output_tokens, 'n');
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
    F("kv_transfers", fr->kv_transfers, 'n');
    F("kv_transfer_bytes", fr->kv_transfer_bytes, 'n');
    F("kv_transfer_mean_s", fr->kv_transfers > 0 ? fr->kv_transfer_s / fr->kv_transfers : 0, 't');
    F("usd_total", r->usd_total, 'u');
    F("usd_per_mtok", r->usd_per_mtok, 'u');
#undef F
    return n;
}

static void fmt_field(char *b, size_t n, char kind, double v, bool price)
{
    switch (kind) {
    case 't': fmt_time(b, n, v); break;
    case 'b': fmt_bin(b, n, v); break;
    case 'r': fmt_si(b, n, v, "/s"); break;
    case 'u':
        if (price) snprintf(b, n, "$%.4g", v);
        else snprintf(b, n, "n/a");
        break;
    default: snprintf(b, n, "%.15g", v); break;
    }
}

static void print_fleet(const struct serve_scenario *s, const struct fleet_result *fr,
                        enum out_format fmt)
{
    static const char *const ROUTERS[] = {"round_robin", "least_tokens"};
    struct field f[MAX_FIELDS];
    const int n = fleet_fields(fr, f);
    const char *router = ROUTERS[s->fleet->router];
    if (fmt == OUT_TABLE) {
        printf("serve: %s  model %s  fleet of %d replicas, router %s%s\n\n",
               s->name[0] ? s->name : s->file, s->m->name, fr->n, router,
               s->fleet->disagg ? ", prefill / decode pools" : "");
        for (int i = 0; i < n; i++) {
            char b[64];
            fmt_field(b, sizeof b, f[i].kind, f[i].v, fr->total.has_price);
            printf("  %-30s %s\n", f[i].name, b);
        }
        printf("\nper replica:\n ");
        for (int k = 0; k < NRF; k++) printf(" %s", RFIELDS[k].name);
        printf("\n");
        for (int i = 0; i < fr->n; i++) {
            const struct serve_result *p = &fr->rep[i];
            printf(" ");
            for (int k = 0; k < NRF; k++) {
                char b[96];
                if (k == 1) snprintf(b, sizeof b, "%s", fr->role[i]);
                else if (k == 2) snprintf(b, sizeof b, "%s", p->hw_name);
                else fmt_field(b, sizeof b, RFIELDS[k].kind, rfield_num(p, i, k), p->has_price);
                printf(" %s", b);
            }
            printf("\n");
        }
        if (!fr->total.has_price) printf("\ncost: n/a (a replica's device file has no price)\n");
        return;
    }
    if (fmt == OUT_CSV) {
        /* one row per replica, then the fleet's totals */
        printf("scenario,model,router");
        for (int k = 0; k < NRF; k++) printf(",%s", RFIELDS[k].name);
        printf("\n");
        for (int i = 0; i < fr->n; i++) {
            const struct serve_result *p = &fr->rep[i];
            csv_text(s->name);
            putchar(',');
            csv_text(s->m->name);
            printf(",%s", router);
            for (int k = 0; k < NRF; k++) {
                char b[64];
                if (k == 1) printf(",%s", fr->role[i]);
                else if (k == 2) putchar(','), csv_text(p->hw_name);
                else if (RFIELDS[k].kind == 'u' && !p->has_price) printf(",n/a");
                else printf(",%s", fmt_exact(b, sizeof b, rfield_num(p, i, k)));
            }
            printf("\n");
        }
        printf("\nscenario,model,router");
        for (int i = 0; i < n; i++) printf(",%s", f[i].name);
        printf("\n");
        csv_text(s->name);
        putchar(',');
        csv_text(s->m->name);
        printf(",%s", router);
        for (int i = 0; i < n; i++) {
            char b[64];
            if (f[i].kind == 'u' && !fr->total.has_price) printf(",n/a");
            else printf(",%s", fmt_exact(b, sizeof b, f[i].v));
        }
        printf("\n");
        return;
    }
    printf("{\"scenario\": ");
    fmt_json_str(stdout, s->name);
    printf(", \"model\": ");
    fmt_json_str(stdout, s->m->name);
    printf(", \"router\": \"%s\", \"disaggregated\": %s, \"has_price\": %s,\n \"totals\": {",
           router, s->fleet->disagg ? "true" : "false", fr->total.has_price ? "true" : "false");
    for (int i = 0; i < n; i++) {
        char b[64];
        printf("%s\n  \"%s\": %s", i ? "," : "", f[i].name,
               f[i].kind == 'u' && !fr->total.has_price ? "null" : fmt_exact(b, sizeof b, f[i].v));
    }
    printf("},\n \"replicas\": [");
    for (int i = 0; i < fr->n; i++) {
        const struct serve_result *p = &fr->rep[i];
        printf("%s\n  {", i ? "," : "");
        for (int k = 0; k < NRF; k++) {
            char b[64];
            printf("%s\"%s\": ", k ? ", " : "", RFIELDS[k].name);
            if (k == 1) printf("\"%s\"", fr->role[i]);
            else if (k == 2) fmt_json_str(stdout, p->hw_name);
            else if (RFIELDS[k].kind == 'u' && !p->has_price) printf("null");
            else printf("%s", fmt_exact(b, sizeof b, rfield_num(p, i, k)));
        }
        printf("}");
    }
    printf("]}\n");
}

/* --timeseries: the csv, script and chart of every replica's windows, at one
 * width (the widest any replica needed). */
static int write_series(const char *C, const char *out, const struct serve_scenario *s,
                        struct serve_result *const *r, const char *const *labels, int n)
{
    char dir[PLOT_PATH_MAX], base[256];
    int rc = cli_out_split(C, out, dir, sizeof dir, base, sizeof base);
    if (rc) return rc;
    double w = 0;
    for (int i = 0; i < n; i++) w = fmax(w, r[i]->series.width_s);
    for (int i = 0; i < n; i++) serve_series_widen(&r[i]->series, w);
    struct err e;
    char title[300];
    snprintf(title, sizeof title, "%.200s: %s windows", s->name[0] ? s->name : s->file,
             fmt_time((char[32]){0}, 32, w));
    if (plot_mkdirs(dir, &e) ||
        serve_plot_write((const struct serve_result *const *)r, labels, n, title, dir, base, &e))
        return cli_fail_out(&e);
    char name[2][PLOT_PATH_MAX], script[PLOT_PATH_MAX];
    snprintf(name[0], sizeof name[0], "%s.png", base);
    snprintf(name[1], sizeof name[1], "%s.svg", base);
    snprintf(script, sizeof script, "%s.gp", base);
    bool warned = false;
    const char *vars[] = {"png_file", "svg_file"}, *files[] = {name[0], name[1]};
    rc = cli_render(C, dir, script, vars, files, 2, &warned);
    if (rc == 0)
        fprintf(stderr, "wrote %s/%s.%s\n", dir, base, warned ? "{gp,csv}" : "{png,svg,gp,csv}");
    return rc;
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

/* A number of seconds from 1e-9 to 1e9 (an SLO target). 0, or -1. */
static int seconds(const char *t, double *out)
{
    char *end;
    const double v = strtod(t, &end);
    if (end == t || *end || !(v >= 1e-9 && v <= 1e9)) return -1;
    *out = v;
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
    const char *ts_out = NULL, *win_arg = NULL;
    for (int i = 0; i < a.nx; i++) {
        if (strcmp(a.xname[i], "--timeseries") == 0) ts_out = a.xval[i];
        if (strcmp(a.xname[i], "--window") == 0) win_arg = a.xval[i];
    }
    double window = 1;
    if (win_arg) {
        char *end;
        window = strtod(win_arg, &end);
        if (end == win_arg || *end || !(window >= 1e-6 && window <= 1e9))
            return cli_fail(C, "--window must be a number of seconds from 1e-6 to 1e9, got '%s'",
                            win_arg);
        if (!ts_out) return cli_fail(C, "--window applies only with --timeseries PATH");
    }
    struct err e;
    struct serve_scenario *s = NULL;
    const char *trace = NULL, *slo_ttft = NULL, *slo_tpot = NULL;
    for (int i = 0; i < a.nx; i++) {
        if (strcmp(a.xname[i], "--trace") == 0) trace = a.xval[i];
        else if (strcmp(a.xname[i], "--slo-ttft") == 0) slo_ttft = a.xval[i];
        else if (strcmp(a.xname[i], "--slo-tpot") == 0) slo_tpot = a.xval[i];
    }
    double ttft_s = 0, tpot_s = 0;
    if (slo_ttft && seconds(slo_ttft, &ttft_s))
        return cli_fail(C, "--slo-ttft must be a number of seconds from 1e-9 to 1e9, got '%s'",
                        slo_ttft);
    if (slo_tpot && seconds(slo_tpot, &tpot_s))
        return cli_fail(C, "--slo-tpot must be a number of seconds from 1e-9 to 1e9, got '%s'",
                        slo_tpot);
    if (serve_load(a.pos[0], &s, &e)) return cli_fail_err(&e);
    if (slo_ttft) s->slo_ttft_s = ttft_s;
    if (slo_tpot) s->slo_tpot_s = tpot_s;
    if (trace && s->fleet) {
        serve_free(s);
        return cli_fail(C, "--trace does not apply to a fleet (fleet:) yet");
    }
    if (trace && serve_trace_set(s, trace, s->has_requests, &e)) {
        serve_free(s);
        return cli_fail_err(&e);
    }
    if (ts_out) s->series_window_s = window;
    if (s->fleet) {
        rc = 0;
        if (a.tp) rc = cli_fail(C, "--tp does not apply: %s runs a fleet (fleet:) whose replicas "
                                   "give their tp", a.pos[0]);
        else if (!a.hw && !s->fleet->all_named)
            rc = cli_fail(C, "missing --hw HW (the device of the fleet's replicas that name "
                             "none)");
        else if (a.profile || a.impl)
            rc = cli_fail(C, "--profile and --impl do not apply to a fleet: give `profile:` "
                             "and `impl:` in %s", a.pos[0]);
        struct device *d = NULL;
        if (!rc && a.hw && cli_load_device(a.hw, &d, &e)) rc = cli_fail_err(&e);
        struct fleet_result fr;
        if (!rc && fleet_run(s, d, &fr, &e)) rc = cli_fail_err(&e);
        else if (!rc) {
            print_fleet(s, &fr, fmt);
            if (ts_out) {
                struct serve_result *rr[FLEET_MAX_REPLICAS];
                char lab[FLEET_MAX_REPLICAS][96];
                const char *lp[FLEET_MAX_REPLICAS];
                for (int i = 0; i < fr.n; i++) {
                    rr[i] = &fr.rep[i];
                    snprintf(lab[i], sizeof lab[i], "r%d %s tp%g %s", i, fr.role[i],
                             fr.rep[i].tp, fr.rep[i].hw_name);
                    for (char *c = lab[i]; *c; c++)
                        if (*c == ',' || *c == '"') *c = ' ';
                    lp[i] = lab[i];
                }
                rc = write_series(C, ts_out, s, rr, lp, fr.n);
            }
            fleet_result_free(&fr);
        }
        device_free(d);
        serve_free(s);
        return rc;
    }
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
    if (model_tp_check(s->m, tp, &e) || (s->spec.on && model_tp_check(s->spec.draft, tp, &e))) {
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
        if (ts_out) {
            struct serve_result *rr[1] = {&r};
            char lab[96];
            snprintf(lab, sizeof lab, "tp%g %s", r.tp, r.attn_hw_name);
            for (char *c = lab; *c; c++)
                if (*c == ',' || *c == '"') *c = ' ';
            const char *lp[1] = {lab};
            rc = write_series(C, ts_out, s, rr, lp, 1);
        }
        serve_result_free(&r);
    }
    device_free(pf);
    device_free(pa);
    device_free(d);
    serve_free(s);
    return rc;
}
