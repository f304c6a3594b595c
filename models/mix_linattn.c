/* mix_linattn.c - linear attention / lightning attention, a linear-time kind
 * for the attention slot.
 *
 * Linear attention (Katharopoulos et al. 2020) keeps per head a D x D state
 * S = sum_t a^(..) k_t^T v_t and outputs o_t = q_t S_t; with `decay` each head
 * multiplies its state by a fixed factor per token (RetNet-style; Lightning
 * Attention-2, Qin et al. 2024, arXiv:2401.04658, computes it in blocks:
 * intra-block quadratic, inter-block through the state). MiniMax-01
 * (arXiv:2501.08313) uses lightning attention with SiLU on q, k, v, an RMSNorm
 * over the H*D output and a sigmoid output gate from the block input: the
 * options `silu`, `output_norm`, `output_gate`.
 *
 *   qkv_proj   h -> 3*H*D
 *   core       op `lightning` (OP_SCAN, groups = H, dk = dv = D)
 *   out_norm   RMSNorm over H*D (output_norm)
 *   gate       o * sigmoid(x W_g), W_g: h -> H*D (output_gate)
 *   out_proj   H*D -> h
 * The decay rates are fixed per head (no parameters).
 *
 * Per-sequence state, constant in context (no KV cache): H x D x D.
 * Tensor parallelism: H/tp heads per device; tp must divide H. The output
 * norm is taken per device over its H/tp heads (the exchange of the sum of
 * squares is not modelled).
 *
 * Entry point: BLOCK_LINATTN (listed in models/registry.c). */
#include <stddef.h>

#include "model.h"

struct linattn_cfg {
    int64_t heads, head_dim, chunk_size;
    bool decay, silu, output_norm, output_gate;
};

#define OFF(f) offsetof(struct linattn_cfg, f)
static const struct key_spec LINATTN_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "linattn: linear / lightning attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "heads H"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"chunk_size", KEY_INT, OFF(chunk_size), 1, 1048576, 0, NULL, "tokens",
     "block length of the chunked prefill (default 256)"},
    {"decay", KEY_BOOL, OFF(decay), 0, 0, 0, NULL, "",
     "fixed per-head decay of the state (lightning attention; default true)"},
    {"silu", KEY_BOOL, OFF(silu), 0, 0, 0, NULL, "",
     "SiLU on q, k and v (MiniMax-01; default false)"},
    {"output_norm", KEY_BOOL, OFF(output_norm), 0, 0, 0, NULL, "",
     "RMSNorm over the H*D output (MiniMax-01; default false)"},
    {"output_gate", KEY_BOOL, OFF(output_gate), 0, 0, 0, NULL, "",
     "sigmoid output gate from the block input, h x H*D (MiniMax-01; default false)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void linattn_defaults(void *p)
{
    struct linattn_cfg *c = p;
    c->chunk_size = 256;
    c->decay = true;
}

/* Parameters with hh heads (a device's share when local). */
static double linattn_params(const struct linattn_cfg *c, double h, double hh)
{
    const double w = hh * (double)c->head_dim;
    double p = 3.0 * h * w + w * h;
    if (c->output_gate) p += h * w;
    if (c->output_norm) p += w;
    return p;
}

static void linattn_count(const void *p, const struct model *m, double tp,
                          struct block_counts *out)
{
    const struct linattn_cfg *c = p;
    const double h = (double)m->hidden, hh = (double)c->heads, d = (double)c->head_dim;
    out->params = linattn_params(c, h, hh);
    out->active_params = out->params;
    out->kv_elems = 0;
    out->params_dev = linattn_params(c, h, hh / tp);
    out->kv_elems_dev = 0;
    out->state_elems = hh * d * d;
    out->state_elems_dev = hh / tp * d * d;
}

static int linattn_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct linattn_cfg *c = p;
    const long long t = (long long)tp, hh = c->heads;
    if (hh % t) return snprintf(msg, n, "heads (%lld) not divisible by %lld", hh, t), -1;
    return 0;
}

static void linattn_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct linattn_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hh = (double)c->heads / st->tp,
                 d = (double)c->head_dim, w = hh * d, t = x->tokens;
    op_gemm(g, "qkv_proj", t, 3.0 * w, h, false);
    if (c->silu) op_elementwise(g, "qkv_silu", t, 3.0 * w, 1, FLOPS_SILU, false);
    const struct scan_shape ss = {.b = st->batch, .heads = hh, .groups = hh, .s = st->q_len,
                                  .chunk = (double)c->chunk_size, .dk = d, .dv = d,
                                  .decay = c->decay, .decay_input = false,
                                  .state_in = st->ctx_prior > 0};
    op_scan(g, "lightning", &ss);
    if (c->output_norm) op_norm(g, "out_norm", t, w, w, FLOPS_RMSNORM);
    if (c->output_gate) {
        op_gemm(g, "gate_proj", t, w, h, false);
        /* sigmoid (neg, exp, add, div) and multiply: reads o and the gate */
        op_elementwise(g, "gate_mul", t, w, 2, 5.0, false);
    }
    op_gemm(g, "out_proj", t, h, w, false); /* row-parallel */
}

const struct block_kind BLOCK_LINATTN = {
    .name = "linattn", .slot = SLOT_ATTN,
    .summary = "linear / lightning attention: H x D x D state per sequence, no KV cache "
               "(Qin et al. 2024; MiniMax-01)",
    .keys = LINATTN_KEYS, .n_keys = N(LINATTN_KEYS), .cfg_size = sizeof(struct linattn_cfg),
    .defaults = linattn_defaults, .count = linattn_count, .tp_check = linattn_tp_check,
    .lower = linattn_lower, .max_ops = 7};
