/* test_train.c - the training-step cost model (sim/train.c). Backward rules
 * per op kind on hand-sized ops; saved activations against Korthikanti et
 * al. 2022 (GPT layer: 34sbh, ours the same figure for another reason: no
 * dropout masks, no scores, FlashAttention's output and log-sum-exp); FLOPs
 * per iteration against Narayanan et al. 2021 eq. (3) for GPT-3 175B with the
 * two documented convention differences; ZeRO memory, data-parallel traffic,
 * pipeline bubble, context-parallel traffic, and bad combinations. */
#include "testutil.h"

#include "../sim/train.h"

static struct model *text_model(const char *yaml)
{
    struct model *m = NULL;
    struct err e;
    if (model_load(tu_write_temp(yaml), &m, &e)) err_print(&e, stderr);
    assert_non_null(m);
    return m;
}

/* h = 64, 2 layers, V = 100, GQA 4 heads / 2 KV heads of 16, SwiGLU 128. */
static const char TINY[] =
    "name: tiny\nhidden: 64\nlayers: 2\nvocab: 100\ntied_embeddings: false\nnorm: rmsnorm\n"
    "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
    "groups:\n  - repeat: 2\n"
    "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 16}\n"
    "    ffn: {kind: swiglu, intermediate: 128}\n";

static struct device *h100(void) { return tu_device("h100-sxm5-80gb"); }

static void test_bwd_rules(void **state)
{
    (void)state;
    struct graph g;
    assert_int_equal(graph_init(&g, 8), 0);
    g.dt_w = g.dt_act = g.dt_kv = DT_BF16;
    /* GEMM 4 x 16 @ 16 x 8 in bf16: forward 2*4*8*16 = 1024 FLOPs, W 256 B,
     * X 128 B, Y 64 B. Backward: two GEMMs (2048 FLOPs); reads W, X, dY
     * twice (128 B), writes dX (128 B) and dW (256 B). */
    const struct op *mm = op_gemm(&g, "p", 4, 8, 16, false);
    struct op_cost b;
    train_bwd_cost(mm, &b);
    assert_exact(b.flops_mm, 2048);
    assert_exact(b.bytes_w, 256);
    assert_exact(b.bytes_act, 128 + 128);
    assert_exact(b.bytes_out, 128 + 256);
    assert_exact(train_saved_bytes(mm), 128);
    /* FlashAttention-2 backward: per pair 2(3 Dqk + 2 Dv) against 2(Dqk + Dv):
     * Dqk = Dv = 64, 2 heads x 10 pairs: forward 2*10*256 = 5120, backward
     * 2*10*640 = 12800 (2.5x). MLA-like Dqk 192, Dv 128: 640 vs 1664 per pair. */
    struct attn_shape s = {.b = 1, .hq = 2, .dqk = 64, .dv = 64, .sq = 4, .skv = 4, .pairs = 10,
                           .kv_width = 256};
    const struct op *at = op_attention(&g, "a", &s);
    assert_exact(at->cost.flops_mm, 5120);
    train_bwd_cost(at, &b);
    assert_exact(b.flops_mm, 12800);
    s.dqk = 192;
    s.dv = 128;
    at = op_attention(&g, "a2", &s);
    train_bwd_cost(at, &b);
    assert_exact(at->cost.flops_mm, 2.0 * 10 * 640);
    assert_exact(b.flops_mm, 2.0 * 10 * 1664);
    /* saved: Q (4 x 2 x 192 x 2 B = 3072), K and V (4 x 256 x 2 = 2048), O
     * (4 x 2 x 128 x 2 = 2048), log-sum-exp 4 x 2 x 4 B = 32 */
    assert_exact(train_saved_bytes(at), 3072 + 2048 + 2048 + 32);
    /* pointwise: a residual add (1 FLOP/elem) keeps nothing, SiLU-multiply
     * (5 FLOPs) keeps both inputs: 3 rows x 8 cols x 2 inputs x 2 B */
    assert_exact(train_saved_bytes(op_elementwise(&g, "res", 3, 8, 2, FLOPS_RESIDUAL, false)), 0);
    assert_exact(train_saved_bytes(op_elementwise(&g, "act", 3, 8, 2, FLOPS_SILU_MUL, false)), 96);
    graph_free(&g);
}

/* ZeRO (Rajbhandari et al. 2020, Fig. 1): 2 psi + 2 psi + 12 psi per device,
 * sharded over dp by stage. Tiny model: per layer attention 64*8*16 + 64*64 =
 * 12288, SwiGLU 3*64*128 = 24576, two norms 128: 36992; x 2 layers = 73984;
 * embedding 6400, LM head 6400, final norm 64: psi = 86848. */
static void test_zero_memory_and_dp(void **state)
{
    (void)state;
    struct model *m = text_model(TINY);
    struct device *d = h100();
    const double psi = 86848;
    for (int z = 0; z <= 3; z++) {
        struct train_cfg c = {.gpus = 4, .seq = 32, .global_tokens = 32 * 8, .micro_batch = 1,
                              .tp = 1, .pp = 1, .dp = 4, .cp = 1, .ep = 1, .zero = z,
                              .dt = DT_BF16};
        char msg[256];
        assert_int_equal(train_check(m, &c, msg, sizeof msg), 0);
        struct train_result r;
        assert_int_equal(train_run(m, d, &c, &r), 0);
        assert_exact(r.params_dev, psi);
        assert_exact(r.mem_optimizer, 12 * psi / (z >= 1 ? 4 : 1));
        assert_exact(r.mem_grads, 2 * psi / (z >= 2 ? 4 : 1));
        assert_exact(r.mem_weights, 2 * psi / (z >= 3 ? 4 : 1));
        /* 8 sequences over dp 4 x micro-batch 1: m = 2 micro-batches */
        assert_exact(r.micro_batches, 2);
        /* all-reduce: 2 (dp-1)/dp x 2 psi bytes = 3 psi; ZeRO 3: per micro-batch
         * 3 (dp-1)/dp x 2 psi = 4.5 psi, x 2 micro-batches = 9 psi */
        assert_exact(r.net_dp_bytes, z >= 3 ? 9 * psi : 3 * psi);
        /* the 4 devices share a node (8 per node): ring steps of 0.47 us on top of
         * the bytes (docs/network.md): all-reduce 2 x 3 steps; ZeRO 3: 2 micro-batches
         * x 3 collectives (2 all-gathers, a reduce-scatter) x 3 steps */
        assert_close(r.t_dp_s,
                     r.net_dp_bytes / d->interconnect_bytes_per_s + (z >= 3 ? 18 : 6) * 0.47e-6,
                     1e-12);
        train_free(&r);
    }
    device_free(d);
    model_free(m);
}

/* Pipeline 1F1B: bubble (pp - 1)/m; step = (m + pp - 1) stage times + dp +
 * optimizer; per stage half the layers. */
static void test_pipeline(void **state)
{
    (void)state;
    struct model *m = text_model(TINY);
    struct device *d = h100();
    struct train_cfg c = {.gpus = 2, .seq = 64, .global_tokens = 64 * 8, .micro_batch = 1,
                          .tp = 1, .pp = 2, .dp = 1, .cp = 1, .ep = 1, .dt = DT_BF16};
    struct train_result r;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    assert_exact(r.micro_batches, 8);
    assert_exact(r.bubble_frac, 1.0 / 8);
    assert_close(r.t_pipeline_s, 9 * r.t_stage_s, 1e-15);
    assert_close(r.step_time_s, r.t_pipeline_s + r.t_dp_s + r.t_optimizer_s, 1e-15);
    /* stage sends: activations forward and gradients back, 64 tokens x 64 x 2 B each */
    /* (two sends in one node, each + 0.47 us: docs/network.md) */
    assert_close(r.t_pp_p2p_s, 2.0 * 64 * 64 * 2 / d->interconnect_bytes_per_s + 2 * 0.47e-6,
                 1e-12);
    /* the first stage holds min(pp, m) = 2 micro-batches */
    assert_exact(r.mb_in_flight, 2);
    /* psi on a stage: half of 86848 */
    assert_exact(r.params_dev, 86848.0 / 2);
    train_free(&r);
    device_free(d);
    model_free(m);
}

/* A GPT-3 layer (MHA 96 x 128, h = 12288, GELU MLP 4h, LayerNorm, learned
 * positions: no RoPE). */
static const char GPT3[] =
    "name: gpt3\nhidden: 12288\nlayers: 96\nvocab: 51200\ntied_embeddings: true\n"
    "norm: layernorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
    "groups:\n  - repeat: 96\n"
    "    attention: {kind: mha, heads: 96, head_dim: 128, rope: false}\n"
    "    ffn: {kind: gelu, intermediate: 49152}\n";

/* Korthikanti et al. 2022 (sec. 4.1): a GPT layer keeps 34 sbh + 5 a s^2 b
 * bytes. Attention 11 sbh: 2 (QKV input) + 4 (Q, K) + 2 (V) + 2 (projection
 * input) + 1 (dropout mask); MLP 19 sbh: 2 + 8 (GeLU input) + 8 + 1 (mask);
 * norms 4 sbh; plus 5 a s^2 b of scores, softmax output and its mask. Without
 * dropout (none here) that is 32 sbh + 5 a s^2 b. FlashAttention keeps no
 * scores but its output O (2 sbh) and an fp32 log-sum-exp per head (4 a sb):
 * ours = 34 sbh + 4 a sb. */
static void test_activation_memory(void **state)
{
    (void)state;
    struct model *m = text_model(GPT3);
    struct device *d = h100();
    const double s = 2048, h = 12288, a = 96;
    for (int rc = 0; rc < RECOMPUTE_COUNT; rc++) {
        struct train_cfg c = {.gpus = 1, .seq = s, .global_tokens = s, .micro_batch = 1,
                              .tp = 1, .pp = 1, .dp = 1, .cp = 1, .ep = 1,
                              .recompute = (enum recompute)rc, .dt = DT_BF16};
        struct train_result r;
        assert_int_equal(train_run(m, d, &c, &r), 0);
        double layer = 0, head = 0;
        for (int i = 0; i < r.n_ops; i++) {
            if (r.ops[i].fwd.group == 0) layer += r.ops[i].saved_bytes;
            else head += r.ops[i].saved_bytes;
        }
        assert_exact(layer, s * (34 * h + 4 * a));
        /* head: final norm input 2h, LM head input 2h per token, the loss's
         * softmax output s x V x 2 B */
        assert_exact(head, s * (4 * h) + s * 51200 * 2);
        double want = 96 * s * (34 * h + 4 * a); /* none */
        if (rc == RECOMPUTE_SELECTIVE) want = 96 * s * 32 * h; /* attention keeps q, k, v only */
        if (rc == RECOMPUTE_FULL) want = 96 * s * 2 * h + s * (34 * h + 4 * a);
        assert_exact(r.act_per_mb, want + head);
        train_free(&r);
    }
    device_free(d);
    model_free(m);
}

/* Narayanan et al. 2021, eq. (3): F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h))
 * per iteration with full recomputation. Per token that is 96 l h^2 + 16 l h s
 * + 6 h V. Ours with full recompute: GEMMs 4 x 24 h^2 per layer and the LM head
 * 6 h V as in the paper; attention causal (s + 1)/2 keys per query instead of
 * s, and a FlashAttention backward of 2.5x the forward instead of 2x:
 * (1 + 1 + 2.5) x 2 h (s + 1) = 9 h (s + 1) per layer instead of 16 h s. */
static void test_megatron_flops(void **state)
{
    (void)state;
    struct model *m = text_model(GPT3);
    struct device *d = h100();
    const double s = 2048, h = 12288, l = 96, V = 51200;
    struct train_cfg c = {.gpus = 1, .seq = s, .global_tokens = s, .micro_batch = 1, .tp = 1,
                          .pp = 1, .dp = 1, .cp = 1, .ep = 1, .recompute = RECOMPUTE_FULL,
                          .dt = DT_BF16};
    struct train_result r;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    const double ours = 96 * l * h * h + 9 * l * h * (s + 1) + 6 * h * V;
    assert_close(r.hw_flops_per_token, ours, 1e-12);
    const double paper = 96 * l * h * h * (1 + s / (6 * h) + V / (16 * l * h));
    assert_close(paper - ours, l * (16 * h * s - 9 * h * (s + 1)), 1e-9);
    /* without recompute: 72 l h^2 + 7 h (s + 1) l + 6 h V (no second forward) */
    assert_close(r.model_flops_per_token, 72 * l * h * h + 7 * l * h * (s + 1) + 6 * h * V,
                 1e-12);
    train_free(&r);
    device_free(d);
    model_free(m);
}

/* Context parallelism on the tiny model, S = 64, cp = 2. K and V of one
 * token in one layer: 2 x 2 KV heads x 16 x 2 B = 128 B. Ring: each device
 * receives the other device's 32 tokens: 32 x 128 = 4096 B per layer, x 2
 * layers = 8192 forward; backward passes K, V and their gradients: 16384;
 * 24576 per micro-batch. Ulysses: (cp-1)/cp = 1/2 of the device's 32 tokens'
 * q (4 x 16 = 64), k and v (64) and o (64) columns: 16 x 192 x 2 B = 6144 per
 * layer, x 2 layers = 12288 forward, the same backward: 24576 too. Attention
 * pairs per device: half of the causal 64*65/2 = 2080 (zig-zag balance). */
static void test_context_parallel(void **state)
{
    (void)state;
    struct model *m = text_model(TINY);
    struct device *d = h100();
    struct train_cfg c = {.gpus = 2, .seq = 64, .global_tokens = 64, .micro_batch = 1, .tp = 1,
                          .pp = 1, .dp = 1, .cp = 2, .ep = 1, .dt = DT_BF16};
    struct train_result r;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    assert_exact(r.net_cp_bytes, 24576);
    for (int i = 0; i < r.n_ops; i++)
        if (r.ops[i].fwd.kind == OP_ATTENTION) assert_exact(r.ops[i].fwd.shape.attn.pairs, 1040);
    train_free(&r);
    c.cp_scheme = CP_ULYSSES;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    assert_exact(r.net_cp_bytes, 24576);
    /* forward and backward all-to-alls in one node, each + 0.47 us */
    assert_close(r.t_cp_s, 24576 / d->interconnect_bytes_per_s + 2 * 0.47e-6, 1e-12);
    train_free(&r);
    device_free(d);
    model_free(m);
}

static void test_bad_combinations(void **state)
{
    (void)state;
    struct model *m = text_model(TINY);
    char msg[256];
    struct train_cfg c = {.gpus = 3, .seq = 64, .global_tokens = 640, .micro_batch = 1, .tp = 1,
                          .pp = 1, .dp = 1, .cp = 3, .ep = 1, .dt = DT_BF16};
    assert_int_equal(train_check(m, &c, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "does not divide the sequence"));
    c = (struct train_cfg){.gpus = 4, .seq = 64, .global_tokens = 640, .micro_batch = 1,
                           .tp = 1, .pp = 4, .dp = 1, .cp = 1, .ep = 1, .dt = DT_BF16};
    assert_int_equal(train_check(m, &c, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "larger than the model's 2 layers"));
    /* 4 heads per device split over cp 8 by Ulysses */
    c = (struct train_cfg){.gpus = 8, .seq = 64, .global_tokens = 64, .micro_batch = 1,
                           .tp = 1, .pp = 1, .dp = 1, .cp = 8, .ep = 1,
                           .cp_scheme = CP_ULYSSES, .dt = DT_BF16};
    assert_int_equal(train_check(m, &c, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "not divisible by cp 8"));
    /* 10 sequences do not split over dp 4 */
    c = (struct train_cfg){.gpus = 4, .seq = 64, .global_tokens = 640, .micro_batch = 1,
                           .tp = 1, .pp = 1, .dp = 4, .cp = 1, .ep = 1, .dt = DT_BF16};
    assert_int_equal(train_check(m, &c, msg, sizeof msg), -1);
    model_free(m);

    char out[8192], err[4096];
    assert_int_equal(tu_run("train llama-3-8b --hw h100 --gpus 8 --seq 4097 --global-batch 8194 "
                            "--cp 2",
                            out, sizeof out, err, sizeof err),
                     2);
    assert_non_null(strstr(err, "cp 2 does not divide the sequence length 4097"));
    assert_int_equal(tu_run("train llama-3-8b --hw h100 --gpus 8 --seq 4k --global-batch 64k "
                            "--recompute some",
                            out, sizeof out, err, sizeof err),
                     2);
    assert_non_null(strstr(err, "--recompute 'some'"));
    assert_int_equal(tu_run("train llama-3-8b --hw h100 --gpus 6 --seq 4k --global-batch 64k "
                            "--tp 4",
                            out, sizeof out, err, sizeof err),
                     2);
    assert_int_equal(tu_run("train llama-3-8b --hw h100 --gpus 8 --seq 4k --global-batch 64k "
                            "--tp 8 --zero 1 --recompute selective",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "MFU"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bwd_rules),        cmocka_unit_test(test_zero_memory_and_dp),
        cmocka_unit_test(test_pipeline),         cmocka_unit_test(test_activation_memory),
        cmocka_unit_test(test_megatron_flops),   cmocka_unit_test(test_context_parallel),
        cmocka_unit_test(test_bad_combinations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
