/* attn_gqa.c - the multi-head attention family: MHA, MQA and GQA.
 *
 * H query heads share Hkv key/value heads (H divisible by Hkv): MHA is
 * Hkv = H (Vaswani et al., 2017), MQA is Hkv = 1 (Shazeer, 2019), GQA anything
 * between (Ainslie et al., 2023). Optional per-head RMSNorm on q and k
 * (qk_norm, as in Qwen3), optional biases on the qkv and output projections.
 *
 * Per layer: params = h*(H + 2*Hkv)*D + H*D*h (+ biases, + 2*D for qk_norm);
 * cached elements per token = 2*Hkv*D. Formulas: docs/conventions.md.
 * Tensor parallelism: H/tp query heads per device; KV heads split, or
 * replicated one per device when tp > Hkv. */
#include <stddef.h>

#include "attn_common.h"
#include "model.h"
#include "sites.h"

struct gqa_cfg {
    int64_t heads, kv_heads, head_dim, kv_share, attn_share;
    bool qk_norm, qkv_bias, o_bias, rope;
};

#define OFF(f) offsetof(struct gqa_cfg, f)
#define KIND_KEY(what) {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", what}
#define COMMON_KEYS                                                                            \
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},               \
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},  \
    {"qk_norm", KEY_BOOL, OFF(qk_norm), 0, 0, 0, NULL, "",                                     \
     "per-head RMSNorm on q and k (default false)"},                                           \
    {"qkv_bias", KEY_BOOL, OFF(qkv_bias), 0, 0, 0, NULL, "",                                   \
     "bias on the q, k, v projections (default false)"},                                       \
    {"o_bias", KEY_BOOL, OFF(o_bias), 0, 0, 0, NULL, "",                                       \
     "bias on the output projection (default false)"},                                         \
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",                                           \
     "rotary position embedding on q and k (default true)"},                                   \
    {"kv_share", KEY_INT, OFF(kv_share), 1, 4096, 0, NULL, "layers",                           \
     "cross-layer KV sharing: each run of this many consecutive layers of the group computes " \
     "and caches one K/V, the others attend to it (CLA factor; YOCO: the whole cross-decoder; " \
     "default 1)"},                                                                            \
    {"attn_share", KEY_INT, OFF(attn_share), 1, 4096, 0, NULL, "layers",                       \
     "attention-pattern sharing (EchoAtt): each run of this many consecutive layers of the "   \
     "group computes the softmax probabilities once; the others reuse them with their own V "  \
     "and output projection and keep no K (default 1; docs/kv-budgets.md)"}

static const struct key_spec GQA_KEYS[] = {
    KIND_KEY("gqa: grouped-query attention"),
    COMMON_KEYS,
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple"},
};
static const struct key_spec MHA_KEYS[] = {KIND_KEY("mha: Hkv = H"), COMMON_KEYS};
static const struct key_spec MQA_KEYS[] = {KIND_KEY("mqa: Hkv = 1"), COMMON_KEYS};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void gqa_defaults(void *p)
{
    struct gqa_cfg *c = p;
    c->rope = true;
    c->kv_share = 1;
    c->attn_share = 1;
}

static int gqa_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    (void)present;
    struct gqa_cfg *c = p;
    if (attn_heads_check(c->heads, c->kv_heads, d, map, e)) return -1;
    if (m->reading_repeat % c->kv_share != 0)
        return yml_fail(d, yml_map_get(d, map, "kv_share"), e,
                        "kv_share %lld does not divide the group's %lld layers (each run of "
                        "kv_share layers shares one KV)",
                        (long long)c->kv_share, (long long)m->reading_repeat);
    if (m->reading_repeat % c->attn_share != 0)
        return yml_fail(d, yml_map_get(d, map, "attn_share"), e,
                        "attn_share %lld does not divide the group's %lld layers (each run of "
                        "attn_share layers shares one attention pattern; the layer that would "
                        "compute it for the last run does not exist)",
                        (long long)c->attn_share, (long long)m->reading_repeat);
    if (c->attn_share > 1 && c->kv_share > 1)
        return yml_fail(d, yml_map_get(d, map, "attn_share"), e,
                        "attn_share and kv_share together: a layer reusing the attention "
                        "pattern keeps no K to share; choose one");
    return 0;
}

static int mha_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    struct gqa_cfg *c = p;
    c->kv_heads = c->heads;
    return gqa_check(p, present, m, d, map, e);
}

static int mqa_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    struct gqa_cfg *c = p;
    c->kv_heads = 1;
    return gqa_check(p, present, m, d, map, e);
}


/* Params of the block with hq query and hkv KV heads (one device's share when
 * those are local counts; the output bias and q/k norms are replicated). */
static double gqa_params(const struct gqa_cfg *c, double h, double hq, double hkv)
{
    /* with kv_share s, one layer in s has the K and V projections: the
     * per-layer average is 2 Hkv D / s columns; with attn_share a, one layer
     * in a has Q and K (and the q/k norms): (H + Hkv/s) D / a + Hkv D / s */
    const double d = (double)c->head_dim, a = (double)c->attn_share;
    const double s = (double)c->kv_share, qkv_n = ((hq + hkv / s) / a + hkv / s) * d;
    double p = h * qkv_n + hq * d * h;
    if (c->qkv_bias) p += qkv_n;
    if (c->o_bias) p += h;
    if (c->qk_norm) p += 2.0 * d / a;
    return p;
}

static void gqa_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct gqa_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, kvl = attn_local_kv_heads(hkv, tp);
    out->params = gqa_params(c, h, hq, hkv);
    out->active_params = out->params;
    /* K cached in 1 of a layers (attn_share), K and V in 1 of s (kv_share) */
    const double a = (double)c->attn_share, s = (double)c->kv_share;
    out->kv_elems = hkv * d * (1.0 / a + 1.0) / s;
    out->params_dev = gqa_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = kvl * d * (1.0 / a + 1.0) / s;
}

/* Heads split evenly; KV heads split when tp divides them, else replicated
 * (tp must then be a multiple of Hkv, as in vLLM and Megatron-LM). */
static int gqa_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct gqa_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

static void gqa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct gqa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens, share = (double)c->kv_share;
    /* kv_share s: K and V are produced (projected, normed, rotated, cached) in
     * one layer of every s; attn_share a: Q and K in one layer of every a.
     * Figures are the per-layer average of the group. */
    const double a = (double)c->attn_share, qk = (hq + hkv / share) / a; /* Q, K heads */
    double v[SYM_COUNT];
    site_vars(x, v);
    v[SYM_H] = hq;
    v[SYM_HKV] = hkv / share;
    v[SYM_D] = d;
    site_gemm(x, g, ROLE_QKV_PROJ, "qkv_proj", v, t, (hq / a + hkv / a / share + hkv / share) * d,
              h, c->qkv_bias);
    if (c->qk_norm) site_norm(x, g, ROLE_QK_NORM, "qk_norm", v, t * qk, d, 2.0 * d / a, FLOPS_RMSNORM);
    if (c->rope) site_pointwise(x, g, ROLE_ROPE, "rope", v, t, qk * d, 1, FLOPS_ROPE, false);
    site_pointwise(x, g, ROLE_KV_WRITE, "kv_write", v, t, hkv * d * (1.0 / a + 1.0) / share, 1, 0,
                   true);
    /* Causal: query i of the step (0-based) sees ctx_prior + i + 1 keys. */
    const double s = st->q_len, pairs = attn_causal_pairs(st);
    struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = s,
                            .skv = st->ctx_prior + s, .pairs = pairs,
                            .kv_width = 2.0 * hkv * d, .kv_cached = st->ctx_prior > 0};
    if (c->attn_share == 1) {
        site_attention(x, g, "attention", &as);
    } else {
        /* EchoAtt: one layer in a computes the pattern and stores P; the other
         * a - 1 read P and their own V (the group's average: B/a and
         * B(a-1)/a sequences' worth) */
        as.b = st->batch / a;
        as.probs_out = true;
        op_attention(g, "attention", &as);
        as.b = st->batch * (a - 1.0) / a;
        as.probs_out = false;
        as.probs_in = true;
        as.kv_width = hkv * d;
        op_attention(g, "attention_reuse", &as);
    }
    op_gemm(g, "o_proj", t, h, hq * d, c->o_bias); /* row-parallel: bias after the sum */
}

#define GQA_KIND(id_, name_, keys_, check_, what_)                                                 \
    const struct block_kind id_ = {.name = name_,                                               \
                                  .slot = SLOT_ATTN,                                           \
                                  .summary = what_,                                             \
                                  .keys = keys_,                                               \
                                  .n_keys = N(keys_),                                           \
                                  .cfg_size = sizeof(struct gqa_cfg),                          \
                                  .defaults = gqa_defaults,                                    \
                                  .check = check_,                                              \
                                  .count = gqa_count,                                          \
                                  .tp_check = gqa_tp_check,                                    \
                                  .lower = gqa_lower,                                          \
                                  .max_ops = 7,                                                \
                                  .takes_mask = true}

GQA_KIND(BLOCK_GQA, "gqa", GQA_KEYS, gqa_check,
         "grouped-query attention: H query heads share Hkv KV heads (Ainslie et al. 2023)");
GQA_KIND(BLOCK_MHA, "mha", MHA_KEYS, mha_check,
         "multi-head attention: one KV head per query head (Vaswani et al. 2017)");
GQA_KIND(BLOCK_MQA, "mqa", MQA_KEYS, mqa_check,
         "multi-query attention: one KV head shared by all query heads (Shazeer 2019)");
