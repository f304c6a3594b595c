/* test_figures.c - the figures a user reads last, each derived by hand:
 * tokens/s at batch > 1 (prefill and decode), the gelu and geglu FFN kinds
 * (parameters and FLOPs), every ratio of `compare` and `report` in every
 * format (table, csv, json, report.md, report.html), a serve scenario small
 * enough to follow every event (TTFT/E2E/TBT percentiles, throughput, KV
 * occupancy and the serve table's percentages, cost), and each bundled device
 * file's datasheet figures.
 *
 * Times use tests/data/test-overhead.yaml: every rate at the schema's ceiling
 * (1e16 B/s, 1e19 FLOP/s) and efficiency 1, so an op of the tiny test models
 * (a few hundred bytes) has a roofline term below 1e-12 s and costs its fixed
 * 1 ms kernel overhead. A step's time is then (kernels in the step) x 1 ms,
 * counted by hand from the op list of docs/conventions.md. tiny-gelu
 * (tests/data/tiny-gelu.yaml: h = 8, V = 16, one layer, GQA H = 2, Hkv = 1,
 * D = 4, no rope, GELU MLP I = 16) lowers to 14 kernels per step:
 *   embed, attn_norm, qkv_proj, kv_write, attention, o_proj, attn_residual,
 *   ffn_norm, up_proj, gelu, down_proj, ffn_residual, final_norm, lm_head.
 * Tolerance 1e-9 relative covers the < 1e-12 s roofline terms. */
#include "testutil.h"

#include "../sim/serve.h"

#define REL 1e-9
#define MS 1e-3

static char out_buf[1 << 20], err_buf[1 << 16];

static const char *data(const char *name)
{
    static char p[4][1024];
    static int slot;
    char *s = p[slot++ % 4];
    snprintf(s, 1024, "%s/tests/data/%s", OB_DATADIR, name);
    return s;
}

static struct model *load_model(const char *path)
{
    struct model *m = NULL;
    struct err e;
    if (model_load(path, &m, &e)) err_print(&e, stderr);
    return m;
}

static struct device *load_device(const char *path)
{
    struct device *d = NULL;
    struct err e;
    if (device_load(path, &d, &e)) err_print(&e, stderr);
    return d;
}

/* The number after "key": in a JSON text (first occurrence after from). */
static double json_num(const char *text, const char *key)
{
    char k[128];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = strstr(text, k);
    if (!p) {
        print_error("no %s in output\n", k);
        fail();
    }
    return strtod(p + strlen(k), NULL);
}

static void assert_has(const char *text, const char *what)
{
    if (!strstr(text, what)) {
        print_error("missing \"%s\" in:\n%s\n", what, text);
        fail();
    }
}

static const struct op *find_op(const struct graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->ops[i].name, name) == 0) return &g->ops[i];
    print_error("no op %s\n", name);
    fail();
    return NULL;
}

/* ---- tokens per second ---- */

/* Decode, B = 4 at context 8: one step = 14 kernels = 14 ms and yields one
 * token per sequence: 4 / 0.014 = 285.714... tokens/s. Prefill, B = 2 of
 * S = 8: 14 ms for 2 x 8 = 16 prompt tokens: 16 / 0.014 = 1142.857... */
static void test_figures_tokens_per_s(void **state)
{
    (void)state;
    struct model *m = load_model(data("tiny-gelu.yaml"));
    struct device *d = load_device(data("test-overhead.yaml"));
    assert_non_null(m);
    assert_non_null(d);
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 4, .context = 8};
    analysis_run(&a, m, d, &sc);
    assert_exact(a.tot.kernels, 14);
    assert_close(a.tot.time_s, 14 * MS, REL);
    assert_close(a.tokens_per_s, 4 / (14 * MS), REL);
    assert_close(a.tpot_s, 14 * MS, REL);
    assert_close(a.ttft_s, 14 * MS, REL); /* the prefill of 4 x 8 before it */
    /* memory at B = 4, context 8: KV 4 x (8 + 1) x 16 B = 576; activations:
     * the largest op's in + out, gelu's 4 x 16 x 2 + 4 x 16 x 2 = 256; weights
     * 728 x 2 = 1456; footprint 2288. Largest batch: (1e12 - 1456) / (9 x 16 +
     * 256 / 4) = 4,807,692,300.69 -> 4,807,692,300 (rounded down). */
    /* bytes of the step (weights + activations read + KV read + written), t = 4:
     *   embed 64 (4 rows x 8 x 2) + 0 + 0 + 64      = 128
     *   attn_norm 16 + 64 + 0 + 64                  = 144
     *   qkv_proj 256 + 64 + 0 + 128                 = 448
     *   kv_write 0 + 64 + 0 + 64 (K and V: 4 x 8 x 2) = 128
     *   attention 0 + 64 (Q) + 576 (4 x 9 keys x 8 x 2) + 64 = 704
     *   o_proj 128 + 64 + 0 + 64                    = 256
     *   attn_residual 0 + 128 (two inputs) + 0 + 64 = 192
     *   ffn_norm 144, up_proj 448, gelu 0 + 128 + 0 + 128 = 256,
     *   down_proj 256 + 128 + 0 + 64 = 448, ffn_residual 192,
     *   final_norm 144, lm_head 256 + 64 + 0 + 128 = 448
     * total 4080: weights 1264, activations 1088, KV 576, written 1152 */
    assert_exact(a.tot.bytes, 4080);
    assert_exact(a.tot.cost.bytes_w, 1264);
    assert_exact(a.tot.cost.bytes_act, 1088);
    assert_exact(a.tot.cost.bytes_kv, 576);
    assert_exact(a.tot.cost.bytes_out, 1152);
    assert_exact(find_op(&a.graph, "gelu")->cost.bytes_act, 128);
    assert_exact(a.kv_cache_bytes, 576);
    assert_exact(a.act_bytes, 256);
    assert_exact(a.memory_bytes, 2288);
    assert_exact(a.max_batch, 4807692300.0);
    sc = (struct scenario){.phase = PHASE_PREFILL, .batch = 2, .seq = 8};
    analysis_run(&a, m, d, &sc);
    assert_close(a.tokens_per_s, 2 * 8 / (14 * MS), REL);
    analysis_free(&a);
    /* three layers: 3 + 3 x 11 = 36 kernels, 36 ms; decode B = 4: 4 / 0.036 */
    struct model *m3 = load_model(tu_write_temp(
        "name: tiny3\nhidden: 8\nlayers: 3\nvocab: 16\ntied_embeddings: false\nnorm: rmsnorm\n"
        "dtypes: {weight: bf16, activation: bf16, kv: bf16}\ngroups:\n  - repeat: 3\n"
        "    attention: {kind: gqa, heads: 2, kv_heads: 1, head_dim: 4, rope: false}\n"
        "    ffn: {kind: gelu, intermediate: 16}\n"));
    assert_non_null(m3);
    assert_int_equal(analysis_init(&a, m3), 0);
    sc = (struct scenario){.phase = PHASE_DECODE, .batch = 4, .context = 8};
    analysis_run(&a, m3, d, &sc);
    assert_exact(a.tot.kernels, 36);
    assert_close(a.tot.time_s, 36 * MS, REL);
    assert_close(a.tokens_per_s, 4 / (36 * MS), REL);
    analysis_free(&a);
    model_free(m3);
    /* ... and as the user reads them: the JSON totals and the text table */
    char args[2048];
    snprintf(args, sizeof args,
             "analyze %s --hw %s --phase decode --batch 4 --context 8 --format json",
             data("tiny-gelu.yaml"), data("test-overhead.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_close(json_num(out_buf, "tokens_per_s"), 4 / (14 * MS), REL);
    snprintf(args, sizeof args,
             "analyze %s --hw %s --phase prefill --batch 2 --seq 8 --format json",
             data("tiny-gelu.yaml"), data("test-overhead.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_close(json_num(out_buf, "tokens_per_s"), 16 / (14 * MS), REL);
    snprintf(args, sizeof args, "analyze %s --hw %s --phase decode --batch 4 --context 8",
             data("tiny-gelu.yaml"), data("test-overhead.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_has(out_buf, "tokens per second   286 "); /* 285.7 at 3 digits */
    /* every op's intensity (at most a few FLOP/B) is below the ridge 1e19 /
     * 1e16 = 1000 FLOP/B: all 14 ms in memory-bound ops, all of it overhead */
    assert_has(out_buf, "14 ms (100% in memory-bound ops, 14 kernels, overhead 100%)");
    /* per-op csv: qkv_proj (B = 4: FLOPs 2 x 4 x 16 x 8 = 1024; bytes 256
     * weights + 64 in + 128 out = 448): t_compute 1024 / 1e19, t_memory
     * 448 / 1e16, time 1 ms + t_memory */
    snprintf(args, sizeof args,
             "analyze %s --hw %s --phase decode --batch 4 --context 8 --per-op --format csv",
             data("tiny-gelu.yaml"), data("test-overhead.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    {
        const char *hdr = out_buf, *row = strstr(out_buf, ",qkv_proj,gemm,");
        assert_non_null(row);
        while (row > out_buf && row[-1] != '\n') row--;
        const char *want[4] = {"t_compute_s", "t_memory_s", "time_s", "flops"};
        const double val[4] = {1024 / 1e19, 448 / 1e16, 1e-3 + 448 / 1e16, 1024};
        for (int k = 0; k < 4; k++) {
            int col = 0;
            const char *p = hdr;
            const size_t n = strlen(want[k]);
            while (!(strncmp(p, want[k], n) == 0 && (p[n] == ',' || p[n] == '\n'))) {
                p += strcspn(p, ",\n");
                assert_true(*p == ',');
                p++, col++;
            }
            const char *f = row;
            for (int i = 0; i < col; i++) f += strcspn(f, ",\n") + 1;
            assert_close(strtod(f, NULL), val[k], 1e-12);
        }
    }
    device_free(d);
    model_free(m);
}

/* Energy per token on tests/data/test-energy.yaml (only static power, 100 W):
 * a step of 14 kernels lasts 14 ms: 1.4 J. Prefill B = 2 of S = 8 makes 16
 * tokens: 87.5 mJ each; decode B = 4 makes 4: 350 mJ each. */
static void test_figures_energy_per_token(void **state)
{
    (void)state;
    char args[2048];
    snprintf(args, sizeof args, "analyze %s --hw %s --phase prefill --batch 2 --seq 8 --format json",
             data("tiny-gelu.yaml"), data("test-energy.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_close(json_num(out_buf, "energy_j"), 1.4, REL);
    assert_close(json_num(out_buf, "energy_per_token_j"), 1.4 / 16, REL);
    snprintf(args, sizeof args, "analyze %s --hw %s --phase decode --batch 4 --context 8",
             data("tiny-gelu.yaml"), data("test-energy.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_has(out_buf, "  step                1.4 J, 350 mJ per token");
}

/* KV in fp8, activations bf16: kv_write stores K and V of 4 tokens,
 * 4 x 2 x 1 x 4 = 32 elements at 1 B (not 2). A sliding window of 4 keys with
 * dilation 2 holds 2 x (4 - 1) + 1 = 7 tokens (the oldest key a later query
 * sees is 6 back): 7 x 8 elements per sequence at any longer context. */
static void test_figures_kv_dtype_and_window(void **state)
{
    (void)state;
    struct model *m = load_model(data("tiny-gelu.yaml"));
    struct device *d = load_device(data("test-overhead.yaml"));
    assert_non_null(m);
    assert_non_null(d);
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 4, .context = 8, .has_dt_kv = true,
                          .dt_kv = DT_FP8};
    analysis_run(&a, m, d, &sc);
    assert_exact(find_op(&a.graph, "kv_write")->cost.bytes_out, 32);
    assert_exact(find_op(&a.graph, "kv_write")->cost.bytes_act, 64);
    assert_exact(find_op(&a.graph, "attention")->cost.bytes_kv, 4 * 9 * 8);
    analysis_free(&a);
    model_free(m);
    m = load_model(tu_write_temp(
        "name: w\nhidden: 8\nlayers: 1\nvocab: 16\ntied_embeddings: false\nnorm: rmsnorm\n"
        "dtypes: {weight: bf16, activation: bf16, kv: bf16}\ngroups:\n  - repeat: 1\n"
        "    attention: {kind: swa, heads: 2, kv_heads: 1, head_dim: 4, rope: false, window: 4, "
        "dilation: 2}\n"
        "    ffn: {kind: gelu, intermediate: 16}\n"));
    assert_non_null(m);
    assert_exact(model_kv_elems_per_seq(m, 1, 100), 7 * 8);
    assert_exact(model_kv_elems_per_seq(m, 1, 5), 5 * 8);
    model_free(m);
    /* a shared SwiGLU expert of I = 8 (h = 8): gate and up fused, width 16:
     * 2 x 4 x 16 x 8 = 1024 FLOPs for 4 tokens; weights 8 x 16 x 2 B */
    m = load_model(tu_write_temp(
        "name: s\nhidden: 8\nlayers: 1\nvocab: 16\ntied_embeddings: false\nnorm: rmsnorm\n"
        "dtypes: {weight: bf16, activation: bf16, kv: bf16}\ngroups:\n  - repeat: 1\n"
        "    attention: {kind: gqa, heads: 2, kv_heads: 1, head_dim: 4, rope: false}\n"
        "    ffn: {kind: moe, experts: 4, top_k: 1, expert_intermediate: 8, shared_experts: 1, "
        "shared_intermediate: 8}\n"));
    assert_non_null(m);
    assert_int_equal(analysis_init(&a, m), 0);
    sc = (struct scenario){.phase = PHASE_DECODE, .batch = 4, .context = 8};
    analysis_run(&a, m, d, &sc);
    assert_exact(find_op(&a.graph, "shared_gate_up")->cost.flops_mm, 1024);
    assert_exact(find_op(&a.graph, "shared_gate_up")->cost.bytes_w, 8 * 16 * 2);
    analysis_free(&a);
    model_free(m);
    device_free(d);
}

/* ---- gelu and geglu ---- */

/* tiny-gelu's parameters by hand (h = 8, V = 16, I = 16):
 *   embedding 16 x 8 = 128, lm_head (untied) 128, final norm 8,
 *   attention: norm 8, qkv 8 x (2 + 2 x 1) x 4 = 128, o 2 x 4 x 8 = 64,
 *   GELU MLP: norm 8, up 8 x 16 = 128, down 16 x 8 = 128 (two matrices)
 *   total 128 + 128 + 8 + 8 + 128 + 64 + 8 + 128 + 128 = 728.
 * GeGLU has three matrices: gate+up 8 x 32 = 256, down 128: 728 - 256 + 384 = 856.
 * With biases: GELU adds I + h = 24 (up and down), GeGLU 2I + h = 40.
 * FLOPs of decode B = 4 (t = 4 tokens): up 2 x 4 x 16 x 8 = 1024, gelu
 * 4 x 16 x 8 = 512 (8 FLOPs per element, tanh form, docs/conventions.md),
 * down 2 x 4 x 8 x 16 = 1024; GeGLU: gate_up 2 x 4 x 32 x 8 = 2048,
 * gelu_mul 4 x 16 x (8 + 1) = 576, down 1024. */
static const char FFN_MODEL[] =
    "name: ffn\nhidden: 8\nlayers: 1\nvocab: 16\ntied_embeddings: false\nnorm: rmsnorm\n"
    "dtypes: {weight: bf16, activation: bf16, kv: bf16}\ngroups:\n  - repeat: 1\n"
    "    attention: {kind: gqa, heads: 2, kv_heads: 1, head_dim: 4, rope: false}\n"
    "    ffn: {kind: %s, intermediate: 16%s}\n";

static struct model *ffn_model(const char *kind, bool bias)
{
    char text[1024];
    snprintf(text, sizeof text, FFN_MODEL, kind, bias ? ", bias: true" : "");
    return load_model(tu_write_temp(text));
}

static void test_figures_gelu_geglu(void **state)
{
    (void)state;
    struct device *d = load_device(data("test-overhead.yaml"));
    const char *kinds[2] = {"gelu", "geglu"};
    const double params[2] = {728, 856}, bias[2] = {24, 40};
    double gelu_dev = 0;
    for (int k = 0; k < 2; k++) {
        struct model *m = ffn_model(kinds[k], false), *mb = ffn_model(kinds[k], true);
        assert_non_null(m);
        assert_non_null(mb);
        struct model_counts c;
        model_count(m, 1, &c);
        assert_exact(c.params, params[k]);
        model_count(mb, 1, &c);
        assert_exact(c.params, params[k] + bias[k]);
        /* tp 2: a device holds I/2 = 8 columns of each FFN matrix: 2 x 8 x 8 =
         * 128 (gelu) or 3 x 8 x 8 = 192 (geglu); the attention share is the
         * same for both kinds, so params_dev differs by 64 */
        struct model_counts c2;
        model_count(m, 2, &c2);
        if (k == 0) gelu_dev = c2.params_dev;
        else assert_exact(c2.params_dev - gelu_dev, 192 - 128);
        struct analysis a;
        assert_int_equal(analysis_init(&a, m), 0);
        struct scenario sc = {.phase = PHASE_DECODE, .batch = 4, .context = 8};
        analysis_run(&a, m, d, &sc);
        if (k == 0) {
            assert_exact(find_op(&a.graph, "up_proj")->cost.flops_mm, 1024);
            assert_exact(find_op(&a.graph, "gelu")->cost.flops_vec, 512);
        } else {
            assert_exact(find_op(&a.graph, "gate_up_proj")->cost.flops_mm, 2048);
            assert_exact(find_op(&a.graph, "gelu_mul")->cost.flops_vec, 576);
        }
        assert_exact(find_op(&a.graph, "down_proj")->cost.flops_mm, 1024);
        analysis_free(&a);
        model_free(m);
        model_free(mb);
    }
    device_free(d);
}

/* ---- compare and report ratios ---- */

/* tiny-rope = tiny-gelu with rope (one more kernel: 15 per step) and Hkv = 2.
 * KV per token: 2 x Hkv x D x 2 B = 16 B (base), 32 B (rope-kv2): ratio 2.
 * TTFT and TPOT: 14 ms and 15 ms: ratio 15/14 = 1.0714285714...; the first
 * design's ratios are 1. Printed at 3 significant digits: "2", "1.07". */
static void check_ratio_csv(const char *csv)
{
    /* header: ...,kv_ratio,ttft_ratio,tpot_ratio,ep; second data row */
    const char *row = strchr(csv, '\n');
    assert_non_null(row);
    row = strchr(row + 1, '\n');
    assert_non_null(row);
    row++;
    const char *f[32];
    int n = 0;
    for (const char *s = row; s && n < 32 && *s && *s != '\n'; n++) {
        f[n] = s;
        s = strpbrk(s, ",\n");
        if (s && *s == ',') s++;
        else break;
    }
    n++;
    assert_int_equal(n, 32); /* 24, then ep and 7 training columns */
    assert_close(strtod(f[20], NULL), 2, 0);
    assert_close(strtod(f[21], NULL), 15.0 / 14.0, REL);
    assert_close(strtod(f[22], NULL), 15.0 / 14.0, REL);
}

static void test_figures_compare_ratios(void **state)
{
    (void)state;
    char args[2048];
    const char *both = "--hw %s --phase decode --batch 4 --context 8";
    char opts[1024];
    snprintf(opts, sizeof opts, both, data("test-overhead.yaml"));
    /* table */
    snprintf(args, sizeof args, "compare %s %s %s", data("tiny-gelu.yaml"), data("tiny-rope.yaml"),
             opts);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    const char *row = strstr(out_buf, "\ntiny-rope ");
    assert_non_null(row);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(row + 1, "\n"), row + 1);
    const size_t L = strlen(line);
    assert_true(L > 20);
    assert_has(line, "     2    1.07    1.07  ");
    assert_has(line, "  15 ms  15 ms  "); /* TTFT and TPOT: 15 kernels */
    /* training column: every kernel 1 ms; the training graph is the prefill's
     * 15 kernels plus the loss softmax, each once forward and once backward
     * (32), and selective recompute reruns the attention core (1): 33 ms; the
     * data-parallel and optimizer terms are far below 1 ms */
    assert_true(L > 6);
    assert_has(line, "   33 ms  ");
    /* csv */
    snprintf(args, sizeof args, "compare %s %s %s --format csv", data("tiny-gelu.yaml"),
             data("tiny-rope.yaml"), opts);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    check_ratio_csv(out_buf);
    /* json: the second row's ratios; the first design's are 1 */
    snprintf(args, sizeof args, "compare %s %s %s --format json", data("tiny-gelu.yaml"),
             data("tiny-rope.yaml"), opts);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_close(json_num(out_buf, "ttft_s"), 14 * MS, REL);
    assert_close(json_num(out_buf, "tpot_s"), 14 * MS, REL);
    assert_close(json_num(out_buf, "kv_ratio"), 1, 0);
    const char *second = strstr(out_buf, "\"design\": \"tiny-rope\"");
    assert_non_null(second);
    assert_close(json_num(second, "kv_cache_bytes_per_token"), 32, 0);
    assert_close(json_num(second, "ttft_s"), 15 * MS, REL);
    assert_close(json_num(second, "tpot_s"), 15 * MS, REL);
    assert_close(json_num(second, "kv_ratio"), 2, 0);
    assert_close(json_num(second, "ttft_ratio"), 15.0 / 14.0, REL);
    assert_close(json_num(second, "tpot_ratio"), 15.0 / 14.0, REL);
    /* decode at context 0: no prompt, so no prefill: TTFT 0 (its ratio
     * undefined: null), TPOT still 14 and 15 kernels */
    snprintf(args, sizeof args,
             "compare %s %s --hw %s --phase decode --batch 4 --context 0 --format json",
             data("tiny-gelu.yaml"), data("tiny-rope.yaml"), data("test-overhead.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_exact(json_num(out_buf, "ttft_s"), 0);
    assert_close(json_num(out_buf, "tpot_s"), 14 * MS, REL);
    assert_has(out_buf, "\"ttft_ratio\": null");
    second = strstr(out_buf, "\"design\": \"tiny-rope\"");
    assert_non_null(second);
    assert_exact(json_num(second, "ttft_s"), 0);
    assert_close(json_num(second, "tpot_ratio"), 15.0 / 14.0, REL);
}

/* The same two designs as a study: compare.csv, report.md and report.html
 * carry the same ratios ("2", "1.07", "1.07" in the documents). */
static void test_figures_report_ratios(void **state)
{
    (void)state;
    char dir[64], args[2048], path[1024];
    snprintf(dir, sizeof dir, "/tmp/opbound-figures-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(args, sizeof args, "report %s -o %s/r", data("study-tiny.yaml"), dir);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    static char text[1 << 18];
    const char *files[3] = {"compare.csv", "report.md", "report.html"};
    const char *want[3] = {NULL, "| rope-kv2 | 792 | 32 B |",
                           "<tr><td>rope-kv2</td><td class=\"r\">792</td>"};
    /* (the training columns follow the ratios) */
    const char *tail[3] = {NULL, "| 2 | 1.07 | 1.07 | ",
                           "<td class=\"r\">2</td><td class=\"r\">1.07</td><td "
                           "class=\"r\">1.07</td><td"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/r/%s", dir, files[i]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t k = fread(text, 1, sizeof text - 1, f);
        text[k] = 0;
        fclose(f);
        if (i == 0) {
            check_ratio_csv(text);
            continue;
        }
        const char *row = strstr(text, want[i]);
        assert_non_null(row);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(row, "\n"), row);
        const size_t L = strlen(line), T = strlen(tail[i]);
        assert_true(L > T);
        assert_has(line, tail[i]);
    }
    snprintf(args, sizeof args, "rm -rf %s", dir);
    assert_int_equal(system(args), 0);
}

/* ---- serve, every event by hand ----
 * tests/data/serve-tiny.yaml: max_batch 2, token_budget 2, prefill_chunk 1,
 * KV limit 1000 B; requests R0 {in 1, out 3}, R1 {in 1, out 1}, R2 {in 2,
 * out 2}, all at t = 0. KV per token 2 x 1 x 4 x 2 B = 16 B; a request holds
 * in + out - 1 tokens: R0 48 B, R1 16 B, R2 48 B. Every iteration below has
 * a sequence that samples, so lm_head runs: 14 kernels = 14 ms.
 *   it1 t=0:  admit R0, R1 (kv 64). Prefill R0 1, R1 1 -> t=14: R0 TTFT 14;
 *             R1 TTFT 14, done (E2E 14), kv 48.
 *   it2 t=14: admit R2 (waited 14 ms; kv 96). Decode R0; prefill R2 1 of 2
 *             -> t=28: R0 token 2 (gap 14).
 *   it3 t=28: decode R0; prefill R2's last -> t=42: R0 token 3, done (E2E
 *             42, gap 14), kv 48; R2 TTFT 42.
 *   it4 t=42: decode R2 -> t=56: R2 done (E2E 56, gap 14), kv 0.
 * TTFT {14, 14, 42}: mean 70/3, p50 = 2nd of 3 (ceil(0.5 x 3)) = 14,
 * p99 = ceil(0.99 x 3) = 3rd = 42. E2E {14, 42, 56}: mean 112/3, p50 42,
 * p99 56. TBT {14, 14, 14}. Iterations 4 x 14 ms, makespan 56 ms.
 * Tokens: 4 in, 6 out: 6/0.056 = 107.14/s, 10/0.056 = 178.57/s.
 * KV before each iteration 64, 96, 96, 48: peak 96, time-weighted mean
 * (64 + 96 + 96 + 48) x 14 / 56 = 76 B; of 1000 B: 6.4%, 9.6%, 9.6%, 4.8%.
 * Time split per iteration: attention block 6 kernels (attn_norm .. attn_residual),
 * FFN 5, model 3 (embed, final_norm, lm_head): 24, 20, 12 ms.
 * Cost at $3.6/h: 3.6 x 0.056 / 3600 = $5.6e-5; per Mtok 5.6e-5 / 6 x 1e6 =
 * $9.333; attention (24 + 12)/56 of it = $6, FFN 20/56 = $3.333. */
static void test_figures_serve_by_hand(void **state)
{
    (void)state;
    struct serve_scenario *s = NULL;
    struct err e;
    assert_int_equal(serve_load(data("serve-tiny.yaml"), &s, &e), 0);
    struct device *d = load_device(data("test-overhead.yaml"));
    assert_non_null(d);
    struct serve_result r;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e), 0);
    assert_exact(r.iterations, 4);
    assert_close(r.makespan_s, 56 * MS, REL);
    assert_close(r.ttft_s.mean, 70.0 / 3 * MS, REL);
    assert_close(r.ttft_s.p50, 14 * MS, REL);
    assert_close(r.ttft_s.p99, 42 * MS, REL);
    assert_close(r.ttft_s.max, 42 * MS, REL);
    assert_close(r.e2e_s.mean, 112.0 / 3 * MS, REL);
    assert_close(r.e2e_s.p50, 42 * MS, REL);
    assert_close(r.e2e_s.p99, 56 * MS, REL);
    assert_close(r.tbt_s.mean, 14 * MS, REL);
    assert_close(r.tbt_s.p50, 14 * MS, REL);
    assert_close(r.tbt_s.p99, 14 * MS, REL);
    assert_close(r.iter_s.p99, 14 * MS, REL);
    assert_exact(r.input_tokens, 4);
    assert_exact(r.output_tokens, 6);
    assert_close(r.output_tokens_per_s, 6 / (56 * MS), REL);
    assert_close(r.total_tokens_per_s, 10 / (56 * MS), REL);
    assert_exact(r.waited, 1);
    assert_close(r.wait_mean_s, 14 * MS, REL);
    assert_exact(r.kv_bytes_per_token_dev, 16);
    assert_exact(r.kv_peak_bytes, 96);
    assert_close(r.kv_mean_bytes, 76, REL);
    assert_int_equal(r.n_timeline, 4);
    const double kv[4] = {64, 96, 96, 48};
    for (int i = 0; i < 4; i++) {
        assert_exact(r.timeline_kv_bytes[i], kv[i]);
        assert_close(r.timeline_t_s[i], 14 * i * MS, REL);
    }
    assert_close(r.time_attn_s, 24 * MS, REL);
    assert_close(r.time_ffn_s, 20 * MS, REL);
    assert_close(r.time_other_s, 12 * MS, REL);
    assert_close(r.usd_total, 5.6e-5, REL);
    assert_close(r.usd_per_mtok, 5.6e-5 / 6 * 1e6, REL);
    assert_close(r.usd_per_mtok_attn, 5.6e-5 / 6 * 1e6 * 36 / 56, REL);
    assert_close(r.usd_per_mtok_ffn, 5.6e-5 / 6 * 1e6 * 20 / 56, REL);
    /* tp 2: four more kernels per iteration (embed, attention and FFN
     * all-reduces, logits all-gather): 18 ms, the same schedule (Hkv = 1 is
     * replicated: 16 B per token per device): makespan 72 ms; two devices at
     * $0.001/s each: 2 x 0.001 x 0.072 / 6 x 1e6 = $24 per million tokens */
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = d}, 2, &r, &e), 0);
    assert_close(r.makespan_s, 72 * MS, REL);
    assert_close(r.ttft_s.mean, (18 + 18 + 54) / 3.0 * MS, REL);
    assert_close(r.usd_per_mtok, 24, REL);
    device_free(d);
    serve_free(s);

    /* the text table as printed, and the JSON */
    char args[2048];
    snprintf(args, sizeof args, "serve %s --hw %s", data("serve-tiny.yaml"),
             data("test-overhead.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_has(out_buf, "  ttft_p99_s                     42 ms\n");
    assert_has(out_buf, "  e2e_p99_s                      56 ms\n");
    assert_has(out_buf, "  output_tokens_per_s            107 /s\n");
    assert_has(out_buf, "  usd_per_mtok                   $9.333\n");
    assert_has(out_buf, "    6.4%\n");
    assert_has(out_buf, "    9.6%\n");
    assert_has(out_buf, "    4.8%\n");
    snprintf(args, sizeof args, "serve %s --hw %s --format json", data("serve-tiny.yaml"),
             data("test-overhead.yaml"));
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_close(json_num(out_buf, "ttft_p99_s"), 42 * MS, REL);
    assert_close(json_num(out_buf, "e2e_mean_s"), 112.0 / 3 * MS, REL);
    assert_close(json_num(out_buf, "total_tokens_per_s"), 10 / (56 * MS), REL);
}

/* ---- bundled device files against their datasheets ----
 * Decimal units as the sheets print them (TB/s = 1e12 B/s, TFLOPS = 1e12);
 * capacities in GiB as each file states (80 GB parts: 80 GiB physical). */
struct sheet {
    const char *file;
    double cap_gib, bw_tb_s, bf16_tf, fp8_tf, fp32_tf, link_gb_s; /* 0 = not listed */
};
static const struct sheet SHEETS[] = {
    /* H100 SXM5 datasheet: 80 GB HBM3, 3.35 TB/s, BF16 1,979 TF with sparsity
     * (989.4 dense, whitepaper table), FP8 3,958 sparse (1978.9 dense), FP32
     * 66.9, NVLink 900 GB/s bidirectional */
    {"h100-sxm5-80gb", 80, 3.35, 989.4, 1978.9, 66.9, 450},
    /* H200 datasheet: 141 GB HBM3e, 4.8 TB/s, same Hopper peaks, NVLink 900 GB/s */
    {"h200", 141, 4.8, 989.4, 1978.9, 66.9, 450},
    /* H800 SXM: H100 silicon, NVLink 400 GB/s bidirectional */
    {"h800", 80, 3.35, 989.4, 1978.9, 66.9, 200},
    /* A100 SXM4 80GB datasheet: 2,039 GB/s, BF16 312 dense, FP32 19.5, no FP8,
     * NVLink 600 GB/s bidirectional */
    {"a100-sxm4-80gb", 80, 2.039, 312, 0, 19.5, 300},
    /* HGX B200 per GPU: 180 GB, DGX B200 64 TB/s / 8 = 8 TB/s, BF16 4.5 PF
     * sparse (2.25 dense), FP8 9 PF sparse (4.5 dense), FP32 75, NVLink 1.8 TB/s */
    {"b200", 180, 8.0, 2250, 4500, 75, 900},
    /* H20 (SemiAnalysis table): 96 GB, 4.0 TB/s, BF16 148, FP8 296, FP32 44 */
    {"h20", 96, 4.0, 148, 296, 44, 450},
    /* Duplex and bank-PIM: an H100 SXM5 xPU (same figures) */
    {"duplex-h100", 80, 3.35, 989.4, 1978.9, 66.9, 450},
    {"bankpim-h100", 80, 3.35, 989.4, 1978.9, 66.9, 450},
    {"gpu-duplex-baseline", 80, 3.35, 989.4, 1978.9, 66.9, 450},
};

static void test_figures_devices(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SHEETS / sizeof SHEETS[0]; i++) {
        const struct sheet *s = &SHEETS[i];
        struct device *d = tu_device(s->file);
        assert_non_null(d);
        print_message("%s\n", s->file);
        assert_exact(d->mem_capacity_bytes, s->cap_gib * 1073741824.0);
        assert_close(d->mem_bw_bytes_per_s, s->bw_tb_s * 1e12, 1e-12);
        assert_close(d->tensor_flops_per_s[DT_BF16], s->bf16_tf * 1e12, 1e-12);
        assert_close(d->tensor_flops_per_s[DT_FP8], s->fp8_tf * 1e12, 1e-12);
        assert_close(d->vector_flops_per_s[DT_FP32], s->fp32_tf * 1e12, 1e-12);
        assert_close(d->interconnect_bytes_per_s, s->link_gb_s * 1e9, 1e-12);
        /* the ridge point the tool derives: peak / bandwidth */
        assert_close(device_ridge(d, DT_BF16),
                     s->bf16_tf * 1e12 * d->eff_tensor / (s->bw_tb_s * 1e12 * d->eff_memory),
                     1e-12);
        device_free(d);
    }
    /* PIM figures. Duplex: 5 stacks, 4x internal bandwidth (13.4 TB/s), 8192
     * MACs x 1.3 GHz x 2 x 5 = 106.496 TFLOP/s.
     * Bank-PIM (the Duplex paper's baseline): 16x (53.6 TB/s), 8192 MACs x
     * 0.65 GHz x 2 x 5 = 53.248 TFLOP/s, ~1 FLOP/B (AttAcc; docs/logic-pim.md). */
    struct device *d = tu_device("duplex-h100");
    assert_non_null(d);
    assert_true(d->has_pim);
    assert_close(d->pim.stacks * d->pim.macs_per_stack * 2 * d->pim.clock_hz, 106.496e12, 1e-12);
    assert_close(d->pim.bw_multiplier * d->mem_bw_bytes_per_s, 13.4e12, 1e-12);
    device_free(d);
    d = tu_device("bankpim-h100");
    assert_non_null(d);
    assert_close(d->pim.stacks * d->pim.macs_per_stack * 2 * d->pim.clock_hz, 53.248e12, 1e-12);
    assert_close(d->pim.bw_multiplier * d->mem_bw_bytes_per_s, 53.6e12, 1e-12);
    device_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_figures_tokens_per_s),
        cmocka_unit_test(test_figures_energy_per_token),
        cmocka_unit_test(test_figures_gelu_geglu),
        cmocka_unit_test(test_figures_kv_dtype_and_window),
        cmocka_unit_test(test_figures_compare_ratios),
        cmocka_unit_test(test_figures_report_ratios),
        cmocka_unit_test(test_figures_serve_by_hand),
        cmocka_unit_test(test_figures_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
