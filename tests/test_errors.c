/* test_errors.c - bad model and device files: every case must fail with the
 * position of the offending text (1-based line and column) and a message that
 * says what is wrong, never crash or fall back to a default. */
#include "testutil.h"

#include "../sim/serve.h"

static const char BASE[] =
    "name: t\n"                                                           /* 1 */
    "hidden: 4096\n"                                                      /* 2 */
    "layers: 2\n"                                                         /* 3 */
    "vocab: 1000\n"                                                       /* 4 */
    "tied_embeddings: false\n"                                            /* 5 */
    "norm: rmsnorm\n"                                                     /* 6 */
    "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"                /* 7 */
    "groups:\n"                                                           /* 8 */
    "  - repeat: 2\n"                                                     /* 9 */
    "    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}\n" /* 10 */
    "    ffn: {kind: swiglu, intermediate: 14336}\n";                     /* 11 */

/* BASE with the first occurrence of `from` replaced by `to`. */
static const char *variant(const char *base, const char *from, const char *to)
{
    static char buf[4096];
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", base); /* base may be buf itself */
    const char *p = strstr(copy, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - copy), copy, to, p + strlen(from));
    return buf;
}

/* 1-based column of `needle` on 1-based line `line` of text. */
static int col_of(const char *text, int line, const char *needle)
{
    const char *p = text;
    for (int l = 1; l < line; l++) p = strchr(p, '\n') + 1;
    const char *q = strstr(p, needle);
    assert_non_null(q);
    return (int)(q - p) + 1;
}

static void expect_model_error(const char *text, int line, int col, const char *msg)
{
    const char *path = tu_write_temp(text);
    struct model *m = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = model_load(path, &m, &e);
    if (rc == 0 || !strstr(e.msg, msg) || e.line != line || (col && e.col != col)) {
        print_error("want %d:%d '%s'\n got rc %d, %d:%d '%s'\n", line, col, msg, rc, e.line,
                    e.col, e.msg);
        model_free(m);
        fail();
    }
    assert_string_equal(e.file, path);
    assert_null(m);
    unlink(path);
}

static void test_errors_base_loads(void **state)
{
    (void)state;
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load(tu_write_temp(BASE), &m, &e), 0);
    model_free(m);
}

static void test_errors_unknown_key_suggests(void **state)
{
    (void)state;
    expect_model_error(variant(BASE, "hidden:", "hiden:"), 2, 1,
                       "unknown key 'hiden' in model description (did you mean 'hidden'?)");
    const char *t = variant(BASE, "head_dim:", "head_dimm:");
    expect_model_error(t, 10, col_of(t, 10, "head_dimm"),
                       "unknown key 'head_dimm' in attention block 'gqa' (did you mean "
                       "'head_dim'?)");
    /* mha has no kv_heads: it is Hkv = H by definition */
    t = variant(BASE, "kind: gqa", "kind: mha");
    expect_model_error(t, 10, col_of(t, 10, "kv_heads"), "unknown key 'kv_heads'");
    expect_model_error(variant(BASE, "name: t\n", "name: t\nflux: 3\n"), 2, 1,
                       "unknown key 'flux' in model description");
}

static void test_errors_wrong_types(void **state)
{
    (void)state;
    expect_model_error(variant(BASE, "hidden: 4096", "hidden: abc"), 2, 9,
                       "'hidden' must be an integer, got 'abc'");
    expect_model_error(variant(BASE, "hidden: 4096", "hidden: 4096.5"), 2, 9,
                       "'hidden' must be an integer, got '4096.5'");
    expect_model_error(variant(BASE, "hidden: 4096", "hidden: \"4096\""), 2, 9,
                       "'hidden' must be an integer, got a quoted string");
    expect_model_error(variant(BASE, "tied_embeddings: false", "tied_embeddings: maybe"), 5, 18,
                       "'tied_embeddings' must be true or false, got 'maybe'");
    expect_model_error(variant(BASE, "kv: bf16}", "kv: bf17}"), 7, 0, "unknown dtype 'bf17'");
    expect_model_error(variant(BASE, "norm: rmsnorm", "norm: batchnorm"), 6, 7,
                       "'norm': unknown value 'batchnorm' (expected one of: rmsnorm, layernorm)");
    expect_model_error(variant(BASE, "hidden: 4096", "hidden: [4096]"), 2, 9,
                       "'hidden' must be a single value, got a list");
    expect_model_error(variant(BASE, "groups:\n", "groups: 3\nx:\n"), 8, 9,
                       "'groups' must be a list, got a scalar");
}

static void test_errors_ranges_and_overflow(void **state)
{
    (void)state;
    expect_model_error(variant(BASE, "hidden: 4096", "hidden: 0"), 2, 9,
                       "'hidden' must be at least 1, got 0");
    expect_model_error(variant(BASE, "layers: 2", "layers: -3"), 3, 9,
                       "'layers' must be at least 1, got -3");
    expect_model_error(variant(BASE, "hidden: 4096", "hidden: 10000000"), 2, 9,
                       "'hidden' must be at most 1048576, got 10000000");
    expect_model_error(variant(BASE, "vocab: 1000", "vocab: 99999999999999999999999"), 4, 8,
                       "'vocab' is too large: 99999999999999999999999 does not fit");
    const char *t = variant(BASE, "heads: 32", "heads: 0");
    expect_model_error(t, 10, col_of(t, 10, "0,"), "'heads' must be at least 1, got 0");
}

static void test_errors_missing_required(void **state)
{
    (void)state;
    expect_model_error(variant(BASE, "vocab: 1000\n", ""), 1, 1,
                       "missing required key 'vocab' in model description");
    const char *t = variant(BASE, ", head_dim: 128", "");
    expect_model_error(t, 10, col_of(t, 10, "{"),
                       "missing required key 'head_dim' in attention block 'gqa'");
    t = variant(BASE, "kind: swiglu, ", "");
    expect_model_error(t, 11, col_of(t, 11, "{"),
                       "missing required key 'kind' in ffn block (one of: swiglu, gelu");
    expect_model_error(variant(BASE, "groups:\n  - repeat: 2\n", "groups:\n  - \n"), 10, 5,
                       "missing required key 'repeat' in layer group");
    expect_model_error(variant(BASE, "  - repeat: 2\n", "  - 2\n  - repeat: 2\n"), 9, 5,
                       "layer group must be a mapping, got a scalar");
}

static void test_errors_cross_field(void **state)
{
    (void)state;
    const char *t = variant(BASE, "kv_heads: 8", "kv_heads: 5");
    expect_model_error(t, 10, col_of(t, 10, "5,"),
                       "heads (32) must be divisible by kv_heads (5)");
    t = variant(BASE, "kv_heads: 8", "kv_heads: 64");
    expect_model_error(t, 10, col_of(t, 10, "64"), "kv_heads (64) must not exceed heads (32)");
    /* at the `layers` value (line 3, "layers: " is 8 characters): the one
     * number the sum is compared with (issue 18) */
    expect_model_error(variant(BASE, "repeat: 2", "repeat: 3"), 3, 9,
                       "the groups' repeats add up to 3 layers, but 'layers' is 2");
    t = variant(BASE, "kind: gqa", "kind: gqaa");
    expect_model_error(t, 10, col_of(t, 10, "gqaa"),
                       "unknown attention kind 'gqaa' (did you mean 'gqa'?");
    t = variant(BASE, "{kind: swiglu, intermediate: 14336}",
                "{kind: moe, experts: 8, top_k: 9, expert_intermediate: 100}");
    expect_model_error(t, 11, col_of(t, 11, "9,"), "top_k (9) must not exceed experts (8)");
    t = variant(BASE, "{kind: swiglu, intermediate: 14336}",
                "{kind: moe, experts: 8, top_k: 2, expert_intermediate: 100, shared_experts: 1}");
    expect_model_error(t, 11, col_of(t, 11, "1}"),
                       "shared_experts is 1 but shared_intermediate is missing");
    expect_model_error(variant(BASE, "name: t\n", "name: t\nhidden: 8\n"), 3, 1,
                       "duplicate key 'hidden' in model description");
}

static void test_errors_syntax_and_files(void **state)
{
    (void)state;
    const char *path = tu_write_temp(variant(BASE, "kv: bf16}", "kv: bf16"));
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load(path, &m, &e), -1);
    assert_non_null(strstr(e.msg, "YAML syntax error"));
    assert_true(e.line >= 7 && e.col >= 1);
    expect_model_error("", 1, 1, "empty document"); /* every error has a position (issue 18) */
    expect_model_error("- 1\n- 2\n", 1, 1, "model description must be a mapping, got a list");
    assert_int_equal(model_load("/nonexistent/x.yaml", &m, &e), -1);
    assert_string_equal(e.file, "/nonexistent/x.yaml");
    assert_non_null(strstr(e.msg, "cannot open"));
    /* absurd but in-range sizes: more than 2^53 parameters */
    const char *t = variant(BASE, "hidden: 4096", "hidden: 1048576");
    t = variant(t, "intermediate: 14336", "intermediate: 16000000");
    t = variant(t, "layers: 2", "layers: 90000");
    t = variant(t, "repeat: 2", "repeat: 90000");
    expect_model_error(t, 1, 1, "beyond 2^53");
}

/* A folder where a file is expected says so (not "YAML syntax error"). */
static void test_errors_directory(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/opbound-dir-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load(dir, &m, &e), -1);
    assert_string_equal(e.file, dir);
    assert_string_equal(e.msg, "is a directory, not a file");
    assert_null(m);
    rmdir(dir);
}

/* Serving scenarios: the request count is capped at 10^6 (the simulation
 * steps through every iteration; 10^7 ran for minutes). */
static void test_errors_serve_requests(void **state)
{
    (void)state;
    static const char SC[] = "model: llama-3-8b\n"       /* 1 */
                             "requests: 1000001\n"       /* 2 */
                             "lengths: [{input: 16, output: 4}]\n"
                             "max_batch: 8\n"
                             "token_budget: 64\n";
    const char *path = tu_write_temp(SC);
    struct serve_scenario *s = NULL;
    struct err e;
    assert_int_equal(serve_load(path, &s, &e), -1);
    assert_null(s);
    assert_int_equal(e.line, 2);
    assert_int_equal(e.col, 11);
    assert_string_equal(e.msg, "'requests' must be at most 1000000, got 1000001");
    unlink(path);
    path = tu_write_temp(variant(SC, "1000001", "1000000"));
    assert_int_equal(serve_load(path, &s, &e), 0);
    serve_free(s);
    unlink(path);
}

/* Device files. */
static const char DEV[] =
    "name: d\n"                                                  /* 1 */
    "vendor: v\n"                                                /* 2 */
    "memory: {capacity_bytes: 80e9, bandwidth_bytes_per_s: 3e12}\n" /* 3 */
    "l2_bytes: 50e6\n"                                           /* 4 */
    "sm_count: 132\n"                                            /* 5 */
    "kernel_overhead_s: 4e-6\n"                                  /* 6 */
    "interconnect_bytes_per_s: 450e9\n"                          /* 7 */
    "tensor_flops_per_s: {fp32: 60e12, bf16: 1e15}\n"            /* 8 */
    "vector_flops_per_s: {fp32: 60e12}\n"                        /* 9 */
    "efficiency: {tensor: 0.8, memory: 0.9}\n";                  /* 10 */

static void expect_device_error(const char *text, int line, int col, const char *msg)
{
    const char *path = tu_write_temp(text);
    struct device *d = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = device_load(path, &d, &e);
    if (rc == 0 || !strstr(e.msg, msg) || e.line != line || (col && e.col != col)) {
        print_error("want %d:%d '%s'\n got rc %d, %d:%d '%s'\n", line, col, msg, rc, e.line,
                    e.col, e.msg);
        device_free(d);
        fail();
    }
    unlink(path);
}

static void test_errors_device(void **state)
{
    (void)state;
    struct device *d = NULL;
    struct err e;
    assert_int_equal(device_load(tu_write_temp(DEV), &d, &e), 0);
    assert_close(d->mem_rate, 3e12 * 0.9, 1e-15);
    assert_close(d->tensor_rate[DT_BF16], 1e15 * 0.8, 1e-15);
    assert_close(d->vector_rate[DT_BF16], 60e12, 1e-15); /* falls back to fp32; eff 1 */
    device_free(d);
    const char *t = variant(DEV, "3e12", "-3e12");
    expect_device_error(t, 3, col_of(t, 3, "-3e12"),
                        "'bandwidth_bytes_per_s' must be at least 1000000, got -3e12");
    t = variant(DEV, "tensor: 0.8", "tensor: 1.5");
    expect_device_error(t, 10, col_of(t, 10, "1.5"), "'tensor' must be at most 1, got 1.5");
    t = variant(DEV, "{fp32: 60e12, bf16: 1e15}", "{bf16: 1e15}");
    expect_device_error(t, 8, col_of(t, 8, "{"),
                        "missing required key 'fp32' in tensor_flops_per_s");
    t = variant(DEV, "fp32: 60e12, bf16", "fp64: 60e12, bf16");
    expect_device_error(t, 8, col_of(t, 8, "fp64"), "unknown key 'fp64' in tensor_flops_per_s "
                                                    "(did you mean 'fp32'?)");
    expect_device_error(variant(DEV, "sm_count: 132", "sm_count: 0"), 5, 11,
                        "'sm_count' must be at least 1, got 0");
    expect_device_error(variant(DEV, "kernel_overhead_s: 4e-6", "kernel_overhead_s: nan"), 6, 20,
                        "'kernel_overhead_s' must be a decimal number, got 'nan'");
    expect_device_error(variant(DEV, "l2_bytes: 50e6", "l2_bytes: 1e999"), 4, 11,
                        "'l2_bytes' is out of range: 1e999");
    /* a calibration entry for an op kind that does not exist lists every kind */
    char cal[1024];
    snprintf(cal, sizeof cal, "%scalibration: {matmul: {overhead_s: 1e-6}}\n", DEV);
    expect_device_error(cal, 11, 15,
                        "unknown op kind 'matmul' in calibration: an entry is KIND[.IMPL][.PHASE] "
                        "with KIND one of gemm, batched_gemm, attention, elementwise, norm, "
                        "softmax, router, gather, allreduce, scan, alltoall, allgather, IMPL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_base_loads),
        cmocka_unit_test(test_errors_unknown_key_suggests),
        cmocka_unit_test(test_errors_wrong_types),
        cmocka_unit_test(test_errors_ranges_and_overflow),
        cmocka_unit_test(test_errors_missing_required),
        cmocka_unit_test(test_errors_cross_field),
        cmocka_unit_test(test_errors_syntax_and_files),
        cmocka_unit_test(test_errors_device),
        cmocka_unit_test(test_errors_directory),
        cmocka_unit_test(test_errors_serve_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
