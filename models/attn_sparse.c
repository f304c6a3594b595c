/* attn_sparse.c - counting helpers of the sparse attention kinds; see
 * attn_sparse.h for the conventions and docs/variants/{moba,nsa,dsa}.md for
 * the derivations. All results are integers held in doubles (exact below
 * 2^53) except moba_routing_snr. */
#include "attn_sparse.h"

#include <math.h>

#include "../sim/core/err.h"

void sparse_block_pairs(double prior, double q, double block, double k_total,
                        struct sparse_pairs *out)
{
    OB_ASSERT(prior >= 0 && q >= 1 && block >= 1 && k_total >= 1);
    out->useful = out->computed = 0;
    const double end = prior + q; /* one past the last position */
    const double j_first = floor(prior / block), j_last = floor((end - 1.0) / block);
    /* One iteration per block holding queries of the step: q/block + 2 at most. */
    for (double j = j_first; j <= j_last; j += 1.0) {
        const double start = j * block;
        const double a = fmax(prior, start), e = fmin(end - 1.0, start + block - 1.0);
        const double nq = e - a + 1.0;
        const double past = fmin(k_total - 1.0, j) * block * nq;
        /* own block: query p keeps p - start + 1 keys; the tile holds every
         * key of the block present at the end of the step */
        const double own_useful = nq * (a - start + 1.0) + nq * (nq - 1.0) / 2.0;
        const double own_tile = nq * (fmin(start + block, end) - start);
        out->useful += past + own_useful;
        out->computed += past + own_tile;
    }
}

/* G(n) = sum over len = 1..n of min(w, len). */
static double window_prefix(double n, double w)
{
    return n <= w ? n * (n + 1.0) / 2.0 : w * (w + 1.0) / 2.0 + (n - w) * w;
}

double sparse_window_pairs(double prior, double q, double w)
{
    return window_prefix(prior + q, w) - window_prefix(prior, w);
}

double sparse_cmp_tokens(double n, double l, double d)
{
    return n >= l ? floor((n - l) / d) + 1.0 : 0.0;
}

/* F(n) = sum over len = 1..n of sparse_cmp_tokens(len): with M = n - l and
 * m = 0..M, sum of (floor(m/d) + 1) = (M + 1) + d*Q(Q-1)/2 + R*Q where
 * Q = floor((M + 1)/d) and R = M + 1 - Q*d. */
static double cmp_prefix(double n, double l, double d)
{
    if (n < l) return 0;
    const double m1 = n - l + 1.0, qq = floor(m1 / d), r = m1 - qq * d;
    return m1 + d * qq * (qq - 1.0) / 2.0 + r * qq;
}

double sparse_cmp_pairs(double prior, double q, double l, double d)
{
    return cmp_prefix(prior + q, l, d) - cmp_prefix(prior, l, d);
}

/* C(n) = sum over len = 1..n of ceil(len/B) = B*Q(Q+1)/2 + R*(Q+1), with
 * Q = floor(n/B), R = n - Q*B. */
static double blocks_prefix(double n, double b)
{
    const double qq = floor(n / b), r = n - qq * b;
    return b * qq * (qq + 1.0) / 2.0 + r * (qq + 1.0);
}

double sparse_blocks_seen(double prior, double q, double block)
{
    return blocks_prefix(prior + q, block) - blocks_prefix(prior, block);
}

double moba_routing_snr(double head_dim, double block, double delta_mu_eff)
{
    return delta_mu_eff * sqrt(head_dim / (2.0 * block));
}
