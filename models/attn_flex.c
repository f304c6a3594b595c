/* attn_flex.c - grouped-query attention under a mask program (`kind: flex`),
 * as FlexAttention runs it (PyTorch's torch.nn.attention.flex_attention: a
 * mask_mod evaluated into a block mask; blocks with no kept pair are skipped,
 * partial blocks are computed whole and masked).
 *
 * GQA projections (H query heads, Hkv KV heads, head dim D). The mask is a
 * list of parts that all apply (models/mask.h): causal, window, prefix,
 * chunk, documents, blocks, and all/any combinations. The attention's pairs
 * come from mask_count at the kernel's tile_q x tile_k blocks (FlexAttention's
 * default block size 128 x 128). Every key is cached (no eviction); keys read:
 * each once in prefill (ideal tiling), the blocks the one query needs in decode.
 * docs/variants/flex.md. */
#include <stddef.h>

#include "attn_common.h"
#include "mask.h"
#include "model.h"

struct flex_cfg {
    int64_t heads, kv_heads, head_dim, tile_q, tile_k;
    bool rope;
    struct mask_prog mask; /* read by flex_check */
};

#define OFF(f) offsetof(struct flex_cfg, f)
static const struct key_spec FLEX_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "flex: grouped-query attention under a mask program"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"mask", KEY_SEQ, 0, 0, 0, 1, NULL, "",
     "parts that all apply: causal, {window: W}, {prefix: P}, {chunk: C}, {documents: [..]}, "
     "{blocks: {size, offsets, global}}, {all: [..]}, {any: [..]} (docs/variants/flex.md)"},
    {"tile_q", KEY_INT, OFF(tile_q), 1, 4096, 0, NULL, "tokens",
     "query rows per kernel block (default 128, FlexAttention's)"},
    {"tile_k", KEY_INT, OFF(tile_k), 1, 4096, 0, NULL, "tokens",
     "keys per kernel block (default 128)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void flex_defaults(void *p)
{
    struct flex_cfg *c = p;
    c->tile_q = c->tile_k = 128;
    c->rope = true;
}

static int flex_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                      yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    struct flex_cfg *c = p;
    if (attn_heads_check(c->heads, c->kv_heads, d, map, e)) return -1;
    return mask_read(d, yml_map_get(d, map, "mask"), &c->mask, e);
}

static double flex_params(const struct flex_cfg *c, double h, double hq, double hkv)
{
    const double d = (double)c->head_dim;
    return h * (hq + 2.0 * hkv) * d + hq * d * h;
}

static void flex_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct flex_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, kvl = attn_local_kv_heads(hkv, tp);
    out->params = flex_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d;
    out->params_dev = flex_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d;
}

static int flex_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct flex_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

static void flex_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct flex_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens, s = st->q_len, prior = st->ctx_prior;
    op_gemm(g, "qkv_proj", t, (hq + 2.0 * hkv) * d, h, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    struct mask_pairs mp;
    mask_count(&c->mask, prior, s, (double)c->tile_q, (double)c->tile_k, &mp);
    if (mp.computed <= 0) {
        /* The mask keeps no key for any query of this step (an intersection
         * such as [{prefix: 4}, {window: 2}] at a decode position past the
         * prefix): FlexAttention skips every block, so no attention kernel
         * runs; the output rows are zeros and the projection still runs. */
        op_gemm(g, "o_proj", t, h, hq * d, false);
        return;
    }
    /* keys read: each once in prefill; in decode the blocks the query needs */
    const double keys = s > 1 ? prior + s : mp.computed;
    const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = s,
                                  .skv = keys, .pairs = mp.computed,
                                  .pairs_useful = mp.useful, .kv_width = 2.0 * hkv * d,
                                  .kv_cached = prior > 0};
    struct op *a = op_attention(g, "attention", &as);
    a->per_seq = true;
    /* FlexAttention runs the mask program: its Triton backend unless the
     * scenario chose its FlashAttention-4 backend (--impl attention=flex_fa4);
     * an implementation that cannot run a mask program (fa2 from a profile's
     * per-kind map) does not apply. docs/variants/flex.md, "Backends". */
    if (a->impl != IMPL_FLEX_FA4) a->impl = IMPL_FLEX_TRITON;
    op_gemm(g, "o_proj", t, h, hq * d, false);
}

const struct block_kind BLOCK_FLEX = {
    .name = "flex", .slot = SLOT_ATTN,
    .summary = "grouped-query attention under a mask program, FlexAttention block skipping",
    .keys = FLEX_KEYS, .n_keys = N(FLEX_KEYS), .cfg_size = sizeof(struct flex_cfg),
    .defaults = flex_defaults, .check = flex_check, .count = flex_count,
    .tp_check = flex_tp_check, .lower = flex_lower, .max_ops = 5,
    .max_len = 2097152.0 /* 2^21 tokens: O(S) mask evaluation stays within about a second */};
