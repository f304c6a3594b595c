/* attn_mla.c - multi-head latent attention (MLA), DeepSeek-V2/V3 and Kimi-K2,
 * in its two execution forms, with tensor parallelism and TPLA.
 *
 * DeepSeek-AI 2024, "DeepSeek-V2: A Strong, Economical, and Efficient
 * Mixture-of-Experts Language Model" (arXiv:2405.04434), section 2.1; the same
 * attention in DeepSeek-V3 (arXiv:2412.19437). Per token: an optional query
 * low-rank path (h -> q_lora_rank, RMSNorm, -> H*(d_nope + d_rope)); a joint
 * KV down-projection h -> c + d_rope (latent c = kv_lora_rank and one decoupled
 * RoPE key shared by all heads), RMSNorm on the latent; a KV up-projection
 * c -> H*(d_nope + d_v); output H*d_v -> h. The cache holds c + d_rope per
 * token and layer.
 *
 * Execution forms (key `execution`):
 *   naive     up-project K and V from the latent and run H-head attention with
 *             d_qk = d_nope + d_rope, d_v. At decode this re-up-projects every
 *             cached latent each step.
 *   absorbed  fold W_UK into the query (per head d_nope -> c) and W_UV into the
 *             output (per head c -> d_v): attention over the cached latent with
 *             d_qk = c + d_rope, d_v = c, one KV "head" shared by all H heads.
 *   auto      naive for prefill, absorbed for decode (as DeepSeek's and vLLM's
 *             inference does; default); a speculative verify step of up to
 *             step.decode_q_max tokens counts as decode.
 * docs/variants/mla.md derives where each is cheaper.
 *
 * Tensor parallelism (key `tp_mode`): `replicate` (default) splits heads; every
 * device holds the whole latent cache. `tpla` (Tang et al. 2025, "TPLA: Tensor
 * Parallel Latent Attention", arXiv:2508.15881): in decode every device runs
 * all H heads over its 1/tp slice of the latent (the RoPE key is kept whole on
 * every device), so it caches c/tp + d_rope per token; the partial head
 * outputs are summed by an all-reduce of T x H*d_v before the head-split output
 * projection. Prefill keeps the head split. */
#include "attn_mla.h"

#include "attn_common.h"

const char *const MLA_EXECS[] = {"auto", "naive", "absorbed", NULL};
const char *const MLA_TPS[] = {"replicate", "tpla", NULL};

#define OFF(f) offsetof(struct mla_cfg, f)
static const struct key_spec MLA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "mla: multi-head latent attention"},
    MLA_KEY_ROWS(OFF),
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

int mla_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
             yml_node map, struct err *e)
{
    (void)present;
    const struct mla_cfg *c = p;
    if (c->kv_lora_rank >= m->hidden)
        return yml_fail(d, yml_map_get(d, map, "kv_lora_rank"), e,
                        "kv_lora_rank (%lld) must be smaller than hidden (%lld): the latent is a "
                        "compression",
                        (long long)c->kv_lora_rank, (long long)m->hidden);
    if (c->q_lora_rank >= m->hidden)
        return yml_fail(d, yml_map_get(d, map, "q_lora_rank"), e,
                        "q_lora_rank (%lld) must be smaller than hidden (%lld)",
                        (long long)c->q_lora_rank, (long long)m->hidden);
    if (c->qk_rope_head_dim % 2)
        return yml_fail(d, yml_map_get(d, map, "qk_rope_head_dim"), e,
                        "qk_rope_head_dim (%lld) must be even (RoPE rotates pairs)",
                        (long long)c->qk_rope_head_dim);
    if (c->qk_rope_head_dim > c->kv_lora_rank)
        return yml_fail(d, yml_map_get(d, map, "qk_rope_head_dim"), e,
                        "qk_rope_head_dim (%lld) is larger than the latent kv_lora_rank (%lld): "
                        "the cached RoPE key would outweigh the compressed latent",
                        (long long)c->qk_rope_head_dim, (long long)c->kv_lora_rank);
    return 0;
}

/* Query path params: low-rank (down, norm, up) or full-rank. */
static double q_params(const struct mla_cfg *c, double h, double heads)
{
    const double qd = heads * (double)(c->qk_nope_head_dim + c->qk_rope_head_dim);
    if (c->q_lora_rank > 0) {
        const double r = (double)c->q_lora_rank;
        return h * r + r + r * qd;
    }
    return h * qd;
}

/* Params of one device's share: `heads` local heads for the head-split parts,
 * latent width `lat` for the latent parts (c, or c/tp under TPLA). */
static double mla_params(const struct mla_cfg *c, double h, double q_heads, double heads,
                         double lat)
{
    const double dr = (double)c->qk_rope_head_dim, dn = (double)c->qk_nope_head_dim,
                 dv = (double)c->v_head_dim;
    return q_params(c, h, q_heads) + h * (lat + dr) + lat + lat * heads * (dn + dv) +
           heads * dv * h;
}

void mla_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct mla_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, lat = (double)c->kv_lora_rank,
                 dr = (double)c->qk_rope_head_dim;
    out->params = mla_params(c, h, hq, hq, lat);
    out->active_params = out->params;
    out->kv_elems = lat + dr;
    if (c->tp_mode == MLA_TP_TPLA && tp > 1) {
        /* all heads' queries on every device; latent split; o_proj head-split */
        out->params_dev = q_params(c, h, hq) + h * (lat / tp + dr) + lat / tp +
                          lat / tp * hq * (double)(c->qk_nope_head_dim + c->v_head_dim) +
                          hq / tp * (double)c->v_head_dim * h;
        out->kv_elems_dev = lat / tp + dr;
    } else {
        out->params_dev = mla_params(c, h, hq / tp, hq / tp, lat);
        out->kv_elems_dev = lat + dr;
    }
}

int mla_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct mla_cfg *c = p;
    const long long t = (long long)tp;
    if (c->heads % t) return snprintf(msg, n, "heads (%lld) not divisible by %lld", (long long)c->heads, t), -1;
    if (c->tp_mode == MLA_TP_TPLA && c->kv_lora_rank % t)
        return snprintf(msg, n, "tpla: kv_lora_rank (%lld) not divisible by %lld",
                        (long long)c->kv_lora_rank, t),
               -1;
    return 0;
}

/* The query path and the KV down-projection, common to both forms: q of
 * `heads` heads, the latent (+ RoPE key) of width lat + d_rope, its norm, RoPE
 * and the cache store. */
static void lower_projections(const struct mla_cfg *c, const struct lower_ctx *x,
                              struct graph *g, double q_heads, double lat)
{
    const double h = (double)x->m->hidden, t = x->tokens, dr = (double)c->qk_rope_head_dim,
                 qd = q_heads * (double)(c->qk_nope_head_dim + c->qk_rope_head_dim);
    if (c->q_lora_rank > 0) {
        const double r = (double)c->q_lora_rank;
        op_gemm(g, "q_down", t, r, h, false);
        op_norm(g, "q_norm", t, r, r, FLOPS_RMSNORM);
        op_gemm(g, "q_up", t, qd, r, false);
    } else {
        op_gemm(g, "q_proj", t, qd, h, false);
    }
    op_gemm(g, "kv_down", t, lat + dr, h, false);
    op_norm(g, "kv_norm", t, lat, lat, FLOPS_RMSNORM);
    if (dr > 0) op_elementwise(g, "rope", t, (q_heads + 1.0) * dr, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, lat + dr, 1, 0, true);
}

void mla_lower_core(const struct mla_cfg *c, const struct lower_ctx *x, struct graph *g,
                    const struct mla_sparse *sp)
{
    const struct step *st = x->st;
    const double tp = st->tp, t = x->tokens, h = (double)x->m->hidden;
    const double dn = (double)c->qk_nope_head_dim, dr = (double)c->qk_rope_head_dim,
                 dv = (double)c->v_head_dim, lat_all = (double)c->kv_lora_rank;
    const double s = st->q_len, skv = st->ctx_prior + s;
    const double pairs = sp ? sp->pairs : attn_causal_pairs(st);
    /* keys the absorbed form reads from the cache per sequence */
    const double kread = sp ? sp->keys_read : skv;
    const double dq = st->decode_q_max > 1 ? st->decode_q_max : 1.0;
    const bool decode = st->q_len <= dq && st->ctx_prior > 0;
    const bool absorbed = c->execution == MLA_ABSORBED || (c->execution == MLA_AUTO && s <= dq);
    const bool tpla = c->tp_mode == MLA_TP_TPLA && tp > 1 && absorbed && decode;
    const double hl = c->heads / (double)tp; /* heads per device (head split) */

    if (tpla) {
        const double lat = lat_all / tp, hq = (double)c->heads;
        lower_projections(c, x, g, hq, lat);
        op_batched_gemm(g, "q_absorb", hq, t, lat, dn, false);
        const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = lat + dr, .dv = lat,
                                      .sq = s, .skv = kread, .pairs = pairs,
                                      .kv_width = lat + dr, .kv_cached = true};
        op_attention(g, "attention", &as);
        op_batched_gemm(g, "o_absorb", hq, t, dv, lat, false);
        op_allreduce(g, "tpla_allreduce", t, hq * dv, tp);
        op_gemm(g, "o_proj", t, h, hl * dv, false);
        return;
    }
    lower_projections(c, x, g, hl, lat_all);
    if (absorbed) {
        op_batched_gemm(g, "q_absorb", hl, t, lat_all, dn, false);
        const struct attn_shape as = {.b = st->batch, .hq = hl, .dqk = lat_all + dr,
                                      .dv = lat_all, .sq = s, .skv = kread, .pairs = pairs,
                                      .kv_width = lat_all + dr, .kv_cached = st->ctx_prior > 0};
        op_attention(g, "attention", &as);
        op_batched_gemm(g, "o_absorb", hl, t, dv, lat_all, false);
    } else {
        /* Up-project the latent of every key token. With a cache (decode,
         * chunked prefill) the step's own latents were stored by kv_write, so
         * one GEMM reads all B*(P+q) of them from the cache; in prefill it
         * reads the T new latents from the activations. */
        const double kv_n = hl * (dn + dv);
        if (st->ctx_prior > 0)
            op_gemm_from_cache(g, "kv_up", st->batch * skv, kv_n, lat_all);
        else
            op_gemm(g, "kv_up", t, kv_n, lat_all, false)->per_seq = true; /* as the cached form */
        const struct attn_shape as = {.b = st->batch, .hq = hl, .dqk = dn + dr, .dv = dv,
                                      .sq = s, .skv = skv, .pairs = pairs,
                                      .kv_width = hl * (dn + dr + dv), .kv_cached = false};
        op_attention(g, "attention", &as);
    }
    op_gemm(g, "o_proj", t, h, hl * dv, false);
}

static void mla_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    mla_lower_core(p, x, g, NULL);
}

void mla_defaults(void *p)
{
    struct mla_cfg *c = p;
    c->execution = MLA_AUTO;
    c->tp_mode = MLA_TP_REPLICATE;
}

const struct block_kind BLOCK_MLA = {
    .name = "mla", .slot = SLOT_ATTN,
    .summary = "multi-head latent attention, naive or absorbed, TP or TPLA (DeepSeek-V2 2024)",
    .keys = MLA_KEYS, .n_keys = N(MLA_KEYS), .cfg_size = sizeof(struct mla_cfg),
    .defaults = mla_defaults, .check = mla_check, .count = mla_count,
    .tp_check = mla_tp_check, .lower = mla_lower, .max_ops = 14, .takes_mask = true};
