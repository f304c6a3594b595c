/* attn_moba.c - MoBA: mixture of block attention (`kind: moba`).
 *
 * Lu et al. (Moonshot AI) 2025, "MoBA: Mixture of Block Attention for
 * Long-Context LLMs", arXiv:2502.13189; kernel and key convolution: Xiao, Guo,
 * Mazaheri and Han 2025, "Optimizing Mixture of Block Attention" (FlashMoBA),
 * arXiv:2511.11571. GQA projections (H query heads, Hkv KV heads, head dim D);
 * the keys are split into blocks of B tokens. A parameter-free router scores
 * each query head against the mean-pooled key of every complete earlier block
 * and keeps the top-scoring ones; the query's own (current) block is always
 * kept, causally masked, and counts as one of the top_k (as in MoBA's
 * reference code, which gives the current block an infinite gate). Optional
 * short causal depthwise convolution on the keys (FlashMoBA's kconv).
 *
 * Per layer: params = GQA + Hkv*D*w (key conv of w taps); cached elements per
 * token = 2*Hkv*D + Hkv*D/B (raw K and V, and one block centroid per B tokens);
 * decode state (key conv history) = (w - 1)*Hkv*D per sequence.
 * Ops: qkv_proj, key_conv, rope, kv_write, block_pool, moba_gate (queries x
 * centroids), moba_topk, attention (computed vs useful pairs), o_proj.
 * Formulas: docs/variants/moba.md. Tensor parallelism as gqa: H/tp query
 * heads; KV heads split, or replicated one per device when tp > Hkv. */
#include <math.h>
#include <stddef.h>

#include "attn_sparse.h"
#include "attn_common.h"
#include "model.h"

struct moba_cfg {
    int64_t heads, kv_heads, head_dim, block_size, top_k, key_conv;
    bool rope;
};

#define OFF(f) offsetof(struct moba_cfg, f)
static const struct key_spec MOBA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "moba: mixture of block attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"block_size", KEY_INT, OFF(block_size), 1, 1048576, 1, NULL, "tokens",
     "key block size B (MoBA: 512; FlashMoBA: 128)"},
    {"top_k", KEY_INT, OFF(top_k), 1, 65536, 1, NULL, "blocks",
     "blocks each query attends, its own current block included"},
    {"key_conv", KEY_INT, OFF(key_conv), 0, 64, 0, NULL, "tokens",
     "taps of FlashMoBA's causal depthwise conv on the keys; 0 = none (default 0)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void moba_defaults(void *p)
{
    struct moba_cfg *c = p;
    c->rope = true;
}

static int moba_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                      yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    const struct moba_cfg *c = p;
    if (c->kv_heads > c->heads || c->heads % c->kv_heads != 0)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "heads (%lld) must be a multiple of kv_heads (%lld)",
                        (long long)c->heads, (long long)c->kv_heads);
    if (c->key_conv == 1)
        return yml_fail(d, yml_map_get(d, map, "key_conv"), e,
                        "key_conv 1 is a per-channel scale, not a convolution: use 0 (none) "
                        "or at least 2 taps");
    return 0;
}


/* GQA projections + the key conv's taps, for hq query and hkv KV heads. */
static double moba_params(const struct moba_cfg *c, double h, double hq, double hkv)
{
    const double d = (double)c->head_dim;
    return h * (hq + 2.0 * hkv) * d + hq * d * h + hkv * d * (double)c->key_conv;
}

static void moba_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct moba_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, b = (double)c->block_size,
                 kvl = attn_local_kv_heads(hkv, tp), taps = (double)c->key_conv;
    out->params = moba_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d + hkv * d / b;
    out->params_dev = moba_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d + kvl * d / b;
    out->state_elems = taps > 0 ? (taps - 1.0) * hkv * d : 0;
    out->state_elems_dev = taps > 0 ? (taps - 1.0) * kvl * d : 0;
}

static int moba_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct moba_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

static void moba_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct moba_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens, bs = (double)c->block_size, k = (double)c->top_k,
                 grp = hq / hkv, s = st->q_len, prior = st->ctx_prior, taps = (double)c->key_conv;
    op_gemm(g, "qkv_proj", t, (hq + 2.0 * hkv) * d, h, false);
    if (taps > 0) op_elementwise(g, "key_conv", t, hkv * d, 1, 2.0 * taps, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    /* Centroids: each key is pooled once, when its block is summed (B adds
     * per centroid element); centroids are stored beside the cache. */
    op_elementwise(g, "block_pool", t / bs, hkv * d, bs, bs, true);

    /* Router: complete earlier blocks are candidates (the own block is
     * always kept). Scores of every query head of a group against every
     * complete block of its sequence, as MoBA computes them (then masked). */
    const double blocks_before_last = floor((prior + s - 1.0) / bs);
    const double cand = (sparse_blocks_seen(prior, s, bs) - s) / s; /* mean per query */
    if (k > 1 && blocks_before_last > 0) {
        struct op *gate = op_batched_gemm(g, "moba_gate", st->batch * hkv, blocks_before_last,
                                          s * grp, d, false);
        gate->per_seq = true; /* blocks and candidates follow the context */
        if (prior > 0) { /* centroids read from the cache */
            gate->shape.gemm.a_kv = true;
            op_count(gate);
        }
        op_router(g, "moba_topk", t * hq, cand, fmin(k - 1.0, cand))->per_seq = true;
    }

    /* Pairs charged: the useful ones. The only pairs a MoBA kernel computes
     * beyond them are the masked half of each query's own (diagonal) block
     * tile, which the dense causal convention S(S+1)/2 of gqa, and swa's rule
     * (tile waste beyond what the dense convention leaves out), do not charge
     * either: one rule for every kind (docs/conventions.md, "Causal pairs"). */
    struct sparse_pairs sp;
    sparse_block_pairs(prior, s, bs, k, &sp);
    double keys = prior + s; /* prefill: each key read once (ideal tiling) */
    if (s == 1 && prior > 0) {
        /* decode: the union over a group's query heads of their selected
         * blocks, at most grp*(k-1) distinct earlier blocks, plus the own */
        const double j = floor(prior / bs);
        keys = fmin(j, grp * (k - 1.0)) * bs + (prior - j * bs + 1.0);
    }
    const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = s,
                                  .skv = keys, .pairs = sp.useful, .kv_width = 2.0 * hkv * d,
                                  .kv_cached = prior > 0};
    op_attention(g, "attention", &as);
    op_gemm(g, "o_proj", t, h, hq * d, false);
}

const struct block_kind BLOCK_MOBA = {
    .name = "moba", .slot = SLOT_ATTN,
    .summary = "mixture of block attention: top-k key blocks per query (Lu et al. 2025)",
    .keys = MOBA_KEYS, .n_keys = N(MOBA_KEYS), .cfg_size = sizeof(struct moba_cfg),
    .defaults = moba_defaults, .check = moba_check, .count = moba_count,
    .tp_check = moba_tp_check, .lower = moba_lower, .max_ops = 9};
