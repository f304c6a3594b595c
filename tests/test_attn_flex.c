/* test_attn_flex.c - mask programs (models/mask.c) and the flex attention
 * kind. Every mask is checked against a brute-force enumeration of all
 * (query, key) pairs and all tiles, written here independently of the
 * interval code; one case is also derived by hand; bad masks fail at
 * FILE:LINE:COL. */
#include "attn_util.h"

#include "../models/mask.h"
#include "../models/profile.h"

typedef bool (*keep_fn)(long q, long k);

static bool m_causal(long q, long k) { return k <= q; }
static bool m_swa7(long q, long k) { return k <= q && q - k < 7; }
static bool m_prefix_lm(long q, long k) { return k <= q || k < 10; }
static bool m_docs(long q, long k)
{
    /* documents of 13, 20, 17 tokens, repeating every 50 */
    const long ends[3] = {13, 33, 50};
    long dq = 0, dk = 0, bq = q / 50, bk = k / 50;
    while (q % 50 >= ends[dq]) dq++;
    while (k % 50 >= ends[dk]) dk++;
    return k <= q && bq == bk && dq == dk;
}
static bool m_chunk16(long q, long k) { return k <= q && q / 16 == k / 16; }
static bool m_blocks(long q, long k)
{
    const long jq = q / 8, jk = k / 8;
    return k <= q && (jk == jq || jk == jq - 2 || jk == 0);
}
static bool m_nested(long q, long k) { return (k <= q && q - k < 5) || k < 3; }

static const struct {
    const char *yaml;
    keep_fn keep;
} CASES[] = {
    {"[causal]", m_causal},
    {"[causal, {window: 7}]", m_swa7},
    {"[{any: [causal, {prefix: 10}]}]", m_prefix_lm},
    {"[causal, {documents: [13, 20, 17]}]", m_docs},
    {"[causal, {chunk: 16}]", m_chunk16},
    {"[causal, {blocks: {size: 8, offsets: [0, 2], global: [0]}}]", m_blocks},
    {"[{any: [{all: [causal, {window: 5}]}, {prefix: 3}]}]", m_nested},
};

static void brute(keep_fn keep, long prior, long q, long tq, long tk, struct mask_pairs *out)
{
    const long end = prior + q;
    out->useful = out->computed = out->tiles = 0;
    for (long r = prior; r < end; r++)
        for (long k = 0; k < end; k++) out->useful += keep(r, k);
    for (long qt = 0; qt * tq < end; qt++)
        for (long kt = 0; kt * tk < end; kt++) {
            long rows = 0, any = 0;
            for (long r = qt * tq; r < qt * tq + tq && r < end; r++) {
                if (r < prior) continue;
                rows++;
                for (long k = kt * tk; k < kt * tk + tk && k < end; k++) any |= keep(r, k);
            }
            if (!any || !rows) continue;
            const long keys = (kt * tk + tk < end ? kt * tk + tk : end) - kt * tk;
            out->computed += (double)(rows * keys);
            out->tiles += 1;
        }
}

static void read_mask(const char *yaml, struct mask_prog *p)
{
    struct yml_doc *d = NULL;
    struct err e;
    assert_int_equal(yml_load_string("mask", yaml, strlen(yaml), &d, &e), 0);
    if (mask_read(d, yml_root(d), p, &e)) {
        err_print(&e, stderr);
        fail();
    }
    yml_free(d);
}

static void test_masks_enumerated(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        struct mask_prog p;
        read_mask(CASES[c].yaml, &p);
        const long steps[][2] = {{0, 50}, {20, 30}, {49, 1}, {0, 1}, {37, 64}, {100, 1}};
        const long tiles[][2] = {{8, 8}, {16, 8}, {4, 16}, {1, 1}};
        for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++)
            for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++) {
                struct mask_pairs got, want;
                mask_count(&p, (double)steps[s][0], (double)steps[s][1], (double)tiles[t][0],
                           (double)tiles[t][1], &got);
                brute(CASES[c].keep, steps[s][0], steps[s][1], tiles[t][0], tiles[t][1], &want);
                if (got.useful != want.useful || got.computed != want.computed ||
                    got.tiles != want.tiles) {
                    print_error("mask %s, prior %ld q %ld, tiles %ldx%ld: got %g/%g/%g, want "
                                "%g/%g/%g\n",
                                CASES[c].yaml, steps[s][0], steps[s][1], tiles[t][0],
                                tiles[t][1], got.useful, got.computed, got.tiles, want.useful,
                                want.computed, want.tiles);
                    fail();
                }
            }
    }
}

/* By hand: causal prefill of 16 with 8 x 8 tiles: 16*17/2 = 136 kept pairs;
 * tiles (0,0), (1,0), (1,1) computed, (0,1) skipped: 3 x 64 = 192. A causal
 * window of 4 at S = 16, tiles 8 x 8: kept 1+2+3+4*13 = 58; tiles (0,0),
 * (1,0) (query 8 sees keys 5..8), (1,1): still 192 computed. */
static void test_mask_by_hand(void **state)
{
    (void)state;
    struct mask_prog p;
    struct mask_pairs mp;
    read_mask("[causal]", &p);
    mask_count(&p, 0, 16, 8, 8, &mp);
    assert_exact(mp.useful, 136);
    assert_exact(mp.computed, 192);
    assert_exact(mp.tiles, 3);
    read_mask("[causal, {window: 4}]", &p);
    mask_count(&p, 0, 16, 8, 8, &mp);
    assert_exact(mp.useful, 58);
    assert_exact(mp.computed, 192);
}

/* The flex kind lowers the mask's pairs into its attention op: H = 4 heads,
 * D = 16, causal prefill of 16 with 8 x 8 tiles: 4 x 192 pairs x 2(16 + 16)
 * FLOPs = 49152, of which 4 x (192 - 136) x 64 = 14336 wasted. */
static void test_flex_kind(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(
        buf, sizeof buf,
        "{kind: flex, heads: 4, kv_heads: 2, head_dim: 16, tile_q: 8, tile_k: 8, mask: [causal]}"));
    struct graph g;
    au_lower(m, &g, PHASE_PREFILL, 1, 16, DT_BF16, 1);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->cost.flops_mm, 49152);
    assert_exact(at->cost.flops_wasted, 14336);
    graph_free(&g);
    /* decode at L = 20: keys 0..20 in tiles 0..2 (the last holds 16..20): 21
     * keys read and computed, per KV head 2 x 16 x 2 B each, 2 KV heads */
    au_lower(m, &g, PHASE_DECODE, 1, 20, DT_BF16, 1);
    at = au_op(&g, 0, "attention");
    assert_exact(at->cost.bytes_kv, 21.0 * 64 * 2);
    graph_free(&g);
    model_free(m);
}

/* FlexAttention backends: a flex block's attention runs FlexAttention, its
 * Triton backend by default (also under a profile whose per-kind map says fa2,
 * which cannot run a mask program) and its FA4 backend when the scenario says
 * so; both iterate the same BlockMask, 128 x 128 by default
 * (torch/nn/attention/flex_attention.py, _DEFAULT_SPARSE_BLOCK_SIZE = 128), so
 * the pairs do not depend on the backend. Causal S = 1024: 8 query tiles, tile
 * i touches i + 1 key tiles: 36 blocks x 128^2 = 589,824 pairs computed of
 * 1024 x 1025 / 2 = 524,800 kept. */
static void test_flex_backends(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(
        buf, sizeof buf, "{kind: flex, heads: 32, kv_heads: 8, head_dim: 128, mask: [causal]}"));
    /* no profile; hf (attention: fa2 in its map); --impl attention=flex_fa4;
     * --impl attention=flex (the Triton backend's short name) */
    static const char *const prof[4] = {NULL, "hf", "default", "default"};
    static const char *const spec[4] = {NULL, NULL, "attention=flex_fa4", "attention=flex"};
    const enum op_impl want[4] = {IMPL_FLEX_TRITON, IMPL_FLEX_TRITON, IMPL_FLEX_FA4,
                                  IMPL_FLEX_TRITON};
    for (int i = 0; i < 4; i++) {
        struct profile *p = NULL;
        struct err e;
        if (prof[i]) {
            char path[1024];
            snprintf(path, sizeof path, "%s/models/profiles/%s.yaml", OB_DATADIR, prof[i]);
            assert_int_equal(profile_load(path, &p, &e), 0);
            if (spec[i]) assert_int_equal(profile_set_impl(p, spec[i], "--impl", &e), 0);
        }
        struct graph g;
        struct step st = {.phase = PHASE_PREFILL, .batch = 1, .q_len = 1024, .ctx_prior = 0,
                          .tp = 1, .dt_w = DT_BF16, .dt_act = DT_BF16, .dt_kv = DT_BF16,
                          .profile = p};
        assert_int_equal(graph_init(&g, model_max_ops(m)), 0);
        model_lower(m, &st, &g);
        const struct op *at = au_op(&g, 0, "attention");
        assert_int_equal(at->impl, want[i]);
        assert_exact(at->shape.attn.pairs, 589824);
        assert_exact(at->shape.attn.pairs_useful, 524800);
        graph_free(&g);
        profile_free(p);
    }
    assert_int_equal(op_impl_parse("flex"), IMPL_FLEX_TRITON);
    assert_string_equal(op_impl_name(IMPL_FLEX_FA4), "flex_fa4");
    model_free(m);
}

static void test_flex_errors(void **state)
{
    (void)state;
    char buf[2048];
#define FX "{kind: flex, heads: 4, kv_heads: 2, head_dim: 16, mask: "
    au_expect_error(au_base(buf, sizeof buf, FX "[causual]}"), 10, "causual", "unknown mask part 'causual'");
    au_expect_error(au_base(buf, sizeof buf, FX "[{causal: 1}]}"), 10, "{causal", "causal takes no value");
    au_expect_error(au_base(buf, sizeof buf, FX "[causal, {window: 0}]}"), 10, "0}]",
                    "window must be a whole number from 1");
    au_expect_error(au_base(buf, sizeof buf, FX "[{blocks: {offsets: [0]}}]}"), 10, "{offsets",
                    "blocks needs size");
    au_expect_error(au_base(buf, sizeof buf, FX "[{blocks: {size: 8, stride: 2}}]}"), 10,
                    "stride", "unknown key 'stride' in blocks");
    au_expect_error(au_base(buf, sizeof buf, FX "[]}"), 10, "[]", "non-empty list");
    au_expect_error(au_base(buf, sizeof buf, FX "[{documents: []}]}"), 10, "[]}]",
                    "documents needs at least one length");
    au_expect_error(au_base(buf, sizeof buf, FX "[{window: 4, chunk: 2}]}"), 10, "{window",
                    "a mapping of one key");
    /* found by the campaign of docs/reliability.md: masks that keep no key */
    au_expect_error(au_base(buf, sizeof buf, FX "[{prefix: 0}]}"), 10, "0}]",
                    "prefix must be a whole number from 1");
    au_expect_error(au_base(buf, sizeof buf, FX "[{blocks: {size: 8, offsets: []}}]}"), 10,
                    "{size", "keeps no key");
    au_expect_error(au_base(buf, sizeof buf, FX "[causal, {window: \"4\"}]}"), 10, "\"4\"",
                    "not a quoted string");
    /* an `any` of exactly 64 parts: its children fill the node table, and the
     * `any` itself was written one past it (UBSan: index 64 out of bounds;
     * found by fuzz_model). It is the 65th part: refused at the `any`. */
    char big[1500], mask[1400] = "[{any: [", bbuf[4096];
    for (int i = 0; i < 64; i++)
        snprintf(mask + strlen(mask), sizeof mask - strlen(mask), "%s{chunk: %d}", i ? ", " : "",
                 i + 2);
    strcat(mask, "]}]}");
    snprintf(big, sizeof big, FX "%s", mask);
    au_expect_error(au_base(bbuf, sizeof bbuf, big), 10, "{any", "more than 64 parts");
}

/* A step in which the mask keeps no key for any query (the prefix of 4
 * and a window of 2 overlap only for queries 0..4; a decode step at
 * position 20 keeps nothing) launched an attention op with 0 pairs and
 * aborted on its assertion (exit 134). Now no attention kernel runs: the
 * layer is qkv_proj, rope, kv_write and o_proj, and a decode step at
 * position 2 (query 2 keeps keys 1..2: prefix 0..3 and window 1..2) still
 * has one, with 2 useful pairs per head. */
static void test_flex_empty_step(void **state)
{
    (void)state;
    char buf[2048];
    struct model *m = au_text(au_base(
        buf, sizeof buf,
        "{kind: flex, heads: 4, kv_heads: 2, head_dim: 16, tile_q: 8, tile_k: 8, "
        "mask: [{prefix: 4}, {window: 2}]}"));
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 20, DT_BF16, 1);
    for (int i = 0; i < g.n; i++) assert_true(g.ops[i].kind != OP_ATTENTION);
    assert_non_null(au_op(&g, 0, "o_proj"));
    graph_free(&g);
    au_lower(m, &g, PHASE_DECODE, 1, 2, DT_BF16, 1);
    const struct op *at = au_op(&g, 0, "attention");
    /* 2 useful pairs x 4 heads x 2 (D + Dv) = 2 x 4 x 2 x 32 = 512 useful FLOPs; the
     * computed block holds the 3 keys present (0..2): 3 x 4 x 2 x 32 = 768 */
    assert_exact(at->cost.flops_mm, 768);
    assert_exact(at->cost.flops_wasted, 256);
    graph_free(&g);
    model_free(m);
}

/* A mask program is evaluated per query: the kind handles sequences up to
 * 2^21 = 2,097,152 tokens and refuses longer ones quickly (exit 2). */
static void test_flex_length_limit(void **state)
{
    (void)state;
    char out[8192], err[4096];
    char args[512];
    snprintf(args, sizeof args,
             "analyze %s/examples/attn-flex.yaml --hw h100 --phase prefill --seq 1099511627776",
             OB_DATADIR);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "at most 2097152 tokens, not 1099511627776"));
    snprintf(args, sizeof args,
             "analyze %s/examples/attn-flex.yaml --hw h100 --phase decode --context 2097151",
             OB_DATADIR);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    snprintf(args, sizeof args,
             "analyze %s/examples/attn-flex.yaml --hw h100 --phase decode --context 2097152",
             OB_DATADIR);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_enumerated),
        cmocka_unit_test(test_mask_by_hand),
        cmocka_unit_test(test_flex_kind),
        cmocka_unit_test(test_flex_backends),
        cmocka_unit_test(test_flex_errors),
        cmocka_unit_test(test_flex_length_limit),
        cmocka_unit_test(test_flex_empty_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
