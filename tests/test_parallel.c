/* test_parallel.c - deployments: the two-tier network (sim/net.c, every
 * collective on the tier its group spans), pipeline parallelism in analyze
 * (sim/pipeline.c: stage split, stage times, per-stage memory, the GPipe
 * prefill and decode schedules, the boundary sends) and the bundled devices'
 * network figures. Every expected number is worked out in the comments. */
#include "testutil.h"

#include "../sim/analyze.h"
#include "../sim/net.h"
#include "../sim/pipeline.h"
#include "../sim/serve.h"
#include "../sim/train.h"

/* 8 devices per node; inside 100 GB/s and 1 us per step, across 10 GB/s and
 * 5 us per step (round numbers for the arithmetic below). */
static const char NET_DEV[] =
    "name: net-test\nvendor: test\n"
    "memory: {capacity_bytes: 80e9, bandwidth_bytes_per_s: 1e12}\n"
    "l2_bytes: 0\nsm_count: 1\nkernel_overhead_s: 0\n"
    "interconnect_bytes_per_s: 100e9\n"
    "network: {gpus_per_node: 8, intra_latency_s: 1e-6, inter_bytes_per_s: 10e9, "
    "inter_latency_s: 5e-6}\n"
    "tensor_flops_per_s: {fp32: 1e12, bf16: 1e15}\n"
    "vector_flops_per_s: {fp32: 1e12}\n";

static struct device *net_dev(void)
{
    struct device *d = NULL;
    struct err e;
    if (device_load(tu_write_temp(NET_DEV), &d, &e)) err_print(&e, stderr);
    assert_non_null(d);
    return d;
}

static void test_net_layout(void **state)
{
    (void)state;
    struct device *d = net_dev();
    struct net_span s;
    net_layout(d, 8, 1, &s); /* a TP group of 8 fills one node */
    assert_exact(s.g, 8), assert_exact(s.k, 1), assert_false(s.crosses);
    net_layout(d, 64, 1, &s); /* EP 64 over 8-GPU nodes: 8 per node, 8 nodes */
    assert_exact(s.g, 8), assert_exact(s.k, 8), assert_true(s.crosses);
    net_layout(d, 4, 4, &s); /* 4 pipeline stages of 4 devices: 2 per node, 2 nodes */
    assert_exact(s.g, 2), assert_exact(s.k, 2), assert_true(s.crosses);
    net_layout(d, 2, 8, &s); /* a pair 8 apart: one per node */
    assert_exact(s.g, 1), assert_exact(s.k, 2);
    device_free(d);
}

static void test_net_collectives(void **state)
{
    (void)state;
    struct device *d = net_dev();
    /* all-reduce of S = 8e6 B over 8 in a node (ring):
     * 2*7/8 * 8e6 / 100e9 = 1.4e-4 s, + 2*7 steps * 1e-6 = 1.4e-5 -> 1.54e-4 */
    assert_close(net_time_s(d, NET_ALLREDUCE, 8e6, 8, 1), 1.54e-4, 1e-12);
    /* over 16 (g = 8, k = 2): inside 1.4e-4 + 1.4e-5; across, shard 8e6/8 = 1e6:
     * 2*1/2 * 1e6 / 10e9 = 1e-4, + 2*1 * 5e-6 = 1e-5 -> 2.64e-4 */
    assert_close(net_time_s(d, NET_ALLREDUCE, 8e6, 16, 1), 2.64e-4, 1e-12);
    /* all-gather of 16e6 B over 16: across 1/2 * (16e6/8) / 10e9 = 1e-4 + 5e-6;
     * inside 7/8 * 16e6 / 100e9 = 1.4e-4 + 7 * 1e-6 -> 2.52e-4 */
    assert_close(net_time_s(d, NET_ALLGATHER, 16e6, 16, 1), 2.52e-4, 1e-12);
    /* all-to-all over 64 (8 per node), 63e6 B leaving the device: 7 of the 63
     * peers share the node: 7e6 / 100e9 + 1e-6 = 7.1e-5; 56 do not:
     * 56e6 / 10e9 + 5e-6 = 5.605e-3; the links run at once -> the larger */
    assert_close(net_time_s(d, NET_ALLTOALL, 63e6, 64, 1), 5.605e-3, 1e-12);
    /* all-to-all of 8 in one node: 7e6 / 100e9 + 1e-6 = 7.1e-5 */
    assert_close(net_time_s(d, NET_ALLTOALL, 7e6, 8, 1), 7.1e-5, 1e-12);
    /* P2P: a pipeline of 2 stages of 4 stays in the node: 1e6/100e9 + 1e-6;
     * of 4 stages of 4 it spans 2 nodes: 1e6/10e9 + 5e-6 */
    assert_close(net_time_s(d, NET_P2P, 1e6, 2, 4), 1.1e-5, 1e-12);
    assert_close(net_time_s(d, NET_P2P, 1e6, 4, 4), 1.05e-4, 1e-12);
    /* a data-parallel pair 8 apart: all-reduce across only: 2*1/2 * 8e6 / 10e9
     * + 2 * 5e-6 = 8.1e-4 */
    assert_close(net_time_s(d, NET_ALLREDUCE, 8e6, 2, 8), 8.1e-4, 1e-12);
    assert_exact(net_time_s(d, NET_ALLREDUCE, 8e6, 1, 1), 0);
    device_free(d);
    /* without a network map: one tier at interconnect_bytes_per_s (450e9 on the
     * ideal H100), no latency: 2*15/16 * 9e6 / 450e9 = 3.75e-5 even over 16 */
    struct device *h = tu_device_ideal();
    assert_false(h->has_network);
    assert_close(net_time_s(h, NET_ALLREDUCE, 9e6, 16, 1), 3.75e-5, 1e-12);
    device_free(h);
}

/* An op's network time in eval: the TP all-reduce of a decode step. */
static void test_net_eval_allreduce(void **state)
{
    (void)state;
    struct device *d = net_dev();
    struct graph g;
    assert_int_equal(graph_init(&g, 4), 0);
    g.dt_act = g.dt_w = g.dt_kv = DT_BF16;
    /* 16 rows x 8192 bf16 = 262144 B over tp 8: 2*7/8*262144/100e9 = 4.58752e-6
     * + 14 * 1e-6 = 1.858752e-5 s (network-bound; no overhead on this device) */
    struct op *op = op_allreduce(&g, "ar", 16, 8192, 8);
    struct op_eval ev;
    eval_op(op, d, &ev);
    assert_close(ev.t_network_s, 1.858752e-5, 1e-12);
    assert_int_equal(ev.bound, BOUND_NETWORK);
    /* over 16 devices (2 nodes): + 2*1/2*(262144/8)/10e9 + 2*5e-6 = 3.2768e-6 + 1e-5 */
    op = op_allreduce(&g, "ar16", 16, 8192, 16);
    eval_op(op, d, &ev);
    assert_close(ev.t_network_s, 1.858752e-5 + 3.2768e-6 + 1e-5, 1e-12);
    graph_free(&g);
    device_free(d);
}

/* The bundled devices carry the published figures (their files cite them). */
static void test_net_bundled(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        double nvlink, ib;
    } want[] = {
        {"h100-sxm5-80gb", 450e9, 50e9}, /* NVLink 900 GB/s both ways; 8x CX-7 400 Gb/s */
        {"h200", 450e9, 50e9},
        {"h800", 200e9, 50e9},           /* NVLink 400 GB/s both ways; DeepSeek-V3 sec 3.2: IB 50 GB/s */
        {"b200", 900e9, 50e9},           /* NVLink 5: 1.8 TB/s both ways */
        {"a100-sxm4-80gb", 300e9, 25e9}, /* NVLink 3: 600 GB/s; CX-6 HDR 200 Gb/s */
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct device *d = tu_device(want[i].name);
        assert_non_null(d);
        assert_true(d->has_network);
        assert_exact(d->gpus_per_node, 8);
        assert_exact(d->interconnect_bytes_per_s, want[i].nvlink);
        assert_exact(d->inter_bytes_per_s, want[i].ib);
        device_free(d);
    }
}

/* DeepSeek-V3 decode with expert parallelism over 256 H800s (32 nodes; the
 * published 320-GPU deployment also holds redundant and shared experts, which
 * opbound does not replicate): the dispatch all-to-all by hand. */
static void test_net_deepseek_ep(void **state)
{
    (void)state;
    struct model *m = tu_model("deepseek-v3");
    struct device *d = tu_device("h800");
    struct analysis an;
    assert_int_equal(analysis_init(&an, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 32, .context = 4096, .tp = 1, .ep = 256};
    analysis_run(&an, m, d, &sc);
    /* uniform routing: T = 32 tokens, k = 8: sent rows 32*8*255/256 = 255, of
     * h = 7168 bf16: X = 255*7168*2 = 3,655,680 B. Of the 255 peers 7 share the
     * node: 3,655,680*7/255 = 100,352 B over NVLink (100352/200e9 + 0.47e-6 =
     * 9.7176e-7 s); 248 do not: 3,555,328 B over IB (3555328/50e9 + 2.7e-6 =
     * 7.380656e-5 s). The op takes the larger. */
    int seen = 0;
    for (int i = 0; i < an.graph.n; i++) {
        const struct op *op = &an.graph.ops[i];
        if (op->kind != OP_ALLTOALL || strcmp(op->name, "moe_dispatch")) continue;
        assert_close(op->cost.bytes_net, 3655680.0, 1e-12);
        assert_close(an.per_op[i].t_network_s, 7.380656e-5, 1e-9);
        seen++;
    }
    assert_true(seen > 0);
    /* routed experts: 58 MoE layers x 256 experts x 3 x 7168 x 2048 =
     * 653,908,770,816 parameters, 1/256 of them per device; everything else
     * is whole on each device (weights fp8: 1 byte each) */
    const double routed = 58.0 * 256 * 3 * 7168 * 2048;
    assert_close(routed, 653908770816.0, 0);
    assert_close(an.weight_bytes_dev, an.counts.params - routed * 255.0 / 256.0, 1e-12);
    analysis_free(&an);
    device_free(d);
    model_free(m);
}

static int find_op(const struct graph *g, const char *name, int layer)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->ops[i].name, name) == 0 &&
            (layer < 0 || (g->ops[i].layer_first <= layer &&
                           layer < g->ops[i].layer_first + g->ops[i].layer_count)))
            return i;
    return -1;
}

/* Mixtral 8x7B with attention TP 2 and experts EP 4 (2 attention groups).
 * Per device, by hand (h = 4096, 32 layers, 32 heads, 8 KV heads of 128,
 * 8 experts of 14336, vocab 32000, untied):
 *   attention 4096*(4096 + 2*1024 + 4096) = 41,943,040 / 2 = 20,971,520
 *   norms 2*4096 = 8192 (replicated); router 4096*8 = 32,768 (whole)
 *   routed 8*3*4096*14336 = 1,409,286,144 / 4 = 352,321,536 (whole experts)
 *   per layer 373,334,016; x 32 = 11,946,688,512
 *   embedding + lm_head 2*32000*4096 / 2 = 131,072,000, final norm 4096
 *   -> 12,077,764,608 parameters, bf16 */
static void test_ep_with_tp_mixtral(void **state)
{
    (void)state;
    struct model *m = tu_model("mixtral-8x7b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis an;
    assert_int_equal(analysis_init(&an, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 8, .context = 1024, .tp = 2, .ep = 4};
    analysis_run(&an, m, d, &sc);
    assert_exact(an.weight_bytes_dev, 2.0 * 12077764608.0);
    /* 8 tokens per attention group, 4 per device to the experts: k = 2, each
     * device holds 2 of the 8 experts, so 2*2/8 = 0.5 picks stay home:
     * sent 4*(2 - 0.5) = 6 rows of 4096 bf16 = 49,152 B */
    const int disp = find_op(&an.graph, "moe_dispatch", 0);
    assert_true(disp >= 0);
    assert_exact(an.graph.ops[disp].cost.bytes_net, 49152);
    assert_exact(an.graph.ops[disp].shape.alltoall.devices, 4);
    /* the experts run whole: gate_up of width 2*14336 */
    const int gu = find_op(&an.graph, "experts_gate_up", 0);
    assert_exact(an.graph.ops[gu].shape.gemm.n, 2.0 * 14336);
    /* the group gathers its 8 rows back: (2-1)/2 * 8*4096*2 = 32,768 B; no
     * ffn all-reduce after an expert-parallel block */
    const int ag = find_op(&an.graph, "moe_allgather", 0);
    assert_true(ag >= 0);
    assert_exact(an.graph.ops[ag].cost.bytes_net, 32768);
    assert_true(find_op(&an.graph, "ffn_allreduce", -1) < 0);
    assert_true(find_op(&an.graph, "attn_allreduce", 0) >= 0);
    analysis_free(&an);
    device_free(d);
    model_free(m);
}

/* DeepSeek-V3's decode deployment (report sec. 3.4: attention TP4 with SP and
 * DP80, MoE EP320 over 40 nodes of H800, one routed expert per GPU, 64 GPUs
 * for redundant and shared experts). opbound does not replicate experts, so
 * the nearest is EP256 (32 nodes) with attention TP4 (64 attention groups). */
static void test_ep_with_tp_deepseek_decode(void **state)
{
    (void)state;
    struct model *m = tu_model("deepseek-v3");
    struct device *d = tu_device("h800");
    struct analysis a, b;
    assert_int_equal(analysis_init(&a, m), 0);
    assert_int_equal(analysis_init(&b, m), 0);
    /* 128 sequences per attention group: 32 tokens per device to the experts */
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 128, .context = 4096, .tp = 4, .ep = 256};
    analysis_run(&a, m, d, &sc);
    /* dispatch as in test_net_deepseek_ep: 32 tokens x 8 x 255/256 = 255 rows
     * of 7168 bf16 = 3,655,680 B, 248/255 of it over IB: 3,555,328/50e9 +
     * 2.7e-6 = 7.380656e-5 s */
    const int disp = find_op(&a.graph, "moe_dispatch", 10);
    assert_exact(a.graph.ops[disp].cost.bytes_net, 3655680);
    assert_close(a.per_op[disp].t_network_s, 7.380656e-5, 1e-9);
    /* the gather inside the TP group (one node): 3/4 x 128*7168*2 = 1,376,256 B
     * over NVLink: 1376256/200e9 + 3 x 0.47e-6 = 8.29128e-6 s */
    const int ag = find_op(&a.graph, "moe_allgather", 10);
    assert_exact(a.graph.ops[ag].cost.bytes_net, 1376256);
    assert_close(a.per_op[ag].t_network_s, 8.29128e-6, 1e-9);
    /* one routed expert per device (256 / 256): 58 layers x 3 x 7168 x 2048 =
     * 2,554,331,136 fp8 bytes; with EP128 two of them: the difference is one */
    struct scenario s2 = sc;
    s2.ep = 128;
    analysis_run(&b, m, d, &s2);
    assert_exact(b.weight_bytes_dev - a.weight_bytes_dev, 2554331136.0);
    analysis_free(&a);
    analysis_free(&b);
    device_free(d);
    model_free(m);
}

/* Data-parallel attention over 8 devices, FFN tensor-parallel over them:
 * Llama-3-70B, 16 sequences per device. Per device, by hand: attention whole
 * 80 x 150,994,944 = 12,079,595,520; norms 80 x 16,384 + 8192 = 1,318,912;
 * embedding and lm_head whole 2 x 1,050,673,152 = 2,101,346,304; MLP
 * 80 x 704,643,072 / 8 = 7,046,430,720 -> 21,228,691,456 parameters, bf16.
 * The FFN runs on the 8 devices' 128 rows: the all-gather's output is
 * 128 x 8192 x 2 = 2,097,152 B, 7/8 of it received (1,835,008 B; on one H100
 * node 1835008/450e9 + 7 x 0.47e-6 = 7.3678e-6 s); gate_up is 128 x 7168
 * (2 x 28672 / 8) x 8192; the all-reduce of the same rows sends 2 x 7/8 of
 * them (3,670,016 B). The KV cache is whole per sequence: 80 x 2 x 8 x 128 x
 * 2 B = 327,680 B per token. */
static void test_attn_dp_dense(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-70b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis an;
    assert_int_equal(analysis_init(&an, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 16, .context = 2048, .tp = 1,
                          .attn_dp = 8};
    analysis_run(&an, m, d, &sc);
    assert_exact(an.weight_bytes_dev, 2.0 * 21228691456.0);
    assert_exact(an.kv_bytes_per_token_dev, 327680);
    const int ag = find_op(&an.graph, "ffn_allgather", 0);
    assert_exact(an.graph.ops[ag].cost.bytes_net, 1835008);
    assert_close(an.per_op[ag].t_network_s, 1835008 / 450e9 + 7 * 0.47e-6, 1e-12);
    const int gu = find_op(&an.graph, "gate_up_proj", 0);
    assert_exact(an.graph.ops[gu].shape.gemm.m, 128);
    assert_exact(an.graph.ops[gu].shape.gemm.n, 7168);
    const int ar = find_op(&an.graph, "ffn_allreduce", 0);
    assert_exact(an.graph.ops[ar].cost.bytes_net, 3670016);
    assert_true(find_op(&an.graph, "attn_allreduce", -1) < 0);
    analysis_free(&an);
    device_free(d);
    model_free(m);
}

static void test_pipe_split(void **state)
{
    (void)state;
    /* 80 layers over 3 stages: 80 = 3*26 + 2, the first two take 27 */
    int lo, hi;
    pipe_split(80, 3, 0, &lo, &hi), assert_int_equal(lo, 0), assert_int_equal(hi, 27);
    pipe_split(80, 3, 1, &lo, &hi), assert_int_equal(lo, 27), assert_int_equal(hi, 54);
    pipe_split(80, 3, 2, &lo, &hi), assert_int_equal(lo, 54), assert_int_equal(hi, 80);
    pipe_split(61, 61, 60, &lo, &hi), assert_int_equal(lo, 60), assert_int_equal(hi, 61);
}

/* Llama-3-70B over 2 stages: per-stage weights by hand. Per layer:
 * attention 8192*(8192 + 2*1024 + 8192) = 150,994,944, MLP 3*8192*28672 =
 * 704,643,072, two norms 16,384 -> 855,654,400. Stage 0: 40 layers +
 * the embedding 128256*8192 = 1,050,673,152 -> 35,276,849,152 parameters;
 * stage 1: 40 layers + lm_head + the final norm (8192) -> 35,276,857,344.
 * KV per token per layer 2*8*128 = 2048 elements; 40 layers, bf16, context
 * 1024 + 1: 2048*40*2*1025 = 167,936,000 B per sequence per stage. */
static void test_pipe_memory(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-70b");
    struct device *d = tu_device_ideal();
    struct analysis an;
    assert_int_equal(analysis_init(&an, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 8, .context = 1024, .tp = 1, .pp = 2};
    analysis_run(&an, m, d, &sc);
    assert_true(an.piped);
    assert_exact(an.pipe.m, 2);    /* default: as many micro-batches as stages */
    assert_exact(an.pipe.b_mb, 4);
    assert_exact(an.pipe.stage[0].weight_bytes, 2.0 * 35276849152.0);
    assert_exact(an.pipe.stage[1].weight_bytes, 2.0 * 35276857344.0);
    assert_exact(an.pipe.stage[0].cache_bytes_per_seq, 167936000.0);
    /* the worst stage is the last (lm_head + norm): weights + 8 sequences' KV
     * + activations */
    assert_int_equal(an.pipe.worst_memory, 1);
    assert_exact(an.memory_bytes, 2.0 * 35276857344.0 + 8 * 167936000.0 + an.act_bytes);
    analysis_free(&an);
    device_free(d);
    model_free(m);
}

/* Stage times and schedules against the op list of the same micro-batch
 * without a pipeline: a tiny 4-layer model on the network device. */
static void test_pipe_schedule(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = net_dev();
    struct analysis one, two;
    assert_int_equal(analysis_init(&one, m), 0);
    assert_int_equal(analysis_init(&two, m), 0);
    /* the micro-batch alone: 4 sequences (batch 8 in 2 micro-batches) */
    struct scenario s1 = {.phase = PHASE_DECODE, .batch = 4, .context = 512, .tp = 1};
    analysis_run(&one, m, d, &s1);
    struct scenario s2 = s1;
    s2.batch = 8, s2.pp = 2, s2.micro_batches = 2;
    analysis_run(&two, m, d, &s2);
    /* stage times from the un-piped op list: layers 0-15 and the ops before
     * the stack on stage 0, layers 16-31 and the ops after on stage 1 */
    double t[2] = {0, 0};
    bool after = false;
    for (int i = 0; i < one.graph.n; i++) {
        const struct op *op = &one.graph.ops[i];
        const double ti = one.per_op[i].time_s;
        if (op->layer_first < 0) {
            t[after ? 1 : 0] += ti;
            continue;
        }
        after = true;
        for (int l = op->layer_first; l < op->layer_first + op->layer_count; l++) t[l < 16 ? 0 : 1] += ti;
    }
    assert_close(two.pipe.stage[0].t_decode_s, t[0], 1e-12);
    assert_close(two.pipe.stage[1].t_decode_s, t[1], 1e-12);
    /* boundary send: 4 tokens x 4096 x 2 B = 32768 B; 2 stages of 1 device in
     * one node: 32768/100e9 + 1e-6 = 1.32768e-6 s */
    assert_exact(two.pipe.send_bytes_decode, 32768);
    assert_close(two.pipe.t_send_decode_s, 1.32768e-6, 1e-12);
    /* decode: max(round trip t0 + t1 + 1 send, 2 x slowest stage) */
    const double tmax = t[0] > t[1] ? t[0] : t[1], rt = t[0] + t[1] + 1.32768e-6;
    assert_close(two.tpot_s, rt > 2 * tmax ? rt : 2 * tmax, 1e-12);
    assert_close(two.tokens_per_s, 8 / two.tpot_s, 1e-12);
    analysis_free(&one);
    analysis_free(&two);
    device_free(d);
    model_free(m);
}

/* Prefill with m micro-batches: (m + pp - 1) stage times for even stages, the
 * bubble (pp - 1)/m of the ideal (Narayanan et al. 2021, sec. 2.2). The even
 * case by hand: a model whose stages differ only by the end ops is close; the
 * formula is checked exactly against the stage times. */
static void test_pipe_prefill_bubble(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device_ideal();
    struct analysis an;
    assert_int_equal(analysis_init(&an, m), 0);
    struct scenario sc = {.phase = PHASE_PREFILL, .batch = 8, .seq = 512, .tp = 1, .pp = 4,
                          .micro_batches = 8};
    analysis_run(&an, m, d, &sc);
    const struct pipe_figures *p = &an.pipe;
    double sum = 0, mx = 0;
    for (int s = 0; s < 4; s++) {
        sum += p->stage[s].t_prefill_s;
        if (p->stage[s].t_prefill_s > mx) mx = p->stage[s].t_prefill_s;
    }
    /* send: 1 sequence x 512 tokens x 4096 x 2 B = 4,194,304 B over the ideal
     * H100's one tier: / 450e9 */
    assert_exact(p->send_bytes_prefill, 4194304);
    const double send = 4194304 / 450e9;
    assert_close(an.ttft_s, sum + 3 * send + 7 * mx, 1e-12);
    /* bubble = (time - ideal)/ideal, ideal = m x sum / pp; with even stages and
     * free sends (11/8 - 1) = 3/8 = (pp - 1)/m; here the last stage also reads
     * lm_head (1 row x 128256 x 4096 x 2 B = 1.05 GB, 0.31 ms), so it is more */
    assert_close(p->bubble_prefill, an.ttft_s / (8 * sum / 4) - 1, 1e-12);
    assert_true(p->bubble_prefill > 0.375);
    assert_true(fabs(p->stage[0].t_prefill_s - p->stage[1].t_prefill_s) < 1e-2 * p->stage[1].t_prefill_s); /* embedding only */
    analysis_free(&an);
    device_free(d);
    model_free(m);
}

/* Serve's AFD with a data-parallel attention pool. Step-3 (MFA: one KV head
 * of K and V of 256 each) caches 2 x 256 = 512 elements per layer and token,
 * x 61 layers = 31,232, fp8: 31,232 B per token per device; a tensor-parallel
 * pool cannot split its single KV head, so every device holds every
 * sequence's whole cache. A request of 1000 + 24 tokens holds 1023 tokens at
 * the end: 1023 x 31,232 = 31,950,336 B. With kv_memory_bytes 2.5 of those
 * per device, a pool of 4 tensor-parallel devices admits 2 requests; 4
 * data-parallel devices each hold their own (2.5 x 4 = 10 requests): the
 * peak per device is 10/4 = 2.5 requests' cache instead of 2. */
static struct serve_result afd_run(bool dp)
{
    char text[1024];
    snprintf(text, sizeof text,
             "model: step-3\nweight_dtype: fp8\nkv_dtype: fp8\nrequests: 16\n"
             "lengths: [{input: 1000, output: 24}]\nmax_batch: 64\ntoken_budget: 65536\n"
             "kv_memory_bytes: %.17g\n"
             "afd: {attention_devices: 4, ffn_devices: 8, attention_dp: %s}\n",
             2.5 * 31950336.0, dp ? "true" : "false");
    struct serve_scenario *sc = NULL;
    struct err e;
    if (serve_load(tu_write_temp(text), &sc, &e)) err_print(&e, stderr);
    assert_non_null(sc);
    struct device *d = tu_device("h800");
    struct serve_result r;
    if (serve_run(sc, &(struct serve_hw){.d = d}, 1, &r, &e)) {
        err_print(&e, stderr);
        fail();
    }
    device_free(d);
    serve_free(sc);
    return r;
}

static void test_afd_attention_dp(void **state)
{
    (void)state;
    struct serve_result tp = afd_run(false), dp = afd_run(true);
    assert_exact(tp.kv_bytes_per_token_dev, 31232);
    assert_exact(dp.kv_bytes_per_token_dev, 31232);
    assert_exact(tp.kv_peak_bytes, 2 * 31950336.0);
    assert_exact(dp.kv_peak_bytes, 2.5 * 31950336.0);
    /* the data-parallel pool holds the attention weights whole (tp 1) */
    assert_true(dp.weight_bytes_dev > tp.weight_bytes_dev);
}

/* Training's data-parallel all-reduce on the tier its group spans: tp 8 fills
 * each H100 node, so the 2 data-parallel replicas are 8 devices apart, one per
 * node (g = 1, k = 2): 2 x 1/2 x S / 50e9 + 2 x 2.7e-6, S = the device's
 * weights in bf16 (docs/network.md). With dp 2 at tp 4 the pair shares a node:
 * 2 x 1/2 x S / 450e9 + 2 x 0.47e-6. */
static void test_train_dp_tiers(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct train_cfg c = {.gpus = 16, .seq = 1024, .global_tokens = 2048, .micro_batch = 1,
                          .tp = 8, .pp = 1, .dp = 2, .cp = 1, .ep = 1, .dt = DT_BF16};
    struct train_result r;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    const double s8 = r.params_dev * 2;
    assert_close(r.t_dp_s, s8 / 50e9 + 2 * 2.7e-6, 1e-12);
    train_free(&r);
    c.tp = 4, c.gpus = 8;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    assert_close(r.t_dp_s, r.params_dev * 2 / 450e9 + 2 * 0.47e-6, 1e-12);
    train_free(&r);
    device_free(d);
    model_free(m);
}

static char out_buf[1 << 16], err_buf[1 << 14];

static void test_pipe_cli_errors(void **state)
{
    (void)state;
    /* llama-3-8b has 32 layers */
    int rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 8 --pp 33", out_buf,
                    sizeof out_buf, err_buf, sizeof err_buf);
    assert_int_equal(rc, 2);
    assert_string_equal(out_buf, "");
    assert_non_null(strstr(err_buf, "more pipeline stages than the model's 32 layers"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 8 --pp 2 --batch 2 "
                "--micro-batches 4",
                out_buf, sizeof out_buf, err_buf, sizeof err_buf);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err_buf, "more micro-batches than the 2 sequences"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 8 --micro-batches 2",
                out_buf, sizeof out_buf, err_buf, sizeof err_buf);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err_buf, "--micro-batches needs --pp"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 8 --attn-dp 2 --tp 2",
                out_buf, sizeof out_buf, err_buf, sizeof err_buf);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err_buf, "--attn-dp with --tp, --ep or --pp is not modelled"));
    /* 8 KV heads and a 14336-wide MLP do not split over 3 */
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 8 --attn-dp 3", out_buf,
                sizeof out_buf, err_buf, sizeof err_buf);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err_buf, "--attn-dp 3: the FFN is split over the 3 devices"));
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 8 --pp 0", out_buf,
                sizeof out_buf, err_buf, sizeof err_buf);
    assert_int_equal(rc, 2);
    rc = tu_run("analyze llama-3-8b --hw h100 --phase decode --context 8 --pp 4 --batch 8",
                out_buf, sizeof out_buf, err_buf, sizeof err_buf);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out_buf, "Pipeline (4 stages, 4 micro-batches of 2 sequences)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_layout),
        cmocka_unit_test(test_net_collectives),
        cmocka_unit_test(test_net_eval_allreduce),
        cmocka_unit_test(test_net_bundled),
        cmocka_unit_test(test_net_deepseek_ep),
        cmocka_unit_test(test_ep_with_tp_mixtral),
        cmocka_unit_test(test_ep_with_tp_deepseek_decode),
        cmocka_unit_test(test_attn_dp_dense),
        cmocka_unit_test(test_pipe_split),
        cmocka_unit_test(test_pipe_memory),
        cmocka_unit_test(test_pipe_schedule),
        cmocka_unit_test(test_pipe_prefill_bubble),
        cmocka_unit_test(test_pipe_cli_errors),
        cmocka_unit_test(test_afd_attention_dp),
        cmocka_unit_test(test_train_dp_tiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
