/* test_tp.c - tensor parallelism: per-device parameters and KV cache, the
 * all-reduce traffic and its time, and the split checks. Hand-derived. */
#include "testutil.h"

/* Llama-3-70B over 4 devices: 16 query heads and 2 KV heads per device.
 * Per layer: q 8192 x 16 x 128 = 16,777,216; k, v 2 x 8192 x 2 x 128 =
 * 4,194,304; o 16,777,216; SwiGLU 3 x 8192 x 7168 = 176,160,768; norms 16,384
 * -> 213,925,888. Embedding and lm_head split by vocabulary: 2 x 128,256 x
 * 8192 / 4 = 525,336,576. Final norm 8192. */
static void test_tp_llama70b_per_device(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-70b");
    struct model_counts c;
    model_count(m, 4, &c);
    assert_exact(c.params, 70553706496.0); /* the whole model does not change */
    assert_exact(c.params_dev, 80 * 213925888.0 + 525336576.0 + 8192);
    assert_exact(c.kv_elems_per_token_dev * 2, 80.0 * 2 * 2 * 128 * 2); /* 81,920 B */
    model_free(m);
}

/* When tp exceeds the KV heads they are replicated: Llama-3-8B (Hkv = 8) over
 * 16 devices keeps one KV head per device: 32 x 2 x 1 x 128 x 2 = 16,384 B. */
static void test_tp_kv_replication(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct model_counts c;
    model_count(m, 16, &c);
    assert_exact(c.kv_elems_per_token_dev * 2, 32.0 * 2 * 1 * 128 * 2);
    struct err e;
    assert_int_equal(model_tp_check(m, 16, &e), 0);
    /* 32 heads over 3 devices: refused, naming the group and the reason */
    assert_int_equal(model_tp_check(m, 3, &e), -1);
    assert_non_null(strstr(e.msg, "heads (32) not divisible by 3"));
    /* 12 devices: 32 % 12 != 0 */
    assert_int_equal(model_tp_check(m, 12, &e), -1);
    model_free(m);
}

/* All-reduce: Llama-3-70B decode, B = 16, over 4 H100s. Each of the two
 * all-reduces per layer moves a 16 x 8192 bf16 buffer (262,144 B); a ring
 * sends 2 x 3/4 of it: 393,216 B, over 450 GB/s per direction: 0.87381 us
 * plus the 4 us kernel overhead. 80 layers x 2 = 62,914,560 B, plus the
 * vocabulary-parallel embedding's all-reduce of the same 16 x 8192 buffer
 * (393,216 B) and the all-gather of the 16 x 128,256 bf16 logits
 * (4,104,192 B; a ring sends 3/4 of it: 3,078,144 B): 66,385,920 B. */
static void test_tp_allreduce(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-70b");
    struct device *d = tu_device_ideal(); /* datasheet, 4 us added per kernel */
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 16, .context = 4096, .tp = 4};
    analysis_run(&a, m, d, &sc);
    assert_exact(a.tot.cost.bytes_net, 66385920.0);
    int found = 0;
    for (int i = 0; i < a.graph.n; i++)
        if (a.graph.ops[i].kind == OP_ALLREDUCE) {
            found++;
            assert_exact(a.graph.ops[i].cost.bytes_net, 393216.0);
            assert_int_equal(a.per_op[i].bound, BOUND_NETWORK);
            assert_close(a.per_op[i].time_s, 393216.0 / 450e9 + 4e-6, 1e-14);
        }
    assert_int_equal(found, 3); /* embedding, then attention and FFN of the layer group */
    /* lm_head: 128,256 / 4 = 32,064 vocabulary columns per device */
    const struct op *head = &a.graph.ops[a.graph.n - 2];
    assert_string_equal(head->name, "lm_head");
    assert_exact(head->cost.flops_mm, 2.0 * 16 * 8192 * 32064);
    /* logits all-gather, the last op: reads its own 16 x 32,064 slice
     * (1,026,048 B), writes the 16 x 128,256 logits (4,104,192 B), sends
     * 3,078,144 B: 6.84032 us on the link against 1.53 us at 3.35 TB/s,
     * so network-bound, plus the 4 us overhead. */
    const int ag = a.graph.n - 1;
    assert_int_equal(a.graph.ops[ag].kind, OP_ALLGATHER);
    assert_exact(a.graph.ops[ag].cost.bytes_act, 1026048.0);
    assert_exact(a.graph.ops[ag].cost.bytes_out, 4104192.0);
    assert_exact(a.graph.ops[ag].cost.bytes_net, 3078144.0);
    assert_int_equal(a.per_op[ag].bound, BOUND_NETWORK);
    assert_close(a.per_op[ag].time_s, 3078144.0 / 450e9 + 4e-6, 1e-14);
    /* per-device memory: weights/4 + KV (16 x 4097 x 81,920 B) + activations */
    assert_close(a.kv_cache_bytes, 16.0 * 4097 * 81920, 1e-15);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* tp = 1 is no parallelism: no all-reduce, identical figures. */
static void test_tp_one_is_identity(void **state)
{
    (void)state;
    struct model *m = tu_model("qwen3-30b-a3b");
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params_dev, c.params);
    assert_exact(c.kv_elems_per_token_dev, c.kv_elems_per_token);
    {
        struct device *d = tu_device("h100-sxm5-80gb");
        struct analysis a;
        assert_int_equal(analysis_init(&a, m), 0);
        struct scenario sc = {.phase = PHASE_DECODE, .batch = 4, .context = 100, .tp = 1};
        analysis_run(&a, m, d, &sc);
        assert_exact(a.tot.cost.bytes_net, 0.0);
        for (int i = 0; i < a.graph.n; i++) {
            assert_int_not_equal(a.graph.ops[i].kind, OP_ALLREDUCE);
            assert_int_not_equal(a.graph.ops[i].kind, OP_ALLGATHER);
        }
        assert_string_equal(a.graph.ops[a.graph.n - 1].name, "lm_head");
        analysis_free(&a);
        device_free(d);
    }
    /* MoE over 2 devices: each expert's 768 columns split in two */
    model_count(m, 2, &c);
    const double h = 2048, attn = h * 16 * 128 + 2 * h * 2 * 128 + 16 * 128 * h + 256;
    const double ffn = h * 128 + 128 * 3 * h * 384;
    assert_exact(c.params_dev, 48 * (attn + ffn + 2 * h) + 151936.0 * h + h);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tp_llama70b_per_device),
        cmocka_unit_test(test_tp_kv_replication),
        cmocka_unit_test(test_tp_allreduce),
        cmocka_unit_test(test_tp_one_is_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
