/* attn_cca.c - compressed convolutional attention: CCA and CCGQA.
 *
 * Figliolia, Alonso, Iyer, Anthony and Millidge (Zyphra), "Compressed
 * Convolutional Attention: Efficient Attention in a Compressed Latent Space",
 * arXiv:2510.04476 (2025). Queries, keys and values are down-projected from the
 * hidden size E into a latent of E/C features; attention runs entirely in that
 * latent (H heads of D = E/(C*H) features); the latent output is up-projected
 * back to E. CCGQA shares each key/value head among H/Hkv query heads, so the
 * key/value latent is Hkv*D = E/C2 with C2 = C*H/Hkv. `cca` is Hkv = H.
 *
 * Per token, before attention (in the order of the reference implementation,
 * Zyphra's vLLM/transformers code for ZAYA1):
 *   q~, k~ = x W_q, x W_k                    down-projections
 *   v~ = [x_t W_v1, x_{t-1} W_v2]            value shift: half the value
 *                                             channels from the previous token
 *   conv1: causal depthwise conv over the sequence (kernel k0) on [q~, k~]
 *   conv2: causal grouped conv (one group per head, D x D taps, kernel k1):
 *          mixes the channels of each head over the sequence
 *   qk-mean: q += (q~ + k~_group)/2, k += (mean_group(q~) + k~)/2
 *   L2-normalise q, k per head (scale sqrt(D); k times a per-head temperature)
 *   RoPE on q, k (optional); K and V appended to the KV cache.
 *
 * Decode state: the causal convs need the pre-conv [q~, k~] of the previous
 * k0 + k1 - 2 tokens, and the value shift needs the previous token's input
 * x_{t-1} (E features): a per-sequence state that does not grow with context.
 * It is not in kv_elems (which is per cached token) but in state_elems, which
 * the memory model adds once per sequence (KV dtype); the lowering reads it
 * (when there is prior context) and rewrites it in the op `cca_state`. docs/variants/cca.md has every formula.
 *
 * Entry points: BLOCK_CCA, BLOCK_CCGQA (listed in models/registry.c). */
#include <stddef.h>

#include "attn_common.h"
#include "model.h"

struct cca_cfg {
    int64_t heads, kv_heads, head_dim;
    int64_t compression, kv_compression;
    int64_t conv_seq_kernel, conv_ch_kernel;
    bool qk_mean, value_shift, rope;
};

#define OFF(f) offsetof(struct cca_cfg, f)
#define KIND_KEY(what) {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", what}
#define COMMON_KEYS                                                                            \
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count",                                  \
     "query heads H in the latent space"},                                                      \
    {"compression", KEY_INT, OFF(compression), 1, 65536, 1, NULL, "factor",                    \
     "compression factor C: the query latent is hidden/C = H*D features"},                     \
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 0, NULL, "features",                        \
     "latent head dimension D (default hidden/(compression*heads); must equal it if given)"},  \
    {"conv_seq_kernel", KEY_INT, OFF(conv_seq_kernel), 1, 64, 0, NULL, "tokens",               \
     "kernel of the causal depthwise sequence conv on q and k (default 2)"},                   \
    {"conv_ch_kernel", KEY_INT, OFF(conv_ch_kernel), 1, 64, 0, NULL, "tokens",                 \
     "kernel of the causal per-head channel-mixing conv on q and k (default 2)"},              \
    {"qk_mean", KEY_BOOL, OFF(qk_mean), 0, 0, 0, NULL, "",                                     \
     "add the pre-conv q/k means to q and k (default true)"},                                   \
    {"value_shift", KEY_BOOL, OFF(value_shift), 0, 0, 0, NULL, "",                             \
     "half the value channels projected from the previous token (default true)"},              \
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",                                           \
     "rotary position embedding on the latent q and k (default true)"}

static const struct key_spec CCA_KEYS[] = {
    KIND_KEY("cca: compressed convolutional attention, Hkv = H"),
    COMMON_KEYS,
};
static const struct key_spec CCGQA_KEYS[] = {
    KIND_KEY("ccgqa: CCA with grouped key/value heads"),
    COMMON_KEYS,
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv in the latent space; H must be a multiple"},
    {"kv_compression", KEY_INT, OFF(kv_compression), 1, 1048576, 0, NULL, "factor",
     "C2 = hidden/(Hkv*D) = compression*H/Hkv (default derived; must equal it if given)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void cca_defaults(void *p)
{
    struct cca_cfg *c = p;
    c->conv_seq_kernel = 2; /* ZAYA1: cca_time0 = 2 */
    c->conv_ch_kernel = 2;  /* ZAYA1: cca_time1 = 2 */
    c->qk_mean = true;
    c->value_shift = true;
    c->rope = true;
}

/* The node of key `name` in the block, or the block itself when it is absent
 * (a default that fails a cross-key check). */
static yml_node key_node(const struct yml_doc *d, yml_node map, const char *name)
{
    yml_node n = yml_map_get(d, map, name);
    return n ? n : map;
}

static bool has_key(const struct key_spec *keys, size_t n, uint64_t present, const char *name)
{
    int i = yml_key_index(keys, n, name);
    return i >= 0 && (present & (UINT64_C(1) << i));
}

/* Shared checks once kv_heads is known; derives head_dim and kv_compression. */
static int cca_check_common(struct cca_cfg *c, uint64_t present, const struct key_spec *keys,
                            size_t nk, const struct model *m, const struct yml_doc *d,
                            yml_node map, struct err *e)
{
    const long long h = m->hidden, cf = c->compression, hq = c->heads, hkv = c->kv_heads;
    if (h % cf)
        return yml_fail(d, yml_map_get(d, map, "compression"), e,
                        "compression (%lld) must divide hidden (%lld)", cf, h);
    const long long latent = h / cf;
    if (latent % hq)
        return yml_fail(d, yml_map_get(d, map, "heads"), e,
                        "heads (%lld) must divide the latent width hidden/compression (%lld)", hq,
                        latent);
    const long long dh = latent / hq;
    if (has_key(keys, nk, present, "head_dim") && c->head_dim != dh)
        return yml_fail(d, yml_map_get(d, map, "head_dim"), e,
                        "head_dim (%lld) must equal hidden/(compression*heads) = %lld",
                        (long long)c->head_dim, dh);
    c->head_dim = dh;
    if (hkv > hq)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "kv_heads (%lld) must not exceed heads (%lld)", hkv, hq);
    if (hq % hkv)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "heads (%lld) must be divisible by kv_heads (%lld)", hq, hkv);
    const long long c2 = cf * (hq / hkv); /* hidden / (Hkv*D) */
    if (has_key(keys, nk, present, "kv_compression") && c->kv_compression != c2)
        return yml_fail(d, yml_map_get(d, map, "kv_compression"), e,
                        "kv_compression (%lld) must equal compression*heads/kv_heads = %lld",
                        (long long)c->kv_compression, c2);
    c->kv_compression = c2;
    if (c->value_shift && (hkv * dh) % 2)
        return yml_fail(d, key_node(d, map, "value_shift"), e,
                        "value_shift splits the value latent (kv_heads*head_dim = %lld) in two "
                        "halves: it must be even",
                        hkv * dh);
    return 0;
}

static int cca_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    struct cca_cfg *c = p;
    c->kv_heads = c->heads;
    return cca_check_common(c, present, CCA_KEYS, N(CCA_KEYS), m, d, map, e);
}

static int ccgqa_check(void *p, uint64_t present, const struct model *m,
                       const struct yml_doc *d, yml_node map, struct err *e)
{
    return cca_check_common(p, present, CCGQA_KEYS, N(CCGQA_KEYS), m, d, map, e);
}

/* Parameters with hq query and hkv KV heads (a device's share when local):
 * down-projections E*(hq + 2*hkv)*D (the two value halves together are
 * E*hkv*D), up-projection hq*D*E, depthwise conv (k0 taps + bias) per q/k
 * channel, per-head channel conv (D*D*k1 taps + D bias) per q/k head, and one
 * key temperature per KV head. */
static double cca_params(const struct cca_cfg *c, double e, double hq, double hkv)
{
    const double d = (double)c->head_dim, k0 = (double)c->conv_seq_kernel,
                 k1 = (double)c->conv_ch_kernel, ch = (hq + hkv) * d;
    return e * (hq + 2.0 * hkv) * d + hq * d * e + ch * (k0 + 1.0) + (hq + hkv) * d * d * k1 +
           ch + hkv;
}

/* Per-sequence decode state of one device (elements, constant in context):
 * pre-conv [q~, k~] of the previous k0 + k1 - 2 tokens, plus x_{t-1} (E) for
 * the value shift. */
static double cca_state_elems(const struct cca_cfg *c, double e, double hq, double hkv)
{
    const double taps = (double)(c->conv_seq_kernel + c->conv_ch_kernel - 2);
    return (hq + hkv) * (double)c->head_dim * taps + (c->value_shift ? e : 0.0);
}

static void cca_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct cca_cfg *c = p;
    const double e = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim;
    out->params = cca_params(c, e, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d; /* latent K and V; the state is per sequence */
    out->params_dev = cca_params(c, e, hq / tp, hkv / tp);
    out->kv_elems_dev = 2.0 * (hkv / tp) * d;
    out->state_elems = cca_state_elems(c, e, hq, hkv);
    out->state_elems_dev = cca_state_elems(c, e, hq / tp, hkv / tp);
}

/* Whole KV groups per device: the channel conv and the qk-mean mix a group's
 * query heads with its key head, so tp must divide kv_heads (no replication). */
static int cca_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct cca_cfg *c = p;
    const long long t = (long long)tp, kv = c->kv_heads;
    if (kv % t)
        return snprintf(msg, n,
                        "kv_heads (%lld) not divisible by %lld: each device must hold whole "
                        "KV groups (their query heads, key head and convolutions)",
                        kv, t),
               -1;
    return 0;
}

static void cca_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct cca_cfg *c = p;
    const struct step *st = x->st;
    const double e = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = (double)c->kv_heads / st->tp, d = (double)c->head_dim, t = x->tokens,
                 k0 = (double)c->conv_seq_kernel, k1 = (double)c->conv_ch_kernel,
                 ch = (hq + hkv) * d, vhalf = c->value_shift ? hkv * d / 2.0 : 0.0;
    /* q~, k~ and the current-token value half (or all of v) in one GEMM. */
    op_gemm(g, "qkv_down_proj", t, (hq + 2.0 * hkv) * d - vhalf, e, false);
    if (c->value_shift) op_gemm(g, "v_shift_proj", t, vhalf, e, false); /* x_{t-1} W_v2 */
    /* Read the carried conv window and x_{t-1} when there is prior context
     * (decode, or a prefill continuing a cached prefix), write the new ones
     * (prefill: from the prompt's tail). A prefill from scratch has no state
     * to read: the convs see zero padding. */
    const double state = cca_state_elems(c, e, hq, hkv);
    if (state > 0)
        op_elementwise(g, "cca_state", st->batch, state, st->ctx_prior > 0 ? 1 : 0, 0, true)
            ->per_seq = true; /* read or not per sequence */
    /* conv1 yields q_len + k1 - 1 positions per sequence (conv2's window):
     * 2*k0 FLOPs each (k0 multiply-adds, bias). */
    op_elementwise(g, "seq_conv", st->batch * (st->q_len + k1 - 1.0), ch, 1, 2.0 * k0, false);
    /* conv2 per head: (T x D*k1) @ (D*k1 x D), an im2col GEMM per head. */
    op_batched_gemm(g, "ch_conv", hq + hkv, t, d, d * k1, true);
    if (c->qk_mean) {
        /* q: conv + (q~ + k~)/2 -> 3 FLOPs; k: mean over G = H/Hkv query heads
         * (G - 1 adds, 1 scale) then the same 3 -> G + 3. Reads conv out, q~, k~. */
        const double grp = hq / hkv, f = (3.0 * hq + (grp + 3.0) * hkv) / (hq + hkv);
        op_elementwise(g, "qk_mean", t, ch, 3, f, false);
    }
    op_norm(g, "qk_norm", t * (hq + hkv), d, hkv, FLOPS_RMSNORM); /* weights: temperatures */
    if (c->rope) op_elementwise(g, "rope", t, ch, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    const double s = st->q_len, pairs = attn_causal_pairs(st);
    const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = s,
                                  .skv = st->ctx_prior + s, .pairs = pairs,
                                  .kv_width = 2.0 * hkv * d, .kv_cached = st->ctx_prior > 0};
    op_attention(g, "attention", &as);
    op_gemm(g, "up_proj", t, e, hq * d, false); /* latent H*D -> E, row-parallel */
}

#define CCA_KIND(id_, name_, keys_, check_, what_)                                             \
    const struct block_kind id_ = {.name = name_,                                               \
                                   .slot = SLOT_ATTN,                                           \
                                   .summary = what_,                                            \
                                   .keys = keys_,                                               \
                                   .n_keys = N(keys_),                                          \
                                   .cfg_size = sizeof(struct cca_cfg),                          \
                                   .defaults = cca_defaults,                                    \
                                   .check = check_,                                             \
                                   .count = cca_count,                                          \
                                   .tp_check = cca_tp_check,                                    \
                                   .lower = cca_lower,                                          \
                                   .max_ops = 11,                                               \
                                   .takes_mask = true}

CCA_KIND(BLOCK_CCA, "cca", CCA_KEYS, cca_check,
         "compressed convolutional attention: attention in an E/C latent (Figliolia et al. 2025)");
CCA_KIND(BLOCK_CCGQA, "ccgqa", CCGQA_KEYS, ccgqa_check,
         "CCA with Hkv grouped key/value heads in the latent (Figliolia et al. 2025)");
