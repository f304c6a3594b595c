/* ffn_moe.c - mixture-of-experts FFN: router, top-k routed experts, optional
 * shared experts.
 *
 * Router: a linear h -> E (Shazeer et al. 2017; Fedus et al. 2021), softmax
 * and top-k. Routed experts: E experts of intermediate I_e (SwiGLU, as in
 * Mixtral and Qwen3-MoE, or a GELU MLP); each token goes to k of them. Shared
 * experts (DeepSeekMoE, Dai et al. 2024): n_s always-active SwiGLU experts of
 * intermediate I_s, run as one dense GEMM of width n_s*I_s.
 *
 * Routing model (uniform): every token picks k distinct experts uniformly and
 * independently of the other tokens, so with T tokens the expected number of
 * experts touched is E*(1 - (1 - k/E)^T) and each touched expert is one GEMM
 * over T*k/touched tokens, its weights read once. Skewed and worst-case routing
 * come with the MoE issue. Formulas: docs/conventions.md. */
#include <math.h>
#include <stddef.h>

#include "ffn_moe.h"
#include "model.h"

enum expert_act { EXPERT_SWIGLU, EXPERT_GELU };
static const char *const EXPERT_ACTS[] = {"swiglu", "gelu", NULL};

struct moe_cfg {
    int64_t experts, top_k, expert_intermediate, shared_experts, shared_intermediate;
    int expert_activation;
    bool router_bias, expert_bias;
};

#define OFF(f) offsetof(struct moe_cfg, f)
static const struct key_spec MOE_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "moe: routed (and shared) experts"},
    {"experts", KEY_INT, OFF(experts), 1, 1048576, 1, NULL, "count", "routed experts E"},
    {"top_k", KEY_INT, OFF(top_k), 1, 1048576, 1, NULL, "count",
     "experts each token is routed to, k <= E"},
    {"expert_intermediate", KEY_INT, OFF(expert_intermediate), 1, 1 << 24, 1, NULL, "features",
     "intermediate size of each routed expert I_e"},
    {"expert_activation", KEY_ENUM, OFF(expert_activation), 0, 0, 0, EXPERT_ACTS, "",
     "routed experts' FFN form (default swiglu)"},
    {"shared_experts", KEY_INT, OFF(shared_experts), 0, 1024, 0, NULL, "count",
     "always-active SwiGLU experts n_s (default 0)"},
    {"shared_intermediate", KEY_INT, OFF(shared_intermediate), 1, 1 << 24, 0, NULL, "features",
     "intermediate size of each shared expert I_s; required when shared_experts > 0"},
    {"router_bias", KEY_BOOL, OFF(router_bias), 0, 0, 0, NULL, "",
     "bias on the router linear (default false)"},
    {"expert_bias", KEY_BOOL, OFF(expert_bias), 0, 0, 0, NULL, "",
     "biases on the routed experts' projections (gpt-oss; default false)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int moe_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    (void)m;
    struct moe_cfg *c = p;
    if (c->top_k > c->experts)
        return yml_fail(d, yml_map_get(d, map, "top_k"), e,
                        "top_k (%lld) must not exceed experts (%lld)", (long long)c->top_k,
                        (long long)c->experts);
    int si = yml_key_index(MOE_KEYS, N(MOE_KEYS), "shared_intermediate");
    bool has_si = present & (UINT64_C(1) << si);
    if (c->shared_experts > 0 && !has_si)
        return yml_fail(d, yml_map_get(d, map, "shared_experts"), e,
                        "shared_experts is %lld but shared_intermediate is missing",
                        (long long)c->shared_experts);
    if (c->shared_experts == 0 && has_si)
        return yml_fail(d, yml_map_get(d, map, "shared_intermediate"), e,
                        "shared_intermediate given but shared_experts is 0 (or missing)");
    return 0;
}

static double expert_mats(const struct moe_cfg *c)
{
    return c->expert_activation == EXPERT_SWIGLU ? 3.0 : 2.0;
}

/* Tensor parallelism (vLLM's default for MoE): every expert's intermediate
 * size, and the shared experts', is split over the tp devices; the router is
 * replicated. */
static double moe_params(const struct moe_cfg *c, double h, double experts_held, double tp)
{
    const double router = h * (double)c->experts + (c->router_bias ? (double)c->experts : 0.0);
    const double ie = (double)c->expert_intermediate;
    /* biases: the up (and gate) outputs split over tp; the down bias (h) is
     * added once after the reduction, so every device holds it */
    const double bias = c->expert_bias ? (expert_mats(c) - 1.0) * ie / tp + h : 0.0;
    const double expert = expert_mats(c) * h * ie / tp + bias;
    const double shared =
        3.0 * h * (double)c->shared_experts * (double)c->shared_intermediate / tp;
    return router + experts_held * expert + shared;
}

static void moe_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct moe_cfg *c = p;
    const double h = (double)m->hidden;
    out->params = moe_params(c, h, (double)c->experts, 1);
    out->active_params = moe_params(c, h, (double)c->top_k, 1);
    out->kv_elems = 0;
    out->params_dev = moe_params(c, h, (double)c->experts, tp);
    out->kv_elems_dev = 0;
}

static int moe_tp_check(const void *p, double tp, char *msg, size_t n)
{
    const struct moe_cfg *c = p;
    const long long t = (long long)tp;
    if (c->expert_intermediate % t)
        return snprintf(msg, n, "expert_intermediate (%lld) not divisible by %lld",
                        (long long)c->expert_intermediate, t),
               -1;
    if ((c->shared_experts * c->shared_intermediate) % t)
        return snprintf(msg, n, "shared experts' width (%lld) not divisible by %lld",
                        (long long)(c->shared_experts * c->shared_intermediate), t),
               -1;
    return 0;
}

/* Expected distinct experts touched by T tokens under uniform routing:
 * E * (1 - (1 - k/E)^T), computed as -E * expm1(T * log1p(-k/E)) so it stays
 * accurate for small k/E and large T; exactly E when k = E. */
double moe_experts_touched(double experts, double k, double tokens)
{
    if (tokens <= 0) return 0;
    if (k >= experts) return experts;
    return -experts * expm1(tokens * log1p(-k / experts));
}

static void moe_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct moe_cfg *c = p;
    const double tp = x->st->tp;
    const double h = (double)x->m->hidden, t = x->tokens, e = (double)c->experts,
                 k = (double)c->top_k, ie = (double)c->expert_intermediate / tp;
    op_gemm(g, "router", t, e, h, c->router_bias);
    op_router(g, "router_topk", t, e, k);
    if (c->shared_experts > 0) {
        const double is = (double)c->shared_experts * (double)c->shared_intermediate / tp;
        op_gemm(g, "shared_gate_up", t, 2.0 * is, h, false);
        op_elementwise(g, "shared_silu_mul", t, is, 2, FLOPS_SILU_MUL, false);
        op_gemm(g, "shared_down", t, h, is, false);
    }
    const double touched = moe_experts_touched(e, k, t);
    const double per_expert = touched > 0 ? t * k / touched : 0;
    if (c->expert_activation == EXPERT_SWIGLU) {
        op_batched_gemm(g, "experts_gate_up", touched, per_expert, 2.0 * ie, h, c->expert_bias);
        op_elementwise(g, "experts_silu_mul", t * k, ie, 2, FLOPS_SILU_MUL, false);
    } else {
        op_batched_gemm(g, "experts_up", touched, per_expert, ie, h, c->expert_bias);
        op_elementwise(g, "experts_gelu", t * k, ie, 1, FLOPS_GELU, false);
    }
    op_batched_gemm(g, "experts_down", touched, per_expert, h, ie, c->expert_bias);
    /* Weighted sum of the k expert outputs (and the shared output) per token:
     * reads k (+1) rows of h, a multiply and an add per input element. */
    const double inputs = k + (c->shared_experts > 0 ? 1.0 : 0.0);
    op_elementwise(g, "moe_combine", t, h, inputs, 2.0 * inputs, false);
}

const struct block_kind BLOCK_MOE = {
    .name = "moe", .slot = SLOT_FFN,
    .summary = "mixture of experts: router, top-k routed experts, optional shared experts",
    .keys = MOE_KEYS, .n_keys = N(MOE_KEYS), .cfg_size = sizeof(struct moe_cfg),
    .check = moe_check, .count = moe_count, .tp_check = moe_tp_check, .lower = moe_lower, .max_ops = 9};
