/* attn_sqa.c - Sparse Query Attention (SQA) and its named settings.
 *
 * Filipek (Reactive AI), "Sparse Query Attention (SQA): A Computationally
 * Efficient Attention Mechanism with Query Heads Reduction", arXiv:2510.01817
 * (2025). A baseline of H heads fixes the head dimension (D = h/H in the
 * paper); SQA keeps only Hq < H query heads, shared in groups by Hkv <= Hq
 * key/value heads, and the output projection maps Hq*D (not H*D) back to h.
 * The score and value FLOPs scale with Hq, so they fall by H/Hq against a
 * GQA/MHA baseline of H query heads. The paper's settings, relative to H:
 *
 *   SQA   Hq = H/2, Hkv = H/4       sSQA  Hq = Hkv = H/2
 *   xSQA  Hq = Hkv = H/4            xSMQA Hq = H/4, Hkv = 1
 *
 * (examples/attn-sqa*.yaml; docs/variants/sqa.md.)
 *
 * Per layer: params = h*(Hq + 2*Hkv)*D + Hq*D*h (+ biases);
 * cached elements per token = 2*Hkv*D.
 * Tensor parallelism: Hq/tp query heads per device; KV heads split, or
 * replicated one per device when tp > Hkv (as attn_gqa.c).
 *
 * Entry point: BLOCK_SQA (listed in registry.c). */
#include <stddef.h>

#include "attn_common.h"
#include "model.h"

struct sqa_cfg {
    int64_t heads; /* baseline H (0 when not given) */
    int64_t query_heads, kv_heads, head_dim;
    bool qkv_bias, o_bias, rope;
};

#define OFF(f) offsetof(struct sqa_cfg, f)
static const struct key_spec SQA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "sqa: sparse query attention (Filipek 2025)"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 0, NULL, "count",
     "baseline heads H the variant is defined against (optional; query_heads <= H)"},
    {"query_heads", KEY_INT, OFF(query_heads), 1, 65536, 1, NULL, "count",
     "query heads Hq actually computed"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; query_heads must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"qkv_bias", KEY_BOOL, OFF(qkv_bias), 0, 0, 0, NULL, "",
     "bias on the q, k, v projections (default false)"},
    {"o_bias", KEY_BOOL, OFF(o_bias), 0, 0, 0, NULL, "",
     "bias on the output projection (default false)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void sqa_defaults(void *p)
{
    struct sqa_cfg *c = p;
    c->rope = true;
}

/* Hkv <= Hq, Hq divisible by Hkv, and Hq <= H when the baseline is given. */
static int sqa_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    const struct sqa_cfg *c = p;
    if (c->heads && c->query_heads > c->heads)
        return yml_fail(d, yml_map_get(d, map, "query_heads"), e,
                        "query_heads (%lld) must not exceed the baseline heads (%lld)",
                        (long long)c->query_heads, (long long)c->heads);
    if (c->kv_heads > c->query_heads)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "kv_heads (%lld) must not exceed query_heads (%lld)",
                        (long long)c->kv_heads, (long long)c->query_heads);
    if (c->query_heads % c->kv_heads != 0)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "query_heads (%lld) must be divisible by kv_heads (%lld)",
                        (long long)c->query_heads, (long long)c->kv_heads);
    return 0;
}


/* Params with hq query and hkv KV heads (a device's share when those are
 * local counts; the output bias is replicated). */
static double sqa_params(const struct sqa_cfg *c, double h, double hq, double hkv)
{
    const double qkv_n = (hq + 2.0 * hkv) * (double)c->head_dim;
    double p = h * qkv_n + hq * (double)c->head_dim * h;
    if (c->qkv_bias) p += qkv_n;
    if (c->o_bias) p += h;
    return p;
}

static void sqa_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct sqa_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->query_heads,
                 hkv = (double)c->kv_heads, d = (double)c->head_dim,
                 kvl = attn_local_kv_heads(hkv, tp);
    out->params = sqa_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d;
    out->params_dev = sqa_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d;
}

/* Query heads split evenly; KV heads split or replicated (tp a multiple of Hkv). */
static int sqa_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct sqa_cfg *c = p;
    /* the message names query_heads, the key this kind uses */
    if (c->query_heads % (long long)tp)
        return snprintf(msg, n, "query_heads (%lld) not divisible by %.0f", (long long)c->query_heads, tp), -1;
    return attn_heads_tp_check(c->query_heads, c->kv_heads, tp, msg, n);
}

/* qkv_proj, rope, kv_write, attention over Hq heads, o_proj from Hq*D. */
static void sqa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct sqa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->query_heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens;
    op_gemm(g, "qkv_proj", t, (hq + 2.0 * hkv) * d, h, c->qkv_bias);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    const double s = st->q_len, pairs = attn_causal_pairs(st);
    const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = s,
                                  .skv = st->ctx_prior + s, .pairs = pairs,
                                  .kv_width = 2.0 * hkv * d, .kv_cached = st->ctx_prior > 0};
    op_attention(g, "attention", &as);
    op_gemm(g, "o_proj", t, h, hq * d, c->o_bias);
}

const struct block_kind BLOCK_SQA = {
    .name = "sqa", .slot = SLOT_ATTN,
    .summary = "sparse query attention: Hq < H query heads, Hkv KV heads (Filipek 2025)",
    .keys = SQA_KEYS, .n_keys = N(SQA_KEYS), .cfg_size = sizeof(struct sqa_cfg),
    .defaults = sqa_defaults, .check = sqa_check, .count = sqa_count,
    .tp_check = sqa_tp_check, .lower = sqa_lower, .max_ops = 5, .takes_mask = true};
