/* mix_mamba2.c - Mamba-2 token mixer (SSD), a linear-time kind for the
 * attention slot.
 *
 * Dao and Gu, "Transformers are SSMs: Generalized Models and Efficient
 * Algorithms Through Structured State Space Duality", ICML 2024
 * (arXiv:2405.21060). Parameters follow the reference implementation
 * (state-spaces/mamba `Mamba2`, and transformers' `Mamba2Mixer` /
 * `GraniteMoeHybridMambaLayer`):
 *   in_proj   h -> 2*d_in + 2*G*N + H    (z, x, B, C, dt), bias optional
 *   conv1d    depthwise over conv_dim = d_in + 2*G*N channels, kernel d_conv
 *             (+ bias), then SiLU
 *   dt_bias, A_log, D                   H each
 *   norm      gated RMSNorm over d_in: rmsnorm(y * silu(z)) * w
 *   out_proj  d_in -> h, bias optional
 * with d_in = expand*h = H*P (P = head_dim), G B/C groups, N = d_state.
 *
 * Per-sequence state, constant in context (no KV cache): the conv window
 * (d_conv - 1) x conv_dim and the SSM state H x P x N. Decode runs the
 * recurrence (O(1) per token); prefill the chunked SSD algorithm with chunks
 * of `chunk_size` (op `ssd`, OP_SCAN; formulas in sim/core/graph.c count_scan and
 * docs/variants/mamba2.md).
 *
 * Tensor parallelism: H/tp heads per device (z, x, dt, A, D, norm, out_proj
 * rows); B/C groups split when tp divides G, else each device holds the one
 * group its heads read (tp a multiple of G), as GQA replicates KV heads.
 *
 * Entry point: BLOCK_MAMBA2 (listed in models/registry.c). */
#include <stddef.h>

#include "model.h"

struct mamba2_cfg {
    int64_t d_state, expand, head_dim, heads, n_groups, d_conv, chunk_size;
    bool conv_bias, proj_bias, norm;
};

#define OFF(f) offsetof(struct mamba2_cfg, f)
static const struct key_spec MAMBA2_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "mamba2: Mamba-2 state-space mixer (SSD)"},
    {"d_state", KEY_INT, OFF(d_state), 1, 65536, 1, NULL, "features",
     "SSM state size N per head"},
    {"expand", KEY_INT, OFF(expand), 1, 64, 0, NULL, "factor",
     "inner width d_inner = expand*hidden (default 2)"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 0, NULL, "features",
     "head dimension P; must divide d_inner (default 64)"},
    {"heads", KEY_INT, OFF(heads), 1, 1048576, 0, NULL, "count",
     "SSM heads H (default d_inner/head_dim; must equal it if given)"},
    {"n_groups", KEY_INT, OFF(n_groups), 1, 65536, 0, NULL, "count",
     "B/C groups G shared by heads/G heads; must divide heads (default 1)"},
    {"d_conv", KEY_INT, OFF(d_conv), 1, 64, 0, NULL, "tokens",
     "causal depthwise conv kernel (default 4)"},
    {"chunk_size", KEY_INT, OFF(chunk_size), 1, 1048576, 0, NULL, "tokens",
     "chunk length Q of the SSD prefill algorithm (default 256)"},
    {"conv_bias", KEY_BOOL, OFF(conv_bias), 0, 0, 0, NULL, "", "bias on conv1d (default true)"},
    {"proj_bias", KEY_BOOL, OFF(proj_bias), 0, 0, 0, NULL, "",
     "bias on in_proj and out_proj (default false)"},
    {"norm", KEY_BOOL, OFF(norm), 0, 0, 0, NULL, "",
     "gated RMSNorm over d_inner before out_proj (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void mamba2_defaults(void *p)
{
    struct mamba2_cfg *c = p;
    c->expand = 2;     /* mamba_ssm Mamba2 defaults */
    c->head_dim = 64;
    c->n_groups = 1;
    c->d_conv = 4;
    c->chunk_size = 256;
    c->conv_bias = true;
    c->norm = true;
}

static yml_node key_node(const struct yml_doc *d, yml_node map, const char *name)
{
    yml_node n = yml_map_get(d, map, name);
    return n ? n : map;
}

static int mamba2_check(void *p, uint64_t present, const struct model *m,
                        const struct yml_doc *d, yml_node map, struct err *e)
{
    struct mamba2_cfg *c = p;
    const long long inner = (long long)c->expand * m->hidden, pd = c->head_dim;
    if (inner % pd)
        return yml_fail(d, key_node(d, map, "head_dim"), e,
                        "head_dim (%lld) must divide d_inner = expand*hidden = %lld", pd, inner);
    const int hi = yml_key_index(MAMBA2_KEYS, N(MAMBA2_KEYS), "heads");
    if ((present & (UINT64_C(1) << hi)) && c->heads != inner / pd)
        return yml_fail(d, yml_map_get(d, map, "heads"), e,
                        "heads (%lld) must equal d_inner/head_dim = %lld/%lld = %lld",
                        (long long)c->heads, inner, pd, inner / pd);
    c->heads = inner / pd;
    if (c->heads % c->n_groups)
        return yml_fail(d, key_node(d, map, "n_groups"), e,
                        "n_groups (%lld) must divide heads (%lld)", (long long)c->n_groups,
                        (long long)c->heads);
    return 0;
}

/* Groups one of tp devices holds: G/tp, or 1 when tp > G. */
static double local_groups(double g, double tp) { return g >= tp ? g / tp : 1.0; }

/* Parameters with hh heads and gg groups (a device's share when local; the
 * out_proj bias is replicated). */
static double mamba2_params(const struct mamba2_cfg *c, double h, double hh, double gg)
{
    const double n = (double)c->d_state, in = hh * (double)c->head_dim, bc = 2.0 * gg * n,
                 conv_dim = in + bc, proj = 2.0 * in + bc + hh;
    double p = h * proj + conv_dim * (double)c->d_conv + 3.0 * hh + in * h;
    if (c->proj_bias) p += proj + h;
    if (c->conv_bias) p += conv_dim;
    if (c->norm) p += in;
    return p;
}

/* Per-sequence state: conv window (d_conv - 1) x conv_dim and H x P x N. */
static double mamba2_state(const struct mamba2_cfg *c, double hh, double gg)
{
    const double n = (double)c->d_state, in = hh * (double)c->head_dim;
    return (double)(c->d_conv - 1) * (in + 2.0 * gg * n) + in * n;
}

static void mamba2_count(const void *p, const struct model *m, double tp,
                         struct block_counts *out)
{
    const struct mamba2_cfg *c = p;
    const double h = (double)m->hidden, hh = (double)c->heads, gg = (double)c->n_groups,
                 gl = local_groups(gg, tp);
    out->params = mamba2_params(c, h, hh, gg);
    out->active_params = out->params;
    out->kv_elems = 0;
    out->params_dev = mamba2_params(c, h, hh / tp, gl);
    out->kv_elems_dev = 0;
    out->state_elems = mamba2_state(c, hh, gg);
    out->state_elems_dev = mamba2_state(c, hh / tp, gl);
}

static int mamba2_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct mamba2_cfg *c = p;
    const long long t = (long long)tp, hh = c->heads, gg = c->n_groups;
    if (hh % t) return snprintf(msg, n, "heads (%lld) not divisible by %lld", hh, t), -1;
    if (gg % t && t % gg)
        return snprintf(msg, n, "n_groups (%lld) and %lld devices: neither divides the other",
                        gg, t),
               -1;
    return 0;
}

static void mamba2_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct mamba2_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hh = (double)c->heads / st->tp,
                 gg = local_groups((double)c->n_groups, st->tp), n = (double)c->d_state,
                 pd = (double)c->head_dim, in = hh * pd, conv_dim = in + 2.0 * gg * n,
                 k = (double)c->d_conv, t = x->tokens;
    op_gemm(g, "in_proj", t, 2.0 * in + 2.0 * gg * n + hh, h, c->proj_bias);
    /* Read the carried conv window when there is prior context, write the
     * new one (prefill: the prompt's tail), as CCA's state. */
    if (c->d_conv > 1)
        op_elementwise(g, "conv_state", st->batch, (k - 1.0) * conv_dim,
                       st->ctx_prior > 0 ? 1 : 0, 0, true)
            ->per_seq = true; /* read or not per sequence */
    /* Depthwise causal conv as one GEMM per channel (im2col: T x k taps). */
    op_batched_gemm(g, "conv1d", conv_dim, t, 1, k, c->conv_bias);
    op_elementwise(g, "conv_silu", t, conv_dim, 1, FLOPS_SILU, false);
    /* dt = softplus(dt + dt_bias) (add, exp, add, log), dA = exp(dt * A) (mul, exp). */
    op_elementwise(g, "dt_softplus", t, hh, 1, 6.0, false);
    const struct scan_shape ss = {.b = st->batch, .heads = hh, .groups = gg, .s = st->q_len,
                                  .chunk = (double)c->chunk_size, .dk = n, .dv = pd,
                                  .decay = true, .decay_input = true,
                                  .state_in = st->ctx_prior > 0};
    op_scan(g, "ssd", &ss);
    /* y + D*x (2), times silu(z) (5): reads y, x, z. */
    op_elementwise(g, "skip_gate", t, in, 3, 2.0 + FLOPS_SILU_MUL, false);
    if (c->norm) op_norm(g, "gated_norm", t, in, in, FLOPS_RMSNORM);
    op_gemm(g, "out_proj", t, h, in, c->proj_bias); /* row-parallel */
}

const struct block_kind BLOCK_MAMBA2 = {
    .name = "mamba2", .slot = SLOT_ATTN,
    .summary = "Mamba-2 SSD state-space mixer: per-sequence state, no KV cache (Dao and Gu 2024)",
    .keys = MAMBA2_KEYS, .n_keys = N(MAMBA2_KEYS), .cfg_size = sizeof(struct mamba2_cfg),
    .defaults = mamba2_defaults, .check = mamba2_check, .count = mamba2_count,
    .tp_check = mamba2_tp_check, .lower = mamba2_lower, .max_ops = 9};
