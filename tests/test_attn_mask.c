/* test_attn_mask.c - a `mask:` program on any softmax attention kind (read
 * once by the loader, applied once by the lowering to the block's attention
 * ops: models/model.c, models/lower.c). Counts derived by hand in the
 * comments or compared with the kind that has the pattern built in (swa);
 * kinds where a mask makes no sense refuse it at FILE:LINE:COL. */
#include "attn_util.h"

static const struct op *attn_of(struct model *m, struct graph *g, enum phase ph, double b,
                                double len)
{
    au_lower(m, g, ph, b, len, DT_BF16, 1);
    return au_op(g, 0, "attention");
}

/* gqa with [causal, {window: W}] and swa with window W count the same pairs,
 * useful pairs, keys and FLOPs at the same tiles (128 x 128), in a prefill and
 * a decode step. Prefill of 1000 with W = 64: sum over i = 1..1000 of
 * min(i, 64) = 64 x 65 / 2 + 936 x 64 = 2080 + 59904 = 61984 useful pairs. */
static void test_window_equals_swa(void **state)
{
    (void)state;
    char a[2048], b[2048];
    struct model *mg = au_text(au_base(a, sizeof a,
                                       "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, "
                                       "mask: [causal, {window: 64}]}"));
    struct model *ms = au_text(au_base(b, sizeof b,
                                       "{kind: swa, heads: 4, kv_heads: 2, head_dim: 16, "
                                       "window: 64, tile_q: 128, tile_k: 128}"));
    struct graph gg, gs;
    const double lens[2] = {1000, 5000};
    const enum phase phs[2] = {PHASE_PREFILL, PHASE_DECODE};
    for (int i = 0; i < 2; i++) {
        const struct op *x = attn_of(mg, &gg, phs[i], 2, lens[i]);
        const struct op *y = attn_of(ms, &gs, phs[i], 2, lens[i]);
        assert_exact(x->shape.attn.pairs, y->shape.attn.pairs);
        assert_exact(x->shape.attn.pairs_useful, y->shape.attn.pairs_useful);
        assert_exact(x->shape.attn.skv, y->shape.attn.skv);
        assert_exact(x->cost.flops_mm, y->cost.flops_mm);
        assert_exact(x->cost.flops_wasted, y->cost.flops_wasted);
        assert_exact(x->cost.bytes_kv, y->cost.bytes_kv);
        if (i == 0) assert_exact(x->shape.attn.pairs_useful, 61984);
        graph_free(&gg);
        graph_free(&gs);
    }
    model_free(mg);
    model_free(ms);
}

/* Document masking, S = 300 of documents [100, 50] repeated (100, 50, 100,
 * 50), causal inside each, at 1 x 1 tiles (no tile waste): 2 x 100 x 101 / 2
 * + 2 x 50 x 51 / 2 = 10100 + 2550 = 12650 pairs; FLOPs 4 heads x 12650 x
 * 2 x (16 + 16) = 3238400. */
static void test_documents_by_hand(void **state)
{
    (void)state;
    char a[2048];
    struct model *m = au_text(au_base(a, sizeof a,
                                      "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, "
                                      "mask: [causal, {documents: [100, 50]}], mask_tile_q: 1, "
                                      "mask_tile_k: 1}"));
    struct graph g;
    const struct op *x = attn_of(m, &g, PHASE_PREFILL, 1, 300);
    assert_exact(x->shape.attn.pairs, 12650);
    assert_int_equal(x->impl, IMPL_FLEX_TRITON); /* a custom mask runs as FlexAttention */
    assert_exact(x->cost.flops_mm, 3238400);
    assert_exact(x->cost.flops_wasted, 0);
    graph_free(&g);
    model_free(m);

    /* 128 x 128 tiles, S = 256 of documents of 128: the two diagonal tiles
     * are computed (2 x 16384 = 32768 pairs); dense causal computes three
     * (49152) for 256 x 257 / 2 = 32896 useful, so it leaves 16256 of tile
     * waste uncharged; the mask keeps 2 x 128 x 129 / 2 = 16512 and its
     * charged pairs are 32768 - 16256 = 16512: no waste beyond dense's. */
    m = au_text(au_base(a, sizeof a,
                        "{kind: mha, heads: 4, head_dim: 16, mask: [causal, {documents: [128]}]}"));
    x = attn_of(m, &g, PHASE_PREFILL, 1, 256);
    assert_exact(x->shape.attn.pairs, 16512);
    assert_exact(x->shape.attn.pairs_useful, 16512);
    graph_free(&g);
    model_free(m);
}

/* [causal] on a kind costs exactly what the kind costs without a mask. */
static void test_causal_is_identity(void **state)
{
    (void)state;
    char a[2048], b[2048];
    struct model *m1 = au_text(au_base(a, sizeof a, "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16}"));
    struct model *m2 = au_text(au_base(b, sizeof b,
                                       "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, "
                                       "mask: [causal]}"));
    struct graph g1, g2;
    const struct op *x = attn_of(m1, &g1, PHASE_PREFILL, 3, 1000);
    const struct op *y = attn_of(m2, &g2, PHASE_PREFILL, 3, 1000);
    assert_exact(x->cost.flops_mm, y->cost.flops_mm); /* 3 x 4 x 500500 x 64 */
    assert_exact(y->cost.flops_mm, 3.0 * 4 * 500500 * 64);
    assert_exact(x->cost.bytes_kv + x->cost.bytes_act, y->cost.bytes_kv + y->cost.bytes_act);
    assert_int_equal(x->impl, y->impl); /* [causal] keeps the kind's kernel */
    graph_free(&g1);
    graph_free(&g2);
    model_free(m1);
    model_free(m2);
}

/* MLA (absorbed in decode) under a window of 64 at 1 x 1 tiles, decode at
 * L = 5000: the query sees keys 4937..5000: 64 pairs and 64 latents read. */
static void test_mla_window(void **state)
{
    (void)state;
    char a[2048];
    struct model *m = au_text(au_base(a, sizeof a,
                                      "{kind: mla, heads: 4, kv_lora_rank: 64, "
                                      "qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 16, "
                                      "mask: [causal, {window: 64}], mask_tile_q: 1, "
                                      "mask_tile_k: 1}"));
    struct graph g;
    const struct op *x = attn_of(m, &g, PHASE_DECODE, 1, 5000);
    assert_exact(x->shape.attn.pairs, 64);
    assert_exact(x->shape.attn.skv, 64);
    graph_free(&g);
    model_free(m);
}

static void test_mask_errors(void **state)
{
    (void)state;
    char a[2048];
    au_expect_error(au_base(a, sizeof a,
                            "{kind: swa, heads: 4, kv_heads: 2, head_dim: 16, window: 8, "
                            "mask: [causal]}"),
                    10, "[causal]", "kind 'swa' does not take a mask");
    au_expect_error(au_base(a, sizeof a,
                            "{kind: linattn, heads: 4, head_dim: 16, mask: [causal]}"),
                    10, "[causal]", "kind 'linattn' does not take a mask");
    au_expect_error(au_base(a, sizeof a,
                            "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, "
                            "mask: [causal, {windw: 8}]}"),
                    10, "windw", "windw");
    au_expect_error(au_base(a, sizeof a,
                            "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, mask: [causal], "
                            "mask_tile_q: 0}"),
                    10, "0}", "'mask_tile_q' must be at least 1");
    au_expect_error(au_base(a, sizeof a,
                            "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, mask_tile_k: 64}"),
                    10, "64}", "mask_tile_k without a mask");
    au_expect_error(au_base(a, sizeof a, "{kind: gqa, heads: 4, kv_heads: 2, head_dim: 16, mask: []}"),
                    10, "[]", "non-empty list");
}

/* The schema's title for the mask keys names exactly the kinds that take one
 * (a kind given takes_mask later must be added there). */
static void test_schema_lists_takers(void **state)
{
    (void)state;
    const char *title = NULL;
    const struct key_spec *keys;
    size_t n;
    int found = 0;
    for (int i = 0; model_schema_section(i, &title, &keys, &n) == 0; i++)
        if (strstr(title, "mask keys")) break;
    assert_non_null(strstr(title, "mask keys"));
    char list[512];
    snprintf(list, sizeof list, "%s", strchr(title, '('));
    list[0] = ' '; /* " mha, mqa, ..., diffqkv)" */
    title = list;
    for (int i = 0; block_kind_at(i); i++) {
        const struct block_kind *k = block_kind_at(i);
        char word[80];
        snprintf(word, sizeof word, " %s%s", k->name, strcmp(k->name, "diffqkv") ? "," : ")");
        if (k->takes_mask) {
            found++;
            if (!strstr(title, word)) fail_msg("%s takes a mask but the schema omits it", k->name);
        } else if (strstr(title, word)) {
            fail_msg("%s is in the schema's list but takes no mask", k->name);
        }
    }
    assert_int_equal(found, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_equals_swa),
        cmocka_unit_test(test_documents_by_hand),
        cmocka_unit_test(test_causal_is_identity),
        cmocka_unit_test(test_mla_window),
        cmocka_unit_test(test_mask_errors),
        cmocka_unit_test(test_schema_lists_takers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
