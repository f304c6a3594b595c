/* test_attn_swa.c - the tile model (sim/core/tiles.c) and the `swa` attention kind:
 * brute-force enumeration of the mask against the closed forms over a grid of
 * shapes; a window of the full length against dense gqa; one layer's FLOPs by
 * hand; memory with a capped window cache; gpt-oss-120b's parameters; bad
 * input. Expected values are derived in the comments from docs/variants/swa.md. */
#include "attn_util.h"

#include "../sim/core/tiles.h"

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

/* Costs of one layer group and the analysis memory for a model text. */
static void lower_sums(struct model *m, enum phase ph, double b, double len, struct au_sums *s,
                       double *wasted)
{
    struct graph g;
    au_lower(m, &g, ph, b, len, DT_BF16, 1);
    *s = au_layer(&g, 0);
    *wasted = 0;
    for (int i = 0; i < g.n; i++) *wasted += g.ops[i].cost.flops_wasted;
    graph_free(&g);
}

static double kv_cache_bytes(struct model *m, enum phase ph, double b, double len)
{
    struct analysis a;
    struct device *d = tu_device("h100-sxm5-80gb");
    assert_non_null(d);
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = ph, .batch = b, .tp = 1};
    if (ph == PHASE_PREFILL) sc.seq = len;
    else sc.context = len;
    analysis_run(&a, m, d, &sc);
    const double kv = a.kv_cache_bytes;
    analysis_free(&a);
    device_free(d);
    return kv;
}

/* A window covering the whole sequence (or none given) is dense attention:
 * FLOPs, bytes, KV per token and KV cache equal gqa's exactly, in prefill and
 * decode, whatever the tile shape, stride or sinks. */
static void test_attn_swa_full_window_is_gqa(void **state)
{
    (void)state;
    char buf[1024];
    struct model *gq = au_text(au_base(buf, sizeof buf,
                                       "{kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}"));
    const char *swas[] = {
        "{kind: swa, heads: 32, kv_heads: 8, head_dim: 128}",
        "{kind: swa, heads: 32, kv_heads: 8, head_dim: 128, window: 5000}",
        "{kind: swa, heads: 32, kv_heads: 8, head_dim: 128, window: 4097, tile_q: 64, "
        "tile_k: 96, sinks: 4}",
        "{kind: swa, heads: 32, kv_heads: 8, head_dim: 128, window: 9000, stride: 7}",
    };
    const struct {
        enum phase ph;
        double b, len;
    } steps[] = {{PHASE_PREFILL, 2, 4096}, {PHASE_PREFILL, 1, 777}, {PHASE_DECODE, 8, 4095},
                 {PHASE_DECODE, 3, 10}};
    for (size_t i = 0; i < 4; i++) {
        struct model *sw = au_text(au_base(buf, sizeof buf, swas[i]));
        struct model_counts cg, cs;
        model_count(gq, 1, &cg);
        model_count(sw, 1, &cs);
        assert_exact(cs.params, cg.params);
        assert_exact(cs.kv_elems_per_token, cg.kv_elems_per_token);
        for (size_t k = 0; k < 4; k++) {
            struct au_sums a, b;
            double wa, wb;
            lower_sums(gq, steps[k].ph, steps[k].b, steps[k].len, &a, &wa);
            lower_sums(sw, steps[k].ph, steps[k].b, steps[k].len, &b, &wb);
            assert_exact(b.mm, a.mm);
            assert_exact(b.vec, a.vec);
            assert_exact(b.w, a.w);
            assert_exact(b.act, a.act);
            assert_exact(b.kv, a.kv);
            assert_exact(b.out, a.out);
            assert_exact(wb, 0);
            assert_exact(kv_cache_bytes(sw, steps[k].ph, steps[k].b, steps[k].len),
                         kv_cache_bytes(gq, steps[k].ph, steps[k].b, steps[k].len));
        }
        model_free(sw);
    }
    model_free(gq);
}

/* examples/attn-swa.yaml (Llama-3-8B, window 4096, tiles 128x128), prefill of
 * S = 8192. Tile rows r = 0..63: rows 0..31 reach key 0 and visit r+1 tiles,
 * rows 32..63 visit 33 (tests above): (528 + 32*33) tiles x 128*128 =
 * 25,952,256 computed pairs per head. Dense causal attention computes 64*65/2
 * tiles = 34,078,720 pairs for S(S+1)/2 = 33,558,528 useful: the 64 diagonal
 * tiles waste 64 * 128*127/2 = 520,192, which the dense convention does not
 * charge, so neither does swa: pairs = 25,952,256 - 520,192 = 25,432,064.
 * Useful: 4096*4097/2 + 4096*4096 = 25,167,872; the difference, 264,192 = 32
 * rows x 128*129/2, is the masked part of each row's leftmost tile.
 * Layer matmul FLOPs: 2*S*(41,943,040 attention + 176,160,768 SwiGLU) +
 * 32 heads x pairs x 2*(128 + 128); wasted: 32 x 264,192 x 512. */
static void test_attn_swa_prefill_layer_by_hand(void **state)
{
    (void)state;
    struct model *m = au_example("attn-swa");
    assert_non_null(m);
    const double S = 8192, pairs = 25952256.0 - 520192.0, useful = 25167872.0;
    assert_exact(4096.0 * 4097 / 2 + 4096.0 * 4096, useful);
    assert_exact(pairs - useful, 32 * 128 * 129 / 2);
    struct graph g;
    au_lower(m, &g, PHASE_PREFILL, 1, S, DT_BF16, 1);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->shape.attn.pairs, pairs);
    assert_exact(at->shape.attn.pairs_useful, useful);
    assert_exact(at->shape.attn.skv, S);
    struct au_sums s = au_layer(&g, 0);
    assert_exact(s.mm, 2 * S * (41943040.0 + 176160768.0) + 32 * pairs * 512);
    assert_exact(at->cost.flops_wasted, 32 * (pairs - useful) * 512);
    assert_exact(at->cost.flops_vec, 32 * pairs * 5);
    graph_free(&g);
    model_free(m);
}

/* A window a few keys short of the sequence: prefill of S = 4100 with window
 * 4096 (causal, tiles 128x128, H 32 of D 128, batch 1). Query p (0-based)
 * keeps min(p + 1, 4096) keys:
 *   useful = (1 + 2 + ... + 4096) + 4 x 4096 = 4096*4097/2 + 16,384
 *          = 8,390,656 + 16,384 = 8,407,040,
 * against dense causal S(S+1)/2 = 4100*4101/2 = 8,407,050: queries
 * 4096..4099 lose keys 0, 0..1, 0..2, 0..3, i.e. 1 + 2 + 3 + 4 = 10 pairs.
 * Tiles: rows 0..31 hold 128 queries, row 32 the 4 queries 4096..4099, whose
 * first key 4096 - 4095 = 1 still lies in column 0; so every row visits
 * columns 0..r, exactly the dense tiles: computed = dense computed =
 * 128*128*(1 + ... + 32) + 4*4100 = 16,384*528 + 16,400 = 8,667,152.
 * Charged pairs = computed - (dense computed - dense useful) = 8,407,050; the
 * 10 masked pairs per head are waste: 32 heads x 10 x 2*(128 + 128) FLOPs =
 * 163,840. (Equal computed pairs alone must not make this the dense case.) */
static void test_attn_swa_window_just_short(void **state)
{
    (void)state;
    struct tile_stats t;
    struct tile_mask mk = {.q_len = 4100, .causal = true, .left = 4095, .stride = 1,
                           .dilation = 1, .tile_q = 128, .tile_k = 128};
    tiles_count(&mk, &t);
    assert_exact(t.pairs_useful, 8407040);
    assert_exact(t.dense_useful, 8407050);
    assert_exact(t.pairs_computed, 8667152);
    assert_exact(t.dense_computed, 8667152);
    char buf[1024];
    struct model *m = au_text(
        au_base(buf, sizeof buf, "{kind: swa, heads: 32, kv_heads: 8, head_dim: 128, window: 4096}"));
    struct graph g;
    au_lower(m, &g, PHASE_PREFILL, 1, 4100, DT_BF16, 1);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->shape.attn.pairs, 8407050);
    assert_exact(at->shape.attn.pairs_useful, 8407040);
    assert_exact(at->cost.flops_mm, 32 * 8407050.0 * 512);
    assert_exact(at->cost.flops_wasted, 32 * 10 * 512);
    assert_exact(at->cost.flops_wasted, 163840);
    graph_free(&g);
    model_free(m);
}

/* Decode at context L = 32,768 with window 4096: the new query sees keys
 * 28,673..32,768; their tiles (columns 224..256, the last holding one key)
 * cover 28,672..32,768: 4,097 keys read and computed, 4,096 useful. KV bytes
 * read per sequence: 4,097 x 2*8*128 x 2 B. The cache held is capped at the
 * window: B x 4,096 x 131,072 B, against B x 32,769 x 131,072 B for gqa.
 * Short contexts clamp: at L = 10 the window holds what exists (11 keys). */
static void test_attn_swa_decode_and_memory(void **state)
{
    (void)state;
    struct model *m = au_example("attn-swa");
    const double B = 16, L = 32768;
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, B, L, DT_BF16, 1);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->shape.attn.skv, 4097);
    assert_exact(at->shape.attn.pairs, 4097);
    assert_exact(at->shape.attn.pairs_useful, 4096);
    assert_exact(at->cost.bytes_kv, B * 4097 * 2 * 8 * 128 * 2);
    graph_free(&g);
    assert_exact(kv_cache_bytes(m, PHASE_DECODE, B, L), B * 4096 * 131072.0);
    assert_exact(kv_cache_bytes(m, PHASE_DECODE, B, 10), B * 11 * 131072.0);
    assert_exact(kv_cache_bytes(m, PHASE_PREFILL, B, 3000), B * 3000 * 131072.0);
    au_lower(m, &g, PHASE_DECODE, B, 10, DT_BF16, 1);
    at = au_op(&g, 0, "attention");
    assert_exact(at->shape.attn.pairs, 11);
    assert_exact(at->cost.flops_wasted, 0);
    graph_free(&g);
    model_free(m);
}

/* gpt-oss-120b (models/gpt-oss-120b.yaml), h 2880, 36 layers, V 201,088:
 *   attention: q 2880*4096 + k, v 2*2880*512 + o 4096*2880 = 26,542,080
 *              + biases 4096 + 2*512 + 2880 + 64 sink logits = 26,550,144
 *   expert:    3*2880*2880 + biases 2*2880 + 2880 = 24,891,840
 *   MoE:       128 experts 3,186,155,520 + router 2880*128 + 128 = 3,186,524,288
 *   layer:     + norms 5,760 = 3,213,080,192
 *   model:     2*V*h 1,158,266,880 + 36 layers + 2,880 = 116,829,156,672
 * The model card's 116.83B (MLP 114.71B = 36 x 3,186,524,288; attention 0.96B
 * = 36 x 26,550,144; embedding + unembedding 1.16B). Active: one embedding
 * row + lm_head + per layer attention, router, 4 experts, norms + final norm =
 * 5,132,852,352: the card's 5.13B (it counts the unembedding, not the
 * embedding). KV per token: 36 x 2*8*64 x 2 B = 73,728 B; the cache of a
 * sequence at context L holds 18 sliding layers x min(L+1, 128) tokens. */
static void test_attn_swa_gpt_oss_120b(void **state)
{
    (void)state;
    struct model *m = tu_model("gpt-oss-120b");
    assert_non_null(m);
    const double h = 2880, V = 201088;
    const double attn = h * 4096 + 2 * h * 512 + 4096 * h + 4096 + 2 * 512 + h + 64;
    assert_exact(attn, 26550144.0);
    const double expert = 3 * h * 2880 + 2 * 2880 + h;
    const double moe = 128 * expert + h * 128 + 128;
    assert_exact(moe, 3186524288.0);
    const double layer = attn + moe + 2 * h;
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, 2 * V * h + 36 * layer + h);
    assert_exact(c.params, 116829156672.0);
    assert_close(c.params, m->published_params, 0.5e-4); /* "116.83B" */
    assert_exact(round(36 * moe / 1e7) / 100, 114.71);
    assert_exact(round(36 * attn / 1e7) / 100, 0.96);
    const double active = h + V * h + 36 * (attn + h * 128 + 128 + 4 * expert + 2 * h) + h;
    assert_exact(c.active_params, active);
    assert_exact(c.active_params, 5132852352.0);
    assert_exact(c.kv_elems_per_token * 2, 73728);
    const double L = 32768;
    assert_exact(kv_cache_bytes(m, PHASE_DECODE, 4, L),
                 4 * (18 * 128 + 18 * (L + 1)) * 2048.0);
    model_free(m);
}

static void test_attn_swa_errors(void **state)
{
    (void)state;
    char buf[1024];
#define SWA "{kind: swa, heads: 32, kv_heads: 8, head_dim: 128, "
    au_expect_error(au_base(buf, sizeof buf, SWA "window: 0}"), 10, "0}", "window");
    au_expect_error(au_base(buf, sizeof buf, SWA "window: -4}"), 10, "-4", "window");
    au_expect_error(au_base(buf, sizeof buf, SWA "tile_q: 0}"), 10, "0}", "tile_q");
    au_expect_error(au_base(buf, sizeof buf, SWA "tile_k: -128}"), 10, "-128", "tile_k");
    au_expect_error(au_base(buf, sizeof buf, SWA "dilation: 0}"), 10, "0}", "dilation");
    au_expect_error(au_base(buf, sizeof buf, SWA "sinks: -1}"), 10, "-1", "sinks");
    au_expect_error(au_base(buf, sizeof buf, SWA "window: 8, stride: 9}"), 10, "9}",
                    "stride (9) must not exceed window (8)");
    au_expect_error(au_base(buf, sizeof buf, SWA "window: 8, causal: false, sinks: 4}"), 10,
                    "4}", "sinks need causal: true");
    au_expect_error(au_base(buf, sizeof buf, SWA "window: 8, dilation: 2, sinks: 4}"), 10,
                    "4}", "sinks with dilation 2 are not modelled");
    au_expect_error(au_base(buf, sizeof buf, "{kind: swa, heads: 32, kv_heads: 6, head_dim: 128}"),
                    10, "6,", "heads (32) must be divisible by kv_heads (6)");
    au_expect_error(au_base(buf, sizeof buf, SWA "windw: 8}"), 10, "windw",
                    "did you mean 'window'?");
#undef SWA
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attn_swa_tiles_brute_force),
        cmocka_unit_test(test_attn_swa_tiles_by_hand),
        cmocka_unit_test(test_attn_swa_tiles_long),
        cmocka_unit_test(test_attn_swa_full_window_is_gqa),
        cmocka_unit_test(test_attn_swa_prefill_layer_by_hand),
        cmocka_unit_test(test_attn_swa_window_just_short),
        cmocka_unit_test(test_attn_swa_decode_and_memory),
        cmocka_unit_test(test_attn_swa_gpt_oss_120b),
        cmocka_unit_test(test_attn_swa_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
