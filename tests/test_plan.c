/* test_plan.c - `opbound plan` (sim/plan.c, sim/plan_shard.c): the
 * candidates searched (tp that splits the heads, every batch up to the largest
 * that fits), the serving formulas of every row (docs/plan.md) recomputed
 * here, the KV transfer and memory worked out by hand, the front and the top
 * against brute force, the cached search against the full analysis per
 * configuration, threads, shards merged against the unsharded run (in memory
 * and through the CSV files), and the command's errors. */
#include "testutil.h"

#include "../sim/plan.h"
#include "../sim/plan_shard.h"

static void check_rows(const struct plan_result *r, const struct plan_req *q,
                       const struct device *d)
{
    for (int i = 0; i < r->n; i++) {
        const struct plan_row *w = &r->rows[i];
        if (i > 0) assert_true(r->rows[i - 1].key < w->key);
        assert_close(w->tok_s_user, 1.0 / w->tpot_s, 1e-15);
        assert_exact(w->replicas, floor(q->gpus / w->gpus));
        assert_true(w->gpus <= q->gpus);
        if (w->mode == PLAN_AGG) {
            /* a decode step carries batch/osl prefills on average */
            assert_close(w->tpot_s, w->t_decode_s + w->batch / q->osl * w->t_prefill_s, 1e-15);
            assert_close(w->tok_s_gpu, w->batch / (w->tpot_s * w->tp * w->ep), 1e-15);
            assert_exact(w->gpus, w->tp * w->ep);
            assert_exact(w->ttft_s, w->t_prefill_s);
        } else {
            /* pools: the decode pool's request rate n_d B / (osl t_d), the
             * fewest prefill deployments (each 1/t_p requests/s) that keep up */
            const double rate = w->n_decode * w->batch / (q->osl * w->t_decode_s);
            assert_exact(w->tpot_s, w->t_decode_s);
            assert_close(w->ttft_s, w->t_prefill_s + w->t_kv_s, 1e-15);
            assert_true(w->n_prefill / w->t_prefill_s >= rate * (1 - 1e-12));
            if (w->n_prefill > 1) assert_true((w->n_prefill - 1) / w->t_prefill_s < rate);
            assert_exact(w->gpus, w->n_prefill * w->tp_p * w->ep_p + w->n_decode * w->tp * w->ep);
            assert_close(w->tok_s_gpu, w->n_decode * w->batch / w->t_decode_s / w->gpus, 1e-15);
        }
        if (d->price_usd_per_hour > 0)
            assert_close(w->usd_per_mtok, d->price_usd_per_hour / 3600 / w->tok_s_gpu * 1e6,
                         1e-12);
        assert_true(w->memory_bytes <= d->mem_capacity_bytes);
        const bool ok = (q->tpot_max_s <= 0 || w->tpot_s <= q->tpot_max_s) &&
                        (q->ttft_max_s <= 0 || w->ttft_s <= q->ttft_max_s);
        assert_int_equal(w->meets, ok);
    }
}

/* before(a, b): a precedes b in the front's order and is at least as good on
 * tokens/s per GPU, i.e. b is not on the front. */
static bool beaten(const struct plan_row *a, const struct plan_row *b)
{
    if (a->tok_s_user < b->tok_s_user || a->tok_s_gpu < b->tok_s_gpu) return false;
    return a->tok_s_user > b->tok_s_user || a->tok_s_gpu > b->tok_s_gpu || a->key < b->key;
}

/* Front and top against brute force over every row (keep_all). */
static void check_front_top(const struct plan_result *r, const struct plan_req *q)
{
    int on_front = 0;
    for (int i = 0; i < r->n; i++) {
        if (!r->rows[i].meets) continue;
        bool dominated = false;
        for (int j = 0; j < r->n && !dominated; j++)
            dominated = j != i && r->rows[j].meets && beaten(&r->rows[j], &r->rows[i]);
        bool listed = false;
        for (int f = 0; f < r->n_pareto; f++) listed |= r->pareto[f] == i;
        assert_int_equal(listed, !dominated);
        on_front += !dominated;
    }
    assert_int_equal(on_front, r->n_pareto);
    for (int f = 1; f < r->n_pareto; f++) /* falling tokens/s per user */
        assert_true(r->rows[r->pareto[f]].tok_s_user <= r->rows[r->pareto[f - 1]].tok_s_user);
    /* top: each deployment (the key less its batch) once, at its best row */
    const uint64_t batch_bits = (uint64_t)0xFFFFFF << 16;
    for (int t = 0; t < r->n_top; t++) {
        const struct plan_row *w = &r->rows[r->top[t]];
        assert_true(w->meets);
        if (t > 0) assert_true(plan_row_before(&r->rows[r->top[t - 1]], w, q->objective));
        for (int i = 0; i < r->n; i++) {
            const struct plan_row *x = &r->rows[i];
            if (!x->meets || i == r->top[t]) continue;
            if ((x->key & ~batch_bits) == (w->key & ~batch_bits))
                assert_false(plan_row_before(x, w, q->objective));
            /* a row ranking above a top row belongs to a deployment listed above */
            if (plan_row_before(x, w, q->objective)) {
                bool above = false;
                for (int u = 0; u < t; u++)
                    above |= (r->rows[r->top[u]].key & ~batch_bits) == (x->key & ~batch_bits);
                assert_true(above);
            }
        }
    }
    if (r->n_top > 0) assert_int_equal(r->best, r->top[0]);
    else assert_int_equal(r->best, -1);
    for (int mo = 0; mo < PLAN_MODE_COUNT; mo++)
        for (int i = 0; i < r->n; i++)
            if (r->rows[i].meets && (int)r->rows[i].mode == mo)
                assert_false(plan_row_before(&r->rows[i], &r->rows[r->best_mode[mo]], q->objective));
}

static const struct plan_req LLAMA_Q = {.gpus = 2, .isl = 8192, .osl = 2048, .tpot_max_s = 0.03,
                                        .ttft_max_s = 1.0, .vary_dtypes = true, .keep_all = true,
                                        .top = 8};

static void test_plan_llama8b(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct plan_req q = LLAMA_Q;
    struct plan_result r;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    check_rows(&r, &q, d);
    check_front_top(&r, &q);
    assert_true(r.best >= 0);
    assert_true(r.best_mode[PLAN_AGG] >= 0 && r.best_mode[PLAN_DISAGG] >= 0);
    /* tp 1, 2 (32 heads, 8 KV heads); 3 weight x 2 KV dtypes; per (tp, dtypes) the
     * aggregated batches run 1, 2, 3, ... to the largest that fits at isl + osl */
    struct analysis an;
    assert_int_equal(analysis_init(&an, m), 0);
    int cfgs = 0;
    for (int i = 0; i < r.n; i++) {
        const struct plan_row *w = &r.rows[i];
        if (w->mode != PLAN_AGG) continue;
        assert_exact(w->ep, 1);
        const bool first = i == 0 || r.rows[i - 1].mode != PLAN_AGG ||
                           r.rows[i - 1].tp != w->tp || r.rows[i - 1].dt_w != w->dt_w ||
                           r.rows[i - 1].dt_kv != w->dt_kv || r.rows[i - 1].dt_gemm != w->dt_gemm;
        if (first) {
            assert_exact(w->batch, 1);
            cfgs++;
        } else {
            /* every batch to 512, then steps of floor(B/256), ending at the largest */
            const double prev = r.rows[i - 1].batch;
            const double step = prev >= 512 ? floor(prev / 256) : 1;
            assert_true(w->batch == prev + step || (w->batch > prev && w->batch < prev + step));
        }
        /* the last batch of a cfg fits at context isl + osl, one more does not */
        const bool last = i + 1 == r.n || r.rows[i + 1].mode != PLAN_AGG ||
                          r.rows[i + 1].batch == 1;
        if (last) {
            struct scenario sc = {.phase = PHASE_DECODE, .batch = w->batch,
                                  .context = q.isl + q.osl - 1, .tp = w->tp, .has_dt_w = true,
                                  .has_dt_kv = true, .dt_w = w->dt_w, .dt_kv = w->dt_kv,
                                  .has_dt_gemm = true, .dt_gemm = w->dt_gemm};
            analysis_run(&an, m, d, &sc);
            assert_true(an.fits);
            sc.batch += 1;
            analysis_run(&an, m, d, &sc);
            assert_false(an.fits);
        }
    }
    /* x 2 GEMM compute dtypes: bf16 and fp8 (the H100 lists an fp8 rate) */
    assert_int_equal(cfgs, 24);
    analysis_free(&an);
    plan_free(&r);
    /* keeping the model's dtypes: bf16 only */
    q.vary_dtypes = false;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    for (int i = 0; i < r.n; i++)
        assert_true(r.rows[i].dt_w == DT_BF16 && r.rows[i].dt_kv == DT_BF16 &&
                    r.rows[i].dt_gemm == DT_BF16);
    plan_free(&r);
    /* the A100 lists no fp8 tensor rate: no fp8 GEMMs searched there (the
     * H100 search above had them: 24 cfgs) */
    struct device *a100 = tu_device("a100-sxm4-80gb");
    q.vary_dtypes = true;
    assert_int_equal(plan_run(m, a100, &q, &r), 0);
    assert_true(r.n > 0);
    for (int i = 0; i < r.n; i++)
        assert_true(r.rows[i].dt_gemm == DT_BF16 && r.rows[i].dt_gemm_p == DT_BF16);
    plan_free(&r);
    device_free(a100);
    q.vary_dtypes = false;
    /* an impossible target: nothing meets it */
    q.tpot_max_s = 1e-6;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    assert_int_equal(r.best, -1);
    assert_int_equal(r.n_pareto, 0);
    assert_int_equal(r.n_top, 0);
    plan_free(&r);
    device_free(d);
    model_free(m);
}

/* By hand, llama-3-8b (32 layers, 8 KV heads of 128, bf16): one token's K
 * and V take 32 x 2 x 8 x 128 x 2 B = 131,072 B. A prompt of 8,192 tokens:
 * 1,073,741,824 B (1 GiB) from one prefill device, half of it from each of
 * tp 2, half again in fp8. Over one 450 GB/s NVLink direction (h100):
 * 1,073,741,824 / 450e9 = 2.386093e-3 s. Memory at isl + osl = 10,240 tokens:
 * weights 8,030,261,248 x 2 B (tp 1, bf16) + B x 10,240 x 131,072 B + the
 * step's largest activation. */
static void test_plan_by_hand(void **state)
{
    (void)state;
    struct model *m = tu_model("llama-3-8b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct plan_req q = LLAMA_Q;
    struct plan_result r;
    assert_int_equal(plan_run(m, d, &q, &r), 0);
    struct analysis an;
    assert_int_equal(analysis_init(&an, m), 0);
    int seen = 0;
    for (int i = 0; i < r.n; i++) {
        const struct plan_row *w = &r.rows[i];
        if (w->mode == PLAN_DISAGG) {
            const double kv_b = w->dt_kv == DT_FP8 ? 1 : 2;
            assert_close(w->t_kv_s, 1073741824.0 / 2 * kv_b / w->tp_p / 450e9, 1e-12);
            seen |= 1;
        }
        if (w->mode == PLAN_AGG && w->tp == 1 && w->dt_w == DT_BF16 && w->dt_kv == DT_BF16 &&
            w->dt_gemm == DT_BF16 && (w->batch == 1 || w->batch == 7)) {
            struct scenario sc = {.phase = PHASE_DECODE, .batch = w->batch,
                                  .context = q.isl + q.osl / 2, .tp = 1};
            analysis_run(&an, m, d, &sc);
            assert_close(w->memory_bytes,
                         8030261248.0 * 2 + w->batch * 10240.0 * 131072.0 + an.act_bytes, 1e-12);
            /* the decode step is the engine's at the middle of the output */
            assert_exact(w->t_decode_s, an.tot.time_s);
            seen |= 2;
        }
    }
    assert_int_equal(seen, 3);
    /* the prefill term: one prompt of 8,192 tokens alone */
    struct scenario pre = {.phase = PHASE_PREFILL, .batch = 1, .seq = 8192, .tp = 1};
    analysis_run(&an, m, d, &pre);
    for (int i = 0; i < r.n; i++)
        if (r.rows[i].tp == 1 && r.rows[i].dt_w == DT_BF16 && r.rows[i].dt_kv == DT_BF16 &&
            r.rows[i].dt_gemm == DT_BF16 && r.rows[i].mode == PLAN_AGG)
            assert_exact(r.rows[i].t_prefill_s, an.tot.time_s);
    analysis_free(&an);
    plan_free(&r);
    device_free(d);
    model_free(m);
}

static void assert_same_result(const struct plan_result *a, const struct plan_result *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        const struct plan_row *x = &a->rows[i], *y = &b->rows[i];
        assert_true(x->key == y->key);
        assert_int_equal(x->mode, y->mode);
        assert_int_equal(x->dt_w, y->dt_w);
        assert_int_equal(x->dt_kv, y->dt_kv);
        assert_int_equal(x->dt_w_p, y->dt_w_p);
        assert_int_equal(x->meets, y->meets);
        assert_int_equal(x->sample, y->sample);
        const double xs[] = {x->tp, x->ep, x->gpus, x->replicas, x->batch, x->n_prefill,
                             x->n_decode, x->tp_p, x->ep_p, x->t_prefill_s, x->t_kv_s,
                             x->ttft_s, x->t_decode_s, x->tpot_s, x->tok_s_user, x->tok_s_gpu,
                             x->tok_s_total, x->usd_per_mtok, x->memory_bytes};
        const double ys[] = {y->tp, y->ep, y->gpus, y->replicas, y->batch, y->n_prefill,
                             y->n_decode, y->tp_p, y->ep_p, y->t_prefill_s, y->t_kv_s,
                             y->ttft_s, y->t_decode_s, y->tpot_s, y->tok_s_user, y->tok_s_gpu,
                             y->tok_s_total, y->usd_per_mtok, y->memory_bytes};
        for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) assert_exact(xs[k], ys[k]);
    }
    assert_int_equal(a->n_top, b->n_top);
    for (int i = 0; i < a->n_top; i++) assert_int_equal(a->top[i], b->top[i]);
    assert_int_equal(a->n_pareto, b->n_pareto);
    for (int i = 0; i < a->n_pareto; i++) assert_int_equal(a->pareto[i], b->pareto[i]);
    assert_int_equal(a->best, b->best);
    for (int i = 0; i < PLAN_MODE_COUNT; i++) assert_int_equal(a->best_mode[i], b->best_mode[i]);
    assert_exact(a->configs, b->configs);
    assert_exact(a->meets, b->meets);
}

/* The cached search (one lowering per batch, threads) gives the rows of the
 * old one (a full analysis_run per configuration, one thread). */
static void test_plan_cached_same(void **state)
{
    (void)state;
    struct model *m = tu_model("mixtral-8x7b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct plan_req q = {.gpus = 4, .isl = 4096, .osl = 1024, .tpot_max_s = 0.04,
                         .vary_dtypes = true, .keep_all = true, .no_disagg = true};
    struct plan_result a, b, c;
    q.naive = true;
    assert_int_equal(plan_run(m, d, &q, &a), 0);
    assert_int_equal(a.threads, 1);
    q.naive = false;
    q.threads = 1;
    assert_int_equal(plan_run(m, d, &q, &b), 0);
    q.threads = 3;
    assert_int_equal(plan_run(m, d, &q, &c), 0);
    assert_true(a.n > 100);
    assert_same_result(&a, &b);
    assert_same_result(&a, &c);
    /* cfgs: tp 1, 2, 4 (32 heads, 8 KV heads) and ep 2, 4 at tp 1 (8 experts),
     * x 3 weight x 2 KV x 2 GEMM dtypes = 60, four step analyses each (prefill and
     * decode at the longest context, both phases); then one per batch, or
     * two with the full analysis */
    assert_exact(a.analyses - b.analyses, b.analyses - 4 * 60);
    plan_free(&a);
    plan_free(&b);
    plan_free(&c);
    device_free(d);
    model_free(m);
}

/* Shards merged give the unsharded result exactly, in memory and through the
 * CSV files (17 significant digits read back to the same doubles). */
static void test_plan_shards(void **state)
{
    (void)state;
    struct model *m = tu_model("mixtral-8x7b");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct plan_req q = {.gpus = 8, .isl = 2048, .osl = 512, .tpot_max_s = 0.03,
                         .ttft_max_s = 0.5, .vary_dtypes = true, .top = 6};
    struct plan_result whole;
    assert_int_equal(plan_run(m, d, &q, &whole), 0);
    assert_true(whole.n_pareto > 3 && whole.n_top == 6);
    for (int n = 1; n <= 5; n += 2) {
        struct plan_result parts[5], back[5], merged, merged_csv;
        struct plan_meta meta[5];
        for (int k = 1; k <= n; k++) {
            struct plan_req s = q;
            s.shard_k = k;
            s.shard_n = n;
            s.threads = k; /* the threads do not matter either */
            assert_int_equal(plan_run(m, d, &s, &parts[k - 1]), 0);
            char path[64];
            snprintf(path, sizeof path, "/tmp/opbound-plan-%d-%d.csv", (int)getpid(), k);
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            assert_int_equal(plan_csv_write(f, "mixtral-8x7b", "h100", &s, &parts[k - 1]), 0);
            fclose(f);
            struct err e;
            assert_int_equal(plan_csv_read(path, &meta[k - 1], &back[k - 1], &e), 0);
            unlink(path);
            assert_int_equal(meta[k - 1].q.shard_k, k);
            assert_int_equal(meta[k - 1].q.shard_n, n);
            assert_true(plan_meta_same(&meta[0], &meta[k - 1]));
            assert_string_equal(meta[k - 1].model, "mixtral-8x7b");
        }
        assert_int_equal(plan_merge(&q, parts, n, &merged), 0);
        assert_int_equal(plan_merge(&q, back, n, &merged_csv), 0);
        assert_same_result(&whole, &merged);
        assert_same_result(&whole, &merged_csv);
        assert_exact(merged.analyses, whole.analyses);
        for (int k = 0; k < n; k++) {
            plan_free(&parts[k]);
            plan_free(&back[k]);
        }
        plan_free(&merged);
        plan_free(&merged_csv);
    }
    plan_free(&whole);
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
    struct plan_req q = {.gpus = 8, .isl = 512, .osl = 128, .vary_dtypes = false,
                         .keep_all = true, .no_disagg = true};
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
    static char out[1 << 17], out2[1 << 17], err[4096];
    assert_int_equal(tu_run("plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 256 --tpot 20 "
                            "--top 3",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "Pareto front"));
    assert_non_null(strstr(out, "Why the winner"));
    assert_non_null(strstr(out, "The best configuration's decode step"));
    static const char *const bad[][2] = {
        {"plan llama-3-8b --hw h100 --gpus 8 --isl 1k", "missing --isl S and --osl T"},
        {"plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --tpot -3", "--tpot '-3'"},
        {"plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --tp 2", "--tp"},
        {"plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --shard 3/2 --csv x.csv",
         "--shard '3/2'"},
        {"plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --shard 1/2", "needs --csv"},
        {"plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --modes split", "--modes 'split'"},
        {"plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --threads 0", "--threads '0'"},
        {"plan --merge", "CSV files"},
        {"plan --merge /nonexistent/a.csv", "/nonexistent/a.csv"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tu_run(bad[i][0], out, sizeof out, err, sizeof err), 2);
        if (!strstr(err, bad[i][1])) fail_msg("%s: stderr lacks '%s': %s", bad[i][0], bad[i][1], err);
    }
    /* shards through the command: the merged table is the unsharded one */
    char cmd[1024], a[64], b[64];
    snprintf(a, sizeof a, "/tmp/opbound-plan-cli-%d-a.csv", (int)getpid());
    snprintf(b, sizeof b, "/tmp/opbound-plan-cli-%d-b.csv", (int)getpid());
    const char *base = "plan mixtral-8x7b --hw h100 --gpus 8 --isl 1k --osl 256 --tpot 30";
    assert_int_equal(tu_run(base, out, sizeof out, err, sizeof err), 0);
    for (int k = 1; k <= 2; k++) {
        snprintf(cmd, sizeof cmd, "%s --shard %d/2 --csv %s", base, k, k == 1 ? a : b);
        assert_int_equal(tu_run(cmd, out2, sizeof out2, err, sizeof err), 0);
    }
    snprintf(cmd, sizeof cmd, "plan --merge %s %s", b, a);
    assert_int_equal(tu_run(cmd, out2, sizeof out2, err, sizeof err), 0);
    /* the same text up to the search-time line the merge does not print */
    char *cut = strstr(out, "\nsearch time");
    assert_non_null(cut);
    cut++;
    char *rest = strstr(cut, "\n\n");
    assert_non_null(rest);
    memmove(cut, rest + 2, strlen(rest + 2) + 1);
    assert_string_equal(out, out2);
    /* a shard missing, or given twice */
    snprintf(cmd, sizeof cmd, "plan --merge %s", a);
    assert_int_equal(tu_run(cmd, out2, sizeof out2, err, sizeof err), 2);
    assert_non_null(strstr(err, "every shard is needed once"));
    snprintf(cmd, sizeof cmd, "plan --merge %s %s", a, a);
    assert_int_equal(tu_run(cmd, out2, sizeof out2, err, sizeof err), 2);
    assert_non_null(strstr(err, "given twice"));
    unlink(a);
    unlink(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_llama8b),     cmocka_unit_test(test_plan_by_hand),
        cmocka_unit_test(test_plan_cached_same), cmocka_unit_test(test_plan_shards),
        cmocka_unit_test(test_plan_moe),         cmocka_unit_test(test_plan_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
