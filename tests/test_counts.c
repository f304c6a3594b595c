/* test_counts.c - parameter counts, active parameters and KV-cache bytes of
 * every bundled model, derived by hand from the published config.json values
 * (quoted in each model file) and checked against the publishers' totals.
 *
 * Conventions (docs/conventions.md): params = embeddings + lm_head (once if
 * tied) + per layer (attention + FFN + 2 norms) + final norm. Active params =
 * one embedding row + the full lm_head + norms + attention + router + k routed
 * experts (+ shared). KV bytes/token = layers x 2 x Hkv x D x dtype bytes. */
#include "testutil.h"

/* Per-layer attention params of the GQA family: q (h x H*D), k and v
 * (h x Hkv*D each), o (H*D x h). */
static double gqa(double h, double H, double Hkv, double D) { return h * H * D + 2 * h * Hkv * D + H * D * h; }

static void check(const char *name, double params, double active, double kv_per_token,
                  double published)
{
    struct model *m = tu_model(name);
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, params);
    assert_exact(c.params, published);
    assert_exact(m->published_params, published);
    assert_exact(c.active_params, active);
    assert_exact(c.kv_elems_per_token * dtype_bytes(m->dt_kv), kv_per_token);
    model_free(m);
}

/* Llama-3-8B: h 4096, 32 layers, H 32, Hkv 8, D 128, I 14336, V 128256, untied.
 * Published (Meta model card / HF safetensors): 8,030,261,248. */
static void test_counts_llama3_8b(void **state)
{
    (void)state;
    const double h = 4096, L = 32, V = 128256, I = 14336;
    const double layer = gqa(h, 32, 8, 128) + 3 * h * I + 2 * h; /* 218,112,000 */
    assert_exact(layer, 218112000.0);
    const double params = 2 * V * h + L * layer + h;
    const double active = h + V * h + L * layer + h;
    /* KV: 32 layers x 2 (K, V) x 8 heads x 128 x 2 bytes = 131,072 = 128 KiB */
    check("llama-3-8b", params, active, 32.0 * 2 * 8 * 128 * 2, 8030261248.0);
}

/* Llama-3-70B: h 8192, 80 layers, H 64, Hkv 8, D 128, I 28672, V 128256.
 * Published: 70,553,706,496. */
static void test_counts_llama3_70b(void **state)
{
    (void)state;
    const double h = 8192, L = 80, V = 128256, I = 28672;
    const double layer = gqa(h, 64, 8, 128) + 3 * h * I + 2 * h;
    check("llama-3-70b", 2 * V * h + L * layer + h, h + V * h + L * layer + h,
          80.0 * 2 * 8 * 128 * 2, 70553706496.0);
}

/* Mixtral-8x7B: h 4096, 32 layers, GQA 32/8/128, 8 experts of I 14336, top-2,
 * router 4096 x 8, V 32000. Published: 46,702,792,704 (paper: "47B", 13B active). */
static void test_counts_mixtral(void **state)
{
    (void)state;
    const double h = 4096, L = 32, V = 32000, I = 14336;
    const double expert = 3 * h * I, router = h * 8;
    const double base = gqa(h, 32, 8, 128) + router + 2 * h;
    check("mixtral-8x7b", 2 * V * h + L * (base + 8 * expert) + h,
          h + V * h + L * (base + 2 * expert) + h, 32.0 * 2 * 8 * 128 * 2, 46702792704.0);
}

/* Qwen3-30B-A3B: h 2048, 48 layers, H 32, Hkv 4, D 128, q/k norm (2 x 128),
 * 128 experts of 768, top-8, V 151936. Published: 30,532,122,624 (3.3B active
 * counting the embedding matrix whole; ours counts one row: 3,041,869,824). */
static void test_counts_qwen3_30b(void **state)
{
    (void)state;
    const double h = 2048, L = 48, V = 151936, Ie = 768, E = 128;
    const double base = gqa(h, 32, 4, 128) + 2 * 128 + h * E + 2 * h;
    const double expert = 3 * h * Ie;
    const double active = h + V * h + L * (base + 8 * expert) + h;
    assert_exact(active, 3041869824.0);
    /* With the embedding matrix counted whole, as the publisher does, this is
     * 3,353,032,704: the published "3.3B" is it truncated to one decimal. */
    assert_exact(active - h + V * h, 3353032704.0);
    assert_exact(floor((active - h + V * h) / 1e8), 33.0);
    check("qwen3-30b-a3b", 2 * V * h + L * (base + E * expert) + h, active,
          48.0 * 2 * 4 * 128 * 2, 30532122624.0);
}

/* Qwen3-235B-A22B: h 4096, 94 layers, H 64, Hkv 4, D 128, q/k norm, 128
 * experts of 1536, top-8, V 151936. Published: 235,093,634,560 ("22B active"
 * with the embedding matrix counted whole). */
static void test_counts_qwen3_235b(void **state)
{
    (void)state;
    const double h = 4096, L = 94, V = 151936, Ie = 1536, E = 128;
    const double base = gqa(h, 64, 4, 128) + 2 * 128 + h * E + 2 * h;
    const double expert = 3 * h * Ie;
    const double active = h + V * h + L * (base + 8 * expert) + h;
    assert_exact(floor((active - h + V * h) / 1e9), 22.0); /* published "22B" */
    check("qwen3-235b-a22b", 2 * V * h + L * (base + E * expert) + h, active,
          94.0 * 2 * 4 * 128 * 2, 235093634560.0);
}

/* The annotated example: tied embeddings (counted once), layernorm-free
 * (rmsnorm), 2 dense + 6 MoE layers with 2 shared experts, fp8 KV cache. */
static void test_counts_annotated_example(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/annotated-model.yaml", OB_DATADIR);
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load(path, &m, &e), 0);
    const double h = 2048, V = 32000;
    const double attn = gqa(h, 16, 4, 128) + 2 * 128;
    const double dense = attn + 3 * h * 5632 + 2 * h;
    const double moe_base = attn + h * 64 + 3 * h * 2 * 1408 + 2 * h;
    const double expert = 3 * h * 1408;
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, V * h + 2 * dense + 6 * (moe_base + 64 * expert) + h);
    assert_exact(c.active_params, h + V * h + 2 * dense + 6 * (moe_base + 6 * expert) + h);
    assert_exact(c.kv_elems_per_token * dtype_bytes(m->dt_kv), 8.0 * 2 * 4 * 128 * 1);
    model_free(m);
}

/* GLaM (64B/64E), models/glam-64b-64e.yaml: h 8192, 64 layers alternating dense
 * and MoE (32 each), MHA 128 heads of 128 (H*D = 16,384), V 256,000 tied,
 * LayerNorm (weight + bias: 2h per norm). GLaM paper (Du et al. 2022) §4: the
 * dense FFN is a GELU-gated GLU (3 matrices), the experts plain GELU FFNs (2).
 *   attention  8192 x 3 x 16,384 + 16,384 x 8192      =    536,870,912
 *   dense FFN  3 x 8192 x 32,768                       =    805,306,368
 *   expert     2 x 8192 x 32,768                       =    536,870,912
 *   router     8192 x 64                               =        524,288
 *   norms      2 x 2 x 8192                            =         32,768
 *   dense layer 536,870,912 + 805,306,368 + 32,768     =  1,342,210,048
 *   MoE layer   536,870,912 + 524,288 + 64 x 536,870,912 + 32,768
 *                                                      = 34,897,166,336
 *   total = V h 2,097,152,000 + 32 x 1,342,210,048 + 32 x 34,897,166,336
 *           + final norm 16,384 = 1,161,757,212,672   (paper: "1.2T")
 *   active = h + V h + 32 x 1,342,210,048
 *            + 32 x (536,870,912 + 524,288 + 2 x 536,870,912 + 32,768)
 *            + 16,384 = 96,605,331,456                 (paper: "96.6B activated")
 * KV: 64 layers x 2 x 16,384 x 2 B = 4,194,304 B per token. */
static void test_counts_glam(void **state)
{
    (void)state;
    const double h = 8192, V = 256000, I = 32768, HD = 128 * 128;
    const double attn = h * 3 * HD + HD * h, dense_ffn = 3 * h * I, expert = 2 * h * I;
    const double router = h * 64, norms = 2 * 2 * h;
    assert_exact(attn, 536870912.0);
    const double dense = attn + dense_ffn + norms, moe = attn + router + 64 * expert + norms;
    assert_exact(dense, 1342210048.0);
    assert_exact(moe, 34897166336.0);
    const double params = V * h + 32 * dense + 32 * moe + 2 * h;
    const double active = h + V * h + 32 * dense + 32 * (attn + router + 2 * expert + norms) + 2 * h;
    assert_exact(params, 1161757212672.0);
    assert_exact(active, 96605331456.0);
    struct model *m = tu_model("glam-64b-64e");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, params);
    assert_exact(c.active_params, active);
    /* the paper's figures, to the digits it prints */
    assert_exact(round(c.params / 1e11) / 10, 1.2);
    assert_exact(round(c.active_params / 1e8) / 10, 96.6);
    assert_exact(m->published_params, 1.2e12);
    assert_exact(c.kv_elems_per_token * dtype_bytes(m->dt_kv), 64.0 * 2 * HD * 2);
    model_free(m);
}

/* Grok-1, models/grok-1.yaml: h 6144, 64 layers, GQA 48/8 heads of 128, 8
 * experts of 32,768 (three matrices), top-2, router 6144 x 8, RMSNorm (h per
 * norm), V 131,072 tied.
 *   attention  6144 x (48 + 16) x 128 + 48 x 128 x 6144 = 88,080,384
 *   expert     3 x 6144 x 32,768                        = 603,979,776
 *   layer      88,080,384 + 6144 x 8 + 8 x 603,979,776 + 2 x 6144
 *              = 4,919,980,032
 *   total = V h 805,306,368 + 64 x 4,919,980,032 + 6144 = 315,684,034,560,
 *           0.54 % above the announced "314B" (no breakdown published)
 *   active = h + V h + 64 x (88,080,384 + 49,152 + 2 x 603,979,776 + 12,288)
 *            + 6144 = 83,755,806,720
 * KV: 64 x 2 x 8 x 128 x 2 B = 262,144 B per token. */
static void test_counts_grok1(void **state)
{
    (void)state;
    const double h = 6144, V = 131072, I = 32768;
    const double attn = gqa(h, 48, 8, 128), expert = 3 * h * I, router = h * 8, norms = 2 * h;
    assert_exact(attn, 88080384.0);
    assert_exact(expert, 603979776.0);
    const double layer = attn + router + 8 * expert + norms;
    assert_exact(layer, 4919980032.0);
    const double params = V * h + 64 * layer + h;
    const double active = h + V * h + 64 * (attn + router + 2 * expert + norms) + h;
    assert_exact(params, 315684034560.0);
    assert_exact(active, 83755806720.0);
    struct model *m = tu_model("grok-1");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, params);
    assert_exact(c.active_params, active);
    assert_exact(m->published_params, 314e9);
    /* 315.68 / 314 = 1.0054: within 0.6 % of the announcement */
    assert_true(fabs(c.params / m->published_params - 1) < 0.006);
    assert_exact(c.kv_elems_per_token * dtype_bytes(m->dt_kv), 64.0 * 2 * 8 * 128 * 2);
    model_free(m);
}

/* Hunyuan-TurboS, models/hunyuan-turbos.yaml (arXiv:2505.15431 Sec. 2.2 and
 * Table 1; the fields the report does not state are assumed there): h 5120,
 * 7 GQA layers (64/8 heads of 128, QK norm) and 57 Mamba2 layers (64 heads of
 * 80, 16 groups, N 128, d_conv 4), each followed by a MoE of 32 + 1 shared
 * SwiGLU experts of 17,024, top-2; V 128,000 untied.
 *   attention  5120 x (64 + 16) x 128 + 64 x 128 x 5120 + 2 x 128  = 94,372,096
 *   Mamba2     in_proj 5120 x (2 x 5120 + 2 x 16 x 128 + 64)        = 73,728,000
 *              conv (5120 + 4096) x 4 + bias 9216                   =     46,080
 *              dt_bias, A_log, D 3 x 64; norm 5120; out 5120 x 5120 = 26,219,712
 *              together                                             = 99,993,792
 *   expert     3 x 5120 x 17,024                                    = 261,488,640
 *   MoE        router 5120 x 32 + 33 experts                        = 8,629,288,960
 *   total = 2 x V h 1,310,720,000 + 7 x (94,372,096 + MoE + 2h)
 *           + 57 x (99,993,792 + MoE + 2h) + h = 559,946,124,736
 *     (the report's "560B": 0.0096 % below)
 *   active = h + V h + 7 x (94,372,096 + 163,840 + 3 x expert + 2h)
 *            + 57 x (99,993,792 + 163,840 + 3 x expert + 2h) + h
 *          = 57,232,581,056; without the embedding row and the lm_head
 *            56,577,210,816 (the report's "56B activated")
 * KV: 7 x 2 x 8 x 128 x 2 B = 28,672 B per token. */
static void test_counts_hunyuan_turbos(void **state)
{
    (void)state;
    const double h = 5120, V = 128000, I = 17024;
    const double attn = gqa(h, 64, 8, 128) + 2 * 128;
    const double mamba = h * (2 * h + 2 * 16 * 128 + 64) + (h + 4096) * 4 + (h + 4096) + 3 * 64 +
                         h + h * h;
    const double expert = 3 * h * I, router = h * 32, norms = 2 * h;
    assert_exact(attn, 94372096.0);
    assert_exact(mamba, 99993792.0);
    assert_exact(expert, 261488640.0);
    const double moe = router + 33 * expert;
    assert_exact(moe, 8629288960.0);
    const double params = 2 * V * h + 7 * (attn + moe + norms) + 57 * (mamba + moe + norms) + h;
    const double moe_act = router + 3 * expert;
    const double active =
        h + V * h + 7 * (attn + moe_act + norms) + 57 * (mamba + moe_act + norms) + h;
    assert_exact(params, 559946124736.0);
    assert_exact(active, 57232581056.0);
    struct model *m = tu_model("hunyuan-turbos");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, params);
    assert_exact(c.active_params, active);
    assert_exact(m->published_params, 560e9);
    /* the report's figures, to the digits it prints: 560B total, 56B active
     * (the layers' weights, without the vocabulary tables) */
    assert_exact(round(c.params / 1e9), 560);
    assert_exact(floor((c.active_params - h - V * h) / 1e9), 56);
    assert_exact(c.kv_elems_per_token * dtype_bytes(m->dt_kv), 7.0 * 2 * 8 * 128 * 2);
    model_free(m);
}

/* GLaM (8B/64E), models/glam-8b-64e.yaml (Duplex's "GLaM 143B"): h 4096, 32
 * layers alternating dense and MoE, 32 heads of 128 (MHA), d_ff 16384, 64
 * experts top-2, LayerNorm (scale and bias: 2h per norm), V 256,000 tied.
 *   attention  4 x 4096 x 4096                          = 67,108,864
 *   dense FFN  GLU, three matrices 3 x 4096 x 16384     = 201,326,592
 *   expert     two-matrix GELU 2 x 4096 x 16384         = 134,217,728
 *   dense layer 67,108,864 + 201,326,592 + 16,384       = 268,451,840
 *   MoE layer   67,108,864 + 4096 x 64 + 64 x 134,217,728 + 16,384
 *                                                       = 8,657,321,984
 *   total = V h 1,048,576,000 + 16 x 268,451,840 + 16 x 8,657,321,984
 *           + final norm 8,192 = 143,860,965,376 (GLaM Table 4: "143B")
 *   active = h + V h + 16 x 268,451,840
 *            + 16 x (67,108,864 + 262,144 + 2 x 134,217,728 + 16,384) + 8,192
 *          = 10,716,983,296
 * KV: 32 layers x 2 x 4096 x 2 B = 524,288 B per token. */
static void test_counts_glam_8b(void **state)
{
    (void)state;
    const double h = 4096, V = 256000, I = 16384;
    const double attn = 4 * h * h, dense_ffn = 3 * h * I, expert = 2 * h * I, norms = 4 * h;
    assert_exact(attn, 67108864.0);
    const double dense = attn + dense_ffn + norms, moe = attn + h * 64 + 64 * expert + norms;
    assert_exact(dense, 268451840.0);
    assert_exact(moe, 8657321984.0);
    const double params = V * h + 16 * dense + 16 * moe + 2 * h;
    const double active = h + V * h + 16 * dense + 16 * (attn + h * 64 + 2 * expert + norms) + 2 * h;
    assert_exact(params, 143860965376.0);
    assert_exact(active, 10716983296.0);
    struct model *m = tu_model("glam-8b-64e");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, params);
    assert_exact(c.active_params, active);
    assert_exact(m->published_params, 143e9);
    assert_exact(c.kv_elems_per_token * dtype_bytes(m->dt_kv), 32.0 * 2 * 4096 * 2);
    model_free(m);
}

/* Every bundled model names its source. */
static void test_counts_bundled_models_cite_source(void **state)
{
    (void)state;
    const char *names[] = {"llama-3-8b", "llama-3-70b", "mixtral-8x7b", "qwen3-30b-a3b",
                           "qwen3-235b-a22b", "glam-64b-64e", "glam-8b-64e", "grok-1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct model *m = tu_model(names[i]);
        assert_non_null(m);
        assert_true(strlen(m->source) > 10);
        model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_llama3_8b),
        cmocka_unit_test(test_counts_llama3_70b),
        cmocka_unit_test(test_counts_mixtral),
        cmocka_unit_test(test_counts_qwen3_30b),
        cmocka_unit_test(test_counts_qwen3_235b),
        cmocka_unit_test(test_counts_annotated_example),
        cmocka_unit_test(test_counts_glam),
        cmocka_unit_test(test_counts_glam_8b),
        cmocka_unit_test(test_counts_grok1),
        cmocka_unit_test(test_counts_hunyuan_turbos),
        cmocka_unit_test(test_counts_bundled_models_cite_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
