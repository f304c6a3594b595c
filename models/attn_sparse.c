/* attn_sparse.c - counting helpers of the sparse attention kinds; see
 * attn_sparse.h for the conventions and docs/variants/{moba,nsa,dsa}.md for
 * the derivations. All results are integers held in doubles (exact below
 * 2^53) except moba_routing_snr. */
#include "attn_sparse.h"

#include <math.h>

#include "../sim/core/err.h"

/* lo + (lo + 1) + ... + hi for integers lo <= hi, halving the even factor
 * first so that the result is exact whenever it is below 2^53. */
static double series(double lo, double hi)
{
    const double n = hi - lo + 1.0, s = lo + hi; /* n odd => s even */
    return fmod(n, 2.0) == 0.0 ? (n / 2.0) * s : n * (s / 2.0);
}

/* sum over j = j1..j2 of min(c, j), for integers j1 <= j2. */
static double sum_min(double j1, double j2, double c)
{
    if (j2 <= c) return series(j1, j2);
    if (j1 >= c) return c * (j2 - j1 + 1.0);
    return series(j1, c) + c * (j2 - c);
}

/* sum over m = a..b of floor(m / d), for integers 0 <= a <= b and d >= 1:
 * a partial run at each end plus the whole runs of d equal quotients in
 * between. Every term is non-negative and at most the result, so nothing
 * cancels: exact below 2^53, and within a rounding of the true value above.
 * (A difference of two prefix sums, each above 2^53, is not: it was off by
 * one at contexts near 1.5e9.) */
static double floor_sum(double a, double b, double d)
{
    const double qa = floor(a / d), qb = floor(b / d);
    if (qa == qb) return (b - a + 1.0) * qa;
    const double first = (d * (qa + 1.0) - a) * qa, last = (b - d * qb + 1.0) * qb;
    const double mid = qb - qa >= 2.0 ? d * series(qa + 1.0, qb - 1.0) : 0.0;
    return first + mid + last;
}

/* Adds block j's queries of the step [prior, end): the min(k - 1, j) earlier
 * blocks whole, and the own block (causal useful pairs; computed as one tile
 * holding every key of the block present at the end of the step). */
static void block_add(double prior, double end, double block, double k_total, double j,
                      struct sparse_pairs *out)
{
    const double start = j * block;
    const double a = fmax(prior, start), e = fmin(end - 1.0, start + block - 1.0);
    const double nq = e - a + 1.0;
    const double past = fmin(k_total - 1.0, j) * block * nq;
    const double own_useful = series(a - start + 1.0, e - start + 1.0);
    const double own_tile = nq * (fmin(start + block, end) - start);
    out->useful += past + own_useful;
    out->computed += past + own_tile;
}

void sparse_block_pairs(double prior, double q, double block, double k_total,
                        struct sparse_pairs *out)
{
    OB_ASSERT(prior >= 0 && q >= 1 && block >= 1 && k_total >= 1);
    out->useful = out->computed = 0;
    const double end = prior + q; /* one past the last position */
    const double j_first = floor(prior / block), j_last = floor((end - 1.0) / block);
    /* The first and last blocks may hold part of the step; every block
     * between them holds `block` queries and is summed in closed form, so the
     * work is O(1) whatever the length of the step. */
    block_add(prior, end, block, k_total, j_first, out);
    if (j_last > j_first) block_add(prior, end, block, k_total, j_last, out);
    if (j_last - j_first >= 2.0) {
        const double j1 = j_first + 1.0, j2 = j_last - 1.0, nm = j2 - j1 + 1.0;
        /* past: sum of min(k - 1, j) * block^2; own: block(block+1)/2
         * useful pairs per block, a whole block x block tile computed */
        const double past = sum_min(j1, j2, k_total - 1.0) * block * block;
        out->useful += past + nm * series(1.0, block);
        out->computed += past + nm * block * block;
    }
}

/* sum over len = prior+1 .. prior+q of min(w, len): a rising run up to w,
 * then w per query. */
double sparse_window_pairs(double prior, double q, double w)
{
    const double lo = prior + 1.0, hi = prior + q;
    if (hi <= w) return series(lo, hi);
    if (lo >= w) return q * w;
    return series(lo, w) + (hi - w) * w;
}

double sparse_cmp_tokens(double n, double l, double d)
{
    return n >= l ? floor((n - l) / d) + 1.0 : 0.0;
}

/* sum over len = max(prior+1, l) .. prior+q of floor((len - l)/d) + 1: with
 * m = len - l running over a..b, (b - a + 1) + floor_sum(a, b, d). Summed over
 * the step's own range, not as a difference of prefix sums. */
double sparse_cmp_pairs(double prior, double q, double l, double d)
{
    const double lo = fmax(prior + 1.0, l), hi = prior + q;
    if (lo > hi) return 0;
    const double a = lo - l, b = hi - l;
    return (b - a + 1.0) + floor_sum(a, b, d);
}

/* sum over len = prior+1 .. prior+q of ceil(len/B) = floor((len-1)/B) + 1. */
double sparse_blocks_seen(double prior, double q, double block)
{
    return q + floor_sum(prior, prior + q - 1.0, block);
}

double moba_routing_snr(double head_dim, double block, double delta_mu_eff)
{
    return delta_mu_eff * sqrt(head_dim / (2.0 * block));
}
