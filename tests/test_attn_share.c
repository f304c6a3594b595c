/* test_attn_share.c - attention-pattern sharing (EchoAtt, `attn_share` on
 * gqa/mha/mqa): one layer in a computes Q, K, the scores and the softmax and
 * stores the probabilities P; the other a - 1 reuse P with their own V and
 * output projection and cache no K. Every figure derived by hand in the
 * comments (docs/kv-budgets.md, "Attention-pattern sharing"). */
#include "attn_util.h"

/* h = 4096, 4 layers, GQA 4 heads / 2 KV heads of 16 (line 10). */
static char *model_text(char *buf, size_t n, const char *extra)
{
    snprintf(buf, n,
             "name: t\nhidden: 4096\nlayers: 4\nvocab: 1000\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n"
             "  - repeat: 4\n"                                                          /* 9 */
             "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 16%s}\n"        /* 10 */
             "    ffn: {kind: swiglu, intermediate: 14336}\n",
             extra);
    return buf;
}

/* Parameters per layer: full GQA h(H + 2Hkv)D + HDh = 4096 x 128 + 64 x 4096 =
 * 786432. attn_share 2: the computing layer has all of them (786432), the
 * reusing one V and O only: 4096 x 32 + 64 x 4096 = 393216; average 589824.
 * KV per token: computing layer K + V = 64 elements, reusing layer V = 32;
 * average 48. */
static void test_counts(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(model_text(buf, sizeof buf, ", attn_share: 2"));
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 1, &bc);
    assert_exact(bc.params, (786432.0 + 393216.0) / 2);
    assert_exact(bc.kv_elems, 48);
    /* tp 2: one KV head and 2 query heads a device: computing layer
     * 4096 x (2 + 1 + 1) x 16 + 32 x 4096 = 393216, reusing 4096 x 16 + 32 x
     * 4096 = 196608; KV 32 and 16 elements */
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 2, &bc);
    assert_exact(bc.params_dev, (393216.0 + 196608.0) / 2);
    assert_exact(bc.kv_elems_dev, 24);
    /* whole model: 4 layers x 48 elements x 2 B per token */
    double whole, dev;
    model_kv_bytes_per_token(m, 1, DT_BF16, &whole, &dev);
    assert_exact(whole, 4.0 * 48 * 2);
    model_free(m);
}

/* Decode B = 1 at L = 99: 100 pairs per head.
 * computing layer: QK^T and PV 4 heads x 100 x 2 x (16 + 16) = 25600 FLOPs,
 *   softmax 4 x 100 x FLOPS_SOFTMAX, writes O (4 x 16 x 2 B = 128) and P
 *   (4 x 100 x 2 B = 800), reads K and V 100 x 64 x 2 B = 12800;
 * reusing layer: PV only 4 x 100 x 2 x 16 = 12800 FLOPs, no softmax, reads P
 *   (800 B) and V 100 x 32 x 2 B = 6400, writes O 128.
 * The group node holds the per-layer average (B/2 on each op). */
static void test_decode(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(model_text(buf, sizeof buf, ", attn_share: 2"));
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 99, DT_BF16, 1);
    const struct op *a = au_op(&g, 0, "attention"), *r = au_op(&g, 0, "attention_reuse");
    assert_exact(a->cost.flops_mm, 25600.0 / 2);
    assert_exact(a->cost.flops_vec, 400.0 * FLOPS_SOFTMAX / 2);
    assert_exact(a->cost.bytes_out, (128.0 + 800) / 2);
    assert_exact(a->cost.bytes_kv, 12800.0 / 2);
    assert_exact(r->cost.flops_mm, 12800.0 / 2);
    assert_exact(r->cost.flops_vec, 0);
    assert_exact(r->cost.bytes_act, 800.0 / 2);
    assert_exact(r->cost.bytes_kv, 6400.0 / 2);
    assert_exact(r->cost.bytes_out, 128.0 / 2);
    /* projections: Q 64 and K 32 columns in one layer of two, V 32 in each:
     * 64/2 + 32/2 + 32 = 80 columns x 4096, 2 FLOPs each */
    assert_exact(au_op(&g, 0, "qkv_proj")->cost.flops_mm, 2.0 * 80 * 4096);
    /* rope on Q and K in one layer of two: (64 + 32)/2 = 48 elements */
    assert_exact(au_op(&g, 0, "rope")->shape.ew.cols, 48);
    /* cached per token: K in one layer of two (32/2) + V 32 = 48 */
    assert_exact(au_op(&g, 0, "kv_write")->shape.ew.cols, 48);
    graph_free(&g);
    model_free(m);
}

/* Prefill B = 2 of S = 8 with attn_share 4: 36 causal pairs per head;
 * computing layer 2 x 4 x 36 x 2 x 32 = 18432 FLOPs, reusing 2 x 4 x 36 x 2 x
 * 16 = 9216; per-layer average (18432 + 3 x 9216) / 4 = 11520. */
static void test_prefill(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(model_text(buf, sizeof buf, ", attn_share: 4"));
    struct graph g;
    au_lower(m, &g, PHASE_PREFILL, 2, 8, DT_BF16, 1);
    const double mm = au_op(&g, 0, "attention")->cost.flops_mm +
                      au_op(&g, 0, "attention_reuse")->cost.flops_mm;
    assert_exact(mm, 11520);
    graph_free(&g);
    model_free(m);
}

static void test_errors(void **state)
{
    (void)state;
    char buf[2048];
    au_expect_error(model_text(buf, sizeof buf, ", attn_share: 3"), 10, "3}",
                    "attn_share 3 does not divide the group's 4 layers");
    au_expect_error(model_text(buf, sizeof buf, ", attn_share: 2, kv_share: 2"), 10,
                    "2, kv_share", "attn_share and kv_share together");
    au_expect_error(model_text(buf, sizeof buf, ", attn_share: 0"), 10, "0}",
                    "'attn_share' must be at least 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_prefill),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
