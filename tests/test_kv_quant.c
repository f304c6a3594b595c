/* test_kv_quant.c - quantised KV with group scales (kv_quant, KIVI: keys per
 * channel, values per token, a full-precision residual); every figure
 * derived by hand in the comments (docs/kv-budgets.md, "Quantised KV"); bad
 * descriptions fail at FILE:LINE:COL. */
#include "attn_util.h"

/* h = 4096, GQA 4 heads / 2 KV heads of 16: per token and layer K = 2 x 16 =
 * 32 elements and V = 32 (c = 64; 128 B in bf16). Line 12 is kv_quant. */
static char *with_quant(char *buf, size_t n, const char *quant, const char *extra)
{
    snprintf(buf, n,
             "name: t\nhidden: 4096\nlayers: 2\nvocab: 1000\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n"
             "  - repeat: 2\n"                                                     /* 9 */
             "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 16}\n"    /* 10 */
             "    ffn: {kind: swiglu, intermediate: 14336}\n"                       /* 11 */
             "    kv_quant: %s\n%s",                                                /* 12 */
             quant, extra);
    return buf;
}

/* bits 2, G 16, R 32: a quantised element costs 2/8 + (2 + 2)/16 = 0.5 B.
 * At n = 100 tokens held, one layer:
 *   keys: 96 = floor(100/32)*32 tokens quantised, 4 in bf16:
 *     96 x 32 x 2 bits = 768 B, scales 32 channels x 96/16 groups x 4 B = 768 B,
 *     residual 4 x 32 x 2 B = 256 B: 1792 B;
 *   values: 68 = 100 - 32 quantised, the last 32 in bf16:
 *     68 x 32 x 2 bits = 544 B, scales 68 tokens x 32/16 groups x 4 B = 544 B,
 *     residual 32 x 32 x 2 B = 2048 B: 3136 B;
 *   together 4928 B (bf16: 100 x 64 x 2 = 12800 B). */
static void test_bytes_per_sequence(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(with_quant(buf, sizeof buf, "{bits: 2, group: 16, residual: 32}", ""));
    assert_exact(kv_quant_elem_bytes(&m->groups[0].quant), 0.5);
    assert_exact(model_kv_bytes_per_seq(m, 1, 100, DT_BF16), 2.0 * 4928);
    /* inside the residual nothing is quantised: 20 tokens = 20 x 64 x 2 B */
    assert_exact(model_kv_bytes_per_seq(m, 1, 20, DT_BF16), 2.0 * 2560);
    /* n = 32: keys 32 quantised (32 x 32 x 0.5 = 512 B), values none (32 x 32 x 2
     * = 2048 B) */
    assert_exact(model_kv_bytes_per_seq(m, 1, 32, DT_BF16), 2.0 * (512 + 2048));
    /* the residual stays in the KV dtype: fp8 residual at n = 100: keys
     * 96 x 32 x 0.5 + 4 x 32 x 1 = 1664, values 68 x 32 x 0.5 + 32 x 32 x 1 =
     * 2112: 3776 B */
    assert_exact(model_kv_bytes_per_seq(m, 1, 100, DT_FP8), 2.0 * 3776);
    /* the per-token rate far beyond R: 64 x 0.5 = 32 B per layer, 64 B for 2
     * layers (bf16: 256 B) */
    double whole, dev;
    model_kv_bytes_per_token(m, 1, DT_BF16, &whole, &dev);
    assert_exact(whole, 64);
    assert_exact(dev, 64);
    /* under tp 2 each device holds one KV head: 16 K + 16 V elements, 16 B */
    model_kv_bytes_per_token(m, 2, DT_BF16, &whole, &dev);
    assert_exact(whole, 64);
    assert_exact(dev, 32);
    model_free(m);
}

/* Decode B = 3 at L = 99: the attention reads the 100 tokens held after the
 * step, 3 x 4928 B per layer (bf16: 3 x 12800). The 99 cached tokens hold
 * 96 quantised keys and 67 quantised values: kv_dequant 32 x (96 + 67) = 5216
 * elements per sequence, 2 FLOPs each: 3 x 5216 x 2 = 31296 FLOPs, no bytes.
 * kv_quantize: one key (KIVI quantises R keys every R steps) and, past R, one
 * value leave the residual: 32 + 32 = 64 elements per sequence, 5 FLOPs each
 * (3 x 64 x 5 = 960), stored at 0.5 B: 3 x 64 x 0.5 = 96 B. The new token is
 * written in bf16 (kv_write unchanged). */
static void test_decode_ops(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(with_quant(buf, sizeof buf, "{bits: 2, group: 16, residual: 32}", ""));
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 3, 99, DT_BF16, 1);
    assert_close(au_op(&g, 0, "attention")->cost.bytes_kv, 3.0 * 4928, 1e-12);
    const struct op *dq = au_op(&g, 0, "kv_dequant");
    assert_exact(dq->cost.flops_vec, 31296);
    assert_exact(dq->cost.bytes_act + dq->cost.bytes_out + dq->cost.bytes_kv, 0);
    const struct op *qz = au_op(&g, 0, "kv_quantize");
    assert_exact(qz->cost.flops_vec, 960);
    assert_exact(qz->cost.bytes_out, 96);
    /* reads the 64 residual elements per sequence in bf16: 3 x 64 x 2 */
    assert_exact(qz->cost.bytes_act, 384);
    graph_free(&g);
    model_free(m);
}

/* Prefill of S = 100, B = 1: the prompt's attention reads activations, not the
 * cache (no dequantisation); 96 keys and 68 values are quantised at the end:
 * 32 x (96 + 68) = 5248 elements, 5248 x 0.5 = 2624 B stored. */
static void test_prefill_ops(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(with_quant(buf, sizeof buf, "{bits: 2, group: 16, residual: 32}", ""));
    struct graph g;
    au_lower(m, &g, PHASE_PREFILL, 1, 100, DT_BF16, 1);
    const struct op *qz = au_op(&g, 0, "kv_quantize");
    assert_exact(qz->shape.ew.cols, 5248);
    assert_exact(qz->cost.bytes_out, 2624);
    for (int i = 0; i < g.n; i++) assert_true(strcmp(g.ops[i].name, "kv_dequant") != 0);
    graph_free(&g);
    model_free(m);
}

/* With a StreamingLLM budget of 4 + 100 the held 104 tokens are quantised:
 * keys 96 quantised + 8 bf16: 96 x 32 x 0.5 + 8 x 32 x 2 = 1536 + 512 = 2048;
 * values 72 + 32: 72 x 32 x 0.5 + 32 x 32 x 2 = 1152 + 2048 = 3200; 5248 B a
 * layer at any context past 104. */
static void test_with_budget(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(with_quant(buf, sizeof buf, "{bits: 2, group: 16, residual: 32}",
                                         "    kv_budget: {method: streaming, sinks: 4, recent: 100}\n"));
    assert_exact(model_kv_bytes_per_seq(m, 1, 5000, DT_BF16), 2.0 * 5248);
    model_free(m);
}

/* Llama-3-8B's attention (8 KV heads of 128: 2048 K+V elements per token and
 * layer, 32 layers) with KIVI-2 at G = 32: 2/8 + 4/32 = 0.375 B per element,
 * 2048 x 0.375 = 768 B per layer, 24576 B per token (bf16: 4096 B and
 * 131072 B: 5.33x less); KIVI-4 at G = 128: 0.5 + 4/128 = 0.53125 B,
 * 1088 B per layer. */
static void test_llama_rates(void **state)
{
    (void)state;
    char buf[4096];
    snprintf(buf, sizeof buf,
             "name: t\nhidden: 4096\nlayers: 32\nvocab: 128256\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n  - repeat: 32\n"
             "    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}\n"
             "    ffn: {kind: swiglu, intermediate: 14336}\n"
             "    kv_quant: {bits: 2, group: 32, residual: 128}\n");
    struct model *m = au_text(buf);
    double whole, dev;
    model_kv_bytes_per_token(m, 1, DT_BF16, &whole, &dev);
    assert_exact(whole, 24576);
    model_free(m);
    char *p = strstr(buf, "bits: 2, group: 32");
    memcpy(p, "bits: 4, group: 128, residual: 128}\n", 36);
    p[36] = '\0';
    m = au_text(buf);
    model_kv_bytes_per_token(m, 1, DT_BF16, &whole, &dev);
    assert_exact(whole, 32.0 * 1088);
    model_free(m);
}

/* analyze: decode B = 4 at L = 99 holds 100 tokens a sequence: the KV cache
 * is 4 x 2 layers x 4928 B = 39424 B (bf16: 4 x 2 x 12800 = 102400); the
 * KV per token is the quantised rate, 64 B (bf16: 256). The largest batch
 * uses the same per-sequence bytes: (capacity - weights) / (9856 + the
 * activations per sequence) exceeds the bf16 cache's. */
static void test_analyze_memory(void **state)
{
    (void)state;
    char buf[2048];
    struct model *mq = au_text(with_quant(buf, sizeof buf, "{bits: 2, group: 16, residual: 32}", ""));
    struct device *d = tu_device("h100-sxm5-80gb");
    assert_non_null(d);
    struct analysis a;
    assert_int_equal(analysis_init(&a, mq), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 4, .context = 99, .tp = 1};
    analysis_run(&a, mq, d, &sc);
    assert_exact(a.kv_cache_bytes, 39424);
    assert_exact(a.kv_bytes_per_token, 64);
    const double quant_batch = a.max_batch;
    analysis_free(&a);
    /* the same model without kv_quant */
    char plain[2048];
    snprintf(plain, sizeof plain, "%s", buf);
    *strstr(plain, "    kv_quant:") = '\0';
    struct model *mp = au_text(plain);
    assert_int_equal(analysis_init(&a, mp), 0);
    analysis_run(&a, mp, d, &sc);
    assert_exact(a.kv_cache_bytes, 102400);
    assert_true(quant_batch > a.max_batch);
    analysis_free(&a);
    device_free(d);
    model_free(mq);
    model_free(mp);
}

static void test_quant_errors(void **state)
{
    (void)state;
    char buf[2048];
    au_expect_error(with_quant(buf, sizeof buf, "{bits: 2, group: 16, residual: 40}", ""), 12,
                    "40}", "multiple of group");
    au_expect_error(with_quant(buf, sizeof buf, "{bits: 0, group: 16, residual: 32}", ""), 12,
                    "0,", "'bits' must be at least 1");
    au_expect_error(with_quant(buf, sizeof buf, "{bits: 2, group: 16}", ""), 12, "{bits",
                    "residual");
    /* 32 value elements per token: a group of 24 does not divide them */
    au_expect_error(with_quant(buf, sizeof buf, "{bits: 2, group: 24, residual: 48}", ""), 12,
                    "24,", "must divide the 32 value elements");
    au_expect_error(with_quant(buf, sizeof buf, "{bits: 2, group: 16, residual: 32, zero: 1}", ""),
                    12, "zero", "unknown key 'zero'");
    /* not narrower than an fp8 cache */
    char *p = with_quant(buf, sizeof buf, "{bits: 8, group: 16, residual: 32}", "");
    memcpy(strstr(p, "kv: bf16"), "kv: fp8 ", 8);
    au_expect_error(p, 12, "8,", "not narrower than the KV dtype fp8");
    /* a mixer without a KV cache */
    snprintf(buf, sizeof buf,
             "name: t\nhidden: 256\nlayers: 1\nvocab: 10\ntied_embeddings: true\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n  - repeat: 1\n"
             "    attention: {kind: mamba2, d_state: 16, expand: 2, head_dim: 64, heads: 8, "
             "n_groups: 1, d_conv: 4, chunk_size: 64}\n"
             "    ffn: {kind: swiglu, intermediate: 512}\n"
             "    kv_quant: {bits: 2, group: 16, residual: 32}\n");
    au_expect_error(buf, 12, "{bits", "keeps none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_per_sequence),
        cmocka_unit_test(test_decode_ops),
        cmocka_unit_test(test_prefill_ops),
        cmocka_unit_test(test_with_budget),
        cmocka_unit_test(test_llama_rates),
        cmocka_unit_test(test_analyze_memory),
        cmocka_unit_test(test_quant_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
