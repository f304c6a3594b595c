/* test_compare.c - study files and `opbound compare`: designs placed in a
 * skeleton (counts by hand), ratios (json rows; every format in
 * test_figures.c), and
 * bad study files with FILE:LINE:COL. */
#include "testutil.h"


#include "../sim/study.h"

static const char STUDY[] =
    "name: t\n"                                                         /* 1 */
    "skeleton: llama-3-8b\n"                                            /* 2 */
    "hw: [h100]\n"                                                      /* 3 */
    "scenarios:\n"                                                      /* 4 */
    "  - {phase: decode, batch: 4, context: 1023}\n"                    /* 5 */
    "designs:\n"                                                        /* 6 */
    "  - name: GQA\n"                                                   /* 7 */
    "    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}\n" /* 8 */
    "  - name: MHA\n"                                                   /* 9 */
    "    attention: {kind: mha, heads: 32, head_dim: 128}\n";           /* 10 */

static const char *variant(const char *from, const char *to)
{
    static char buf[4096];
    const char *p = strstr(STUDY, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - STUDY), STUDY, to, p + strlen(from));
    return buf;
}

/* The GQA design is Llama-3-8B itself: 8,030,261,248 params. MHA adds 2 x
 * 4096 x (32 - 8) x 128 = 25,165,824 per layer: 8,835,567,616; its KV is
 * 32 layers x 2 x 32 heads x 128 x 2 B = 524,288 B per token. */
static void test_compare_study_designs(void **state)
{
    (void)state;
    struct study *s = NULL;
    struct err e;
    if (study_load(tu_write_temp(STUDY), &s, &e)) {
        err_print(&e, stderr);
        fail();
    }
    assert_int_equal(s->n_designs, 2);
    assert_int_equal(s->n_hw, 1);
    assert_int_equal(s->n_scenarios, 1);
    struct model_counts c;
    model_count(s->designs[0].m, 1, &c);
    assert_exact(c.params, 8030261248.0);
    model_count(s->designs[1].m, 1, &c);
    assert_exact(c.params, 8030261248.0 + 32 * 2 * 4096.0 * 24 * 128);
    assert_exact(c.params, 8835567616.0);
    assert_exact(c.kv_elems_per_token * 2, 524288.0);
    assert_string_equal(s->designs[1].name, "MHA");
    assert_exact(s->scenarios[0].context, 1023);
    study_free(s);
}

static void expect_study_error(const char *text, int line, const char *msg)
{
    struct study *s = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = study_load(tu_write_temp(text), &s, &e);
    if (rc == 0 || e.line != line || !strstr(e.msg, msg)) {
        print_error("want line %d '%s', got rc %d %d:%d '%s'\n", line, msg, rc, e.line, e.col,
                    e.msg);
        study_free(s);
        fail();
    }
}

static void test_compare_study_errors(void **state)
{
    (void)state;
    expect_study_error(variant("skeleton:", "skeletn:"), 2,
                       "unknown key 'skeletn' in study (did you mean 'skeleton'?)");
    expect_study_error(variant("context: 1023", "seq: 1023"), 5, "a decode scenario needs 'context'");
    expect_study_error(variant("batch: 4, context: 1023", "batch: 4, seq: 5, context: 1023"), 5,
                       "'seq' is for prefill scenarios");
    expect_study_error(variant("name: MHA", "name: GQA"), 9, "duplicate design name 'GQA'");
    expect_study_error(variant("kv_heads: 8", "kv_heads: 7"), 8,
                       "heads (32) must be divisible by kv_heads (7)");
    expect_study_error(variant("hw: [h100]", "hw: [tpu9]"), 3, "unknown device 'tpu9'");
    expect_study_error(variant("skeleton: llama-3-8b", "skeleton: llama-9"), 2,
                       "unknown model 'llama-9'");
    expect_study_error(variant("    attention: {kind: mha, heads: 32, head_dim: 128}\n", ""), 9,
                       "design 'MHA' changes nothing");
    expect_study_error(variant("context: 1023}", "context: 1023, tp: 3}"), 5,
                       "design 'GQA': cannot split layer group 0");
    expect_study_error("name: t\nhw: [h100]\nscenarios: [{phase: decode, batch: 1, context: 1}]\n"
                       "designs: []\n",
                       4, "'designs' must list at least one item");
}

static char out_buf[1 << 20], err_buf[1 << 14];
static int run(const char *args)
{
    return tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
}

static double jnum(struct yml_doc *d, yml_node map, const char *key)
{
    const char *s = yml_scalar(d, yml_map_get(d, map, key));
    assert_non_null(s);
    return strtod(s, NULL);
}

/* compare json: the published parameters, KV per token by hand, and each
 * ratio equal to the division of the two printed figures (times by hand are
 * in tests/test_figures.c, on the test device). */
static void test_compare_json_rows(void **state)
{
    (void)state;
    assert_int_equal(run("compare llama-3-8b qwen3-30b-a3b --hw h100 --phase decode --batch 8 "
                         "--context 2047 --format json"),
                     0);
    struct yml_doc *cd = NULL;
    struct err e;
    assert_int_equal(yml_load_string("compare", out_buf, strlen(out_buf), &cd, &e), 0);
    yml_node blocks = yml_map_get(cd, yml_root(cd), "blocks");
    assert_int_equal(yml_seq_len(cd, blocks), 1);
    yml_node rows = yml_map_get(cd, yml_seq_at(cd, blocks, 0), "rows");
    assert_int_equal(yml_seq_len(cd, rows), 2);
    yml_node r0 = yml_seq_at(cd, rows, 0), r1 = yml_seq_at(cd, rows, 1);
    assert_exact(jnum(cd, r0, "tpot_ratio"), 1);
    assert_exact(jnum(cd, r0, "ttft_ratio"), 1);
    assert_exact(jnum(cd, r0, "params"), 8030261248.0);
    assert_exact(jnum(cd, r1, "params"), 30532122624.0); /* Qwen3-30B-A3B, test_counts.c */
    /* Qwen3-30B-A3B KV: 48 x 2 x 4 x 128 x 2 = 98,304 B; ratio to Llama's 131,072 = 0.75 */
    assert_exact(jnum(cd, r0, "kv_cache_bytes_per_token"), 131072.0);
    assert_exact(jnum(cd, r1, "kv_cache_bytes_per_token"), 98304.0);
    assert_close(jnum(cd, r1, "kv_ratio"), 0.75, 1e-15);
    assert_close(jnum(cd, r1, "tpot_ratio"), jnum(cd, r1, "tpot_s") / jnum(cd, r0, "tpot_s"), 1e-15);
    assert_close(jnum(cd, r1, "ttft_ratio"), jnum(cd, r1, "ttft_s") / jnum(cd, r0, "ttft_s"), 1e-15);
    yml_free(cd);
    /* tp 2: each device holds half of every KV head set (8 -> 4, 4 -> 2 heads):
     * 65,536 and 49,152 B per device; the ratio stays that of the models, 0.75 */
    assert_int_equal(run("compare llama-3-8b qwen3-30b-a3b --hw h100 --phase decode --batch 8 "
                         "--context 2047 --tp 2 --format json"),
                     0);
    assert_int_equal(yml_load_string("compare", out_buf, strlen(out_buf), &cd, &e), 0);
    rows = yml_map_get(cd, yml_seq_at(cd, yml_map_get(cd, yml_root(cd), "blocks"), 0), "rows");
    r0 = yml_seq_at(cd, rows, 0), r1 = yml_seq_at(cd, rows, 1);
    assert_exact(jnum(cd, r0, "device_kv_cache_bytes_per_token"), 65536.0);
    assert_exact(jnum(cd, r1, "device_kv_cache_bytes_per_token"), 49152.0);
    assert_close(jnum(cd, r1, "kv_ratio"), 0.75, 1e-15);
    yml_free(cd);
}

static void test_compare_cli_errors(void **state)
{
    (void)state;
    assert_int_equal(run("compare"), 2);
    assert_non_null(strstr(err_buf, "missing MODEL"));
    assert_int_equal(run("compare llama-3-8b --phase decode --context 5"), 2);
    assert_non_null(strstr(err_buf, "missing --hw"));
    char args[512];
    snprintf(args, sizeof args, "compare %s/examples/study-attention.yaml --hw h100", OB_DATADIR);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err_buf, "only --format may be given"));
    assert_string_equal(out_buf, "");
    snprintf(args, sizeof args, "compare %s/examples/study-attention.yaml --format csv",
             OB_DATADIR);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_buf, "H100-SXM5-80GB,decode,32,,8192,1,MHA-32,"));
}

/* A ratio against a first design with no KV cache (a pure Mamba-2 stack) is
 * undefined: json null, table n/a, never a made-up 0. */
static void test_compare_undefined_ratio(void **state)
{
    (void)state;
    char study[2048];
    snprintf(study, sizeof study,
             "name: t\nskeleton: llama-3-8b\nhw: [h100]\n"
             "scenarios: [{phase: decode, batch: 1, context: 100}]\n"
             "designs:\n  - name: M\n    model: %s/examples/mix-mamba2.yaml\n"
             "  - name: G\n    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}\n",
             OB_DATADIR);
    char args[256];
    snprintf(args, sizeof args, "compare %s --format json", tu_write_temp(study));
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_buf, "\"kv_ratio\": null"));
    assert_null(strstr(out_buf, "\"kv_ratio\": 0,"));
    args[strlen(args) - strlen(" --format json")] = 0;
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_buf, "n/a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_study_designs),
        cmocka_unit_test(test_compare_study_errors),
        cmocka_unit_test(test_compare_json_rows),
        cmocka_unit_test(test_compare_cli_errors),
        cmocka_unit_test(test_compare_undefined_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
