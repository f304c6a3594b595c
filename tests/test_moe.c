/* test_moe.c - MoE routing models, capacity, dynamic k, expert schedules and
 * expert parallelism against exact enumeration, a fixed-seed Monte Carlo and
 * hand derivations (docs/moe.md). */
#include "testutil.h"

#include "../models/ffn_moe.h"
#include "../models/moe_route.h"

/* A one-group MoE model: `ffn` is the flow mapping of the FFN block. */
static struct model *moe_model(const char *ffn, int layers)
{
    char y[2048];
    snprintf(y, sizeof y,
             "name: t\nhidden: 4096\nlayers: %d\nvocab: 1000\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n  - repeat: %d\n"
             "    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}\n"
             "    ffn: {kind: moe, expert_intermediate: 1536, %s}\n",
             layers, layers, ffn);
    struct model *m = NULL;
    struct err e;
    if (model_load(tu_write_temp(y), &m, &e)) err_print(&e, stderr);
    assert_non_null(m);
    return m;
}
static const void *ffn_cfg(const struct model *m) { return m->groups[0].cfg[SLOT_FFN]; }

/* Systematic PPS sampling (Madow 1949) with inclusion probabilities p: u in
 * [0,1) picks the experts whose cumulative interval holds u, u+1, ..., u+k-1.
 * Enumerates its outcomes exactly: the breakpoints frac(cum_i) cut [0,1) into
 * pieces, each giving one subset (bitmask) with probability = piece length. */
static int systematic_outcomes(const double *p, int e, unsigned *sets, double *prob)
{
    double cut[40];
    int nc = 0;
    double cum = 0;
    cut[nc++] = 0;
    for (int i = 0; i < e; i++) {
        cum += p[i];
        double f = cum - floor(cum + 1e-12);
        if (f > 1e-12 && f < 1 - 1e-12) cut[nc++] = f;
    }
    cut[nc++] = 1;
    for (int i = 0; i < nc; i++) /* sort */
        for (int j = i + 1; j < nc; j++)
            if (cut[j] < cut[i]) { double t = cut[i]; cut[i] = cut[j]; cut[j] = t; }
    int n = 0;
    for (int c = 0; c + 1 < nc; c++) {
        if (cut[c + 1] - cut[c] < 1e-15) continue;
        const double u = (cut[c] + cut[c + 1]) / 2;
        unsigned s = 0;
        double lo = 0;
        for (int i = 0; i < e; i++) {
            const double hi = lo + p[i];
            for (double x = u; x < cum + 1; x += 1)
                if (x >= lo && x < hi) s |= 1u << i;
            lo = hi;
        }
        sets[n] = s, prob[n++] = cut[c + 1] - cut[c];
    }
    return n;
}
static unsigned popc(unsigned x)
{
    unsigned c = 0;
    for (; x; x &= x - 1) c++;
    return c;
}
/* Expected distinct experts over T iid tokens drawn from (sets, prob). */
static double enum_touched(const unsigned *sets, const double *prob, int n, int t)
{
    double total = 0;
    int idx[4] = {0};
    for (;;) {
        unsigned u = 0;
        double pr = 1;
        for (int i = 0; i < t; i++) u |= sets[idx[i]], pr *= prob[idx[i]];
        total += pr * popc(u);
        int i = 0;
        while (i < t && ++idx[i] == n) idx[i++] = 0;
        if (i == t) break;
    }
    return total;
}

/* Zipf and histogram: p_i = min(1, c w_i), sum k; the design draws exactly k
 * distinct experts with those marginals, and sum 1-(1-p_i)^T is the exact
 * expected distinct count (enumerated over all T-token outcomes). */
static void test_moe_skewed_enumeration(void **state)
{
    (void)state;
    const int E = 6;
    double w[3][6] = {{0}, {5, 1, 0, 3, 2, 0.5}, {9, 1, 1, 1, 1, 1}}; /* last: capped */
    for (int i = 0; i < E; i++) w[0][i] = pow(i + 1, -1.2);
    for (int c = 0; c < 3; c++)
        for (int k = 1; k <= 3; k++) {
            double p[6];
            assert_int_equal(moe_inclusion(w[c], E, k, p), 0);
            double sum = 0;
            for (int i = 0; i < E; i++) sum += p[i], assert_true(p[i] <= 1 + 1e-15);
            assert_close(sum, k, 1e-12);
            unsigned sets[40];
            double prob[40];
            int n = systematic_outcomes(p, E, sets, prob);
            double marg[6] = {0}, tot = 0;
            for (int s = 0; s < n; s++) {
                assert_int_equal(popc(sets[s]), k); /* k distinct picks */
                tot += prob[s];
                for (int i = 0; i < E; i++)
                    if (sets[s] >> i & 1) marg[i] += prob[s];
            }
            assert_close(tot, 1, 1e-12);
            for (int i = 0; i < E; i++) assert_true(fabs(marg[i] - p[i]) < 1e-12);
            for (int t = 1; t <= 3; t++)
                assert_close(moe_touched_p(p, E, t), enum_touched(sets, prob, n, t), 1e-12);
        }
    /* w = {9,1,1,1,1,1}, k = 2: expert 0 capped at 1, the rest share 1: 0.2 each */
    double p[6];
    moe_inclusion(w[2], E, 2, p);
    assert_exact(p[0], 1);
    assert_close(p[3], 0.2, 1e-15);
    double two[2] = {1, 0};
    assert_int_equal(moe_inclusion(two, 2, 2, p), -1); /* one positive weight, k = 2 */
}

/* Group-limited routing (DeepSeek-V3): a token picks topk_group of n_group
 * groups, then k experts among theirs. By symmetry each expert's marginal is
 * still k/E, so the expected touched count is E(1-(1-k/E)^T) unchanged:
 * enumerated for E = 6, 3 groups of 2, topk_group 2, k = 2. */
static void test_moe_grouped_enumeration(void **state)
{
    (void)state;
    unsigned sets[64];
    double prob[64];
    int n = 0;
    for (int g1 = 0; g1 < 3; g1++)
        for (int g2 = g1 + 1; g2 < 3; g2++) {
            const unsigned pool = 3u << (2 * g1) | 3u << (2 * g2);
            for (unsigned s = 0; s < 64; s++)
                if ((s & ~pool) == 0 && popc(s) == 2) sets[n] = s, prob[n++] = 1.0 / 3 / 6;
        }
    for (int t = 1; t <= 3; t++)
        assert_close(moe_experts_touched(6, 2, t), enum_touched(sets, prob, n, t), 1e-12);
}

/* Monte Carlo, E = 64, k = 4, Zipf s = 1, T = 50, 20,000 trials (fixed seed):
 * the sample mean of distinct experts must lie within 6 standard errors
 * (sample sd / sqrt(trials)) of the formula. */
static uint64_t rng = 0x9E3779B97F4A7C15u;
static double unif(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static void test_moe_zipf_monte_carlo(void **state)
{
    (void)state;
    enum { E = 64, K = 4, T = 50, TRIALS = 20000 };
    double w[E], p[E];
    for (int i = 0; i < E; i++) w[i] = 1.0 / (i + 1);
    assert_int_equal(moe_inclusion(w, E, K, p), 0);
    double s1 = 0, s2 = 0;
    for (int r = 0; r < TRIALS; r++) {
        unsigned char hit[E] = {0};
        for (int t = 0; t < T; t++) {
            const double u = unif();
            double lo = 0;
            int got = 0;
            for (int i = 0; i < E; i++) {
                const double hi = lo + p[i];
                const double x = ceil(lo - u) + u; /* first u + j >= lo */
                if (x < hi) hit[i] = 1, got++;
                lo = hi;
            }
            assert_int_equal(got, K);
        }
        int d = 0;
        for (int i = 0; i < E; i++) d += hit[i];
        s1 += d, s2 += (double)d * d;
    }
    const double mean = s1 / TRIALS, var = (s2 - s1 * mean) / (TRIALS - 1);
    const double want = moe_touched_p(p, E, T), se = sqrt(var / TRIALS);
    if (fabs(mean - want) > 6 * se) {
        print_error("MC mean %.6f, formula %.6f, 6 SE %.6f\n", mean, want, 6 * se);
        fail();
    }
}

static const struct op *find(const struct graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->ops[i].name, name) == 0) return &g->ops[i];
    return NULL;
}
static void lower_m(const struct model *m, struct graph *g, double tokens, double ep)
{
    struct step st = {.phase = PHASE_DECODE, .batch = tokens, .q_len = 1, .ctx_prior = 10,
                      .tp = 1, .ep = ep, .dt_w = m->dt_w, .dt_act = m->dt_act, .dt_kv = m->dt_kv};
    assert_int_equal(graph_init(g, model_max_ops(m)), 0);
    model_lower(m, &st, g);
}
static double intensity(const struct op *op)
{
    const struct op_cost *c = &op->cost;
    return (c->flops_mm + c->flops_vec) / (c->bytes_w + c->bytes_act + c->bytes_kv + c->bytes_out);
}

/* Per-expert intensity. T = 1: each of k experts' gate_up GEMM is 1 x 4096 x
 * 3072: 2*3072*4096 FLOPs over (3072*4096 weights + 4096 in + 3072 out) x 2 B
 * = 25,165,824 / 25,180,160 = 0.99943. T = 4096 tokens all on the same 8
 * experts (concentrated): 4096 rows each: 2*4096*3072*4096 FLOPs over
 * 2*(3072*4096 + 4096*4096 + 4096*3072) B = 1228.8 FLOP/B. */
static void test_moe_intensity(void **state)
{
    (void)state;
    struct model *m = moe_model("experts: 128, top_k: 8", 1);
    struct graph g;
    lower_m(m, &g, 1, 1);
    const struct op *gu = find(&g, "experts_gate_up");
    assert_exact(gu->shape.gemm.count, 8);
    assert_exact(intensity(gu), 25165824.0 / 25180160.0);
    graph_free(&g);
    model_free(m);
    m = moe_model("experts: 128, top_k: 8, routing: concentrated", 1);
    lower_m(m, &g, 4096, 1);
    gu = find(&g, "experts_gate_up");
    assert_exact(gu->shape.gemm.count, 8);
    assert_exact(gu->shape.gemm.m, 4096);
    assert_close(intensity(gu), 1228.8, 1e-14);
    graph_free(&g);
    model_free(m);
}

/* Zipf: FLOPs and weight bytes over the buckets are exact sums over experts:
 * FLOPs 2*T*k*3*h*I whatever the routing, weights = sum_i 1-(1-p_i)^T experts. */
static void test_moe_zipf_buckets(void **state)
{
    (void)state;
    struct model *m = moe_model("experts: 64, top_k: 4, routing: zipf, zipf_exponent: 1.1", 1);
    struct graph g;
    const double T = 32;
    lower_m(m, &g, T, 1);
    double w[64], p[64], mm = 0, wb = 0;
    int n = 0;
    for (int i = 0; i < 64; i++) w[i] = pow(i + 1, -1.1);
    moe_inclusion(w, 64, 4, p);
    for (int i = 0; i < g.n; i++)
        if (g.ops[i].kind == OP_BATCHED_GEMM && strncmp(g.ops[i].name, "experts_gate_up", 15) == 0)
            mm += g.ops[i].cost.flops_mm, wb += g.ops[i].cost.bytes_w, n++;
    assert_true(n > 1 && n <= MOE_BUCKETS);
    assert_close(mm, 2 * T * 4 * 2 * 1536 * 4096, 1e-13);
    assert_close(wb, moe_touched_p(p, 64, T) * 2 * 1536 * 4096 * 2, 1e-13);
    graph_free(&g);
    model_free(m);
}

/* Capacity C = ceil(f T k / E); dropped = sum_i E[(N_i - C)^+]. */
static void test_moe_capacity(void **state)
{
    (void)state;
    struct moe_plan pl;
    /* uniform E = 4, k = 1, T = 4, f = 1: C = 1, N ~ Bin(4, 1/4):
     * E[(N-1)^+] = E[N] - 1 + P(N=0) = (3/4)^4 = 81/256 per expert */
    struct model *m = moe_model("experts: 4, top_k: 1, capacity_factor: 1", 1);
    moe_plan(ffn_cfg(m), 0, 4, 1, &pl);
    assert_exact(pl.capacity, 1);
    assert_close(pl.dropped, 4 * 81.0 / 256, 1e-14);
    assert_close(pl.load, 4 - 4 * 81.0 / 256, 1e-14);
    model_free(m);
    /* concentrated E = 8, k = 2, T = 10, f = 1.5: C = ceil(3.75) = 4; each of
     * the 2 experts gets 10 tokens, drops 6 */
    m = moe_model("experts: 8, top_k: 2, routing: concentrated, capacity_factor: 1.5", 1);
    moe_plan(ffn_cfg(m), 0, 10, 1, &pl);
    assert_exact(pl.capacity, 4);
    assert_exact(pl.dropped, 12);
    assert_exact(pl.load, 8);
    assert_exact(pl.touched, 2);
    model_free(m);
    /* spread E = 8, k = 2, T = 10: 2.5 tokens per expert; f = 0.5: C = 2,
     * 0.5 dropped per expert */
    m = moe_model("experts: 8, top_k: 2, routing: spread, capacity_factor: 0.5", 1);
    moe_plan(ffn_cfg(m), 0, 10, 1, &pl);
    assert_exact(pl.dropped, 4);
    assert_exact(pl.touched, 8);
    model_free(m);
    /* the binomial tail against a direct sum: Bin(20, 0.3), c = 7 */
    double s = 0;
    for (int x = 8; x <= 20; x++) {
        double lc = lgamma(21) - lgamma(x + 1) - lgamma(21 - x);
        s += (x - 7) * exp(lc + x * log(0.3) + (20 - x) * log(0.7));
    }
    assert_close(moe_binom_excess(20, 0.3, 7), s, 1e-12);
}

/* Dynamic k (DynaMoE): the expected k sets the uniform touched count and the
 * active parameters. */
static void test_moe_dynamic_k(void **state)
{
    (void)state;
    struct model *m = moe_model("experts: 64, top_k: 4, top_k_dist: [[1, 0.5], [2, 0.25], [4, 0.25]]", 1);
    struct moe_plan pl;
    moe_plan(ffn_cfg(m), 0, 16, 1, &pl);
    assert_exact(pl.k_bar, 2.0); /* 0.5 + 0.5 + 1 */
    assert_close(pl.touched, 64 * (1 - pow(1 - 2.0 / 64, 16)), 1e-14);
    assert_close(pl.load, 32, 1e-15);
    struct model_counts c;
    model_count(m, 1, &c);
    struct model *m4 = moe_model("experts: 64, top_k: 4", 1);
    struct model_counts c4;
    model_count(m4, 1, &c4);
    assert_close(c4.active_params - c.active_params, 2 * 3 * 4096 * 1536.0, 1e-15);
    model_free(m4);
    model_free(m);
    m = moe_model("experts: 64, top_k: 4, expected_k: 2.5", 1);
    moe_plan(ffn_cfg(m), 0, 16, 1, &pl);
    assert_exact(pl.k_bar, 2.5);
    model_free(m);
}

/* Schedules: descending 64 -> 16 over 8 layers in 4 stages: 64, 48, 32, 16
 * two layers each; one node set per stage, parameters summed per stage. */
static void test_moe_schedule(void **state)
{
    (void)state;
    struct model *m = moe_model("experts: 64, top_k: 2, expert_schedule: descending, experts_min: 16", 8);
    assert_int_equal(moe_runs(ffn_cfg(m)), 4);
    const double want[4] = {64, 48, 32, 16};
    for (int r = 0; r < 4; r++) {
        double e, l;
        moe_run_shape(ffn_cfg(m), r, &e, &l);
        assert_exact(e, want[r]);
        assert_exact(l, 2);
    }
    struct model_counts c;
    model_count(m, 1, &c);
    const double h = 4096, attn = h * 48 * 128 + 32 * 128 * h, norms = 2 * h;
    const double experts = 2 * (64 + 48 + 32 + 16) * (h + 3 * h * 1536);
    assert_close(c.params, 8 * (attn + norms) + experts + 2 * 1000 * h + h, 1e-15);
    struct graph g;
    lower_m(m, &g, 4, 1);
    int routers = 0;
    for (int i = 0; i < g.n; i++)
        if (strcmp(g.ops[i].name, "router") == 0) {
            assert_exact(g.ops[i].shape.gemm.n, want[routers]);
            assert_int_equal(g.ops[i].layer_first, 2 * routers);
            assert_int_equal(g.ops[i].layer_count, 2);
            routers++;
        }
    assert_int_equal(routers, 4);
    graph_free(&g);
    model_free(m);
}

/* --ep 1 is one device holding every expert, for uniform and zipf routing.
 * Hand figures of the test model (h 4096, 2 layers, GQA 32/8 heads of 128,
 * 64 experts of I = 1536, top-4, vocab 1000, bf16), decode of B = 64 at
 * context 100 (101 keys per sequence):
 *   no all-to-all op and no interconnect bytes (tp 1, ep 1);
 *   matmul FLOPs per layer, whatever the routing (each of the 64 x 4 picks
 *   is one row through gate_up and down):
 *     qkv_proj  2 x 64 x (32 + 2 x 8) x 128 x 4096
 *     attention 64 x 32 x 101 x 2 x (128 + 128)
 *     o_proj    2 x 64 x 4096 x 4096
 *     router    2 x 64 x 64 x 4096
 *     gate_up   2 x (64 x 4) x (2 x 1536) x 4096
 *     down      2 x (64 x 4) x 4096 x 1536
 *   plus lm_head 2 x 64 x 1000 x 4096 once;
 *   weights on the device: every parameter x 2 B, per layer
 *   4096 x 6144 + 4096 x 4096 (attention) + 2 x 4096 (norms) + 64 x 4096
 *   (router) + 64 x 3 x 4096 x 1536 (experts), plus 2 x 1000 x 4096
 *   (embedding, lm_head) + 4096 (final norm);
 *   uniform: experts touched by 64 tokens 64 (1 - (1 - 4/64)^64).
 * And ep 1 is bit for bit the run without --ep. */
static void test_moe_ep_one_is_identity(void **state)
{
    (void)state;
    const char *cfgs[2] = {"experts: 64, top_k: 4", "experts: 64, top_k: 4, routing: zipf"};
    struct device *d = tu_device("h100-sxm5-80gb");
    const double layer_mm = 2.0 * 64 * 48 * 128 * 4096 + 64.0 * 32 * 101 * 2 * 256 +
                            2.0 * 64 * 4096 * 4096 + 2.0 * 64 * 64 * 4096 +
                            2.0 * 256 * 3072 * 4096 + 2.0 * 256 * 4096 * 1536;
    const double flops_mm = 2 * layer_mm + 2.0 * 64 * 1000 * 4096;
    const double layer_p = 4096.0 * 6144 + 4096.0 * 4096 + 2 * 4096 + 64 * 4096 +
                           64 * 3 * 4096.0 * 1536;
    const double params = 2 * layer_p + 2 * 1000 * 4096.0 + 4096;
    for (int i = 0; i < 2; i++) {
        struct model *m = moe_model(cfgs[i], 2);
        struct analysis a, b;
        assert_int_equal(analysis_init(&a, m), 0);
        assert_int_equal(analysis_init(&b, m), 0);
        struct scenario s0 = {.phase = PHASE_DECODE, .batch = 64, .context = 100};
        struct scenario s1 = s0;
        s1.ep = 1;
        analysis_run(&a, m, d, &s0);
        analysis_run(&b, m, d, &s1);
        for (int j = 0; j < b.graph.n; j++) assert_int_not_equal(b.graph.ops[j].kind, OP_ALLTOALL);
        assert_exact(b.tot.cost.bytes_net, 0);
        assert_close(b.tot.cost.flops_mm, flops_mm, 1e-15); /* count x m rounds */
        assert_exact(b.weight_bytes_dev, params * 2);
        if (i == 0)
            assert_close(find(&b.graph, "experts_gate_up")->shape.gemm.count,
                         64 * (1 - pow(60 / 64.0, 64)), 1e-14);
        assert_int_equal(memcmp(&a.tot, &b.tot, sizeof a.tot), 0);
        assert_exact(a.memory_bytes, b.memory_bytes);
        assert_exact(a.ttft_s, b.ttft_s);
        analysis_free(&a);
        analysis_free(&b);
        model_free(m);
    }
    device_free(d);
}

/* All-to-all: qwen3-235b-a22b decode, B = 16 per device, ep = 4: each device
 * sends 16 x 8 x 3/4 = 96 rows of 4096 bf16 = 786,432 B per direction, twice
 * per layer. Expert loads: 32 of the 128 experts per device; the 4 x 16 = 64
 * tokens of the step each put a hypergeometric number of their 8 picks on it,
 * variance 8 (32/128)(96/128)(120/127) per token, so the slowest device holds
 * T k + sqrt(2 ln 4) sqrt(64 * 8 * 1/4 * 3/4 * 120/127) tokens. Weights per
 * device: routed experts / 4. */
static void test_moe_ep_alltoall(void **state)
{
    (void)state;
    struct model *m = tu_model("qwen3-235b-a22b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 16, .context = 1024, .ep = 4};
    analysis_run(&a, m, d, &sc);
    const struct op *dis = find(&a.graph, "moe_dispatch"), *gat = find(&a.graph, "moe_gather");
    assert_non_null(dis);
    assert_non_null(gat);
    assert_close(dis->cost.bytes_net, 786432.0, 1e-15);
    assert_close(gat->cost.bytes_net, 786432.0, 1e-15);
    assert_close(a.tot.cost.bytes_net, 94 * 2 * 786432.0, 1e-14);
    const struct op *gu = find(&a.graph, "experts_gate_up");
    const double load = 16 * 8 + sqrt(2 * log(4.0)) * sqrt(64 * 8 * 0.25 * 0.75 * (120 / 127.0));
    assert_close(gu->shape.gemm.count * gu->shape.gemm.m, load, 1e-14);
    assert_close(gu->shape.gemm.count, 32 * (1 - pow(120 / 128.0, 64)), 1e-13);
    const double routed = 94 * 128 * 3 * 4096 * 1536.0;
    struct model_counts c;
    model_count(m, 1, &c);
    assert_close(a.weight_bytes_dev, (c.params - routed * 3 / 4) * 2, 1e-15);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* Variance of one token's picks on a device holding g of E experts, by
 * enumeration: for each k (probability q_k) every k-subset of the E experts
 * is equally likely; X = how many of them lie among experts 0..g-1. */
static double enum_pick_var(int e, int g, const int *ks, const double *qs, int nk)
{
    double m1 = 0, m2 = 0;
    for (int j = 0; j < nk; j++) {
        double n = 0, s1 = 0, s2 = 0;
        for (unsigned mask = 0; mask < 1u << e; mask++) {
            if ((int)popc(mask) != ks[j]) continue;
            const double x = popc(mask & ((1u << g) - 1));
            n += 1, s1 += x, s2 += x * x;
        }
        m1 += qs[j] * s1 / n, m2 += qs[j] * s2 / n;
    }
    return m2 - m1 * m1;
}

/* Expert-parallel load bound, uniform routing: T k + sqrt(2 ln N) sigma with
 * sigma^2 = N T Var X, X hypergeometric (docs/moe.md, "Load imbalance").
 * E = 6, k = 2, N = 3 (g = 2): Var X = 2 (1/3)(2/3)(4/5) = 16/45; T = 5 per
 * device, 15 tokens in all: load = 10 + sqrt(2 ln 3) sqrt(15 x 16/45).
 * Dynamic k, E = 8, k = 1 or 3 (1/2 each), N = 2 (g = 4): given k,
 * k (1/2)(1/2)(8 - k)/7: 7/28 and 15/28, mean 11/28; Var(E[X | k]) =
 * (1/2)^2 Var(k) = 1/4 x 1 = 7/28; Var X = 18/28 = 9/14; T = 3: load =
 * 3 x 2 + sqrt(2 ln 2) sqrt(6 x 9/14). Both variances are also enumerated
 * over every subset. The independent-binomial sum would give 2 x 15 x 2/6 x
 * 4/6 = 20/3 instead of 16/3 in the first case. */
static void test_moe_ep_variance(void **state)
{
    (void)state;
    const int k2[1] = {2}, k13[2] = {1, 3};
    const double q1[1] = {1}, q13[2] = {0.5, 0.5};
    assert_close(enum_pick_var(6, 2, k2, q1, 1), 16.0 / 45, 1e-14);
    assert_close(enum_pick_var(8, 4, k13, q13, 2), 9.0 / 14, 1e-14);
    struct moe_plan pl;
    struct model *m = moe_model("experts: 6, top_k: 2", 1);
    moe_plan(ffn_cfg(m), 0, 5, 3, &pl);
    assert_close(pl.load, 10 + sqrt(2 * log(3.0)) * sqrt(15 * 16.0 / 45), 1e-14);
    model_free(m);
    m = moe_model("experts: 8, top_k: 3, top_k_dist: [[1, 0.5], [3, 0.5]]", 1);
    moe_plan(ffn_cfg(m), 0, 3, 2, &pl);
    assert_close(pl.load, 6 + sqrt(2 * log(2.0)) * sqrt(6 * 9.0 / 14), 1e-14);
    model_free(m);
}

/* Inconsistent settings fail at the offending key (YAML) or exit 2 (CLI). */
static void expect_error(const char *ffn, const char *msg)
{
    char y[2048];
    snprintf(y, sizeof y,
             "name: t\nhidden: 64\nlayers: 2\nvocab: 100\ntied_embeddings: false\n"
             "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
             "groups:\n  - repeat: 2\n"
             "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 16}\n"
             "    ffn: {kind: moe, expert_intermediate: 32, %s}\n", ffn);
    struct model *m = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    if (model_load(tu_write_temp(y), &m, &e) == 0 || !strstr(e.msg, msg) || e.line != 11 ||
        e.col < 1) {
        print_error("want line 11 '%s', got %d:%d '%s'\n", msg, e.line, e.col, e.msg);
        model_free(m);
        fail();
    }
}
static void test_moe_errors(void **state)
{
    (void)state;
    expect_error("experts: 4, top_k: 5", "top_k (5) must not exceed experts (4)");
    expect_error("experts: 4, top_k: 1, routing: zipf, zipf_exponent: -1", "zipf_exponent");
    expect_error("experts: 4, top_k: 1, routing: histogram, load_histogram: [1, 2, 3]",
                 "load_histogram lists 3 weights but experts is 4");
    expect_error("experts: 6, top_k: 1, n_group: 4", "n_group (4) must divide experts (6)");
    expect_error("experts: 8, top_k: 1, n_group: 4, topk_group: 5",
                 "topk_group (5) must not exceed n_group (4)");
    expect_error("experts: 8, top_k: 4, n_group: 4, topk_group: 1", "exceeds the 2 experts");
    expect_error("experts: 8, top_k: 2, top_k_dist: [[1, 0.5], [2, 0.4]]", "add up to");
    expect_error("experts: 8, top_k: 2, top_k_dist: [[3, 1]]", "k must be a whole number");
    expect_error("experts: 8, top_k: 2, expected_k: 3", "expected_k (3) must not exceed");
    expect_error("experts: 8, top_k: 2, expert_schedule: explicit, experts_per_layer: [8]",
                 "lists 1 counts but the group has 2 layers");
    expect_error("experts: 8, top_k: 2, expert_schedule: descending", "needs experts_min");
    expect_error("experts: 8, top_k: 2, capacity_factor: -1", "capacity_factor");
    expect_error("experts: 8, top_k: 2, load_histogram: [1]", "needs routing: histogram");
}
static void test_moe_cli_errors(void **state)
{
    (void)state;
    char out[8192], err[8192];
    assert_int_equal(tu_run("analyze qwen3-235b --hw h100 --phase decode --context 10 --ep 3",
                            out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "experts (128) not divisible by 3"));
    assert_int_equal(tu_run("analyze qwen3-235b --hw h100 --phase decode --context 10 --ep 256",
                            out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "more devices than experts"));
    /* EP with TP: the expert group holds whole attention groups (docs/moe.md) */
    assert_int_equal(tu_run("analyze qwen3-235b --hw h100 --phase decode --context 10 --ep 2 "
                            "--tp 4", out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "--ep a multiple of --tp"));
    assert_int_equal(tu_run("analyze qwen3-235b --hw h100 --phase decode --context 10 --ep 0",
                            out, sizeof out, err, sizeof err), 2);
    assert_int_equal(tu_run("analyze qwen3-235b --hw h100 --phase decode --context 10 --ep 8 "
                            "--per-op", out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "moe_dispatch"));
    assert_non_null(strstr(out, "alltoall"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moe_skewed_enumeration),
        cmocka_unit_test(test_moe_grouped_enumeration),
        cmocka_unit_test(test_moe_zipf_monte_carlo),
        cmocka_unit_test(test_moe_intensity),
        cmocka_unit_test(test_moe_zipf_buckets),
        cmocka_unit_test(test_moe_capacity),
        cmocka_unit_test(test_moe_dynamic_k),
        cmocka_unit_test(test_moe_schedule),
        cmocka_unit_test(test_moe_ep_one_is_identity),
        cmocka_unit_test(test_moe_ep_alltoall),
        cmocka_unit_test(test_moe_ep_variance),
        cmocka_unit_test(test_moe_errors),
        cmocka_unit_test(test_moe_cli_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
