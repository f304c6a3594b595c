/* ffn_moe.c - mixture-of-experts FFN: router, top-k routed experts, optional
 * shared experts, routing models, capacity, dynamic k, expert-count schedules
 * and expert parallelism.
 *
 * Router: a linear h -> E (Shazeer et al. 2017; Fedus et al. 2021), softmax
 * and top-k. Routed experts: E experts of intermediate I_e (SwiGLU, as in
 * Mixtral and Qwen3-MoE, or a GELU MLP); each token goes to k of them. Shared
 * experts (DeepSeekMoE, Dai et al. 2024): n_s always-active SwiGLU experts of
 * intermediate I_s, run as one dense GEMM of width n_s*I_s.
 *
 * Routing models (key `routing`): uniform (default), zipf, histogram,
 * concentrated, spread. Each gives, per expert, the probability p_i that one
 * token picks it (sum p_i = k); tokens are independent, so T tokens touch
 * sum_i 1 - (1 - p_i)^T experts in expectation and expert i gets T*p_i tokens.
 * Experts are grouped by expected load into at most MOE_BUCKETS batched GEMMs
 * whose FLOPs and bytes are the exact sums over their experts. Capacity
 * factor, dynamic k (DynaMoE), per-layer expert schedules, group-limited
 * routing and expert parallelism: docs/moe.md. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "model.h"
#include "moe_cfg.h"
#include "moe_plan.h"
#include "moe_route.h"

static const char *const EXPERT_ACTS[] = {"swiglu", "gelu", NULL};
static const char *const ROUTINGS[] = {"uniform", "zipf", "histogram", "concentrated", "spread",
                                       NULL};
static const char *const SCHEDULES[] = {"uniform", "descending", "ascending", "explicit", NULL};

#define OFF(f) offsetof(struct moe_cfg, f)
static const struct key_spec MOE_KEYS[] = {
    {"kind", KEY_TAG, 0, 0, 0, 1, NULL, "", "moe: routed (and shared) experts"},
    {"experts", KEY_INT, OFF(experts), 1, 1048576, 1, NULL, "count",
     "routed experts E (the largest, with an expert_schedule)"},
    {"top_k", KEY_INT, OFF(top_k), 1, 1048576, 1, NULL, "count",
     "experts each token is routed to, k <= E (the most, with top_k_dist / expected_k)"},
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
    {"routing", KEY_ENUM, OFF(routing), 0, 0, 0, ROUTINGS, "",
     "routing model (default uniform; docs/moe.md)"},
    {"zipf_exponent", KEY_NUM, OFF(zipf_exponent), 0, 16, 0, NULL, "",
     "routing zipf: expert i (1-based) weighted i^-s (default 1)"},
    {"load_histogram", KEY_SEQ, 0, 0, 0, 0, NULL, "",
     "routing histogram: E non-negative per-expert load weights"},
    {"capacity_factor", KEY_NUM, OFF(capacity_factor), 0, 1e6, 0, NULL, "",
     "tokens per expert capped at ceil(f*T*k/E), the rest dropped (default 0: no cap)"},
    {"n_group", KEY_INT, OFF(n_group), 1, 1048576, 0, NULL, "count",
     "group-limited routing: expert groups, dividing E (default 1)"},
    {"topk_group", KEY_INT, OFF(topk_group), 1, 1048576, 0, NULL, "count",
     "groups each token may use, <= n_group (default n_group)"},
    {"top_k_dist", KEY_SEQ, 0, 0, 0, 0, NULL, "",
     "dynamic k: list of [k, probability] pairs, probabilities adding to 1"},
    {"expected_k", KEY_NUM, OFF(expected_k), 1, 1048576, 0, NULL, "count",
     "dynamic k: expected experts per token (floor/ceil mix), <= top_k"},
    {"expert_schedule", KEY_ENUM, OFF(schedule), 0, 0, 0, SCHEDULES, "",
     "experts per layer over the group's layers (default uniform: E everywhere)"},
    {"experts_min", KEY_INT, OFF(experts_min), 1, 1048576, 0, NULL, "count",
     "descending / ascending schedule: the smallest expert count"},
    {"schedule_stages", KEY_INT, OFF(schedule_stages), 2, MOE_MAX_RUNS, 0, NULL, "count",
     "descending / ascending schedule: equal-length stages (default 4)"},
    {"experts_per_layer", KEY_SEQ, 0, 0, 0, 0, NULL, "",
     "explicit schedule: one expert count per layer of the group"},
    {"expert_bias", KEY_BOOL, OFF(expert_bias), 0, 0, 0, NULL, "",
     "biases on the routed experts' projections (gpt-oss; default false)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void moe_defaults(void *p)
{
    struct moe_cfg *c = p;
    c->zipf_exponent = 1.0;
    c->n_group = 1;
    c->schedule_stages = 4;
}

static bool has(uint64_t present, const char *key)
{
    return present & (UINT64_C(1) << yml_key_index(MOE_KEYS, N(MOE_KEYS), key));
}

/* A plain number of a YAML list item. */
static int item_num(const struct yml_doc *d, yml_node n, double *out, struct err *e)
{
    const char *s = yml_scalar(d, n);
    char *end;
    if (!s || !*s) return yml_fail(d, n, e, "expected a number");
    *out = strtod(s, &end);
    if (*end || !isfinite(*out)) return yml_fail(d, n, e, "expected a number, got '%s'", s);
    return 0;
}

static int read_kdist(struct moe_cfg *c, const struct yml_doc *d, yml_node list, struct err *e)
{
    const int n = yml_seq_len(d, list);
    if (n < 1 || n > MOE_MAX_KDIST)
        return yml_fail(d, list, e, "top_k_dist must list 1 to %d [k, probability] pairs",
                        MOE_MAX_KDIST);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        yml_node it = yml_seq_at(d, list, i);
        if (yml_kind_of(d, it) != YML_SEQ || yml_seq_len(d, it) != 2)
            return yml_fail(d, it, e, "top_k_dist items are [k, probability] pairs");
        double k, q;
        if (item_num(d, yml_seq_at(d, it, 0), &k, e) || item_num(d, yml_seq_at(d, it, 1), &q, e))
            return -1;
        if (k != floor(k) || k < 1 || k > (double)c->top_k)
            return yml_fail(d, it, e, "top_k_dist: k must be a whole number from 1 to top_k (%lld)",
                            (long long)c->top_k);
        if (!(q > 0 && q <= 1))
            return yml_fail(d, it, e, "top_k_dist: probability must be in (0, 1]");
        for (int j = 0; j < i; j++)
            if (c->kv[j] == k) return yml_fail(d, it, e, "top_k_dist: k = %g listed twice", k);
        c->kv[i] = k, c->kq[i] = q, sum += q;
    }
    if (fabs(sum - 1) > 1e-9)
        return yml_fail(d, list, e, "top_k_dist probabilities add up to %.12g, not 1", sum);
    c->n_k = n;
    return 0;
}

/* Expert-count runs of the schedule over the group's `repeat` layers. */
static int build_runs(struct moe_cfg *c, uint64_t present, const struct yml_doc *d, yml_node map,
                      struct err *e)
{
    const int64_t r = c->repeat > 0 ? c->repeat : 1;
    c->n_runs = 0;
    if (c->schedule == SCHED_UNIFORM) {
        c->run[0].experts = c->experts, c->run[0].layers = r, c->n_runs = 1;
        return 0;
    }
    if (c->schedule == SCHED_EXPLICIT) {
        yml_node list = yml_map_get(d, map, "experts_per_layer");
        if (!list) return yml_fail(d, map, e, "expert_schedule explicit needs experts_per_layer");
        if (yml_seq_len(d, list) != r)
            return yml_fail(d, list, e, "experts_per_layer lists %d counts but the group has %lld layers",
                            yml_seq_len(d, list), (long long)r);
        for (int i = 0; i < r; i++) {
            yml_node it = yml_seq_at(d, list, i);
            double v;
            if (item_num(d, it, &v, e)) return -1;
            if (v != floor(v) || v < (double)c->top_k || v > (double)c->experts)
                return yml_fail(d, it, e, "experts_per_layer: %g is not a whole number from top_k "
                                "(%lld) to experts (%lld)", v, (long long)c->top_k,
                                (long long)c->experts);
            if (c->n_runs && c->run[c->n_runs - 1].experts == (int64_t)v) {
                c->run[c->n_runs - 1].layers++;
                continue;
            }
            if (c->n_runs == MOE_MAX_RUNS)
                return yml_fail(d, it, e, "experts_per_layer changes value more than %d times",
                                MOE_MAX_RUNS - 1);
            c->run[c->n_runs].experts = (int64_t)v, c->run[c->n_runs++].layers = 1;
        }
        return 0;
    }
    if (!has(present, "experts_min"))
        return yml_fail(d, map, e, "expert_schedule %s needs experts_min", SCHEDULES[c->schedule]);
    if (c->experts_min < c->top_k || c->experts_min > c->experts)
        return yml_fail(d, yml_map_get(d, map, "experts_min"), e,
                        "experts_min (%lld) must be from top_k (%lld) to experts (%lld)",
                        (long long)c->experts_min, (long long)c->top_k, (long long)c->experts);
    const int64_t s = c->schedule_stages < r ? c->schedule_stages : r;
    for (int64_t i = 0; i < s; i++) {
        const double f = s > 1 ? (double)i / (double)(s - 1) : 0;
        const double hi = (double)c->experts, lo = (double)c->experts_min;
        const int64_t v = llround(c->schedule == SCHED_DESCENDING ? hi + (lo - hi) * f
                                                                   : lo + (hi - lo) * f);
        const int64_t len = r / s + (i < r % s ? 1 : 0);
        if (c->n_runs && c->run[c->n_runs - 1].experts == v)
            c->run[c->n_runs - 1].layers += len;
        else
            c->run[c->n_runs].experts = v, c->run[c->n_runs++].layers = len;
    }
    return 0;
}

static int moe_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
                     yml_node map, struct err *e)
{
    struct moe_cfg *c = p;
    c->repeat = m->reading_repeat;
    if (c->top_k > c->experts)
        return yml_fail(d, yml_map_get(d, map, "top_k"), e,
                        "top_k (%lld) must not exceed experts (%lld)", (long long)c->top_k,
                        (long long)c->experts);
    bool has_si = has(present, "shared_intermediate");
    if (c->shared_experts > 0 && !has_si)
        return yml_fail(d, yml_map_get(d, map, "shared_experts"), e,
                        "shared_experts is %lld but shared_intermediate is missing",
                        (long long)c->shared_experts);
    if (c->shared_experts == 0 && has_si)
        return yml_fail(d, yml_map_get(d, map, "shared_intermediate"), e,
                        "shared_intermediate given but shared_experts is 0 (or missing)");
    /* group-limited routing */
    if (!has(present, "topk_group")) c->topk_group = c->n_group;
    if (c->experts % c->n_group)
        return yml_fail(d, yml_map_get(d, map, "n_group"), e,
                        "n_group (%lld) must divide experts (%lld)", (long long)c->n_group,
                        (long long)c->experts);
    if (c->topk_group > c->n_group)
        return yml_fail(d, yml_map_get(d, map, "topk_group"), e,
                        "topk_group (%lld) must not exceed n_group (%lld)",
                        (long long)c->topk_group, (long long)c->n_group);
    if (c->top_k > c->topk_group * (c->experts / c->n_group))
        return yml_fail(d, yml_map_get(d, map, "top_k"), e,
                        "top_k (%lld) exceeds the %lld experts of topk_group (%lld) groups",
                        (long long)c->top_k, (long long)(c->topk_group * (c->experts / c->n_group)),
                        (long long)c->topk_group);
    /* dynamic k */
    c->n_k = 1, c->kv[0] = (double)c->top_k, c->kq[0] = 1;
    if (has(present, "top_k_dist") && has(present, "expected_k"))
        return yml_fail(d, yml_map_get(d, map, "expected_k"), e,
                        "give top_k_dist or expected_k, not both");
    if (has(present, "top_k_dist") && read_kdist(c, d, yml_map_get(d, map, "top_k_dist"), e))
        return -1;
    if (has(present, "expected_k")) {
        if (c->expected_k > (double)c->top_k)
            return yml_fail(d, yml_map_get(d, map, "expected_k"), e,
                            "expected_k (%g) must not exceed top_k (%lld)", c->expected_k,
                            (long long)c->top_k);
        const double lo = floor(c->expected_k), fr = c->expected_k - lo;
        c->kv[0] = lo, c->kq[0] = 1 - fr, c->n_k = 1;
        if (fr > 0) c->kv[1] = lo + 1, c->kq[1] = fr, c->n_k = 2;
    }
    c->k_bar = 0, c->k_max = 0;
    for (int j = 0; j < c->n_k; j++) {
        c->k_bar += c->kv[j] * c->kq[j];
        if (c->kv[j] > c->k_max) c->k_max = c->kv[j];
    }
    if (c->n_k == 1 && c->kq[0] == 1) c->k_bar = c->kv[0];
    /* schedule */
    if (has(present, "experts_per_layer") && c->schedule != SCHED_EXPLICIT)
        return yml_fail(d, yml_map_get(d, map, "experts_per_layer"), e,
                        "experts_per_layer needs expert_schedule: explicit");
    if (build_runs(c, present, d, map, e)) return -1;
    for (int r = 0; r < c->n_runs; r++)
        if (c->run[r].experts % c->n_group)
            return yml_fail(d, yml_map_get(d, map, "n_group"), e,
                            "n_group (%lld) must divide every layer's expert count (%lld)",
                            (long long)c->n_group, (long long)c->run[r].experts);
    /* per-expert probabilities */
    const bool hist = c->routing == ROUTE_HISTOGRAM;
    if (has(present, "load_histogram") != hist)
        return yml_fail(d, hist ? map : yml_map_get(d, map, "load_histogram"), e,
                        hist ? "routing histogram needs load_histogram"
                             : "load_histogram needs routing: histogram");
    if (has(present, "zipf_exponent") && c->routing != ROUTE_ZIPF)
        return yml_fail(d, yml_map_get(d, map, "zipf_exponent"), e,
                        "zipf_exponent needs routing: zipf");
    if (c->routing != ROUTE_ZIPF && !hist) return 0;
    if (c->experts > MOE_MAX_SKEW)
        return yml_fail(d, yml_map_get(d, map, "routing"), e,
                        "routing %s supports at most %d experts", ROUTINGS[c->routing],
                        MOE_MAX_SKEW);
    if (hist && c->n_runs > 1)
        return yml_fail(d, yml_map_get(d, map, "expert_schedule"), e,
                        "routing histogram needs the same expert count in every layer");
    double w[MOE_MAX_SKEW], q[MOE_MAX_SKEW];
    yml_node hl = yml_map_get(d, map, "load_histogram");
    if (hist && yml_seq_len(d, hl) != c->experts)
        return yml_fail(d, hl, e, "load_histogram lists %d weights but experts is %lld",
                        yml_seq_len(d, hl), (long long)c->experts);
    for (int r = 0; r < c->n_runs; r++) {
        struct moe_run *run = &c->run[r];
        const int ne = (int)run->experts;
        for (int i = 0; i < ne; i++) {
            run->p[i] = 0;
            if (!hist) {
                w[i] = pow((double)(i + 1), -c->zipf_exponent);
                continue;
            }
            if (item_num(d, yml_seq_at(d, hl, i), &w[i], e)) return -1;
            if (w[i] < 0)
                return yml_fail(d, yml_seq_at(d, hl, i), e, "load_histogram weights must be >= 0");
        }
        for (int j = 0; j < c->n_k; j++) {
            if (moe_inclusion(w, ne, c->kv[j], q))
                return yml_fail(d, hl, e, "load_histogram has fewer than %g positive weights",
                                c->kv[j]);
            for (int i = 0; i < ne; i++) run->p[i] += c->kq[j] * q[i];
        }
    }
    return 0;
}

static double expert_mats(const struct moe_cfg *c)
{
    return c->expert_activation == EXPERT_SWIGLU ? 3.0 : 2.0;
}

/* Tensor parallelism (vLLM's default for MoE): every expert's intermediate
 * size, and the shared experts', is split over the tp devices; the router is
 * replicated. */
static double moe_params(const struct moe_cfg *c, double h, double experts, double held,
                         double tp)
{
    const double router = h * experts + (c->router_bias ? experts : 0.0);
    const double ie = (double)c->expert_intermediate;
    /* expert biases: the up (and gate) outputs split over tp; the down bias (h)
     * is added once after the reduction, so every device holds it */
    const double bias = c->expert_bias ? (expert_mats(c) - 1.0) * ie / tp + h : 0.0;
    const double expert = expert_mats(c) * h * ie / tp + bias;
    const double shared =
        3.0 * h * (double)c->shared_experts * (double)c->shared_intermediate / tp;
    return router + held * expert + shared;
}

/* Per-layer counts; with an expert schedule, the mean over the group's layers
 * (model_count multiplies by repeat). */
static void moe_count(const void *p, const struct model *m, double tp, struct block_counts *out)
{
    const struct moe_cfg *c = p;
    const double h = (double)m->hidden;
    const double ex = expert_mats(c) * h * (double)c->expert_intermediate;
    if (c->n_runs == 1) {
        const double e = (double)c->run[0].experts;
        out->params = moe_params(c, h, e, e, 1);
        out->active_params = moe_params(c, h, e, c->k_bar, 1);
        out->params_dev = moe_params(c, h, e, e, tp);
        out->ep_params_dev = e * ex / tp;
        out->kv_elems = out->kv_elems_dev = 0;
        return;
    }
    double pa = 0, ac = 0, pd = 0, epd = 0, layers = 0;
    for (int r = 0; r < c->n_runs; r++) {
        const double e = (double)c->run[r].experts, n = (double)c->run[r].layers;
        pa += n * moe_params(c, h, e, e, 1);
        ac += n * moe_params(c, h, e, c->k_bar, 1);
        pd += n * moe_params(c, h, e, e, tp);
        epd += n * e * ex / tp;
        layers += n;
    }
    out->params = pa / layers;
    out->active_params = ac / layers;
    out->kv_elems = 0;
    out->params_dev = pd / layers;
    out->kv_elems_dev = 0;
    out->ep_params_dev = epd / layers;
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

static int moe_ep_check(const void *p, double ep, char *msg, size_t n)
{
    const struct moe_cfg *c = p;
    const long long d = (long long)ep;
    for (int r = 0; r < c->n_runs; r++) {
        const long long e = (long long)c->run[r].experts;
        if (d > e)
            return snprintf(msg, n, "more devices than experts (%lld); replication is not modelled",
                            e),
                   -1;
        if (e % d) return snprintf(msg, n, "experts (%lld) not divisible by %lld", e, d), -1;
    }
    return 0;
}

static const char *const GATE_UP[MOE_BUCKETS] = {"experts_gate_up", "experts_gate_up_1",
                                                 "experts_gate_up_2", "experts_gate_up_3"};
static const char *const UP[MOE_BUCKETS] = {"experts_up", "experts_up_1", "experts_up_2",
                                            "experts_up_3"};
static const char *const DOWN[MOE_BUCKETS] = {"experts_down", "experts_down_1", "experts_down_2",
                                              "experts_down_3"};

static void lower_run(const struct moe_cfg *c, int r, const struct lower_ctx *x, struct graph *g)
{
    const double tp = x->st->tp, ep = x->st->ep >= 1 ? x->st->ep : 1;
    /* EP with TP (docs/moe.md): attention is split over tp; each of the tp
     * devices sends its 1/tp of the group's tokens to the experts, whole
     * (expert and shared widths not split), and the group gathers the rows back */
    const bool mix = ep > 1 && tp > 1;
    const double wtp = mix ? 1.0 : tp;
    const double h = (double)x->m->hidden, t = mix ? x->tokens / tp : x->tokens,
                 e = (double)c->run[r].experts, ie = (double)c->expert_intermediate / wtp;
    struct moe_plan pl;
    moe_plan(c, r, t, ep, &pl);
    op_gemm(g, "router", t, e, h, c->router_bias);
    op_router(g, "router_topk", t, e, pl.k_bar);
    if (c->shared_experts > 0) {
        const double is = (double)c->shared_experts * (double)c->shared_intermediate / wtp;
        op_gemm(g, "shared_gate_up", t, 2.0 * is, h, false);
        op_elementwise(g, "shared_silu_mul", t, is, 2, FLOPS_SILU_MUL, false);
        op_gemm(g, "shared_down", t, h, is, false);
    }
    if (ep > 1) op_alltoall(g, "moe_dispatch", pl.sent, pl.received, h, ep);
    const bool swiglu = c->expert_activation == EXPERT_SWIGLU;
    for (int b = 0; b < pl.n_buckets; b++) {
        const double per = pl.count[b] > 0 ? pl.tokens[b] / pl.count[b] : 0;
        op_batched_gemm(g, swiglu ? GATE_UP[b] : UP[b], pl.count[b], per, swiglu ? 2.0 * ie : ie,
                        h, c->expert_bias);
    }
    if (swiglu)
        op_elementwise(g, "experts_silu_mul", pl.load, ie, 2, FLOPS_SILU_MUL, false);
    else
        op_elementwise(g, "experts_gelu", pl.load, ie, 1, FLOPS_GELU, false);
    for (int b = 0; b < pl.n_buckets; b++) {
        const double per = pl.count[b] > 0 ? pl.tokens[b] / pl.count[b] : 0;
        op_batched_gemm(g, DOWN[b], pl.count[b], per, h, ie, c->expert_bias);
    }
    if (ep > 1) op_alltoall(g, "moe_gather", pl.received, pl.sent, h, ep);
    /* Weighted sum of the k expert outputs (and the shared output) per token:
     * reads k (+1) rows of h, a multiply and an add per input element. */
    const double inputs = pl.k_bar + (c->shared_experts > 0 ? 1.0 : 0.0);
    op_elementwise(g, "moe_combine", t, h, inputs, 2.0 * inputs, false);
    if (mix) op_allgather(g, "moe_allgather", x->tokens, h, tp);
}

/* One node set per run of equal expert counts, standing for that run's layers. */
static void moe_lower(const void *p, const struct lower_ctx *x, struct graph *g)
{
    const struct moe_cfg *c = p;
    if (c->n_runs == 1) {
        lower_run(c, 0, x, g);
        return;
    }
    const int first = g->layer_first, count = g->layer_count;
    int off = 0;
    for (int r = 0; r < c->n_runs; r++) {
        g->layer_first = first + off;
        g->layer_count = (int)c->run[r].layers;
        lower_run(c, r, x, g);
        off += (int)c->run[r].layers;
    }
    g->layer_first = first;
    g->layer_count = count;
}

const struct block_kind BLOCK_MOE = {
    .name = "moe", .slot = SLOT_FFN,
    .summary = "mixture of experts: router, top-k routed experts, optional shared experts",
    .keys = MOE_KEYS, .n_keys = N(MOE_KEYS), .cfg_size = sizeof(struct moe_cfg),
    .defaults = moe_defaults, .check = moe_check, .count = moe_count, .tp_check = moe_tp_check,
    .lower = moe_lower, .max_ops = MOE_MAX_RUNS * (9 + 2 * MOE_BUCKETS), .ep_check = moe_ep_check};
