/* attn_dsa.c - DSA: DeepSeek Sparse Attention (`kind: dsa`), DeepSeek-V3.2-Exp.
 *
 * DeepSeek-AI 2025, "DeepSeek-V3.2-Exp: Boosting Long-Context Efficiency with
 * DeepSeek Sparse Attention" (technical report), and the released config and
 * inference code of deepseek-ai/DeepSeek-V3.2-Exp. A lightning indexer with
 * H_I heads of d_I features scores every cached token for each query,
 *   I(t, s) = sum_j w_j(t) * ReLU(q_j(t) . k(s)),
 * in low precision (fp8); the top-k tokens (k = 2048) form the only keys of an
 * MLA core (attn_mla.c, naive or absorbed). Indexer weights: q from the MLA
 * query latent (r_q -> H_I*d_I), one key (h -> d_I, LayerNorm), per-head
 * weights (h -> H_I). Its cache holds d_I elements per token in index_dtype
 * (plus one fp32 scale per 128 when index_dtype is under 2 bytes; V3.2-Exp:
 * 128 + 4 = 132 bytes), counted in kv_elems as KV-dtype-equivalent elements:
 * index bytes / bytes of the model's KV dtype. The ops that store and read
 * that cache (idx_kv_write, idx_score) move the same bytes, scale included
 * (docs/variants/dsa.md).
 *
 * Tensor parallelism: the MLA part as `mla`; the indexer (one key head) is
 * replicated on every device. */
#include <math.h>
#include <stddef.h>

#include "attn_mla.h"
#include "attn_sparse.h"

struct dsa_cfg {
    struct mla_cfg mla; /* first: the mla_* callbacks take a dsa_cfg */
    int64_t index_heads, index_head_dim, index_topk;
    enum dtype index_dtype;
};

#define OFF(f) offsetof(struct dsa_cfg, f)
#define OFFM(f) offsetof(struct dsa_cfg, mla.f)
static const struct key_spec DSA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "dsa: DeepSeek sparse attention (MLA + indexer)"},
    MLA_KEY_ROWS(OFFM),
    {"index_heads", KEY_INT, OFF(index_heads), 1, 65536, 1, NULL, "count",
     "lightning indexer heads H_I (V3.2-Exp: 64)"},
    {"index_head_dim", KEY_INT, OFF(index_head_dim), 1, 65536, 1, NULL, "features",
     "indexer head dim d_I, cached per token (V3.2-Exp: 128)"},
    {"index_topk", KEY_INT, OFF(index_topk), 1, 16777216, 1, NULL, "tokens",
     "tokens each query attends (V3.2-Exp: 2048)"},
    {"index_dtype", KEY_DTYPE, OFF(index_dtype), 0, 0, 0, NULL, "",
     "indexer cache and scoring precision (default fp8)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void dsa_defaults(void *p)
{
    struct dsa_cfg *c = p;
    mla_defaults(p);
    c->index_dtype = DT_FP8;
}

static int dsa_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    const struct dsa_cfg *c = p;
    if (mla_check(p, present, m, d, map, e)) return -1;
    if (c->index_head_dim < c->mla.qk_rope_head_dim)
        return yml_fail(d, yml_map_get(d, map, "index_head_dim"), e,
                        "index_head_dim (%lld) is smaller than qk_rope_head_dim (%lld): the "
                        "indexer rotates that many of its features",
                        (long long)c->index_head_dim, (long long)c->mla.qk_rope_head_dim);
    return 0;
}

/* Indexer bytes cached per token: d_I elements in index_dtype, plus one fp32
 * scale per block of 128 when index_dtype is under 2 bytes (the reference
 * code's k_cache and k_scale_cache). */
static double index_bytes(const struct dsa_cfg *c)
{
    const double di = (double)c->index_head_dim, eb = dtype_bytes(c->index_dtype);
    return di * eb + (eb < 2.0 ? 4.0 * ceil(di / 128.0) : 0.0);
}

static double index_params(const struct dsa_cfg *c, double h)
{
    const double hi = (double)c->index_heads, di = (double)c->index_head_dim;
    const double q_in = c->mla.q_lora_rank > 0 ? (double)c->mla.q_lora_rank : h;
    return q_in * hi * di + h * di + 2.0 * di + h * hi;
}

static void dsa_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct dsa_cfg *c = p;
    mla_count(p, m, tp, out);
    const double ip = index_params(c, (double)m->hidden),
                 ie = index_bytes(c) / dtype_bytes(m->dt_kv);
    out->params += ip;
    out->active_params += ip;
    out->params_dev += ip;
    out->kv_elems += ie;
    out->kv_elems_dev += ie;
}

static void dsa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct dsa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, t = x->tokens, b = st->batch, s = st->q_len,
                 prior = st->ctx_prior, hi = (double)c->index_heads,
                 di = (double)c->index_head_dim, dr = (double)c->mla.qk_rope_head_dim,
                 topk = (double)c->index_topk;
    const double q_in = c->mla.q_lora_rank > 0 ? (double)c->mla.q_lora_rank : h;

    /* Lightning indexer: projections in the model's dtypes... */
    op_gemm(g, "idx_q", t, hi * di, q_in, false);
    op_gemm(g, "idx_k", t, di, h, false);
    op_norm(g, "idx_k_norm", t, di, 2.0 * di, FLOPS_LAYERNORM);
    op_gemm(g, "idx_w", t, hi, h, false);
    if (dr > 0) op_elementwise(g, "idx_rope", t, (hi + 1.0) * dr, 1, FLOPS_ROPE, false);
    /* ...the key store and the scores in index_dtype, as an attention op of
     * H_I heads over each query's causal prefix: QK^T is 2*d_I per pair and
     * head, the head weight and sum 2 more (the op's PV with d_v = 1); ReLU in
     * the op's per-score vector FLOPs. Keys come from the cache at decode.
     * Both ops move what is cached per token: index_bytes, i.e. iw elements of
     * index_dtype (fp8: 128 key bytes + the 4-byte scale = 132). */
    const double pairs = s * prior + s * (s + 1.0) / 2.0, keys = pairs / s;
    const double iw = index_bytes(c) / dtype_bytes(c->index_dtype);
    const enum dtype act = g->dt_act, kv = g->dt_kv;
    g->dt_act = g->dt_kv = c->index_dtype;
    op_elementwise(g, "idx_kv_write", t, iw, 1, 0, true);
    const struct attn_shape is = {.b = b, .hq = hi, .dqk = di, .dv = 1, .sq = s,
                                  .skv = prior + s, .pairs = pairs, .kv_width = iw,
                                  .kv_cached = prior > 0};
    op_attention(g, "idx_score", &is);
    g->dt_act = act;
    g->dt_kv = kv;
    /* top-k over each query's logits (pairs/s on average): per sequence */
    op_router(g, "idx_topk", t, keys, fmin(topk, keys))->per_seq = true;

    /* MLA over min(k, p + 1) keys per query */
    const struct mla_sparse sp = {.pairs = sparse_window_pairs(prior, s, topk),
                                  .keys_read = s == 1 && prior > 0 ? fmin(topk, prior + 1.0)
                                                                   : prior + s};
    mla_lower_core(&c->mla, x, g, &sp);
}

const struct block_kind BLOCK_DSA = {
    .name = "dsa", .slot = SLOT_ATTN,
    .summary = "DeepSeek sparse attention: lightning indexer, top-k tokens into MLA "
               "(DeepSeek-V3.2-Exp 2025)",
    .keys = DSA_KEYS, .n_keys = N(DSA_KEYS), .cfg_size = sizeof(struct dsa_cfg),
    .defaults = dsa_defaults, .check = dsa_check, .count = dsa_count,
    .tp_check = mla_tp_check, .lower = dsa_lower, .max_ops = 24};
