/* attn_diffqkv.c - DiffQKV attention (Sigma, Microsoft 2025).
 *
 * Lin et al., "Sigma: Differential Rescaling of Query, Key and Value for
 * Efficient Language Models", arXiv:2501.13629 (2025). K and V are compressed
 * differently: Hk key heads of dimension Dk and Hv value heads of dimension
 * Dv (K compressed harder than V, so typically Hk <= Hv, Dk <= Dv), shared by
 * H query heads; and the query is "augmented": its heads get a larger
 * dimension Dq > Dk.
 *
 * How Q of dimension Dq meets K of dimension Dk is our modelling choice (see
 * docs/variants/diffqkv.md): q is projected h -> H*Dq, then per head Dq -> Dk
 * (a block-diagonal H*Dq*Dk matrix), so QK^T runs at Dk. Without `q_aug_dim`
 * (or with q_aug_dim = k_head_dim) the q projection is plain h -> H*Dk.
 *
 * Per layer: params = h*H*Dq + [H*Dq*Dk if Dq > Dk] + h*Hk*Dk + h*Hv*Dv
 *                   + H*Dv*h;
 * cached elements per token = Hk*Dk + Hv*Dv.
 * Core per (query, key) pair and head: 2*Dk (score) + 2*Dv (value) FLOPs.
 * Tensor parallelism: H/tp query heads per device; key heads and value heads
 * each split, or replicated one per device when tp exceeds them.
 *
 * Entry point: BLOCK_DIFFQKV (listed in registry.c). */
#include <stddef.h>

#include "attn_common.h"
#include "model.h"

struct diffqkv_cfg {
    int64_t heads, k_heads, v_heads, k_head_dim, v_head_dim, q_aug_dim;
    bool rope;
};

#define OFF(f) offsetof(struct diffqkv_cfg, f)
static const struct key_spec DIFFQKV_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "diffqkv: DiffQKV attention (Sigma, 2025)"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"k_heads", KEY_INT, OFF(k_heads), 1, 65536, 1, NULL, "count",
     "key heads Hk; heads must be a multiple"},
    {"v_heads", KEY_INT, OFF(v_heads), 1, 65536, 1, NULL, "count",
     "value heads Hv; heads must be a multiple"},
    {"k_head_dim", KEY_INT, OFF(k_head_dim), 1, 65536, 1, NULL, "features",
     "key head dimension Dk (also the q.k dot-product width)"},
    {"v_head_dim", KEY_INT, OFF(v_head_dim), 1, 65536, 1, NULL, "features",
     "value head dimension Dv (also each head's output width)"},
    {"q_aug_dim", KEY_INT, OFF(q_aug_dim), 1, 65536, 0, NULL, "features",
     "augmented query head dimension Dq >= Dk (default Dk: no augmentation)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void diffqkv_defaults(void *p)
{
    struct diffqkv_cfg *c = p;
    c->rope = true;
}

/* One head-count rule for K and for V: not more than H, and dividing H. */
static int check_heads(const struct yml_doc *d, yml_node map, struct err *e, const char *key,
                       int64_t n, int64_t heads)
{
    if (n > heads)
        return yml_fail(d, yml_map_get(d, map, key), e, "%s (%lld) must not exceed heads (%lld)",
                        key, (long long)n, (long long)heads);
    if (heads % n != 0)
        return yml_fail(d, yml_map_get(d, map, key), e,
                        "heads (%lld) must be divisible by %s (%lld)", (long long)heads, key,
                        (long long)n);
    return 0;
}

static int diffqkv_check(void *p, uint64_t present, const struct model *m,
                         const struct yml_doc *d, yml_node map, struct err *e)
{
    (void)m;
    struct diffqkv_cfg *c = p;
    if (check_heads(d, map, e, "k_heads", c->k_heads, c->heads)) return -1;
    if (check_heads(d, map, e, "v_heads", c->v_heads, c->heads)) return -1;
    const int qa = yml_key_index(DIFFQKV_KEYS, N(DIFFQKV_KEYS), "q_aug_dim");
    if (!(present & (UINT64_C(1) << qa))) c->q_aug_dim = c->k_head_dim;
    if (c->q_aug_dim < c->k_head_dim)
        return yml_fail(d, yml_map_get(d, map, "q_aug_dim"), e,
                        "q_aug_dim (%lld) must be at least k_head_dim (%lld): augmentation "
                        "widens the query",
                        (long long)c->q_aug_dim, (long long)c->k_head_dim);
    return 0;
}

/* Heads one of tp devices holds: n/tp, or 1 (replicated) when tp > n. */
static double local_heads(double n, double tp) { return n >= tp ? n / tp : 1.0; }

/* Params with hq query, hk key and hv value heads (a device's share when
 * those are local counts). */
static double diffqkv_params(const struct diffqkv_cfg *c, double h, double hq, double hk,
                             double hv)
{
    const double dk = (double)c->k_head_dim, dv = (double)c->v_head_dim,
                 dq = (double)c->q_aug_dim;
    double p = h * hq * dq + h * hk * dk + h * hv * dv + hq * dv * h;
    if (c->q_aug_dim > c->k_head_dim) p += hq * dq * dk;
    return p;
}

static void diffqkv_count(const void *p, const struct model *m, double tp,
                          struct block_counts *out)
{
    const struct diffqkv_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hk = (double)c->k_heads,
                 hv = (double)c->v_heads, dk = (double)c->k_head_dim,
                 dv = (double)c->v_head_dim, hkl = local_heads(hk, tp),
                 hvl = local_heads(hv, tp);
    out->params = diffqkv_params(c, h, hq, hk, hv);
    out->active_params = out->params;
    out->kv_elems = hk * dk + hv * dv;
    out->params_dev = diffqkv_params(c, h, hq / tp, hkl, hvl);
    out->kv_elems_dev = hkl * dk + hvl * dv;
}

/* Query heads split evenly; key and value heads each split or replicated. */
static int diffqkv_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct diffqkv_cfg *c = p;
    const long long t = (long long)tp, h = c->heads, hk = c->k_heads, hv = c->v_heads;
    if (h % t) return snprintf(msg, n, "heads (%lld) not divisible by %lld", h, t), -1;
    if (hk % t && t % hk)
        return snprintf(msg, n, "k_heads (%lld) and %lld devices: neither divides the other",
                        hk, t),
               -1;
    if (hv % t && t % hv)
        return snprintf(msg, n, "v_heads (%lld) and %lld devices: neither divides the other",
                        hv, t),
               -1;
    return 0;
}

/* qkv_proj (q at Dq), q_aug down to Dk, rope, kv_write, attention, o_proj. */
static void diffqkv_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct diffqkv_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hk = local_heads((double)c->k_heads, st->tp),
                 hv = local_heads((double)c->v_heads, st->tp), dk = (double)c->k_head_dim,
                 dv = (double)c->v_head_dim, dq = (double)c->q_aug_dim, t = x->tokens;
    const double kv_n = hk * dk + hv * dv;
    op_gemm(g, "qkv_proj", t, hq * dq + kv_n, h, false);
    /* Per-head Dq -> Dk: hq GEMMs of (T x Dq)(Dq x Dk) in one launch. */
    if (c->q_aug_dim > c->k_head_dim) op_batched_gemm(g, "q_aug_down", hq, t, dk, dq, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hk) * dk, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, kv_n, 1, 0, true);
    const double s = st->q_len, pairs = attn_causal_pairs(st);
    const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = dk, .dv = dv, .sq = s,
                                  .skv = st->ctx_prior + s, .pairs = pairs,
                                  .kv_width = kv_n, .kv_cached = st->ctx_prior > 0};
    op_attention(g, "attention", &as);
    op_gemm(g, "o_proj", t, h, hq * dv, false);
}

const struct block_kind BLOCK_DIFFQKV = {
    .name = "diffqkv", .slot = SLOT_ATTN,
    .summary = "DiffQKV attention: separate K and V head counts and dims, augmented q "
               "(Sigma, Lin et al. 2025)",
    .keys = DIFFQKV_KEYS, .n_keys = N(DIFFQKV_KEYS), .cfg_size = sizeof(struct diffqkv_cfg),
    .defaults = diffqkv_defaults, .check = diffqkv_check, .count = diffqkv_count,
    .tp_check = diffqkv_tp_check, .lower = diffqkv_lower, .max_ops = 6, .takes_mask = true};
