/* test_plan.c - `opbound plan` (sim/plan.c): the candidates searched (tp that
 * splits the heads, batches 1, 2, 4, ... up to the largest that fits), the
 * serving formulas of every row (docs/plan.md) recomputed here, the Pareto
 * front against a brute-force dominance check, the objective, the targets and
 * the command's errors. */
#include "testutil.h"

#include "../sim/plan.h"

static void check_rows(const struct plan_result *r, const struct plan_req *q,
                       const struct device *d)
{
    for (int i = 0; i < r->n; i++) {
        const struct plan_row *w = &r->rows[i];
        /* a decode step carries batch/osl prefills on average */
        assert_close(w->tpot_s, w->t_decode_s + w->batch / q->osl * w->ttft_s, 1e-15);
        assert_close(w->tok_s_user, 1.0 / w->tpot_s, 1e-15);
        assert_close(w->tok_s_gpu, w->batch / (w->tpot_s * w->tp * w->ep), 1e-15);
        assert_exact(w->gpus, w->tp * w->ep);
        assert_exact(w->replicas, floor(q->gpus / w->gpus));
        if (d->price_usd_per_hour > 0)
            assert_close(w->usd_per_mtok, d->price_usd_per_hour / 3600 / w->tok_s_gpu * 1e6,
                         1e-12);
        const bool ok = w->memory_bytes <= d->mem_capacity_bytes &&
                        (q->tpot_max_s <= 0 || w->tpot_s <= q->tpot_max_s) &&
                        (q->ttft_max_s <= 0 || w->ttft_s <= q->ttft_max_s);
        assert_int_equal(w->meets, ok);
    }
}

static void test_plan_llama8b(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct plan_req q = {.gpus = 8, .isl = 1024, .osl = 256, .tpot_max_s = 0.02,
                         .vary_dtypes = true};
    struct plan_result r;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    check_rows(&r, &q, d);
    /* tp 1, 2, 4, 8 (32 heads, 8 KV heads), no ep (dense); 3 weight x 2 KV dtypes;
     * per (tp, dtypes) the batches run 1, 2, 4, ... and end at the largest */
    bool seen_tp[9] = {0};
    for (int i = 0; i < r.n; i++) {
        const struct plan_row *w = &r.rows[i];
        assert_exact(w->ep, 1);
        seen_tp[(int)w->tp] = true;
        if (i + 1 < r.n && r.rows[i + 1].tp == w->tp && r.rows[i + 1].dt_w == w->dt_w &&
            r.rows[i + 1].dt_kv == w->dt_kv) {
            const double next = r.rows[i + 1].batch;
            assert_true(next == 2 * w->batch || (next < 2 * w->batch && next > w->batch));
        }
    }
    assert_true(seen_tp[1] && seen_tp[2] && seen_tp[4] && seen_tp[8]);
    /* best: the highest tokens/s per GPU among the rows meeting the target */
    assert_true(r.best >= 0);
    for (int i = 0; i < r.n; i++)
        if (r.rows[i].meets) assert_true(r.rows[i].tok_s_gpu <= r.rows[r.best].tok_s_gpu);
    /* front: no meeting row beats a front row on both axes, and every meeting
     * row off the front is matched or beaten by a front row on both */
    for (int f = 0; f < r.n_pareto; f++) {
        const struct plan_row *p = &r.rows[r.pareto[f]];
        assert_true(p->meets);
        for (int i = 0; i < r.n; i++) {
            const struct plan_row *w = &r.rows[i];
            if (w->meets)
                assert_false(w->tok_s_gpu > p->tok_s_gpu && w->tok_s_user > p->tok_s_user);
        }
    }
    for (int i = 0; i < r.n; i++) {
        if (!r.rows[i].meets) continue;
        bool covered = false;
        for (int f = 0; f < r.n_pareto; f++) {
            const struct plan_row *p = &r.rows[r.pareto[f]];
            covered |= p->tok_s_gpu >= r.rows[i].tok_s_gpu && p->tok_s_user >= r.rows[i].tok_s_user;
        }
        assert_true(covered);
    }
    plan_free(&r);
    /* keeping the model's dtypes: bf16 only */
    q.vary_dtypes = false;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    for (int i = 0; i < r.n; i++) assert_true(r.rows[i].dt_w == DT_BF16 && r.rows[i].dt_kv == DT_BF16);
    plan_free(&r);
    /* an impossible target: nothing meets it */
    q.tpot_max_s = 1e-6;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    assert_int_equal(r.best, -1);
    assert_int_equal(r.n_pareto, 0);
    plan_free(&r);
    device_free(d);
    model_free(m);
}

/* A MoE model tries expert parallelism (tp 1): Mixtral's 8 experts split over
 * ep 2, 4, 8; tp 8 splits its 32 heads / 8 KV heads too. */
static void test_plan_moe(void **state)
{
    (void)state;
    struct model *m = tu_model("mixtral-8x7b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct plan_req q = {.gpus = 8, .isl = 512, .osl = 128, .vary_dtypes = false};
    struct plan_result r;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    check_rows(&r, &q, d);
    bool ep_seen[9] = {0};
    for (int i = 0; i < r.n; i++) {
        if (r.rows[i].ep > 1) assert_exact(r.rows[i].tp, 1);
        ep_seen[(int)r.rows[i].ep] = true;
    }
    assert_true(ep_seen[2] && ep_seen[4] && ep_seen[8]);
    plan_free(&r);
    device_free(d);
    model_free(m);
}

static void test_plan_cli(void **state)
{
    (void)state;
    char out[65536], err[4096];
    assert_int_equal(tu_run("plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 256 --tpot 20 "
                            "--top 3",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "Pareto front"));
    assert_non_null(strstr(out, "The best configuration's decode step"));
    assert_int_equal(tu_run("plan llama-3-8b --hw h100 --gpus 8 --isl 1k", out, sizeof out, err,
                            sizeof err),
                     2);
    assert_non_null(strstr(err, "missing --isl S and --osl T"));
    assert_int_equal(tu_run("plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --tpot -3",
                            out, sizeof out, err, sizeof err),
                     2);
    assert_non_null(strstr(err, "--tpot '-3'"));
    assert_int_equal(tu_run("plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --tp 2", out,
                            sizeof out, err, sizeof err),
                     2);
}

/* Progress (plan.h, q.progress): called with done rising to its total, the
 * last call done == total. On 8 GPUs the search visits (tp, ep) with
 * tp x ep <= 8: tp 1 with ep 1, 2, 4, 8; tp 2 with 1, 2, 4; tp 4 with 1, 2;
 * tp 8 with 1: 10 pairs, x 3 weight dtypes x 2 KV dtypes = 60 groups. */
struct pg_log {
    int calls, last_done, total;
    bool rising;
};

static void pg_cb(void *ctx, int done, int total)
{
    struct pg_log *l = ctx;
    if (l->calls && done < l->last_done) l->rising = false;
    l->calls++;
    l->last_done = done;
    l->total = total;
}

static void test_plan_progress(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct pg_log l = {.rising = true};
    struct plan_req q = {.gpus = 8, .isl = 1024, .osl = 256, .vary_dtypes = true,
                         .progress = pg_cb, .progress_ctx = &l};
    struct plan_result r;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    assert_true(l.rising);
    assert_int_equal(l.total, 60);
    assert_int_equal(l.last_done, 60);
    assert_true(l.calls >= 2);
    plan_free(&r);
    model_free(m);
    device_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_llama8b),
        cmocka_unit_test(test_plan_moe),
        cmocka_unit_test(test_plan_cli),
        cmocka_unit_test(test_plan_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
