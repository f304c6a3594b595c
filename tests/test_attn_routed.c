/* test_attn_routed.c - content-routed sparse attention kinds: routing
 * (Routing Transformer) and biformer (bi-level routing attention). Every
 * figure is derived by hand in the comments from the formulas of
 * docs/variants/routing.md and biformer.md; the expectations of unbalanced
 * clusters are checked against an enumeration of every assignment; the
 * papers' complexity claims (O(n^1.5 d) at c = sqrt(n); O(n^(4/3)) at
 * n^(2/3) regions) are reproduced; bad settings fail at FILE:LINE:COL. */
#include "attn_util.h"

static struct model *base(const char *attn)
{
    char buf[2048];
    return au_text(au_base(buf, sizeof buf, attn));
}

static const struct op *lowered(const struct model *m, struct graph *g, enum phase ph, double b,
                                double len, const char *name)
{
    au_lower(m, g, ph, b, len, DT_BF16, 1);
    return au_op(g, 0, name);
}

/* H = 4, Hkv = 2 (g = 2), D = 16, c = 4, h = 4096 (au_base). */
#define RT "{kind: routing, heads: 4, kv_heads: 2, head_dim: 16, clusters: 4"

static void test_routing_counts(void **state)
{
    (void)state;
    struct model *m = base(RT "}");
    struct model_counts mc;
    model_count(m, 1, &mc);
    /* per layer: h(H + 2Hkv)D + H D h + Hkv c D = 4096*8*16 + 64*4096 + 2*4*16
     * = 524288 + 262144 + 128 = 786560; KV: 2 Hkv D + Hkv ids = 64 + 2 = 66 */
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 1, &bc);
    assert_exact(bc.params, 786560);
    assert_exact(bc.kv_elems, 66);
    assert_exact(mc.kv_elems_per_token, 2 * 66);

    struct graph g;
    /* prefill of S = 64, B = 1, balanced: wq = wk = ceil(64/4) = 16 */
    const struct op *a = lowered(m, &g, PHASE_PREFILL, 1, 64, "route_assign");
    /* routed vectors per token and KV head: g + 1 = 3; one GEMM per KV head:
     * 2 x (64*3 x 4 x 16): 2*2*192*4*16 = 49152 FLOPs */
    assert_exact(a->cost.flops_mm, 49152);
    const struct op *sel = au_op(&g, 0, "route_select");
    /* each of the 2*3*4 = 24 (KV head, stream, centroid) rows ranks 64
     * candidates and keeps 16: 24*64*(5 + 1 + log2 16) = 15360 */
    assert_exact(sel->cost.flops_vec, 15360);
    const struct op *at = au_op(&g, 0, "attention");
    /* computed: c tiles of 16 x 16 = 1024 pairs per head; x H = 4 heads x
     * 2(D + D) = 64 FLOPs: 262144. useful: causal 64*65/2 = 2080, / c = 520;
     * wasted 4*(1024 - 520)*64 = 129024 */
    assert_exact(at->cost.flops_mm, 262144);
    assert_exact(at->cost.flops_wasted, 129024);
    const struct op *ga = au_op(&g, 0, "route_gather");
    /* q, k, v rows into cluster order: 64 x (4 + 4)*16 elements, 2 bytes */
    assert_exact(ga->cost.bytes_act, 64.0 * 128 * 2);
    graph_free(&g);

    /* decode, B = 2 at L = 100: n = 101 keys, a cluster holds ceil(101/4) = 26;
     * the g = 2 heads of a group read at most 2*26 = 52 distinct keys */
    at = lowered(m, &g, PHASE_DECODE, 2, 100, "attention");
    assert_exact(at->cost.flops_mm, 2.0 * 4 * 26 * 64);
    assert_exact(at->cost.flops_wasted, 0);
    assert_exact(at->cost.bytes_kv, 2.0 * 52 * 64 * 2); /* B x keys x 2HkvD x 2 B */
    sel = au_op(&g, 0, "route_select");
    /* nearest centroid of each routed vector: 2 tokens x 2 KV heads x 3 = 12
     * rows over 4 centroids, top-1: 12*4*(5 + 1 + 0) */
    assert_exact(sel->cost.flops_vec, 12.0 * 4 * 6);
    graph_free(&g);
    model_free(m);
}

/* Unbalanced clusters: computed pairs are the expectation of sum over
 * clusters of (queries x keys) under a uniform assignment; enumerate every
 * assignment of S = 3 tokens to c = 2 clusters with shared q/k. */
static void test_routing_unbalanced_expectation(void **state)
{
    (void)state;
    double sum_sq = 0, sum_useful = 0;
    for (int a = 0; a < 8; a++) { /* bit i: cluster of token i */
        int n[2] = {0, 0};
        for (int i = 0; i < 3; i++) n[(a >> i) & 1]++;
        sum_sq += n[0] * n[0] + n[1] * n[1];
        for (int i = 0; i < 3; i++) /* causal pairs (i, j <= i) in one cluster */
            for (int j = 0; j <= i; j++) sum_useful += ((a >> i) & 1) == ((a >> j) & 1);
    }
    /* enumeration: E[sum n_i^2] = (2*9 + 6*5)/8 = 6; E[useful] = 3 + 3/2 = 4.5 */
    assert_exact(sum_sq / 8, 6);
    assert_exact(sum_useful / 8, 4.5);
    struct model *m = base("{kind: routing, heads: 2, kv_heads: 2, head_dim: 16, clusters: 2, "
                           "balanced: false, shared_qk: true}");
    struct graph g;
    const struct op *at = lowered(m, &g, PHASE_PREFILL, 1, 3, "attention");
    /* 2 heads x 2(D + D) = 128 FLOPs per pair */
    assert_exact(at->cost.flops_mm, 2.0 * 6 * 64);
    assert_exact(at->cost.flops_wasted, 2.0 * (6 - 4.5) * 64);
    graph_free(&g);
    model_free(m);

    /* independent q/k, S = 30, c = 4: S*S/c = 225 computed (balanced would be
     * 4 tiles of 8 x 8 = 256), useful 30*31/2/4 = 116.25 */
    m = base(RT ", balanced: false}");
    at = lowered(m, &g, PHASE_PREFILL, 1, 30, "attention");
    assert_exact(at->cost.flops_mm, 4.0 * 225 * 64);
    assert_exact(at->cost.flops_wasted, 4.0 * (225 - 116.25) * 64);
    graph_free(&g);
    model_free(m);
    m = base(RT "}");
    at = lowered(m, &g, PHASE_PREFILL, 1, 30, "attention");
    assert_exact(at->cost.flops_mm, 4.0 * 256 * 64);
    graph_free(&g);
    model_free(m);
}

/* Roy et al. (TACL 2021, sec. 4): with c = sqrt(n) both the assignment and the
 * attention are O(n^1.5 d). n = 4096, c = 64 -> n = 16384, c = 128: each
 * term grows 4 * 2 = 8 times, exactly (balanced, c divides n). */
static void test_routing_complexity(void **state)
{
    (void)state;
    double total[2];
    const double n[2] = {4096, 16384}, c[2] = {64, 128};
    for (int i = 0; i < 2; i++) {
        char attn[256];
        snprintf(attn, sizeof attn,
                 "{kind: routing, heads: 2, kv_heads: 2, head_dim: 64, clusters: %g}", c[i]);
        struct model *m = base(attn);
        struct graph g;
        total[i] = lowered(m, &g, PHASE_PREFILL, 1, n[i], "attention")->cost.flops_mm +
                   au_op(&g, 0, "route_assign")->cost.flops_mm;
        graph_free(&g);
        model_free(m);
    }
    assert_exact(total[1] / total[0], 8);
}

/* H = 4, Hkv = 2, D = 16, regions of r = 8, top_k = 3. */
#define BF "{kind: biformer, heads: 4, kv_heads: 2, head_dim: 16, region_size: 8, top_k: 3"

static void test_biformer_counts(void **state)
{
    (void)state;
    struct model *m = base(BF "}");
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 1, &bc);
    /* 4096*(4 + 4)*16 + 4*16*4096 = 786432; KV: 2*2*16 + 2*16/8 = 68 */
    assert_exact(bc.params, 786432);
    assert_exact(bc.kv_elems, 68);

    struct graph g;
    /* prefill S = 40: regions 0..4, each 8 queries. Region j attends
     * min(2, j) earlier regions whole (8 x 8 each) and its own causally:
     * earlier 0 + 64 + 3*128 = 448; own causal 5*36 = 180 (the own tiles'
     * masked halves, 5*(64 - 36), are not charged: docs/conventions.md) */
    const struct op *at = lowered(m, &g, PHASE_PREFILL, 1, 40, "attention");
    assert_exact(at->cost.flops_mm, 4.0 * (448 + 180) * 64);
    assert_exact(at->cost.flops_wasted, 0);
    /* gathered keys: (0 + 1 + 2 + 2 + 2)*8 earlier + 40 own = 96 keys of
     * 2*2*16 elements: 96*64*2 B = 12288 written by the gather, read by the
     * attention with its queries (40*4*16*2 = 5120) */
    const struct op *ga = au_op(&g, 0, "kv_gather");
    assert_exact(ga->cost.bytes_out, 12288);
    assert_exact(at->cost.bytes_act, 12288 + 5120);
    assert_exact(at->cost.bytes_kv, 0);
    /* affinity: 4 complete earlier regions x 5 query regions over Hkv*D = 32
     * channels: 2*4*5*32 = 1280 FLOPs; top-k over 2 candidates on average
     * ((0+1+2+3+4)/5), keep 2: 5*2*(5 + 1 + 1) vector FLOPs */
    assert_exact(au_op(&g, 0, "region_affinity")->cost.flops_mm, 1280);
    assert_exact(au_op(&g, 0, "region_topk")->cost.flops_vec, 5.0 * 2 * 7);
    /* region queries: every query element read once (40*4*16*2 B) */
    assert_exact(au_op(&g, 0, "region_pool_q")->cost.bytes_act, 5120);
    graph_free(&g);

    /* decode at L = 50: own region j = 6 holds keys 48..50 (3), plus
     * min(2, 6) = 2 regions of 8: 19 keys read from the cache, all useful */
    at = lowered(m, &g, PHASE_DECODE, 1, 50, "attention");
    assert_exact(at->cost.bytes_kv, 19.0 * 64 * 2);
    assert_exact(at->cost.flops_mm, 4.0 * 19 * 64);
    assert_exact(at->cost.flops_wasted, 0);
    const struct op *aff = au_op(&g, 0, "region_affinity");
    assert_exact(aff->cost.bytes_kv, 6.0 * 32 * 2); /* 6 cached region means */
    graph_free(&g);

    /* without the explicit gather every key is read once */
    model_free(m);
    m = base(BF ", explicit_gather: false}");
    at = lowered(m, &g, PHASE_PREFILL, 1, 40, "attention");
    assert_exact(at->cost.bytes_act, 5120 + 40.0 * 64 * 2);
    graph_free(&g);
    model_free(m);
}

/* Zhu et al. (CVPR 2023, sec. 3.3): with the region count growing as
 * n^(2/3), routing + attention is O(n^(4/3)). n = 2^15 with 2^10 regions of 32
 * -> n = 2^18 with 2^12 regions of 64 (8x the tokens): 8^(4/3) = 16; causal
 * edges make it 15.988 (attention pairs r^2(3 n_r - 6) + n(r + 1)/2, the own
 * regions causal: 3,139,584 + 540,672 = 3,680,256 -> 50,307,072 + 8,519,680
 * = 58,826,752; affinity 1023*1024 -> 4095*4096). */
static void test_biformer_complexity(void **state)
{
    (void)state;
    double total[2];
    const double n[2] = {32768, 262144}, r[2] = {32, 64};
    for (int i = 0; i < 2; i++) {
        char attn[256];
        snprintf(attn, sizeof attn,
                 "{kind: biformer, heads: 1, kv_heads: 1, head_dim: 64, region_size: %g, "
                 "top_k: 4}",
                 r[i]);
        struct model *m = base(attn);
        struct graph g;
        total[i] = lowered(m, &g, PHASE_PREFILL, 1, n[i], "attention")->cost.flops_mm +
                   au_op(&g, 0, "region_affinity")->cost.flops_mm;
        graph_free(&g);
        model_free(m);
    }
    const double attn0 = 4.0 * 64 * 3680256, attn1 = 4.0 * 64 * 58826752;
    const double aff0 = 2.0 * 1023 * 1024 * 64, aff1 = 2.0 * 4095 * 4096 * 64;
    assert_exact(total[0], attn0 + aff0);
    assert_exact(total[1], attn1 + aff1);
    assert_close(total[1] / total[0], 16.0, 0.002);
}

static void test_routed_errors(void **state)
{
    (void)state;
    char buf[2048];
    au_expect_error(au_base(buf, sizeof buf, RT ", shared_qk: true}"), 10, "true}",
                    "shared_qk needs kv_heads = heads");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: routing, heads: 4, kv_heads: 2, head_dim: 16, clusters: 0}"),
                    10, "0}", "clusters");
    au_expect_error(au_base(buf, sizeof buf, BF ", lce: 5}"), 10, "5}",
                    "needs kv_heads = heads");
    au_expect_error(au_base(buf, sizeof buf, BF ", lce: 1}"), 10, "1}", "not a convolution");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: biformer, heads: 4, kv_heads: 3, head_dim: 16, region_size: "
                            "8, top_k: 3}"),
                    10, "3, head", "divisible");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: biformer, heads: 4, kv_heads: 2, head_dim: 16, top_k: 3}"),
                    10, "{kind", "region_size");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_counts),
        cmocka_unit_test(test_routing_unbalanced_expectation),
        cmocka_unit_test(test_routing_complexity),
        cmocka_unit_test(test_biformer_counts),
        cmocka_unit_test(test_biformer_complexity),
        cmocka_unit_test(test_routed_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
