/* moe_route.c - routing arithmetic of the MoE block; see moe_route.h and
 * docs/moe.md. */
#include "moe_route.h"

#include <math.h>

int moe_inclusion(const double *w, int n, double k, double *p)
{
    int pos = 0;
    for (int i = 0; i < n; i++) pos += w[i] > 0;
    if ((double)pos < ceil(k - 1e-12)) return -1;
    /* Water-filling: cap the largest shares at 1 until the rest fit. Each pass
     * caps at least one more expert, so at most n passes. */
    for (int i = 0; i < n; i++) p[i] = 0;
    double capped = 0;
    for (int pass = 0; pass <= n; pass++) {
        double free_w = 0;
        for (int i = 0; i < n; i++)
            if (p[i] < 1 && w[i] > 0) free_w += w[i];
        const double c = (k - capped) / free_w;
        int newly = 0;
        for (int i = 0; i < n; i++)
            if (p[i] < 1 && w[i] > 0 && c * w[i] >= 1) p[i] = 1, capped += 1, newly++;
        if (newly) continue;
        for (int i = 0; i < n; i++)
            if (p[i] < 1 && w[i] > 0) p[i] = c * w[i];
        return 0;
    }
    return 0;
}

double moe_touched_p(const double *p, int n, double tokens)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += p[i] >= 1 ? 1.0 : -expm1(tokens * log1p(-p[i]));
    return s;
}

double moe_binom_excess(double n, double p, double c)
{
    if (p <= 0 || n <= c) return 0;
    if (p >= 1) return n - c;
    const double mu = n * p, sd = sqrt(n * p * (1 - p));
    double lo = floor(c) + 1, hi = ceil(mu + 40 * sd + 1);
    if (lo < floor(mu - 40 * sd)) lo = floor(mu - 40 * sd);
    if (hi > n) hi = n;
    if (lo > hi) return 0;
    const double lp = log(p), lq = log1p(-p);
    double lpmf = lgamma(n + 1) - lgamma(lo + 1) - lgamma(n - lo + 1) + lo * lp + (n - lo) * lq;
    double pmf = exp(lpmf), s = 0;
    const double ratio = p / (1 - p);
    for (double x = lo; x <= hi; x++) {
        if (x > c) s += (x - c) * pmf;
        pmf *= (n - x) / (x + 1) * ratio;
    }
    return s;
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
