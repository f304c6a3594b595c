/* attn_kdgqa.c - key-driven grouped-query attention: KDGQA and DGQA.
 *
 * Khan et al. 2024, "Beyond Uniform Query Distribution: Key-Driven Grouped
 * Query Attention" (arXiv 2408.08454): GQA whose H query heads are assigned
 * to the Hkv key/value heads in proportion to the norms of the key heads
 * (KDGQA: norms of the current forward pass; DGQA: an EMA of them), instead of
 * H/Hkv query heads per KV head. Weights and KV cache are those of GQA.
 *
 * Cost model: GQA plus the key-norm computation; the attention core is a fused
 * kernel that pads every KV head's group to the largest group g_max, so it
 * computes Hkv * g_max heads' worth of (query, key) pairs (H of them useful).
 * g_max comes from an explicit allocation (`query_groups`, one count per KV
 * head, summing to H), from a worst-case `imbalance` factor f >= 1
 * (g_max = ceil(f * H / Hkv)), or, with neither, ceil(H / Hkv).
 * Details and simplifications: docs/variants/kdgqa.md.
 *
 * Entry point: BLOCK_KDGQA (listed in registry.c). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "attn_common.h"
#include "model.h"

#define KDGQA_MAX_GROUPS 4096 /* longest query_groups list */

struct kdgqa_cfg {
    int64_t heads, kv_heads, head_dim;
    double imbalance; /* f >= 1; 0 when not given */
    bool rope;
    /* Derived by kdgqa_check. */
    int n_groups;                     /* 0 unless query_groups was given */
    int32_t groups[KDGQA_MAX_GROUPS]; /* query heads per KV head */
    double max_group;                 /* g_max */
};

#define OFF(f) offsetof(struct kdgqa_cfg, f)
static const struct key_spec KDGQA_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "kdgqa: key-driven grouped-query attention"},
    {"heads", KEY_INT, OFF(heads), 1, 65536, 1, NULL, "count", "query heads H"},
    {"kv_heads", KEY_INT, OFF(kv_heads), 1, 65536, 1, NULL, "count",
     "key/value heads Hkv (H need not be a multiple)"},
    {"head_dim", KEY_INT, OFF(head_dim), 1, 65536, 1, NULL, "features", "head dimension D"},
    {"query_groups", KEY_SEQ, 0, 0, 0, 0, NULL, "count",
     "query heads allocated to each KV head (Hkv integers summing to H); sets the largest group"},
    {"imbalance", KEY_NUM, OFF(imbalance), 1, 65536, 0, NULL, "ratio",
     "worst-case largest group over the uniform H/Hkv (>= 1); not with query_groups"},
    {"rope", KEY_BOOL, OFF(rope), 0, 0, 0, NULL, "",
     "rotary position embedding on q and k (default true)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void kdgqa_defaults(void *p)
{
    struct kdgqa_cfg *c = p;
    c->rope = true;
}

static bool has_key(uint64_t present, const char *name)
{
    return present & (UINT64_C(1) << yml_key_index(KDGQA_KEYS, N(KDGQA_KEYS), name));
}

/* Reads the query_groups list into c->groups; checks its length, entries and
 * sum. Returns 0 or -1 with e set at the offending node. */
static int read_query_groups(struct kdgqa_cfg *c, const struct yml_doc *d, yml_node list,
                             struct err *e)
{
    const int n = yml_seq_len(d, list);
    if (n != c->kv_heads)
        return yml_fail(d, list, e, "query_groups has %d entries, but kv_heads is %lld", n,
                        (long long)c->kv_heads);
    if (n > KDGQA_MAX_GROUPS)
        return yml_fail(d, list, e, "query_groups has %d entries, at most %d are supported", n,
                        KDGQA_MAX_GROUPS);
    int64_t sum = 0, max = 0;
    for (int i = 0; i < n; i++) {
        yml_node item = yml_seq_at(d, list, i);
        const char *s = yml_scalar(d, item);
        char *end = NULL;
        long long v = s && *s ? strtoll(s, &end, 10) : -1;
        if (!s || !*s || *end || v < 0 || v > 65536)
            return yml_fail(d, item, e,
                            "query_groups entries must be integers from 0 to 65536, got '%s'",
                            s ? s : "a list or mapping");
        c->groups[i] = (int32_t)v;
        sum += v;
        if (v > max) max = v;
    }
    if (sum != c->heads)
        return yml_fail(d, list, e, "query_groups add up to %lld query heads, but heads is %lld",
                        (long long)sum, (long long)c->heads);
    c->n_groups = n;
    c->max_group = (double)max;
    return 0;
}

static int kdgqa_check(void *p, uint64_t present, const struct model *m,
                       const struct yml_doc *d, yml_node map, struct err *e)
{
    (void)m;
    struct kdgqa_cfg *c = p;
    const double hq = (double)c->heads, hkv = (double)c->kv_heads;
    if (c->kv_heads > c->heads)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "kv_heads (%lld) must not exceed heads (%lld)", (long long)c->kv_heads,
                        (long long)c->heads);
    const bool groups = has_key(present, "query_groups"), imb = has_key(present, "imbalance");
    if (groups && imb)
        return yml_fail(d, yml_map_get(d, map, "imbalance"), e,
                        "give either query_groups or imbalance, not both");
    if (groups) return read_query_groups(c, d, yml_map_get(d, map, "query_groups"), e);
    /* ceil with a relative tolerance, so that 1.2 * 5 = 6.000000000000001 is 6 */
    const double f = imb ? c->imbalance : 1.0, x = f * hq / hkv;
    c->max_group = ceil(x - 1e-12 * x);
    if (c->max_group > hq)
        return yml_fail(d, yml_map_get(d, map, "imbalance"), e,
                        "imbalance %g puts %.0f query heads in one group, more than heads (%lld)",
                        f, c->max_group, (long long)c->heads);
    return 0;
}

/* Params: those of GQA with H query and Hkv KV heads (one device's share when
 * hq, hkv are local counts). */
static double kdgqa_params(double h, double hq, double hkv, double d)
{
    return h * (hq + 2.0 * hkv) * d + hq * d * h;
}

static void kdgqa_count(const void *p, const struct model *m, double tp,
                        struct block_counts *out)
{
    const struct kdgqa_cfg *c = p;
    const double h = (double)m->hidden, hq = (double)c->heads, hkv = (double)c->kv_heads,
                 d = (double)c->head_dim;
    out->params = kdgqa_params(h, hq, hkv, d);
    out->active_params = out->params;
    out->kv_elems = 2.0 * hkv * d;
    out->params_dev = kdgqa_params(h, hq / tp, hkv / tp, d);
    out->kv_elems_dev = 2.0 * hkv / tp * d;
}

/* Tensor parallelism: KV heads and query heads split evenly (both divisible
 * by tp; no KV replication, since a query head must sit with the KV head it is
 * allocated to). The key-driven allocation then runs within each device's
 * share, so an explicit query_groups must give every device (consecutive runs
 * of Hkv/tp KV heads) exactly H/tp query heads. */
static int kdgqa_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct kdgqa_cfg *c = p;
    const long long t = (long long)tp, h = c->heads, kv = c->kv_heads;
    if (h % t) return snprintf(msg, n, "heads (%lld) not divisible by %lld", h, t), -1;
    if (kv % t)
        return snprintf(msg, n, "kv_heads (%lld) not divisible by %lld (kdgqa does not "
                                "replicate KV heads)", kv, t),
               -1;
    const long long per = kv / t;
    for (int dev = 0; c->n_groups && dev < t; dev++) {
        long long sum = 0;
        for (long long i = dev * per; i < (dev + 1) * per; i++) sum += c->groups[i];
        if (sum != h / t)
            return snprintf(msg, n, "query_groups give device %d %lld query heads, not %lld",
                            dev, sum, h / t),
                   -1;
    }
    return 0;
}

/* One device: qkv_proj, key_norm (L2 norm of each new key head: D squares and
 * adds per head and token, T*Hkv norms written), rope, kv_write, the padded
 * attention core (Hkv * g_max heads), o_proj. */
static void kdgqa_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct kdgqa_cfg *c = p;
    const struct step *st = x->st;
    const double h = (double)x->m->hidden, hq = (double)c->heads / st->tp,
                 hkv = (double)c->kv_heads / st->tp, d = (double)c->head_dim, t = x->tokens;
    op_gemm(g, "qkv_proj", t, (hq + 2.0 * hkv) * d, h, false);
    op_elementwise(g, "key_norm", t * hkv, 1, d, 2.0 * d, false);
    if (c->rope) op_elementwise(g, "rope", t, (hq + hkv) * d, 1, FLOPS_ROPE, false);
    op_elementwise(g, "kv_write", t, 2.0 * hkv * d, 1, 0, true);
    const double s = st->q_len, pairs = attn_causal_pairs(st);
    const struct attn_shape as = {.b = st->batch, .hq = hkv * c->max_group, .dqk = d, .dv = d,
                                  .sq = s, .skv = st->ctx_prior + s, .pairs = pairs,
                                  .kv_width = 2.0 * hkv * d, .kv_cached = st->ctx_prior > 0};
    op_attention(g, "attention", &as);
    op_gemm(g, "o_proj", t, h, hq * d, false);
}

const struct block_kind BLOCK_KDGQA = {
    .name = "kdgqa",
    .slot = SLOT_ATTN,
    .summary = "key-driven GQA: query heads allocated to KV heads by key norms; time set by "
               "the largest group (Khan et al. 2024)",
    .keys = KDGQA_KEYS,
    .n_keys = N(KDGQA_KEYS),
    .cfg_size = sizeof(struct kdgqa_cfg),
    .defaults = kdgqa_defaults,
    .check = kdgqa_check,
    .count = kdgqa_count,
    .tp_check = kdgqa_tp_check,
    .lower = kdgqa_lower,
    .max_ops = 6,
    .takes_mask = true,
};
