/* serve_gen.c - the requests of a serving scenario, one at a time: lengths
 * (cycled list, uniform, lognormal, histogram, or a trace), arrivals (all at
 * once, Poisson, gamma with a burstiness coefficient, under a rate curve, or
 * the trace's times), and what prompts share (a system prompt, multi-turn
 * sessions). Deterministic for a seed. Formulas: docs/serving.md, "Requests".
 * To add a length distribution: a serve_mix value, its keys in serve_load.c,
 * a case in gen_length. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* splitmix64 (Steele, Lea and Flood 2014): a fixed-seed generator so that
 * every run of a scenario is the same. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
double serve_rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }
static double rng_int(uint64_t *s, double lo, double hi)
{
    return lo + (double)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* A standard normal variate by Box and Muller (1958): sqrt(-2 ln(1 - u1)) x
 * cos(2 pi u2), two uniforms per variate (the sine half is not used). */
static double rng_normal(uint64_t *s)
{
    const double u1 = serve_rng_unit(s), u2 = serve_rng_unit(s);
    return sqrt(-2.0 * log1p(-u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

/* Gamma(k, 1) by Marsaglia and Tsang (2000, "A Simple Method for Generating
 * Gamma Variables", ACM TOMS 26(3)): d = k - 1/3, c = 1 / sqrt(9 d); draw a
 * normal x, v = (1 + c x)^3, accept d v when v > 0 and ln u < x^2 / 2 + d -
 * d v + d ln v. Shape k < 1: Gamma(k + 1) x u^(1/k) (their section 6). */
double serve_rng_gamma(uint64_t *s, double k)
{
    if (k < 1) {
        const double g = serve_rng_gamma(s, k + 1);
        return g * pow(1.0 - serve_rng_unit(s), 1.0 / k);
    }
    const double d = k - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        const double x = rng_normal(s);
        double v = 1.0 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        const double u = serve_rng_unit(s);
        if (log1p(-u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

/* The rate curve: n slices of period / n seconds at rates r_j, repeated.
 * Lambda(t) = the expected arrivals by t; returns the t with Lambda(t) = u
 * (the first such t; slices of rate 0 are skipped). */
double serve_curve_time(const struct serve_scenario *s, double u)
{
    const int n = s->n_rates;
    const double w = s->rate_period_s / n;
    double per = 0;
    for (int j = 0; j < n; j++) per += s->rates_per_s[j] * w;
    const double periods = floor(u / per);
    double rem = u - periods * per, t = periods * s->rate_period_s;
    for (int j = 0; j < n; j++) {
        const double c = s->rates_per_s[j] * w;
        if (rem < c || (j == n - 1 && c > 0)) return t + j * w + rem / s->rates_per_s[j];
        rem -= c;
    }
    /* rounding left rem at the period's end: the last slice with a rate */
    int j = n - 1;
    while (s->rates_per_s[j] == 0) j--;
    return t + (j + 1) * w;
}

void serve_gen_init(struct serve_gen *g, const struct serve_scenario *s)
{
    memset(g, 0, sizeof *g);
    g->s = s;
    g->rs = s->seed;
    g->as = s->seed ^ 0x5eedULL;
    g->ps = s->seed ^ 0x9a1ULL;
    if (s->chat_sessions > 0) {
        g->history = calloc((size_t)s->chat_sessions, sizeof *g->history);
        OB_ASSERT(g->history);
    }
}

void serve_gen_free(struct serve_gen *g)
{
    free(g->history);
    g->history = NULL;
}

/* One length of side k (0 = input, 1 = output) from a lognormal or
 * histogram distribution. */
static double gen_length(struct serve_gen *g, int k)
{
    const struct serve_dist *d = &g->s->dist[k];
    if (g->s->mix == MIX_LOGNORMAL) {
        const double x = exp(d->mu + d->sigma * rng_normal(&g->rs));
        return fmin(fmax(nearbyint(x), 1.0), TRACE_MAX_TOKENS);
    }
    const double u = serve_rng_unit(&g->rs);
    int b = 0;
    while (b < d->n_bins - 1 && u >= d->weights[b]) b++;
    return rng_int(&g->rs, d->edges[b], d->edges[b + 1] - 1);
}

/* The unit-rate inter-arrival gap: exponential (cv 1) or gamma of shape
 * 1 / cv^2 and scale cv^2 (mean 1, coefficient of variation cv). */
static double unit_gap(struct serve_gen *g)
{
    const double cv = g->s->arrival_cv;
    if (cv == 1) return -log1p(-serve_rng_unit(&g->as));
    const double k = 1.0 / (cv * cv);
    return serve_rng_gamma(&g->as, k) / k;
}

void serve_gen_next(struct serve_gen *g, struct serve_req_spec *o)
{
    const struct serve_scenario *s = g->s;
    const size_t i = g->i++;
    memset(o, 0, sizeof *o);
    switch (s->mix) {
    case MIX_TRACE: {
        const struct trace_req *q = &s->trace.r[i];
        o->arrival_s = q->arrival_s * s->trace_time_scale;
        o->input = q->input;
        o->output = q->output;
        o->session = q->session;
        o->prefix = q->prefix;
        o->prefix_tokens = q->prefix_tokens;
        o->line = q->line;
        o->col = q->col;
        o->priority = q->priority;
        return;
    }
    case MIX_CYCLE:
        o->input = s->input[i % (size_t)s->n_lengths];
        o->output = s->output[i % (size_t)s->n_lengths];
        break;
    case MIX_UNIFORM:
        o->input = rng_int(&g->rs, s->in_min, s->in_max);
        o->output = rng_int(&g->rs, s->out_min, s->out_max);
        break;
    case MIX_LOGNORMAL:
    case MIX_HISTOGRAM:
        o->input = gen_length(g, 0);
        o->output = gen_length(g, 1);
        break;
    }
    /* arrivals: the first at t = 0, then gaps of the unit-rate process over
     * the rate (constant, or the curve through its integral) */
    if (i > 0 && s->n_rates > 0) {
        g->unit += unit_gap(g);
        g->t = serve_curve_time(s, g->unit);
    } else if (i > 0 && s->arrival_rate_per_s > 0) {
        g->t += unit_gap(g) / s->arrival_rate_per_s;
    }
    o->arrival_s = g->t;
    /* sharing: a system prompt in front; a session's history before the new
     * message (the session's stream: system prompt, then every turn's
     * message and output) */
    double history = 0;
    size_t sess = i;
    if (s->chat_sessions > 0) {
        sess = i % (size_t)s->chat_sessions;
        history = g->history[sess];
        g->history[sess] += o->input + o->output;
        o->session = (uint64_t)sess + 1;
    }
    if (s->shared_prompt_tokens > 0) {
        o->prefix = (uint64_t)(sess % (size_t)s->shared_prompts) + 1;
        o->prefix_tokens = s->shared_prompt_tokens;
    }
    o->input += s->shared_prompt_tokens + history;
    /* priority class: the first whose cumulative share exceeds one uniform */
    if (s->n_priorities > 0) {
        const double u = serve_rng_unit(&g->ps);
        int c = 0;
        while (c < s->n_priorities - 1 && u >= s->priority_cum[c]) c++;
        o->priority = c;
    }
}
