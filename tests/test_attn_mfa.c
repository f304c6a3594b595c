/* test_attn_mfa.c - the `mfa` attention kind (Multi-matrix Factorization
 * Attention) and the bundled Step-3 model: parameters, KV bytes, one layer's
 * FLOPs and bytes in prefill and decode, tensor parallelism, the figures of
 * the Step-3 report and model card, and bad input. Every expected value is
 * worked out by hand below from the formulas in docs/variants/mfa.md. */
#include "attn_util.h"

/* examples/attn-mfa.yaml: Llama-3-8B skeleton (h 4096, 32 layers, SwiGLU
 * 14336, V 128256, untied) with MFA H = 32, D = 256, C = 2048.
 * Attention per layer: q-down + k + v  h*(C + 2D) = 4096*2560 = 10,485,760
 *                      q norm          C          =             2,048
 *                      q-up            C*H*D      = 2048*8192 = 16,777,216
 *                      o_proj          H*D*h      = 8192*4096 = 33,554,432
 *                                                     total   60,819,456
 * Layer = 60,819,456 + SwiGLU 3*4096*14336 (176,160,768) + 2 norms (8,192)
 *       = 236,988,416.
 * Model = 2*V*h (1,050,673,152) + 32 layers (7,583,629,312) + final norm 4096
 *       = 8,634,306,560. Active = h + V*h + 32 layers + h = 8,108,974,080.
 * KV cache: one K and one V head of 256: 32 layers x 512 x 2 B = 32,768 B. */
static void test_attn_mfa_counts(void **state)
{
    (void)state;
    struct model *m = au_example("attn-mfa");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    const double h = 4096, H = 32, D = 256, C = 2048, V = 128256, I = 14336;
    const double attn = h * (C + 2 * D) + C + C * H * D + H * D * h;
    assert_exact(attn, 60819456.0);
    const double layer = attn + 3 * h * I + 2 * h;
    assert_exact(layer, 236988416.0);
    assert_exact(c.params, 2 * V * h + 32 * layer + h);
    assert_exact(c.params, 8634306560.0);
    assert_exact(c.active_params, 8108974080.0);
    assert_exact(c.kv_elems_per_token * 2, 32768.0);
    model_free(m);
}

/* Decode, B = 8 sequences at context L = 4095 (each new token sees L + 1
 * keys). Matmul FLOPs per layer: 2*B*(matrices) with matrices =
 * h(C+2D) + C*H*D + H*D*h + 3*h*I = 60,817,408 + 176,160,768 = 236,978,176;
 * attention: B*H*(L+1)*2*(D + D) = 32,768*B*(L+1).
 * Vector: attn/ffn RMSNorm 4*T*h each, q norm 4*T*C, rope 3*T*(H+1)*D,
 * softmax 5*B*H*(L+1), two residual adds T*h each, SiLU*up 5*T*I.
 * Weights read (bf16): matrices + q-norm C + two layer norms 2h.
 * KV read: B*(L+1) tokens x (256 + 256) x 2 B (one KV head). */
static void test_attn_mfa_decode_layer(void **state)
{
    (void)state;
    struct model *m = au_example("attn-mfa");
    struct graph g;
    const double B = 8, L = 4095, T = B, h = 4096, H = 32, D = 256, C = 2048, I = 14336;
    au_lower(m, &g, PHASE_DECODE, B, L, DT_BF16, 1);
    struct au_sums s = au_layer(&g, 0);
    assert_exact(s.mm, 2 * B * 236978176.0 + 32768.0 * B * (L + 1));
    assert_exact(s.vec, 4 * T * h * 2 + 4 * T * C + 3 * T * (H + 1) * D + 5 * B * H * (L + 1) +
                            2 * T * h + 5 * T * I);
    assert_exact(s.w, (236978176.0 + C + 2 * h) * 2);
    assert_exact(s.kv, B * (L + 1) * 512 * 2);
    const struct op *at = au_op(&g, 0, "attention");
    assert_exact(at->shape.attn.kv_width, 2 * D);
    assert_exact(at->shape.attn.dqk, D);
    assert_true(at->shape.attn.kv_cached);
    graph_free(&g);
    model_free(m);
}

/* Prefill of one sequence of S = 2048: matmul FLOPs 2*S*236,978,176 plus
 * causal attention H * S(S+1)/2 pairs * 4D; K and V are fresh activations. */
static void test_attn_mfa_prefill_layer(void **state)
{
    (void)state;
    struct model *m = au_example("attn-mfa");
    struct graph g;
    const double S = 2048;
    au_lower(m, &g, PHASE_PREFILL, 1, S, DT_BF16, 1);
    struct au_sums s = au_layer(&g, 0);
    assert_exact(s.mm, 2 * S * 236978176.0 + 32 * S * (S + 1) / 2 * 4 * 256);
    assert_exact(s.kv, 0);
    assert_false(au_op(&g, 0, "attention")->shape.attn.kv_cached);
    graph_free(&g);
    model_free(m);
}

/* Tensor parallelism over 4 devices (vLLM's split): the h -> C + 2D
 * projection, the q norm and the one KV head are replicated; q-up and o_proj
 * hold H/4 = 8 heads. Attention per device: 10,485,760 + 2,048 +
 * 2048*8*256 (4,194,304) + 8*256*4096 (8,388,608) = 23,070,720; SwiGLU
 * 3*4096*3584 = 44,040,192; norms 8,192 -> 67,119,104 per layer; embedding and
 * lm_head 2*128256*4096/4 = 262,668,288; final norm 4,096. The KV cache per
 * device is the whole single head: 32 x 512 elements. 32 heads over 3
 * devices are refused. */
static void test_attn_mfa_tp(void **state)
{
    (void)state;
    struct model *m = au_example("attn-mfa");
    struct model_counts c;
    model_count(m, 4, &c);
    assert_exact(c.params_dev, 32 * 67119104.0 + 262668288.0 + 4096);
    assert_exact(c.kv_elems_per_token_dev, 32 * 512.0);
    struct err e;
    assert_int_equal(model_tp_check(m, 8, &e), 0);
    assert_int_equal(model_tp_check(m, 3, &e), -1);
    assert_non_null(strstr(e.msg, "heads (32) not divisible by 3"));
    model_free(m);
}

/* Step-3 (models/step-3.yaml), from config.json: h 7168, 61 layers (0-3 and
 * 60 dense, 4-59 MoE), H 64, D 256, C 2048, dense I 18432, 48 experts of
 * 5120, top-3, one shared expert of 5120, V 128815, untied.
 *   attention  7168*(2048+512) + 2048 + 2048*64*256 + 64*256*7168
 *            = 18,350,080 + 2,048 + 33,554,432 + 117,440,512 = 169,347,072
 *   dense FFN  3*7168*18432 = 396,361,728
 *   MoE FFN    router 7168*48 (344,064) + 48 x 3*7168*5120 (5,284,823,040)
 *              + shared 110,100,480 = 5,395,267,584
 *   dense layer 169,347,072 + 396,361,728 + 14,336 = 565,723,136
 *   MoE layer   169,347,072 + 5,395,267,584 + 14,336 = 5,564,628,992
 *   total = 5 x 565,723,136 + 56 x 5,564,628,992 + 2 x 128815 x 7168
 *           + 7168 = 316,294,538,240
 * The model card says "Total Parameters (LLM) 316B" (and 321B with the vision
 * encoder, which opbound does not model): ours is 316.29B.
 * Active: MoE layers touch router + 3 experts + shared = 440,745,984 of FFN;
 * 5 x 565,723,136 + 56 x 610,107,392 + one embedding row 7,168 + lm_head
 * 923,345,920 + final norm 7,168 = 37,917,989,888 = 37.9B, the card's "38B".
 * Counting the whole embedding matrix active (as Qwen does) would give
 * 38,841,328,640 = 38.8B, which would not round to 38: StepFun's figure
 * matches our one-row convention. KV per token: 61 x 2 x 256 x 2 B = 62,464. */
static void test_attn_mfa_step3_counts(void **state)
{
    (void)state;
    struct model *m = tu_model("step-3");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    const double h = 7168, V = 128815, attn = 169347072.0;
    assert_exact(h * (2048 + 512) + 2048 + 2048 * 64 * 256 + 64 * 256 * h, attn);
    const double dense = attn + 3 * h * 18432 + 2 * h;
    const double moe = attn + h * 48 + 48 * 3 * h * 5120 + 3 * h * 5120 + 2 * h;
    const double moe_active = attn + h * 48 + 3 * 3 * h * 5120 + 3 * h * 5120 + 2 * h;
    assert_exact(dense, 565723136.0);
    assert_exact(moe, 5564628992.0);
    assert_exact(moe_active, 610107392.0);
    assert_exact(c.params, 5 * dense + 56 * moe + 2 * V * h + h);
    assert_exact(c.params, 316294538240.0);
    assert_exact(round(c.params / 1e9), 316.0);      /* card: 316B (LLM) */
    assert_exact(round(m->published_params / 1e9), 316.0);
    assert_exact(c.active_params, 5 * dense + 56 * moe_active + h + V * h + h);
    assert_exact(c.active_params, 37917989888.0);
    assert_exact(round(c.active_params / 1e9), 38.0); /* card and report: 38B */
    assert_exact(c.active_params - h + V * h, 38841328640.0);
    assert_exact(c.kv_elems_per_token * 2, 62464.0);
    model_free(m);
}

/* The Step-3 report compares attention designs per decoded token at a 32K
 * context with an 8-bit KV cache (its table of KV size, attention FLOPs and
 * arithmetic intensity; values as quoted from it: Step-3 MFA 1.02E+9 bytes,
 * 1.31E+11 FLOPs, intensity 128; Qwen3-235B GQA 3.15E+9, 1.01E+11, 32).
 * By hand for Step-3: KV 61 layers x 512 B x 32,768 tokens = 1,023,410,176;
 * FLOPs 61 x 64 heads x 32,768 keys x 2 x (256 + 256) = 130,996,502,528;
 * ratio = 64 x 1024 / 512 = 128. Qwen3-235B: 94 x 1024 B x 32,768 =
 * 3,154,116,608; 94 x 64 x 32,768 x 512 = 100,931,731,456; ratio 32.
 * Our decode at context L = 32,767 attends L + 1 = 32,768 keys. */
/* x rounds to `printed`, a figure printed to three significant digits. */
static int printed3(double x, double printed)
{
    return fabs(x - printed) <= 0.5 * pow(10, floor(log10(printed)) - 2);
}

static void attn_table_row(const char *name, double kv_bytes, double flops,
                           double intensity, double kv_printed, double flops_printed)
{
    struct model *m = tu_model(name);
    assert_non_null(m);
    struct graph g;
    au_lower(m, &g, PHASE_DECODE, 1, 32767, DT_FP8, 1);
    double mm = 0, kv = 0;
    for (int i = 0; i < g.n; i++)
        if (g.ops[i].kind == OP_ATTENTION) {
            mm += g.ops[i].cost.flops_mm * g.ops[i].layer_count;
            kv += g.ops[i].cost.bytes_kv * g.ops[i].layer_count;
        }
    assert_exact(kv, kv_bytes);
    assert_exact(mm, flops);
    assert_exact(mm / kv, intensity);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.kv_elems_per_token * 32768 * 1, kv_bytes); /* fp8: 1 B/element */
    assert_true(printed3(kv_bytes, kv_printed));
    assert_true(printed3(flops, flops_printed));
    graph_free(&g);
    model_free(m);
}

static void test_attn_mfa_step3_report_table(void **state)
{
    (void)state;
    attn_table_row("step-3", 1023410176.0, 130996502528.0, 128, 1.02e9, 1.31e11);
    attn_table_row("qwen3-235b-a22b", 3154116608.0, 100931731456.0, 32, 3.15e9, 1.01e11);
}

/* Bad input: a rank larger than hidden; a missing rank; a misspelt key. */
static void test_attn_mfa_errors(void **state)
{
    (void)state;
    char buf[1024];
    au_expect_error(au_base(buf, sizeof buf, "{kind: mfa, heads: 32, head_dim: 256, q_rank: 5000}"),
                    10, "5000", "q_rank (5000) must not exceed hidden (4096)");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mfa, heads: 32, head_dim: 256}"), 10, "{",
                    "missing required key 'q_rank' in attention block 'mfa'");
    au_expect_error(au_base(buf, sizeof buf,
                            "{kind: mfa, heads: 32, head_dim: 256, q_rank: 1024, kv_heads: 1}"),
                    10, "kv_heads", "unknown key 'kv_heads' in attention block 'mfa'");
    au_expect_error(au_base(buf, sizeof buf, "{kind: mfa, heads: 0, head_dim: 256, q_rank: 64}"),
                    10, "0,", "'heads' must be at least 1, got 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attn_mfa_counts),
        cmocka_unit_test(test_attn_mfa_decode_layer),
        cmocka_unit_test(test_attn_mfa_prefill_layer),
        cmocka_unit_test(test_attn_mfa_tp),
        cmocka_unit_test(test_attn_mfa_step3_counts),
        cmocka_unit_test(test_attn_mfa_step3_report_table),
        cmocka_unit_test(test_attn_mfa_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
