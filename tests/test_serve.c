/* test_serve.c - the serving simulator: iteration cost against `analyze`
 * (exact: the engine's composition reproduces a uniform step), admission at
 * the KV-memory boundary, TTFT/TBT, chunked prefill, waiting, cost and AFD
 * times derived by hand on the 1 ms-per-kernel test device, scenario errors
 * with FILE:LINE:COL. */
#include "testutil.h"

#include "../sim/serve.h"

static struct device *h100;

static int setup(void **state)
{
    (void)state;
    h100 = tu_device_ideal(); /* hand-derived datasheet roofline times */
    return h100 ? 0 : -1;
}
static int teardown(void **state)
{
    (void)state;
    device_free(h100);
    return 0;
}

/* analyze of one scenario (model dtypes) */
static void analyze(struct analysis *a, const struct model *m, enum phase ph, double b,
                    double len, double tp)
{
    struct scenario sc = {.phase = ph, .batch = b, .tp = tp};
    if (ph == PHASE_PREFILL) sc.seq = len;
    else sc.context = len;
    analysis_run(a, m, h100, &sc);
}

static void check_model(const char *name, double tp)
{
    struct model *m = tu_model(name);
    assert_non_null(m);
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct serve_engine en;
    assert_int_equal(serve_engine_init(&en, m, h100, tp, m->dt_w, m->dt_act, m->dt_kv), 0);
    struct eval_totals tot;
    struct serve_item its[64];
    /* one decode request at context 1000 */
    const struct serve_item one = {1, 1, 1000, 1};
    analyze(&a, m, PHASE_DECODE, 1, 1000, tp);
    assert_exact(serve_engine_eval(&en, &one, 1, &tot), a.tot.time_s);
    assert_exact(tot.flops, a.tot.flops);
    assert_exact(tot.bytes, a.tot.bytes);
    assert_exact(tot.kernels, a.tot.kernels);
    /* 37 identical decode requests, given one by one, == analyze at batch 37 */
    for (int i = 0; i < 37; i++) its[i] = one;
    analyze(&a, m, PHASE_DECODE, 37, 1000, tp);
    assert_exact(serve_engine_eval(&en, its, 37, &tot), a.tot.time_s);
    assert_exact(tot.bytes, a.tot.bytes);
    assert_exact(tot.time_block_s[BLK_ATTN], a.tot.time_block_s[BLK_ATTN]);
    /* 5 identical prompts of 300 == analyze prefill at batch 5 */
    for (int i = 0; i < 5; i++) its[i] = (struct serve_item){1, 300, 0, 1};
    analyze(&a, m, PHASE_PREFILL, 5, 300, tp);
    assert_exact(serve_engine_eval(&en, its, 5, &tot), a.tot.time_s);
    assert_exact(tot.flops, a.tot.flops);
    serve_engine_free(&en);
    analysis_free(&a);
    model_free(m);
}

static void test_serve_iteration_equals_analyze(void **state)
{
    (void)state;
    check_model("llama-3-8b", 1);
    check_model("qwen3-235b-a22b", 8);
    check_model("deepseek-v3", 1); /* MLA: absorbed at decode, naive at prefill */
    check_model("step-3", 1);
    check_model("ccgqa-1b", 1); /* per-sequence convolution state */
}

/* A mixed iteration: the attention core is the sum of the per-request cores;
 * the token-wise ops are those of the T tokens. Two decodes at contexts 100
 * and 300 attend 101 + 301 keys: the same FLOPs as two at 200. */
/* On a Duplex device (xPU + Logic-PIM) each op of an iteration is placed where
 * it finishes first, as analyze does: 8 identical decodes of Mixtral at
 * context 2000 take analyze's placed decode time exactly, which differs from
 * the xPU-alone time. */
static void test_serve_on_pim_device(void **state)
{
    (void)state;
    struct model *m = tu_model("mixtral-8x7b");
    struct device *dup = tu_device("duplex-h100");
    assert_non_null(dup);
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 8, .context = 2000, .tp = 1};
    analysis_run(&a, m, dup, &sc);
    struct serve_engine en;
    assert_int_equal(serve_engine_init(&en, m, dup, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    struct serve_item its[8];
    for (int i = 0; i < 8; i++) its[i] = (struct serve_item){1, 1, 2000, 1};
    struct eval_totals tot;
    assert_exact(serve_engine_eval(&en, its, 8, &tot), a.tot.time_s);
    analysis_run(&a, m, h100, &sc);
    assert_true(tot.time_s < a.tot.time_s); /* PIM helps this low-intensity decode */
    serve_engine_free(&en);
    analysis_free(&a);
    device_free(dup);
    model_free(m);
}

static void test_serve_mixed_iteration(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct serve_engine en;
    assert_int_equal(serve_engine_init(&en, m, h100, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    struct eval_totals t1, t2;
    const struct serve_item mixed[2] = {{1, 1, 100, 1}, {1, 1, 300, 1}};
    const struct serve_item same[1] = {{2, 1, 200, 2}};
    serve_engine_eval(&en, mixed, 2, &t1);
    serve_engine_eval(&en, same, 1, &t2);
    assert_exact(t1.flops, t2.flops);
    assert_exact(t1.bytes, t2.bytes);
    assert_exact(t1.kernels, t2.kernels);
    /* a prefill chunk that samples nothing drops lm_head: one kernel fewer,
     * and 2 * h * V fewer FLOPs (llama-3-8b: h 4096, V 128256) */
    const struct serve_item c0 = {1, 64, 0, 0}, c1 = {1, 64, 0, 1};
    serve_engine_eval(&en, &c0, 1, &t1);
    serve_engine_eval(&en, &c1, 1, &t2);
    assert_exact(t2.kernels - t1.kernels, 1);
    assert_exact(t2.flops - t1.flops, 2.0 * 4096 * 128256);
    serve_engine_free(&en);
    /* over 2 tensor-parallel devices the logits all-gather follows lm_head:
     * two kernels fewer without sampling; with 3 of 5 sequences sampling the
     * gather sends 1/2 x 3 x 128,256 x 2 B = 384,768 B and the lm_head
     * computes 2 x 3 x 4096 x 64,128 FLOPs */
    assert_int_equal(serve_engine_init(&en, m, h100, 2, m->dt_w, m->dt_act, m->dt_kv), 0);
    serve_engine_eval(&en, &c0, 1, &t1);
    serve_engine_eval(&en, &c1, 1, &t2);
    assert_exact(t2.kernels - t1.kernels, 2);
    const struct serve_item five[2] = {{3, 1, 100, 3}, {2, 8, 0, 0}};
    serve_engine_eval(&en, five, 2, &t1);
    const struct op *lm = &en.g.ops[en.g.n - 2], *ag = &en.g.ops[en.g.n - 1];
    assert_string_equal(lm->name, "lm_head");
    assert_exact(lm->cost.flops_mm, 2.0 * 3 * 4096 * 64128);
    assert_int_equal(ag->kind, OP_ALLGATHER);
    assert_exact(ag->cost.bytes_net, 384768.0);
    serve_engine_free(&en);
    model_free(m);
}

static struct model *example_model(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/%s", OB_DATADIR, file);
    struct model *m = NULL;
    struct err e;
    if (model_load(path, &m, &e)) err_print(&e, stderr);
    assert_non_null(m);
    return m;
}

/* The op of layer group grp named name in the engine's last iteration graph. */
static const struct op *iter_op(const struct serve_engine *en, int grp, const char *name)
{
    const struct op *found = NULL;
    for (int i = 0; i < en->g.n; i++)
        if (en->g.ops[i].group == grp && strcmp(en->g.ops[i].name, name) == 0) {
            assert_null(found); /* one kernel per layer group */
            found = &en->g.ops[i];
        }
    assert_non_null(found);
    return found;
}

/* Context-dependent selection ops are costed per sequence, like the attention
 * core, not at the first sequence's context for everyone.
 * DSA (examples/dsa-deepseek-v3.yaml, index_topk 2048, bf16 activations):
 * a decode at context P scores P + 1 keys, so idx_topk is a router over
 * E = P + 1 logits keeping k = min(2048, P + 1) = P + 1 of them. Per row:
 * E * (5 softmax + 1 + log2 k) vector FLOPs, E * 2 B read, k * (2 + 4) B
 * written (graph.c, count_router). Two decodes at P = 100 and 300:
 *   FLOPs = 101 (6 + log2 101) + 301 (6 + log2 301)
 *   read  = (101 + 301) * 2 = 804 B, written = (101 + 301) * 6 = 2412 B.
 * NSA (examples/attn-nsa.yaml: 8 KV heads, group 4, sel_block 64, cmp_block
 * 32, stride 16, sel_count 16): a decode at P sees ceil((P + 1) / 64) blocks;
 * selection runs when that exceeds 16. Per sequence, over its 8 KV heads:
 *   sel_topk:  8 rows x seen logits x (5 + 1 + log2 16) = 80 seen FLOPs
 *   sel_score: 8 rows x seen x 4 (64/16 + 32/16 - 1) = 160 seen FLOPs
 * P = 2000: seen = ceil(2001/64) = 32; P = 4000: ceil(4001/64) = 63;
 * together 95 blocks: 7600 and 15,200 FLOPs.
 * MoBA (examples/attn-moba.yaml: 32 heads, 8 KV heads of 128, blocks of 512,
 * top-3): a decode at P has floor(P / 512) complete earlier blocks, each a
 * candidate. moba_gate scores them per KV head: 8 GEMMs of (blocks x 128) @
 * (128 x 4 query heads) = 8 x 2 x blocks x 4 x 128 = 8192 blocks FLOPs;
 * moba_topk keeps min(2, blocks) of them for each of the 32 query heads:
 * 32 x blocks x (5 + 1 + log2 2) = 224 blocks FLOPs. P = 2000: 3 blocks;
 * P = 5000: 9; together 12: 98,304 and 2688 FLOPs. */
static void test_serve_per_sequence_selection(void **state)
{
    (void)state;
    struct model *m = example_model("dsa-deepseek-v3.yaml");
    struct serve_engine en;
    assert_int_equal(serve_engine_init(&en, m, h100, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    struct eval_totals tot;
    const struct serve_item dsa[2] = {{1, 1, 100, 1}, {1, 1, 300, 1}};
    serve_engine_eval(&en, dsa, 2, &tot);
    for (int grp = 0; grp < 2; grp++) {
        const struct op *tk = iter_op(&en, grp, "idx_topk");
        assert_close(tk->cost.flops_vec, 101 * (6 + log2(101.0)) + 301 * (6 + log2(301.0)),
                     1e-15);
        assert_exact(tk->cost.bytes_act, 804);
        assert_exact(tk->cost.bytes_out, 2412);
    }
    serve_engine_free(&en);
    model_free(m);

    m = example_model("attn-nsa.yaml");
    assert_int_equal(serve_engine_init(&en, m, h100, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    const struct serve_item nsa[2] = {{1, 1, 2000, 1}, {1, 1, 4000, 1}};
    serve_engine_eval(&en, nsa, 2, &tot);
    assert_exact(iter_op(&en, 0, "sel_topk")->cost.flops_vec, 7600);
    assert_exact(iter_op(&en, 0, "sel_score")->cost.flops_vec, 15200);
    /* the compression MLP's weights (cmp_block 32 x 128 -> 128, bf16:
     * 32 x 128 x 128 x 2 = 1,048,576 B) are read once for both sequences,
     * not once per context group */
    assert_exact(iter_op(&en, 0, "cmp_k")->cost.bytes_w, 1048576.0);
    assert_exact(iter_op(&en, 0, "cmp_v")->cost.bytes_w, 1048576.0);
    serve_engine_free(&en);
    model_free(m);

    m = example_model("attn-moba.yaml");
    assert_int_equal(serve_engine_init(&en, m, h100, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    const struct serve_item moba[2] = {{1, 1, 2000, 1}, {1, 1, 5000, 1}};
    serve_engine_eval(&en, moba, 2, &tot);
    assert_exact(iter_op(&en, 0, "moba_gate")->cost.flops_mm, 98304);
    assert_exact(iter_op(&en, 0, "moba_topk")->cost.flops_vec, 2688);
    serve_engine_free(&en);
    model_free(m);
}

/* A carried state is read only by the sequences that have one.
 * examples/mix-mamba2.yaml: conv_dim = expand x h + 2 x groups x d_state =
 * 2 x 4096 + 2 x 8 x 128 = 10,240 channels; the carried window holds
 * d_conv - 1 = 3 of them: 30,720 elements, 61,440 B in bf16 per sequence.
 * A decode at context 100 reads and rewrites it; a fresh 64-token prompt
 * only writes it: read 61,440 B, written 2 x 61,440 = 122,880 B. A fresh
 * prompt beside a continuing one (same q = 64, prior 0 and 512) reads one. */
static void test_serve_state_per_sequence(void **state)
{
    (void)state;
    struct model *m = example_model("mix-mamba2.yaml");
    struct serve_engine en;
    assert_int_equal(serve_engine_init(&en, m, h100, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    struct eval_totals tot;
    const struct serve_item mix[2] = {{1, 1, 100, 1}, {1, 64, 0, 0}};
    serve_engine_eval(&en, mix, 2, &tot);
    const struct op *cs = iter_op(&en, 0, "conv_state");
    assert_exact(cs->cost.bytes_act + cs->cost.bytes_kv, 61440.0);
    assert_exact(cs->cost.bytes_out, 122880.0);
    const struct serve_item two[2] = {{1, 64, 0, 0}, {1, 64, 512, 0}};
    serve_engine_eval(&en, two, 2, &tot);
    cs = iter_op(&en, 0, "conv_state");
    assert_exact(cs->cost.bytes_act + cs->cost.bytes_kv, 61440.0);
    assert_exact(cs->cost.bytes_out, 122880.0);
    /* two fresh prompts: nothing to read, the store still runs */
    const struct serve_item fresh[1] = {{2, 64, 0, 0}};
    serve_engine_eval(&en, fresh, 1, &tot);
    cs = iter_op(&en, 0, "conv_state");
    assert_exact(cs->cost.bytes_act + cs->cost.bytes_kv, 0.0);
    assert_exact(cs->cost.bytes_out, 122880.0);
    serve_engine_free(&en);
    model_free(m);
}

static struct serve_scenario *load_ok(const char *text)
{
    struct serve_scenario *s = NULL;
    struct err e;
    if (serve_load(tu_write_temp(text), &s, &e)) {
        err_print(&e, stderr);
        fail();
    }
    return s;
}

static void run_ok(const struct serve_scenario *s, double tp, struct serve_result *r)
{
    struct err e;
    if (serve_run(s, &(struct serve_hw){.d = h100}, tp, r, &e)) {
        err_print(&e, stderr);
        fail();
    }
}

/* KV-cache bytes per token on one device of llama-3-8b (and of its sliding-
 * window skeleton examples/attn-swa.yaml): 32 layers x 8 KV heads x 128 head
 * dim x 2 (K and V) x 2 B (bf16) = 131,072 B. */
#define LLAMA8B_KV_BYTES_PER_TOKEN (32.0 * 8 * 128 * 2 * 2)

/* Two requests of 10 + 3 tokens hold 10 + 3 - 1 = 12 tokens of cache each:
 * 12 x 131,072 B = 1,572,864 B (llama-3-8b, bf16). With exactly twice that
 * both start at t = 0; one byte less and the second waits for the first. */
static void test_serve_admission_boundary(void **state)
{
    (void)state;
    char text[512];
    const double need = 12 * LLAMA8B_KV_BYTES_PER_TOKEN;
    for (int less = 0; less <= 1; less++) {
        snprintf(text, sizeof text,
                 "model: llama-3-8b\nrequests: 2\nlengths: [{input: 10, output: 3}]\n"
                 "max_batch: 8\ntoken_budget: 64\nkv_memory_bytes: %.0f\n",
                 2 * need - less);
        struct serve_scenario *s = load_ok(text);
        struct serve_result r;
        run_ok(s, 1, &r);
        assert_exact(r.kv_bytes_per_token_dev, LLAMA8B_KV_BYTES_PER_TOKEN);
        if (!less) {
            assert_exact(r.waited, 0);
            assert_exact(r.kv_peak_bytes, 2 * need);
            assert_exact(r.iterations, 3); /* prefill both, then two decodes */
        } else {
            assert_exact(r.waited, 1);
            assert_exact(r.kv_peak_bytes, need);
            assert_exact(r.iterations, 6);
            /* the second waited for the first's whole life: 3 iterations
             * (timed by hand in test_serve_tiny_by_hand) */
            assert_true(r.wait_max_s > 0);
        }
        serve_free(s);
    }
}

/* Sliding window (examples/attn-swa.yaml: llama-3-8b with a 4096-token window
 * in every layer): a request of 6000 + 3 tokens holds 6002 tokens of context,
 * but each layer keeps only the last 4096: 4096 x 131,072 B = 536,870,912 B,
 * not 6002 x 131,072 = 786,694,144 B. Two of them fit in exactly
 * 2 x 536,870,912 B and start together; one byte less and the second waits. */
static void test_serve_admission_window(void **state)
{
    (void)state;
    char text[1024];
    const double need = 4096 * LLAMA8B_KV_BYTES_PER_TOKEN;
    for (int less = 0; less <= 1; less++) {
        snprintf(text, sizeof text,
                 "model: %s/examples/attn-swa.yaml\nrequests: 2\n"
                 "lengths: [{input: 6000, output: 3}]\nmax_batch: 8\ntoken_budget: 16384\n"
                 "kv_memory_bytes: %.0f\n",
                 OB_DATADIR, 2 * need - less);
        struct serve_scenario *s = load_ok(text);
        struct serve_result r;
        run_ok(s, 1, &r);
        assert_exact(r.kv_bytes_per_token_dev, LLAMA8B_KV_BYTES_PER_TOKEN);
        assert_exact(r.waited, less ? 1 : 0);
        assert_exact(r.kv_peak_bytes, less ? need : 2 * need);
        serve_free(s);
    }
}

/* Times by hand on the test device (tests/data/test-overhead.yaml: every op
 * costs its 1 ms kernel overhead; roofline terms < 1e-12 s) with tiny-gelu
 * (14 kernels per iteration when a sequence samples, 13 without lm_head; KV
 * 2 x 1 x 4 x 2 B = 16 B per token). See tests/test_figures.c. */
#define TINY_MODEL OB_DATADIR "/tests/data/tiny-gelu.yaml"
#define MS 1e-3

static struct serve_result tiny_run(const char *text)
{
    struct serve_scenario *s = load_ok(text);
    struct device *d = tu_test_device();
    struct serve_result r;
    struct err e;
    if (serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e)) {
        err_print(&e, stderr);
        fail();
    }
    device_free(d);
    serve_free(s);
    return r;
}

static void test_serve_tiny_by_hand(void **state)
{
    (void)state;
    char text[1024];
    /* One request, prompt 100, 3 outputs, budget 128: the prefill (14 ms)
     * yields token 1, two decodes (14 ms each) tokens 2 and 3. TTFT 14 ms,
     * TBT 14 ms, makespan 42 ms, 3 / 0.042 tokens/s, cache 100 + 3 - 1 = 102
     * tokens x 16 B. */
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 100, output: 3}]\n"
             "max_batch: 4\ntoken_budget: 128\n", TINY_MODEL);
    struct serve_result r = tiny_run(text);
    assert_exact(r.iterations, 3);
    assert_close(r.ttft_s.mean, 14 * MS, 1e-9);
    assert_close(r.ttft_s.p99, 14 * MS, 1e-9);
    assert_close(r.tbt_s.mean, 14 * MS, 1e-9);
    assert_close(r.tbt_s.p99, 14 * MS, 1e-9);
    assert_close(r.makespan_s, 42 * MS, 1e-9);
    assert_close(r.output_tokens_per_s, 3 / (42 * MS), 1e-9);
    assert_exact(r.waited, 0);
    assert_exact(r.kv_peak_bytes, 102 * 16);

    /* Chunked: prompt 100, prefill_chunk 64: 64 tokens with no sequence
     * sampling (no lm_head: 13 ms), then 36 with it (14 ms): TTFT 27 ms. */
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 100, output: 1}]\n"
             "max_batch: 4\ntoken_budget: 128\nprefill_chunk: 64\n", TINY_MODEL);
    r = tiny_run(text);
    assert_exact(r.iterations, 2);
    assert_close(r.ttft_s.mean, 27 * MS, 1e-9);
    assert_close(r.iter_s.max, 14 * MS, 1e-9);
    assert_close(r.iter_s.p50, 13 * MS, 1e-9); /* nearest rank: 1st of 2 */
    assert_exact(r.tbt_s.mean, 0); /* a single output token has no gap */

    /* Admission: two requests of 10 + 3 hold 12 x 16 = 192 B each. With
     * 2 x 192 B both start at t = 0 (3 iterations); one byte less and the
     * second waits for the first's prefill and two decodes: 42 ms. */
    for (int less = 0; less <= 1; less++) {
        snprintf(text, sizeof text,
                 "model: %s\nrequests: 2\nlengths: [{input: 10, output: 3}]\n"
                 "max_batch: 8\ntoken_budget: 64\nkv_memory_bytes: %d\n", TINY_MODEL,
                 2 * 192 - less);
        r = tiny_run(text);
        assert_exact(r.iterations, less ? 6 : 3);
        assert_exact(r.waited, less);
        assert_close(r.wait_max_s, less * 42 * MS, 1e-9);
        assert_close(r.makespan_s, (less ? 84 : 42) * MS, 1e-9);
        /* TTFT {14, 14} or {14, 42 + 14 - 0}: the second arrived at t = 0 */
        assert_close(r.ttft_s.p99, (less ? 56 : 14) * MS, 1e-9);
    }

    /* Cost: one request as above (42 ms) at $3.6/h = $0.001/s: $4.2e-5 for 3
     * tokens; FFN 5 of every 14 kernels (15 ms of 42), attention and model
     * ops the other 27 ms. */
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 100, output: 3}]\n"
             "max_batch: 4\ntoken_budget: 128\n", TINY_MODEL);
    r = tiny_run(text);
    assert_true(r.has_price);
    assert_close(r.usd_total, 4.2e-5, 1e-9);
    assert_close(r.usd_per_mtok, 4.2e-5 / 3 * 1e6, 1e-9);
    assert_close(r.time_ffn_s, 15 * MS, 1e-9);
    assert_close(r.usd_per_mtok_ffn, 0.001 * 15 * MS / 3 * 1e6, 1e-9);
    assert_close(r.usd_per_mtok_attn, 0.001 * 27 * MS / 3 * 1e6, 1e-9);

    /* AFD on tiny-gelu with two layers (h 8; per layer 6 attention-block
     * kernels and 5 FFN kernels; embed, final_norm, lm_head), one micro-batch,
     * link 1e9 B/s: x = L x T x h x 2 B / link per direction: prefill
     * 2 x 100 x 8 x 2 / 1e9 = 3.2e-6 s, decode 3.2e-8 s. a = attention + model
     * = 2 x 6 + 3 = 15 ms, f = 2 x 5 = 10 ms; a step is a + f + 2x:
     * (25 ms + 6.4e-6) + (25 ms + 6.4e-8). Cost: each pool pays one device over
     * the makespan: $0.001/s x makespan / 2 tokens. */
    char model2[128];
    snprintf(model2, sizeof model2, "%s",
             tu_write_temp("name: tiny2\nhidden: 8\nlayers: 2\nvocab: 16\ntied_embeddings: false\n"
                           "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
                           "groups:\n  - repeat: 2\n"
                           "    attention: {kind: gqa, heads: 2, kv_heads: 1, head_dim: 4, rope: false}\n"
                           "    ffn: {kind: gelu, intermediate: 16}\n"));
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 100, output: 2}]\n"
             "max_batch: 4\ntoken_budget: 128\n"
             "afd: {attention_devices: 1, ffn_devices: 1, link_bytes_per_s: 1e9}\n", model2);
    r = tiny_run(text);
    assert_true(r.afd);
    assert_close(r.afd_transfer_s, 3.2e-6 + 3.2e-8, 1e-9);
    const double mk = 50 * MS + 2 * 3.2e-6 + 2 * 3.2e-8;
    assert_close(r.makespan_s, mk, 1e-9);
    assert_close(r.time_attn_s, 30 * MS, 1e-9);
    assert_close(r.time_ffn_s, 20 * MS, 1e-9);
    assert_close(r.usd_per_mtok_attn, 0.001 * mk / 2 * 1e6, 1e-9);
    assert_close(r.usd_per_mtok_ffn, 0.001 * mk / 2 * 1e6, 1e-9);
    /* pipeline of m micro-batches: a + f + 2x + (m - 1) max(a, f, x) */
    assert_exact(serve_afd_step(2, 3, 1, 4), 2 + 3 + 2 + 3 * 3);
    assert_exact(serve_afd_step(2, 3, 5, 1), 2 + 3 + 10);
}

static const char BASE[] =
    "name: t\n"                                           /* 1 */
    "model: llama-3-8b\n"                                 /* 2 */
    "requests: 4\n"                                       /* 3 */
    "lengths:\n"                                          /* 4 */
    "  - {input: 100, output: 20}\n"                      /* 5 */
    "max_batch: 2\n"                                      /* 6 */
    "token_budget: 256\n"                                 /* 7 */
    "prefill_chunk: 128\n";                               /* 8 */

static const char *variant(const char *from, const char *to)
{
    static char buf[4096];
    const char *p = strstr(BASE, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - BASE), BASE, to, p + strlen(from));
    return buf;
}

static void expect_error(const char *text, int line, int col, const char *msg)
{
    struct serve_scenario *s = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = serve_load(tu_write_temp(text), &s, &e);
    if (rc == 0) { /* errors found when the scenario meets the device */
        struct serve_result r;
        rc = serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e);
        serve_free(s);
    }
    if (rc == 0 || e.line != line || (col && e.col != col) || !strstr(e.msg, msg)) {
        print_error("want %d:%d '%s', got rc %d %d:%d '%s'\n", line, col, msg, rc, e.line,
                    e.col, e.msg);
        fail();
    }
}

static void test_serve_errors(void **state)
{
    (void)state;
    serve_free(load_ok(BASE));
    expect_error(variant("output: 20", "output: 0"), 5, 26, "'output' must be at least 1");
    expect_error(variant("token_budget: 256", "token_budget: 100"), 7, 15,
                 "token_budget (100) is smaller than one prefill chunk (prefill_chunk 128)");
    expect_error(variant("max_batch: 2", "max_batch: 0"), 6, 12, "'max_batch' must be at least 1");
    expect_error(variant("llama-3-8b", "llama-9"), 2, 8, "unknown model 'llama-9'");
    expect_error(variant("requests: 4", "requestz: 4"), 3, 1, "did you mean 'requests'");
    expect_error(variant("lengths:\n  - {input: 100, output: 20}\n", ""), 1, 1,
                 "missing the request mix");
    expect_error(variant("lengths:\n  - {input: 100, output: 20}\n", "lengths: []\n"), 4, 10,
                 "'lengths' must list at least one");
    expect_error(variant("max_batch: 2", "uniform: {input_min: 1, input_max: 2, output_min: 3, "
                                         "output_max: 4}\nmax_batch: 2"),
                 6, 10, "give either 'lengths' or 'uniform'");
    expect_error(variant("lengths:\n  - {input: 100, output: 20}\n",
                         "uniform: {input_min: 5, input_max: 4, output_min: 1, output_max: 1}\n"),
                 4, 36, "input_max (4) is below input_min (5)");
    expect_error(variant("max_batch: 2", "max_batch: 2\ntp: 3"), 7, 5,
                 "heads (32) not divisible by 3");
    expect_error(variant("max_batch: 2", "max_batch: 2\nafd: {attention_devices: 1}"), 7, 6,
                 "missing required key 'ffn_devices'");
    /* a request that can never fit in the KV memory: at the mix */
    expect_error(variant("max_batch: 2", "max_batch: 2\nkv_memory_bytes: 1000"), 5, 3,
                 "can never be served");
    /* the command line: exit 2 and FILE:LINE:COL */
    char out[4096], err[4096], args[256];
    const char *p = tu_write_temp(variant("output: 20", "output: 0"));
    snprintf(args, sizeof args, "serve %s --hw h100", p);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
    char want[128];
    snprintf(want, sizeof want, "%s:5:26: 'output' must be at least 1", p);
    if (!strstr(err, want)) {
        print_error("stderr: %s\n", err);
        fail();
    }
    snprintf(args, sizeof args, "serve %s --hw h100 --tp 3", tu_write_temp(BASE));
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
}

/* The bundled examples run. */
static void test_serve_examples(void **state)
{
    (void)state;
    static char out[1 << 16], err[4096];
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-qwen3-chat.yaml --hw h100 "
                            "--format json",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "\"tbt_p99_s\""));
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-step3-afd.yaml "
                            "--format csv",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "usd_per_mtok_ffn"));
}

/* Issue 18, item 5: the clock far from zero. Arrivals at 1e-9 per second are
 * about 1e9 s apart, far longer than any iteration, so every request meets
 * an empty system: its TTFT is exactly one prefill iteration of its 512
 * prompt tokens (t_p) and its end-to-end time t_p plus one decode iteration
 * at context 512 (t_d), whose gap is the time between its tokens. 20,000
 * requests take the absolute clock to about 2e13 s, where one double step is
 * 2^-8 s = 3.9 ms: an absolute clock (now - arrival) loses the 10 ms TTFT to
 * rounding (the run gave 5.20 ms for 6.47 ms at 1e5 requests). */
static void test_serve_clock_far_from_zero(void **state)
{
    (void)state;
    struct serve_scenario *s = load_ok("name: slow\nmodel: llama-3-8b\nrequests: 20000\n"
                                       "lengths:\n  - {input: 512, output: 2}\n"
                                       "arrival_rate_per_s: 1e-9\nmax_batch: 4\n"
                                       "token_budget: 1024\n");
    struct serve_engine en;
    assert_int_equal(serve_engine_init(&en, s->m, h100, 1, s->m->dt_w, s->m->dt_act,
                                       s->m->dt_kv), 0);
    struct eval_totals tot;
    const struct serve_item prefill = {1, 512, 0, 1}, decode = {1, 1, 512, 1};
    const double tp = serve_engine_eval(&en, &prefill, 1, &tot);
    const double td = serve_engine_eval(&en, &decode, 1, &tot);
    serve_engine_free(&en);
    struct serve_result r;
    run_ok(s, 1, &r);
    assert_true(r.makespan_s > 1e13); /* the clock did run far */
    assert_exact(r.iterations, 40000);
    const struct serve_stats *st[] = {&r.ttft_s, &r.e2e_s, &r.tbt_s};
    const double want[] = {tp, tp + td, td};
    for (int i = 0; i < 3; i++) {
        assert_close(st[i]->mean, want[i], 1e-15);
        assert_close(st[i]->p50, want[i], 1e-15);
        assert_close(st[i]->p99, want[i], 1e-15);
        assert_close(st[i]->max, want[i], 1e-15);
    }
    serve_free(s);
}

/* Issue 18, item 6: the work bound, before the run. 10^6 requests of 512 +
 * 500,000 tokens at max_batch 1 (llama-3-8b: one layer group): each needs
 * 499,999 decode turns and ceil(512 / 1024) = 1 prefill chunk, 5e11 turns in
 * all, one per iteration, so work >= 5e11 + 24 x 5e11 = 1.25e13 units, far
 * over the bound of 2e8 when every iteration is evaluated (no_cache): refused
 * at `requests` (line 3, column 11) instead of running for days. With the
 * iteration cache any iteration could be a hit, so the least work is 5e11
 * turns x 0.5 (SERVE_HIT_WORK) = 2.5e11 units: refused as well. */
static void test_serve_work_bound_refused(void **state)
{
    (void)state;
    struct serve_scenario *s = load_ok("name: huge\nmodel: llama-3-8b\nrequests: 1000000\n"
                                       "lengths:\n  - {input: 512, output: 500000}\n"
                                       "max_batch: 1\ntoken_budget: 1024\n");
    struct serve_result r;
    struct err e;
    s->no_cache = true;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.col, 11);
    assert_non_null(strstr(e.msg, "at least 1.25e+13 units of work (5e+11 iterations"));
    assert_non_null(strstr(e.msg, "work bound of 2e+08"));
    s->no_cache = false;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "at least 2.5e+11 units of work (5e+11 iterations"));
    serve_free(s);
}

/* The work bound during the run. kv_memory_bytes holds one request of 1 + 100
 * tokens (100 x 131,072 B = 13,107,200 B), so requests run one at a time
 * although max_batch is 64: each takes 100 iterations (a 1-token prefill that
 * gives the first token, then 99 decodes) of (1 + 24) units. The bound before
 * the run sees 50 x 100 = 5,000 turns and ceil(5000 / 64) = 79 iterations:
 * 5,000 + 24 x 79 = 6,896 units, under a bound of 10,000; the run passes it
 * in its 401st iteration (400 x 25 = 10,000 is not over): stopped after 400
 * iterations, 4 requests done. These figures evaluate every iteration
 * (no_cache). With the cache, the first request's 100 iterations are
 * evaluated (100 x 25 = 2,500 units) and every later request repeats them
 * exactly (a 1-token prompt at context 0, then decodes at contexts 1..99),
 * answered from the cache at 0.5 units each; the least work before the run is
 * 5,000 turns x 0.5 = 2,500. A bound of 4,000 lets 3,000 cached iterations
 * run (2,500 + 3,000 x 0.5 = 4,000 is not over) and stops the run in the
 * next: after 100 + 3,000 = 3,100 iterations, 31 requests done. */
static void test_serve_work_bound_stops(void **state)
{
    (void)state;
    struct serve_scenario *s = load_ok("name: one at a time\nmodel: llama-3-8b\nrequests: 50\n"
                                       "lengths:\n  - {input: 1, output: 100}\n"
                                       "max_batch: 64\ntoken_budget: 1024\n"
                                       "kv_memory_bytes: 13107200\n");
    s->max_work = 4000;
    struct serve_result r;
    struct err e;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "stopped after 3100 iterations (31 of 50 requests done)"));
    s->max_work = 2499;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "at least 2500 units of work (79 iterations, 5000 sequence"));
    s->no_cache = true;
    s->max_work = 10000;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, "stopped after 400 iterations (4 of 50 requests done)"));
    assert_non_null(strstr(e.msg, "work bound of 10000 units"));
    s->max_work = 6896; /* exactly the least work: refused only when over it */
    memset(&e, 0, sizeof e);
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "stopped after"));
    s->max_work = 6895;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "at least 6896 units of work (79 iterations, 5000 sequence"));
    serve_free(s);
    /* Under AFD both pools' engines evaluate every micro-batch: twice the
     * least work, 2 x 6,896 = 13,792 units. With one micro-batch of one
     * sequence per iteration the run does 2 x (1 + 24) = 50 units per
     * iteration: a bound of 13,792 passes the check before the run and stops
     * it in iteration 276 (275 x 50 = 13,750 is not over): 275 iterations, 2
     * requests done. */
    s = load_ok("name: one at a time\nmodel: llama-3-8b\nrequests: 50\n"
                "lengths:\n  - {input: 1, output: 100}\n"
                "max_batch: 64\ntoken_budget: 1024\nkv_memory_bytes: 13107200\n"
                "afd: {attention_devices: 1, ffn_devices: 1}\n");
    s->no_cache = true;
    s->max_work = 13791;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "at least 13792 units of work"));
    s->max_work = 13792;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "stopped after 275 iterations (2 of 50 requests done)"));
    serve_free(s);
}

/* Streaming statistics. Exact: 1..1000, nearest rank p50 = the 500th value =
 * 500, p99 = the 990th = 990, mean 500500 / 1000 = 500.5. With 8 stored
 * runs the rest goes to the histogram: percentiles within its mid-bin error
 * (2^(1/1024) - 1 < 0.068%), mean and max still exact. Merged runs: 5, 5, 5,
 * 7: p50 = 2nd = 5, p99 = 4th = 7, mean 22 / 4 = 5.5. */
static void test_serve_stream_stats(void **state)
{
    (void)state;
    struct serve_stream a, b, c;
    serve_stream_init(&a, 2048, false);
    serve_stream_init(&b, 8, false);
    serve_stream_init(&c, 8, true);
    for (int i = 1; i <= 1000; i++) serve_stream_add(&a, i), serve_stream_add(&b, i);
    struct serve_stats sa, sb, sc;
    serve_stream_stats(&a, &sa);
    serve_stream_stats(&b, &sb);
    assert_exact(sa.p50, 500);
    assert_exact(sa.p99, 990);
    assert_exact(sa.mean, 500.5);
    assert_exact(sa.max, 1000);
    assert_null(a.hist);
    assert_non_null(b.hist);
    assert_close(sb.p50, 500, 6.8e-4);
    assert_close(sb.p99, 990, 6.8e-4);
    assert_exact(sb.mean, 500.5);
    assert_exact(sb.max, 1000);
    serve_stream_add(&c, 5), serve_stream_add(&c, 5), serve_stream_add(&c, 5);
    serve_stream_add(&c, 7);
    assert_int_equal(c.nr, 2);
    serve_stream_stats(&c, &sc);
    assert_exact(sc.p50, 5);
    assert_exact(sc.p99, 7);
    assert_exact(sc.mean, 5.5);
    serve_stream_free(&a), serve_stream_free(&b), serve_stream_free(&c);
}

/* The timeline beyond its cap. One request of 1 + 40 tokens runs 40
 * iterations (a 1-token prefill, 39 decodes). Keeping at most 4 points, the
 * stride doubles at iterations 4, 8, 16 and 32 (kept: 0 2; 0 4; 0 8; 0 16,
 * then 32), so it ends at 16 with iterations 0, 16 and 32 kept. Point i of 16
 * is iteration k = floor(39 i / 15), read at the kept iteration floor(k / 16)
 * x 16, which starts when the first 16 (or 32) iterations have run: the
 * makespan of the same request with 16 (or 32) output tokens. The cache holds
 * the whole request throughout: 40 x 131,072 B. The iteration times go to the
 * histogram: p50 within its mid-bin error of the exact run's. */
static void test_serve_timeline_capped(void **state)
{
    (void)state;
    const char *fmt = "name: long\nmodel: llama-3-8b\nrequests: 1\n"
                      "lengths:\n  - {input: 1, output: %d}\nmax_batch: 1\ntoken_budget: 1024\n";
    char text[256];
    double start[3] = {0, 0, 0}; /* start of iterations 0, 16, 32 */
    for (int j = 1; j < 3; j++) {
        snprintf(text, sizeof text, fmt, 16 * j);
        struct serve_scenario *s = load_ok(text);
        struct serve_result r;
        run_ok(s, 1, &r);
        start[j] = r.makespan_s;
        serve_free(s);
    }
    snprintf(text, sizeof text, fmt, 40);
    struct serve_scenario *s = load_ok(text);
    struct serve_result exact, capped;
    run_ok(s, 1, &exact);
    s->exact_samples = 4;
    run_ok(s, 1, &capped);
    assert_exact(capped.iterations, 40);
    assert_int_equal(capped.n_timeline, 16);
    for (int i = 0; i < 16; i++) {
        const int k = 39 * i / 15;
        assert_exact(capped.timeline_t_s[i], start[k / 16]);
        assert_exact(capped.timeline_kv_bytes[i], 40 * LLAMA8B_KV_BYTES_PER_TOKEN);
    }
    assert_close(capped.iter_s.p50, exact.iter_s.p50, 6.8e-4);
    assert_close(capped.iter_s.p99, exact.iter_s.p99, 6.8e-4);
    assert_exact(capped.iter_s.max, exact.iter_s.max);
    assert_close(capped.iter_s.mean, exact.iter_s.mean, 1e-15);
    assert_exact(capped.makespan_s, exact.makespan_s);
    serve_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_on_pim_device),
        cmocka_unit_test(test_serve_iteration_equals_analyze),
        cmocka_unit_test(test_serve_mixed_iteration),
        cmocka_unit_test(test_serve_per_sequence_selection),
        cmocka_unit_test(test_serve_state_per_sequence),
        cmocka_unit_test(test_serve_admission_boundary),
        cmocka_unit_test(test_serve_admission_window),
        cmocka_unit_test(test_serve_tiny_by_hand),
        cmocka_unit_test(test_serve_errors),
        cmocka_unit_test(test_serve_examples),
        cmocka_unit_test(test_serve_clock_far_from_zero),
        cmocka_unit_test(test_serve_work_bound_refused),
        cmocka_unit_test(test_serve_work_bound_stops),
        cmocka_unit_test(test_serve_stream_stats),
        cmocka_unit_test(test_serve_timeline_capped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
