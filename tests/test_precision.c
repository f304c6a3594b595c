/* test_precision.c - block-scaled precision formats (docs/conventions.md,
 * "Precision formats"): bytes per element by hand from each format's layout,
 * their effect on a GEMM's weight bytes, the B200's fp4 peak from its
 * datasheet, and the rate fallback on a device without fp4. */
#include "testutil.h"

static void test_format_bytes(void **state)
{
    (void)state;
    /* int4_g128: 128 x 4 bits = 64 B of values + 2 B fp16 scale + 0.5 B
     * (4-bit zero) = 66.5 B per 128 elements = 0.51953125 */
    assert_exact(dtype_bytes(DT_INT4_G128), 66.5 / 128);
    /* nvfp4: 16 x 4 bits = 8 B + 1 B e4m3 scale = 9 B per 16 = 0.5625 */
    assert_exact(dtype_bytes(DT_NVFP4), 9.0 / 16);
    /* mxfp4: 32 x 4 bits = 16 B + 1 B E8M0 scale = 17 B per 32 = 0.53125 */
    assert_exact(dtype_bytes(DT_MXFP4), 17.0 / 32);
    enum dtype dt;
    assert_int_equal(dtype_parse("nvfp4", &dt), 0);
    assert_int_equal(dt, DT_NVFP4);
    assert_int_equal(dtype_parse("int4_g128", &dt), 0);
    assert_string_equal(dtype_name(DT_MXFP4), "mxfp4");
}

/* Llama-3-8B qkv_proj at decode: 4096 x 6144 weights; in nvfp4 that is
 * 25,165,824 x 0.5625 = 14,155,776 bytes (bf16: 50,331,648). */
static void test_gemm_weight_bytes(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct graph g;
    assert_int_equal(graph_init(&g, model_max_ops(m)), 0);
    struct step st = {.phase = PHASE_DECODE, .batch = 1, .q_len = 1, .ctx_prior = 100, .tp = 1,
                      .dt_w = DT_NVFP4, .dt_act = DT_BF16, .dt_kv = DT_BF16};
    model_lower(m, &st, &g);
    for (int i = 0; i < g.n; i++)
        if (strcmp(g.ops[i].name, "qkv_proj") == 0) assert_exact(g.ops[i].cost.bytes_w, 14155776);
    graph_free(&g);
    model_free(m);
}

static void test_fp4_rates(void **state)
{
    (void)state;
    struct device *b = tu_device("b200");
    /* [1] DGX B200: 144 PF FP4 inference over 8 GPUs, with sparsity: 9 PF dense */
    assert_exact(b->tensor_flops_per_s[DT_NVFP4], 9e15);
    assert_exact(b->tensor_flops_per_s[DT_MXFP4], 9e15);
    device_free(b);
    /* H100 lists no fp4 or int4 peak: fp4 runs at the next wider listed rate,
     * int8's (nvfp4 -> int4_g128 -> int4 -> int8) */
    struct device *h = tu_device("h100-sxm5-80gb");
    assert_exact(h->tensor_flops_per_s[DT_NVFP4], 0);
    assert_close(h->tensor_rate[DT_NVFP4], h->tensor_rate[DT_INT8], 0);
    device_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_bytes),
        cmocka_unit_test(test_gemm_weight_bytes),
        cmocka_unit_test(test_fp4_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
