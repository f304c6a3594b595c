/* test_mixers.c - linear-time token mixers (mamba2, shortconv, linattn) and the
 * hybrid models built from them (lfm2-1.2b, granite-4.0-h-tiny): parameters,
 * per-sequence state, prefill and decode FLOPs of one layer derived by hand,
 * state constant in context, memory of a hybrid, tensor parallelism and bad
 * settings failing at FILE:LINE:COL. Formulas: docs/variants/mamba2.md,
 * shortconv.md, linear-attention.md; the scan core: sim/core/graph.c count_scan. */
#include "attn_util.h"

/* Sums of the mixer's own ops in layer group `group` (the attention-slot
 * block without the model's attn_norm and attn_residual). */
static struct au_sums mixer(const struct graph *g, int group)
{
    struct au_sums s = {0};
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        if (op->group != group || op->block != BLK_ATTN) continue;
        if (!strcmp(op->name, "attn_norm") || !strcmp(op->name, "attn_residual")) continue;
        s.mm += op->cost.flops_mm;
        s.vec += op->cost.flops_vec;
        s.w += op->cost.bytes_w;
        s.act += op->cost.bytes_act;
        s.kv += op->cost.bytes_kv;
        s.out += op->cost.bytes_out;
    }
    return s;
}

static struct block_counts block(const struct model *m, double tp)
{
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, tp, &bc);
    return bc;
}

/* h = 4096; expand 2: d_in = 8192, P = 64: H = 128; G = 8, N = 128, k = 4. */
#define MAMBA2 "{kind: mamba2, d_state: 128, head_dim: 64, n_groups: 8, d_conv: 4, chunk_size: 256}"

/* in_proj 4096 x (2*8192 + 2*8*128 + 128 = 18,560); conv over 8192 + 2048 =
 * 10,240 channels x (4 taps + bias); dt_bias, A_log, D: 3 x 128; gated norm
 * 8192; out_proj 8192 x 4096. State: 3 x 10,240 + 128 x 64 x 128. */
static void test_mixers_mamba2_counts(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(buf, sizeof buf, MAMBA2));
    const struct block_counts bc = block(m, 1);
    assert_exact(bc.params, 4096.0 * 18560 + 10240.0 * 5 + 384 + 8192 + 8192.0 * 4096);
    assert_exact(bc.params, 109635968.0);
    assert_exact(bc.kv_elems, 0);
    assert_exact(bc.state_elems, 3.0 * 10240 + 128.0 * 64 * 128); /* 1,079,296 */
    /* tp = 2: 64 heads, 4 groups per device: d_in 4096, conv_dim 5120. */
    const struct block_counts b2 = block(m, 2);
    assert_exact(b2.state_elems_dev, 3.0 * 5120 + 64.0 * 64 * 128);
    assert_exact(b2.params_dev, 4096.0 * (2 * 4096 + 1024 + 64) + 5120.0 * 5 + 192 + 4096 +
                                    4096.0 * 4096);
    /* tp = 16 > G = 8: each device holds the one group its 8 heads read. */
    const struct block_counts b16 = block(m, 16);
    assert_exact(b16.state_elems_dev, 3.0 * (512 + 256) + 8.0 * 64 * 128);
    struct err e;
    assert_int_equal(model_tp_check(m, 16, &e), 0);
    assert_int_equal(model_tp_check(m, 3, &e), -1);
    assert_non_null(strstr(e.msg, "heads (128) not divisible by 3"));
    model_free(m);
}

/* Decode, B sequences at context L: projections and conv as GEMMs; the
 * recurrent step B*H*4*N*P matmul (k^T v into h, q h) + B*H*N*P decay. The
 * state (not a KV cache) is read and written whatever L is. */
static void test_mixers_mamba2_decode(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(buf, sizeof buf, MAMBA2));
    const double B = 4, H = 128, N = 128, P = 64;
    double kv_at[2];
    const double ctx[2] = {1024, 100000};
    for (int i = 0; i < 2; i++) {
        struct graph g;
        au_lower(m, &g, PHASE_DECODE, B, ctx[i], DT_BF16, 1);
        const struct au_sums s = mixer(&g, 0);
        const double proj = 4096.0 * 18560 + 8192.0 * 4096, conv = 10240.0 * 4;
        assert_exact(s.mm, 2 * B * (proj + conv) + B * H * 4 * N * P);
        const struct op *ssd = au_op(&g, 0, "ssd");
        assert_exact(ssd->cost.flops_mm, B * H * 4 * N * P);
        assert_exact(ssd->cost.flops_vec, B * H * N * P);
        assert_exact(ssd->cost.bytes_kv, B * H * N * P * 2); /* state read, bf16 */
        /* conv window (k - 1) x conv_dim = 3 x 10,240, read and rewritten (bf16) */
        const struct op *cs = au_op(&g, 0, "conv_state");
        assert_exact(cs->cost.bytes_act, B * 3 * 10240 * 2);
        assert_exact(cs->cost.bytes_out, B * 3 * 10240 * 2);
        kv_at[i] = s.kv;
        graph_free(&g);
    }
    assert_exact(kv_at[0], kv_at[1]); /* nothing grows with context */
    model_free(m);
}

/* Prefill of S = 1000 with Q = 256: 3 whole chunks and one of 232. Computed
 * pairs per head/group 3*256^2 + 232^2 = 250,432 (useful 3*256*257/2 +
 * 232*233/2 = 125,716); per pair 2N per group (C B^T) + 2P per head (x);
 * chunk states and state outputs 4*N*P per token and head; vector: decay mask
 * 3 per pair and head, state passing 2*N*P per chunk and head (4 chunks). */
static void test_mixers_mamba2_prefill(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(buf, sizeof buf, MAMBA2));
    struct graph g;
    const double B = 2, S = 1000, H = 128, G = 8, N = 128, P = 64;
    au_lower(m, &g, PHASE_PREFILL, B, S, DT_BF16, 1);
    const struct op *ssd = au_op(&g, 0, "ssd");
    const double pairs = 250432, useful = 125716, per_pair = G * 2 * N + H * 2 * P;
    assert_exact(pairs, 3.0 * 256 * 256 + 232.0 * 232);
    assert_exact(ssd->cost.flops_mm, B * (per_pair * pairs + H * S * 4 * N * P));
    assert_exact(ssd->cost.flops_wasted, B * per_pair * (pairs - useful));
    assert_exact(ssd->cost.flops_vec, B * H * (3 * pairs + 4 * 2 * N * P));
    assert_exact(ssd->cost.bytes_kv, 0); /* no prior state */
    /* nor a prior conv window: 3 x 10,240 elements per sequence only written */
    assert_exact(au_op(&g, 0, "conv_state")->cost.bytes_act, 0);
    assert_exact(au_op(&g, 0, "conv_state")->cost.bytes_out, B * 3 * 10240 * 2);
    assert_exact(ssd->cost.bytes_out, (B * S * H * P + B * H * N * P) * 2); /* y, final state */
    const struct au_sums s = mixer(&g, 0);
    const double T = B * S, proj = 4096.0 * 18560 + 8192.0 * 4096, conv = 10240.0 * 4;
    assert_exact(s.mm, 2 * T * (proj + conv) + ssd->cost.flops_mm);
    assert_exact(s.kv, 0);
    graph_free(&g);
    model_free(m);
}

/* shortconv, h = 4096, L = 3: in_proj 3h^2, conv h*3, out_proj h^2; state
 * 2h. FLOPs per token: 2*(4h^2 + 3h) matmul, B*x and C*y one each per channel. */
static void test_mixers_shortconv(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(buf, sizeof buf, "{kind: shortconv, kernel: 3}"));
    const double h = 4096;
    const struct block_counts bc = block(m, 1);
    assert_exact(bc.params, 4 * h * h + 3 * h);
    assert_exact(bc.params, 67121152.0);
    assert_exact(bc.kv_elems, 0);
    assert_exact(bc.state_elems, 2 * h);
    assert_exact(block(m, 4).state_elems_dev, 2 * h / 4);
    for (int ph = 0; ph < 2; ph++) {
        struct graph g;
        const double B = 3, len = 777, T = ph == 0 ? B * len : B;
        au_lower(m, &g, ph == 0 ? PHASE_PREFILL : PHASE_DECODE, B, len, DT_BF16, 1);
        const struct au_sums s = mixer(&g, 0);
        assert_exact(s.mm, 2 * T * (4 * h * h + 3 * h));
        assert_exact(s.vec, 2 * T * h);
        assert_exact(s.kv, 0);
        /* conv window, B x 2h: written (KV dtype, bf16) in both phases; read
         * (activations, bf16) only in decode, where there is prior context */
        const struct op *cs = au_op(&g, 0, "conv_state");
        assert_exact(cs->cost.bytes_out, B * 2 * h * 2);
        assert_exact(cs->cost.bytes_act, ph == 0 ? 0 : B * 2 * h * 2);
        graph_free(&g);
    }
    struct err e;
    assert_int_equal(model_tp_check(m, 8, &e), 0);
    assert_int_equal(model_tp_check(m, 3, &e), -1);
    model_free(m);
}

/* linattn, H = 32, D = 128, with MiniMax's options: q/k/v, gate and out
 * projections 5h^2 + norm h; state H*D^2. Decode: B*H*4*D^2 matmul + B*H*D^2
 * decay. Prefill S = 512, Q = 256: 2 chunks, 2*256^2 pairs (useful
 * 2*256*257/2), 2D per pair for q k^T and 2D for the values (groups = H). */
static void test_mixers_linattn(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(
        buf, sizeof buf,
        "{kind: linattn, heads: 32, head_dim: 128, silu: true, output_norm: true, "
        "output_gate: true}"));
    const double h = 4096, H = 32, D = 128;
    const struct block_counts bc = block(m, 1);
    assert_exact(bc.params, 5 * h * h + h);
    assert_exact(bc.state_elems, H * D * D); /* 524,288 */
    assert_exact(bc.kv_elems, 0);
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 8, 5000, DT_BF16, 1);
    const struct op *core = au_op(&g, 0, "lightning");
    assert_exact(core->cost.flops_mm, 8 * H * 4 * D * D);
    assert_exact(core->cost.flops_vec, 8 * H * D * D);
    assert_exact(mixer(&g, 0).mm, 2 * 8 * 5 * h * h + 8 * H * 4 * D * D);
    graph_free(&g);
    au_lower(m, &g, PHASE_PREFILL, 1, 512, DT_BF16, 1);
    core = au_op(&g, 0, "lightning");
    const double pairs = 2 * 256.0 * 256, useful = 256.0 * 257;
    assert_exact(core->cost.flops_mm, (H * 2 * D + H * 2 * D) * pairs + H * 512 * 4 * D * D);
    assert_exact(core->cost.flops_wasted, (H * 4 * D) * (pairs - useful));
    assert_exact(core->cost.flops_vec, H * (3 * pairs + 2 * 2 * D * D));
    graph_free(&g);
    model_free(m);
}

/* LFM2-1.2B: 10 shortconv layers (4h^2 + 3h), 6 GQA layers (32/8 heads of 64,
 * q/k norm 2*64), SwiGLU 8192 everywhere, 2 norms per layer, tied V*h, final
 * norm. Published (Lfm2ForCausalLM parameter count, "1.17B"): 1,170,340,608. */
static void test_mixers_lfm2_counts(void **state)
{
    (void)state;
    struct model *m = tu_model("lfm2-1.2b");
    assert_non_null(m);
    const double h = 2048, V = 65536;
    const double conv = 4 * h * h + 3 * h, attn = h * (32 + 16) * 64 + 32 * 64 * h + 128,
                 ffn = 3 * h * 8192, norms = 2 * h;
    const double params = V * h + 10 * (conv + ffn + norms) + 6 * (attn + ffn + norms) + h;
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, params);
    assert_exact(c.params, 1170340608.0);
    assert_exact(m->published_params, 1170340608.0);
    assert_exact(c.active_params, params + h); /* one embedding row + the tied matrix */
    assert_exact(c.kv_elems_per_token * 2, 6.0 * 2 * 8 * 64 * 2); /* 12,288 B */
    assert_exact(c.state_elems_per_seq * 2, 10.0 * 2 * h * 2);  /* 81,920 B */
    model_free(m);
}

/* Granite-4.0-H-Tiny: 36 Mamba-2 layers (h 1536, d_in 3072, H 48, P 64, G 1,
 * N 128, conv 4 with bias), 4 NoPE GQA layers (12/4 heads of 128), MoE of 64
 * SwiGLU experts of 512 (top-6) + one shared of 1024 on every layer, tied
 * V*h. Ours 6,939,037,248 against the published "7B" (rounded; -0.87 %). */
static void test_mixers_granite_counts(void **state)
{
    (void)state;
    struct model *m = tu_model("granite-4.0-h-tiny");
    assert_non_null(m);
    const double h = 1536, V = 100352, in = 3072, conv_dim = in + 2 * 128;
    const double mamba = h * (2 * in + 2 * 128 + 48) + conv_dim * 5 + 3 * 48 + in + in * h;
    assert_exact(mamba, 14642576.0);
    const double attn = h * (12 + 8) * 128 + 12 * 128 * h;
    const double router = h * 64, expert = 3 * h * 512, shared = 3 * h * 1024, norms = 2 * h;
    const double ffn = router + 64 * expert + shared, ffn_act = router + 6 * expert + shared;
    const double params = V * h + 36 * (mamba + ffn + norms) + 4 * (attn + ffn + norms) + h;
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, params);
    assert_exact(c.params, 6939037248.0);
    assert_true(fabs(c.params - m->published_params) / m->published_params < 0.01);
    const double active =
        h + V * h + 36 * (mamba + ffn_act + norms) + 4 * (attn + ffn_act + norms) + h;
    assert_exact(c.active_params, active);
    assert_exact(c.active_params, 1465472064.0); /* publisher: "1B activated" */
    assert_exact(c.kv_elems_per_token * 2, 4.0 * 2 * 4 * 128 * 2);            /* 8,192 B */
    assert_exact(c.state_elems_per_seq * 2, 36.0 * (3 * conv_dim + 48 * 64 * 128) * 2);
    assert_exact(c.state_elems_per_seq * 2, 29030400.0);
    model_free(m);
}

/* Memory of a hybrid: the KV cache is the 4 attention layers' KV per token
 * times the tokens held plus the Mamba layers' state once per sequence; the
 * largest batch divides what the weights leave by that plus the activations.
 * By hand, decode at B = 16 (bf16 everywhere, tp 1):
 *   weights: 6,939,037,248 params (test above) x 2 B = 13,878,074,496 B;
 *            H100 80 GB capacity 85,899,345,920 B leaves 72,021,271,424 B.
 *   activations: the largest op's bytes read + written, without what it
 *     writes into the KV cache or a state (docs/conventions.md). A Mamba
 *     layer's `ssd` step reads C, B (G*N = 128 each), x (H*P = 3,072) and dt
 *     (H = 48) per token, 16 x 3,376 x 2 = 108,032 B, and writes y,
 *     16 x 3,072 x 2 = 98,304 B: 206,336 B (its final state, 16 x 48*64*128
 *     x 2 = 12,582,912 B, is state memory). The lm_head reads 16 x 1,536 x 2
 *     = 49,152 B and writes 16 x 100,352 x 2 = 3,211,264 B: 3,260,416 B, the
 *     largest (203,776 B per sequence).
 *   per sequence at L = 1,024: 1,025 x 8,192 + 29,030,400 + 203,776
 *     = 37,630,976 B -> floor(72,021,271,424 / 37,630,976) = 1,913 sequences;
 *   at L = 102,400: 102,401 x 8,192 + 29,030,400 + 203,776 = 868,103,168 B
 *     -> 82 sequences. */
static void test_mixers_hybrid_memory(void **state)
{
    (void)state;
    struct model *m = tu_model("granite-4.0-h-tiny");
    struct device *d = tu_device("h100-sxm5-80gb");
    assert_non_null(m);
    assert_non_null(d);
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    const double B = 16, kvtok = 8192, st = 29030400;
    const double weights = 6939037248.0 * 2, act = 49152.0 + 3211264;
    assert_exact(weights, 13878074496.0);
    assert_exact(act, 3260416.0);
    assert_exact(d->mem_capacity_bytes, 85899345920.0); /* hw/h100-sxm5-80gb.yaml */
    double cache[2];
    const double ctx[2] = {1024, 102400}, max_b[2] = {1913, 82};
    for (int i = 0; i < 2; i++) {
        struct scenario sc = {.phase = PHASE_DECODE, .batch = B, .context = ctx[i]};
        analysis_run(&a, m, d, &sc);
        assert_exact(a.kv_bytes_per_token, kvtok);
        assert_exact(a.state_bytes_per_seq, st);
        assert_exact(a.kv_cache_bytes, B * ((ctx[i] + 1) * kvtok + st));
        assert_exact(a.weight_bytes, weights);
        assert_exact(a.act_bytes, act);
        const double per_seq = (ctx[i] + 1) * kvtok + st + act / B;
        assert_exact(per_seq, i == 0 ? 37630976.0 : 868103168.0);
        assert_exact(floor((85899345920.0 - weights) / per_seq), max_b[i]);
        assert_exact(a.max_batch, max_b[i]);
        cache[i] = a.kv_cache_bytes;
    }
    /* 100x the context: only the attention layers' part grows. */
    assert_exact(cache[1] - cache[0], B * (ctx[1] - ctx[0]) * kvtok);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* A model of mixers only has no KV cache: same cache bytes at 1k and 100k. */
static void test_mixers_state_constant_in_context(void **state)
{
    (void)state;
    const char *mixers[] = {MAMBA2, "{kind: shortconv}", "{kind: linattn, heads: 32, head_dim: 128}"};
    struct device *d = tu_device("h100-sxm5-80gb");
    for (size_t k = 0; k < 3; k++) {
        char buf[2048];
        struct model *m = au_text(au_base(buf, sizeof buf, mixers[k]));
        struct analysis a;
        assert_int_equal(analysis_init(&a, m), 0);
        double cache[2], decode_bytes[2];
        const double ctx[2] = {1024, 102400};
        for (int i = 0; i < 2; i++) {
            struct scenario sc = {.phase = PHASE_DECODE, .batch = 8, .context = ctx[i]};
            analysis_run(&a, m, d, &sc);
            assert_exact(a.kv_bytes_per_token, 0);
            assert_true(a.state_bytes_per_seq > 0);
            cache[i] = a.kv_cache_bytes;
            decode_bytes[i] = a.tot.bytes;
        }
        assert_exact(cache[0], cache[1]);
        assert_exact(decode_bytes[0], decode_bytes[1]); /* decode is O(1) in context */
        analysis_free(&a);
        model_free(m);
    }
    device_free(d);
}

static void test_mixers_errors(void **state)
{
    (void)state;
    char buf[2048];
    au_expect_error(au_base(buf, sizeof buf, "{kind: mamba2, d_state: 0}"), 10, "0}",
                    "'d_state' must be at least 1, got 0");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mamba2, d_state: 16, d_conv: 0}"), 10, "0}",
                    "'d_conv' must be at least 1, got 0");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mamba2, d_state: 16, chunk_size: 0}"), 10,
                    "0}", "'chunk_size' must be at least 1, got 0");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mamba2, d_state: 16, head_dim: 96}"), 10,
                    "96", "head_dim (96) must divide d_inner = expand*hidden = 8192");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mamba2, d_state: 16, heads: 100}"), 10,
                    "100", "heads (100) must equal d_inner/head_dim = 8192/64 = 128");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mamba2, d_state: 16, n_groups: 3}"), 10,
                    "3}", "n_groups (3) must divide heads (128)");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mamba2}"), 10, "{kind",
                    "missing required key 'd_state'");
    au_expect_error(au_base(buf, sizeof buf, "{kind: shortconv, kernel: 0}"), 10, "0}",
                    "'kernel' must be at least 1, got 0");
    au_expect_error(au_base(buf, sizeof buf, "{kind: linattn, heads: 32, head_dim: 0}"), 10,
                    "0}", "'head_dim' must be at least 1, got 0");
    au_expect_error(au_base(buf, sizeof buf, "{kind: linattn, heads: 32, head_dim: 8, chunk_size: 0}"),
                    10, "0}", "'chunk_size' must be at least 1, got 0");
}

/* Every bundled example on the Llama-3-8B skeleton loads. */
static void test_mixers_examples_load(void **state)
{
    (void)state;
    const char *names[] = {"mix-mamba2", "mix-shortconv", "mix-linattn"};
    for (size_t i = 0; i < 3; i++) {
        struct model *m = au_example(names[i]);
        assert_non_null(m);
        struct model_counts c;
        model_count(m, 1, &c);
        assert_exact(c.kv_elems_per_token, 0);
        model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixers_mamba2_counts),
        cmocka_unit_test(test_mixers_mamba2_decode),
        cmocka_unit_test(test_mixers_mamba2_prefill),
        cmocka_unit_test(test_mixers_shortconv),
        cmocka_unit_test(test_mixers_linattn),
        cmocka_unit_test(test_mixers_lfm2_counts),
        cmocka_unit_test(test_mixers_granite_counts),
        cmocka_unit_test(test_mixers_hybrid_memory),
        cmocka_unit_test(test_mixers_state_constant_in_context),
        cmocka_unit_test(test_mixers_errors),
        cmocka_unit_test(test_mixers_examples_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
