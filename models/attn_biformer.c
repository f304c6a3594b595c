/* attn_biformer.c - BiFormer's bi-level routing attention (`kind: biformer`).
 *
 * Zhu, Wang, Ke, Li and Lau, "BiFormer: Vision Transformer with Bi-Level
 * Routing Attention", CVPR 2023, arXiv:2303.08810, sec. 3.2. The tokens are
 * cut into regions; region-level queries and keys (the mean of each region's
 * q and k) give a region-to-region affinity A = Q^r (K^r)^T; each query region
 * keeps its top-k regions (one routing index shared by all heads), the keys and
 * values of those regions are gathered, and token-to-token attention runs
 * over the gathered tokens with dense matrix multiplications. An optional
 * local context enhancement (LCE) adds a depthwise convolution of V.
 *
 * Here, for causal language models (1-D regions of r tokens): the candidates
 * of a query region are the complete earlier regions; its own region is always
 * kept, causally masked, and counts as one of the top_k (the pattern of
 * `moba` with block = region, so the pairs come from sparse_block_pairs). What
 * differs from MoBA: one affinity row per query REGION (not per query token)
 * over all heads' channels, one routing index for all heads, and the explicit
 * gather of the selected keys and values (the paper's implementation), which
 * `explicit_gather: false` replaces by a kernel that reads blocks in place.
 * Region key means are cached beside K and V (Hkv*D per r tokens). In decode
 * the query's own token is its region query (as in MoBA).
 *
 * Ops: qkv_proj, rope, kv_write, region_pool_k, region_pool_q, region_affinity,
 * region_topk, kv_gather, attention, lce, o_proj. Formulas:
 * docs/variants/biformer.md. */
#include <math.h>
#include <stddef.h>

#include "attn_common.h"
#include "attn_sparse.h"
#include "model.h"

struct biformer_cfg {
    int64_t heads, kv_heads, head_dim, region_size, top_k, lce;
    bool explicit_gather, rope;
};

#define OFF(f) offsetof(struct biformer_cfg, f)
static const struct key_spec BIFORMER_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "biformer: bi-level routing attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"region_size", KEY_INT, OFF(region_size), 1, 1048576, 1, NULL, "tokens",
     "tokens per region r"},
    {"top_k", KEY_INT, OFF(top_k), 1, 65536, 1, NULL, "regions",
     "regions each query region attends, its own region included"},
    {"lce", KEY_INT, OFF(lce), 0, 64, 0, NULL, "taps",
     "local context enhancement: taps of a causal depthwise conv of V added to the output; "
     "needs kv_heads = heads; 0 = none (default 0)"},
    {"explicit_gather", KEY_BOOL, OFF(explicit_gather), 0, 0, 0, NULL, "",
     "prefill copies the selected regions' K and V into a dense buffer, as the paper's "
     "implementation does (default true)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void biformer_defaults(void *p)
{
    struct biformer_cfg *c = p;
    c->explicit_gather = true;
    c->rope = true;
}

static int biformer_check(void *p, uint64_t present, const struct model *m,
                          const struct yml_doc *d, yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    const struct biformer_cfg *c = p;
    if (attn_heads_check(c->heads, c->kv_heads, d, map, e)) return -1;
    if (c->lce == 1)
        return yml_fail(d, yml_map_get(d, map, "lce"), e,
                        "lce 1 is a per-channel scale, not a convolution: use 0 (none) or at "
                        "least 2 taps");
    if (c->lce > 0 && c->kv_heads != c->heads)
        return yml_fail(d, yml_map_get(d, map, "lce"), e,
                        "lce adds a convolution of V to the output, which needs kv_heads = "
                        "heads (%lld), got %lld",
                        (long long)c->heads, (long long)c->kv_heads);
    return 0;
}

static double biformer_params(const struct biformer_cfg *c, double h, double hq, double hkv)
{
    const double d = (double)c->head_dim;
    return h * (hq + 2.0 * hkv) * d + hq * d * h + hq * d * (double)c->lce;
}

static void biformer_count(const void *p, const struct model *m, double tp,
                           struct block_counts *out)
{
    const struct biformer_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, r = (double)c->region_size,
                 kvl = attn_local_kv_heads(hkv, tp);
    out->params = biformer_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d + hkv * d / r;
    out->params_dev = biformer_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d + kvl * d / r;
}

static int biformer_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct biformer_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

/* F(J) = sum over regions j = 0..J-1 of min(k - 1, j): earlier regions a
 * query region attends (all of them while fewer than k - 1 exist). */
static double earlier_prefix(double jj, double k)
{
    const double m = fmin(jj, k - 1.0);
    return m * (m - 1.0) / 2.0 + (jj - m) * (k - 1.0);
}

/* Keys gathered per sequence in a step of q tokens after `prior`: every query
 * region j (those holding a query of the step) gathers min(k - 1, j) earlier
 * regions of r keys and the keys of its own region present at the step's end. */
static double biformer_gathered_keys(double prior, double q, double r, double k)
{
    const double end = prior + q, j0 = floor(prior / r), j1 = floor((end - 1.0) / r);
    const double earlier = r * (earlier_prefix(j1 + 1.0, k) - earlier_prefix(j0, k));
    const double own = (j1 - j0) * r + (end - j1 * r);
    return earlier + own;
}

static void biformer_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct biformer_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens, b = st->batch, s = st->q_len, prior = st->ctx_prior,
                 r = (double)c->region_size, k = (double)c->top_k, end = prior + s;
    const bool prefill = s > 1;

    op_gemm(g, "qkv_proj", t, (hq + 2.0 * hkv) * d, h, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    /* region means: keys stored beside the cache (r adds per element, counted
     * once per key); queries of each query region of the step (prefill) */
    op_elementwise(g, "region_pool_k", t / r, hkv * d, r, r, true);
    const double j0 = floor(prior / r), j1 = floor((end - 1.0) / r);
    const double q_regions = prefill ? j1 - j0 + 1.0 : 1.0; /* per sequence */
    /* Region queries summed over a KV group's heads: the affinity over all
     * heads, sum_h q_h . k_kv(h), equals sum over KV heads of (the group's
     * summed q) . k, so its inner dimension is Hkv*D (H*D's worth of query
     * elements read once). Decode uses the token's own queries. */
    if (prefill)
        op_elementwise(g, "region_pool_q", b * q_regions, hkv * d, s / q_regions * (hq / hkv),
                       s / q_regions * (hq / hkv), false);

    /* Affinity of each query region to the complete earlier regions (one
     * routing index for every head), then its top-k. The cached region means
     * are the GEMM's first operand (read from the KV cache after a prior
     * context), the region queries its second. */
    const double before = floor((end - 1.0) / r); /* complete regions before the last */
    /* mean candidates per query region: region j has j complete earlier ones */
    const double cand = prefill ? (earlier_prefix(j1 + 1.0, before + 1.0) -
                                   earlier_prefix(j0, before + 1.0)) / q_regions
                                : before;
    if (k > 1 && before > 0) {
        struct op *aff = op_batched_gemm(g, "region_affinity", b, before, q_regions, hkv * d, false);
        aff->per_seq = true;
        if (prior > 0) {
            aff->shape.gemm.a_kv = true;
            op_count(aff);
        }
        op_router(g, "region_topk", b * q_regions, cand, fmin(k - 1.0, cand))->per_seq = true;
    }

    struct sparse_pairs sp;
    sparse_block_pairs(prior, s, r, k, &sp);
    double keys;
    bool cached = prior > 0;
    if (!prefill) {
        /* decode: the k - 1 selected regions (one index for all heads) and the own */
        const double j = floor(prior / r);
        keys = fmin(j, k - 1.0) * r + (prior - j * r + 1.0);
    } else if (c->explicit_gather) {
        /* the gathered buffer: each query region's regions, copied once */
        keys = biformer_gathered_keys(prior, s, r, k);
        op_elementwise(g, "kv_gather", b * keys, 2.0 * hkv * d, 1, 0, false)->per_seq = true;
        cached = false; /* attention reads the gathered copy */
    } else {
        keys = end; /* every key read once (ideal tiling) */
    }
    const struct attn_shape as = {.b = b, .hq = hq, .dqk = d, .dv = d, .sq = s, .skv = keys,
                                  .pairs = sp.useful, /* own region's masked half not
                                                       * charged: docs/conventions.md */
                                  .kv_width = 2.0 * hkv * d, .kv_cached = cached};
    op_attention(g, "attention", &as);
    if (c->lce > 0) /* V convolved over lce taps, added to the attention output */
        op_elementwise(g, "lce", t, hq * d, 2, 2.0 * (double)c->lce + 1.0, false);
    op_gemm(g, "o_proj", t, h, hq * d, false);
}

const struct block_kind BLOCK_BIFORMER = {
    .name = "biformer", .slot = SLOT_ATTN,
    .summary = "bi-level routing attention: top-k regions per query region (Zhu et al. 2023)",
    .keys = BIFORMER_KEYS, .n_keys = N(BIFORMER_KEYS), .cfg_size = sizeof(struct biformer_cfg),
    .defaults = biformer_defaults, .check = biformer_check, .count = biformer_count,
    .tp_check = biformer_tp_check, .lower = biformer_lower, .max_ops = 11};
