/* attn_routing.c - Routing Transformer attention (`kind: routing`).
 *
 * Roy, Saffar, Vaswani and Grangier, "Efficient Content-Based Sparse Attention
 * with Routing Transformers", TACL 9 (2021), arXiv:2003.05997. Queries and
 * keys are normalised and assigned to the nearest of c centroids (online
 * k-means); each query attends only the keys of its own cluster. With c = sqrt(n)
 * the assignment (n c d) and the attention (n^2 d / c) are both O(n^1.5 d).
 *
 * Here: GQA projections (H query heads, Hkv KV heads, head dim D, group
 * g = H/Hkv); c centroids per KV head, shared by the keys of that head and the
 * queries of its group (c per head with H = Hkv, as in the paper). The
 * centroids are held as weights (Hkv*c*D per layer); one cluster id per key
 * and KV head is cached beside K and V. `balanced` clusters (each cluster takes
 * the ceil(n/c) nearest tokens, the paper's implementation) run as dense
 * cluster tiles; unbalanced clusters are costed at their expectation under a
 * uniform assignment. `kmeans_iters` > 1 re-clusters the step's tokens in
 * prefill (assignment + centroid update per extra iteration); decode assigns
 * the one new token against the stored centroids.
 *
 * Ops: qkv_proj, rope, route_norm, kv_write, route_ids, route_assign,
 * kmeans_update, route_select, route_gather, attention, route_scatter, o_proj.
 * Formulas and the expectation conventions: docs/variants/routing.md. */
#include <math.h>
#include <stddef.h>

#include "attn_common.h"
#include "model.h"

struct routing_cfg {
    int64_t heads, kv_heads, head_dim, clusters, kmeans_iters;
    bool balanced, shared_qk, rope;
};

#define OFF(f) offsetof(struct routing_cfg, f)
static const struct key_spec ROUTING_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "routing: content-routed (k-means) sparse attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple (H for the paper's MHA)"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"clusters", KEY_INT, OFF(clusters), 1, 1048576, 1, NULL, "count",
     "k-means centroids c per KV head (the paper: about sqrt(sequence length))"},
    {"balanced", KEY_BOOL, OFF(balanced), 0, 0, 0, NULL, "",
     "equal-size clusters of ceil(n/c) tokens, computed as dense tiles (default true); "
     "false: nearest-centroid clusters, costed at their uniform expectation"},
    {"kmeans_iters", KEY_INT, OFF(kmeans_iters), 1, 64, 0, NULL, "count",
     "k-means iterations over the step's tokens in prefill (default 1: assign only)"},
    {"shared_qk", KEY_BOOL, OFF(shared_qk), 0, 0, 0, NULL, "",
     "keys are the queries (one routed set, no key projection); needs kv_heads = heads "
     "(default false)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void routing_defaults(void *p)
{
    struct routing_cfg *c = p;
    c->balanced = true;
    c->kmeans_iters = 1;
    c->rope = true;
}

static int routing_check(void *p, uint64_t present, const struct model *m,
                         const struct yml_doc *d, yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    const struct routing_cfg *c = p;
    if (attn_heads_check(c->heads, c->kv_heads, d, map, e)) return -1;
    if (c->shared_qk && c->kv_heads != c->heads)
        return yml_fail(d, yml_map_get(d, map, "shared_qk"), e,
                        "shared_qk needs kv_heads = heads (%lld), got %lld: a shared key is "
                        "one query head's vector",
                        (long long)c->heads, (long long)c->kv_heads);
    return 0;
}

/* Projections (q, k unless shared, v, o) and the centroids, for hq query
 * and hkv KV heads. */
static double routing_params(const struct routing_cfg *c, double h, double hq, double hkv)
{
    const double d = (double)c->head_dim;
    const double kv_proj = (c->shared_qk ? 1.0 : 2.0) * hkv;
    return h * (hq + kv_proj) * d + hq * d * h + hkv * (double)c->clusters * d;
}

static void routing_count(const void *p, const struct model *m, double tp,
                          struct block_counts *out)
{
    const struct routing_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, kvl = attn_local_kv_heads(hkv, tp);
    out->params = routing_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d + hkv; /* K, V and one cluster id per KV head */
    out->params_dev = routing_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d + kvl;
}

static int routing_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct routing_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

static void routing_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct routing_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens, b = st->batch, s = st->q_len, prior = st->ctx_prior,
                 n = prior + s, cl = (double)c->clusters, grp = hq / hkv;
    const bool shared = c->shared_qk, prefill = s > 1;
    /* vectors routed per token and KV head: the group's queries and the key */
    const double routed = shared ? 1.0 : grp + 1.0;
    const double iters = prefill ? (double)c->kmeans_iters : 1.0;

    op_gemm(g, "qkv_proj", t, (hq + (shared ? 1.0 : 2.0) * hkv) * d, h, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + (shared ? 0.0 : hkv)) * d, 1, FLOPS_ROPE, false);
    /* layer norm without scale or bias puts q and k on one sphere */
    op_norm(g, "route_norm", t, (hq + (shared ? 0.0 : hkv)) * d, 0, FLOPS_LAYERNORM);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    op_elementwise(g, "route_ids", t, hkv, 1, 0, true); /* cluster id of each new key */
    /* distances of every routed vector of the step to its KV head's c
     * centroids (one GEMM per KV head and iteration: the centroids are read
     * once for all sequences) */
    op_batched_gemm(g, "route_assign", hkv * iters, t * routed, cl, d, false);
    if (iters > 1) /* each extra iteration re-averages the members of every centroid */
        op_elementwise(g, "kmeans_update", t * hkv * routed * (iters - 1.0), d, 1, 1, false);
    /* balanced: each centroid keeps its ceil(.) nearest of the step's vectors;
     * unbalanced: each vector takes its nearest centroid */
    const double wq = ceil(s / cl), wk = ceil(n / cl);
    if (c->balanced && prefill)
        op_router(g, "route_select", b * hkv * routed * cl, s, wq);
    else
        op_router(g, "route_select", t * hkv * routed, cl, 1);

    /* Pairs per query head and sequence. useful: a causal pair survives when
     * query and key share a cluster; under a uniform assignment that is
     * 1/c of the causal pairs (a shared key always meets its own query). */
    const double causal = attn_causal_pairs(st);
    const double useful = shared ? (causal - s) / cl + s : causal / cl;
    double computed, keys;
    if (!prefill) {
        /* decode: the query reads its cluster, ~n/c keys (ceil when balanced);
         * a group's g query heads may pick g different clusters */
        const double per = c->balanced ? wk : n / cl;
        computed = per;
        keys = fmin(n, grp * per);
    } else if (c->balanced) {
        computed = cl * wq * wk; /* c dense tiles of wq queries x wk keys */
        keys = n;
    } else {
        /* sum over clusters of E[queries_i * keys_i]; with shared q/k the new
         * tokens are the same draws on both sides: E[q_i^2] = s/c (1 - 1/c) + s^2/c^2 */
        computed = shared ? s * prior / cl + s * (1.0 - 1.0 / cl) + s * s / cl : s * n / cl;
        keys = n;
    }
    if (prefill) /* tokens sorted into cluster order, and the outputs back */
        op_elementwise(g, "route_gather", t, (hq + 2.0 * hkv) * d, 1, 0, false);
    const struct attn_shape as = {.b = b, .hq = hq, .dqk = d, .dv = d, .sq = s, .skv = keys,
                                  .pairs = computed,
                                  .pairs_useful = prefill ? useful : computed,
                                  .kv_width = 2.0 * hkv * d, .kv_cached = prior > 0};
    op_attention(g, "attention", &as);
    if (prefill) op_elementwise(g, "route_scatter", t, hq * d, 1, 0, false);
    op_gemm(g, "o_proj", t, h, hq * d, false);
}

const struct block_kind BLOCK_ROUTING = {
    .name = "routing", .slot = SLOT_ATTN,
    .summary = "Routing Transformer: k-means clusters, attention within a cluster (Roy et al. 2021)",
    .keys = ROUTING_KEYS, .n_keys = N(ROUTING_KEYS), .cfg_size = sizeof(struct routing_cfg),
    .defaults = routing_defaults, .check = routing_check, .count = routing_count,
    .tp_check = routing_tp_check, .lower = routing_lower, .max_ops = 12};
