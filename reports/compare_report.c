/* compare_report.c - table, csv and json output of `opbound compare`. Ratios
 * are each design's figure divided by the first design's, within a block. */
#include "compare_report.h"

#include <math.h>
#include <string.h>

#include "../models/profile.h"
#include "fmt.h"

#define B64 64

void compare_row_fill(struct compare_row *r, const char *design, const struct analysis *a,
                      const struct scenario *sc)
{
    const struct eval_totals *pre = sc->phase == PHASE_PREFILL ? &a->tot : &a->other_tot;
    const struct eval_totals *dec = sc->phase == PHASE_PREFILL ? &a->other_tot : &a->tot;
    r->design = design;
    r->params = a->counts.params;
    r->active_params = a->counts.active_params;
    r->kv_bytes_per_token = a->kv_bytes_per_token;
    r->kv_bytes_per_token_dev = a->kv_bytes_per_token_dev;
    r->prefill_flops = pre->flops;
    r->decode_flops = dec->flops;
    r->prefill_intensity = pre->bytes > 0 ? pre->flops / pre->bytes : 0;
    r->decode_intensity = dec->bytes > 0 ? dec->flops / dec->bytes : 0;
    r->ttft_s = a->ttft_s;
    r->tpot_s = a->tpot_s;
    r->memory_bytes = a->memory_bytes;
    r->max_batch = a->max_batch;
    r->fits = a->fits;
}

void compare_train_cfg(const struct scenario *sc, struct train_cfg *c)
{
    const double len = sc->phase == PHASE_PREFILL ? sc->seq : sc->context;
    *c = (struct train_cfg){.gpus = COMPARE_TRAIN_GPUS, .seq = len,
                            .global_tokens = COMPARE_TRAIN_GPUS * len, .micro_batch = 1,
                            .tp = 1, .pp = 1, .dp = COMPARE_TRAIN_GPUS, .cp = 1, .ep = 1,
                            .recompute = RECOMPUTE_SELECTIVE, .zero = 3, .opt = OPT_ADAMW,
                            .cp_scheme = CP_RING, .dt = DT_BF16};
}

int compare_row_train(struct compare_row *r, const struct model *m, const struct device *d,
                      const struct scenario *sc)
{
    struct train_cfg c;
    compare_train_cfg(sc, &c);
    char msg[256];
    r->has_train = false;
    if (c.seq < 1 || train_check(m, &c, msg, sizeof msg)) return 0; /* n/a */
    struct train_result t;
    if (train_run(m, d, &c, &t)) return -1;
    r->has_train = true;
    r->train_fits = t.fits;
    r->train_flops_per_token = t.model_flops_per_token;
    r->train_step_s = t.step_time_s;
    r->train_tokens_per_s = t.tokens_per_s;
    r->train_memory_bytes = t.mem_total;
    r->train_mfu = t.mfu;
    train_free(&t);
    return 0;
}

static void train_line(char *buf, size_t n, const struct device *d, const struct scenario *sc)
{
    struct train_cfg c;
    compare_train_cfg(sc, &c);
    snprintf(buf, n,
             "training columns: %g x %s, ZeRO-%d data parallel (dp %g), %g sequences of %.0f "
             "tokens per step (micro-batch 1), %s recompute, %s, %s",
             c.gpus, d->name, c.zero, c.dp, c.gpus, c.seq, recompute_name(c.recompute),
             optimizer_name(c.opt), dtype_name(c.dt));
}

/* a / b; undefined (NaN) when the first design's figure is 0 (e.g. a KV-cache
 * ratio against a design that has no KV cache): tables print n/a, csv leaves
 * the field empty, json writes null. */
static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

static void scenario_line(char *buf, size_t n, const struct device *d, const struct scenario *sc)
{
    const double len = sc->phase == PHASE_PREFILL ? sc->seq : sc->context;
    int k = snprintf(buf, n, "%s, batch %.0f: prefill of %.0f tokens (TTFT), decode at context %.0f (TPOT)",
                     d->name, sc->batch, len, len);
    if (sc->tp > 1 && k > 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, ", tensor-parallel over %.0f (per device)", sc->tp);
    if (sc->ep > 1 && k > 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, ", expert-parallel over %.0f (busiest device)", sc->ep);
    if (sc->profile && k > 0 && (size_t)k < n) {
        char pb[512];
        profile_describe(sc->profile, pb, sizeof pb);
        snprintf(buf + k, n - (size_t)k, "; profile %s", pb);
    }
}

static void table(FILE *out, const char *title, const struct compare_block *blocks, int nb)
{
    static const char *const hdr[] = {"design",       "params",    "KV/token", "prefill FLOPs",
                                      "decode FLOPs", "dec Op/B",  "TTFT",     "TPOT",
                                      "memory",       "max batch", "KV x",     "TTFT x",
                                      "TPOT x",       "train FLOP/tok", "train step",
                                      "train mem"};
    char b[8][B64], line[1024];
    if (title && *title) fprintf(out, "%s\n\n", title);
    for (int bi = 0; bi < nb; bi++) {
        const struct compare_block *bl = &blocks[bi];
        scenario_line(line, sizeof line, bl->d, bl->sc);
        char desc[512];
        device_describe(bl->d, desc, sizeof desc);
        fprintf(out, "%s\nkernels: %s\n", line, desc);
        train_line(line, sizeof line, bl->d, bl->sc);
        fprintf(out, "%s\n", line);
        struct table t;
        table_init(&t, 16, hdr, "lrrrrrrrrrrrrrrr");
        const struct compare_row *f = &bl->rows[0];
        for (int i = 0; i < bl->n; i++) {
            const struct compare_row *r = &bl->rows[i];
            table_row(&t);
            table_cell(&t, 0, "%s", r->design);
            table_cell(&t, 1, "%s", fmt_si(b[0], B64, r->params, ""));
            table_cell(&t, 2, "%s", fmt_bin(b[1], B64, r->kv_bytes_per_token));
            table_cell(&t, 3, "%s", fmt_si(b[2], B64, r->prefill_flops, ""));
            table_cell(&t, 4, "%s", fmt_si(b[3], B64, r->decode_flops, ""));
            table_cell(&t, 5, r->decode_intensity >= 100 ? "%.0f" : "%.3g", r->decode_intensity);
            table_cell(&t, 6, "%s", fmt_time(b[4], B64, r->ttft_s));
            table_cell(&t, 7, "%s", fmt_time(b[5], B64, r->tpot_s));
            table_cell(&t, 8, "%s%s", fmt_bin(b[6], B64, r->memory_bytes), r->fits ? "" : " !");
            table_cell(&t, 9, "%.0f", r->max_batch);
            const double q[3] = {ratio(r->kv_bytes_per_token, f->kv_bytes_per_token),
                                 ratio(r->ttft_s, f->ttft_s), ratio(r->tpot_s, f->tpot_s)};
            for (int k = 0; k < 3; k++)
                if (isnan(q[k])) table_cell(&t, 10 + k, "n/a");
                else table_cell(&t, 10 + k, "%.3g", q[k]);
            if (!r->has_train) {
                for (int k = 13; k < 16; k++) table_cell(&t, k, "n/a");
                continue;
            }
            table_cell(&t, 13, "%s", fmt_si(b[0], B64, r->train_flops_per_token, ""));
            table_cell(&t, 14, "%s", fmt_time(b[1], B64, r->train_step_s));
            table_cell(&t, 15, "%s%s", fmt_bin(b[2], B64, r->train_memory_bytes),
                       r->train_fits ? "" : " !");
        }
        table_print(&t, out);
        table_free(&t);
        fputc('\n', out);
    }
    fprintf(out, "Ratios are against the first design. '!' marks a memory footprint that does "
                 "not fit the device. Training: model FLOPs per token (matmul, forward + "
                 "backward), step time and memory per device of one step at the setting "
                 "above (opbound train; docs/training.md).\n");
}

/* Exact number into a caller buffer (csv/json). */
#define X(v) fmt_exact(num, sizeof num, (v))

static void csv_text(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv(FILE *out, const struct compare_block *blocks, int n_blocks)
{
    char num[64];
    bool any_profile = false; /* a last column `profile` when some scenario has one */
    for (int bi = 0; bi < n_blocks; bi++)
        if (blocks[bi].sc->profile) any_profile = true;
    fprintf(out, "hw,phase,batch,seq,context,tp,design,params,active_params,"
                 "kv_cache_bytes_per_token,device_kv_cache_bytes_per_token,prefill_flops,"
                 "decode_flops,prefill_intensity,decode_intensity,ttft_s,tpot_s,memory_bytes,"
                 "fits,max_batch,kv_ratio,ttft_ratio,tpot_ratio,ep,train_gpus,train_seq,"
                 "train_flops_per_token,train_step_s,train_tokens_per_s,train_memory_bytes,"
                 "train_fits,train_mfu%s\n",
            any_profile ? ",profile" : "");
    for (int bi = 0; bi < n_blocks; bi++) {
        const struct compare_block *bl = &blocks[bi];
        const struct compare_row *f = &bl->rows[0];
        const struct scenario *sc = bl->sc;
        for (int i = 0; i < bl->n; i++) {
            const struct compare_row *r = &bl->rows[i];
            csv_text(out, bl->d->name);
            fprintf(out, ",%s,", phase_name(sc->phase));
            fprintf(out, "%s,", X(sc->batch));
            if (sc->phase == PHASE_PREFILL) fprintf(out, "%s,,", X(sc->seq));
            else fprintf(out, ",%s,", X(sc->context));
            fprintf(out, "%s,", X(sc->tp));
            csv_text(out, r->design);
            const double v[] = {r->params, r->active_params, r->kv_bytes_per_token,
                                r->kv_bytes_per_token_dev, r->prefill_flops, r->decode_flops,
                                r->prefill_intensity, r->decode_intensity, r->ttft_s, r->tpot_s,
                                r->memory_bytes};
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) fprintf(out, ",%s", X(v[k]));
            fprintf(out, ",%s", r->fits ? "true" : "false");
            fprintf(out, ",%s", X(r->max_batch));
            const double q[3] = {ratio(r->kv_bytes_per_token, f->kv_bytes_per_token),
                                 ratio(r->ttft_s, f->ttft_s), ratio(r->tpot_s, f->tpot_s)};
            for (int k = 0; k < 3; k++) fprintf(out, ",%s", isnan(q[k]) ? "" : X(q[k]));
            fprintf(out, ",%s", X(sc->ep >= 1 ? sc->ep : 1));
            struct train_cfg tc;
            compare_train_cfg(sc, &tc);
            fprintf(out, ",%s", X(tc.gpus));
            fprintf(out, ",%s", X(tc.seq));
            if (r->has_train) {
                fprintf(out, ",%s", X(r->train_flops_per_token));
                fprintf(out, ",%s", X(r->train_step_s));
                fprintf(out, ",%s", X(r->train_tokens_per_s));
                fprintf(out, ",%s", X(r->train_memory_bytes));
                fprintf(out, ",%s", r->train_fits ? "true" : "false");
                fprintf(out, ",%s", X(r->train_mfu));
            } else {
                fprintf(out, ",,,,,,");
            }
            if (any_profile) {
                fputc(',', out);
                if (sc->profile) csv_text(out, profile_name(sc->profile));
            }
            fputc('\n', out);
        }
    }
}

static void jkey(FILE *out, const char *key, double v, bool comma)
{
    char num[64];
    fprintf(out, "\"%s\": %s%s", key, isnan(v) ? "null" : X(v), comma ? ", " : "");
}

static void json(FILE *out, const char *title, const struct compare_block *blocks, int n_blocks)
{
    fprintf(out, "{\n  \"title\": ");
    fmt_json_str(out, title ? title : "");
    fprintf(out, ",\n  \"blocks\": [");
    for (int bi = 0; bi < n_blocks; bi++) {
        const struct compare_block *bl = &blocks[bi];
        const struct compare_row *f = &bl->rows[0];
        const struct scenario *sc = bl->sc;
        fprintf(out, "%s\n    {\"hw\": ", bi ? "," : "");
        fmt_json_str(out, bl->d->name);
        fprintf(out, ", \"scenario\": {\"phase\": \"%s\", ", phase_name(sc->phase));
        jkey(out, "batch", sc->batch, true);
        jkey(out, sc->phase == PHASE_PREFILL ? "seq" : "context",
             sc->phase == PHASE_PREFILL ? sc->seq : sc->context, true);
        jkey(out, "tp", sc->tp, true);
        jkey(out, "ep", sc->ep >= 1 ? sc->ep : 1, sc->profile != NULL);
        if (sc->profile) {
            fprintf(out, "\"profile\": ");
            fmt_json_str(out, profile_name(sc->profile));
        }
        struct train_cfg tc;
        compare_train_cfg(sc, &tc);
        fprintf(out, "},\n     \"training\": {");
        jkey(out, "gpus", tc.gpus, true);
        jkey(out, "dp", tc.dp, true);
        jkey(out, "zero", tc.zero, true);
        jkey(out, "seq", tc.seq, true);
        jkey(out, "global_batch_tokens", tc.global_tokens, true);
        jkey(out, "micro_batch", tc.micro_batch, true);
        fprintf(out, "\"recompute\": \"%s\", \"optimizer\": \"%s\", \"dtype\": \"%s\"",
                recompute_name(tc.recompute), optimizer_name(tc.opt), dtype_name(tc.dt));
        fprintf(out, "},\n     \"rows\": [");
        for (int i = 0; i < bl->n; i++) {
            const struct compare_row *r = &bl->rows[i];
            fprintf(out, "%s\n       {\"design\": ", i ? "," : "");
            fmt_json_str(out, r->design);
            fprintf(out, ", ");
            jkey(out, "params", r->params, true);
            jkey(out, "active_params", r->active_params, true);
            jkey(out, "kv_cache_bytes_per_token", r->kv_bytes_per_token, true);
            jkey(out, "device_kv_cache_bytes_per_token", r->kv_bytes_per_token_dev, true);
            jkey(out, "prefill_flops", r->prefill_flops, true);
            jkey(out, "decode_flops", r->decode_flops, true);
            jkey(out, "prefill_intensity", r->prefill_intensity, true);
            jkey(out, "decode_intensity", r->decode_intensity, true);
            jkey(out, "ttft_s", r->ttft_s, true);
            jkey(out, "tpot_s", r->tpot_s, true);
            jkey(out, "memory_bytes", r->memory_bytes, true);
            fprintf(out, "\"fits\": %s, ", r->fits ? "true" : "false");
            jkey(out, "max_batch", r->max_batch, true);
            jkey(out, "kv_ratio", ratio(r->kv_bytes_per_token, f->kv_bytes_per_token), true);
            jkey(out, "ttft_ratio", ratio(r->ttft_s, f->ttft_s), true);
            jkey(out, "tpot_ratio", ratio(r->tpot_s, f->tpot_s), true);
            const double na = NAN;
            jkey(out, "train_flops_per_token", r->has_train ? r->train_flops_per_token : na, true);
            jkey(out, "train_step_s", r->has_train ? r->train_step_s : na, true);
            jkey(out, "train_tokens_per_s", r->has_train ? r->train_tokens_per_s : na, true);
            jkey(out, "train_memory_bytes", r->has_train ? r->train_memory_bytes : na, true);
            jkey(out, "train_mfu", r->has_train ? r->train_mfu : na, true);
            fprintf(out, "\"train_fits\": %s", !r->has_train ? "null"
                                               : r->train_fits ? "true" : "false");
            fputc('}', out);
        }
        fprintf(out, "\n     ]}");
    }
    fprintf(out, "\n  ]\n}\n");
}

void report_compare(FILE *out, enum out_format fmt, const char *title,
                    const struct compare_block *blocks, int n_blocks)
{
    switch (fmt) {
    case OUT_TABLE: table(out, title, blocks, n_blocks); break;
    case OUT_CSV: csv(out, blocks, n_blocks); break;
    case OUT_JSON: json(out, title, blocks, n_blocks); break;
    }
}
