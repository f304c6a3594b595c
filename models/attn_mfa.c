/* attn_mfa.c - Multi-matrix Factorization Attention (MFA), as in Step-3.
 *
 * Hu et al., "Multi-matrix Factorization Attention", arXiv:2412.19255 (2024);
 * StepFun, "Step-3 is Large yet Affordable: Model-system Co-design for
 * Cost-effective Decoding", arXiv:2507.19427 (2025). Many query heads of a
 * large head dimension D share ONE key head and ONE value head; the query is
 * factorised through a low rank C: down-projection h -> C, RMSNorm over C,
 * up-projection C -> H*D. Step-3 (config.json, vLLM's Step3TextAttention):
 * H = 64, D = 256, C = 2048 (`share_q_dim`), no biases, RoPE on q and k.
 *
 * Per layer: params = h*(C + 2*D) [q-down, k, v] + C [q norm] + C*H*D [q-up]
 *                   + H*D*h [o];
 * cached elements per token = 2*D (one K head and one V head).
 * Tensor parallelism (vLLM): the h -> C + 2D projection, the q norm and the
 * single KV head are replicated on every device; the q up-projection is split
 * by heads (H/tp per device) and o_proj by its input rows. tp must divide H.
 *
 * Entry point: BLOCK_MFA (listed in registry.c). */
#include <stddef.h>

#include "attn_common.h"
#include "model.h"

struct mfa_cfg {
    int64_t heads, head_dim, q_rank;
    bool q_norm, rope;
};

#define OFF(f) offsetof(struct mfa_cfg, f)
static const struct key_spec MFA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "",
     "mfa: multi-matrix factorization attention (Step-3)"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features",
     "head dimension D of q, of the one key head and of the one value head"},
    {"q_rank", KEY_INT, OFF(q_rank), 1, 1048576, 1, NULL, "features",
     "low-rank query dimension C (Step-3 `share_q_dim`), C <= hidden"},
    {"q_norm", KEY_BOOL, OFF(q_norm), 0, 0, 0, NULL, "",
     "RMSNorm between the query down- and up-projection (default true)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void mfa_defaults(void *p)
{
    struct mfa_cfg *c = p;
    c->q_norm = true;
    c->rope = true;
}

/* A low rank must be low: C <= h. */
static int mfa_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    (void)present;
    const struct mfa_cfg *c = p;
    if (c->q_rank > m->hidden)
        return yml_fail(d, yml_map_get(d, map, "q_rank"), e,
                        "q_rank (%lld) must not exceed hidden (%lld)", (long long)c->q_rank,
                        (long long)m->hidden);
    return 0;
}

/* Params with hq query heads held (a device's share when hq = H/tp). */
static double mfa_params(const struct mfa_cfg *c, double h, double hq)
{
    const double d = (double)c->head_dim, r = (double)c->q_rank;
    double p = h * (r + 2.0 * d) + r * hq * d + hq * d * h;
    if (c->q_norm) p += r;
    return p;
}

static void mfa_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct mfa_cfg *c = p;
    const double h = (double)m->hidden, d = (double)c->head_dim;
    out->params = mfa_params(c, h, (double)c->heads);
    out->active_params = out->params;
    out->kv_elems = 2.0 * d;
    out->params_dev = mfa_params(c, h, (double)c->heads / tp);
    out->kv_elems_dev = 2.0 * d; /* the single KV head is on every device */
}

static int mfa_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct mfa_cfg *c = p;
    const long long t = (long long)tp;
    if (c->heads % t)
        return snprintf(msg, n, "heads (%lld) not divisible by %lld", (long long)c->heads, t),
               -1;
    return 0;
}

/* q-down with k and v in one GEMM, q norm, q-up, rope, kv_write, attention
 * (one KV head: kv_width 2*D), o_proj. */
static void mfa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct mfa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 d = (double)c->head_dim, r = (double)c->q_rank, t = x->tokens;
    op_gemm(g, "qkv_down", t, r + 2.0 * d, h, false);
    if (c->q_norm) op_norm(g, "q_norm", t, r, r, FLOPS_RMSNORM);
    op_gemm(g, "q_up", t, hq * d, r, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + 1.0) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * d, 1, 0, true);
    const double s = st->q_len, pairs = attn_causal_pairs(st);
    const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = s,
                                  .skv = st->ctx_prior + s, .pairs = pairs,
                                  .kv_width = 2.0 * d, .kv_cached = st->ctx_prior > 0};
    op_attention(g, "attention", &as);
    op_gemm(g, "o_proj", t, h, hq * d, false);
}

const struct block_kind BLOCK_MFA = {
    .name = "mfa", .slot = SLOT_ATTN,
    .summary = "multi-matrix factorization attention: low-rank q, one K and one V head "
               "(Step-3, StepFun 2025)",
    .keys = MFA_KEYS, .n_keys = N(MFA_KEYS), .cfg_size = sizeof(struct mfa_cfg),
    .defaults = mfa_defaults, .check = mfa_check, .count = mfa_count,
    .tp_check = mfa_tp_check, .lower = mfa_lower, .max_ops = 7, .takes_mask = true};
