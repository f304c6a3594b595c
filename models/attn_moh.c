/* attn_moh.c - mixture-of-head attention (MoH).
 *
 * Jin et al. 2024, "MoH: Multi-Head Attention as Mixture-of-Head Attention"
 * (arXiv 2410.11842, ICML 2025; code github.com/SkyworkAI/MoH). Attention heads
 * are experts: H_s shared heads are always active, and a router picks the
 * top-k of the H - H_s routed heads for each token; the output is the
 * gate-weighted sum of the active heads' outputs through their slices of the
 * output projection. Here over GQA key/value heads (Hkv), as in MoH-LLaMA3-8B.
 *
 * Routers (`router`):
 *   linear      the paper's two-stage router: W_r (H - H_s logits) for the
 *               routed heads, W_s (H_s logits, when H_s > 1) for the shared
 *               heads and W_h (2 logits, when H_s > 0) balancing the two
 *               sets: h*(H - H_s) + h*H_s + 2h parameters.
 *   query_norm  parameter-free, as in the MoH-LLaMA3-8B code: the logits are
 *               the L2 norms of the routed heads' queries.
 *
 * What is paid: the QKV projection is dense over all H query and Hkv KV
 * heads, as the paper's code computes it (K and V of every head are needed,
 * since later tokens may pick any head; query_norm reads every routed query);
 * the attention core and the output projection run for the H_s + k active
 * heads only. Details: docs/variants/moh.md.
 *
 * Entry point: BLOCK_MOH (listed in registry.c). */
#include <stddef.h>

#include "moe_route.h"
#include "attn_common.h"
#include "model.h"

enum moh_router { MOH_ROUTER_LINEAR, MOH_ROUTER_QUERY_NORM };
static const char *const MOH_ROUTERS[] = {"linear", "query_norm", NULL};

struct moh_cfg {
    int64_t heads, kv_heads, head_dim, shared_heads, top_k;
    int router;
    bool rope;
};

#define OFF(f) offsetof(struct moh_cfg, f)
static const struct key_spec MOH_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "moh: mixture-of-head attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"shared_heads", KEY_INT, OFF(shared_heads), 0, 65536, 0, NULL, "count",
     "always-active heads H_s (default 0)"},
    {"top_k", KEY_INT, OFF(top_k), 1, 65536, 1, NULL, "count",
     "routed heads each token activates, k <= H - H_s"},
    {"router", KEY_ENUM, OFF(router), 0, 0, 0, MOH_ROUTERS, "",
     "head router: linear (two-stage, the paper's) or query_norm (parameter-free; default "
     "linear)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void moh_defaults(void *p)
{
    struct moh_cfg *c = p;
    c->rope = true;
    c->router = MOH_ROUTER_LINEAR;
}

static int moh_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    struct moh_cfg *c = p;
    if (attn_heads_check(c->heads, c->kv_heads, d, map, e)) return -1;
    if (c->shared_heads >= c->heads)
        return yml_fail(d, yml_map_get(d, map, "shared_heads"), e,
                        "shared_heads (%lld) must be less than heads (%lld): no head is left "
                        "to route",
                        (long long)c->shared_heads, (long long)c->heads);
    if (c->top_k > c->heads - c->shared_heads)
        return yml_fail(d, yml_map_get(d, map, "top_k"), e,
                        "top_k (%lld) must not exceed the routed heads (heads %lld - "
                        "shared_heads %lld = %lld)",
                        (long long)c->top_k, (long long)c->heads, (long long)c->shared_heads,
                        (long long)(c->heads - c->shared_heads));
    return 0;
}

/* Router logits per token: W_r (H - H_s), W_s (H_s, only when H_s > 1: one
 * shared head needs no softmax) and W_h (2, only when H_s > 0). 0 for the
 * parameter-free query_norm router. */
static double router_logits(const struct moh_cfg *c)
{
    if (c->router == MOH_ROUTER_QUERY_NORM) return 0;
    const double hs = (double)c->shared_heads;
    return ((double)c->heads - hs) + (hs > 1 ? hs : 0.0) + (hs > 0 ? 2.0 : 0.0);
}

/* Params with hq query heads of which `o_heads` have their W_O slice counted
 * and hkv KV heads; the router is replicated (whole on every device). */
static double moh_params(const struct moh_cfg *c, double h, double hq, double o_heads,
                         double hkv)
{
    const double d = (double)c->head_dim;
    return h * (hq + 2.0 * hkv) * d + o_heads * d * h + h * router_logits(c);
}


/* Active params (one token): all of Q, K, V, the router, and W_O of the
 * H_s + k active heads. */
static void moh_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct moh_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, kvl = attn_local_kv_heads(hkv, tp);
    out->params = moh_params(c, h, hq, hq, hkv);
    out->active_params =
        moh_params(c, h, hq, (double)(c->shared_heads + c->top_k), hkv);
    out->kv_elems = 2.0 * hkv * d;
    out->params_dev = moh_params(c, h, hq / tp, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d;
}

/* Heads split evenly, shared and routed alike (H and H_s divisible by tp);
 * KV heads split or replicated as in GQA. Each device then holds (H - H_s)/tp
 * routed heads and, under uniform routing, runs k/tp of them per token on
 * average. */
static int moh_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct moh_cfg *c = p;
    if (c->shared_heads % (long long)tp)
        return snprintf(msg, n, "shared_heads (%lld) not divisible by %.0f", (long long)c->shared_heads, tp), -1;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

/* One device. Router first (linear: one GEMM for all logits, the top-k over
 * the routed logits, the shared heads' and the 2-way softmax), then the dense
 * QKV projection, the attention core over the active heads, and the output
 * projection split into the shared heads' GEMM and one GEMM per touched routed
 * head (uniform routing, as for MoE experts: E(1 - (1 - k/E)^T) of the E
 * routed heads are touched by T tokens), summed with the gates. */
static void moh_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct moh_cfg *c = p;
    const struct step *st = x->st;
    const double tp = st->tp, h = (double)x->m->hidden, t = x->tokens, d = (double)c->head_dim;
    const double hq = (double)c->heads / tp, hkv = attn_local_kv_heads((double)c->kv_heads, tp);
    const double hs = (double)c->shared_heads / tp, k = (double)c->top_k / tp;
    const double routed_all = (double)(c->heads - c->shared_heads), routed = routed_all / tp;
    if (c->router == MOH_ROUTER_LINEAR) {
        op_gemm(g, "head_router", t, router_logits(c), h, false);
        op_router(g, "head_topk", t, routed_all, (double)c->top_k);
        if (c->shared_heads > 0)
            op_softmax(g, "head_gates", t, (c->shared_heads > 1 ? (double)c->shared_heads : 0) + 2);
    }
    op_gemm(g, "qkv_proj", t, (hq + 2.0 * hkv) * d, h, false);
    if (c->router == MOH_ROUTER_QUERY_NORM) {
        op_elementwise(g, "query_norm", t * routed, 1, d, 2.0 * d, false);
        op_router(g, "head_topk", t, routed_all, (double)c->top_k);
    }
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    const double s = st->q_len, pairs = attn_causal_pairs(st);
    const struct attn_shape as = {.b = st->batch, .hq = hs + k, .dqk = d, .dv = d, .sq = s,
                                  .skv = st->ctx_prior + s, .pairs = pairs,
                                  .kv_width = 2.0 * hkv * d, .kv_cached = st->ctx_prior > 0};
    op_attention(g, "attention", &as);
    if (hs > 0) op_gemm(g, "o_proj_shared", t, h, hs * d, false);
    const double touched = moe_experts_touched(routed, k, t);
    op_batched_gemm(g, "o_proj_routed", touched, t * k / touched, h, d, false);
    /* gate-weighted sum per token of the k routed outputs (+ the shared one) */
    const double inputs = k + (hs > 0 ? 1.0 : 0.0);
    op_elementwise(g, "head_combine", t, h, inputs, 2.0 * inputs, false);
}

const struct block_kind BLOCK_MOH = {
    .name = "moh",
    .slot = SLOT_ATTN,
    .summary = "mixture-of-head attention: shared heads plus top-k routed heads per token "
               "(Jin et al. 2024)",
    .keys = MOH_KEYS,
    .n_keys = N(MOH_KEYS),
    .cfg_size = sizeof(struct moh_cfg),
    .defaults = moh_defaults,
    .check = moh_check,
    .count = moh_count,
    .tp_check = moh_tp_check,
    .lower = moh_lower,
    .max_ops = 11,
    .takes_mask = true,
};
