/* attn_swa.c - sliding-window and neighborhood attention over GQA heads.
 *
 * Each query sees a window of `window` keys: causal, the last `window` keys
 * up to itself (Mistral 7B, Jiang et al. 2023; gpt-oss 2025; Longformer,
 * Beltagy et al. 2020); non-causal, a neighborhood centred on it
 * (Neighborhood Attention, Hassani et al. 2023). `stride` groups queries that
 * share one window and `dilation` attends every d-th token (Generalized
 * Neighborhood Attention, Hassani et al. 2025); `sinks` initial tokens stay
 * visible to every query (StreamingLLM, Xiao et al. 2023); `sink_logits`
 * adds gpt-oss's learned per-head sink logit (H parameters, no key).
 *
 * Parameters and KV elements per token are those of gqa (+ H sink logits).
 * The cache a sequence holds is capped at d*(window-1) + 1 + sinks tokens
 * (block_counts.kv_window). Lowering: the attention core gets its computed
 * and useful pairs from the tile model (sim/core/tiles.h): what a fused kernel
 * with tile_q x tile_k tiles computes. The diagonal tiles that dense causal
 * attention also computes are not charged, as the dense kinds do not charge
 * them: a window covering the whole sequence costs exactly what gqa costs.
 * Formulas and sources: docs/variants/swa.md. */
#include <math.h>
#include <stddef.h>

#include "../sim/core/tiles.h"
#include "attn_common.h"
#include "model.h"

struct swa_cfg {
    int64_t heads, kv_heads, head_dim;
    bool qk_norm, qkv_bias, o_bias, rope, sink_logits, causal;
    int64_t window; /* 0 = not given: full */
    int64_t stride, dilation, sinks, tile_q, tile_k;
};

#define OFF(f) offsetof(struct swa_cfg, f)
static const struct key_spec SWA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "swa: sliding-window / neighborhood attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"qk_norm", KEY_BOOL, OFF(qk_norm), 0, 0, 0, NULL, "",
     "per-head RMSNorm on q and k (default false)"},
    {"qkv_bias", KEY_BOOL, OFF(qkv_bias), 0, 0, 0, NULL, "",
     "bias on the q, k, v projections (default false)"},
    {"o_bias", KEY_BOOL, OFF(o_bias), 0, 0, 0, NULL, "",
     "bias on the output projection (default false)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
    {"window", KEY_INT, OFF(window), 1, 16777216, 0, NULL, "tokens",
     "keys each query sees, itself included (default: the whole sequence)"},
    {"causal", KEY_BOOL, OFF(causal), 0, 0, 0, NULL, "",
     "keys after the query are masked (default true); false: window centred on the query"},
    {"stride", KEY_INT, OFF(stride), 1, 4096, 0, NULL, "tokens",
     "queries per group sharing one window, <= window (default 1)"},
    {"dilation", KEY_INT, OFF(dilation), 1, 1024, 0, NULL, "tokens",
     "attend every d-th token (default 1)"},
    {"sinks", KEY_INT, OFF(sinks), 0, 65536, 0, NULL, "tokens",
     "initial tokens every query also sees (StreamingLLM; default 0; causal, dilation 1)"},
    {"sink_logits", KEY_BOOL, OFF(sink_logits), 0, 0, 0, NULL, "",
     "one learned sink logit per head in the softmax (gpt-oss; default false)"},
    {"tile_q", KEY_INT, OFF(tile_q), 1, 1024, 0, NULL, "tokens",
     "query rows per kernel tile (default 128)"},
    {"tile_k", KEY_INT, OFF(tile_k), 1, 1024, 0, NULL, "tokens",
     "key columns per kernel tile (default 128)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void swa_defaults(void *p)
{
    struct swa_cfg *c = p;
    c->rope = true;
    c->causal = true;
    c->stride = 1;
    c->dilation = 1;
    c->tile_q = 128; /* FlashAttention-2/3 forward tiles for D = 64..128 */
    c->tile_k = 128;
}

static int swa_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    struct swa_cfg *c = p;
    if (attn_heads_check(c->heads, c->kv_heads, d, map, e)) return -1;
    if (c->window && c->stride > c->window)
        return yml_fail(d, yml_map_get(d, map, "stride"), e,
                        "stride (%lld) must not exceed window (%lld)", (long long)c->stride,
                        (long long)c->window);
    if (c->sinks && !c->causal)
        return yml_fail(d, yml_map_get(d, map, "sinks"), e,
                        "sinks need causal: true (they are initial tokens of a causal stream)");
    if (c->sinks && c->dilation > 1)
        return yml_fail(d, yml_map_get(d, map, "sinks"), e,
                        "sinks with dilation %lld are not modelled (use dilation 1)",
                        (long long)c->dilation);
    return 0;
}


static double swa_params(const struct swa_cfg *c, double h, double hq, double hkv)
{
    const double d = (double)c->head_dim, qkv_n = (hq + 2.0 * hkv) * d;
    double p = h * qkv_n + hq * d * h;
    if (c->qkv_bias) p += qkv_n;
    if (c->o_bias) p += h;
    if (c->qk_norm) p += 2.0 * d;
    if (c->sink_logits) p += hq;
    return p;
}

static void swa_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct swa_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, kvl = attn_local_kv_heads(hkv, tp);
    out->params = swa_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d;
    out->params_dev = swa_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d;
    /* the oldest key any later query can see is d*(window-1) back */
    out->kv_window = c->window ? (double)(c->dilation * (c->window - 1) + 1 + c->sinks) : 0;
}

static int swa_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct swa_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

/* The step's mask for the tile model. */
static void swa_mask(const struct swa_cfg *c, const struct step *st, struct tile_mask *mk)
{
    *mk = (struct tile_mask){.q_len = st->q_len, .prior = st->ctx_prior, .causal = c->causal,
                             .left = TILES_FULL, .right = TILES_FULL,
                             .stride = (double)c->stride, .dilation = (double)c->dilation,
                             .sinks = (double)c->sinks, .tile_q = (double)c->tile_q,
                             .tile_k = (double)c->tile_k};
    if (c->window) {
        const double w = (double)c->window;
        mk->left = c->causal ? w - 1 : floor((w - 1) / 2);
        mk->right = c->causal ? 0 : w - 1 - mk->left;
    }
}

static void swa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct swa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens, s = st->q_len;
    op_gemm(g, "qkv_proj", t, (hq + 2.0 * hkv) * d, h, c->qkv_bias);
    if (c->qk_norm) op_norm(g, "qk_norm", t * (hq + hkv), d, 2.0 * d, FLOPS_RMSNORM);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    struct tile_mask mk;
    struct tile_stats ts;
    swa_mask(c, st, &mk);
    tiles_count(&mk, &ts);
    struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = s,
                            .skv = ts.keys_read, .kv_width = 2.0 * hkv * d,
                            .kv_cached = st->ctx_prior > 0};
    if (ts.pairs_computed == ts.dense_computed && ts.pairs_useful == ts.dense_useful &&
        c->dilation == 1) {
        /* the window covers everything: dense causal attention, as gqa counts it.
         * Equal computed pairs alone do not say so: a window a few keys short of
         * the sequence visits the same tiles but keeps fewer pairs, and that
         * difference is waste the general rule below reports. */
        as.pairs = c->causal ? attn_causal_pairs(st) : s * (st->ctx_prior + s);
    } else {
        /* charge the tile waste beyond what the dense convention leaves out */
        const double extra = ts.pairs_computed - (ts.dense_computed - ts.dense_useful);
        as.pairs = extra > ts.pairs_useful ? extra : ts.pairs_useful;
        as.pairs_useful = ts.pairs_useful;
    }
    op_attention(g, "attention", &as);
    op_gemm(g, "o_proj", t, h, hq * d, c->o_bias);
}

const struct block_kind BLOCK_SWA = {
    .name = "swa",
    .slot = SLOT_ATTN,
    .summary = "sliding-window / neighborhood attention over GQA heads, with tile-level waste "
               "(Mistral 2023; Hassani et al. 2023, 2025; StreamingLLM 2023)",
    .keys = SWA_KEYS,
    .n_keys = N(SWA_KEYS),
    .cfg_size = sizeof(struct swa_cfg),
    .defaults = swa_defaults,
    .check = swa_check,
    .count = swa_count,
    .tp_check = swa_tp_check,
    .lower = swa_lower,
    .max_ops = 6,
};
