/* test_train_published.c - the training-step model against published runs
 * and claims (docs/training.md, "Checks against published numbers"):
 *
 *  - Llama 3 405B (Llama 3 paper, arXiv 2407.21783, Table 4): three
 *    pre-training configurations with their TFLOPs per GPU;
 *  - DeepSeek-V3 (arXiv 2412.19437, Table 1 and sec. 3): 2.664M H800 GPU hours
 *    of pre-training for 14.8T tokens;
 *  - SQA (arXiv 2510.01817, abstract): "up to 3x" throughput in compute-bound
 *    training at 32k-200k tokens;
 *  - CCA (arXiv 2510.04476, abstract): the fused CCA kernel ~1.7x faster in
 *    prefill at 16k than MHA, backward ~1.3x.
 *
 * Published figures are typed in from the sources; the FLOPs they are
 * compared with are counted by hand here; the tolerances are stated with each
 * test and in the docs. */
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

/* Llama 3 405B as the paper's Table 3 gives it: 126 layers, h 16384, FFN
 * 53248, 128 heads, 8 KV heads, vocabulary 128256. */
static const char L405[] =
    "name: llama-3-405b\nhidden: 16384\nlayers: 126\nvocab: 128256\ntied_embeddings: false\n"
    "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
    "groups:\n  - repeat: 126\n"
    "    attention: {kind: gqa, heads: 128, kv_heads: 8, head_dim: 128}\n"
    "    ffn: {kind: swiglu, intermediate: 53248}\n";

static double run_tps(const struct model *m, const struct device *d, struct train_cfg *c,
                      double *fpt)
{
    char msg[256];
    if (train_check(m, c, msg, sizeof msg)) fail_msg("%s", msg);
    struct train_result r;
    assert_int_equal(train_run(m, d, c, &r), 0);
    const double tps = r.tokens_per_s;
    if (fpt) *fpt = r.model_flops_per_token;
    train_free(&r);
    return tps;
}

/* Table 4 of the Llama 3 paper: (GPUs, TP, CP, PP, DP, seq, tokens per batch,
 * TFLOPs/GPU) = (8192, 8, 1, 16, 64, 8192, 16M, 430), (16384, 8, 1, 16, 128,
 * 8192, 16M, 400), (16384, 8, 16, 16, 8, 131072, 16M, 380); BF16 MFU 43%,
 * 41%, 38%. The paper's schedule is an interleaved 1F1B whose number of
 * virtual stages is not stated, and so is its FLOP convention for attention.
 * So the test brackets: the published tokens/s, under either convention
 * (causal pairs with FlashAttention-2's backward, as opbound counts, or all
 * S^2 pairs with a 2x backward, as Megatron-LM's formula does), must overlap
 * opbound's range from plain 1F1B (V = 1) to the most interleaving the layer
 * count allows (V = 7: 16 x 7 = 112 <= 126 layers).
 *
 * Model FLOPs per token by hand: 3 x 2 x matmul weights per token, per layer
 * h (h + 2 x 8 x 128) + h h + 3 h F, plus the LM head h V; attention per layer
 * and head, causal: (S + 1)/2 pairs x (2 x 2D + 2 x 5D); full: S pairs x 3 x
 * 2 x 2D. */
static void test_llama3_405b(void **state)
{
    (void)state;
    struct model *m = text_model(L405);
    struct device *d = tu_device("h100-sxm5-80gb");
    const double h = 16384, L = 126, H = 128, D = 128, F = 53248, V = 128256;
    const double mm = 6 * (L * (h * (h + 2 * 8 * D) + h * h + 3 * h * F) + h * V);
    const struct {
        double gpus, cp, dp, seq, tflops;
    } row[] = {{8192, 1, 64, 8192, 430}, {16384, 1, 128, 8192, 400}, {16384, 16, 8, 131072, 380}};
    for (int i = 0; i < 3; i++) {
        const double S = row[i].seq;
        const double f_causal = mm + L * H * (S + 1) / 2 * (4 * D + 10 * D);
        const double f_full = mm + L * H * S * 3 * 4 * D;
        const double pub_hi = row[i].tflops * 1e12 * row[i].gpus / f_causal;
        const double pub_lo = row[i].tflops * 1e12 * row[i].gpus / f_full;
        struct train_cfg c = {.gpus = row[i].gpus, .seq = S, .global_tokens = 16777216,
                              .micro_batch = 1, .tp = 8, .pp = 16, .dp = row[i].dp,
                              .cp = row[i].cp, .ep = 1, .zero = 1, .pp_virtual = 1,
                              .recompute = RECOMPUTE_NONE, .dt = DT_BF16};
        double fpt;
        const double plain = run_tps(m, d, &c, &fpt);
        assert_close(fpt, f_causal, 1e-12);
        c.pp_virtual = 7;
        const double inter = run_tps(m, d, &c, NULL);
        if (!(plain <= pub_hi && inter >= pub_lo))
            fail_msg("Llama 3 405B row %d: opbound %.4g..%.4g tokens/s, published %.4g..%.4g", i,
                     plain, inter, pub_lo, pub_hi);
    }
    device_free(d);
    model_free(m);
}

/* DeepSeek-V3: 14.8T pre-training tokens in 2.664M H800 GPU hours (Table 1),
 * on 2048 H800 with 16-way pipeline, 64-way expert parallelism and ZeRO-1
 * data parallelism, sequences of 4096, batch size up to 15360 sequences,
 * FP8 GEMMs (sec. 3.2-3.3, 4.2). Implied throughput 14.8e12 / (2.664e6 x
 * 3600) = 1543 tokens/s per GPU.
 *
 * Model FLOPs per token: 6 x 37B activated parameters (the paper's figure,
 * two significant digits) plus MLA's attention, per layer and head at S =
 * 4096: (S + 1)/2 causal pairs x (2 (192 + 128) forward + 2 (3 x 192 + 2 x
 * 128) backward) = 2048.5 x 2304, x 128 heads x 61 layers = 36.85 GFLOP;
 * total ~258.9 GFLOP. Tolerance 3%: 37B is rounded (+-1.4%) and counts the
 * embedding, which does no matmul. The paper trains with one MTP module as
 * well (its FLOPs are not in 37B); not modelled.
 *
 * The implied MFU against the FP8 dense peak is compared with opbound's for
 * the stated setup: opbound's step is a roofline with calibrated kernel
 * efficiencies and no failures, restarts or load imbalance, so it must not
 * be below the run's average, and within 2x of it (the documented
 * plausibility band). */
static void test_deepseek_v3(void **state)
{
    (void)state;
    struct model *m = tu_model("deepseek-v3");
    struct device *d = tu_device("h800");
    const double attn = 2048.5 * (2 * (192 + 128) + 2 * (3 * 192 + 2 * 128)) * 128 * 61;
    const double hand = 6 * 37e9 + attn;
    struct train_cfg c = {.gpus = 2048, .seq = 4096, .global_tokens = 15360 * 4096.0,
                          .micro_batch = 1, .tp = 1, .pp = 16, .dp = 128, .cp = 1, .ep = 64,
                          .zero = 1, .pp_virtual = 1, .dt = DT_FP8};
    char msg[256];
    assert_int_equal(train_check(m, &c, msg, sizeof msg), 0);
    struct train_result r;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    assert_close(r.model_flops_per_token, hand, 0.03);
    const double per_gpu = 14.8e12 / (2.664e6 * 3600.0); /* tokens/s per GPU */
    assert_close(per_gpu, 1543.2, 1e-4);
    const double implied = per_gpu * r.model_flops_per_token / d->tensor_flops_per_s[DT_FP8];
    if (!(r.mfu >= implied && r.mfu <= 2 * implied))
        fail_msg("DeepSeek-V3: opbound MFU %.3f, implied by the GPU hours %.3f", r.mfu, implied);
    train_free(&r);
    device_free(d);
    model_free(m);
}

/* SQA's dense setting (paper sec. 4: dim 256, 8 layers, 16 heads of 16,
 * SwiGLU 768, vocabulary 10k, untied): GQA 16/4 against xSQA 4/4 and SQA
 * 8/4 at 200k tokens. By hand the attention core's FLOPs fall by H/Hq = 4
 * (xSQA) and 2 (SQA); the rest of the layer (2 x 2 x ~0.2M weights per token)
 * is below 2% of the attention's at 200k, so the training step's speedup is
 * bounded by 4 and 2. The abstract's "up to 3x" (measured, forward) must not
 * exceed opbound's predicted xSQA speedup, which must not exceed the bound. */
static const char SQA_FMT[] =
    "name: sqa-dense\nhidden: 256\nlayers: 8\nvocab: 10000\ntied_embeddings: false\n"
    "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
    "groups:\n  - repeat: 8\n"
    "    attention: {kind: sqa, heads: 16, query_heads: %d, kv_heads: %d, head_dim: 16}\n"
    "    ffn: {kind: swiglu, intermediate: 768}\n";

static double sqa_step(const struct device *d, int hq, int hkv, double S, double *attn_fwd)
{
    char y[512];
    snprintf(y, sizeof y, SQA_FMT, hq, hkv);
    struct model *m = text_model(y);
    struct train_cfg c = {.gpus = 1, .seq = S, .global_tokens = S, .micro_batch = 1, .tp = 1,
                          .pp = 1, .dp = 1, .cp = 1, .ep = 1, .pp_virtual = 1, .dt = DT_BF16};
    struct train_result r;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    *attn_fwd = 0;
    for (int i = 0; i < r.n_ops; i++)
        if (r.ops[i].fwd.kind == OP_ATTENTION) *attn_fwd += r.ops[i].fwd.cost.flops_mm;
    const double t = r.step_time_s;
    train_free(&r);
    model_free(m);
    return t;
}

static void test_sqa_claim(void **state)
{
    (void)state;
    struct device *d = tu_device("h100-sxm5-80gb");
    const double S = 200000;
    double a_gqa, a_x, a_s;
    const double t_gqa = sqa_step(d, 16, 4, S, &a_gqa);
    const double t_x = sqa_step(d, 4, 4, S, &a_x);
    const double t_s = sqa_step(d, 8, 4, S, &a_s);
    assert_close(a_gqa / a_x, 4, 1e-12);
    assert_close(a_gqa / a_s, 2, 1e-12);
    const double up_x = t_gqa / t_x, up_s = t_gqa / t_s;
    if (!(up_x >= 3.0 && up_x <= 4.0)) fail_msg("xSQA training speedup %.3f", up_x);
    if (!(up_s > 1.0 && up_s <= 2.0)) fail_msg("SQA training speedup %.3f", up_s);
    device_free(d);
}

/* CCA (abstract): at 16k, prefill ~1.7x and backward ~1.3x faster than MHA
 * with the fused kernel. The kernel benchmark's compression factor and heads
 * are not given in the abstract and the paper's tables were not readable
 * here: UNVERIFIED setting, assumed C = 2 on an E = 2048 model with 16 MHA
 * heads of 128 (CCA: 8 heads of 128 in the E/2 latent). The attention core's
 * FLOPs fall by C = 2 (paper, sec. 3: cost / C), so opbound's attention
 * forward and backward speedups must lie between the measured figures and C. */
static const char CCA_FMT[] =
    "name: cca-test\nhidden: 2048\nlayers: 1\nvocab: 1000\ntied_embeddings: false\n"
    "norm: rmsnorm\ndtypes: {weight: bf16, activation: bf16, kv: bf16}\n"
    "groups:\n  - repeat: 1\n    attention: %s\n    ffn: {kind: swiglu, intermediate: 8192}\n";

static void attn_times(const struct device *d, const char *attn, double *fwd, double *bwd)
{
    char y[1024];
    snprintf(y, sizeof y, CCA_FMT, attn);
    struct model *m = text_model(y);
    struct train_cfg c = {.gpus = 1, .seq = 16384, .global_tokens = 16384, .micro_batch = 1,
                          .tp = 1, .pp = 1, .dp = 1, .cp = 1, .ep = 1, .pp_virtual = 1,
                          .dt = DT_BF16};
    struct train_result r;
    assert_int_equal(train_run(m, d, &c, &r), 0);
    *fwd = *bwd = 0;
    for (int i = 0; i < r.n_ops; i++)
        if (r.ops[i].fwd.kind == OP_ATTENTION) {
            *fwd += r.ops[i].t_fwd_s;
            *bwd += r.ops[i].t_bwd_s;
        }
    train_free(&r);
    model_free(m);
}

static void test_cca_claim(void **state)
{
    (void)state;
    struct device *d = tu_device("h100-sxm5-80gb");
    double f_mha, b_mha, f_cca, b_cca;
    attn_times(d, "{kind: mha, heads: 16, head_dim: 128}", &f_mha, &b_mha);
    attn_times(d, "{kind: cca, heads: 8, compression: 2}", &f_cca, &b_cca);
    const double up_f = f_mha / f_cca, up_b = b_mha / b_cca;
    if (!(up_f >= 1.7 && up_f <= 2.0 + 1e-9)) fail_msg("CCA forward speedup %.3f", up_f);
    if (!(up_b >= 1.3 && up_b <= 2.0 + 1e-9)) fail_msg("CCA backward speedup %.3f", up_b);
    device_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama3_405b),
        cmocka_unit_test(test_deepseek_v3),
        cmocka_unit_test(test_sqa_claim),
        cmocka_unit_test(test_cca_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
