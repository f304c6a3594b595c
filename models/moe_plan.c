/* moe_plan.c - the routing plan of one MoE layer for one step: which experts
 * of the slowest expert-parallel device are touched, how many tokens each
 * group of them processes, what is dropped over capacity and what the
 * all-to-all moves. Every formula: docs/moe.md. No allocation. */
#include <math.h>

#include "moe_plan.h"

#include "moe_cfg.h"
#include "moe_route.h"

/* Expected-max term of the slowest of n devices: sqrt(2 ln n) standard
 * deviations above the mean (the Gaussian bound on the expected maximum). */
static double imbalance_z(double n) { return n > 1 ? sqrt(2.0 * log(n)) : 0; }

static double capacity(const struct moe_cfg *c, double m, double e)
{
    return c->capacity_factor > 0 ? ceil(c->capacity_factor * m * c->k_bar / e) : 0;
}

/* Variance of the picks one token sends to one device that holds E/n of the
 * E experts, uniform routing (docs/moe.md, "Load imbalance"). Given the
 * token's k, its k distinct experts are a uniform k-subset of E, so the count
 * on the device is hypergeometric (population E, E/n marked, k drawn):
 *   Var[X | k] = k f (1 - f) (E - k) / (E - 1),   f = (E/n) / E = 1/n.
 * Over the token's k (dynamic k: k_j with probability q_j), by the law of
 * total variance Var X = E[Var[X | k]] + Var(E[X | k]) = E[Var[X | k]] +
 * f^2 Var(k). */
static double hyper_var(const struct moe_cfg *c, double e, double n)
{
    const double f = 1.0 / n;
    double ekk = 0, ek2 = 0; /* E[k (E - k)], E[k^2] */
    for (int j = 0; j < c->n_k; j++) {
        ekk += c->kq[j] * c->kv[j] * (e - c->kv[j]);
        ek2 += c->kq[j] * c->kv[j] * c->kv[j];
    }
    const double v = (e > 1 ? f * (1 - f) * ekk / (e - 1) : 0) +
                     f * f * (ek2 - c->k_bar * c->k_bar);
    return v > 0 ? v : 0;
}

/* uniform and spread: every expert alike, one group. */
static void plan_even(const struct moe_cfg *c, double e, double t, double n, struct moe_plan *pl)
{
    const double k = c->k_bar, m = n * t, pe = k / e, cap = pl->capacity;
    double drop, touched, var = 0;
    if (c->routing == ROUTE_SPREAD) {
        const double a = m * k; /* picks spread as evenly as possible */
        drop = cap > 0 && a / e > cap ? a / e - cap : 0;
        touched = (a < e ? a : e) / n;
    } else {
        drop = cap > 0 ? moe_binom_excess(m, pe, cap) : 0;
        touched = moe_experts_touched(e, k, m) / n;
        var = m * hyper_var(c, e, n);
    }
    double load = (m * k - e * drop) / n;
    if (n > 1) {
        load += imbalance_z(n) * sqrt(var);
        if (cap > 0 && load > cap * e / n) load = cap * e / n;
    }
    pl->n_buckets = 1;
    pl->count[0] = touched;
    pl->tokens[0] = load;
    pl->dropped = e * drop;
    pl->sent = pl->received = n > 1 ? t * k * (n - 1) / n : 0;
}

/* concentrated: every token uses experts 0..k_t-1 (the same ones). Expert i
 * gets M * P(k > i) picks; sorted distinct k values form load levels. */
static void plan_concentrated(const struct moe_cfg *c, double e, double t, double n,
                              struct moe_plan *pl)
{
    const double m = n * t, per_dev = e / n, cap = pl->capacity;
    double ks[MOE_MAX_KDIST], ps[MOE_MAX_KDIST]; /* level j: experts [ks[j-1], ks[j]) */
    int nl = 0;
    for (double prev = 0;;) { /* ascending distinct k values */
        double next = INFINITY;
        for (int j = 0; j < c->n_k; j++)
            if (c->kv[j] > prev && c->kv[j] < next) next = c->kv[j];
        if (next == INFINITY) break;
        double q = 0;
        for (int j = 0; j < c->n_k; j++)
            if (c->kv[j] >= next) q += c->kq[j];
        ks[nl] = next, ps[nl++] = c->n_k == 1 ? 1.0 : q, prev = next;
    }
    pl->n_buckets = 0;
    pl->dropped = 0;
    double best_link = -1;
    for (int d = 0; d < (int)n; d++) {
        const double lo = d * per_dev, hi = lo + per_dev;
        double s = 0;
        for (int j = 0, b = -1; j < nl; j++) {
            const double a0 = j ? ks[j - 1] : 0, a1 = ks[j];
            const double ov = (a1 < hi ? a1 : hi) - (a0 > lo ? a0 : lo);
            if (ov <= 0) continue;
            const double load = m * ps[j], drop = cap > 0 && load > cap ? load - cap : 0;
            s += ov * ps[j];
            pl->dropped += ov * drop;
            if (d) continue; /* device 0 holds the busiest experts */
            const int nb = nl <= MOE_BUCKETS ? j : j * MOE_BUCKETS / nl;
            if (nb != b) b = nb, pl->count[pl->n_buckets] = 0, pl->tokens[pl->n_buckets++] = 0;
            pl->count[pl->n_buckets - 1] += ov;
            pl->tokens[pl->n_buckets - 1] += ov * (load - drop);
        }
        const double sent = t * (c->k_bar - s), recv = (n - 1) * t * s;
        const double link = sent > recv ? sent : recv;
        if (n > 1 && link > best_link) best_link = link, pl->sent = sent, pl->received = recv;
    }
    if (n <= 1) pl->sent = pl->received = 0;
}

/* zipf / histogram: per-expert probabilities p_i (in expert order; device d
 * holds experts [d E/n, (d+1) E/n)). */
static void plan_skewed(const struct moe_cfg *c, const struct moe_run *run, double t, double n,
                        struct moe_plan *pl)
{
    const int e = (int)run->experts, per = (int)(e / (int)n);
    const double m = n * t, cap = pl->capacity, z = imbalance_z(n);
    double drop[MOE_MAX_SKEW];
    int best = 0;
    double best_bound = -1, best_mu = 0, best_link = -1;
    pl->dropped = 0;
    for (int d = 0; d < (int)n; d++) {
        double mu = 0, var = 0, s = 0;
        for (int i = d * per; i < (d + 1) * per; i++) {
            const double p = run->p[i];
            drop[i] = cap > 0 ? moe_binom_excess(m, p, cap) : 0;
            pl->dropped += drop[i];
            mu += m * p - drop[i];
            var += m * p * (1 - p);
            s += p;
        }
        double bound = mu + z * sqrt(var);
        if (cap > 0 && bound > cap * per) bound = cap * per;
        if (bound > best_bound) best_bound = bound, best_mu = mu, best = d;
        const double sent = t * (c->k_bar - s), recv = (n - 1) * t * s;
        const double link = sent > recv ? sent : recv;
        if (n > 1 && link > best_link) best_link = link, pl->sent = sent, pl->received = recv;
    }
    if (n <= 1) pl->sent = pl->received = 0;
    /* Group the slowest device's experts by expected load, log-spaced between
     * its largest and smallest positive load. */
    double lmax = 0, lmin = INFINITY;
    for (int i = best * per; i < (best + 1) * per; i++) {
        const double l = m * run->p[i] - drop[i];
        if (l > lmax) lmax = l;
        if (l > 0 && l < lmin) lmin = l;
    }
    const double span = lmax > 0 && lmin < lmax * (1 - 1e-12) ? log(lmax / lmin) : 0;
    const double scale = n > 1 && best_mu > 0 ? best_bound / best_mu : 1;
    double cnt[MOE_BUCKETS] = {0}, tok[MOE_BUCKETS] = {0};
    for (int i = best * per; i < (best + 1) * per; i++) {
        const double p = run->p[i], l = m * p - drop[i];
        if (l <= 0) continue;
        int b = span > 0 ? (int)(MOE_BUCKETS * log(lmax / l) / span) : 0;
        if (b >= MOE_BUCKETS) b = MOE_BUCKETS - 1;
        cnt[b] += p >= 1 ? 1.0 : -expm1(m * log1p(-p));
        tok[b] += l * scale;
    }
    pl->n_buckets = 0;
    for (int b = 0; b < MOE_BUCKETS; b++)
        if (tok[b] > 0) pl->count[pl->n_buckets] = cnt[b], pl->tokens[pl->n_buckets++] = tok[b];
}

void moe_plan(const void *cfg, int run, double tokens, double ep, struct moe_plan *pl)
{
    const struct moe_cfg *c = cfg;
    const double e = (double)c->run[run].experts, n = ep >= 1 ? ep : 1;
    pl->experts = e;
    pl->k_bar = c->k_bar;
    pl->routed = tokens * c->k_bar;
    pl->capacity = capacity(c, n * tokens, e);
    if (c->routing == ROUTE_UNIFORM || c->routing == ROUTE_SPREAD)
        plan_even(c, e, tokens, n, pl);
    else if (c->routing == ROUTE_CONCENTRATED)
        plan_concentrated(c, e, tokens, n, pl);
    else
        plan_skewed(c, &c->run[run], tokens, n, pl);
    pl->touched = pl->load = 0;
    for (int b = 0; b < pl->n_buckets; b++) pl->touched += pl->count[b], pl->load += pl->tokens[b];
}

int moe_runs(const void *cfg) { return ((const struct moe_cfg *)cfg)->n_runs; }
void moe_run_shape(const void *cfg, int r, double *experts, double *layers)
{
    const struct moe_cfg *c = cfg;
    *experts = (double)c->run[r].experts;
    *layers = (double)c->run[r].layers;
}
