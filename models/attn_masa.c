/* attn_masa.c - MASA: matrix atom sharing in attention.
 *
 * Zhussip, Shopkhoev, Ali and Lefkimmiatis 2025, "Share Your Attention:
 * Transformer Weight Sharing via Matrix-based Dictionary Learning" (arXiv
 * 2508.04581, AAAI 2026). Each of the four projection types (Q, K, V, O) has
 * its own dictionary of S matrix atoms shared by a set of layers; a layer's
 * projection is a linear combination of its type's atoms with S coefficients
 * of its own: W_l = sum_s c_{l,s} D_s. Attention itself is GQA (Hkv KV heads;
 * Hkv = H is the paper's MHA).
 *
 * Parameters. A dictionary set holds A = S * (h*(H + 2Hkv)*D + H*D*h) atom
 * parameters; each layer adds 4S coefficients. Block counts are per layer, so
 * the atoms are attributed evenly to the `share_layers` layers that share them
 * (default: the whole layer group; it must divide the group's repeat, one
 * dictionary set per run of share_layers layers): per layer 4S + A/share_layers.
 * Summed over a group of R layers this is R*4S + (R/share_layers)*A, the exact
 * total; the check requires the odd part of share_layers to divide A, so that
 * A/share_layers is exact in binary floating point and the model's total
 * parameter count stays an exact integer.
 *
 * Execution (`execution`):
 *   reconstruct  rebuild the dense matrices every step (one GEMV per
 *                projection type against the atoms: 2*S FLOPs per weight,
 *                atoms read once), then the GQA GEMMs on them.
 *   atoms        multiply the input by every atom (one GEMM with S times the
 *                output width) and combine the S results with the
 *                coefficients (2*S FLOPs per output element).
 * Details: docs/variants/masa.md.
 *
 * Entry point: BLOCK_MASA (listed in registry.c). */
#include <math.h>
#include <stddef.h>

#include "attn_common.h"
#include "model.h"

enum masa_exec { MASA_RECONSTRUCT, MASA_ATOMS };
static const char *const MASA_EXECS[] = {"reconstruct", "atoms", NULL};

struct masa_cfg {
    int64_t heads, kv_heads, head_dim, atoms, share_layers;
    int execution;
    bool rope;
};

#define OFF(f) offsetof(struct masa_cfg, f)
static const struct key_spec MASA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "masa: attention projections from shared atoms"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv; H must be a multiple"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"atoms", KEY_INT, OFF(atoms), 1, 65536, 1, NULL, "count",
     "atoms S in each projection type's dictionary (Q, K, V, O)"},
    {"share_layers", KEY_INT, OFF(share_layers), 1, 1 << 20, 0, NULL, "count",
     "layers sharing one dictionary set; divides the group's repeat (default: the repeat)"},
    {"execution", KEY_ENUM, OFF(execution), 0, 0, 0, MASA_EXECS, "",
     "reconstruct (dense weights rebuilt each step) or atoms (apply atoms, combine); default "
     "reconstruct"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void masa_defaults(void *p)
{
    struct masa_cfg *c = p;
    c->rope = true;
    c->execution = MASA_RECONSTRUCT;
}

/* Weights of one layer's four dense projections (hq query, hkv KV heads). */
static double dense_weights(const struct masa_cfg *c, double h, double hq, double hkv)
{
    const double d = (double)c->head_dim;
    return h * (hq + 2.0 * hkv) * d + hq * d * h;
}

/* The layer group being read is the last one the loader has started
 * (model_load sets its repeat before reading its blocks). */
static int masa_check(void *p, uint64_t present, const struct model *m,
                      const struct yml_doc *d, yml_node map, struct err *e)
{
    struct masa_cfg *c = p;
    if (attn_heads_check(c->heads, c->kv_heads, d, map, e)) return -1;
    const int64_t repeat = m->groups[m->n_groups - 1].repeat;
    const bool given = present & (UINT64_C(1) << yml_key_index(MASA_KEYS, N(MASA_KEYS),
                                                                "share_layers"));
    if (!given) c->share_layers = repeat;
    yml_node at = given ? yml_map_get(d, map, "share_layers") : map;
    if (repeat % c->share_layers)
        return yml_fail(d, at, e, "share_layers (%lld) must divide the group's repeat (%lld)",
                        (long long)c->share_layers, (long long)repeat);
    const double a = (double)c->atoms *
                     dense_weights(c, (double)m->hidden, (double)c->heads, (double)c->kv_heads);
    if (a <= 9007199254740992.0) { /* larger models are refused by model_load anyway */
        int64_t odd = c->share_layers;
        while (odd % 2 == 0) odd /= 2;
        if ((int64_t)a % odd)
            return yml_fail(d, at, e,
                            "the dictionary's %.0f parameters are not divisible by the odd "
                            "part (%lld) of share_layers (%lld), so the per-layer share would "
                            "not be exact; pick share_layers or atoms to make it divide",
                            a, (long long)odd, (long long)c->share_layers);
    }
    return 0;
}

/* Per-layer params with hq, hkv heads (local counts for one device): 4S
 * coefficients plus this layer's share of the atoms. */
static double masa_params(const struct masa_cfg *c, double h, double hq, double hkv)
{
    const double s = (double)c->atoms;
    return 4.0 * s + s * dense_weights(c, h, hq, hkv) / (double)c->share_layers;
}


/* Active = params: every token goes through every atom of its layer's
 * dictionaries (and the attribution is the same). */
static void masa_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct masa_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim, kvl = attn_local_kv_heads(hkv, tp);
    out->params = masa_params(c, h, hq, hkv);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d;
    out->params_dev = masa_params(c, h, hq / tp, kvl);
    out->kv_elems_dev = 2.0 * kvl * d;
}

/* Atoms are split like the dense matrices they build (Q, K, V atoms by output
 * heads, O atoms by input heads; KV heads replicated when tp > Hkv), the
 * coefficients are replicated: the GQA rule. */
static int masa_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct masa_cfg *c = p;
    return attn_heads_tp_check(c->heads, c->kv_heads, tp, msg, n);
}

/* One device's ops for the chosen execution; see the file header. */
static void masa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct masa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = attn_local_kv_heads((double)c->kv_heads, st->tp), d = (double)c->head_dim,
                 t = x->tokens, s = (double)c->atoms, qkv_n = (hq + 2.0 * hkv) * d;
    if (c->execution == MASA_RECONSTRUCT) {
        /* (1 x S) coefficients @ (S x numel) atoms: 2*S*numel FLOPs */
        op_gemm(g, "qkv_reconstruct", 1, h * qkv_n, s, false);
        op_gemm(g, "qkv_proj", t, qkv_n, h, false);
    } else {
        op_gemm(g, "qkv_atoms", t, s * qkv_n, h, false);
        op_elementwise(g, "qkv_combine", t, qkv_n, s, 2.0 * s, false);
    }
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    const double q = st->q_len, pairs = q * st->ctx_prior + q * (q + 1.0) / 2.0;
    const struct attn_shape as = {.b = st->batch, .hq = hq, .dqk = d, .dv = d, .sq = q,
                                  .skv = st->ctx_prior + q, .pairs = pairs,
                                  .kv_width = 2.0 * hkv * d, .kv_cached = st->ctx_prior > 0};
    op_attention(g, "attention", &as);
    if (c->execution == MASA_RECONSTRUCT) {
        op_gemm(g, "o_reconstruct", 1, hq * d * h, s, false);
        op_gemm(g, "o_proj", t, h, hq * d, false);
    } else {
        op_gemm(g, "o_atoms", t, s * h, hq * d, false);
        op_elementwise(g, "o_combine", t, h, s, 2.0 * s, false);
    }
}

const struct block_kind BLOCK_MASA = {
    .name = "masa",
    .slot = SLOT_ATTN,
    .summary = "matrix atom sharing: Q/K/V/O as combinations of dictionary atoms shared "
               "across layers (Zhussip et al. 2025)",
    .keys = MASA_KEYS,
    .n_keys = N(MASA_KEYS),
    .cfg_size = sizeof(struct masa_cfg),
    .defaults = masa_defaults,
    .check = masa_check,
    .count = masa_count,
    .tp_check = masa_tp_check,
    .lower = masa_lower,
    .max_ops = 7,
    .takes_mask = true,
};
