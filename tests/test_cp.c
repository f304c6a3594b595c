/* test_cp.c - context parallelism (sim/cp.c) as analyze and train use it:
 * each scheme's traffic, buffers and busiest-device pairs on hand-sized
 * shapes, the analyze prefill (inserted traffic ops, KV shard, exposure), the
 * train traffic of LightSeq and its rematerialization-aware checkpointing,
 * and the command-line refusals. Every number is counted by hand in the
 * comments (docs/training.md, "Context parallelism"). */
#include "testutil.h"

#include "../sim/analyze.h"
#include "../sim/train.h"

/* h = 64, 2 layers, V = 100, GQA 4 query heads / 2 KV heads of 16. */
static const char TINY[] =
    "name: tiny\nhidden: 64\nlayers: 2\nvocab: 100\ntied_embeddings: false\nnorm: rmsnorm\n"
    "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
    "groups:\n  - repeat: 2\n"
    "    attention: {kind: gqa, heads: 4, kv_heads: 2, head_dim: 16}\n"
    "    ffn: {kind: swiglu, intermediate: 128}\n";

static struct model *tiny(void)
{
    struct model *m = NULL;
    struct err e;
    if (model_load(tu_write_temp(TINY), &m, &e)) err_print(&e, stderr);
    assert_non_null(m);
    return m;
}

/* The tiny model's attention per device: B = 1, 4 heads, D = 16, 2 KV heads:
 * kv_width 2 x 2 x 16 = 64 elements. In bf16 per token: q = 4 x 16 x 2 =
 * 128 B, o = 128 B, kv = 64 x 2 = 128 B; statistics 4 heads x 4 B = 16 B. */
static const struct attn_shape A = {.b = 1, .hq = 4, .dqk = 16, .dv = 16, .kv_width = 64};

static void test_layer_cost(void **state)
{
    (void)state;
    struct cp_layer c;
    assert_exact(cp_kv_heads(&A), 2);
    /* S = 64 over cp = 4: 16 tokens per device.
     * Ring: 3 chunks of 16 tokens' K and V arrive: 3 x 16 x 128 = 6144 B;
     * backward K, V and dK, dV: 12288; buffers two chunks: 2 x 16 x 128 = 4096. */
    cp_layer_cost(CP_RING, 4, 64, &A, 2, &c);
    assert_exact(c.fwd_bytes, 6144);
    assert_exact(c.bwd_bytes, 12288);
    assert_exact(c.buf_bytes, 4096);
    assert_true(c.overlapped);
    /* Ulysses: KV heads 2 < cp 4, so each of 3 peers gets one whole KV head
     * (half of kv) and a quarter of q and o: 3 x 16 x (32 + 64 + 32) = 6144;
     * backward the same; buffers: all 64 tokens of a quarter of q, o and half
     * of kv: 64 x 128 = 8192. */
    cp_layer_cost(CP_ULYSSES, 4, 64, &A, 2, &c);
    assert_exact(c.fwd_bytes, 6144);
    assert_exact(c.bwd_bytes, 6144);
    assert_exact(c.buf_bytes, 8192);
    assert_false(c.overlapped);
    /* LightSeq, cp = 4: off-diagonal blocks (j, i): (1,0) (2,0) (2,1) (3,0)
     * (3,1) (3,2); j - i <= 2 is computed by j with i's K, V, so (3,0) is
     * computed by device 0 with device 3's queries. Device 3: 2 K/V chunks in
     * and 1 partial output with max and sum back: 16 x (2 x 128 + 128 + 2 x
     * 16) = 6656 B; it sends 1 query chunk (16 x 128 = 2048): 6656.
     * Backward: 2 K/V chunks in and 2 dK/dV out, q, o, dO and log-sum-exp of
     * the helped block out: 16 x (2 x 128 + 128 + 2 x 128 + 16) = 10496.
     * Buffers: 2 x 16 x (128 + 128 + 128 + 32) = 13312. */
    cp_layer_cost(CP_LIGHTSEQ, 4, 64, &A, 2, &c);
    assert_exact(c.fwd_bytes, 6656);
    assert_exact(c.bwd_bytes, 10496);
    assert_exact(c.buf_bytes, 13312);
    /* cp = 2: the one off-diagonal block is local: ring's 32 x 128 = 4096 */
    cp_layer_cost(CP_LIGHTSEQ, 2, 64, &A, 2, &c);
    assert_exact(c.fwd_bytes, 4096);
    /* cp = 5, S = 60 (12 tokens): L = 2 local, H = 2 helped: forward
     * 12 x max(2 x 128 + 2 x 160, 2 x 128) = 12 x 576 = 6912 */
    cp_layer_cost(CP_LIGHTSEQ, 5, 60, &A, 2, &c);
    assert_exact(c.fwd_bytes, 6912);
    /* no context parallelism: nothing */
    cp_layer_cost(CP_RING, 1, 64, &A, 2, &c);
    assert_exact(c.fwd_bytes + c.bwd_bytes + c.buf_bytes, 0);
}

/* Pairs per head on the busiest device: q (prior) + q (q + 1)/2. */
static void test_step_shape(void **state)
{
    (void)state;
    double q, p;
    /* ring, S = 64, cp = 4: zig-zag gives exactly 64 x 65 / 8 = 520 pairs:
     * 16 queries over (64 - 16)/2 = 24: 16 x 24 + 16 x 17/2 = 384 + 136 */
    cp_step_shape(CP_RING, 64, 4, &q, &p);
    assert_exact(q, 16);
    assert_exact(p, 24);
    /* LightSeq, cp = 4: device 3 computes its diagonal (136) and 2 full
     * blocks (2 x 256): 648 = 16 x 32 + 136, one half-block above 520 */
    cp_step_shape(CP_LIGHTSEQ, 64, 4, &q, &p);
    assert_exact(p, 32);
    assert_exact(q * p + q * (q + 1) / 2, 648);
    /* odd cp = 5, S = 60: 2 blocks of 144 + 78 = 366 = 60 x 61 / 10: balanced */
    cp_step_shape(CP_LIGHTSEQ, 60, 5, &q, &p);
    assert_exact(q * p + q * (q + 1) / 2, 366);
    cp_step_shape(CP_ULYSSES, 64, 1, &q, &p);
    assert_exact(q, 64);
    assert_exact(p, 0);
    char msg[256];
    assert_int_equal(cp_check_seq(CP_RING, 66, 3, msg, sizeof msg), 0); /* 22 = 2 x 11 */
    assert_int_equal(cp_check_seq(CP_RING, 63, 3, msg, sizeof msg), -1); /* 21 is odd */
    assert_non_null(strstr(msg, "S/cp must be even"));
    assert_int_equal(cp_check_seq(CP_LIGHTSEQ, 63, 3, msg, sizeof msg), 0);
    assert_int_equal(cp_check_seq(CP_LIGHTSEQ, 64, 3, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "cp 3 does not divide the sequence length 64"));
    enum cp_scheme s;
    assert_int_equal(cp_scheme_parse("lightseq", &s), 0);
    assert_int_equal(s, CP_LIGHTSEQ);
    assert_int_equal(cp_scheme_parse("Ring", &s), -1);
}

static double op_net(const struct analysis *a, const char *name, int *count)
{
    double net = 0;
    *count = 0;
    for (int i = 0; i < a->graph.n; i++)
        if (strcmp(a->graph.ops[i].name, name) == 0) {
            net += a->graph.ops[i].layer_count * a->graph.ops[i].cost.bytes_net;
            (*count)++;
        }
    return net;
}

/* analyze, prefill of S = 64 over cp = 4 on the tiny model (2 layers). */
static void test_analyze_prefill(void **state)
{
    (void)state;
    struct model *m = tiny();
    struct device *d = tu_device_ideal();
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_PREFILL, .batch = 1, .seq = 64, .tp = 1, .cp = 4,
                          .cp_scheme = CP_RING};
    analysis_run(&a, m, d, &sc);
    /* traffic: 2 layers x 6144; the attention pairs 520 (above) */
    assert_exact(a.cp_tot.traffic_bytes, 2 * 6144);
    assert_exact(a.cp_tot.attn_pairs, 520);
    /* KV cache: the device's 16 tokens x 2 layers x 64 elements x 2 B = 4096 */
    assert_exact(a.kv_cache_bytes, 4096);
    assert_exact(a.cp_tot.buf_bytes, 4096);
    /* the ring op follows the attention; 6144 B at ~450 GB/s are hidden
     * behind an attention of at least one kernel launch: nothing exposed */
    int n;
    assert_exact(op_net(&a, "cp.ring_kv", &n), 0);
    assert_int_equal(n, 1);
    for (int i = 0; i + 1 < a.graph.n; i++)
        if (a.graph.ops[i].kind == OP_ATTENTION)
            assert_string_equal(a.graph.ops[i + 1].name, "cp.ring_kv");
    assert_exact(a.cp_tot.exposed_s, 0);
    /* a 1 kB/s link: 6144 s of transfer per layer, of which all but the
     * attention's time is exposed; the op carries the exposed share */
    d->inv_net_rate = 1.0 / 1024;
    analysis_run(&a, m, d, &sc);
    double t_attn = 0;
    for (int i = 0; i < a.graph.n; i++)
        if (a.graph.ops[i].kind == OP_ATTENTION) t_attn = a.per_op[i].time_s;
    assert_close(a.cp_tot.exposed_s, 2 * (6144.0 / 1024 - t_attn), 1e-12);
    assert_close(op_net(&a, "cp.ring_kv", &n), 2 * (6144 - t_attn * 1024), 1e-12);
    d->inv_net_rate = 1.0 / d->interconnect_bytes_per_s;

    /* Ulysses: q, k, v in (3 x 16 x (16 + 32) x 2 = 4608 per layer) and o out
     * (3 x 16 x 16 x 2 = 1536); the device caches all 64 tokens of one of the
     * two KV heads: 64 x 2 layers x 32 x 2 B = 8192 */
    sc.cp_scheme = CP_ULYSSES;
    analysis_run(&a, m, d, &sc);
    assert_exact(op_net(&a, "cp.a2a_qkv", &n), 2 * 4608);
    assert_exact(op_net(&a, "cp.a2a_o", &n), 2 * 1536);
    assert_exact(a.kv_cache_bytes, 8192);
    assert_exact(a.cp_tot.traffic_bytes, 2 * 6144);
    /* LightSeq: 2 x 6656; pairs 648 */
    sc.cp_scheme = CP_LIGHTSEQ;
    analysis_run(&a, m, d, &sc);
    assert_exact(a.cp_tot.traffic_bytes, 2 * 6656);
    assert_exact(a.cp_tot.attn_pairs, 648);
    assert_exact(a.kv_cache_bytes, 4096);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* train with LightSeq: per micro-batch 2 layers x (6656 + 10496) = 34304 B;
 * with full recomputation the attention forward is not rerun (checkpoint at
 * its output, Li et al. 2023, rematerialization-aware checkpointing): it keeps O (16 tokens x 64 x 2 B =
 * 2048) and the log-sum-exp (16 x 4 heads x 4 B = 256) per layer. */
static void test_train_lightseq(void **state)
{
    (void)state;
    struct model *m = tiny();
    struct device *d = tu_device("h100-sxm5-80gb");
    struct train_cfg c = {.gpus = 4, .seq = 64, .global_tokens = 64, .micro_batch = 1, .tp = 1,
                          .pp = 1, .dp = 1, .cp = 4, .ep = 1, .cp_scheme = CP_LIGHTSEQ,
                          .recompute = RECOMPUTE_FULL, .dt = DT_BF16};
    char msg[256];
    assert_int_equal(train_check(m, &c, msg, sizeof msg), 0);
    struct train_result r, ring;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    assert_exact(r.net_cp_bytes, 34304);
    assert_exact(r.cp_buf_bytes, 13312);
    double attn_fwd = 0;
    for (int i = 0; i < r.n_ops; i++)
        if (r.ops[i].fwd.kind == OP_ATTENTION) {
            assert_false(r.ops[i].recomputed);
            attn_fwd += r.ops[i].fwd.layer_count * r.ops[i].t_fwd_s;
        }
    c.cp_scheme = CP_RING;
    assert_int_equal(train_run(m, d, &c, &ring), 0);
    /* ring with full recompute reruns the attention; its pairs are fewer
     * (520 against 648), so compare the saved activations only: LightSeq
     * keeps 2 x (2048 + 256) more */
    assert_close(r.act_per_mb - ring.act_per_mb, 2 * (2048 + 256), 1e-12);
    assert_true(attn_fwd > 0);
    train_free(&r);
    train_free(&ring);
    device_free(d);
    model_free(m);
}

static void test_cli(void **state)
{
    (void)state;
    static char out[1 << 16], err[8192];
    /* the 1M-token prefill of llama-3-8b over 8 devices explains itself */
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase prefill --seq 1m --cp 8",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "context-parallel over 8 devices (ring)"));
    assert_non_null(strstr(out, "Context parallel (ring over 8 devices)"));
    /* 1M x 128 KiB per token / 8 = 16 GiB of KV cache per device */
    assert_non_null(strstr(out, "KV cache            16.0 GiB (1 x 131072 tokens)"));
    assert_non_null(strstr(out, ": fits"));
    /* on one device it does not fit; the hint names a --cp */
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase prefill --seq 1m", out,
                            sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(err, "smallest context parallelism that fits"));
    const char *bad[][2] = {
        {"analyze llama-3-8b --hw h100 --phase prefill --seq 1000 --cp 3",
         "cp 3 does not divide the sequence length 1000"},
        {"analyze llama-3-8b --hw h100 --phase prefill --seq 1m --cp 64 --cp-scheme ulysses",
         "not divisible by cp 64"},
        {"analyze llama-3-8b --hw h100 --phase decode --context 1000 --cp 2", "--phase prefill"},
        {"analyze llama-3-8b --hw h100 --phase prefill --seq 1000 --cp 2 --cp-scheme star",
         "--cp-scheme 'star'"},
        {"analyze llama-3-8b --hw h100 --phase prefill --seq 1000 --cp-scheme ring",
         "--cp-scheme needs --cp"},
        {"analyze llama-3-8b --hw h100 --phase prefill --seq 1000 --cp 0", "--cp must be"},
        {"analyze llama-3-8b --hw h100 --phase prefill --seq 1000 --cp", "--cp"},
        {"analyze mixtral --hw h100 --phase prefill --seq 1000 --cp 2 --ep 2", "--cp with --ep"},
        {"train llama-3-8b --hw h100 --gpus 4 --seq 4k --global-batch 4k --cp 4 --cp-scheme x",
         "--cp-scheme 'x'"},
        /* 32 layers: pp 4 x 9 virtual stages = 36 chunks is too many */
        {"train llama-3-8b --hw h100 --gpus 4 --seq 4k --global-batch 16k --pp 4 "
         "--pp-virtual 9",
         "at least pp x V = 36 layers"},
        {"train llama-3-8b --hw h100 --gpus 4 --seq 4k --global-batch 16k --pp 4 "
         "--pp-virtual 0",
         "--pp-virtual '0'"},
        {"train llama-3-8b --hw h100 --gpus 4 --seq 4k --global-batch 16k --pp-virtual 2",
         "needs pp > 1"},
        {"train llama-3-8b --hw h100 --gpus 3 --seq 4097 --global-batch 4097 --cp 3 "
         "--cp-scheme lightseq",
         "cp 3 does not divide the sequence length 4097"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tu_run(bad[i][0], out, sizeof out, err, sizeof err), 2);
        if (!strstr(err, bad[i][1])) fail_msg("%s: '%s' not in: %s", bad[i][0], bad[i][1], err);
        assert_string_equal(out, "");
    }
    assert_int_equal(tu_run("train llama-3-8b --hw h100 --gpus 8 --seq 32k --global-batch 32k "
                            "--cp 8 --cp-scheme lightseq --recompute full",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "cp 8 (lightseq)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_cost),      cmocka_unit_test(test_step_shape),
        cmocka_unit_test(test_analyze_prefill), cmocka_unit_test(test_train_lightseq),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
