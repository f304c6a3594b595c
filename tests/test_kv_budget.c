/* test_kv_budget.c - KV-cache budgets (SnapKV, H2O, StreamingLLM) and
 * cross-layer KV sharing (CLA, YOCO) on a small GQA model; every figure
 * derived by hand in the comments (docs/kv-budgets.md); bad descriptions fail
 * at FILE:LINE:COL. */
#include "attn_util.h"

/* h = 4096 (au_base), GQA 4 heads / 2 KV heads of 16: K and V of one token
 * in one layer = 2 x 2 x 16 = 64 elements (128 B in bf16). */
static char *with_budget(char *buf, size_t n, const char *budget)
{
    snprintf(buf, n,
             "name: t\nhidden: 4096\nlayers: 2\nvocab: 1000\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n"
             "  - repeat: 2\n"                                                     /* 9 */
             "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 16}\n"    /* 10 */
             "    ffn: {kind: swiglu, intermediate: 14336}\n"                       /* 11 */
             "    kv_budget: %s\n",                                                 /* 12 */
             budget);
    return buf;
}

static void test_budget_decode(void **state)
{
    (void)state;
    char buf[2048];
    struct graph g;
    /* tokens 2048, decode B = 3 at L = 8192: the attention sees the 2048
     * kept keys plus the new one: 3 x 2049 x 128 B of KV read */
    struct model *m = au_text(with_budget(buf, sizeof buf, "{method: h2o, tokens: 2048}"));
    au_lower(m, &g, PHASE_DECODE, 3, 8192, DT_BF16, 1);
    assert_exact(au_op(&g, 0, "attention")->cost.bytes_kv, 3.0 * 2049 * 128);
    /* H2O adds each step's probabilities to the 2049 scores of every head:
     * rows 3 x 4 heads, 2049 columns, two inputs read (scores, probabilities),
     * 1 FLOP each; then evicts one: a top-1 over 2049 */
    const struct op *acc = au_op(&g, 0, "h2o_accumulate");
    assert_exact(acc->cost.flops_vec, 12.0 * 2049);
    assert_exact(acc->cost.bytes_act, 12.0 * 2049 * 2 * 2);
    assert_exact(au_op(&g, 0, "h2o_evict")->shape.router.experts, 2049);
    /* memory: a sequence at 8193 tokens holds 2048 per layer: 2 layers x 2048
     * x 64 elements */
    assert_exact(model_kv_elems_per_seq(m, 1, 8193), 2.0 * 2048 * 64);
    /* below the budget nothing changes: 1000 tokens held */
    assert_exact(model_kv_elems_per_seq(m, 1, 1000), 2.0 * 1000 * 64);
    graph_free(&g);
    model_free(m);

    /* ratio 0.25 at L = 1001: ceil(250.25) = 251 kept keys + 1 */
    m = au_text(with_budget(buf, sizeof buf, "{method: snapkv, ratio: 0.25}"));
    au_lower(m, &g, PHASE_DECODE, 1, 1001, DT_BF16, 1);
    assert_exact(au_op(&g, 0, "attention")->shape.attn.skv, 252);
    graph_free(&g);
    model_free(m);

    /* streaming: 4 sinks + 100 recent = 104 kept at L = 5000; no selection ops */
    m = au_text(with_budget(buf, sizeof buf, "{method: streaming, sinks: 4, recent: 100}"));
    au_lower(m, &g, PHASE_DECODE, 1, 5000, DT_BF16, 1);
    assert_exact(au_op(&g, 0, "attention")->shape.attn.skv, 105);
    for (int i = 0; i < g.n; i++) assert_true(g.ops[i].kind != OP_ROUTER);
    graph_free(&g);
    model_free(m);
}

/* SnapKV after a prompt of S = 4096 with a budget of 1024 and the default
 * window of 32 queries: scores 4 heads x (32 x 4096 x 16): 2*4*32*4096*16 =
 * 16,777,216 FLOPs; then each head keeps 1024 of 4096. The prefill attention
 * itself is full: 4096*4097/2 pairs. */
static void test_snapkv_prefill(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(with_budget(buf, sizeof buf, "{method: snapkv, tokens: 1024}"));
    struct graph g;
    au_lower(m, &g, PHASE_PREFILL, 1, 4096, DT_BF16, 1);
    assert_exact(au_op(&g, 0, "snapkv_score")->cost.flops_mm, 16777216);
    const struct op *sel = au_op(&g, 0, "snapkv_select");
    assert_exact(sel->shape.router.rows, 4);
    assert_exact(sel->shape.router.experts, 4096);
    assert_exact(sel->shape.router.k, 1024);
    assert_exact(au_op(&g, 0, "attention")->shape.attn.pairs, 4096.0 * 4097 / 2);
    graph_free(&g);
    /* a prompt within the budget selects nothing */
    au_lower(m, &g, PHASE_PREFILL, 1, 512, DT_BF16, 1);
    for (int i = 0; i < g.n; i++) assert_true(strcmp(g.ops[i].name, "snapkv_score") != 0);
    graph_free(&g);
    model_free(m);
}

/* CLA2 (Brandon et al. 2024): a pair of layers shares one K/V. Per layer on
 * average: qkv columns (4 + 2*2/2)*16 = 96 (against 128), so params
 * 4096*96 + 64*4096 = 655,360 (against 786,432); KV 2*2*16/2 = 32 elements
 * per token; kv_write 32 columns. */
static void test_cla(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(
        au_base(buf, sizeof buf, "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, kv_share: 2}"));
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 1, &bc);
    assert_exact(bc.params, 655360);
    assert_exact(bc.kv_elems, 32);
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 100, DT_BF16, 1);
    assert_exact(au_op(&g, 0, "qkv_proj")->shape.gemm.n, 96);
    assert_exact(au_op(&g, 0, "kv_write")->shape.ew.cols, 32);
    /* every layer still reads the shared K/V: 101 keys x 64 elements x 2 B */
    assert_exact(au_op(&g, 0, "attention")->cost.bytes_kv, 101.0 * 64 * 2);
    graph_free(&g);
    model_free(m);
}

static void test_budget_errors(void **state)
{
    (void)state;
    char buf[2048];
    au_expect_error(with_budget(buf, sizeof buf, "{method: snapkv, tokens: 10, ratio: 0.5}"), 12,
                    "{method", "needs exactly one of tokens and ratio");
    au_expect_error(with_budget(buf, sizeof buf, "{method: streaming, tokens: 10}"), 12,
                    "{method", "give recent");
    au_expect_error(with_budget(buf, sizeof buf, "{method: h2o, tokens: 10, sinks: 4}"), 12,
                    "4}", "sinks and recent belong to method streaming");
    au_expect_error(with_budget(buf, sizeof buf, "{method: h2o, tokens: 10, window: 8}"), 12,
                    "8}", "window is SnapKV's");
    au_expect_error(with_budget(buf, sizeof buf, "{method: none, tokens: 10}"), 12, "none",
                    "leave kv_budget out");
    au_expect_error(with_budget(buf, sizeof buf, "{method: snap, tokens: 10}"), 12, "snap",
                    "snap");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, kv_share: 3}"),
                    10, "3}", "kv_share 3 does not divide the group's 2 layers");
    /* a budget on a mixer without a KV cache */
    snprintf(buf, sizeof buf,
             "name: t\nhidden: 256\nlayers: 1\nvocab: 10\ntied_embeddings: true\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n  - repeat: 1\n"
             "    attention: {kind: mamba2, d_state: 16, expand: 2, head_dim: 64, heads: 8, "
             "n_groups: 1, d_conv: 4, chunk_size: 64}\n"
             "    ffn: {kind: swiglu, intermediate: 512}\n"
             "    kv_budget: {method: h2o, tokens: 8}\n");
    au_expect_error(buf, 12, "{method", "keeps none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_decode),
        cmocka_unit_test(test_snapkv_prefill),
        cmocka_unit_test(test_cla),
        cmocka_unit_test(test_budget_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
