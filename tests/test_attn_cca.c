/* test_attn_cca.c - the CCA and CCGQA attention kinds (models/attn_cca.c):
 * parameters, KV cache and decode state, prefill and decode FLOPs and bytes of
 * one layer, each derived by hand below from the config; the paper's closed
 * forms (Figliolia et al. 2025, arXiv:2510.04476: parameters, KV cache and
 * attention FLOPs all cut by the compression factor); tensor-parallel splits;
 * and bad configurations, which must fail at FILE:LINE:COL of the key. */
#include "testutil.h"

struct sums {
    double mm, vec, w, act, kv, out;
};
/* Sums the costs of layer group `group` (per layer); `name`, if not NULL,
 * restricts to ops of that name. */
static struct sums layer_sums(const struct graph *g, int group, const char *name)
{
    struct sums s = {0};
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        if (op->group != group || (name && strcmp(op->name, name) != 0)) continue;
        s.mm += op->cost.flops_mm;
        s.vec += op->cost.flops_vec;
        s.w += op->cost.bytes_w;
        s.act += op->cost.bytes_act;
        s.kv += op->cost.bytes_kv;
        s.out += op->cost.bytes_out;
    }
    return s;
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

static struct model *load_text(const char *yaml)
{
    struct model *m = NULL;
    struct err e;
    if (model_load(tu_write_temp(yaml), &m, &e)) err_print(&e, stderr);
    return m;
}

static struct model *load_example(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/%s.yaml", OB_DATADIR, name);
    struct model *m = NULL;
    struct err e;
    if (model_load(path, &m, &e)) err_print(&e, stderr);
    return m;
}

/* ccgqa-1b: E = 2048, H = 8, Hkv = 2, D = 128 (C = 2, C2 = 8), k0 = k1 = 2,
 * 16 layers, SwiGLU I = 8192, V = 128256 tied. Attention per layer:
 *   down-projections E(H + 2Hkv)D = 2048 x 12 x 128      = 3,145,728
 *   up-projection    H D E        = 1024 x 2048          = 2,097,152
 *   seq conv         (H+Hkv)D (k0 + 1) = 1280 x 3        =     3,840
 *   channel conv     (H+Hkv) D D k1 + (H+Hkv)D
 *                    = 10 x 128 x 128 x 2 + 1280         =   328,960
 *   key temperatures Hkv                                 =         2
 *                                                  total = 5,575,682
 * FFN 3 x 2048 x 8192 = 50,331,648; two norms 4,096 -> 55,911,426 per layer.
 * Model: 16 x 55,911,426 + 128256 x 2048 (tied, once) + 2048 (final norm)
 *      = 894,582,816 + 262,668,288 + 2,048 = 1,157,253,152.
 * KV cache: latent K and V, 2 x Hkv x D = 512 per layer: 16 x 512 x 2 B = 16,384 B. */
static void test_attn_cca_ccgqa_1b_counts(void **state)
{
    (void)state;
    struct model *m = tu_model("ccgqa-1b");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, 1157253152.0);
    /* active: every weight, plus one embedding row (h) on top of the tied
     * matrix, which counts in full as the lm_head (docs/conventions.md) */
    assert_exact(c.active_params, 1157253152.0 + 2048);
    assert_exact(c.kv_elems_per_token, 16 * 512.0);
    assert_exact(c.kv_elems_per_token * dtype_bytes(m->dt_kv), 16384.0);
    model_free(m);
}

/* Decode, B sequences at context L, T = B. Matmul FLOPs per layer:
 *   2T x (3,145,728 down + 327,680 channel-conv taps + 2,097,152 up
 *         + 50,331,648 FFN) = 2T x 55,902,208 = 111,804,416 T
 *   attention: B x H x (L+1) x 2(D + D) = 4096 B (L+1).
 * Vector FLOPs per layer:
 *   norms 2 x 4 x T x 2048, residuals 2 x T x 2048, SiLU*up 5 x T x 8192
 *     = 61,440 T
 *   seq conv 2k0 per output, over B(1 + k1 - 1) = 2B positions x 1280 ch = 10,240 B
 *   channel-conv bias T x 1280 = 1,280 T
 *   qk-mean: q 3 per element (8 x 128), k G + 3 = 7 per element (2 x 128) = 4,864 T
 *   qk L2 norm 4 x T x 1280 = 5,120 T; rope 3 x T x 1280 = 3,840 T
 *   softmax 5 x B x H x (L+1) = 40 B (L+1).
 * KV read: B (L+1) x 2 x 2 x 128 x 2 B. Weights read (bf16): every matrix of
 * the layer once, i.e. the 55,911,426 parameters less the 3,840 seq-conv taps
 * (an elementwise op: docs/variants/cca.md).
 * Decode state: pre-conv q~,k~ of k0 + k1 - 2 = 2 tokens (2 x 1280) plus
 * x_{t-1} (2048) = 4,608 elements per sequence and layer -- the same shape as
 * Zyphra's ZAYA1 cache (conv_states [B, 1280, 2] and prev_hs [B, 2048]);
 * decode has prior context, so it is read (2 B, bf16 activations) and
 * rewritten (2 B, bf16 KV dtype): 4 B per element. */
static void test_attn_cca_ccgqa_1b_decode(void **state)
{
    (void)state;
    struct model *m = tu_model("ccgqa-1b");
    struct graph g;
    const double B = 8, L = 4095, T = B;
    lower(m, &g, PHASE_DECODE, B, L, 1);
    struct sums s = layer_sums(&g, 0, NULL);
    assert_exact(s.mm, 111804416.0 * T + 4096.0 * B * (L + 1));
    assert_close(s.vec, 61440.0 * T + 10240 * B + (1280 + 4864 + 5120 + 3840) * T +
                            40.0 * B * (L + 1),
                 1e-14);
    assert_exact(s.kv, B * (L + 1) * 512 * 2);
    assert_exact(s.w, (55911426.0 - 3840) * 2);
    struct sums st = layer_sums(&g, 0, "cca_state");
    assert_exact(st.act, B * 4608 * 2);
    assert_exact(st.out, B * 4608 * 2);
    /* the attention core works on the latent: Q is T x 8 x 128 */
    struct sums at = layer_sums(&g, 0, "attention");
    assert_exact(at.act, T * 8 * 128 * 2);
    graph_free(&g);
    model_free(m);
}

/* Prefill of one sequence of S: the same matmuls over T = S tokens plus the
 * causal core H x S(S+1)/2 pairs x 4D = 4096 x S(S+1)/2; K and V are fresh
 * activations (no KV-cache read). The seq conv yields S + k1 - 1 = S + 1
 * positions (left zero padding): 4 x (S+1) x 1280 vector FLOPs. No prior
 * context: the state is only written, 4,608 elements x 2 B (bf16 KV). */
static void test_attn_cca_ccgqa_1b_prefill(void **state)
{
    (void)state;
    struct model *m = tu_model("ccgqa-1b");
    struct graph g;
    const double S = 2048;
    lower(m, &g, PHASE_PREFILL, 1, S, 1);
    struct sums s = layer_sums(&g, 0, NULL);
    assert_exact(s.mm, 111804416.0 * S + 4096.0 * S * (S + 1) / 2);
    assert_exact(s.kv, 0);
    assert_close(s.vec, 61440.0 * S + 4 * (S + 1) * 1280 + (1280 + 4864 + 5120 + 3840) * S +
                            40.0 * S * (S + 1) / 2,
                 1e-14);
    /* ch_conv, an im2col GEMM per head: 10 x (S x 256) @ (256 x 128) */
    assert_exact(layer_sums(&g, 0, "ch_conv").mm, 10 * 2.0 * S * 128 * 256);
    struct sums st = layer_sums(&g, 0, "cca_state");
    assert_exact(st.act, 0);
    assert_exact(st.out, 4608 * 2);
    graph_free(&g);
    model_free(m);
}

/* The state is read only when there is prior context. ccgqa-1b, B = 3,
 * state 4,608 elements per sequence and layer (above), bf16 everywhere:
 *   prefill of 1000 from scratch:          read 0,              write 3 x 4608 x 2
 *   prefill of 500 after 1000 cached:      read 3 x 4608 x 2,   write 3 x 4608 x 2
 * (27,648 B each way when read). */
static void test_attn_cca_state_read_with_prior_only(void **state)
{
    (void)state;
    struct model *m = tu_model("ccgqa-1b");
    assert_non_null(m);
    const double prior[2] = {0, 1000}, q[2] = {1000, 500};
    for (int i = 0; i < 2; i++) {
        struct step st = {.phase = PHASE_PREFILL, .batch = 3, .q_len = q[i],
                          .ctx_prior = prior[i], .tp = 1, .dt_w = m->dt_w,
                          .dt_act = m->dt_act, .dt_kv = m->dt_kv};
        struct graph g;
        assert_int_equal(graph_init(&g, model_max_ops(m)), 0);
        model_lower(m, &st, &g);
        struct sums s = layer_sums(&g, 0, "cca_state");
        assert_exact(s.act, i == 0 ? 0 : 27648);
        assert_exact(s.out, 3 * 4608 * 2);
        graph_free(&g);
    }
    model_free(m);
}

/* The paper's closed forms for CCA (abstract and method: parameters, KV cache
 * and FLOPs all cut "by the desired compression factor"), against MHA on the
 * same Llama-3-8B skeleton (E = 4096, 32 heads of 128) with C = 4:
 *   projections 4E^2/C = 16,777,216   (MHA 4E^2 = 67,108,864)
 *   KV per token 2E/C = 2,048         (MHA 2E = 8,192)
 *   attention core per (query, key) pair 4E/C = 4,096 FLOPs (MHA 4E = 16,384)
 * CCA adds only the conv taps, biases and temperatures:
 *   (E/C + E/C)(k0 + 1) + 2(E/C)/D x D^2 k1 + 2E/C + H
 *   = 2048 x 3 + 16 x 128 x 128 x 2 + 2048 + 8 = 532,488. */
static void test_attn_cca_paper_closed_forms(void **state)
{
    (void)state;
    struct model *cca = load_example("attn-cca");
    assert_non_null(cca);
    const char *mha_yaml = "name: mha\nhidden: 4096\nlayers: 1\nvocab: 1000\n"
                           "tied_embeddings: false\nnorm: rmsnorm\n"
                           "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
                           "groups:\n  - repeat: 1\n"
                           "    attention: {kind: mha, heads: 32, head_dim: 128}\n"
                           "    ffn: {kind: swiglu, intermediate: 14336}\n";
    struct model *mha = load_text(mha_yaml);
    assert_non_null(mha);
    const double E = 4096, C = 4;
    struct block_counts bc = {0}, bm = {0};
    cca->groups[0].kind[SLOT_ATTN]->count(cca->groups[0].cfg[SLOT_ATTN], cca, 1, &bc);
    mha->groups[0].kind[SLOT_ATTN]->count(mha->groups[0].cfg[SLOT_ATTN], mha, 1, &bm);
    assert_exact(bm.params, 4 * E * E);
    assert_exact(bc.params, 4 * E * E / C + 532488);
    assert_exact(bc.kv_elems, 2 * E / C);
    assert_exact(bm.kv_elems / bc.kv_elems, C);
    /* attention core FLOPs per pair, prefill S = 1024 */
    struct graph g1, g2;
    const double S = 1024, pairs = S * (S + 1) / 2;
    lower(cca, &g1, PHASE_PREFILL, 1, S, 1);
    lower(mha, &g2, PHASE_PREFILL, 1, S, 1);
    const double fc = layer_sums(&g1, 0, "attention").mm, fm = layer_sums(&g2, 0, "attention").mm;
    assert_exact(fc, 4 * E / C * pairs);
    assert_exact(fm / fc, C);
    /* projection FLOPs: 2 x 4E^2/C per token, a factor C below MHA's */
    const double pc = layer_sums(&g1, 0, "qkv_down_proj").mm +
                      layer_sums(&g1, 0, "v_shift_proj").mm + layer_sums(&g1, 0, "up_proj").mm;
    const double pm = layer_sums(&g2, 0, "qkv_proj").mm + layer_sums(&g2, 0, "o_proj").mm;
    assert_exact(pc, 2 * S * 4 * E * E / C);
    assert_exact(pm / pc, C);
    graph_free(&g1);
    graph_free(&g2);
    model_free(cca);
    model_free(mha);
}

/* CCGQA closed forms with separate query and KV compression (C1 = 2, C2 = 8,
 * examples/attn-ccgqa.yaml, E = 4096): projections 2E^2/C1 + 2E^2/C2 =
 * 16,777,216 + 4,194,304; KV per token 2E/C2 = 1,024; attention core per pair
 * 4E/C1 = 8,192 FLOPs. Extra: (2048 + 512) x 3 + 20 x 128^2 x 2 + 2560 + 4
 * = 7,680 + 655,360 + 2,560 + 4 = 665,604. */
static void test_attn_cca_ccgqa_closed_forms(void **state)
{
    (void)state;
    struct model *m = load_example("attn-ccgqa");
    assert_non_null(m);
    const double E = 4096, C1 = 2, C2 = 8;
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 1, &bc);
    assert_exact(bc.params, 2 * E * E / C1 + 2 * E * E / C2 + 665604);
    assert_exact(bc.kv_elems, 2 * E / C2);
    struct graph g;
    lower(m, &g, PHASE_DECODE, 1, 999, 1);
    assert_exact(layer_sums(&g, 0, "attention").mm, 4 * E / C1 * 1000);
    graph_free(&g);
    model_free(m);
}

/* Switches: without qk_mean there is no qk_mean op; without value_shift one
 * down-projection GEMM covers v and the state is only the conv window
 * (k0 + k1 - 2 = 3 + 4 - 2 = 5 tokens x (8 + 2) x 128). */
static void test_attn_cca_switches(void **state)
{
    (void)state;
    struct model *m = load_text(
        "name: t\nhidden: 2048\nlayers: 1\nvocab: 1000\ntied_embeddings: true\n"
        "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
        "groups:\n  - repeat: 1\n"
        "    attention: {kind: ccgqa, heads: 8, kv_heads: 2, compression: 2, conv_seq_kernel: 3,\n"
        "                conv_ch_kernel: 4, qk_mean: false, value_shift: false, rope: false}\n"
        "    ffn: {kind: swiglu, intermediate: 4096}\n");
    assert_non_null(m);
    struct graph g;
    lower(m, &g, PHASE_DECODE, 2, 100, 1);
    assert_exact(layer_sums(&g, 0, "qk_mean").vec + layer_sums(&g, 0, "rope").vec, 0);
    assert_exact(layer_sums(&g, 0, "v_shift_proj").mm, 0);
    assert_exact(layer_sums(&g, 0, "qkv_down_proj").mm, 2 * 2.0 * 2048 * 12 * 128);
    struct sums st = layer_sums(&g, 0, "cca_state");
    assert_exact(st.out, 2 * 5 * 1280.0 * 2);
    /* seq conv: 2 x k0 = 6 FLOPs over B (1 + k1 - 1) = 8 positions x 1280 */
    assert_exact(layer_sums(&g, 0, "seq_conv").vec, 6.0 * 8 * 1280);
    /* params: 2048 x 12 x 128 + 1024 x 2048 + 1280 x 4 + 10 x 128^2 x 4 + 1280 + 2 */
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 1, &bc);
    assert_exact(bc.params, 3145728.0 + 2097152 + 5120 + 655360 + 1280 + 2);
    graph_free(&g);
    model_free(m);
}

/* Tensor parallelism: ccgqa-1b over 2 devices holds one KV head and 4 query
 * heads each: attention params 2048 x 6 x 128 + 512 x 2048 + 640 x 3
 * + 5 x 128^2 x 2 + 640 + 1 = 1,572,864 + 1,048,576 + 1,920 + 163,840 + 641
 * = 2,787,841; KV 2 x 1 x 128 per layer. 4 devices would split the 2 KV
 * groups: refused. */
static void test_attn_cca_tp(void **state)
{
    (void)state;
    struct model *m = tu_model("ccgqa-1b");
    struct err e;
    assert_int_equal(model_tp_check(m, 2, &e), 0);
    assert_int_equal(model_tp_check(m, 4, &e), -1);
    assert_non_null(strstr(e.msg, "kv_heads (2) not divisible by 4"));
    struct block_counts bc = {0};
    m->groups[0].kind[SLOT_ATTN]->count(m->groups[0].cfg[SLOT_ATTN], m, 2, &bc);
    assert_exact(bc.params_dev, 2787841.0);
    assert_exact(bc.kv_elems_dev, 256.0);
    /* decode on one device: attention over 4 latent heads */
    struct graph g;
    lower(m, &g, PHASE_DECODE, 1, 99, 2);
    assert_exact(layer_sums(&g, 0, "attention").mm, 4 * 100 * 512.0);
    graph_free(&g);
    model_free(m);
}

/* Bad configurations: FILE:LINE:COL of the offending key's value. */
static const char BASE[] =
    "name: t\n"                                                                       /* 1 */
    "hidden: 4096\n"                                                                  /* 2 */
    "layers: 2\n"                                                                     /* 3 */
    "vocab: 1000\n"                                                                   /* 4 */
    "tied_embeddings: false\n"                                                        /* 5 */
    "norm: rmsnorm\n"                                                                 /* 6 */
    "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"                            /* 7 */
    "groups:\n"                                                                       /* 8 */
    "  - repeat: 2\n"                                                                 /* 9 */
    "    attention: {kind: ccgqa, heads: 16, kv_heads: 4, compression: 2, head_dim: 128}\n"
    "    ffn: {kind: swiglu, intermediate: 14336}\n";                                 /* 11 */

static const char *variant(const char *from, const char *to)
{
    static char buf[4096];
    const char *p = strstr(BASE, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - BASE), BASE, to, p + strlen(from));
    return buf;
}

static int col_of(const char *text, int line, const char *needle)
{
    const char *p = text;
    for (int l = 1; l < line; l++) p = strchr(p, '\n') + 1;
    const char *q = strstr(p, needle);
    assert_non_null(q);
    return (int)(q - p) + 1;
}

static void expect_error(const char *text, const char *at, const char *msg)
{
    const char *path = tu_write_temp(text);
    struct model *m = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = model_load(path, &m, &e);
    const int col = col_of(text, 10, at);
    if (rc == 0 || !strstr(e.msg, msg) || e.line != 10 || e.col != col) {
        print_error("want 10:%d '%s'\n got rc %d, %d:%d '%s'\n", col, msg, rc, e.line, e.col,
                    e.msg);
        model_free(m);
        fail();
    }
    assert_string_equal(e.file, path);
    unlink(path);
}

static void test_attn_cca_errors(void **state)
{
    (void)state;
    struct model *m = load_text(BASE);
    assert_non_null(m);
    model_free(m);
    expect_error(variant("compression: 2", "compression: 3"), "3,",
                 "compression (3) must divide hidden (4096)");
    expect_error(variant("heads: 16", "heads: 12"), "12,",
                 "heads (12) must divide the latent width hidden/compression (2048)");
    expect_error(variant("head_dim: 128", "head_dim: 64"), "64}",
                 "head_dim (64) must equal hidden/(compression*heads) = 128");
    expect_error(variant("kv_heads: 4", "kv_heads: 3"), "3,",
                 "heads (16) must be divisible by kv_heads (3)");
    expect_error(variant("kv_heads: 4", "kv_heads: 32"), "32,",
                 "kv_heads (32) must not exceed heads (16)");
    expect_error(variant("head_dim: 128}", "kv_compression: 4}"), "4}",
                 "kv_compression (4) must equal compression*heads/kv_heads = 8");
    expect_error(variant("head_dim: 128}", "conv_seq_kernel: 0}"), "0}",
                 "'conv_seq_kernel' must be at least 1, got 0");
    expect_error(variant("head_dim: 128}", "conv_ch_kernel: 0}"), "0}",
                 "'conv_ch_kernel' must be at least 1, got 0");
    /* one latent feature: the value shift cannot halve it */
    expect_error(variant("heads: 16, kv_heads: 4, compression: 2, head_dim: 128}",
                         "heads: 1, kv_heads: 1, compression: 4096, value_shift: true}"),
                 "true}", "value_shift splits the value latent (kv_heads*head_dim = 1)");
    /* cca has no kv_heads: Hkv = H by definition */
    expect_error(variant("kind: ccgqa", "kind: cca"), "kv_heads", "unknown key 'kv_heads'");
}

/* The decode state enters the memory footprint: ccgqa-1b keeps, per layer and
 * sequence, (8 + 2) x 128 x (2 + 2 - 2) = 2,560 pre-conv elements plus the
 * previous token's input (2048): 4,608; x 16 layers x 2 B = 147,456 B. At
 * batch 3 and context 999 (1000 tokens cached) the KV cache holds
 * 3 x (1000 x 16,384 + 147,456) bytes. */
static void test_cca_state_in_memory(void **state)
{
    (void)state;
    struct model *m = tu_model("ccgqa-1b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 3, .context = 999, .tp = 1};
    analysis_run(&a, m, d, &sc);
    assert_exact(a.state_bytes_per_seq, 16 * 4608.0 * 2);
    assert_exact(a.kv_cache_bytes, 3 * (1000 * 16384.0 + 147456.0));
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attn_cca_ccgqa_1b_counts),
        cmocka_unit_test(test_attn_cca_ccgqa_1b_decode),
        cmocka_unit_test(test_attn_cca_ccgqa_1b_prefill),
        cmocka_unit_test(test_attn_cca_state_read_with_prior_only),
        cmocka_unit_test(test_attn_cca_paper_closed_forms),
        cmocka_unit_test(test_attn_cca_ccgqa_closed_forms),
        cmocka_unit_test(test_attn_cca_switches),
        cmocka_unit_test(test_attn_cca_tp),
        cmocka_unit_test(test_attn_cca_errors),
        cmocka_unit_test(test_cca_state_in_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
