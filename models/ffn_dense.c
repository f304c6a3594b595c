/* ffn_dense.c - dense feed-forward blocks: SwiGLU and the GELU MLP.
 *
 * SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer"; used by LLaMA):
 * down(silu(x W_gate) * (x W_up)), three h x I matrices; gate and up run as
 * one fused GEMM of width 2I. GELU MLP (Vaswani et al. 2017; Hendrycks and
 * Gimpel 2016): down(gelu(x W_up)), two h x I matrices. Optional biases. */
#include <stddef.h>

#include "model.h"
#include "sites.h"

struct dense_cfg {
    int64_t intermediate;
    bool bias;
};

#define OFF(f) offsetof(struct dense_cfg, f)
static const struct key_spec SWIGLU_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "swiglu: gated SiLU FFN"},
    {"intermediate", KEY_INT, OFF(intermediate), 1, 1 << 24, 1, NULL, "features",
     "intermediate size I"},
    {"bias", KEY_BOOL, OFF(bias), 0, 0, 0, NULL, "", "biases on the projections (default false)"},
};
static const struct key_spec GEGLU_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "geglu: gated GELU FFN (Gemma)"},
    {"intermediate", KEY_INT, OFF(intermediate), 1, 1 << 24, 1, NULL, "features",
     "intermediate size I"},
    {"bias", KEY_BOOL, OFF(bias), 0, 0, 0, NULL, "", "biases on the projections (default false)"},
};
static const struct key_spec GELU_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "gelu: two-matrix GELU MLP"},
    {"intermediate", KEY_INT, OFF(intermediate), 1, 1 << 24, 1, NULL, "features",
     "intermediate size I"},
    {"bias", KEY_BOOL, OFF(bias), 0, 0, 0, NULL, "", "biases on the projections (default false)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Tensor parallelism (Megatron-LM): gate/up column-parallel, down
 * row-parallel; I/tp per device; the down bias is replicated. */
static int dense_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct dense_cfg *c = p;
    if (c->intermediate % (long long)tp)
        return snprintf(msg, n, "intermediate (%lld) not divisible by %.0f",
                        (long long)c->intermediate, tp),
               -1;
    return 0;
}

static double swiglu_params(const struct dense_cfg *c, double h, double i)
{
    return 3.0 * h * i + (c->bias ? 2.0 * i + h : 0.0);
}

static void swiglu_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct dense_cfg *c = p;
    const double h = (double)m->hidden, i = (double)c->intermediate;
    out->params = swiglu_params(c, h, i);
    out->active_params = out->params;
    out->kv_elems = 0;
    out->params_dev = swiglu_params(c, h, i / tp);
    out->kv_elems_dev = 0;
}

static void swiglu_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct dense_cfg *c = p;
    const double h = (double)x->m->hidden, i = (double)c->intermediate / x->st->tp,
                 t = x->tokens;
    double v[SYM_COUNT];
    site_vars(x, v);
    v[SYM_I] = i;
    site_gemm(x, g, ROLE_GATE_UP_PROJ, "gate_up_proj", v, t, 2.0 * i, h, c->bias);
    site_pointwise(x, g, ROLE_SILU_MUL, "silu_mul", v, t, i, 2, FLOPS_SILU_MUL, false);
    op_gemm(g, "down_proj", t, h, i, c->bias);
}

/* GeGLU (Shazeer 2020; Gemma): down(gelu(x W_gate) * (x W_up)), the SwiGLU
 * shapes with GELU (tanh form, FLOPS_GELU) plus the multiply. */
static void geglu_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct dense_cfg *c = p;
    const double h = (double)x->m->hidden, i = (double)c->intermediate / x->st->tp,
                 t = x->tokens;
    double v[SYM_COUNT];
    site_vars(x, v);
    v[SYM_I] = i;
    site_gemm(x, g, ROLE_GATE_UP_PROJ, "gate_up_proj", v, t, 2.0 * i, h, c->bias);
    site_pointwise(x, g, ROLE_GELU_MUL, "gelu_mul", v, t, i, 2, FLOPS_GELU + 1.0, false);
    op_gemm(g, "down_proj", t, h, i, c->bias);
}

static double gelu_params(const struct dense_cfg *c, double h, double i)
{
    return 2.0 * h * i + (c->bias ? i + h : 0.0);
}

static void gelu_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct dense_cfg *c = p;
    const double h = (double)m->hidden, i = (double)c->intermediate;
    out->params = gelu_params(c, h, i);
    out->active_params = out->params;
    out->kv_elems = 0;
    out->params_dev = gelu_params(c, h, i / tp);
    out->kv_elems_dev = 0;
}

static void gelu_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct dense_cfg *c = p;
    const double h = (double)x->m->hidden, i = (double)c->intermediate / x->st->tp,
                 t = x->tokens;
    double v[SYM_COUNT];
    site_vars(x, v);
    v[SYM_I] = i;
    op_gemm(g, "up_proj", t, i, h, c->bias);
    site_pointwise(x, g, ROLE_GELU, "gelu", v, t, i, 1, FLOPS_GELU, false);
    op_gemm(g, "down_proj", t, h, i, c->bias);
}

const struct block_kind BLOCK_SWIGLU = {
    .name = "swiglu", .slot = SLOT_FFN,
    .summary = "dense SwiGLU FFN, 3 h x I matrices (Shazeer 2020)",
    .keys = SWIGLU_KEYS, .n_keys = N(SWIGLU_KEYS), .cfg_size = sizeof(struct dense_cfg),
    .count = swiglu_count, .tp_check = dense_tp_check, .lower = swiglu_lower, .max_ops = 3};

const struct block_kind BLOCK_GELU = {
    .name = "gelu", .slot = SLOT_FFN,
    .summary = "dense GELU MLP, 2 h x I matrices (Vaswani et al. 2017)",
    .keys = GELU_KEYS, .n_keys = N(GELU_KEYS), .cfg_size = sizeof(struct dense_cfg),
    .count = gelu_count, .tp_check = dense_tp_check, .lower = gelu_lower, .max_ops = 3};

const struct block_kind BLOCK_GEGLU = {
    .name = "geglu", .slot = SLOT_FFN,
    .summary = "dense gated-GELU FFN, 3 h x I matrices (Shazeer 2020; Gemma)",
    .keys = GEGLU_KEYS, .n_keys = N(GEGLU_KEYS), .cfg_size = sizeof(struct dense_cfg),
    .count = swiglu_count, .tp_check = dense_tp_check, .lower = geglu_lower, .max_ops = 3};
