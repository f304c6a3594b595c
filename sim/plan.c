/* plan.c - deployment search; see plan.h and docs/plan.md.
 *
 * Order of work: (1) the cfgs (tp, ep, dtypes) in a fixed order; per cfg, one
 * prefill analysis (TTFT of one request, whether a prefill fits) and one
 * decode analysis at the longest context (largest batch); (2) per decode cfg
 * owned by this shard, on a worker thread: the decode step at every batch of
 * the grid (the one analysis per batch: nothing else depends on B), then the
 * aggregated rows and the disaggregated rows against every prefill cfg, all
 * plain arithmetic on the cached figures. Each thread keeps its own top rows,
 * front and sample; they are merged at the end in key order, so the result
 * does not depend on the threads or the shards. */
#include "plan.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"

#define PLAN_BATCH_MAX 16777215.0 /* batches beyond 2^24 - 1 are not searched */
#define PLAN_CFG_MAX 4095          /* cfgs (12 bits of the key) */

const char *plan_objective_name(enum plan_objective o)
{
    return o == PLAN_USD_PER_MTOK ? "usd-per-mtok" : "tokens-per-gpu";
}

const char *plan_mode_name(enum plan_mode m) { return m == PLAN_DISAGG ? "disagg" : "agg"; }

bool plan_row_before(const struct plan_row *a, const struct plan_row *b, enum plan_objective o)
{
    if (o == PLAN_USD_PER_MTOK && a->usd_per_mtok > 0 && b->usd_per_mtok > 0) {
        if (a->usd_per_mtok != b->usd_per_mtok) return a->usd_per_mtok < b->usd_per_mtok;
    } else if (a->tok_s_gpu != b->tok_s_gpu) {
        return a->tok_s_gpu > b->tok_s_gpu;
    }
    return a->key < b->key;
}

/* The front's order: tokens/s per user falling, then tokens/s per GPU falling,
 * then the key. A row is on the front when no row before it in this order has
 * tokens/s per GPU at least as high. */
static int front_cmp(const struct plan_row *a, const struct plan_row *b)
{
    if (a->tok_s_user != b->tok_s_user) return a->tok_s_user > b->tok_s_user ? -1 : 1;
    if (a->tok_s_gpu != b->tok_s_gpu) return a->tok_s_gpu > b->tok_s_gpu ? -1 : 1;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* What one thread (or one merge) collects. */
struct coll {
    int k;                           /* top rows wanted */
    enum plan_objective obj;
    struct plan_row *top;            /* k entries, best first */
    int n_top;
    struct plan_row *front;          /* front order; tokens/s per GPU strictly rising */
    int n_front, cap_front;
    struct plan_row *keep;
    int n_keep, cap_keep;
    struct plan_row best_mode[PLAN_MODE_COUNT];
    bool has_mode[PLAN_MODE_COUNT];
    double configs, meets, analyses;
    int oom;
};

static int coll_init(struct coll *c, int k, enum plan_objective o)
{
    memset(c, 0, sizeof *c);
    c->k = k;
    c->obj = o;
    c->top = malloc(sizeof *c->top * (size_t)k);
    return c->top ? 0 : -1;
}

static void coll_free(struct coll *c)
{
    free(c->top);
    free(c->front);
    free(c->keep);
    memset(c, 0, sizeof *c);
}

/* The deployment a row belongs to: its key without the batch. */
static uint64_t layout_of(uint64_t key) { return key & ~((uint64_t)0xFFFFFF << 16); }

/* The top keeps the best row of each deployment (the batch is that
 * deployment's setting, not another deployment), best first. */
static void top_add(struct coll *c, const struct plan_row *r)
{
    if (c->n_top == c->k && !plan_row_before(r, &c->top[c->k - 1], c->obj)) return;
    const uint64_t lay = layout_of(r->key);
    int i = c->n_top;
    for (int p = 0; p < c->n_top; p++)
        if (layout_of(c->top[p].key) == lay) {
            if (!plan_row_before(r, &c->top[p], c->obj)) return;
            i = p; /* replaced: the slot moves up with the row */
            break;
        }
    if (i == c->n_top) i = c->n_top < c->k ? c->n_top++ : c->k - 1;
    while (i > 0 && plan_row_before(r, &c->top[i - 1], c->obj)) {
        c->top[i] = c->top[i - 1];
        i--;
    }
    c->top[i] = *r;
}

static void mode_add(struct coll *c, const struct plan_row *r)
{
    if (!c->has_mode[r->mode] || plan_row_before(r, &c->best_mode[r->mode], c->obj)) {
        c->best_mode[r->mode] = *r;
        c->has_mode[r->mode] = true;
    }
}

static void front_add(struct coll *c, const struct plan_row *r)
{
    int lo = 0, hi = c->n_front;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (front_cmp(&c->front[mid], r) < 0) lo = mid + 1;
        else hi = mid;
    }
    /* the front's tokens/s per GPU rises along it: the row just before has the
     * highest of all rows before */
    if (lo > 0 && c->front[lo - 1].tok_s_gpu >= r->tok_s_gpu) return;
    int e = lo;
    while (e < c->n_front && c->front[e].tok_s_gpu <= r->tok_s_gpu) e++; /* now beaten */
    const int n = c->n_front - (e - lo) + 1;
    if (n > c->cap_front) {
        const int cap = c->cap_front ? 2 * c->cap_front : 64;
        struct plan_row *p = realloc(c->front, sizeof *p * (size_t)cap);
        if (!p) {
            c->oom = 1;
            return;
        }
        c->front = p;
        c->cap_front = cap;
    }
    memmove(&c->front[lo + 1], &c->front[e], sizeof *c->front * (size_t)(c->n_front - e));
    c->front[lo] = *r;
    c->n_front = n;
}

static void keep_add(struct coll *c, const struct plan_row *r)
{
    if (c->n_keep == c->cap_keep) {
        const int cap = c->cap_keep ? 2 * c->cap_keep : 256;
        struct plan_row *p = realloc(c->keep, sizeof *p * (size_t)cap);
        if (!p) {
            c->oom = 1;
            return;
        }
        c->keep = p;
        c->cap_keep = cap;
    }
    c->keep[c->n_keep++] = *r;
}

static void coll_row(struct coll *c, const struct plan_row *r)
{
    if (r->meets) {
        top_add(c, r);
        mode_add(c, r);
        front_add(c, r);
    }
    if (r->sample) keep_add(c, r);
}

/* Whether a meeting row with these figures would enter the top, the best of
 * its mode or the front: the test before a row is built (most are not). The
 * same comparisons as plan_row_before and front_add, on the values. */
static bool before_v(double usd, double gpu, uint64_t key, const struct plan_row *b,
                     enum plan_objective o)
{
    if (o == PLAN_USD_PER_MTOK && usd > 0 && b->usd_per_mtok > 0) {
        if (usd != b->usd_per_mtok) return usd < b->usd_per_mtok;
    } else if (gpu != b->tok_s_gpu) {
        return gpu > b->tok_s_gpu;
    }
    return key < b->key;
}

static bool wanted(const struct coll *c, uint64_t key, enum plan_mode mode, double user,
                   double gpu, double usd)
{
    if (c->n_top < c->k || before_v(usd, gpu, key, &c->top[c->k - 1], c->obj)) return true;
    if (!c->has_mode[mode] || before_v(usd, gpu, key, &c->best_mode[mode], c->obj)) return true;
    /* the front: the last row before this one in the front's order */
    int lo = 0, hi = c->n_front;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        const struct plan_row *f = &c->front[mid];
        const bool f_first = f->tok_s_user != user   ? f->tok_s_user > user
                             : f->tok_s_gpu != gpu   ? f->tok_s_gpu > gpu
                                                     : f->key < key;
        if (f_first) lo = mid + 1;
        else hi = mid;
    }
    return !(lo > 0 && c->front[lo - 1].tok_s_gpu >= gpu);
}

/* One cfg and what does not depend on the batch. */
struct cfg {
    double tp, ep, gpus;
    enum dtype dt_w, dt_kv;
    bool gemm_own;        /* GEMMs in dt_gemm (fp8) rather than the model's */
    enum dtype dt_gemm;   /* the weight GEMMs' compute dtype in force */
    double t_prefill_s, t_kv_s; /* one request's prefill; its KV cache over one link */
    bool prefill_fits;
    bool pairs;           /* offered as a prefill pool (fits, has a link, not dominated) */
    double bmax;                /* largest decode batch at context isl + osl */
    double weight_bytes_dev, seq_bytes_dev; /* KV + state of one sequence at isl + osl */
    double analyses;
};

struct search {
    const struct model *m;
    const struct device *d;
    const struct plan_req *q;
    struct cfg *cfgs;
    int n_cfg;
    int *owned; /* cfg indices this shard searches */
    int n_owned;
    atomic_int next;
    int k;
};

/* The batch grid: every batch to 256, then steps of floor(B/256) (under 0.4%
 * apart); the largest that fits is always on it. */
static double next_batch(double b) { return b + (b >= 512 ? floor(b / 256) : 1); }

static uint64_t row_key(int j, int i, int k, double n_d)
{
    return (uint64_t)j << 52 | (uint64_t)(i + 1) << 40 | (uint64_t)k << 16 | (uint64_t)n_d;
}

static bool is_pow2(double b) { return b == ldexp(1.0, ilogb(b)); }

static void set_cost(struct plan_row *w, const struct search *s)
{
    const double price = s->d->price_usd_per_hour;
    w->tok_s_user = 1.0 / w->tpot_s;
    w->replicas = floor(s->q->gpus / w->gpus);
    if (price > 0) w->usd_per_mtok = price / 3600.0 / w->tok_s_gpu * 1e6;
    const struct plan_req *q = s->q;
    w->meets = w->memory_bytes <= s->d->mem_capacity_bytes &&
               (q->ttft_max_s <= 0 || w->ttft_s <= q->ttft_max_s) &&
               (q->tpot_max_s <= 0 || w->tpot_s <= q->tpot_max_s);
}

/* Every row of decode cfg j: the decode step per batch, then aggregated and
 * disaggregated rows. */
static void search_cfg(const struct search *s, int j, struct analysis *an, struct coll *c)
{
    const struct plan_req *q = s->q;
    const struct cfg *g = &s->cfgs[j];
    const double ctx_avg = q->isl + q->osl / 2.0;
    const double cap = s->d->mem_capacity_bytes, price = s->d->price_usd_per_hour;
    struct scenario sc = {.phase = PHASE_DECODE, .context = ctx_avg, .tp = g->tp, .ep = g->ep,
                          .has_dt_w = true, .has_dt_kv = true, .dt_w = g->dt_w,
                          .dt_kv = g->dt_kv, .has_dt_gemm = g->gemm_own,
                          .dt_gemm = g->dt_gemm};
    int k = 0;
    for (double b = 1; b <= g->bmax; b = b >= g->bmax ? g->bmax + 1 : fmin(next_batch(b), g->bmax),
                k++) {
        sc.batch = b;
        double t_d, act;
        if (q->naive) {
            analysis_run(an, s->m, s->d, &sc);
            c->analyses += 2;
            t_d = an->tot.time_s;
            act = an->act_bytes;
        } else {
            t_d = analysis_run_step(an, s->m, s->d, &sc);
            c->analyses += 1;
            act = an->act_bytes;
        }
        const double mem = g->weight_bytes_dev + b * g->seq_bytes_dev + act;
        if (mem > cap) continue; /* not a configuration: it does not fit */
        const bool sample = q->keep_all || is_pow2(b) || b == g->bmax;
        const bool fits_d = mem <= cap;
        if (!q->no_agg) {
            const double tpot = t_d + b / q->osl * g->t_prefill_s;
            const double gpu_rate = b / (tpot * g->gpus);
            const bool meets = fits_d && (q->ttft_max_s <= 0 || g->t_prefill_s <= q->ttft_max_s) &&
                               (q->tpot_max_s <= 0 || tpot <= q->tpot_max_s);
            const uint64_t key = row_key(j, -1, k, 0);
            c->configs++;
            c->meets += meets;
            if (sample || (meets && wanted(c, key, PLAN_AGG, 1.0 / tpot, gpu_rate,
                                           price > 0 ? price / 3600.0 / gpu_rate * 1e6 : 0))) {
                struct plan_row w = {.key = key, .mode = PLAN_AGG, .tp = g->tp, .ep = g->ep,
                                     .gpus = g->gpus, .batch = b, .dt_w = g->dt_w,
                                     .dt_kv = g->dt_kv, .dt_w_p = g->dt_w,
                                     .dt_gemm = g->dt_gemm, .dt_gemm_p = g->dt_gemm,
                                     .t_prefill_s = g->t_prefill_s, .ttft_s = g->t_prefill_s,
                                     .t_decode_s = t_d, .tpot_s = tpot, .tok_s_gpu = gpu_rate,
                                     .memory_bytes = mem, .sample = sample};
                set_cost(&w, s);
                w.tok_s_total = w.replicas * b / w.tpot_s;
                coll_row(c, &w);
            }
        }
        if (q->no_disagg || q->naive) continue;
        /* requests/s one decode deployment finishes at this batch */
        const double rate_d = b / (q->osl * t_d);
        const bool tpot_ok = q->tpot_max_s <= 0 || t_d <= q->tpot_max_s;
        for (int i = 0; i < s->n_cfg; i++) {
            const struct cfg *p = &s->cfgs[i];
            if (!p->pairs || p->dt_kv != g->dt_kv) continue;
            const double ttft = p->t_prefill_s + p->t_kv_s;
            const bool meets = fits_d && tpot_ok && (q->ttft_max_s <= 0 || ttft <= q->ttft_max_s);
            for (double nd = 1; nd * g->gpus + p->gpus <= q->gpus; nd++) {
                /* the prefill pool sized to the decode pool's rate */
                const double np = fmax(1.0, ceil(nd * rate_d * p->t_prefill_s));
                const double gpus = np * p->gpus + nd * g->gpus;
                if (gpus > q->gpus) break;
                const double gpu_rate = nd * b / t_d / gpus;
                const uint64_t key = row_key(j, i, k, nd);
                const bool dsample = q->keep_all || (is_pow2(b) && nd == 1);
                c->configs++;
                c->meets += meets;
                if (!dsample && !(meets && wanted(c, key, PLAN_DISAGG, 1.0 / t_d, gpu_rate,
                                                  price > 0 ? price / 3600.0 / gpu_rate * 1e6
                                                            : 0)))
                    continue;
                struct plan_row w = {.key = key, .mode = PLAN_DISAGG, .tp = g->tp, .ep = g->ep,
                                     .gpus = gpus, .batch = b, .dt_w = g->dt_w,
                                     .dt_kv = g->dt_kv, .n_prefill = np, .n_decode = nd,
                                     .tp_p = p->tp, .ep_p = p->ep, .dt_w_p = p->dt_w,
                                     .dt_gemm = g->dt_gemm, .dt_gemm_p = p->dt_gemm,
                                     .t_prefill_s = p->t_prefill_s, .t_kv_s = p->t_kv_s,
                                     .ttft_s = ttft, .t_decode_s = t_d, .tpot_s = t_d,
                                     .tok_s_gpu = gpu_rate, .memory_bytes = mem,
                                     .sample = dsample};
                set_cost(&w, s);
                w.tok_s_total = w.replicas * nd * b / t_d;
                coll_row(c, &w);
            }
        }
    }
}

struct worker {
    struct search *s;
    struct coll c;
    struct analysis *given; /* an analysis to use (worker 0: make_cfgs'), or NULL */
    int rc;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct search *s = w->s;
    struct analysis own, *an = w->given ? w->given : &own;
    if (!w->given && analysis_init(&own, s->m)) {
        w->rc = -1;
        return NULL;
    }
    for (;;) {
        const int i = atomic_fetch_add(&s->next, 1);
        if (i >= s->n_owned) break;
        search_cfg(s, s->owned[i], an, &w->c);
        if (w->c.oom) break;
    }
    if (!w->given) analysis_free(&own);
    if (w->c.oom) w->rc = -1;
    return NULL;
}

/* The cfgs in search order, with their batch-independent figures. */
static int make_cfgs(struct search *s, struct analysis *an)
{
    const struct model *m = s->m;
    const struct device *d = s->d;
    const struct plan_req *q = s->q;
    struct model_counts mc;
    model_count(m, 1, &mc);
    const bool moe = mc.ep_params_dev > 0;
    const enum dtype wts[3] = {m->dt_w, DT_FP8, DT_INT4_G128}, kvs[2] = {m->dt_kv, DT_FP8};
    const int n_w = q->vary_dtypes ? 3 : 1, n_kv = q->vary_dtypes ? 2 : 1;
    /* GEMMs in the model's compute dtype, and in fp8 where the device has an
     * fp8 tensor rate and the model computes wider (docs/plan.md) */
    const enum dtype gemm0 = m->has_dt_gemm ? m->dt_gemm : m->dt_act;
    const int n_gemm = q->vary_dtypes && d->tensor_flops_per_s[DT_FP8] > 0 && gemm0 < DT_FP8 ? 2 : 1;
    int cap = 0;
    for (double tp = 1; tp <= q->gpus; tp *= 2) {
        if (model_tp_check(m, tp, NULL)) continue;
        for (double ep = 1; tp * ep <= q->gpus; ep *= 2) {
            if (ep > 1 && (!moe || tp > 1 || model_ep_check(m, ep, NULL))) continue;
            for (int wi = 0; wi < n_w; wi++) {
                if (wi > 0 && wts[wi] == wts[0]) continue;
                for (int ki = 0; ki < n_kv; ki++) {
                    if (ki > 0 && kvs[ki] == kvs[0]) continue;
                    for (int gi = 0; gi < n_gemm; gi++) {
                    if (s->n_cfg == PLAN_CFG_MAX) break;
                    if (s->n_cfg == cap) {
                        cap = cap ? 2 * cap : 64;
                        struct cfg *p = realloc(s->cfgs, sizeof *p * (size_t)cap);
                        if (!p) return -1;
                        s->cfgs = p;
                    }
                    struct cfg *g = &s->cfgs[s->n_cfg++];
                    *g = (struct cfg){.tp = tp, .ep = ep, .gpus = tp * ep, .dt_w = wts[wi],
                                      .dt_kv = kvs[ki], .gemm_own = gi > 0,
                                      .dt_gemm = gi > 0 ? DT_FP8 : gemm0};
                    struct scenario sc = {.phase = PHASE_PREFILL, .batch = 1, .seq = q->isl,
                                          .tp = tp, .ep = ep, .has_dt_w = true,
                                          .has_dt_kv = true, .dt_w = wts[wi], .dt_kv = kvs[ki],
                                          .has_dt_gemm = g->gemm_own, .dt_gemm = g->dt_gemm};
                    analysis_run(an, m, d, &sc);
                    g->t_prefill_s = an->tot.time_s;
                    g->prefill_fits = an->fits;
                    /* the prompt's KV cache (and state) leaves each prefill device
                     * over its own link (docs/plan.md) */
                    g->t_kv_s = d->inv_net_rate > 0 ? an->kv_cache_bytes * d->inv_net_rate : -1;
                    sc.phase = PHASE_DECODE;
                    sc.context = q->isl + q->osl - 1.0; /* the step brings it to isl + osl */
                    analysis_run(an, m, d, &sc);
                    g->bmax = fmin(an->max_batch, PLAN_BATCH_MAX);
                    g->weight_bytes_dev = an->weight_bytes_dev;
                    g->seq_bytes_dev = an->kv_cache_bytes; /* batch 1 */
                    g->analyses = 4;                       /* two phases each */
                    }
                }
            }
        }
    }
    return 0;
}

/* Prefill pools worth pairing: a cfg is left out when another of the same
 * size and KV dtype prefills no slower with no longer TTFT (strictly better
 * in one, or equal and earlier in the search order): every row it would
 * give is matched or beaten by that cfg's row at the same decode cfg, batch
 * and pool size (no more prefill deployments, so no more GPUs), with a
 * smaller key on ties. The same in every shard (docs/plan.md). */
static void mark_pairs(struct cfg *c, int n)
{
    for (int i = 0; i < n; i++) {
        struct cfg *p = &c[i];
        p->pairs = p->prefill_fits && p->t_kv_s >= 0;
        for (int j = 0; j < n && p->pairs; j++) {
            const struct cfg *o = &c[j];
            if (j == i || !o->prefill_fits || !(o->t_kv_s >= 0) || o->dt_kv != p->dt_kv ||
                o->gpus != p->gpus)
                continue;
            const double tp_o = o->t_prefill_s, tp_p = p->t_prefill_s;
            const double ttft_o = o->t_prefill_s + o->t_kv_s, ttft_p = p->t_prefill_s + p->t_kv_s;
            if (tp_o <= tp_p && ttft_o <= ttft_p && (tp_o < tp_p || ttft_o < ttft_p || j < i))
                p->pairs = false;
        }
    }
}

static int cmp_key(const void *x, const void *y)
{
    const struct plan_row *a = x, *b = y;
    return a->key < b->key ? -1 : a->key > b->key;
}

static int find_key(const struct plan_row *rows, int n, uint64_t key)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        if (rows[mid].key == key) return mid;
        if (rows[mid].key < key) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* Result from a collector: rows = sample + top + front, by key, once each. */
static int coll_result(const struct coll *c, struct plan_result *r)
{
    const int n = c->n_keep + c->n_top + c->n_front + PLAN_MODE_COUNT;
    r->rows = malloc(sizeof *r->rows * (size_t)(n > 0 ? n : 1));
    r->top = malloc(sizeof *r->top * (size_t)(c->n_top > 0 ? c->n_top : 1));
    r->pareto = malloc(sizeof *r->pareto * (size_t)(c->n_front > 0 ? c->n_front : 1));
    if (!r->rows || !r->top || !r->pareto) return -1;
    int k = 0;
    for (int i = 0; i < c->n_keep; i++) r->rows[k++] = c->keep[i];
    for (int i = 0; i < c->n_top; i++) {
        r->rows[k] = c->top[i];
        r->rows[k++].sample = false;
    }
    for (int i = 0; i < c->n_front; i++) {
        r->rows[k] = c->front[i];
        r->rows[k++].sample = false;
    }
    for (int i = 0; i < PLAN_MODE_COUNT; i++)
        if (c->has_mode[i]) {
            r->rows[k] = c->best_mode[i];
            r->rows[k++].sample = false;
        }
    qsort(r->rows, (size_t)k, sizeof *r->rows, cmp_key);
    /* once each, keeping the sampled copy */
    int u = 0;
    for (int i = 0; i < k; i++) {
        if (u > 0 && r->rows[u - 1].key == r->rows[i].key) {
            r->rows[u - 1].sample |= r->rows[i].sample;
            continue;
        }
        r->rows[u++] = r->rows[i];
    }
    r->n = r->cap = u;
    for (int i = 0; i < c->n_top; i++) r->top[i] = find_key(r->rows, u, c->top[i].key);
    r->n_top = c->n_top;
    for (int i = 0; i < c->n_front; i++) r->pareto[i] = find_key(r->rows, u, c->front[i].key);
    r->n_pareto = c->n_front;
    r->best = r->n_top > 0 ? r->top[0] : -1;
    for (int i = 0; i < PLAN_MODE_COUNT; i++)
        r->best_mode[i] = c->has_mode[i] ? find_key(r->rows, u, c->best_mode[i].key) : -1;
    r->configs = c->configs;
    r->meets = c->meets;
    r->analyses = c->analyses;
    return 0;
}

static int online_cores(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int plan_run(const struct model *m, const struct device *d, const struct plan_req *q,
             struct plan_result *r)
{
    memset(r, 0, sizeof *r);
    r->best = r->best_mode[PLAN_AGG] = r->best_mode[PLAN_DISAGG] = -1;
    const double t0 = now_s();
    struct search s = {.m = m, .d = d, .q = q, .k = q->top > 0 ? q->top : 10};
    atomic_init(&s.next, 0);
    const int sn = q->shard_n > 0 ? q->shard_n : 1, sk = q->shard_n > 0 ? q->shard_k : 1;
    struct coll all;
    struct worker *w = NULL;
    int rc = -1, nt = 0;
    struct analysis an0;
    if (coll_init(&all, s.k, q->objective)) return -1;
    if (analysis_init(&an0, m)) {
        coll_free(&all);
        return -1;
    }
    if (make_cfgs(&s, &an0)) goto out;
    mark_pairs(s.cfgs, s.n_cfg);
    s.owned = malloc(sizeof *s.owned * (size_t)(s.n_cfg > 0 ? s.n_cfg : 1));
    if (!s.owned) goto out;
    for (int j = 0; j < s.n_cfg; j++)
        if (j % sn == sk - 1) {
            s.owned[s.n_owned++] = j;
            all.analyses += s.cfgs[j].analyses; /* counted by the shard that owns it */
        }
    nt = q->naive ? 1 : q->threads > 0 ? q->threads : online_cores();
    if (nt > s.n_owned) nt = s.n_owned > 0 ? s.n_owned : 1;
    w = calloc((size_t)nt, sizeof *w);
    if (!w) goto out;
    int started = 0;
    pthread_t th[256];
    w[0].given = &an0;
    for (int t = 0; t < nt; t++) {
        w[t].s = &s;
        if (coll_init(&w[t].c, s.k, q->objective)) goto join;
    }
    if (nt == 1) {
        worker_main(&w[0]);
        started = 0;
    } else {
        for (; started < nt; started++)
            if (pthread_create(&th[started], NULL, worker_main, &w[started])) break;
        if (started == 0) worker_main(&w[0]); /* no threads to be had: run here */
    }
join:
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    rc = 0;
    for (int t = 0; t < nt; t++) {
        struct coll *c = &w[t].c;
        if (w[t].rc || c->oom || !c->top) rc = -1;
        if (rc) continue;
        for (int i = 0; i < c->n_top; i++) top_add(&all, &c->top[i]);
        for (int i = 0; i < PLAN_MODE_COUNT; i++)
            if (c->has_mode[i]) mode_add(&all, &c->best_mode[i]);
        for (int i = 0; i < c->n_front; i++) front_add(&all, &c->front[i]);
        for (int i = 0; i < c->n_keep; i++) keep_add(&all, &c->keep[i]);
        all.configs += c->configs;
        all.meets += c->meets;
        all.analyses += c->analyses;
    }
    if (all.oom) rc = -1;
    if (rc == 0) rc = coll_result(&all, r);
out:
    for (int t = 0; w && t < nt; t++) coll_free(&w[t].c);
    free(w);
    free(s.owned);
    free(s.cfgs);
    coll_free(&all);
    analysis_free(&an0);
    r->threads = nt;
    r->wall_s = now_s() - t0;
    if (rc) plan_free(r);
    return rc;
}

int plan_merge(const struct plan_req *q, const struct plan_result *parts, int n,
               struct plan_result *out)
{
    memset(out, 0, sizeof *out);
    out->best = out->best_mode[PLAN_AGG] = out->best_mode[PLAN_DISAGG] = -1;
    struct coll all;
    if (coll_init(&all, q->top > 0 ? q->top : 10, q->objective)) return -1;
    double wall = 0;
    for (int p = 0; p < n; p++) {
        const struct plan_result *r = &parts[p];
        for (int i = 0; i < r->n; i++) {
            const struct plan_row *w = &r->rows[i];
            if (w->meets) {
                top_add(&all, w);
                mode_add(&all, w);
                front_add(&all, w);
            }
            if (w->sample) keep_add(&all, w);
        }
        all.configs += r->configs;
        all.meets += r->meets;
        all.analyses += r->analyses;
        wall = fmax(wall, r->wall_s);
    }
    int rc = all.oom ? -1 : coll_result(&all, out);
    coll_free(&all);
    if (rc) plan_free(out);
    out->wall_s = wall;
    return rc;
}

void plan_free(struct plan_result *r)
{
    if (!r) return;
    free(r->rows);
    free(r->top);
    free(r->pareto);
    memset(r, 0, sizeof *r);
    r->best = r->best_mode[PLAN_AGG] = r->best_mode[PLAN_DISAGG] = -1;
}
