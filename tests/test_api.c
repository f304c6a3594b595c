/* test_api.c - the public C API (sim/api/opbound.h) in process: loading by
 * name in any case and by path, errors as values with FILE:LINE:COL, scenario
 * checks, totals against hand-derived counts, per-op access and its bounds. */
#include "testutil.h"

#include "../sim/api/opbound.h"

static void test_api_llama_8b_counts_by_hand(void **state)
{
    (void)state;
    ob_error e;
    ob_model *m = NULL;
    ob_device *d = NULL;
    assert_int_equal(ob_model_load("LLAMA-3-8b", &m, &e), OB_OK);
    assert_int_equal(ob_device_load(OB_DATADIR "/hw/h100-sxm5-80gb.yaml", &d, &e), OB_OK);
    assert_string_equal(ob_device_name(d), "H100-SXM5-80GB");
    ob_scenario *sc = ob_scenario_new(OB_DECODE);
    ob_scenario_set_context(sc, 1024);
    ob_scenario_set_batch(sc, 4);
    ob_result *r = NULL;
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_OK);
    /* Llama-3-8B (hidden 4096, 32 layers, 32 heads, 8 KV heads of 128, FFN 14336,
     * vocab 128256, untied): per layer q,o 2*4096^2 = 33,554,432; k,v 2*4096*1024 =
     * 8,388,608; FFN 3*4096*14336 = 176,160,768; 2 norms 8,192 -> 218,112,000;
     * x32 = 6,979,584,000; + embeddings and head 2*128256*4096 = 1,050,673,152;
     * + final norm 4,096 = 8,030,261,248 (Meta's "8.03B"). */
    assert_exact(ob_result_total(r, OB_PARAMS), 8030261248.0);
    /* KV per token: 32 layers x (K and V) x 8 heads x 128 x 2 bytes = 131,072 B */
    assert_exact(ob_result_total(r, OB_KV_BYTES_PER_TOKEN), 131072.0);
    /* weights: 8,030,261,248 x 2 bytes (bf16) */
    assert_exact(ob_result_total(r, OB_WEIGHT_BYTES), 16060522496.0);
    /* H100 SXM5: 80 GiB = 80 x 2^30 = 85,899,345,920 B */
    assert_exact(ob_result_total(r, OB_CAPACITY_BYTES), 85899345920.0);
    assert_exact(ob_result_total(r, OB_FITS), 1.0);
    assert_true(ob_result_total(r, OB_TPOT_S) > 0);
    assert_exact(ob_result_total(r, OB_TPOT_S), ob_result_total(r, OB_STEP_TIME_S));
    assert_true(isnan(ob_result_total(r, OB_TOTAL_COUNT)));
    /* ops: every one named, with kind and bound; layer nodes stand for 32 layers */
    const int n = ob_result_op_count(r);
    assert_true(n > 5);
    double t_sum = 0;
    int n_attn = 0;
    for (int i = 0; i < n; i++) {
        assert_non_null(ob_result_op_name(r, i));
        assert_non_null(ob_result_op_kind(r, i));
        assert_non_null(ob_result_op_bound(r, i));
        t_sum += ob_result_op(r, i, OB_OP_TIME_S) * ob_result_op(r, i, OB_OP_LAYERS);
        if (strcmp(ob_result_op_name(r, i), "attention") == 0) {
            n_attn++;
            assert_exact(ob_result_op(r, i, OB_OP_LAYERS), 32.0);
            assert_int_equal(ob_result_op_layer(r, i), 0);
        }
    }
    assert_int_equal(n_attn, 1);
    /* the step is the sum of its ops over the layers they stand for */
    assert_close(t_sum, ob_result_total(r, OB_STEP_TIME_S), 1e-12);
    assert_null(ob_result_op_name(r, n));
    assert_null(ob_result_op_kind(r, -1));
    assert_int_equal(ob_result_op_layer(r, n), -1);
    assert_true(isnan(ob_result_op(r, n, OB_OP_FLOPS)));
    ob_result_free(r);
    ob_scenario_free(sc);
    ob_device_free(d);
    ob_model_free(m);
    ob_result_free(NULL); /* every free accepts NULL */
    ob_model_free(NULL);
    ob_device_free(NULL);
    ob_scenario_free(NULL);
}

/* An error in a file comes back as a value with its position. */
static void test_api_errors_are_values_with_position(void **state)
{
    (void)state;
    const char *path = tu_write_temp("name: x\n"
                                     "hidden: 64\n"
                                     "layerz: 2\n");
    ob_error e;
    memset(&e, 0, sizeof e);
    ob_model *m = (ob_model *)&e; /* must be reset to NULL */
    assert_int_equal(ob_model_load(path, &m, &e), OB_EINPUT);
    assert_null(m);
    assert_string_equal(e.file, path);
    assert_int_equal(e.line, 3); /* "layerz" is on line 3, column 1 */
    assert_int_equal(e.col, 1);
    char buf[1600], want[128];
    snprintf(want, sizeof want, "%s:3:1: ", path);
    ob_error_format(&e, buf, sizeof buf);
    assert_memory_equal(buf, want, strlen(want));
    unlink(path);
    ob_device *d = NULL;
    assert_int_equal(ob_device_load("no-such-device", &d, &e), OB_EINPUT);
    assert_null(d);
    assert_non_null(strstr(e.msg, "unknown device 'no-such-device'"));
    assert_int_equal(ob_device_load("/nonexistent.yaml", &d, NULL), OB_EINPUT); /* NULL err ok */
}

static void test_api_scenario_checked(void **state)
{
    (void)state;
    ob_error e;
    ob_model *m = NULL;
    ob_device *d = NULL;
    assert_int_equal(ob_model_load("llama-3-8b", &m, &e), OB_OK);
    assert_int_equal(ob_device_load("h100", &d, &e), OB_OK);
    ob_result *r = NULL;
    ob_scenario *sc = ob_scenario_new(OB_PREFILL);
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_EINPUT);
    assert_string_equal(e.msg, "prefill needs seq (prompt tokens)");
    ob_scenario_set_seq(sc, 0.5);
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_EINPUT);
    assert_non_null(strstr(e.msg, "seq must be a whole number"));
    ob_scenario_set_seq(sc, 512);
    ob_scenario_set_kv_dtype(sc, "fp7");
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_EINPUT);
    assert_non_null(strstr(e.msg, "unknown dtype 'fp7'"));
    ob_scenario_set_kv_dtype(sc, NULL);
    ob_scenario_set_tp(sc, 3); /* 32 heads do not split over 3 devices */
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_EINPUT);
    assert_null(r);
    ob_scenario_set_tp(sc, 1);
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_OK);
    /* prefill of 512 tokens, batch 1: TTFT is the step */
    assert_exact(ob_result_total(r, OB_TTFT_S), ob_result_total(r, OB_STEP_TIME_S));
    ob_result_free(r);
    ob_scenario_free(sc);
    ob_device_free(d);
    ob_model_free(m);
}

/* A model whose kind bounds the sequence (flex: 2^21 tokens,
 * docs/variants/flex.md) is refused by ob_evaluate as by the CLI: the API
 * skipped model_len_check, and a prefill of 2^40 tokens ran for minutes
 * (found by the campaign of docs/reliability.md). */
static void test_api_length_bound(void **state)
{
    (void)state;
    ob_error e;
    ob_model *m = NULL;
    ob_device *d = NULL;
    assert_int_equal(ob_model_load(OB_DATADIR "/examples/attn-flex.yaml", &m, &e), OB_OK);
    assert_int_equal(ob_device_load("h100", &d, &e), OB_OK);
    ob_result *r = NULL;
    ob_scenario *sc = ob_scenario_new(OB_PREFILL);
    ob_scenario_set_seq(sc, 1099511627776.0);
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_EINPUT);
    assert_null(r);
    assert_non_null(strstr(e.msg, "at most 2097152 tokens"));
    ob_scenario_free(sc);
    sc = ob_scenario_new(OB_DECODE); /* the step brings the context to 2^21 + 1 */
    ob_scenario_set_context(sc, 2097152);
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_EINPUT);
    ob_scenario_set_context(sc, 2097151);
    assert_int_equal(ob_evaluate(m, d, sc, &r, &e), OB_OK);
    ob_result_free(r);
    ob_scenario_free(sc);
    ob_device_free(d);
    ob_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_llama_8b_counts_by_hand),
        cmocka_unit_test(test_api_errors_are_values_with_position),
        cmocka_unit_test(test_api_scenario_checked),
        cmocka_unit_test(test_api_length_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
