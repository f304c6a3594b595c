/* attn_nsa.c - NSA: natively trainable sparse attention (`kind: nsa`), with
 * the kernel choice of FSA.
 *
 * Yuan et al. (DeepSeek) 2025, "Native Sparse Attention: Hardware-Aligned and
 * Natively Trainable Sparse Attention", arXiv:2502.11089; Yan et al. 2025,
 * "Flash Sparse Attention: An Alternative Efficient Implementation of Native
 * Sparse Attention Kernel" (FSA), arXiv:2508.18224. GQA projections (H query
 * heads, Hkv KV heads, key dim D, value dim D_v) feed three branches whose
 * outputs a per-head sigmoid gate (a linear map of the token's input to 3*H
 * gates) weighs and sums:
 *   cmp  attention over compressed tokens: every block of l keys/values at
 *        stride d is mapped to one token by a learned compressor (modelled as
 *        one linear map l*D -> D for keys and l*D_v -> D_v for values, with an
 *        intra-block position encoding); they are cached beside the raw K/V.
 *   sel  attention over the n selected blocks of l' raw keys (the current block
 *        included), chosen per GQA group from the cmp attention scores.
 *   win  a causal sliding window of w raw keys.
 * Raw K/V are shared by the three branches (the paper gives each branch its
 * own K/V projection; see docs/variants/nsa.md, simplifications).
 *
 * Kernel of the selected branch (key `kernel`): `nsa` loops over query tokens
 * and loads each selected block once per GQA group, batching the group's g
 * query heads; an MMA tile needs at least `min_heads` rows (FSA sec. 2.1: 8
 * on Hopper), so g is padded up to a multiple of it and the padded heads'
 * FLOPs are computed and wasted. `fsa` loops over KV blocks and batches the
 * query tokens that selected each block: no padding, but each query head loads
 * each KV block once. Decode runs NSA's kernel for both (FSA's decode latency
 * matches NSA's, FSA sec. 4.3).
 *
 * Per layer: params = h*(H*D + Hkv*(D + D_v)) + H*D_v*h + l*(D^2 + D_v^2)
 * + l*(D + D_v) + 3*H*h; cached elements per token = Hkv*(D + D_v)*(1 + 1/d).
 * Tensor parallelism: heads split as in gqa; compressor replicated. */
#include <math.h>
#include <stddef.h>

#include "attn_sparse.h"
#include "attn_common.h"
#include "model.h"

enum nsa_kernel { NSA_KERNEL_NSA, NSA_KERNEL_FSA };
static const char *const NSA_KERNELS[] = {"nsa", "fsa", NULL};

struct nsa_cfg {
    int64_t heads, kv_heads, head_dim, v_head_dim;
    int64_t cmp_block, cmp_stride, sel_block, sel_count, window, min_heads;
    int kernel;
    bool rope;
};

#define OFF(f) offsetof(struct nsa_cfg, f)
static const struct key_spec NSA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "nsa: native sparse attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv (one selection per GQA group); H must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "query/key head dim D"},
    {"v_head_dim", KEY_INT, OFF(v_head_dim), 1, 65536, 0, NULL, "features",
     "value head dim D_v (default head_dim)"},
    {"cmp_block", KEY_INT, OFF(cmp_block), 1, 1048576, 1, NULL, "tokens",
     "compression block length l (paper: 32)"},
    {"cmp_stride", KEY_INT, OFF(cmp_stride), 1, 1048576, 1, NULL, "tokens",
     "compression stride d (paper: 16); must divide cmp_block and sel_block"},
    {"sel_block", KEY_INT, OFF(sel_block), 1, 1048576, 1, NULL, "tokens",
     "selection block size l' (paper: 64)"},
    {"sel_count", KEY_INT, OFF(sel_count), 1, 65536, 1, NULL, "blocks",
     "selected blocks n per query, the current one included (paper: 16)"},
    {"window", KEY_INT, OFF(window), 1, 16777216, 1, NULL, "tokens",
     "sliding window w (paper: 512)"},
    {"kernel", KEY_ENUM, OFF(kernel), 0, 0, 0, NSA_KERNELS, "",
     "selected-branch kernel: nsa (query-token outer loop) or fsa (KV-block outer loop) "
     "(default nsa)"},
    {"min_heads", KEY_INT, OFF(min_heads), 1, 256, 0, NULL, "count",
     "nsa kernel: query heads per MMA tile; a GQA group is padded to a multiple "
     "(default 8: Hopper's minimum MMA dimension, FSA sec. 2.1)"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void nsa_defaults(void *p)
{
    struct nsa_cfg *c = p;
    c->kernel = NSA_KERNEL_NSA;
    c->min_heads = 8;
    c->rope = true;
}

static int nsa_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    (void)present;
    (void)m;
    struct nsa_cfg *c = p;
    if (c->v_head_dim == 0) c->v_head_dim = c->head_dim;
    if (c->kv_heads > c->heads || c->heads % c->kv_heads != 0)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "heads (%lld) must be a multiple of kv_heads (%lld)",
                        (long long)c->heads, (long long)c->kv_heads);
    if (c->cmp_stride > c->cmp_block)
        return yml_fail(d, yml_map_get(d, map, "cmp_stride"), e,
                        "cmp_stride (%lld) is larger than cmp_block (%lld): tokens between "
                        "blocks would never be compressed",
                        (long long)c->cmp_stride, (long long)c->cmp_block);
    if (c->cmp_block % c->cmp_stride || c->sel_block % c->cmp_stride)
        return yml_fail(d, yml_map_get(d, map, "cmp_stride"), e,
                        "cmp_stride (%lld) must divide cmp_block (%lld) and sel_block (%lld) "
                        "(NSA maps compressed scores onto selection blocks)",
                        (long long)c->cmp_stride, (long long)c->cmp_block,
                        (long long)c->sel_block);
    return 0;
}


/* Projections and gate of hq query and hkv KV heads, plus the compressor
 * (replicated under tensor parallelism). */
static double nsa_params(const struct nsa_cfg *c, double h, double hq, double hkv)
{
    const double dk = (double)c->head_dim, dv = (double)c->v_head_dim, l = (double)c->cmp_block;
    return h * (hq * dk + hkv * (dk + dv)) + hq * dv * h + l * (dk * dk + dv * dv) +
           l * (dk + dv) + 3.0 * hq * h;
}

static void nsa_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct nsa_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 kvl = attn_local_kv_heads(hkv, tp), w = (double)(c->head_dim + c->v_head_dim),
                 cmp = 1.0 + 1.0 / (double)c->cmp_stride;
    out->params = nsa_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = hkv * w * cmp;
    out->params_dev = nsa_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = kvl * w * cmp;
}

static int nsa_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct nsa_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

static void nsa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct nsa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), grp = hq / hkv,
                 dk = (double)c->head_dim, dv = (double)c->v_head_dim, t = x->tokens,
                 b = st->batch, s = st->q_len, prior = st->ctx_prior, end = prior + s;
    const double l = (double)c->cmp_block, d = (double)c->cmp_stride,
                 ls = (double)c->sel_block, n = (double)c->sel_count, w = (double)c->window;
    const double kvw = hkv * (dk + dv);
    const bool cached = prior > 0;

    op_gemm(g, "qkv_proj", t, hq * dk + kvw, h, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * dk, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, kvw, 1, 0, true);
    op_gemm(g, "gate_proj", t, 3.0 * hq, h, false);
    op_elementwise(g, "gate_sigmoid", t, 3.0 * hq, 1, 4.0, false);

    /* Compression of the blocks completed in this step (decode: amortized,
     * one compressed token per d steps), reading their raw K/V. */
    const double new_cmp = s == 1 ? 1.0 / d
                                  : sparse_cmp_tokens(end, l, d) - sparse_cmp_tokens(prior, l, d);
    if (new_cmp > 0) {
        const double rows = b * new_cmp * hkv;
        if (cached) {
            op_gemm_from_cache(g, "cmp_k", rows, dk, l * dk);
            op_gemm_from_cache(g, "cmp_v", rows, dv, l * dv);
        } else { /* rows follow each sequence's completed blocks: per sequence */
            op_gemm(g, "cmp_k", rows, dk, l * dk, false)->per_seq = true;
            op_gemm(g, "cmp_v", rows, dv, l * dv, false)->per_seq = true;
        }
        op_elementwise(g, "cmp_write", b * new_cmp, kvw, 1, 0, true)->per_seq = true;
    }
    const double cmp_pairs = sparse_cmp_pairs(prior, s, l, d);
    if (cmp_pairs > 0) {
        const struct attn_shape as = {.b = b, .hq = hq, .dqk = dk, .dv = dv, .sq = s,
                                      .skv = sparse_cmp_tokens(end, l, d), .pairs = cmp_pairs,
                                      .kv_width = kvw, .kv_cached = cached};
        op_attention(g, "cmp_attn", &as);
    }

    /* Selection: block importance from the cmp scores (summed over the
     * l'/d + l/d - 1 compressed tokens overlapping each block and over the
     * group's heads), then top-n per group; only when a query sees > n blocks. */
    if (ceil(end / ls) > n) {
        const double seen = sparse_blocks_seen(prior, s, ls) / s; /* mean per query */
        op_elementwise(g, "sel_score", t * hkv, seen, grp * ls / d, grp * (ls / d + l / d - 1.0),
                       false)->per_seq = true; /* blocks seen follow the context */
        op_router(g, "sel_topk", t * hkv, seen, fmin(n, seen))->per_seq = true;
    }
    /* Pairs charged per head: the useful ones; the masked half of each own
     * (diagonal) block tile is not charged, as in gqa, swa and moba (one rule,
     * docs/conventions.md "Causal pairs"). Padded heads are charged below. */
    struct sparse_pairs sp;
    sparse_block_pairs(prior, s, ls, n, &sp);
    struct attn_shape sel = {.b = b, .hq = hq, .dqk = dk, .dv = dv, .sq = s,
                             .pairs = sp.useful,
                             .kv_width = kvw, .kv_cached = cached};
    if (c->kernel == NSA_KERNEL_FSA && s > 1) {
        sel.skv = grp * end; /* every query head loads every KV block once */
    } else {
        /* one load of the selected blocks per (query token, group); the
         * group's heads padded to a multiple of min_heads */
        const double m = (double)c->min_heads, gp = ceil(grp / m) * m;
        sel.hq = hkv * gp;
        sel.pairs_useful = sp.useful * grp / gp;
        sel.skv = sp.computed;
    }
    op_attention(g, "sel_attn", &sel);

    const struct attn_shape win = {.b = b, .hq = hq, .dqk = dk, .dv = dv, .sq = s,
                                   .skv = end - fmax(0.0, prior - w + 1.0),
                                   .pairs = sparse_window_pairs(prior, s, w),
                                   .kv_width = kvw, .kv_cached = cached};
    op_attention(g, "win_attn", &win);
    op_elementwise(g, "gate_combine", t, hq * dv, 3, 5.0, false);
    op_gemm(g, "o_proj", t, h, hq * dv, false);
}

const struct block_kind BLOCK_NSA = {
    .name = "nsa", .slot = SLOT_ATTN,
    .summary = "native sparse attention: compressed, selected and window branches "
               "(Yuan et al. 2025; FSA kernel)",
    .keys = NSA_KEYS, .n_keys = N(NSA_KEYS), .cfg_size = sizeof(struct nsa_cfg),
    .defaults = nsa_defaults, .check = nsa_check, .count = nsa_count,
    .tp_check = nsa_tp_check, .lower = nsa_lower, .max_ops = 15};
