/* test_layer.c - FLOPs and bytes of one layer, prefill and decode, derived by
 * hand from the config and the conventions in docs/conventions.md. */
#include "testutil.h"

#include "../models/ffn_moe.h"

/* Sums one cost field over the ops of layer group `group` (per layer). */
struct sums {
    double mm, vec, w, act, kv, out;
};
static struct sums layer_sums(const struct graph *g, int group)
{
    struct sums s = {0};
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        if (op->group != group) continue;
        s.mm += op->cost.flops_mm;
        s.vec += op->cost.flops_vec;
        s.w += op->cost.bytes_w;
        s.act += op->cost.bytes_act;
        s.kv += op->cost.bytes_kv;
        s.out += op->cost.bytes_out;
    }
    return s;
}

static void lower(const struct model *m, struct graph *g, enum phase ph, double b, double len)
{
    struct step st = {.phase = ph, .batch = b, .q_len = ph == PHASE_PREFILL ? len : 1,
                      .ctx_prior = ph == PHASE_PREFILL ? 0 : len, .tp = 1, .dt_w = m->dt_w,
                      .dt_act = m->dt_act, .dt_kv = m->dt_kv};
    assert_int_equal(graph_init(g, model_max_ops(m)), 0);
    model_lower(m, &st, g);
}

/* Llama-3-8B decode, B sequences at context L (each new token attends L + 1
 * keys). Matmul FLOPs per layer: 2*B*(h*(H+2Hkv)*D + H*D*h + 3*h*I)
 * = 2*B*4096*(6144 + 4096 + 28672 + 14336) = 436,207,616*B, plus attention
 * B*H*(L+1)*2*(D+D) = 16,384*B*(L+1). */
static void test_layer_llama3_decode(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct graph g;
    const double B = 8, L = 4095, T = B;
    lower(m, &g, PHASE_DECODE, B, L);
    struct sums s = layer_sums(&g, 0);
    assert_exact(s.mm, 436207616.0 * B + 16384.0 * B * (L + 1));
    /* Vector: 2 RMSNorms (4/elem over T*h), rope 3 x T*(32+8)*128, softmax 5 per
     * score over B*32*(L+1), 2 residual adds (1 x T*h), SiLU*up 5 x T*14336. */
    assert_exact(s.vec, 2 * 4 * T * 4096 + 3 * T * 40 * 128 + 5 * B * 32 * (L + 1) +
                            2 * T * 4096 + 5 * T * 14336);
    /* Weights read: every matrix of the layer once (218,103,808 params) plus
     * two norm vectors (2 x 4096), bf16. */
    assert_exact(s.w, (218103808.0 + 2 * 4096) * 2);
    /* KV cache read: B x (L+1) tokens x 8 heads x (128 K + 128 V) x 2 bytes. */
    assert_exact(s.kv, B * (L + 1) * 8 * 256 * 2);
    graph_free(&g);
    model_free(m);
}

/* Llama-3-8B prefill, one sequence of S: matmul FLOPs per layer
 * 436,207,616*S plus causal attention 32 heads x S(S+1)/2 pairs x 512. */
static void test_layer_llama3_prefill(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct graph g;
    const double S = 2048;
    lower(m, &g, PHASE_PREFILL, 1, S);
    struct sums s = layer_sums(&g, 0);
    assert_exact(s.mm, 436207616.0 * S + 32.0 * S * (S + 1) / 2 * 512);
    assert_exact(s.kv, 0); /* prefill reads K, V as fresh activations */
    /* lm_head runs on the last token only: 2 x 4096 x 128256 FLOPs. */
    const struct op *head = &g.ops[g.n - 1];
    assert_string_equal(head->name, "lm_head");
    assert_exact(head->cost.flops_mm, 2.0 * 4096 * 128256);
    graph_free(&g);
    model_free(m);
}

/* Whole-model decode FLOPs = 32 layers + embedding (0) + final norm + lm_head:
 * the 2*N*T rule of Kaplan et al. (2020) for the non-embedding matmuls. */
static void test_layer_llama3_model_totals(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 0};
    analysis_run(&a, m, d, &sc);
    /* context 0: the new token attends only itself (1 pair per head). */
    const double mm = 32 * (436207616.0 + 16384.0) + 2.0 * 4096 * 128256;
    assert_exact(a.tot.cost.flops_mm, mm);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* Qwen3-30B-A3B decode of one token: the router picks k = 8 of 128 experts, so
 * exactly 8 expert weight sets are read: 8 x 3 x 2048 x 768 x 2 bytes. */
static void test_layer_moe_single_token(void **state)
{
    (void)state;
    struct model *m = tu_model("qwen3-30b-a3b");
    struct graph g;
    lower(m, &g, PHASE_DECODE, 1, 100);
    double expert_w = 0, expert_mm = 0;
    for (int i = 0; i < g.n; i++)
        if (g.ops[i].group == 0 && g.ops[i].kind == OP_BATCHED_GEMM) {
            expert_w += g.ops[i].cost.bytes_w;
            expert_mm += g.ops[i].cost.flops_mm;
        }
    assert_close(expert_w, 8.0 * 3 * 2048 * 768 * 2, 1e-12);
    assert_close(expert_mm, 8.0 * 3 * 2 * 2048 * 768, 1e-12);
    graph_free(&g);
    model_free(m);
}

/* At T tokens the expert FLOPs do not depend on routing: 2 x T x k x 3 x h x Ie;
 * the weights read are touched experts x 3 x h x Ie x 2 bytes. */
static void test_layer_moe_batch(void **state)
{
    (void)state;
    struct model *m = tu_model("qwen3-30b-a3b");
    struct graph g;
    const double T = 64, k = 8, E = 128;
    lower(m, &g, PHASE_DECODE, T, 100);
    double w = 0, mm = 0;
    for (int i = 0; i < g.n; i++)
        if (g.ops[i].group == 0 && g.ops[i].kind == OP_BATCHED_GEMM) {
            w += g.ops[i].cost.bytes_w;
            mm += g.ops[i].cost.flops_mm;
        }
    assert_close(mm, 2 * T * k * 3 * 2048 * 768, 1e-12);
    const double touched = E * (1 - pow(1 - k / E, T)); /* 124.9..: nearly all */
    assert_close(w, touched * 3 * 2048 * 768 * 2, 1e-12);
    graph_free(&g);
    model_free(m);
}

/* Expected distinct experts E(1-(1-k/E)^T) against exact enumeration: every
 * token picks a k-subset of E uniformly; count, over all C(E,k)^T outcomes,
 * the distinct experts touched. Small sizes so the enumeration is exact. */
static unsigned popcount(unsigned x)
{
    unsigned c = 0;
    for (; x; x &= x - 1) c++;
    return c;
}
static void test_layer_moe_touched_enumeration(void **state)
{
    (void)state;
    const int E = 6;
    for (int k = 1; k <= 3; k++)
        for (int T = 1; T <= 3; T++) {
            unsigned subsets[64];
            int ns = 0;
            for (unsigned s = 0; s < (1u << E); s++)
                if ((int)popcount(s) == k) subsets[ns++] = s;
            double total = 0, outcomes = 0;
            int idx[3] = {0, 0, 0};
            for (;;) {
                unsigned u = 0;
                for (int t = 0; t < T; t++) u |= subsets[idx[t]];
                total += popcount(u);
                outcomes += 1;
                int t = 0;
                while (t < T && ++idx[t] == ns) idx[t++] = 0;
                if (t == T) break;
            }
            assert_close(moe_experts_touched(E, k, T), total / outcomes, 1e-12);
        }
    assert_close(moe_experts_touched(128, 8, 1), 8, 1e-12);
    assert_exact(moe_experts_touched(8, 8, 5), 8);
}

/* 1M-token context on a trillion-parameter-class config must stay finite and
 * match the closed form to double precision. */
static void test_layer_huge_counts(void **state)
{
    (void)state;
    const char *yaml = "name: huge\nhidden: 16384\nlayers: 128\nvocab: 262144\n"
                       "tied_embeddings: false\nnorm: rmsnorm\n"
                       "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
                       "groups:\n  - repeat: 128\n"
                       "    attention: {kind: gqa, heads: 128, kv_heads: 8, head_dim: 128}\n"
                       "    ffn: {kind: swiglu, intermediate: 163840}\n";
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load(tu_write_temp(yaml), &m, &e), 0);
    struct graph g;
    const double S = 1048576, h = 16384;
    lower(m, &g, PHASE_PREFILL, 4, S);
    struct sums s = layer_sums(&g, 0);
    const double mats = h * (128 + 16) * 128 + 128 * 128 * h + 3 * h * 163840;
    const double want = 2 * 4 * S * mats + 4 * 128 * (S * (S + 1) / 2) * 512;
    assert_true(isfinite(s.mm));
    assert_close(s.mm, want, 1e-15);
    graph_free(&g);
    /* beyond 2^53 (want is about 2.3e18): the tool must say its counts are rounded */
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct device *d = tu_device("h100-sxm5-80gb");
    assert_non_null(d);
    struct scenario sc = {.phase = PHASE_PREFILL, .batch = 4, .seq = S};
    analysis_run(&a, m, d, &sc);
    assert_false(a.counts_exact);
    sc = (struct scenario){.phase = PHASE_DECODE, .batch = 1, .context = 1000};
    analysis_run(&a, m, d, &sc); /* about 2 x 185e9 FLOPs: exact */
    assert_true(a.counts_exact);
    device_free(d);
    analysis_free(&a);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_llama3_decode),
        cmocka_unit_test(test_layer_llama3_prefill),
        cmocka_unit_test(test_layer_llama3_model_totals),
        cmocka_unit_test(test_layer_moe_single_token),
        cmocka_unit_test(test_layer_moe_batch),
        cmocka_unit_test(test_layer_moe_touched_enumeration),
        cmocka_unit_test(test_layer_huge_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
