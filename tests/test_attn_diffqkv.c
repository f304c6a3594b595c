/* test_attn_diffqkv.c - the `diffqkv` attention kind (Sigma's DiffQKV: key
 * and value heads of different count and width, augmented query heads):
 * parameters, KV bytes, one layer's FLOPs and bytes in prefill and decode,
 * the no-augmentation default, tensor parallelism and bad input. Expected
 * values are worked out by hand here from docs/variants/diffqkv.md. The Sigma
 * paper prints no per-layer counts we could check against (see the doc). */
#include "attn_util.h"

/* examples/attn-diffqkv.yaml: Llama-3-8B skeleton (h 4096, 32 layers, SwiGLU
 * 14336, V 128256, untied) with H = 32, Hk = 4 of Dk = 64, Hv = 8 of
 * Dv = 128, query heads augmented to Dq = 128.
 * Attention per layer: q       h*H*Dq   = 4096*32*128 = 16,777,216
 *                      q_aug   H*Dq*Dk  = 32*128*64   =    262,144
 *                      k       h*Hk*Dk  = 4096*4*64   =  1,048,576
 *                      v       h*Hv*Dv  = 4096*8*128  =  4,194,304
 *                      o_proj  H*Dv*h   = 32*128*4096 = 16,777,216
 *                                                       39,059,456
 * Layer = 39,059,456 + 176,160,768 + 8,192 = 215,228,416.
 * Model = 1,050,673,152 + 32 layers + 4,096 = 7,937,986,560;
 * active = that - V*h + h = 7,412,654,080.
 * KV: 32 layers x (4*64 + 8*128 = 1,280) x 2 B = 81,920 B. */
static void test_attn_diffqkv_counts(void **state)
{
    (void)state;
    struct model *m = au_example("attn-diffqkv");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    const double h = 4096, V = 128256;
    const double attn = h * 32 * 128 + 32 * 128 * 64 + h * 4 * 64 + h * 8 * 128 + 32 * 128 * h;
    assert_exact(attn, 39059456.0);
    const double layer = attn + 3 * h * 14336 + 2 * h;
    assert_exact(layer, 215228416.0);
    assert_exact(c.params, 2 * V * h + 32 * layer + h);
    assert_exact(c.params, 7937986560.0);
    assert_exact(c.active_params, 7412654080.0);
    assert_exact(c.kv_elems_per_token * 2, 81920.0);
    model_free(m);
}

/* Decode, B = 8 at context L = 4095. Matmul FLOPs per layer: 2*B*(39,059,456
 * + 176,160,768) (the per-head q_aug GEMMs count 2*T*H*Dq*Dk, i.e. their
 * parameters) plus attention B*H*(L+1)*2*(Dk + Dv) = 12,288*B*(L+1).
 * Vector: two RMSNorms 4*T*h, rope on q and k at Dk 3*T*(H + Hk)*64, softmax
 * 5*B*H*(L+1), two residual adds T*h, SiLU*up 5*T*I.
 * Weights (bf16): (215,220,224 + 2*4096) x 2. KV read: B*(L+1) x 1,280 x 2 B. */
static void test_attn_diffqkv_decode_layer(void **state)
{
    (void)state;
    struct model *m = au_example("attn-diffqkv");
    struct graph g;
    const double B = 8, L = 4095, T = B, h = 4096;
    au_lower(m, &g, PHASE_DECODE, B, L, DT_BF16, 1);
    struct au_sums s = au_layer(&g, 0);
    assert_exact(s.mm, 2 * B * 215220224.0 + 12288.0 * B * (L + 1));
    assert_exact(s.vec, 2 * 4 * T * h + 3 * T * 36 * 64 + 5 * B * 32 * (L + 1) + 2 * T * h +
                            5 * T * 14336);
    assert_exact(s.w, (215220224.0 + 2 * h) * 2);
    assert_exact(s.kv, B * (L + 1) * 1280 * 2);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->shape.attn.dqk, 64);
    assert_exact(at->shape.attn.dv, 128);
    assert_exact(at->shape.attn.kv_width, 1280);
    const struct op *qa = au_op(&g, 0, "q_aug_down");
    assert_exact(qa->shape.gemm.count, 32);
    assert_exact(qa->shape.gemm.k, 128);
    assert_exact(qa->shape.gemm.n, 64);
    assert_exact(au_op(&g, 0, "o_proj")->shape.gemm.k, 32 * 128); /* H*Dv -> h */
    graph_free(&g);
    model_free(m);
}

/* Prefill of S = 2048: 2*S*215,220,224 + 32 heads x S(S+1)/2 pairs x
 * 2*(64 + 128); K and V are fresh activations. */
static void test_attn_diffqkv_prefill_layer(void **state)
{
    (void)state;
    struct model *m = au_example("attn-diffqkv");
    struct graph g;
    const double S = 2048;
    au_lower(m, &g, PHASE_PREFILL, 1, S, DT_BF16, 1);
    struct au_sums s = au_layer(&g, 0);
    assert_exact(s.mm, 2 * S * 215220224.0 + 32 * S * (S + 1) / 2 * 384);
    assert_exact(s.kv, 0);
    graph_free(&g);
    model_free(m);
}

/* Without q_aug_dim (or with q_aug_dim = k_head_dim) the query is a plain
 * h -> H*Dk projection: attention = 4096*32*64 (8,388,608) + k 1,048,576 +
 * v 4,194,304 + o 16,777,216 = 30,408,704, and no q_aug_down op. */
static void test_attn_diffqkv_no_augmentation(void **state)
{
    (void)state;
    const char *blocks[] = {
        "{kind: diffqkv, heads: 32, k_heads: 4, v_heads: 8, k_head_dim: 64, v_head_dim: 128}",
        "{kind: diffqkv, heads: 32, k_heads: 4, v_heads: 8, k_head_dim: 64, v_head_dim: 128, "
        "q_aug_dim: 64}"};
    for (int i = 0; i < 2; i++) {
        char buf[1024];
        struct model *m = au_text(au_base(buf, sizeof buf, blocks[i]));
        struct model_counts c;
        model_count(m, 1, &c);
        /* 2 layers of (attention + SwiGLU + norms), embedding and lm_head of
         * V = 1000, final norm */
        assert_exact(c.params, 2 * (30408704.0 + 3 * 4096 * 14336 + 2 * 4096) +
                                   2 * 1000 * 4096 + 4096);
        struct graph g;
        au_lower(m, &g, PHASE_DECODE, 1, 10, DT_BF16, 1);
        for (int k = 0; k < g.n; k++) assert_string_not_equal(g.ops[k].name, "q_aug_down");
        graph_free(&g);
        model_free(m);
    }
}

/* Tensor parallelism over 8 devices: 4 query heads each; the 4 key heads are
 * replicated one per device, the 8 value heads split one per device.
 * Attention per device: q 4096*4*128 (2,097,152) + q_aug 4*128*64 (32,768) +
 * k 4096*1*64 (262,144) + v 4096*1*128 (524,288) + o 4*128*4096 (2,097,152)
 * = 5,013,504; SwiGLU 3*4096*1792 = 22,020,096; norms 8,192 -> 27,041,792
 * per layer; embedding + lm_head 1,050,673,152/8 = 131,334,144; final norm
 * 4,096. KV per device: 32 x (64 + 128) = 6,144 elements. */
static void test_attn_diffqkv_tp(void **state)
{
    (void)state;
    struct model *m = au_example("attn-diffqkv");
    struct model_counts c;
    model_count(m, 8, &c);
    assert_exact(c.params_dev, 32 * 27041792.0 + 131334144.0 + 4096);
    assert_exact(c.kv_elems_per_token_dev, 6144.0);
    struct err e;
    assert_int_equal(model_tp_check(m, 8, &e), 0);
    assert_int_equal(model_tp_check(m, 3, &e), -1);
    assert_non_null(strstr(e.msg, "heads (32) not divisible by 3"));
    model_free(m);
    /* 48 heads, 3 key heads over 16 devices: neither divides the other */
    char buf[1024];
    m = au_text(au_base(buf, sizeof buf,
                        "{kind: diffqkv, heads: 48, k_heads: 3, v_heads: 16, k_head_dim: 64, "
                        "v_head_dim: 128}"));
    assert_int_equal(model_tp_check(m, 16, &e), -1);
    assert_non_null(strstr(e.msg, "k_heads (3) and 16 devices: neither divides the other"));
    model_free(m);
}

static void test_attn_diffqkv_errors(void **state)
{
    (void)state;
    char buf[1024];
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: diffqkv, heads: 32, k_heads: 5, v_heads: 8, k_head_dim: 64, "
                            "v_head_dim: 128}"),
                    10, "5,", "heads (32) must be divisible by k_heads (5)");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: diffqkv, heads: 32, k_heads: 4, v_heads: 64, k_head_dim: 64, "
                            "v_head_dim: 128}"),
                    10, "64, k_", "v_heads (64) must not exceed heads (32)");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: diffqkv, heads: 32, k_heads: 4, v_heads: 8, k_head_dim: 64, "
                            "v_head_dim: 128, q_aug_dim: 32}"),
                    10, "32}", "q_aug_dim (32) must be at least k_head_dim (64)");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: diffqkv, heads: 32, k_heads: 4, v_heads: 8, k_head_dim: 64}"),
                    10, "{", "missing required key 'v_head_dim' in attention block 'diffqkv'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attn_diffqkv_counts),
        cmocka_unit_test(test_attn_diffqkv_decode_layer),
        cmocka_unit_test(test_attn_diffqkv_prefill_layer),
        cmocka_unit_test(test_attn_diffqkv_no_augmentation),
        cmocka_unit_test(test_attn_diffqkv_tp),
        cmocka_unit_test(test_attn_diffqkv_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
