/* mix_shortconv.c - gated short convolution (LFM2), a linear-time kind for the
 * attention slot.
 *
 * Liquid AI, LFM2 (technical report arXiv:2511.23404; transformers
 * `Lfm2ShortConv`, config keys conv_L_cache and conv_bias):
 *   B, C, x = split(in_proj(h -> 3h))
 *   y = C * conv(B * x)           causal depthwise conv over h channels,
 *                                 kernel L (conv_L_cache)
 *   out = out_proj(y)             h -> h
 * in_proj, conv and out_proj all carry a bias when `bias` (conv_bias) is set.
 *
 * Per-sequence state, constant in context (no KV cache): the conv window of
 * the previous L - 1 tokens of B*x, (L - 1) x h elements (transformers keeps
 * L columns, the new one included; the carried part is L - 1).
 *
 * Tensor parallelism: the h channels split over tp devices (in_proj
 * column-parallel per B/C/x, out_proj row-parallel; the out_proj bias is
 * replicated); tp must divide hidden.
 *
 * Entry point: BLOCK_SHORTCONV (listed in models/registry.c). */
#include <stddef.h>

#include "model.h"

struct shortconv_cfg {
    int64_t kernel;
    bool bias;
    int64_t hidden; /* the model's, kept by check() for tp_check */
};

#define OFF(f) offsetof(struct shortconv_cfg, f)
static const struct key_spec SHORTCONV_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "shortconv: gated short convolution (LFM2)"},
    {"kernel", KEY_INT, OFF(kernel), 1, 1024, 0, NULL, "tokens",
     "causal depthwise conv kernel L (LFM2 conv_L_cache; default 3)"},
    {"bias", KEY_BOOL, OFF(bias), 0, 0, 0, NULL, "",
     "biases on in_proj, conv and out_proj (LFM2 conv_bias; default false)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void shortconv_defaults(void *p)
{
    struct shortconv_cfg *c = p;
    c->kernel = 3; /* LFM2 conv_L_cache */
}

/* Parameters over w channels (h, or h/tp on a device); h the model width. */
static double shortconv_params(const struct shortconv_cfg *c, double h, double w)
{
    double p = 3.0 * w * h + w * (double)c->kernel + w * h;
    if (c->bias) p += 3.0 * w + w + h;
    return p;
}

static void shortconv_count(const void *p, const struct model *m, double tp,
                            struct block_counts *out)
{
    const struct shortconv_cfg *c = p;
    const double h = (double)m->hidden, win = (double)(c->kernel - 1);
    out->params = shortconv_params(c, h, h);
    out->active_params = out->params;
    out->kv_elems = 0;
    out->params_dev = shortconv_params(c, h, h / tp);
    out->kv_elems_dev = 0;
    out->state_elems = win * h;
    out->state_elems_dev = win * h / tp;
}

static int shortconv_check(void *p, uint64_t present, const struct model *m,
                           const struct yml_doc *d, yml_node map, struct err *e)
{
    (void)present;
    (void)d;
    (void)map;
    (void)e;
    struct shortconv_cfg *c = p;
    c->hidden = m->hidden;
    return 0;
}

static int shortconv_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct shortconv_cfg *c = p;
    const long long t = (long long)tp;
    if (c->hidden % t)
        return snprintf(msg, n, "hidden (%lld) channels not divisible by %lld",
                        (long long)c->hidden, t),
               -1;
    return 0;
}

static void shortconv_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct shortconv_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, w = h / st->tp, k = (double)c->kernel,
                 t = x->tokens;
    op_gemm(g, "in_proj", t, 3.0 * w, h, c->bias);
    op_elementwise(g, "b_gate", t, w, 2, 1.0, false); /* B * x */
    /* carried window: read when there is prior context, always rewritten */
    if (c->kernel > 1)
        op_elementwise(g, "conv_state", st->batch, (k - 1.0) * w, st->ctx_prior > 0 ? 1 : 0, 0,
                       true)
            ->per_seq = true; /* read or not per sequence */
    op_batched_gemm(g, "conv", w, t, 1, k, c->bias); /* depthwise, im2col per channel */
    op_elementwise(g, "c_gate", t, w, 2, 1.0, false); /* C * conv_out */
    op_gemm(g, "out_proj", t, h, w, c->bias);         /* row-parallel */
}

const struct block_kind BLOCK_SHORTCONV = {
    .name = "shortconv", .slot = SLOT_ATTN,
    .summary = "gated short convolution: per-sequence conv window, no KV cache (LFM2, Liquid AI 2025)",
    .keys = SHORTCONV_KEYS, .n_keys = N(SHORTCONV_KEYS),
    .cfg_size = sizeof(struct shortconv_cfg), .defaults = shortconv_defaults,
    .check = shortconv_check, .count = shortconv_count, .tp_check = shortconv_tp_check, .lower = shortconv_lower,
    .max_ops = 6};
