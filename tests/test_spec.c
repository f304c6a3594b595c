/* test_spec.c - speculative decoding (sim/spec.c, docs/speculative.md): the
 * expected tokens per iteration by hand and by enumeration, the verify step's
 * shape (k + 1 queries over the context), the iteration's composition, and
 * DeepSeek-V3's MTP setting (one draft token at 85-90% acceptance: 1.85-1.9
 * tokens per step, the report's "1.8x"). */
#include "testutil.h"

#include "../sim/spec.h"

static void test_expected_tokens(void **state)
{
    (void)state;
    /* k = 4, a = 0.8: 1 + 0.8 + 0.64 + 0.512 + 0.4096 = 3.3616 */
    assert_close(spec_expected_tokens(4, 0.8), 3.3616, 1e-12);
    assert_exact(spec_expected_tokens(3, 1.0), 4);
    assert_exact(spec_expected_tokens(2, 0.0), 1);
    /* enumeration for k = 2, a = 0.5: the iteration yields the accepted
     * prefix plus one token: P(0 accepted) 0.5 -> 1 token, P(1) 0.25 -> 2,
     * P(2) 0.25 -> 3: 0.5 + 0.5 + 0.75 = 1.75 */
    assert_close(spec_expected_tokens(2, 0.5), 1.75, 1e-15);
}

static void test_spec_step(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct step st = {.phase = PHASE_DECODE, .batch = 4, .q_len = 1, .ctx_prior = 1000, .tp = 1,
                      .dt_w = m->dt_w, .dt_act = m->dt_act, .dt_kv = m->dt_kv};
    struct spec_cfg c = {.k = 3, .accept = 0.7};
    struct spec_result r;
    /* the model as its own draft: every part is then a known multiple */
    assert_int_equal(spec_run(m, m, d, &st, &c, &r), 0);
    assert_close(r.t_draft_s, r.t_plain_s, 1e-15);
    assert_close(r.t_iter_s, 3 * r.t_draft_s + r.t_verify_s, 1e-15);
    const double e = 1 + 0.7 + 0.49 + 0.343; /* 2.533 */
    assert_close(r.tokens_per_iter, e, 1e-12);
    assert_close(r.tpot_s, r.t_iter_s / e, 1e-15);
    assert_close(r.tokens_per_s, 4 * e / r.t_iter_s, 1e-15);
    /* the verify step is memory-bound like decode: it reads the weights once
     * for 4 tokens per sequence, so it costs more than one decode step and
     * much less than four */
    assert_true(r.t_verify_s > r.t_plain_s && r.t_verify_s < 2 * r.t_plain_s);
    /* its attention: 4 queries over 1000 cached keys: 4*1000 + 4*5/2 = 4010
     * pairs per head and sequence */
    struct graph g;
    assert_int_equal(graph_init(&g, model_max_ops(m)), 0);
    struct step v = st;
    v.q_len = 4;
    model_lower(m, &v, &g);
    for (int i = 0; i < g.n; i++)
        if (g.ops[i].kind == OP_ATTENTION) assert_exact(g.ops[i].shape.attn.pairs, 4010);
    graph_free(&g);
    device_free(d);
    model_free(m);
}

/* DeepSeek-V3 with its MTP module as the draft, one proposal at 85% and 90%:
 * 1.85 and 1.9 tokens per iteration (report, sec. 5.4.3: 85-90% acceptance,
 * 1.8x tokens per second). The speedup in time is lower than the tokens per
 * iteration: the MTP step and the 2-token verify cost more than a decode step. */
static void test_deepseek_mtp(void **state)
{
    (void)state;
    struct model *m = tu_model("deepseek-v3");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/deepseek-v3-mtp.yaml", OB_DATADIR);
    struct model *mtp = NULL;
    struct err e;
    assert_int_equal(model_load(path, &mtp, &e), 0);
    struct device *d = tu_device("h100-sxm5-80gb");
    struct step st = {.phase = PHASE_DECODE, .batch = 32, .q_len = 1, .ctx_prior = 4096, .tp = 8,
                      .dt_w = m->dt_w, .dt_act = m->dt_act, .dt_kv = m->dt_kv};
    struct spec_cfg c = {.k = 1, .accept = 0.85};
    struct spec_result r;
    assert_int_equal(spec_run(m, mtp, d, &st, &c, &r), 0);
    assert_close(r.tokens_per_iter, 1.85, 1e-12);
    assert_true(r.speedup > 1.0 && r.speedup < 1.85);
    c.accept = 0.9;
    assert_int_equal(spec_run(m, mtp, d, &st, &c, &r), 0);
    assert_close(r.tokens_per_iter, 1.9, 1e-12);
    device_free(d);
    model_free(mtp);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_tokens),
        cmocka_unit_test(test_spec_step),
        cmocka_unit_test(test_deepseek_mtp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
