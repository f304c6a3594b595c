/* test_layer_routing.c - layer routing as expectations (docs/layer-routing.md):
 * mixture-of-depths capacity and routing between two attention blocks, on a
 * small GQA model; figures derived by hand in the comments; bad descriptions
 * fail at FILE:LINE:COL. */
#include "attn_util.h"

/* h = 4096, 2 layers, GQA 4 heads / 2 KV heads of 16 (K and V: 64 elements
 * per token and layer); group keys from `extra` (line 12 on). */
static char *model_text(char *buf, size_t n, const char *extra)
{
    snprintf(buf, n,
             "name: t\nhidden: 4096\nlayers: 2\nvocab: 1000\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n"
             "  - repeat: 2\n"                                                     /* 9 */
             "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 16}\n"    /* 10 */
             "    ffn: {kind: swiglu, intermediate: 14336}\n"                       /* 11 */
             "%s",
             extra);
    return buf;
}

static void test_mod(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(model_text(buf, sizeof buf, "    mod_capacity: 0.5\n"));
    struct graph g;
    /* prefill of 64: the router scores all 64 tokens (2 x 64 x 4096 FLOPs),
     * each sequence keeps 32; the layer runs on 32 tokens: qkv_proj rows 32,
     * causal pairs 32*33/2 = 528 */
    au_lower(m, &g, PHASE_PREFILL, 1, 64, DT_BF16, 1);
    assert_exact(au_op(&g, 0, "mod_router")->cost.flops_mm, 2.0 * 64 * 4096);
    assert_exact(au_op(&g, 0, "mod_topk")->shape.router.k, 32);
    assert_exact(au_op(&g, 0, "qkv_proj")->shape.gemm.m, 32);
    assert_exact(au_op(&g, 0, "attention")->shape.attn.pairs, 528);
    assert_exact(au_op(&g, 0, "ffn_residual")->shape.ew.rows, 32);
    graph_free(&g);
    /* decode B = 4 at L = 100: half the new tokens (2) go through, over half
     * the context cached (50 keys + their own) */
    au_lower(m, &g, PHASE_DECODE, 4, 100, DT_BF16, 1);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->cost.bytes_kv, 2.0 * 51 * 64 * 2);
    graph_free(&g);
    /* memory at 101 tokens: half cached, 2 layers: 0.5 x 101 x 64 x 2 */
    assert_exact(model_kv_elems_per_seq(m, 1, 101), 0.5 * 101 * 64 * 2);
    /* params: + the router's h weights per layer; active: half the layer + router */
    struct model_counts mc, base;
    model_count(m, 1, &mc);
    struct model *plain = au_text(model_text(buf, sizeof buf, ""));
    model_count(plain, 1, &base);
    assert_exact(mc.params - base.params, 2.0 * 4096);
    /* per layer: 786,432 attention + 3 x 4096 x 14336 FFN + 2 x 4096 norms */
    const double layer = 786432.0 + 3.0 * 4096 * 14336 + 2.0 * 4096;
    assert_exact(base.active_params - mc.active_params, 2.0 * (layer - (0.5 * layer + 4096)));
    model_free(plain);
    model_free(m);
}

/* Main GQA (64 KV elements per token) with an MQA alternative (4 heads, one
 * KV head of 16: 32 elements) for a quarter of the sequences: decode B = 4
 * at L = 100: 3 sequences read 101 x 64 x 2 B each, 1 reads 101 x 32 x 2 B.
 * Params: both blocks, 786,432 + 4096*(4 + 2)*16 + 64*4096 = 655,360;
 * active: 786,432 + 0.25 x (655,360 - 786,432) = 753,664 for the attention.
 * Cache: the larger form, 64 per token. */
static void test_alt_attention(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(model_text(
        buf, sizeof buf,
        "    alt_attention: {kind: mqa, heads: 4, head_dim: 16}\n    alt_fraction: 0.25\n"));
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 4, 100, DT_BF16, 1);
    double kv[2] = {0}, n = 0;
    for (int i = 0; i < g.n; i++)
        if (g.ops[i].kind == OP_ATTENTION && n < 2) kv[(int)n++] = g.ops[i].cost.bytes_kv;
    assert_exact(n, 2);
    assert_exact(kv[0], 3.0 * 101 * 64 * 2);
    assert_exact(kv[1], 1.0 * 101 * 32 * 2);
    graph_free(&g);
    struct model_counts mc;
    model_count(m, 1, &mc);
    struct model *plain = au_text(model_text(buf, sizeof buf, ""));
    struct model_counts base;
    model_count(plain, 1, &base);
    assert_exact(mc.params - base.params, 2.0 * 655360);
    assert_exact(base.active_params - mc.active_params, 2.0 * (786432 - 753664));
    assert_exact(mc.kv_elems_per_token, base.kv_elems_per_token);
    model_free(plain);
    model_free(m);
}

static void test_routing_errors(void **state)
{
    (void)state;
    char buf[2048];
    au_expect_error(model_text(buf, sizeof buf, "    mod_capacity: 1.5\n"), 12, "1.5",
                    "mod_capacity");
    au_expect_error(model_text(buf, sizeof buf, "    alt_fraction: 0.5\n"), 12, "0.5",
                    "alt_attention and alt_fraction go together");
    au_expect_error(model_text(buf, sizeof buf,
                               "    alt_attention: {kind: gqq, heads: 4}\n"
                               "    alt_fraction: 0.5\n"),
                    12, "gqq", "unknown attention kind 'gqq'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mod),
        cmocka_unit_test(test_alt_attention),
        cmocka_unit_test(test_routing_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
