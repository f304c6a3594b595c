/* test_eval.c - roofline time of single ops on a hand-made device, dtype
 * fallback, device loading, memory footprint, fit and largest batch. */
#include "testutil.h"

/* A round-number device: 1 PFLOP/s bf16 tensor, 100 TFLOP/s bf16 vector,
 * 1 TB/s memory, 5 us per kernel, no fp8 (falls back to fp16, then bf16). */
static struct device round_device(double eff_t, double eff_m)
{
    struct device d;
    memset(&d, 0, sizeof d);
    d.mem_capacity_bytes = 80e9;
    d.mem_bw_bytes_per_s = 1e12;
    d.kernel_overhead_s = 5e-6;
    d.tensor_flops_per_s[DT_FP32] = 50e12;
    d.tensor_flops_per_s[DT_BF16] = 1e15;
    d.tensor_flops_per_s[DT_INT8] = 2e15;
    d.vector_flops_per_s[DT_FP32] = 50e12;
    d.vector_flops_per_s[DT_BF16] = 100e12;
    d.eff_tensor = eff_t;
    d.eff_vector = 1;
    d.eff_memory = eff_m;
    device_derive(&d);
    return d;
}

static struct op *one_gemm(struct graph *g, double m, double n, double k)
{
    assert_int_equal(graph_init(g, 4), 0);
    g->dt_w = g->dt_act = g->dt_kv = DT_BF16;
    return op_gemm(g, "x", m, n, k, false);
}

/* GEMM 1 x 4096 x 4096 (one decode token through a 4096 x 4096 weight):
 * FLOPs 2*4096*4096 = 33,554,432; bytes (4096*4096 + 4096 + 4096) * 2 =
 * 33,570,816; memory time 33.570816 us beats compute 0.0336 us. */
static void test_eval_gemm_memory_bound(void **state)
{
    (void)state;
    struct device d = round_device(1, 1);
    struct graph g;
    struct op *op = one_gemm(&g, 1, 4096, 4096);
    struct op_eval ev;
    eval_op(op, &d, &ev);
    assert_exact(ev.flops, 33554432.0);
    assert_exact(ev.bytes, 33570816.0);
    assert_int_equal(ev.bound, BOUND_MEMORY);
    assert_close(ev.time_s, 33570816.0 / 1e12 + 5e-6, 1e-15);
    assert_close(ev.intensity, 33554432.0 / 33570816.0, 1e-15);
    /* Memory efficiency 0.8 stretches the memory term by 1/0.8. */
    struct device d2 = round_device(1, 0.8);
    eval_op(op, &d2, &ev);
    assert_close(ev.time_s, 33570816.0 / 0.8e12 + 5e-6, 1e-15);
    graph_free(&g);
}

/* GEMM 8192 x 4096 x 4096: FLOPs 274,877,906,944 -> 274.878 us at 1 PFLOP/s;
 * bytes (8192*4096*2 + 4096*4096) * 2 = 167,772,160 -> 167.77 us: compute
 * bound. Tensor efficiency 0.5 doubles the compute term. */
static void test_eval_gemm_compute_bound(void **state)
{
    (void)state;
    struct device d = round_device(1, 1);
    struct graph g;
    struct op *op = one_gemm(&g, 8192, 4096, 4096);
    struct op_eval ev;
    eval_op(op, &d, &ev);
    assert_exact(ev.flops, 274877906944.0);
    assert_exact(ev.bytes, 167772160.0);
    assert_int_equal(ev.bound, BOUND_COMPUTE);
    assert_close(ev.time_s, 274877906944.0 / 1e15 + 5e-6, 1e-15);
    struct device d2 = round_device(0.5, 1);
    eval_op(op, &d2, &ev);
    assert_close(ev.time_s, 274877906944.0 / 0.5e15 + 5e-6, 1e-15);
    graph_free(&g);
}

/* The crossover sits at the ridge point: FLOP/B = 1e15 / 1e12 = 1000. */
static void test_eval_ridge(void **state)
{
    (void)state;
    struct device d = round_device(1, 1);
    assert_close(device_ridge(&d, DT_BF16), 1000, 1e-15);
    /* fp8 is not listed: it runs at the next wider listed rate (bf16, via
     * fp16 which inherits bf16); int4 inherits int8. */
    assert_close(d.tensor_rate[DT_FP8], 1e15, 1e-15);
    assert_close(d.tensor_rate[DT_INT4], 2e15, 1e-15);
    assert_close(d.vector_rate[DT_FP8], 100e12, 1e-15);
}

/* Bundled H100 file: the datasheet's dense bf16 989.4 TFLOP/s and 3.35 TB/s
 * give a ridge of 989.4e12 / 3.35e12 = 295.3 FLOP/B. */
static void test_eval_h100_file(void **state)
{
    (void)state;
    struct device *d = tu_device("h100-sxm5-80gb");
    assert_non_null(d);
    assert_string_equal(d->name, "H100-SXM5-80GB");
    assert_close(d->tensor_rate[DT_BF16], 989.4e12, 1e-15);
    assert_close(d->mem_rate, 3.35e12, 1e-15);
    assert_close(device_ridge(d, DT_BF16), 989.4 / 3.35, 1e-12);
    assert_exact(d->sm_count, 132);
    device_free(d);
}

/* Memory fit and largest batch, Llama-3-8B on H100 (80 GiB = 85,899,345,920 B),
 * decode at context 8191 (8192 tokens cached after the step):
 *   weights 8,030,261,248 x 2 = 16,060,522,496 B
 *   KV per sequence 8192 x 131,072 = 1,073,741,824 B
 *   activations: the largest op at B = 1 is lm_head, reading 4096 x 2 B and
 *   writing 128,256 x 2 B = 264,704 B per sequence
 *   room 85,899,345,920 - 16,060,522,496 = 69,838,823,424
 *   per sequence 1,073,741,824 + 264,704 = 1,074,006,528 -> 65 sequences
 *   (65 x 1,074,006,528 = 69,810,424,320 fits; 66 would need 70,884,430,848). */
static void test_eval_memory_fit(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 8191};
    analysis_run(&a, m, d, &sc);
    assert_exact(a.weight_bytes, 16060522496.0);
    assert_exact(a.act_bytes, 264704.0);
    assert_exact(a.max_batch, 65);
    sc.batch = 65;
    analysis_run(&a, m, d, &sc);
    assert_true(a.fits);
    assert_exact(a.memory_bytes, 16060522496.0 + 65 * 1074006528.0);
    sc.batch = 66;
    analysis_run(&a, m, d, &sc);
    assert_false(a.fits);
    assert_exact(a.max_batch, 65);
    /* fp8 KV cache halves the per-sequence KV: 8192 x 65,536 = 536,870,912
     * -> floor(69,838,823,424 / 537,135,616) = 130. */
    sc.has_dt_kv = true;
    sc.dt_kv = DT_FP8;
    analysis_run(&a, m, d, &sc);
    assert_exact(a.kv_bytes_per_token, 65536);
    assert_exact(a.max_batch, 130);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* A model whose weights exceed the device: nothing fits, largest batch 0.
 * Llama-3-70B in bf16 is 141 GB > 85.9 GB; in int4 it is 35.3 GB. */
static void test_eval_weights_do_not_fit(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-70b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 1000};
    analysis_run(&a, m, d, &sc);
    assert_false(a.fits);
    assert_exact(a.max_batch, 0);
    sc.has_dt_w = true;
    sc.dt_w = DT_INT4;
    analysis_run(&a, m, d, &sc);
    assert_exact(a.weight_bytes, 70553706496.0 / 2);
    assert_true(a.fits);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* Decode is memory-bound at batch 1: time ~ bytes / bandwidth. Llama-3-8B at
 * context 0 reads its 16.06 GB of weights once, plus a little: the step must
 * take at least 16,060,522,496 / 3.35e12 = 4.794 ms and, with 4 us for each
 * kernel, at most that plus the overheads and 1% of slack. Kernels: embed,
 * final_norm, lm_head, and 12 per layer (attn_norm, qkv_proj, rope, kv_write,
 * attention, o_proj, attn_residual, ffn_norm, gate_up_proj, silu_mul,
 * down_proj, ffn_residual): 3 + 32 x 12 = 387. */
static void test_eval_decode_time_bounds(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device_ideal(); /* datasheet roofline: the bounds are by hand */
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 0};
    analysis_run(&a, m, d, &sc);
    const double floor_s = 16060522496.0 / 3.35e12;
    assert_exact(a.tot.kernels, 3 + 32 * 12);
    assert_true(a.tot.time_s > floor_s);
    assert_true(a.tot.time_s < floor_s * 1.01 + 387 * 4e-6);
    assert_close(a.tokens_per_s, 1.0 / a.tot.time_s, 1e-15);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_gemm_memory_bound),
        cmocka_unit_test(test_eval_gemm_compute_bound),
        cmocka_unit_test(test_eval_ridge),
        cmocka_unit_test(test_eval_h100_file),
        cmocka_unit_test(test_eval_memory_fit),
        cmocka_unit_test(test_eval_weights_do_not_fit),
        cmocka_unit_test(test_eval_decode_time_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
