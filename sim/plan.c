/* plan.c - deployment search; see plan.h and docs/plan.md. */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "analyze.h"

const char *plan_objective_name(enum plan_objective o)
{
    return o == PLAN_USD_PER_MTOK ? "usd-per-mtok" : "tokens-per-gpu";
}

static int push(struct plan_result *r, const struct plan_row *row)
{
    if (r->n == r->cap) {
        const int cap = r->cap ? 2 * r->cap : 256;
        struct plan_row *p = realloc(r->rows, (size_t)cap * sizeof *p);
        if (!p) return -1;
        r->rows = p;
        r->cap = cap;
    }
    r->rows[r->n++] = *row;
    return 0;
}

static bool better(const struct plan_row *a, const struct plan_row *b, enum plan_objective o)
{
    if (o == PLAN_USD_PER_MTOK && a->usd_per_mtok > 0 && b->usd_per_mtok > 0)
        return a->usd_per_mtok < b->usd_per_mtok;
    return a->tok_s_gpu > b->tok_s_gpu;
}

static int cmp_user_desc(const void *x, const void *y, const struct plan_row *rows)
{
    const struct plan_row *a = &rows[*(const int *)x], *b = &rows[*(const int *)y];
    if (a->tok_s_user != b->tok_s_user) return a->tok_s_user > b->tok_s_user ? -1 : 1;
    return a->tok_s_gpu > b->tok_s_gpu ? -1 : (a->tok_s_gpu < b->tok_s_gpu);
}

/* qsort has no context argument in C11: sort indices by insertion (the
 * front is computed once over at most a few thousand rows). */
static void sort_by_user(int *idx, int n, const struct plan_row *rows)
{
    for (int i = 1; i < n; i++) {
        const int v = idx[i];
        int j = i - 1;
        while (j >= 0 && cmp_user_desc(&idx[j], &v, rows) > 0) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = v;
    }
}

int plan_run(const struct model *m, const struct device *d, const struct plan_req *q,
             struct plan_result *r)
{
    memset(r, 0, sizeof *r);
    r->best = -1;
    struct analysis an;
    if (analysis_init(&an, m)) return -1;
    struct model_counts mc;
    model_count(m, 1, &mc);
    const bool moe = mc.ep_params_dev > 0;
    enum dtype wts[3] = {m->dt_w, DT_FP8, DT_INT4_G128}, kvs[2] = {m->dt_kv, DT_FP8};
    const int n_w = q->vary_dtypes ? 3 : 1, n_kv = q->vary_dtypes ? 2 : 1;
    const double ctx_max = q->isl + q->osl, ctx_avg = q->isl + q->osl / 2.0;
    int rc = 0;
    int total = 0, done = 0; /* the groups of the search, for q->progress */
    for (double tp = 1; tp <= q->gpus; tp *= 2)
        for (double ep = 1; tp * ep <= q->gpus; ep *= 2) total += n_w * n_kv;
    for (double tp = 1; tp <= q->gpus && rc == 0; tp *= 2) {
        struct err e;
        if (model_tp_check(m, tp, &e)) {
            for (double ep = 1; tp * ep <= q->gpus; ep *= 2) done += n_w * n_kv;
            continue;
        }
        for (double ep = 1; tp * ep <= q->gpus && rc == 0; ep *= 2) {
            if (ep > 1 && (!moe || tp > 1 || model_ep_check(m, ep, &e))) {
                done += n_w * n_kv;
                continue;
            }
            for (int wi = 0; wi < n_w; wi++) {
                for (int ki = 0; ki < n_kv; ki++) {
                    if (q->progress) q->progress(q->progress_ctx, done, total);
                    done++;
                    if (wi > 0 && wts[wi] == wts[0]) continue;
                    if (ki > 0 && kvs[ki] == kvs[0]) continue;
                    struct scenario sc = {.phase = PHASE_PREFILL, .batch = 1, .seq = q->isl,
                                          .tp = tp, .ep = ep, .has_dt_w = true,
                                          .has_dt_kv = true, .dt_w = wts[wi], .dt_kv = kvs[ki]};
                    analysis_run(&an, m, d, &sc);
                    r->evaluated++;
                    const double ttft = an.tot.time_s;
                    /* the largest batch that fits at the longest context */
                    sc.phase = PHASE_DECODE;
                    sc.context = ctx_max - 1.0; /* the step brings it to ctx_max */
                    analysis_run(&an, m, d, &sc);
                    r->evaluated++;
                    const double bmax = an.max_batch;
                    if (bmax < 1) continue;
                    for (double b = 1; rc == 0; b = 2 * b < bmax ? 2 * b : bmax) { /* 1, 2, 4, ..., bmax */
                        sc.batch = b;
                        sc.context = ctx_avg;
                        analysis_run(&an, m, d, &sc);
                        r->evaluated++;
                        const double kvb = dtype_bytes(kvs[ki]);
                        struct plan_row row = {.tp = tp, .ep = ep, .gpus = tp * ep,
                                               .batch = b, .dt_w = wts[wi], .dt_kv = kvs[ki],
                                               .ttft_s = ttft, .t_decode_s = an.tot.time_s};
                        row.replicas = (double)(long long)(q->gpus / row.gpus);
                        row.tpot_s = row.t_decode_s + b / q->osl * ttft;
                        row.tok_s_user = 1.0 / row.tpot_s;
                        row.tok_s_gpu = b / (row.tpot_s * row.gpus);
                        row.tok_s_total = row.replicas * b / row.tpot_s;
                        if (d->price_usd_per_hour > 0)
                            row.usd_per_mtok =
                                d->price_usd_per_hour / 3600.0 / row.tok_s_gpu * 1e6;
                        row.memory_bytes =
                            an.weight_bytes_dev +
                            b * (model_kv_elems_per_seq(m, tp, ctx_max) * kvb +
                                 an.state_bytes_per_seq_dev) +
                            an.act_bytes;
                        row.meets = row.memory_bytes <= d->mem_capacity_bytes &&
                                    (q->ttft_max_s <= 0 || row.ttft_s <= q->ttft_max_s) &&
                                    (q->tpot_max_s <= 0 || row.tpot_s <= q->tpot_max_s);
                        if (push(r, &row)) rc = -1;
                        if (b >= bmax) break;
                    }
                }
            }
        }
    }
    analysis_free(&an);
    if (q->progress) q->progress(q->progress_ctx, total, total);
    if (rc) return -1;
    /* the best row, and the front: rows not beaten on both tokens/s per GPU and
     * tokens/s per user by another row meeting the targets */
    int *idx = malloc(sizeof *idx * (size_t)(r->n > 0 ? r->n : 1));
    r->pareto = malloc(sizeof *r->pareto * (size_t)(r->n > 0 ? r->n : 1));
    if (!idx || !r->pareto) {
        free(idx);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < r->n; i++) {
        if (!r->rows[i].meets) continue;
        idx[k++] = i;
        if (r->best < 0 || better(&r->rows[i], &r->rows[r->best], q->objective)) r->best = i;
    }
    sort_by_user(idx, k, r->rows);
    double best_gpu = -1;
    for (int i = 0; i < k; i++)
        if (r->rows[idx[i]].tok_s_gpu > best_gpu) {
            best_gpu = r->rows[idx[i]].tok_s_gpu;
            r->pareto[r->n_pareto++] = idx[i];
        }
    free(idx);
    return 0;
}

void plan_free(struct plan_result *r)
{
    if (!r) return;
    free(r->rows);
    free(r->pareto);
    memset(r, 0, sizeof *r);
    r->best = -1;
}
