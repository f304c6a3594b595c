/* test_attn_heads.c - the kdgqa, moh and masa attention kinds: parameters, KV
 * bytes per token, prefill and decode FLOPs of one layer derived by hand, the
 * papers' own figures where they give them, tensor-parallel rules, and bad
 * inputs (FILE:LINE:COL + message).
 *
 * Shapes are Llama-3-8B's (examples/attn-*.yaml): h 4096, 32 layers, H 32,
 * Hkv 8, D 128, SwiGLU I 14336, V 128256. Per layer and token the dense GQA
 * matrices hold q 4096*32*128 = 16,777,216, k and v 4096*8*128 = 4,194,304
 * each, o 16,777,216: 41,943,040 in all (qkv 25,165,824); the FFN 3*4096*14336
 * = 176,160,768. So the dense matmul FLOPs per token and layer are
 * 2*(41,943,040 + 176,160,768) = 436,207,616. */
#include "testutil.h"

#include "../models/ffn_moe.h"

static const double h = 4096, H = 32, FFN = 176160768.0, V = 128256;
static const double QKV = 25165824.0, ATTN_W = 41943040.0;

/* Loads examples/attn-<kind>.yaml. */
static struct model *example(const char *kind)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/attn-%s.yaml", OB_DATADIR, kind);
    struct model *m = NULL;
    struct err e;
    if (model_load(path, &m, &e)) err_print(&e, stderr);
    return m;
}

/* Loads a model from text; fails the test if it does not load. */
static struct model *from_text(const char *text)
{
    struct model *m = NULL;
    struct err e;
    if (model_load(tu_write_temp(text), &m, &e)) {
        err_print(&e, stderr);
        fail();
    }
    return m;
}

/* Sums of the op costs of layer group 0 (per layer). */
struct sums {
    double mm, vec, w, act, kv, out;
};
static struct sums layer_sums(const struct graph *g)
{
    struct sums s = {0};
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        if (op->group != 0) continue;
        s.mm += op->cost.flops_mm;
        s.vec += op->cost.flops_vec;
        s.w += op->cost.bytes_w;
        s.act += op->cost.bytes_act;
        s.kv += op->cost.bytes_kv;
        s.out += op->cost.bytes_out;
    }
    return s;
}

static const struct op *find_op(const struct graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (g->ops[i].group == 0 && strcmp(g->ops[i].name, name) == 0) return &g->ops[i];
    return NULL;
}

static void lower(const struct model *m, struct graph *g, enum phase ph, double b, double len,
                  double tp)
{
    struct step st = {.phase = ph, .batch = b, .q_len = ph == PHASE_PREFILL ? len : 1,
                      .ctx_prior = ph == PHASE_PREFILL ? 0 : len, .tp = tp, .dt_w = m->dt_w,
                      .dt_act = m->dt_act, .dt_kv = m->dt_kv};
    assert_int_equal(graph_init(g, model_max_ops(m)), 0);
    model_lower(m, &st, g);
}

/* Whole-model params of the Llama-3-8B skeleton whose attention block holds
 * `attn` params per layer: embedding + lm_head + 32 x (attn + FFN + 2 norms)
 * + final norm. */
static double skeleton_params(double attn) { return 2 * V * h + 32 * (attn + FFN + 2 * h) + h; }

/* Block counts of group 0's attention block. */
static struct block_counts attn_counts(const struct model *m, double tp)
{
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, tp, &bc);
    return bc;
}

/* ---- KDGQA ---- */

/* Weights and KV cache are GQA's: Llama-3-8B's published 8,030,261,248 and
 * 32 x 2 x 8 x 128 x 2 B = 131,072 B per token. */
static void test_kdgqa_counts(void **state)
{
    (void)state;
    struct model *m = example("kdgqa");
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, skeleton_params(ATTN_W));
    assert_exact(c.params, 8030261248.0);
    assert_exact(c.kv_elems_per_token * 2, 131072.0);
    model_free(m);
}

/* query_groups [6,4,4,4,4,4,3,3]: g_max = 6, so the padded core computes
 * Hkv*g_max = 48 heads' pairs (32 useful). Decode B = 8 at L = 4095 (L + 1 =
 * 4096 keys): matmul 436,207,616*B + 48*(L+1)*2*(128+128)*B; softmax
 * 5*48*(L+1)*B; key norms 2*D per KV head and token, reading T*8*128 and
 * writing T*8 values; KV read B*(L+1)*8*256*2 B. */
static void test_kdgqa_decode(void **state)
{
    (void)state;
    struct model *m = example("kdgqa");
    struct graph g;
    const double B = 8, L = 4095, T = B;
    lower(m, &g, PHASE_DECODE, B, L, 1);
    struct sums s = layer_sums(&g);
    assert_exact(s.mm, 436207616.0 * B + 48 * (L + 1) * 512 * B);
    const struct op *a = find_op(&g, "attention");
    assert_exact(a->cost.flops_vec, 5 * 48 * (L + 1) * B);
    assert_exact(a->cost.bytes_kv, B * (L + 1) * 8 * 256 * 2);
    const struct op *kn = find_op(&g, "key_norm");
    assert_exact(kn->cost.flops_vec, 2 * 128 * 8 * T);
    assert_exact(kn->cost.bytes_act, T * 8 * 128 * 2);
    assert_exact(kn->cost.bytes_out, T * 8 * 2);
    /* useful fraction of the computed core: H / (Hkv * g_max) = 32/48 */
    assert_close(H * (L + 1) * 512 * B / (a->cost.flops_mm), 32.0 / 48.0, 1e-15);
    graph_free(&g);
    model_free(m);
}

/* Prefill S = 2048: 436,207,616*S + 48 * S(S+1)/2 * 512. */
static void test_kdgqa_prefill(void **state)
{
    (void)state;
    struct model *m = example("kdgqa");
    struct graph g;
    const double S = 2048;
    lower(m, &g, PHASE_PREFILL, 1, S, 1);
    assert_exact(layer_sums(&g).mm, 436207616.0 * S + 48 * S * (S + 1) / 2 * 512);
    graph_free(&g);
    model_free(m);
}

static const char KD_BASE[] =
    "name: t\nhidden: 4096\nlayers: 2\nvocab: 1000\ntied_embeddings: false\nnorm: rmsnorm\n"
    "dtypes: {weight: bf16, activation: bf16, kv: bf16}\ngroups:\n  - repeat: 2\n"
    "    attention: {kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128}\n" /* line 10 */
    "    ffn: {kind: swiglu, intermediate: 14336}\n";

/* BASE with the first `from` replaced by `to`. */
static const char *variant(const char *base, const char *from, const char *to)
{
    static char buf[4096];
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", base);
    const char *p = strstr(copy, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - copy), copy, to, p + strlen(from));
    return buf;
}

/* Imbalance f: g_max = ceil(f*H/Hkv): f = 1.5 -> 6, f = 1.2 -> 4.8 -> 5,
 * f = 1.25 -> exactly 5; neither key: H/Hkv = 4. Attention FLOPs of one decode
 * token at L = 0 (1 pair per head): Hkv * g_max * 512. */
static void test_kdgqa_imbalance(void **state)
{
    (void)state;
    const char *keys[] = {"head_dim: 128, imbalance: 1.5}", "head_dim: 128, imbalance: 1.2}",
                          "head_dim: 128, imbalance: 1.25}", "head_dim: 128}"};
    const double gmax[] = {6, 5, 5, 4};
    for (int i = 0; i < 4; i++) {
        struct model *m = from_text(variant(KD_BASE, "head_dim: 128}", keys[i]));
        struct graph g;
        lower(m, &g, PHASE_DECODE, 1, 0, 1);
        assert_exact(find_op(&g, "attention")->cost.flops_mm, 8 * gmax[i] * 512);
        graph_free(&g);
        model_free(m);
    }
}

/* tp splits query and KV heads evenly and keeps the allocation per device: the
 * example's groups give device 0 of 2 6+4+4+4 = 18 query heads, not 16. */
static void test_kdgqa_tp(void **state)
{
    (void)state;
    struct model *m = example("kdgqa");
    struct err e;
    assert_int_equal(model_tp_check(m, 2, &e), -1);
    assert_non_null(strstr(e.msg, "query_groups give device 0 18 query heads, not 16"));
    model_free(m);
    m = from_text(variant(KD_BASE, "head_dim: 128}",
                          "head_dim: 128, query_groups: [5, 3, 4, 4, 6, 2, 4, 4]}"));
    assert_int_equal(model_tp_check(m, 2, &e), 0);
    assert_int_equal(model_tp_check(m, 16, &e), -1); /* 8 KV heads over 16: no replication */
    struct block_counts bc = attn_counts(m, 2);
    /* per device: 16 query, 4 KV heads: 4096*(16+8)*128 + 16*128*4096 */
    assert_exact(bc.params_dev, 4096.0 * 24 * 128 + 16 * 128 * 4096.0);
    assert_exact(bc.kv_elems_dev, 2 * 4 * 128);
    /* and the core on one device: 4 KV heads x g_max 6 = 24 heads */
    struct graph g;
    lower(m, &g, PHASE_DECODE, 1, 0, 2);
    assert_exact(find_op(&g, "attention")->cost.flops_mm, 24 * 512);
    graph_free(&g);
    model_free(m);
}

/* ---- MoH ---- */

/* Active heads: 16 shared + top-8 of the 16 routed = 24 of 32 (75%, the
 * MoH-LLaMA3-8B setting). query_norm router: no parameters, so params are
 * Llama-3-8B's; active = Llama's active minus W_O of 8 inactive heads per
 * layer (8*128*4096 = 4,194,304). Linear two-stage router: W_r 16 + W_s 16 +
 * W_h 2 logits = 34*4096 = 139,264 per layer. */
static void test_moh_counts(void **state)
{
    (void)state;
    struct model *m = example("moh");
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, 8030261248.0);
    const double llama_active = h + V * h + 32 * (ATTN_W + FFN + 2 * h) + h;
    assert_exact(c.active_params, llama_active - 32 * 4194304.0);
    assert_exact(c.kv_elems_per_token * 2, 131072.0);
    model_free(m);
    char text[4096];
    snprintf(text, sizeof text, "%s", variant(KD_BASE, "kind: kdgqa", "kind: moh"));
    m = from_text(variant(text, "head_dim: 128}", "head_dim: 128, shared_heads: 16, top_k: 8}"));
    model_count(m, 1, &c);
    assert_exact(attn_counts(m, 1).params, ATTN_W + 34 * 4096.0);
    /* the paper: MoH "does not increase the number of parameters"; the
     * router adds 139,264 / 41,943,040 = 0.33% to the attention block */
    assert_close((attn_counts(m, 1).params - ATTN_W) / ATTN_W, 0.00332, 0.01);
    model_free(m);
}

/* Decode of one token (B = 1) at L = 4095: exactly 8 routed heads touched.
 * Matmul: 2*(QKV 25,165,824 + o shared 16*128*4096 = 8,388,608 + o routed
 * 8*128*4096 = 4,194,304 + FFN) + core 24 heads * 4096 pairs * 512. Vector
 * query norms: 2*128 per routed head = 2*128*16. The routed W_O slices read:
 * 8*128*4096*2 B. */
static void test_moh_decode(void **state)
{
    (void)state;
    struct model *m = example("moh");
    struct graph g;
    const double L = 4095;
    lower(m, &g, PHASE_DECODE, 1, L, 1);
    struct sums s = layer_sums(&g);
    assert_exact(s.mm, 2 * (QKV + 8388608.0 + 4194304.0 + FFN) + 24 * (L + 1) * 512);
    assert_exact(find_op(&g, "query_norm")->cost.flops_vec, 2 * 128 * 16.0);
    assert_exact(find_op(&g, "o_proj_routed")->cost.bytes_w, 8 * 128 * 4096 * 2.0);
    /* KV: all 8 KV heads are read: (L+1)*8*256*2 B */
    assert_exact(s.kv, (L + 1) * 8 * 256 * 2);
    /* the core runs 75% of the heads (the paper's activation ratio) */
    assert_close(find_op(&g, "attention")->cost.flops_mm / (32 * (L + 1) * 512), 0.75, 1e-15);
    graph_free(&g);
    model_free(m);
}

/* Prefill S = 512, linear router: matmul 2*S*(34*4096 + QKV + (16+8)*128*4096
 * + FFN) + 24 * S(S+1)/2 * 512; the routed W_O weights read are the touched
 * heads' 16*(1 - (1/2)^512) ~ 16. */
static void test_moh_prefill_linear(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s", variant(KD_BASE, "kind: kdgqa", "kind: moh"));
    struct model *m =
        from_text(variant(text, "head_dim: 128}", "head_dim: 128, shared_heads: 16, top_k: 8}"));
    struct graph g;
    const double S = 512;
    lower(m, &g, PHASE_PREFILL, 1, S, 1);
    struct sums s = layer_sums(&g);
    assert_exact(s.mm, 2 * S * (34 * 4096.0 + QKV + 24 * 128 * 4096.0 + FFN) +
                           24 * S * (S + 1) / 2 * 512);
    assert_exact(find_op(&g, "head_router")->cost.flops_mm, 2 * S * 4096 * 34);
    assert_close(find_op(&g, "o_proj_routed")->cost.bytes_w, 16 * 128 * 4096 * 2.0, 1e-12);
    graph_free(&g);
    model_free(m);
}

/* ---- MASA ---- */

/* S = 8 atoms per projection type shared by all 32 layers: the dictionaries
 * hold 8 * 41,943,040 = 335,544,320 params; each layer 4*8 coefficients and
 * 1/32 of the atoms. Model: 8,030,261,248 - 32*41,943,040 + 335,544,320 + 32*32
 * = 7,023,629,312, an exact integer. */
static void test_masa_counts(void **state)
{
    (void)state;
    struct model *m = example("masa");
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(attn_counts(m, 1).params, 32 + 335544320.0 / 32);
    assert_exact(c.params, 7023629312.0);
    assert_exact(c.params, 8030261248.0 - 32 * ATTN_W + 8 * ATTN_W + 32 * 32);
    assert_exact(c.active_params, c.params - V * h + h); /* one embedding row, not V */
    assert_exact(c.kv_elems_per_token * 2, 131072.0);
    /* tp = 2: atoms split with their heads, coefficients replicated:
     * 32 + 8*(4096*(16+8)*128 + 16*128*4096)/32 */
    assert_exact(attn_counts(m, 2).params_dev,
                 32 + 8 * (4096.0 * 24 * 128 + 16 * 128 * 4096.0) / 32);
    model_free(m);
}

/* The paper's figure: attention of a 700M model, 226.5M -> 75M (-66.7%).
 * 226.5M is exactly 24 layers x 4 x 1536^2 = 226,492,416 (MHA, d = 1536),
 * and 8 atoms per type give 8*4*1536^2 = 75,497,472 (+ 24*4*8 = 768
 * coefficients) = 75,498,240: "75M", 66.67% fewer. (d = 1536, L = 24, S = 8
 * are inferred from the two figures, not read from the paper's tables.) */
static void test_masa_paper_figure(void **state)
{
    (void)state;
    const char *yaml = "name: p\nhidden: 1536\nlayers: 24\nvocab: 1000\n"
                       "tied_embeddings: false\nnorm: rmsnorm\n"
                       "dtypes: {weight: bf16, activation: bf16, kv: bf16}\ngroups:\n"
                       "  - repeat: 24\n"
                       "    attention: {kind: masa, heads: 12, kv_heads: 12, head_dim: 128, "
                       "atoms: 8}\n"
                       "    ffn: {kind: swiglu, intermediate: 4096}\n";
    struct model *m = from_text(yaml);
    const double masa = 24 * attn_counts(m, 1).params;
    model_free(m);
    /* the dense baseline as the tool counts it: the same layers with plain MHA */
    m = from_text(variant(yaml, "kind: masa, heads: 12, kv_heads: 12, head_dim: 128, atoms: 8",
                          "kind: mha, heads: 12, head_dim: 128"));
    const double dense = 24 * attn_counts(m, 1).params;
    assert_exact(dense, 226492416.0);
    assert_close(dense, 226.5e6, 0.0001);
    assert_exact(masa, 75498240.0);
    assert_close(masa, 75e6, 0.01);
    assert_close(1 - masa / dense, 0.667, 0.001);
    model_free(m);
}

/* Decode B = 8 at L = 4095, execution reconstruct: the two GEMVs rebuild
 * 41,943,040 weights from 8 atoms (2*8 FLOPs each), then the dense GEMMs:
 * matmul 2*8*41,943,040 + 436,207,616*B + 32*(L+1)*512*B. Weights read: the
 * atoms 8*41,943,040, the rebuilt matrices 41,943,040, the FFN, 2 norm
 * vectors; 2 B each. */
static void test_masa_decode_reconstruct(void **state)
{
    (void)state;
    struct model *m = example("masa");
    struct graph g;
    const double B = 8, L = 4095;
    lower(m, &g, PHASE_DECODE, B, L, 1);
    struct sums s = layer_sums(&g);
    assert_exact(s.mm, 2 * 8 * ATTN_W + 436207616.0 * B + 32 * (L + 1) * 512 * B);
    assert_exact(s.w, (8 * ATTN_W + ATTN_W + FFN + 2 * h) * 2);
    graph_free(&g);
    model_free(m);
}

/* execution atoms: every token through every atom (2*T*8*41,943,040), then
 * the combines: 2*8 FLOPs per output element over T*((32+16)*128 + 4096).
 * Prefill S = 2048: matmul 2*S*(8*41,943,040 + FFN) + 32*S(S+1)/2*512. */
static void test_masa_atoms(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s", variant(KD_BASE, "kind: kdgqa", "kind: masa"));
    struct model *m =
        from_text(variant(text, "head_dim: 128}", "head_dim: 128, atoms: 8, execution: atoms}"));
    struct graph g;
    const double S = 2048;
    lower(m, &g, PHASE_PREFILL, 1, S, 1);
    assert_exact(layer_sums(&g).mm, 2 * S * (8 * ATTN_W + FFN) + 32 * S * (S + 1) / 2 * 512);
    const double comb = find_op(&g, "qkv_combine")->cost.flops_vec +
                        find_op(&g, "o_combine")->cost.flops_vec;
    assert_exact(comb, 16 * S * (48 * 128 + 4096.0));
    graph_free(&g);
    model_free(m);
    /* share_layers 1 of 2: two dictionary sets, each layer holds its own */
    m = from_text(variant(text, "head_dim: 128}", "head_dim: 128, atoms: 8, share_layers: 1}"));
    assert_exact(attn_counts(m, 1).params, 32 + 8 * ATTN_W);
    model_free(m);
}

/* ---- bad inputs ---- */

static int col_of(const char *text, int line, const char *needle)
{
    const char *p = text;
    for (int l = 1; l < line; l++) p = strchr(p, '\n') + 1;
    const char *q = strstr(p, needle);
    assert_non_null(q);
    return (int)(q - p) + 1;
}

/* The attention line (10) of KD_BASE replaced; the error must sit on line 10
 * at the column of `at` and contain msg. */
static void expect_attn_error(const char *attn, const char *at, const char *msg)
{
    char text[4096];
    snprintf(text, sizeof text, "%s",
             variant(KD_BASE, "{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128}", attn));
    const char *path = tu_write_temp(text);
    struct model *m = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    const int rc = model_load(path, &m, &e), col = col_of(text, 10, at);
    if (rc == 0 || !strstr(e.msg, msg) || e.line != 10 || e.col != col) {
        print_error("want 10:%d '%s'\n got rc %d, %d:%d '%s'\n", col, msg, rc, e.line, e.col,
                    e.msg);
        model_free(m);
        fail();
    }
    assert_string_equal(e.file, path);
    unlink(path);
}

static void test_heads_bad_inputs(void **state)
{
    (void)state;
    expect_attn_error("{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128, "
                      "query_groups: [5, 4, 4, 4, 4, 4, 4, 4]}",
                      "[", "query_groups add up to 33 query heads, but heads is 32");
    expect_attn_error("{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128, "
                      "query_groups: [8, 4, 4, 4, 4, 4, 4]}",
                      "[", "query_groups has 7 entries, but kv_heads is 8");
    expect_attn_error("{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128, "
                      "query_groups: [4, 4, x, 4, 4, 4, 4, 4]}",
                      "x,", "query_groups entries must be integers from 0 to 65536, got 'x'");
    expect_attn_error("{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128, imbalance: 0.5}",
                      "0.5", "'imbalance' must be at least 1, got 0.5");
    expect_attn_error("{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128, imbalance: 9}",
                      "9}", "imbalance 9 puts 36 query heads in one group, more than heads (32)");
    expect_attn_error("{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128, imbalance: 2, "
                      "query_groups: [4, 4, 4, 4, 4, 4, 4, 4]}",
                      "2, query", "give either query_groups or imbalance, not both");
    expect_attn_error("{kind: moh, heads: 32, kv_heads: 8, head_dim: 128, shared_heads: 16, "
                      "top_k: 20}",
                      "20}", "top_k (20) must not exceed the routed heads (heads 32 - "
                             "shared_heads 16 = 16)");
    expect_attn_error("{kind: moh, heads: 32, kv_heads: 8, head_dim: 128, top_k: 40}", "40}",
                      "top_k (40) must not exceed the routed heads");
    expect_attn_error("{kind: moh, heads: 32, kv_heads: 8, head_dim: 128, shared_heads: 32, "
                      "top_k: 1}",
                      "32, top", "shared_heads (32) must be less than heads (32)");
    expect_attn_error("{kind: moh, heads: 32, kv_heads: 8, head_dim: 128, top_k: 4, "
                      "router: mlp}",
                      "mlp", "'router': unknown value 'mlp' (expected one of: linear, query_norm)");
    expect_attn_error("{kind: masa, heads: 32, kv_heads: 8, head_dim: 128, atoms: 0}", "0}",
                      "'atoms' must be at least 1, got 0");
    expect_attn_error("{kind: masa, heads: 32, kv_heads: 8, head_dim: 128, atoms: 8, "
                      "share_layers: 3}",
                      "3}", "share_layers (3) must divide the group's repeat (2)");
    expect_attn_error("{kind: masa, heads: 32, kv_heads: 8, head_dim: 128, atoms: 8, "
                      "execution: fused}",
                      "fused", "'execution': unknown value 'fused' (expected one of: "
                               "reconstruct, atoms)");
    expect_attn_error("{kind: masa, heads: 32, kv_heads: 6, head_dim: 128, atoms: 8}", "6,",
                      "heads (32) must be divisible by kv_heads (6)");
}

/* A per-layer share of the atoms that is not exact in binary is refused:
 * 3 layers sharing 8*41,943,040 = 2^26*5 params (not divisible by 3). */
static void test_masa_inexact_share(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s",
             variant(variant(KD_BASE, "layers: 2", "layers: 3"), "repeat: 2", "repeat: 3"));
    const char *t = variant(text, "{kind: kdgqa, heads: 32, kv_heads: 8, head_dim: 128}",
                            "{kind: masa, heads: 32, kv_heads: 8, head_dim: 128, atoms: 8}");
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load(tu_write_temp(t), &m, &e), -1);
    assert_non_null(strstr(e.msg, "not divisible by the odd part (3) of share_layers (3)"));
    assert_int_equal(e.line, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdgqa_counts),
        cmocka_unit_test(test_kdgqa_decode),
        cmocka_unit_test(test_kdgqa_prefill),
        cmocka_unit_test(test_kdgqa_imbalance),
        cmocka_unit_test(test_kdgqa_tp),
        cmocka_unit_test(test_moh_counts),
        cmocka_unit_test(test_moh_decode),
        cmocka_unit_test(test_moh_prefill_linear),
        cmocka_unit_test(test_masa_counts),
        cmocka_unit_test(test_masa_paper_figure),
        cmocka_unit_test(test_masa_decode_reconstruct),
        cmocka_unit_test(test_masa_atoms),
        cmocka_unit_test(test_heads_bad_inputs),
        cmocka_unit_test(test_masa_inexact_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
