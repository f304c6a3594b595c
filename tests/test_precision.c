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

/* Per-op-class compute dtype (docs/conventions.md, "Compute dtype"): fp8
 * GEMMs with bf16 attention. Llama-3-8B decode, batch 1, on the datasheet
 * H100 (efficiencies 1): qkv_proj is m 1, n 4096 + 2 x 1024 = 6144, k 4096:
 * 2 x 6144 x 4096 = 50,331,648 FLOPs at the fp8 peak 1978.9e12 (bf16:
 * 989.4e12); input 4096 x 1 B = 4,096 B in fp8 (bf16: 8,192), output 6144 x
 * 2 B = 12,288 B in bf16 either way; weights stay bf16, 50,331,648 B. The
 * attention core keeps bf16 (its FLOPs at 989.4e12). The model key
 * dtypes.gemm gives the same as the scenario's override. */
static void test_gemm_compute_dtype(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device_ideal();
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 16, .tp = 1,
                          .has_dt_gemm = true, .dt_gemm = DT_FP8};
    for (int pass = 0; pass < 2; pass++) {
        analysis_run(&a, m, d, &sc);
        int seen = 0;
        for (int i = 0; i < a.graph.n; i++) {
            const struct op *op = &a.graph.ops[i];
            if (strcmp(op->name, "qkv_proj") == 0) {
                assert_exact(op->cost.flops_mm, 50331648);
                assert_exact(op->cost.bytes_act, pass == 0 ? 4096 : 4096);
                assert_exact(op->cost.bytes_out, 12288);
                assert_exact(op->cost.bytes_w, 50331648);
                assert_close(a.per_op[i].t_compute_s, 50331648 / 1978.9e12, 1e-12);
                seen |= 1;
            }
            if (op->kind == OP_ATTENTION) {
                assert_int_equal(op->dt_act, DT_BF16);
                assert_close(a.per_op[i].t_compute_s,
                             op->cost.flops_mm / 989.4e12 + op->cost.flops_vec / 133.8e12, 1e-12);
                seen |= 2;
            }
        }
        assert_int_equal(seen, 3);
        /* second pass: the same from the model file's dtypes.gemm */
        sc.has_dt_gemm = false;
        m->has_dt_gemm = true;
        m->dt_gemm = DT_FP8;
    }
    /* without it: bf16 input and rate */
    m->has_dt_gemm = false;
    analysis_run(&a, m, d, &sc);
    for (int i = 0; i < a.graph.n; i++)
        if (strcmp(a.graph.ops[i].name, "qkv_proj") == 0) {
            assert_exact(a.graph.ops[i].cost.bytes_act, 8192);
            assert_close(a.per_op[i].t_compute_s, 50331648 / 989.4e12, 1e-12);
        }
    /* a device without the dtype: an error naming it (the CLI exits 2) */
    struct device *a100 = tu_device("a100-sxm4-80gb");
    struct err e;
    sc.has_dt_gemm = true;
    assert_int_equal(analysis_check_compute(m, a100, &sc, &e), -1);
    assert_non_null(strstr(e.msg, "no fp8 tensor rate"));
    assert_int_equal(analysis_check_compute(m, d, &sc, &e), 0);
    char out[4096], err[4096];
    assert_int_equal(tu_run("analyze llama-3-8b --hw a100 --phase decode --context 16 "
                            "--gemm-dtype fp8", out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "A100-SXM4-80GB has no fp8 tensor rate"));
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase decode --context 16 "
                            "--gemm-dtype fp7", out, sizeof out, err, sizeof err), 2);
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase decode --context 16 "
                            "--gemm-dtype fp8", out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "GEMMs in fp8"));
    device_free(a100);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* Per-group cache dtypes (docs/conventions.md, "Cache dtypes"): a model of
 * hidden 256 whose KV dtype is fp8, three GQA layers (2 KV heads of 64: K and
 * V 2 x 2 x 64 = 256 elements per token each) and one more kept in bf16 (as
 * Llama 4 keeps its global layers), and a lightning-attention layer (4 heads
 * of 64: state 4 x 64 x 64 = 16,384 elements) kept in fp32 (as MiniMax keeps
 * its state). By hand: KV per token 3 x 256 x 1 + 256 x 2 = 1,280 B; state
 * 16,384 x 4 = 65,536 B per sequence. --kv-dtype int4 moves only the first
 * group: 3 x 256 x 0.5 + 512 = 896 B. A decode step of one sequence at
 * context 15 holds 16 tokens: 16 x 1,280 + 65,536 = 86,016 B; the bf16
 * group's attention reads 16 x 256 x 2 = 8,192 B of KV per layer, an fp8
 * layer's 4,096. */
static void test_group_cache_dtypes(void **state)
{
    (void)state;
    static const char y[] =
        "name: cache-dtypes\nhidden: 256\nlayers: 5\nvocab: 1000\ntied_embeddings: true\n"
        "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: fp8}\ngroups:\n"
        "  - repeat: 3\n"
        "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 64}\n"
        "    ffn: {kind: swiglu, intermediate: 512}\n"
        "  - repeat: 1\n    kv_dtype: bf16\n"
        "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 64}\n"
        "    ffn: {kind: swiglu, intermediate: 512}\n"
        "  - repeat: 1\n    kv_dtype: fp32\n"
        "    attention: {kind: linattn, heads: 4, head_dim: 64}\n"
        "    ffn: {kind: swiglu, intermediate: 512}\n";
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load_text("cache-dtypes", y, strlen(y), &m, &e), 0);
    struct model_cache cb;
    model_cache_bytes(m, 1, DT_FP8, &cb);
    assert_exact(cb.kv_bytes_per_token, 1280);
    assert_exact(cb.state_bytes_per_seq, 65536);
    model_cache_bytes(m, 1, DT_INT4, &cb);
    assert_exact(cb.kv_bytes_per_token, 896);
    assert_exact(cb.state_bytes_per_seq, 65536);
    struct device *d = tu_device_ideal();
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 15, .tp = 1};
    analysis_run(&a, m, d, &sc);
    assert_exact(a.kv_bytes_per_token, 1280);
    assert_exact(a.kv_cache_bytes, 16 * 1280 + 65536);
    int seen = 0;
    for (int i = 0; i < a.graph.n; i++) {
        const struct op *op = &a.graph.ops[i];
        if (op->kind != OP_ATTENTION) continue;
        assert_exact(op->cost.bytes_kv, op->group == 1 ? 8192 : 4096);
        seen |= 1 << op->group;
    }
    assert_int_equal(seen, 3);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_bytes),
        cmocka_unit_test(test_gemm_weight_bytes),
        cmocka_unit_test(test_fp4_rates),
        cmocka_unit_test(test_gemm_compute_dtype),
        cmocka_unit_test(test_group_cache_dtypes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
