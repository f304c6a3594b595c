/* tiles.c - tile model of a 1-D attention mask; see tiles.h and
 * docs/variants/swa.md (the closed forms are derived there).
 *
 * Per query-tile row the visited key tiles, the fully unmasked ones and the
 * computed pairs have O(1) closed forms (row_stats). Rows far from the
 * sequence edges repeat with period lcm(tile_q, stride, tile_k) positions (a
 * "growing" regime while the window still reaches key 0, an "interior" regime
 * once it has left the sinks behind): there each row quantity f satisfies
 * f(r + p) = f(r) + delta, and a range of rows is summed from two periods
 * (sum_range). Useful pairs are a prefix sum of clamped step-linear functions
 * (clamp_sum), O(1). Positions are int64 (sequences up to 2^40); pair totals
 * are doubles. */
#include "tiles.h"

#include <math.h>
#include <stdint.h>

#include "err.h"

struct sub {
    int64_t n, P, bq, bk, s, off, left, right, S, nsm, R;
    bool causal;
};

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int64_t ceildiv(int64_t a, int64_t b) { return -floordiv(-a, b); }
static int64_t gcd64(int64_t a, int64_t b) { return b ? gcd64(b, a % b) : a; }
static int64_t lcm64(int64_t a, int64_t b) { return a / gcd64(a, b) * b; }

static int64_t unclipped_rep(const struct sub *u, int64_t p) { return p / u->s * u->s + u->off; }
static int64_t rep_of(const struct sub *u, int64_t p) { return min64(u->n - 1, unclipped_rep(u, p)); }
static int64_t lo_of(const struct sub *u, int64_t p) { return max64(0, rep_of(u, p) - u->left); }
static int64_t hi_of(const struct sub *u, int64_t p)
{
    return u->causal ? p : min64(u->n - 1, rep_of(u, p) + u->right);
}
/* Keys in key columns c0..c1 (clipped at n). */
static int64_t cover(const struct sub *u, int64_t c0, int64_t c1)
{
    return min64((c1 + 1) * u->bk, u->n) - c0 * u->bk;
}

/* One query-tile row r: visited tiles, full tiles, computed pairs. */
static void row_stats(const struct sub *u, int64_t r, double f[3])
{
    const int64_t a = u->P + r * u->bq, b = min64(a + u->bq, u->n) - 1, bk = u->bk;
    const int64_t lo_a = lo_of(u, a), lo_b = lo_of(u, b), hi_a = hi_of(u, a), hi_b = hi_of(u, b);
    const int64_t c_lo = lo_a / bk, c_hi = hi_b / bk;
    const int64_t se = u->causal ? min64(u->S, b + 1) : min64(u->S, u->n); /* sink keys seen */
    const int64_t ns = ceildiv(se, bk);
    int64_t visited = c_hi - c_lo + 1, covered = cover(u, c_lo, c_hi);
    if (ns > 0) {
        if (ns >= c_lo) { /* sink columns touch the window's: one interval */
            const int64_t top = max64(c_hi, ns - 1);
            visited = top + 1;
            covered = cover(u, 0, top);
        } else {
            visited += ns;
            covered += cover(u, 0, ns - 1);
        }
    }
    /* Column c is full iff its last key <= hi(a) and no key of it lies in the
     * gap [S, lo(b)) between the sinks and the window. */
    const int64_t cmf = hi_a >= u->n - 1 ? (u->n - 1) / bk : (hi_a + 1) / bk - 1;
    int64_t full;
    if (u->S >= lo_b) {
        full = cmf + 1;
    } else {
        const int64_t cl = ceildiv(lo_b, bk), cms = u->S / bk - 1; /* S < lo_b < n */
        full = max64(0, cmf - cl + 1) + max64(0, min64(cms, cmf) + 1);
    }
    f[0] = (double)visited;
    f[1] = (double)full;
    f[2] = (double)(b - a + 1) * (double)covered;
}

/* Sums row_stats over rows [r0, r1), which lie in one regime where each
 * quantity satisfies f(r + per) = f(r) + delta (per = period in rows); per = 0:
 * no such regime, sum row by row. */
static void sum_range(const struct sub *u, int64_t r0, int64_t r1, int64_t per, double acc[3])
{
    double f0[3], f1[3];
    if (per == 0 || r1 - r0 <= 2 * per) {
        for (int64_t r = r0; r < r1; r++) {
            row_stats(u, r, f0);
            for (int k = 0; k < 3; k++) acc[k] += f0[k];
        }
        return;
    }
    const int64_t kper = (r1 - r0) / per, rem = (r1 - r0) - kper * per;
    const double K = (double)kper;
    for (int64_t i = 0; i < per; i++) {
        row_stats(u, r0 + i, f0);
        row_stats(u, r0 + per + i, f1);
        for (int k = 0; k < 3; k++) {
            const double d = f1[k] - f0[k];
            acc[k] += K * f0[k] + d * K * (K - 1.0) / 2.0;
            if (i < rem) acc[k] += f0[k] + K * d;
        }
    }
}

/* Row-regime predicates (each monotone in r). */
static bool pred_end_ok(const struct sub *u, int64_t r) /* true on a prefix */
{
    const int64_t a = u->P + r * u->bq, b = a + u->bq - 1;
    if (b > u->n - 1 || unclipped_rep(u, b) > u->n - 1) return false;
    const int64_t hb = u->causal ? b : unclipped_rep(u, b) + u->right;
    return hb < u->n - 1 && (hb / u->bk + 1) * u->bk <= u->n;
}
static bool pred_lo_b_positive(const struct sub *u, int64_t r) /* true on a suffix */
{
    return lo_of(u, min64(u->P + r * u->bq + u->bq, u->n) - 1) > 0;
}
static bool pred_above_sinks(const struct sub *u, int64_t r) /* suffix: hi(b) reaches the sinks */
{
    const int64_t b = min64(u->P + r * u->bq + u->bq, u->n) - 1;
    return hi_of(u, b) / u->bk >= u->nsm - 1;
}
static bool pred_interior(const struct sub *u, int64_t r) /* suffix: window clear of the sinks */
{
    return unclipped_rep(u, u->P + r * u->bq) - u->left >= (u->nsm + 1) * u->bk;
}

/* First r in [0, R] where pred(r) == want, pred monotone (!want then want). */
static int64_t first_where(const struct sub *u, bool (*pred)(const struct sub *, int64_t),
                           bool want)
{
    int64_t lo = 0, hi = u->R;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (pred(u, mid) == want) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* lo + ... + hi (lo <= hi), the even factor halved first: exact below 2^53. */
static double series(int64_t lo, int64_t hi)
{
    const int64_t n = hi - lo + 1, t = lo + hi; /* n odd => t even */
    return n % 2 == 0 ? (double)(n / 2) * (double)t : (double)n * (double)(t / 2);
}

/* sum_{m=a}^{b} floor(m/d) for 0 <= a <= b: partial runs at both ends and the
 * whole runs of d equal quotients between, every term >= 0 (no cancellation). */
static double floor_sum(int64_t a, int64_t b, int64_t d)
{
    const int64_t qa = a / d, qb = b / d;
    if (qa == qb) return (double)(b - a + 1) * (double)qa;
    const double first = (double)(d * (qa + 1) - a) * (double)qa,
                 last = (double)(b - d * qb + 1) * (double)qb,
                 mid = qb - qa >= 2 ? (double)d * series(qa + 1, qb - 1) : 0.0;
    return first + mid + last;
}

/* sum over p in [x0, x1) of max(L, min(U, s*floor(p/s) + c)), for L <= U:
 * L below p1, the staircase from p1 to p2, U from p2 on. Summed over the
 * range itself, not as a difference of prefix sums from 0 (those pass 2^53
 * near a context of 1e8 and their difference lost whole pairs: a decode
 * step at 1.5e9 kept more pairs than it computed, an assertion abort). */
static double clamp_range(int64_t x0, int64_t x1, int64_t s, int64_t c, int64_t L, int64_t U)
{
    if (x1 <= x0) return 0;
    if (U <= L) return (double)L * (double)(x1 - x0);
    const int64_t p1 = s * max64(0, floordiv(L - c, s) + 1);
    const int64_t p2 = s * max64(0, ceildiv(U - c, s));
    const int64_t a = min64(max64(p1, x0), x1), b = max64(a, min64(max64(p2, x0), x1));
    const double mid = b > a ? (double)s * floor_sum(a, b - 1, s) + (double)c * (double)(b - a) : 0;
    return (a > x0 ? (double)L * (double)(a - x0) : 0) + mid +
           (x1 > b ? (double)U * (double)(x1 - b) : 0);
}

/* sum over queries p in [P, n) of clamp(u(p) + k, L, U). */
static double clamp_sum(const struct sub *u, int64_t k, int64_t L, int64_t U)
{
    return clamp_range(u->P, u->n, u->s, u->off + k, L, U);
}

/* Useful pairs: sum over queries of hi - lo + 1 + min(S, lo). */
static double useful_pairs(const struct sub *u)
{
    const int64_t n = u->n, P = u->P;
    const double q = (double)(n - P);
    double hi = u->causal ? series(P, n - 1) : clamp_sum(u, u->right, INT64_MIN / 4, n - 1);
    double lo = 0, sink = 0;
    if (n - 1 - u->left >= 0) {
        lo = clamp_sum(u, -u->left, 0, n - 1 - u->left);
        sink = clamp_sum(u, -u->left, 0, min64(u->S, n - 1 - u->left));
    }
    return hi - lo + q + sink;
}

/* One sub-sequence of n keys whose queries start at P. */
static void count_sub(const struct tile_mask *m, int64_t n, int64_t P, bool full_window,
                      double out[5])
{
    struct sub u = {.n = n, .P = P, .bq = (int64_t)m->tile_q, .bk = (int64_t)m->tile_k,
                    .s = (int64_t)m->stride, .causal = m->causal};
    u.off = u.causal ? u.s - 1 : (u.s - 1) / 2;
    u.left = full_window || m->left < 0 ? n : min64((int64_t)m->left, n);
    u.right = full_window || m->right < 0 ? n : min64((int64_t)m->right, n);
    if (u.causal) u.right = 0;
    u.S = full_window ? 0 : min64((int64_t)m->sinks, n);
    u.nsm = ceildiv(u.S, u.bk);
    u.R = ceildiv(n - P, u.bq);
    const int64_t per = lcm64(lcm64(u.bq, u.s), u.bk) / u.bq;
    double acc[3] = {0, 0, 0};
    if (!u.causal && lo_of(&u, n - 1) == 0 && hi_of(&u, P) == n - 1) {
        /* every query sees every key: all rows alike but a short last one */
        sum_range(&u, 0, u.R - 1, 1, acc);
        sum_range(&u, u.R - 1, u.R, 0, acc);
        goto done;
    }
    const int64_t r_end = first_where(&u, pred_end_ok, false);
    int64_t g0 = first_where(&u, pred_above_sinks, true),
            g1 = min64(first_where(&u, pred_lo_b_positive, true), r_end);
    int64_t i0 = first_where(&u, pred_interior, true), i1 = r_end;
    if (g1 < g0) g1 = g0;
    if (i1 < i0) i1 = i0;
    sum_range(&u, 0, min64(g0, u.R), 0, acc);
    sum_range(&u, g0, g1, per, acc);
    sum_range(&u, g1, min64(i0, u.R), 0, acc);
    sum_range(&u, i0, i1, per, acc);
    sum_range(&u, max64(i1, g1), u.R, 0, acc);
done:
    out[0] += acc[0];
    out[1] += acc[1];
    out[2] += acc[2];
    out[3] += useful_pairs(&u);
    /* keys read: union over rows of the visited key columns */
    const int64_t c_lo = lo_of(&u, P) / u.bk, c_hi = (n - 1) / u.bk, ns = u.nsm;
    out[4] += (double)(ns >= c_lo ? cover(&u, 0, c_hi) : cover(&u, c_lo, c_hi) + cover(&u, 0, ns - 1));
}

/* Sums count_sub over the d dilation classes (equal classes computed once). */
static void count_all(const struct tile_mask *m, bool full_window, double out[5])
{
    const int64_t n = (int64_t)(m->prior + m->q_len), P = (int64_t)m->prior,
                  d = (int64_t)m->dilation;
    int64_t last_n = -1, last_p = -1;
    double last[5] = {0};
    for (int k = 0; k < 5; k++) out[k] = 0;
    for (int64_t r = 0; r < d && r < n; r++) {
        const int64_t nr = (n - 1 - r) / d + 1, pr = r < P ? (P - 1 - r) / d + 1 : 0;
        if (nr == pr) continue; /* no query in this class */
        if (nr != last_n || pr != last_p) {
            for (int k = 0; k < 5; k++) last[k] = 0;
            count_sub(m, nr, pr, full_window, last);
            last_n = nr, last_p = pr;
        }
        for (int k = 0; k < 5; k++) out[k] += last[k];
    }
}

void tiles_count(const struct tile_mask *m, struct tile_stats *out)
{
    OB_ASSERT(m->q_len >= 1 && m->prior >= 0 && m->tile_q >= 1 && m->tile_k >= 1);
    OB_ASSERT(m->stride >= 1 && m->dilation >= 1 && m->sinks >= 0);
    OB_ASSERT(m->causal || m->sinks == 0); /* sinks are a causal (LLM) device */
    OB_ASSERT(m->prior + m->q_len <= 4398046511104.0); /* 2^42: int64 products stay exact */
    double v[5], dn[5];
    count_all(m, false, v);
    count_all(m, true, dn);
    out->tiles_visited = v[0];
    out->tiles_full = v[1];
    out->tiles_partial = v[0] - v[1];
    out->pairs_computed = v[2];
    out->pairs_useful = v[3];
    out->keys_read = v[4];
    out->dense_computed = dn[2];
    out->dense_useful = dn[3];
    out->speedup_bound = dn[2] / v[2];
}
