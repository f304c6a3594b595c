/* serve.c - the iteration engine and the continuous-batching scheduler; see
 * serve.h. Rules and formulas: docs/serving.md. */
#include "serve.h"

#include "../models/profile.h"

#include "placement.h"
#include "prefix_cache.h"
#include "spec.h"
#include "serve_cache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- iteration engine ---- */

/* Ops whose cost depends on each sequence's own new tokens and context, as
 * flagged by the builders that made them (struct op.per_seq, graph.h): the
 * attention core, GEMMs reading the KV cache, scans, and context-dependent
 * selection ops such as DSA's idx_topk or NSA's sel_score / sel_topk. They
 * come only from the attention slot, the slot lowered per group below. */
static bool op_per_seq(const struct op *op)
{
    OB_ASSERT(!op->per_seq || op->block == BLK_ATTN);
    return op->per_seq;
}

int serve_engine_init(struct serve_engine *e, const struct model *m, const struct device *d,
                      double tp, enum dtype dt_w, enum dtype dt_act, enum dtype dt_kv)
{
    memset(e, 0, sizeof *e);
    e->m = m;
    e->d = d;
    e->st = (struct step){.phase = PHASE_DECODE, .batch = 1, .q_len = 1, .ctx_prior = 0,
                          .tp = tp, .dt_w = dt_w, .dt_act = dt_act, .dt_kv = dt_kv};
    int attn_ops = 0;
    for (int i = 0; i < m->n_groups; i++)
        if (m->groups[i].kind[SLOT_ATTN]->max_ops > attn_ops)
            attn_ops = m->groups[i].kind[SLOT_ATTN]->max_ops;
    /* a profile may turn each op of the attention block into up to
     * PROF_MAX_KERNELS kernels (models/profile.h) */
    if (graph_init(&e->g, model_max_ops(m) + m->n_groups * attn_ops * PROF_MAX_KERNELS) ||
        graph_init(&e->scratch, attn_ops * PROF_MAX_KERNELS)) {
        serve_engine_free(e);
        return -1;
    }
    return 0;
}

void serve_engine_free(struct serve_engine *e)
{
    graph_free(&e->g);
    graph_free(&e->scratch);
    free(e->items);
    free(e->tmp);
    free(e->key);
    serve_cache_free(e->cache);
    e->items = e->tmp = NULL;
    e->key = NULL;
    e->cache = NULL;
    e->items_cap = 0;
}

static inline bool item_less(const struct serve_item *a, const struct serve_item *b)
{
    return a->q < b->q || (a->q == b->q && a->ctx < b->ctx);
}

/* Sorts it[0..n) by (q, ctx): a stable bottom-up merge sort with the
 * comparison inlined (qsort's indirect calls were 14% of a run), runs of 8
 * by insertion first. tmp holds n items. */
static void items_sort(struct serve_item *it, struct serve_item *tmp, int n)
{
    for (int lo = 0; lo < n; lo += 8) {
        const int hi = lo + 8 < n ? lo + 8 : n;
        for (int i = lo + 1; i < hi; i++) {
            const struct serve_item v = it[i];
            int j = i;
            while (j > lo && item_less(&v, &it[j - 1])) it[j] = it[j - 1], j--;
            it[j] = v;
        }
    }
    struct serve_item *a = it, *b = tmp;
    for (int w = 8; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            const int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi) b[k++] = item_less(&a[j], &a[i]) ? a[j++] : a[i++];
            while (i < mid) b[k++] = a[i++];
            while (j < hi) b[k++] = a[j++];
        }
        struct serve_item *t = a;
        a = b, b = t;
    }
    if (a != it) memcpy(it, a, (size_t)n * sizeof *it);
}

/* Sums b into a, except shared weights (op_kind_weights OPW_SHARED: a plain
 * GEMM's model weights such as MLA kv_up, NSA cmp_k/cmp_v): one kernel over
 * every sequence reads them once, so the merged op reads them once (the
 * largest of the groups'). Other weight operands belong to each sequence
 * (MoBA's batched gate holds the queries there) and add up. */
static void cost_add(struct op_cost *a, const struct op_cost *b, bool shared_w)
{
    a->flops_mm += b->flops_mm;
    a->flops_vec += b->flops_vec;
    if (shared_w) a->bytes_w = fmax(a->bytes_w, b->bytes_w);
    else a->bytes_w += b->bytes_w;
    a->bytes_act += b->bytes_act;
    a->bytes_kv += b->bytes_kv;
    a->bytes_out += b->bytes_out;
    a->bytes_net += b->bytes_net;
    a->flops_wasted += b->flops_wasted;
}

/* Adds a per-sequence op of one group into the iteration graph's op of the
 * same layer group and name (appending one if the base lowering has none). */
static void merge_op(struct graph *g, const struct graph *from, const struct op *src)
{
    for (int i = 0; i < g->n; i++) {
        struct op *o = &g->ops[i];
        if (o->group == src->group && op_per_seq(o) && strcmp(o->name, src->name) == 0) {
            cost_add(&o->cost, &src->cost, op_kind_weights(o->kind) == OPW_SHARED);
            return;
        }
    }
    OB_ASSERT(g->n < g->cap);
    g->ops[g->n++] = *src;
    /* a name made while lowering lives in from's name store, which the next
     * graph_reset reuses: keep a copy in g's */
    if (src->name >= from->names && src->name < from->names + (size_t)from->cap * GRAPH_NAME_MAX)
        g->ops[g->n - 1].name = graph_name(g, src->name, NULL);
}

double serve_engine_eval(struct serve_engine *e, const struct serve_item *items, int n,
                         struct eval_totals *tot)
{
    OB_ASSERT(n >= 1);
    e->calls += 1;
    if (n > e->items_cap) {
        free(e->items), free(e->tmp), free(e->key);
        e->items = malloc((size_t)n * sizeof *e->items);
        e->tmp = malloc((size_t)n * sizeof *e->tmp);
        e->key = malloc(((size_t)n * 4 + 3) * sizeof *e->key); /* as given, then merged */
        OB_ASSERT(e->items && e->tmp && e->key);
        e->items_cap = n;
    }
    /* First the items as given: the scheduler tends to repeat a composition in
     * the same order, and this key needs no sort. Each item of one sequence
     * (n = 1, whole ctx < 2^32, q < 2^20, samples < 2^12) packs into one
     * 64-bit word, ctx | q << 32 | samples << 52, stored in a double's bits
     * (compared by memcmp, never as numbers); a call with any other item
     * skips this key. Keys are tagged by their first word (-1 as given, -2
     * merged), so the two kinds never match. */
    uint64_t h_raw = 0;
    size_t nk_raw = 0;
    double *key = e->key;
    if (!e->no_cache) {
        if (!e->cache) OB_ASSERT((e->cache = serve_cache_new()));
        key[nk_raw++] = -1;
        for (int i = 0; i < n; i++) {
            const struct serve_item *x = &items[i];
            if (!(x->n == 1 && x->samples >= 0 && x->samples < 0x1p12 &&
                  x->samples == (double)(uint32_t)x->samples && x->q >= 1 && x->q < 0x1p20 &&
                  x->q == (double)(uint32_t)x->q && x->ctx >= 0 && x->ctx < 0x1p32 &&
                  x->ctx == (double)(uint32_t)x->ctx)) {
                nk_raw = 0;
                break;
            }
            const uint64_t w = (uint64_t)x->ctx | (uint64_t)x->q << 32 |
                               (uint64_t)x->samples << 52;
            memcpy(&key[nk_raw++], &w, sizeof w);
        }
        if (nk_raw) {
            h_raw = serve_cache_hash(key, nk_raw);
            const struct eval_totals *hit = serve_cache_find(e->cache, key, nk_raw, h_raw);
            if (hit) {
                e->work += n * SERVE_HIT_WORK;
                *tot = *hit;
                return tot->time_s;
            }
        }
    }
    struct serve_item *it = e->items;
    memcpy(it, items, (size_t)n * sizeof *it);
    items_sort(it, e->tmp, n);
    /* Merge equal (q, ctx): one lowering per group, batch = the group's size. */
    int ng = 0;
    for (int i = 0; i < n; i++) {
        OB_ASSERT(it[i].n >= 1 && it[i].q >= 1 && it[i].ctx >= 0 && it[i].samples >= 0 &&
                  it[i].samples <= it[i].n * it[i].q);
        if (ng > 0 && it[ng - 1].q == it[i].q && it[ng - 1].ctx == it[i].ctx) {
            it[ng - 1].n += it[i].n;
            it[ng - 1].samples += it[i].samples;
        } else {
            it[ng++] = it[i];
        }
    }
    double b = 0, t = 0, samples = 0;
    bool all_decode = true;
    /* decode: new tokens over a cache, at most decode_q_max of them (a
     * speculative verify of k + 1; docs/speculative.md) */
    const double dq = e->st.decode_q_max > 1 ? e->st.decode_q_max : 1;
    for (int i = 0; i < ng; i++) {
        b += it[i].n;
        t += it[i].n * it[i].q;
        samples += it[i].samples;
        if (it[i].q > dq || it[i].ctx == 0) all_decode = false;
    }
    /* The cost depends on the merged groups and the sampling count only: the
     * key is exactly these numbers (serve_cache.h). */
    uint64_t h = 0;
    size_t nk = 0;
    double *mkey = key + nk_raw; /* after the key as given, kept for the store */
    if (!e->no_cache) {
        mkey[nk++] = -2;
        for (int i = 0; i < ng; i++) {
            mkey[nk++] = it[i].n;
            mkey[nk++] = it[i].q;
            mkey[nk++] = it[i].ctx;
        }
        mkey[nk++] = samples;
        h = serve_cache_hash(mkey, nk);
        const struct eval_totals *hit = serve_cache_find(e->cache, mkey, nk, h);
        if (hit) {
            e->work += n * SERVE_HIT_WORK;
            *tot = *hit;
            if (nk_raw) serve_cache_put(e->cache, key, nk_raw, h_raw, tot);
            return tot->time_s;
        }
    }
    /* (a) Token-wise ops at T tokens over B sequences: q_len = T / B, which is
     * each sequence's q exactly when all are equal (then B * q_len == T). */
    struct step st = e->st;
    st.phase = all_decode ? PHASE_DECODE : PHASE_PREFILL;
    st.batch = b;
    st.q_len = t / b;
    st.ctx_prior = it[0].ctx;
    struct graph *g = &e->g;
    model_lower(e->m, &st, g);
    /* The head (lm_head, and under tp its logits all-gather: struct op.head)
     * runs on the sequences that sample a token this iteration. */
    if (samples != b) {
        int w = 0;
        for (int i = 0; i < g->n; i++) {
            if (g->ops[i].head) {
                if (samples == 0) continue; /* no kernel */
                op_set_rows(&g->ops[i], samples);
            }
            if (w != i) g->ops[w] = g->ops[i];
            w++;
        }
        g->n = w;
    }
    for (int i = 0; i < g->n; i++)
        if (op_per_seq(&g->ops[i])) memset(&g->ops[i].cost, 0, sizeof g->ops[i].cost);
    /* (b) Per-sequence ops per group of equal (q, ctx), summed per layer group. */
    struct graph *sg = &e->scratch;
    for (int li = 0; li < e->m->n_groups; li++) {
        const struct layer_group *lg = &e->m->groups[li];
        for (int k = 0; k < ng; k++) {
            struct step gs = st;
            gs.phase = it[k].q <= dq && it[k].ctx > 0 ? PHASE_DECODE : PHASE_PREFILL;
            gs.batch = it[k].n;
            gs.q_len = it[k].q;
            gs.ctx_prior = it[k].ctx;
            const struct lower_ctx c = {.m = e->m, .st = &gs, .tokens = gs.batch * gs.q_len};
            graph_reset(sg);
            profile_apply_kinds(st.profile, sg);
            sg->dt_w = st.dt_w;
            sg->dt_act = st.dt_act;
            sg->dt_kv = st.dt_kv;
            sg->block = BLK_ATTN;
            sg->group = li;
            sg->layer_first = lg->first_layer;
            sg->layer_count = (int)lg->repeat;
            lg->kind[SLOT_ATTN]->lower(lg->cfg[SLOT_ATTN], &c, sg);
            for (int j = 0; j < sg->n; j++)
                if (op_per_seq(&sg->ops[j])) merge_op(g, sg, &sg->ops[j]);
        }
    }
    /* Per-sequence ops no group produced launch no kernel. */
    int w = 0;
    for (int i = 0; i < g->n; i++) {
        const struct op *o = &g->ops[i];
        if (op_per_seq(o) && o->cost.flops_mm == 0 && o->cost.flops_vec == 0 &&
            o->cost.bytes_w == 0 && o->cost.bytes_act == 0 && o->cost.bytes_kv == 0 &&
            o->cost.bytes_out == 0) /* a write-only op (a state store) still runs */
            continue;
        g->ops[w++] = *o;
    }
    g->n = w;
    eval_graph(g, e->d, NULL, tot);
    /* On a device with processing in memory (Duplex), each op of the
     * iteration runs where it finishes first, as in `analyze`. */
    if (e->d->has_pim) {
        struct place_totals pt;
        placement_graph(g, e->d, PLACE_AUTO, NULL, &pt);
        placement_apply(0, NULL, NULL, &pt, tot);
    }
    if (!e->no_cache) {
        serve_cache_put(e->cache, mkey, nk, h, tot);
        if (nk_raw) serve_cache_put(e->cache, key, nk_raw, h_raw, tot);
    }
    e->work += (n + SERVE_ITER_WORK) * e->m->n_groups;
    e->evaluated += 1;
    return tot->time_s;
}

/* ---- scheduler ---- */

struct req {
    double arrival, input, output;
    double before; /* fleet: seconds from the request's arrival at the router to `arrival` */
    double prefilled, generated, chunk;
    double admit, first, since, need_bytes; /* since: time since the last token */
    double own_bytes; /* KV bytes held beyond the shared prefix-cache blocks (paged: all) */
    double plen;      /* tokens to prefill before the next token: the prompt, or after a
                       * recompute preemption the prompt and the tokens generated so far */
    double ttft;      /* seconds, once the first token came */
    uint64_t session, prefix; /* what the prompt shares (0 = none) */
    double prefix_tokens;
    double priority; /* admission class, lower first */
    struct pcache_path path; /* prefix-cache blocks held */
    int line;                /* trace line (0 = generated) */
    double handoff_output; /* fleet, prefill replica: the output that decodes elsewhere (0: none) */
    double spec_credit;    /* speculative: expected tokens accumulated (docs/speculative.md) */
    bool sched, swapped;
};

double serve_afd_step(double a, double f, double x, double micro_batches)
{
    double mx = a > f ? a : f;
    if (x > mx) mx = x;
    return a + f + 2.0 * x + (micro_batches - 1.0) * mx;
}

/* ---- streaming statistics and the occupancy timeline (bounded memory) ---- */

#define HIST_LOG2_MIN (-60) /* histogram range: 2^-60 .. 2^60 (about 1e-18 .. 1e18) */
#define HIST_OCTAVES 120
#define HIST_PER_OCTAVE 512 /* bin width 2^(1/512) - 1 = 0.135%, mid-bin error < 0.068% */
#define HIST_BINS (HIST_OCTAVES * HIST_PER_OCTAVE)

void serve_stream_init(struct serve_stream *st, size_t cap_runs, bool merge_runs)
{
    memset(st, 0, sizeof *st);
    st->cap_runs = cap_runs;
    st->merge = merge_runs;
}

void serve_stream_free(struct serve_stream *st)
{
    free(st->v);
    free(st->c);
    free(st->hist);
    st->v = st->c = st->hist = NULL;
    st->nr = st->alloc = 0;
}

static size_t hist_bin(double v)
{
    if (!(v > 0)) return 0;
    const double x = (log2(v) - HIST_LOG2_MIN) * HIST_PER_OCTAVE;
    if (x < 0) return 0;
    if (x >= HIST_BINS - 1) return HIST_BINS - 1;
    return (size_t)x;
}

static double hist_mid(size_t b)
{
    return exp2(HIST_LOG2_MIN + ((double)b + 0.5) / HIST_PER_OCTAVE);
}

/* Neumaier's compensated summation (Neumaier 1974, an improvement of Kahan
 * 1965): the rounding error of every addition is kept in comp, so a mean of
 * many samples is accurate to about one rounding of the result. */
static void sum_add(struct serve_stream *st, double v)
{
    const double t = st->sum + v;
    st->comp += fabs(st->sum) >= fabs(v) ? (st->sum - t) + v : (v - t) + st->sum;
    st->sum = t;
}

/* Closes the last stored run into the sum (runs are summed as value x count
 * in the order they were stored). */
static void stream_close_run(struct serve_stream *st)
{
    if (st->nr == 0 || st->closed == st->nr) return;
    sum_add(st, st->v[st->nr - 1] * st->c[st->nr - 1]);
    st->closed = st->nr;
}

/* Moves every stored run into the histogram; from then on samples go there. */
static void stream_to_hist(struct serve_stream *st)
{
    stream_close_run(st);
    st->hist = calloc(HIST_BINS, sizeof *st->hist);
    OB_ASSERT(st->hist);
    for (size_t i = 0; i < st->nr; i++) st->hist[hist_bin(st->v[i])] += st->c[i];
    free(st->v);
    free(st->c);
    st->v = st->c = NULL;
    st->nr = st->alloc = st->closed = 0;
}

/* The hot path (one call per generated token): a gap equal to the last one
 * only counts up its run (its value already set min and max). */
static inline void stream_add(struct serve_stream *st, double v)
{
    st->n += 1;
    if (st->merge && st->nr > st->closed && st->v[st->nr - 1] == v) {
        st->c[st->nr - 1] += 1;
        return;
    }
    if (st->n == 1 || v > st->max) st->max = v;
    if (st->n == 1 || v < st->min) st->min = v;
    if (st->hist) {
        sum_add(st, v);
        st->hist[hist_bin(v)] += 1;
        return;
    }
    stream_close_run(st);
    if (st->nr == st->cap_runs) {
        stream_to_hist(st);
        sum_add(st, v);
        st->hist[hist_bin(v)] += 1;
        return;
    }
    if (st->nr == st->alloc) {
        st->alloc = st->alloc ? 2 * st->alloc : 1024;
        if (st->alloc > st->cap_runs) st->alloc = st->cap_runs;
        st->v = realloc(st->v, st->alloc * sizeof *st->v);
        st->c = realloc(st->c, st->alloc * sizeof *st->c);
        OB_ASSERT(st->v && st->c);
    }
    st->v[st->nr] = v;
    st->c[st->nr++] = 1;
}

void serve_stream_add(struct serve_stream *st, double v) { stream_add(st, v); }

static int dbl_cmp(const void *pa, const void *pb)
{
    const double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

struct run_vc {
    double v, c;
};
static int run_cmp(const void *pa, const void *pb)
{
    return dbl_cmp(&((const struct run_vc *)pa)->v, &((const struct run_vc *)pb)->v);
}

void serve_stream_stats(struct serve_stream *st, struct serve_stats *out)
{
    memset(out, 0, sizeof *out);
    if (st->n == 0) return;
    stream_close_run(st);
    out->mean = (st->sum + st->comp) / st->n;
    out->max = st->max;
    /* nearest rank over the whole multiset */
    const double want50 = ceil(0.5 * st->n), want99 = ceil(0.99 * st->n);
    double cum = 0;
    bool got50 = false;
    if (st->hist) {
        for (size_t b = 0; b < HIST_BINS; b++) {
            if (st->hist[b] == 0) continue;
            cum += st->hist[b];
            const double mid = fmin(fmax(hist_mid(b), st->min), st->max);
            if (!got50 && cum >= want50) out->p50 = mid, got50 = true;
            if (cum >= want99) {
                out->p99 = mid;
                break;
            }
        }
        return;
    }
    struct run_vc *x = malloc(st->nr * sizeof *x);
    OB_ASSERT(x);
    for (size_t i = 0; i < st->nr; i++) x[i] = (struct run_vc){st->v[i], st->c[i]};
    qsort(x, st->nr, sizeof *x, run_cmp);
    for (size_t i = 0; i < st->nr; i++) {
        cum += x[i].c;
        if (!got50 && cum >= want50) out->p50 = x[i].v, got50 = true;
        if (cum >= want99) {
            out->p99 = x[i].v;
            break;
        }
    }
    free(x);
}

/* The KV occupancy at every stride-th iteration, stride doubling (every
 * other kept point dropped) whenever cap (SERVE_EXACT_SAMPLES) points are held:
 * the timeline's evenly spaced iterations are exact up to that many
 * iterations and within stride - 1 iterations beyond. */
struct timeline {
    double *t, *kv;
    size_t n, alloc;    /* points held */
    size_t stride, seen; /* iterations seen */
    size_t cap;          /* even, >= 2 */
};

static void timeline_add(struct timeline *tl, double t, double kv)
{
    if (tl->stride == 0) tl->stride = 1;
    const size_t j = tl->seen++;
    if (j % tl->stride) return;
    if (tl->n == tl->cap) {
        size_t w = 0;
        for (size_t i = 0; i < tl->n; i += 2) tl->t[w] = tl->t[i], tl->kv[w++] = tl->kv[i];
        tl->n = w;
        tl->stride *= 2;
        if (j % tl->stride) return;
    }
    if (tl->n == tl->alloc) {
        tl->alloc = tl->alloc ? 2 * tl->alloc : 1024;
        if (tl->alloc > tl->cap) tl->alloc = tl->cap;
        tl->t = realloc(tl->t, tl->alloc * sizeof *tl->t);
        tl->kv = realloc(tl->kv, tl->alloc * sizeof *tl->kv);
        OB_ASSERT(tl->t && tl->kv);
    }
    tl->t[tl->n] = t;
    tl->kv[tl->n++] = kv;
}

/* ---- time series in fixed windows (bounded: pairs merge, width doubles) ---- */

int serve_series_init(struct serve_series *ts, double width_s)
{
    memset(ts, 0, sizeof *ts);
    ts->width_s = width_s;
    ts->queue = calloc(SERVE_SERIES_CAP, sizeof *ts->queue);
    ts->running = calloc(SERVE_SERIES_CAP, sizeof *ts->running);
    ts->kv = calloc(SERVE_SERIES_CAP, sizeof *ts->kv);
    ts->tokens = calloc(SERVE_SERIES_CAP, sizeof *ts->tokens);
    if (!ts->queue || !ts->running || !ts->kv || !ts->tokens) {
        serve_series_free(ts);
        return -1;
    }
    return 0;
}

void serve_series_free(struct serve_series *ts)
{
    free(ts->queue), free(ts->running), free(ts->kv), free(ts->tokens);
    ts->queue = ts->running = ts->kv = ts->tokens = NULL;
    ts->n = 0;
}

static void series_halve(struct serve_series *ts)
{
    double *a[] = {ts->queue, ts->running, ts->kv, ts->tokens};
    for (int j = 0; j < 4; j++) {
        for (size_t i = 0; i < SERVE_SERIES_CAP / 2; i++) a[j][i] = a[j][2 * i] + a[j][2 * i + 1];
        memset(a[j] + SERVE_SERIES_CAP / 2, 0, SERVE_SERIES_CAP / 2 * sizeof *a[j]);
    }
    ts->n = (ts->n + 1) / 2;
    ts->width_s *= 2;
}

void serve_series_widen(struct serve_series *ts, double width_s)
{
    while (ts->width_s < width_s) series_halve(ts);
}

void serve_series_add(struct serve_series *ts, double t0, double t1, double queue,
                      double running, double kv, double tokens)
{
    while (t1 >= SERVE_SERIES_CAP * ts->width_s) series_halve(ts);
    size_t k = (size_t)(t0 / ts->width_s);
    const size_t k1 = (size_t)(t1 / ts->width_s);
    while (k <= k1 && k < SERVE_SERIES_CAP) {
        const double a = fmax(t0, (double)k * ts->width_s),
                     b = fmin(t1, (double)(k + 1) * ts->width_s);
        if (b > a) {
            ts->queue[k] += queue * (b - a);
            ts->running[k] += running * (b - a);
            ts->kv[k] += kv * (b - a);
        }
        k++;
    }
    ts->tokens[k1 < SERVE_SERIES_CAP ? k1 : SERVE_SERIES_CAP - 1] += tokens;
    if (k1 + 1 > ts->n) ts->n = k1 + 1 < SERVE_SERIES_CAP ? k1 + 1 : SERVE_SERIES_CAP;
}

void serve_result_free(struct serve_result *r) { serve_series_free(&r->series); }

/* FFN weights one of tp devices holds. */
static double ffn_params_dev(const struct model *m, double tp)
{
    double p = 0;
    for (int i = 0; i < m->n_groups; i++) {
        struct block_counts c;
        memset(&c, 0, sizeof c);
        m->groups[i].kind[SLOT_FFN]->count(m->groups[i].cfg[SLOT_FFN], m, tp, &c);
        p += (double)m->groups[i].repeat * c.params_dev;
    }
    return p;
}

/* ---- one run, in the steps of docs/serving.md ---- */

struct pools {
    struct serve_engine a, f; /* f used only under AFD */
    struct serve_engine dr;   /* the draft model (speculative decoding) */
    struct serve_item *ditems; /* the draft's decode items of one iteration */
    const struct device *da, *df;
    double link, layers, hidden, act_b;
    struct serve_item *mb;
    struct serve_item *dev; /* AFD with data-parallel attention: one device's share */
    int attn_dp;            /* attention devices holding their own sequences (0: tp pool) */
};

/* The state of one run: the requests, the running set, the clock, the KV
 * cache held, and what the statistics need. */
struct sim {
    const struct serve_scenario *s;
    struct serve_result *r;
    struct pools p;
    enum dtype dw, dk;
    double tp_a, state_b;
    double kv_pool_limit; /* KV bytes the attention side admits (DP attention: every device's) */
    size_t nreq, next, nrun, done;
    struct req *q;
    size_t *run;               /* running requests, in admission order */
    struct serve_item *items;  /* this iteration's work */
    /* The clock is epoch + rel: epoch is the arrival the clock last jumped
     * to (when nothing ran), rel the iteration times summed since. Latencies
     * are rel - (arrival - epoch), the difference of two nearby doubles
     * (exact), so they keep their precision however far the absolute clock
     * has run (docs/serving.md, "Clock"). */
    double epoch, rel, kv, kv_time;
    double work; /* units done (SERVE_MAX_WORK) */
    struct serve_stream iters, ttft, e2e, gaps;
    struct timeline tl;
    /* prefix caching (docs/serving.md, "Prefix caching"): off when block == 0 */
    struct pcache pc;
    double block, block_bytes;
    uint64_t *keys;
    size_t keys_cap;
    /* preemption (docs/serving.md, "Preemption"): paged allocation when on */
    bool paged;
    size_t *resume;   /* preempted requests waiting to resume, in admission order */
    size_t nresume;
    double swap_s;    /* swap time of the iteration being scheduled */
    /* priority classes: arrived requests wait in a heap by (priority, index) */
    size_t *heap, nheap;
    /* fleet (sim/fleet.c): requests are pushed by the router; 0 otherwise */
    bool fleet;
    int role;                 /* SERVE_ROLE_* */
    size_t qcap, arrived;     /* q's room; requests arrived by the clock */
    double pending_t;         /* the iteration in progress (fleet), or -1 */
    double outstanding;       /* prompt and output tokens still to do */
    double out_tokens;        /* output tokens produced (time series) */
    struct serve_fleet_out *fo; /* fleet-level statistics and hand-offs */
    struct serve_series *ser;   /* time series, or NULL */
    double spec_e;              /* speculative: expected tokens per verify */
};

static double clock_abs(const struct sim *x) { return x->epoch + x->rel; }
/* Seconds from request r's arrival to now (r arrived in the current window). */
static double since_arrival(const struct sim *x, const struct req *r)
{
    return x->rel - (r->arrival - x->epoch);
}

/* Speculative decoding: before the verify, the draft proposes k tokens for
 * every decoding sequence, k decode steps of the draft at contexts ctx, ctx +
 * 1, ..., ctx + k - 1 (docs/speculative.md, "In serve"). Their time. */
static double draft_time(struct pools *p, const struct serve_scenario *s,
                         const struct serve_item *it, int n, struct serve_result *r)
{
    const double q = s->spec.k + 1;
    int nd = 0;
    for (int i = 0; i < n; i++)
        if (it[i].q == q && it[i].samples == q * it[i].n) /* a verify (serve's schedule) */
            p->ditems[nd++] = (struct serve_item){it[i].n, 1, it[i].ctx, it[i].n};
    if (nd == 0) return 0;
    double t = 0;
    struct eval_totals tot;
    for (int j = 0; j < (int)s->spec.k; j++) {
        if (j > 0)
            for (int i = 0; i < nd; i++) p->ditems[i].ctx += 1;
        t += serve_engine_eval(&p->dr, p->ditems, nd, &tot);
    }
    r->spec_draft_s += t;
    return t;
}

static double iteration(struct pools *p, const struct serve_scenario *s, struct serve_item *it,
                        int n, struct serve_result *r)
{
    struct eval_totals tot;
    if (!s->afd.on) {
        double t = serve_engine_eval(&p->a, it, n, &tot);
        r->time_attn_s += tot.time_block_s[BLK_ATTN];
        r->time_ffn_s += tot.time_block_s[BLK_FFN];
        r->time_other_s += tot.time_block_s[BLK_MODEL];
        if (s->spec.on) t += draft_time(p, s, it, n, r);
        return t;
    }
    const int mbs = (int)s->afd.micro_batches < n ? (int)s->afd.micro_batches : n;
    double a = 0, f = 0, x = 0;
    for (int k = 0; k < mbs; k++) {
        int c = 0;
        double tokens = 0;
        for (int i = k; i < n; i += mbs) p->mb[c++] = it[i], tokens += it[i].n * it[i].q;
        if (p->attn_dp > 1) {
            /* each attention device runs its own sequences (round-robin): the
             * first device's share is the largest, and sets the pool's time */
            int cd = 0;
            for (int i = 0; i < c; i += p->attn_dp) p->dev[cd++] = p->mb[i];
            serve_engine_eval(&p->a, p->dev, cd, &tot);
        } else {
            serve_engine_eval(&p->a, p->mb, c, &tot);
        }
        const double ta = tot.time_block_s[BLK_ATTN] + tot.time_block_s[BLK_MODEL];
        serve_engine_eval(&p->f, p->mb, c, &tot);
        const double tf = tot.time_block_s[BLK_FFN];
        const double tx = p->layers * tokens * p->hidden * p->act_b / p->link;
        r->time_attn_s += ta;
        r->time_ffn_s += tf;
        r->afd_transfer_s += tx;
        if (ta > a) a = ta;
        if (tf > f) f = tf;
        if (tx > x) x = tx;
    }
    return serve_afd_step(a, f, x, mbs);
}

static int fail_at(const struct serve_scenario *s, int line, int col, struct err *e,
                   const char *msg)
{
    return err_set(e, s->file, line, col, "%s", msg);
}

/* The device pools: one engine on hw->d, or under AFD an attention engine
 * and an FFN engine on their pools' devices (docs/serving.md, AFD). */
static void pools_open(struct sim *x, const struct serve_hw *hw, double tp)
{
    const struct serve_scenario *s = x->s;
    const struct model *m = s->m;
    OB_ASSERT(!s->afd.on || ((!s->afd.attn_hw[0] || hw->attn) && (!s->afd.ffn_hw[0] || hw->ffn)));
    x->p.da = s->afd.on && hw->attn ? hw->attn : hw->d;
    x->p.df = s->afd.on && hw->ffn ? hw->ffn : hw->d;
    x->tp_a = s->afd.on ? (s->afd.attn_dp ? 1 : s->afd.attn_devices) : tp;
    x->p.attn_dp = s->afd.on && s->afd.attn_dp ? (int)s->afd.attn_devices : 0;
    OB_ASSERT(serve_engine_init(&x->p.a, m, x->p.da, x->tp_a, x->dw, m->dt_act, x->dk) == 0);
    x->p.a.st.profile = s->profile;
    x->p.a.no_cache = s->no_cache;
    if (s->spec.on) {
        const struct model *dm = s->spec.draft;
        x->p.a.st.decode_q_max = s->spec.k + 1; /* the verify runs the decode kernels */
        OB_ASSERT(serve_engine_init(&x->p.dr, dm, x->p.da, x->tp_a, dm->dt_w, dm->dt_act,
                                    dm->dt_kv) == 0);
        x->p.dr.st.profile = s->profile;
        x->p.dr.no_cache = s->no_cache;
    }
    if (s->afd.on) {
        OB_ASSERT(serve_engine_init(&x->p.f, m, x->p.df, s->afd.ffn_devices, x->dw, m->dt_act,
                                    x->dk) == 0);
        x->p.f.st.profile = s->profile;
        x->p.f.no_cache = s->no_cache;
    }
    struct serve_result *r = x->r;
    snprintf(r->hw_name, sizeof r->hw_name, "%s", hw->d->name);
    snprintf(r->attn_hw_name, sizeof r->attn_hw_name, "%s", x->p.da->name);
    snprintf(r->ffn_hw_name, sizeof r->ffn_hw_name, "%s", x->p.df->name);
    r->tp = tp;
}

/* KV-cache memory per device: weights, activation reserve, KV limit. 0, or
 * -1 with e set when nothing is left for the cache. */
static int memory_budget(struct sim *x, struct err *e)
{
    const struct serve_scenario *s = x->s;
    const struct model *m = s->m;
    struct serve_result *r = x->r;
    const struct device *da = x->p.da, *df = x->p.df;
    char msg[768];
    struct model_counts mc;
    model_count(m, x->tp_a, &mc);
    const double wb = dtype_bytes(x->dw);
    r->weight_bytes_dev = model_weight_bytes(m, mc.params_dev, mc.emb_params_dev, x->dw);
    if (s->afd.on) {
        r->weight_bytes_dev -= ffn_params_dev(m, x->tp_a) * wb;
        r->ffn_weight_bytes_dev = ffn_params_dev(m, s->afd.ffn_devices) * wb;
        if (r->ffn_weight_bytes_dev > df->mem_capacity_bytes) {
            snprintf(msg, sizeof msg,
                     "AFD: FFN weights per device (%.17g bytes over %g devices) exceed %s's "
                     "memory (%.17g bytes)",
                     r->ffn_weight_bytes_dev, s->afd.ffn_devices, df->name,
                     df->mem_capacity_bytes);
            return fail_at(s, s->line_model, s->col_model, e, msg);
        }
    }
    struct model_cache cb; /* each group at its own cache dtype (kv_dtype) */
    model_cache_bytes(m, x->tp_a, x->dk, &cb);
    r->kv_bytes_per_token_dev = cb.kv_bytes_per_token_dev;
    x->state_b = cb.state_bytes_per_seq_dev;
    if (s->act_reserve_bytes >= 0) {
        r->act_reserve_bytes = s->act_reserve_bytes;
    } else {
        struct eval_totals tot;
        const struct serve_item one = {1, s->token_budget, 0, 1};
        serve_engine_eval(&x->p.a, &one, 1, &tot);
        r->act_reserve_bytes = tot.act_peak_bytes;
    }
    if (s->spec.on) { /* the draft's weights share the device */
        struct model_counts dc;
        model_count(s->spec.draft, x->tp_a, &dc);
        r->spec_draft_weight_bytes_dev = dc.params_dev * dtype_bytes(s->spec.draft->dt_w);
    }
    r->kv_limit_bytes = s->kv_memory_bytes >= 0
                            ? s->kv_memory_bytes
                            : da->mem_capacity_bytes - r->weight_bytes_dev - r->act_reserve_bytes -
                                  r->spec_draft_weight_bytes_dev;
    /* data-parallel attention: every device of the pool holds its own share */
    x->kv_pool_limit = r->kv_limit_bytes * (x->p.attn_dp > 1 ? x->p.attn_dp : 1);
    if (s->kv_memory_bytes < 0 && r->kv_limit_bytes <= 0) {
        snprintf(msg, sizeof msg,
                 "weights (%.17g bytes per device at tp %g) and the activation reserve (%.17g "
                 "bytes) leave no KV-cache memory on %s (%.17g bytes)",
                 r->weight_bytes_dev, x->tp_a, r->act_reserve_bytes, da->name,
                 da->mem_capacity_bytes);
        return fail_at(s, s->line_model, s->col_model, e, msg);
    }
    return 0;
}

/* Requests: lengths, arrivals and sharing from the generator (serve_gen.c),
 * and each one's final KV footprint. 0, or -1 with e set when a request can
 * never fit (at its trace line, or at the mix). */
static int requests_make(struct sim *x, struct err *e)
{
    const struct serve_scenario *s = x->s;
    struct serve_result *r = x->r;
    const size_t nreq = x->nreq;
    struct req *q = x->q;
    struct serve_gen g;
    serve_gen_init(&g, s);
    for (size_t i = 0; i < nreq; i++) {
        struct serve_req_spec sp;
        serve_gen_next(&g, &sp);
        q[i].arrival = sp.arrival_s;
        q[i].input = sp.input;
        q[i].output = sp.output;
        q[i].session = sp.session;
        q[i].prefix = sp.prefix;
        q[i].prefix_tokens = sp.prefix_tokens;
        q[i].line = sp.line;
        q[i].plen = sp.input;
        q[i].priority = sp.priority;
        /* cache held at the end: the prompt and every output token but the last,
         * at most kv_window of them in a sliding-window layer */
        q[i].need_bytes =
            model_kv_bytes_per_seq(s->m, x->tp_a, q[i].input + q[i].output - 1, x->dk) +
            x->state_b;
        if (q[i].need_bytes > r->kv_limit_bytes) {
            char msg[768];
            snprintf(msg, sizeof msg,
                     "a request of %g input and %g output tokens needs %.17g bytes of KV cache "
                     "per device, more than the %.17g available: it can never be served",
                     q[i].input, q[i].output, q[i].need_bytes, r->kv_limit_bytes);
            serve_gen_free(&g);
            if (sp.line) return err_set(e, s->trace.file, sp.line, sp.col, "%s", msg);
            return fail_at(s, s->line_mix, s->col_mix, e, msg);
        }
        r->input_tokens += q[i].input;
        r->output_tokens += q[i].output;
    }
    serve_gen_free(&g);
    r->requests = (double)nreq;
    r->priority_classes = 1;
    if (s->has_priority) {
        double seen[64];
        int ns = 0;
        for (size_t i = 0; i < nreq && ns < 64; i++) {
            int k = 0;
            while (k < ns && seen[k] != q[i].priority) k++;
            if (k == ns) seen[ns++] = q[i].priority;
        }
        r->priority_classes = ns;
    }
    r->trace = s->mix == MIX_TRACE;
    r->trace_rows_skipped = r->trace ? (double)s->trace.skipped : 0;
    return 0;
}

/* The least work the requests need (SERVE_MAX_WORK): every request takes
 * output - 1 decode turns and at least ceil(input / c) prefill chunks, c =
 * min(prefill_chunk, token_budget); an iteration holds at most max_batch of
 * these and at most token_budget tokens, so iterations >= max(sum of turns /
 * max_batch, sum of tokens / token_budget). Evaluating every iteration
 * (no_cache), work >= (turns + SERVE_ITER_WORK x iterations) x layer groups;
 * with the cache any iteration may be a hit, so work >= turns x
 * SERVE_HIT_WORK; twice either under AFD (two engines). 0, or -1 with e set
 * (the scenario is refused before it runs). */
static int work_bound(struct sim *x, struct err *e)
{
    const struct serve_scenario *s = x->s;
    const double c = fmin(s->prefill_chunk, s->token_budget);
    double turns = 0, tokens = 0;
    for (size_t i = 0; i < x->nreq; i++) {
        /* speculative: a verify yields at most ceil(E) tokens */
        const double per = s->spec.on ? ceil(spec_expected_tokens(s->spec.k, s->spec.accept)) : 1;
        turns += ceil((x->q[i].output - 1) / per) + ceil(x->q[i].input / c);
        tokens += x->q[i].input + x->q[i].output - 1;
    }
    const double iters = fmax(ceil(turns / s->max_batch), ceil(tokens / s->token_budget));
    const double groups = (double)s->m->n_groups;
    const double work = (s->afd.on ? 2 : 1) * (s->no_cache ? (turns + SERVE_ITER_WORK * iters) * groups
                                                            : turns * SERVE_HIT_WORK);
    if (work <= s->max_work) return 0;
    char msg[512];
    snprintf(msg, sizeof msg,
             "this scenario needs at least %.6g units of work (%.6g iterations, %.6g "
             "sequence turns, %g layer groups), more than serve's work bound of %g "
             "(docs/serving.md, \"Work bound\"): simulate fewer requests or shorter outputs",
             work, iters, turns, groups, s->max_work);
    return fail_at(s, s->line_requests, s->col_requests, e, msg);
}

/* AFD: the link between the pools and the transfer's shape. */
static void afd_link(struct sim *x)
{
    const struct serve_scenario *s = x->s;
    struct serve_result *r = x->r;
    if (!s->afd.on) return;
    r->afd = true;
    r->afd_attn_devices = s->afd.attn_devices;
    r->afd_ffn_devices = s->afd.ffn_devices;
    r->afd_micro_batches = s->afd.micro_batches;
    const double la = s->afd.attn_devices * x->p.da->interconnect_bytes_per_s,
                 lf = s->afd.ffn_devices * x->p.df->interconnect_bytes_per_s;
    x->p.link = s->afd.link_bytes_per_s > 0 ? s->afd.link_bytes_per_s : (la < lf ? la : lf);
    r->afd_link_bytes_per_s = x->p.link;
    x->p.layers = (double)s->m->layers;
    x->p.hidden = (double)s->m->hidden;
    x->p.act_b = dtype_bytes(s->m->dt_act);
}

/* ---- paged allocation and preemption (docs/serving.md, "Preemption") ---- */

/* KV bytes per device of a sequence holding `tokens` tokens of context. */
static double kv_bytes(const struct sim *x, double tokens)
{
    return model_kv_bytes_per_seq(x->s->m, x->tp_a, tokens, x->dk) + x->state_b;
}

/* What a waiting or preempted request needs to (re)join: its final
 * footprint, or paged: its prompt (recompute: the prompt and the tokens
 * generated so far), or the bytes it swapped out. */
static double join_bytes(const struct sim *x, const struct req *r)
{
    if (!x->paged) return r->need_bytes;
    if (r->swapped) return r->own_bytes;
    return kv_bytes(x, r->plen);
}

/* Preempts the running request at run[k] (vLLM: the latest admitted):
 * recompute drops its KV (it prefills its prompt and generated tokens again
 * when it resumes); swap moves its KV to host memory over the swap link. It
 * waits at the head of the resume queue. */
static void preempt(struct sim *x, size_t k)
{
    const size_t id = x->run[k];
    struct req *r = &x->q[id];
    struct serve_result *res = x->r;
    res->preemptions += 1;
    if (x->s->preempt_swap) {
        r->swapped = true;
        x->swap_s += r->own_bytes / x->s->swap_bytes_per_s;
        res->swapped_bytes += r->own_bytes;
        x->kv -= r->own_bytes; /* own_bytes stays: what comes back */
    } else {
        res->recomputed_tokens += r->prefilled >= r->plen ? r->input + r->generated - 1 : r->prefilled;
        x->kv -= r->own_bytes;
        r->own_bytes = 0;
        r->plen = r->input + r->generated; /* the last token is fed back by the recompute */
        r->prefilled = 0;
    }
    memmove(&x->run[k], &x->run[k + 1], (x->nrun - k - 1) * sizeof *x->run);
    x->nrun--;
    memmove(&x->resume[1], &x->resume[0], x->nresume * sizeof *x->resume);
    x->resume[0] = id;
    x->nresume++;
}

/* ---- prefix caching (docs/serving.md, "Prefix caching") ---- */

static uint64_t key_mix(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL ^
                 c * 0x94d049bb133111ebULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The keys of request r's first n blocks. Token j of a prompt belongs to its
 * shared prefix while j < prefix_tokens, after that to its session's stream
 * (or to the request alone); a block's key names the tokens it holds. */
static const uint64_t *block_keys(struct sim *x, const struct req *r, size_t n)
{
    if (n > x->keys_cap) {
        x->keys_cap = n > 2 * x->keys_cap ? n : 2 * x->keys_cap;
        free(x->keys);
        x->keys = malloc(x->keys_cap * sizeof *x->keys);
        OB_ASSERT(x->keys);
    }
    const uint64_t own = r->session ? r->session : (UINT64_C(1) << 63) | (uint64_t)(r - x->q);
    const double lp = r->prefix ? r->prefix_tokens : 0, B = x->block;
    for (size_t b = 0; b < n; b++) {
        const double lo = (double)b * B, hi = lo + B;
        if (hi <= lp) x->keys[b] = key_mix(1, r->prefix, b);
        else if (lo >= lp) x->keys[b] = key_mix(2, own, b);
        else x->keys[b] = key_mix(3, key_mix(r->prefix, (uint64_t)lp, 0), key_mix(own, b, 0));
    }
    return x->keys;
}

/* Extends r's held blocks to its first n (computed by r): blocks already
 * cached replace r's own copy (freed), new ones pass from r to the cache. */
static void cache_insert(struct sim *x, struct req *r, double n)
{
    const size_t nb = (size_t)n;
    if (nb <= r->path.n) return;
    const size_t grew = nb - r->path.n;
    const size_t created = pcache_insert(&x->pc, block_keys(x, r, nb), nb, &r->path);
    r->own_bytes -= (double)grew * x->block_bytes;
    x->kv -= (double)(grew - created) * x->block_bytes;
}

/* Whether request n fits, taking hold of its cached prefix and evicting
 * unheld blocks (least recently used first) as needed. Without caching: its
 * final footprint against what is free. */
static bool admit_fits(struct sim *x, struct req *n)
{
    const double limit = x->kv_pool_limit;
    if (x->block == 0) {
        const double need = join_bytes(x, n);
        /* a swapped decode comes back only if its next token fits too */
        const double check = n->swapped && n->prefilled >= n->plen
                                 ? kv_bytes(x, n->input + n->generated)
                                 : need;
        if (x->kv + check > limit) return false;
        if (n->swapped) {
            n->swapped = false;
            x->swap_s += need / x->s->swap_bytes_per_s;
            x->r->swapped_bytes += need;
        }
        /* (a swapped decode holds its next token's KV at once: growth ran) */
        n->own_bytes = check;
        x->kv += check;
        return true;
    }
    /* at least one prompt token is computed (its logits give the first token) */
    const size_t nb = (size_t)floor((n->input - 1) / x->block);
    const uint64_t *keys = block_keys(x, n, nb);
    size_t unref_hit = 0;
    const size_t h = pcache_peek(&x->pc, keys, nb, &unref_hit);
    const double own = n->need_bytes - (double)h * x->block_bytes;
    const double evictable = (double)(x->pc.n_unref - unref_hit) * x->block_bytes;
    if (x->kv + own - evictable > limit) return false;
    pcache_match(&x->pc, keys, h, &n->path);
    if (x->kv + own > limit) {
        const size_t want = (size_t)ceil((x->kv + own - limit) / x->block_bytes);
        const size_t got = pcache_evict(&x->pc, want);
        OB_ASSERT(got == want);
        x->kv -= (double)got * x->block_bytes;
    }
    n->own_bytes = own;
    x->kv += own;
    n->prefilled = (double)h * x->block;
    x->r->prefix_hit_tokens += n->prefilled;
    if (h > 0) x->r->prefix_hit_requests += 1;
    return true;
}

/* ---- priority classes: a binary heap of arrived requests ---- */

static bool before(const struct sim *x, size_t a, size_t b)
{
    const double pa = x->q[a].priority, pb = x->q[b].priority;
    return pa != pb ? pa < pb : a < b;
}

static void heap_push(struct sim *x, size_t id)
{
    size_t i = x->nheap++;
    while (i > 0 && before(x, id, x->heap[(i - 1) / 2])) {
        x->heap[i] = x->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    x->heap[i] = id;
}

static void heap_pop(struct sim *x)
{
    const size_t last = x->heap[--x->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= x->nheap) break;
        if (c + 1 < x->nheap && before(x, x->heap[c + 1], x->heap[c])) c++;
        if (!before(x, x->heap[c], last)) break;
        x->heap[i] = x->heap[c];
        i = c;
    }
    if (x->nheap > 0) x->heap[i] = last;
}

/* Speculative decoding's figures in the result. */
static void spec_setup(struct sim *x)
{
    const struct serve_scenario *s = x->s;
    if (!s->spec.on) return;
    x->spec_e = spec_expected_tokens(s->spec.k, s->spec.accept);
    x->r->spec = true;
    x->r->spec_k = s->spec.k;
    x->r->spec_accept = s->spec.accept;
    x->r->spec_tokens_per_verify = x->spec_e;
}

/* Step 1, admission (FCFS, no overtaking): arrived requests join while the
 * batch has room and the cache holds their final footprint (beyond the
 * blocks they find cached). */
static void admit(struct sim *x)
{
    struct req *q = x->q;
    struct serve_result *r = x->r;
    /* preempted requests first, in admission order (vLLM: they go back to
     * the front of the queue), none overtaking another */
    while (x->nresume > 0 && (double)x->nrun < x->s->max_batch &&
           admit_fits(x, &q[x->resume[0]])) {
        x->run[x->nrun++] = x->resume[0];
        memmove(&x->resume[0], &x->resume[1], (x->nresume - 1) * sizeof *x->resume);
        x->nresume--;
    }
    if (x->nresume > 0) return;
    /* with priority classes the arrived requests queue by (priority, arrival) */
    if (x->heap)
        while (x->next < x->nreq && q[x->next].arrival - x->epoch <= x->rel) heap_push(x, x->next++);
    for (;;) {
        size_t id;
        if (x->heap) {
            if (x->nheap == 0) break;
            id = x->heap[0];
        } else {
            if (x->next == x->nreq || q[x->next].arrival - x->epoch > x->rel) break;
            id = x->next;
        }
        struct req *n = &q[id];
        /* a request not admitted within max_wait_s of its arrival is dropped */
        const bool drop = x->s->max_wait_s > 0 && since_arrival(x, n) > x->s->max_wait_s;
        if (!drop && ((double)x->nrun >= x->s->max_batch || !admit_fits(x, n))) break;
        if (x->heap) heap_pop(x);
        else x->next++;
        if (drop) {
            r->timed_out += 1;
            r->input_tokens -= n->input;
            r->output_tokens -= n->output;
            x->done++;
            continue;
        }
        n->admit = clock_abs(x);
        const double w = since_arrival(x, n);
        if (n->prefilled == n->input) n->since = w; /* decode replica: first token out on arrival */
        if (w > 0) {
            r->waited += 1;
            r->wait_mean_s += w;
            if (w > r->wait_max_s) r->wait_max_s = w;
        }
        x->run[x->nrun++] = id;
    }
}

/* Paged allocation: the decodes of this iteration each write one more token
 * of KV. When that does not fit, the latest-admitted running requests are
 * preempted until it does (vLLM's scheduler). Then every scheduled decode
 * holds its new context. */
static void grow(struct sim *x)
{
    const double limit = x->kv_pool_limit;
    for (;;) {
        double budget = x->s->token_budget, growth = 0;
        for (size_t k = 0; k < x->nrun && budget >= 1; k++) {
            const struct req *r = &x->q[x->run[k]];
            if (r->prefilled < r->plen) continue;
            growth += kv_bytes(x, r->input + r->generated) - r->own_bytes;
            budget -= 1;
        }
        if (x->kv + growth <= limit) break;
        OB_ASSERT(x->nrun > 1); /* a request alone always fits (requests_make) */
        /* the victim: the latest admitted of the lowest priority class */
        size_t v = x->nrun - 1;
        for (size_t k = x->nrun - 1; k-- > 0;)
            if (x->q[x->run[k]].priority > x->q[x->run[v]].priority) v = k;
        preempt(x, v);
    }
    double budget = x->s->token_budget;
    for (size_t k = 0; k < x->nrun && budget >= 1; k++) {
        struct req *r = &x->q[x->run[k]];
        if (r->prefilled < r->plen) continue;
        const double need = kv_bytes(x, r->input + r->generated);
        x->kv += need - r->own_bytes;
        r->own_bytes = need;
        budget -= 1;
    }
}

/* Steps 2 and 3: decodes first (stall-free), then prefill chunks, within
 * the token budget. Fills x->items; returns their number. */
static int schedule(struct sim *x)
{
    const struct serve_scenario *s = x->s;
    double budget = s->token_budget;
    int ni = 0;
    for (size_t k = 0; k < x->nrun; k++) { /* decodes first (stall-free) */
        struct req *r = &x->q[x->run[k]];
        r->sched = false;
        if (r->prefilled < r->plen) continue;
        /* a speculative verify checks k proposals and the token after them */
        const double q = s->spec.on ? s->spec.k + 1 : 1;
        if (budget < q) {
            x->r->starved_tokens += 1;
            continue;
        }
        x->items[ni++] = (struct serve_item){1, q, r->input + r->generated - 1, q};
        r->sched = true;
        r->chunk = 0;
        budget -= q;
    }
    for (size_t k = 0; k < x->nrun && budget >= 1; k++) { /* then prefill chunks */
        struct req *r = &x->q[x->run[k]];
        if (r->prefilled >= r->plen) continue;
        double c = r->plen - r->prefilled;
        if (c > s->prefill_chunk) c = s->prefill_chunk;
        if (c > budget) c = budget;
        x->items[ni++] = (struct serve_item){1, c, r->prefilled, c == r->plen - r->prefilled};
        r->sched = true;
        r->chunk = c;
        budget -= c;
    }
    OB_ASSERT(ni > 0);
    return ni;
}

/* A request's last token came: its blocks stay cached (prefix caching), it
 * frees the rest, and its latencies are counted against the SLO. */
static void finish(struct sim *x, struct req *r)
{
    struct serve_result *res = x->r;
    if (x->block > 0) {
        cache_insert(x, r, floor((r->input + r->output - 1) / x->block));
        pcache_release(&x->pc, &r->path);
        pcache_path_free(&r->path);
    }
    x->kv -= r->own_bytes;
    r->own_bytes = 0;
    const double e2e = since_arrival(x, r);
    stream_add(&x->e2e, e2e);
    struct serve_fleet_out *fo = x->fo;
    if (fo && r->handoff_output > 0) {
        if (fo->nho == fo->ho_cap) {
            fo->ho_cap = fo->ho_cap ? 2 * fo->ho_cap : 64;
            fo->ho = realloc(fo->ho, fo->ho_cap * sizeof *fo->ho);
            OB_ASSERT(fo->ho);
        }
        fo->ho[fo->nho++] =
            (struct serve_handoff){clock_abs(x), e2e + r->before, r->input, r->handoff_output};
    } else if (fo) {
        stream_add(&fo->e2e, e2e + r->before);
    }
    x->done++;
    const double tpot = r->output > 1 ? (e2e - r->ttft) / (r->output - 1) : 0;
    const bool ok_ttft = x->s->slo_ttft_s == 0 || r->ttft <= x->s->slo_ttft_s;
    const bool ok_tpot = x->s->slo_tpot_s == 0 || tpot <= x->s->slo_tpot_s;
    res->slo_ttft_met += ok_ttft;
    res->slo_tpot_met += ok_tpot;
    if (ok_ttft && ok_tpot) {
        res->slo_met += 1;
        res->slo_met_output_tokens += r->output;
    }
}

/* Step 4: the iteration of t seconds ran: the clock advances, prompts that
 * finished give their first token, decodes one token each, and finished
 * requests leave and free their cache. */
static void advance(struct sim *x, double t)
{
    const double t0 = clock_abs(x);
    if (x->ser) {
        while (x->arrived < x->nreq && x->q[x->arrived].arrival - x->epoch <= x->rel) x->arrived++;
    }
    const double queue = (double)(x->arrived - x->next), running = (double)x->nrun, kv = x->kv;
    double tokens = 0;
    x->kv_time += x->kv * t;
    x->rel += t;
    stream_add(&x->iters, t);
    struct serve_fleet_out *fo = x->fo;
    size_t w = 0;
    for (size_t k = 0; k < x->nrun; k++) {
        struct req *r = &x->q[x->run[k]];
        r->since += t; /* a sum of iteration times, so a gap of one iteration is exact */
        if (r->sched) {
            if (r->chunk == 0) {
                /* one token, or under speculative decoding the expected accepted
                 * tokens E, the fraction carried (docs/speculative.md) */
                double got = 1;
                if (x->s->spec.on) {
                    const double c0 = r->spec_credit;
                    r->spec_credit += x->spec_e;
                    got = floor(r->spec_credit) - floor(c0);
                    if (got > r->output - r->generated) got = r->output - r->generated;
                }
                r->generated += got;
                const double gap = got == 1 ? r->since : r->since / got;
                for (double j = 0; j < got; j++) {
                    stream_add(&x->gaps, gap);
                    if (fo) stream_add(&fo->gaps, gap);
                }
                r->since = 0;
                tokens += got;
            } else {
                r->prefilled += r->chunk;
                x->outstanding -= r->chunk;
                if (r->prefilled == r->plen && r->generated > 0) {
                    /* a recomputed request: its prefill gives its next token */
                    r->generated += 1;
                    stream_add(&x->gaps, r->since);
                    if (fo) stream_add(&fo->gaps, r->since);
                    r->since = 0;
                    tokens += 1;
                } else if (r->prefilled == r->plen) {
                    r->generated = 1;
                    r->first = clock_abs(x);
                    r->since = 0;
                    tokens += 1;
                    r->ttft = since_arrival(x, r);
                    stream_add(&x->ttft, r->ttft);
                    if (fo && r->handoff_output == 0) stream_add(&fo->ttft, r->ttft + r->before);
                    if (x->block > 0) cache_insert(x, r, floor(r->input / x->block));
                }
            }
            if (r->generated == r->output) {
                finish(x, r);
                continue;
            }
        }
        x->run[w++] = x->run[k];
    }
    x->outstanding -= tokens;
    x->out_tokens += tokens;
    x->nrun = w;
    for (size_t k = 0; k < x->nresume; k++) x->q[x->resume[k]].since += t; /* preempted */
    if (x->nrun == 0) x->kv = (double)x->pc.n_nodes * x->block_bytes; /* drop rounding residue */
    if (x->ser) serve_series_add(x->ser, t0, clock_abs(x), queue, running, kv, tokens);
}

/* Starts an iteration at the clock: admission, the schedule, its cost. 1
 * when nothing runs (the caller jumps the clock), else 0 with *t set. */
static int iteration_start(struct sim *x, double *t)
{
    struct serve_result *r = x->r;
    x->swap_s = 0;
    /* paged: the running decodes grow first (preempting under pressure),
     * then waiting requests join what is left (vLLM schedules its running
     * queue before its swapped and waiting ones) */
    if (x->paged) grow(x);
    admit(x);
    if (x->nrun == 0) return 1;
    const int ni = schedule(x);
    /* swaps run before the iteration's kernels (blocking) */
    *t = x->swap_s + iteration(&x->p, x->s, x->items, ni, r);
    r->swap_time_s += x->swap_s;
    /* the engines count their work (serve.h, SERVE_MAX_WORK); under AFD
     * each micro-batch is evaluated on both pools' engines */
    x->work = x->p.a.work + x->p.f.work;
    /* per device: under data-parallel attention the pool's share of one */
    const double kv_dev = x->kv / (x->p.attn_dp > 1 ? x->p.attn_dp : 1);
    if (kv_dev > r->kv_peak_bytes) r->kv_peak_bytes = kv_dev;
    timeline_add(&x->tl, clock_abs(x), kv_dev);
    return 0;
}

static int work_fail(const struct sim *x, struct err *e)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "stopped after %zu iterations (%zu of %.17g requests done): the run "
             "reached serve's work bound of %g units (evaluated iterations x (scheduled "
             "sequences + %g) x %g layer groups, cached ones %g per sequence; "
             "docs/serving.md, \"Work bound\"): simulate fewer requests or shorter "
             "outputs",
             x->tl.seen - 1, x->done, x->s->requests, x->s->max_work, SERVE_ITER_WORK,
             (double)x->s->m->n_groups, SERVE_HIT_WORK);
    return err_set(e, x->s->file, x->s->line_requests, x->s->col_requests, "%s",
                   msg);
}

/* The loop: admit, schedule, cost, advance; when nothing runs and nothing
 * can be admitted the clock jumps to the next arrival (a new epoch). 0, or
 * -1 with e set when the run reaches the work bound. */
static int simulate(struct sim *x, struct err *e)
{
    while (x->done < x->nreq) {
        double t;
        if (iteration_start(x, &t)) {
            if (x->done == x->nreq) break; /* the last ones timed out */
            OB_ASSERT(x->nresume == 0 && x->nheap == 0);
            OB_ASSERT(x->next < x->nreq && x->q[x->next].arrival - x->epoch > x->rel);
            x->epoch = x->q[x->next].arrival;
            x->rel = 0;
            continue;
        }
        if (x->s->progress && fmod(x->iters.n + 1, 4096) == 0)
            x->s->progress(x->s->progress_ctx, (double)x->done, (double)x->nreq);
        if (x->work > x->s->max_work) return work_fail(x, e);
        advance(x, t);
    }
    return 0;
}

/* Latency, throughput, occupancy and timeline figures of the finished run. */
static void summarize(struct sim *x, double now)
{
    struct serve_result *r = x->r;
    r->iterations = x->iters.n;
    r->cache_misses = x->p.a.evaluated + x->p.f.evaluated;
    r->cache_hits = x->p.a.calls + x->p.f.calls - r->cache_misses;
    r->makespan_s = now;
    serve_stream_stats(&x->iters, &r->iter_s);
    serve_stream_stats(&x->ttft, &r->ttft_s);
    serve_stream_stats(&x->e2e, &r->e2e_s);
    serve_stream_stats(&x->gaps, &r->tbt_s);
    r->output_tokens_per_s = r->output_tokens / now;
    r->total_tokens_per_s = (r->input_tokens + r->output_tokens) / now;
    if (r->waited > 0) r->wait_mean_s /= r->waited;
    r->prefix_block_tokens = x->block;
    if (r->priority_classes == 0) r->priority_classes = 1; /* fleet replicas: one class */
    r->paged = x->paged;
    r->prefix_hit_rate = r->prefix_hit_tokens / r->input_tokens;
    r->prefix_evicted_blocks = x->pc.evicted;
    r->slo_ttft_s = x->s->slo_ttft_s;
    r->slo_tpot_s = x->s->slo_tpot_s;
    r->slo_ttft_attainment = r->slo_ttft_met / r->requests;
    r->slo_tpot_attainment = r->slo_tpot_met / r->requests;
    r->slo_attainment = r->slo_met / r->requests;
    r->goodput_requests_per_s = r->slo_met / now;
    r->goodput_tokens_per_s = r->slo_met_output_tokens / now;
    r->kv_mean_bytes = x->kv_time / now / (x->p.attn_dp > 1 ? x->p.attn_dp : 1);
    const struct timeline *tl = &x->tl;
    r->n_timeline = tl->seen < SERVE_TIMELINE ? (int)tl->seen : SERVE_TIMELINE;
    for (int i = 0; i < r->n_timeline; i++) {
        /* evenly spaced iterations; beyond SERVE_EXACT_SAMPLES the kept one below */
        const size_t k = r->n_timeline > 1 ? (size_t)i * (tl->seen - 1) / (size_t)(r->n_timeline - 1) : 0;
        r->timeline_t_s[i] = tl->t[k / tl->stride];
        r->timeline_kv_bytes[i] = tl->kv[k / tl->stride];
    }
}

/* Cost: devices x price x makespan, per million output tokens. */
static void price(struct sim *x, double tp, double now)
{
    const struct serve_scenario *s = x->s;
    struct serve_result *r = x->r;
    const double pa = x->p.da->price_usd_per_hour, pf = x->p.df->price_usd_per_hour;
    r->devices_attn = s->afd.on ? s->afd.attn_devices : tp;
    r->devices_ffn = s->afd.on ? s->afd.ffn_devices : 0;
    r->price_attn_usd_per_hour = pa;
    r->price_ffn_usd_per_hour = s->afd.on ? pf : pa;
    r->has_price = pa > 0 && (!s->afd.on || pf > 0) && r->output_tokens > 0;
    if (!r->has_price) return;
    const double hours = now / 3600.0, per_mtok = 1e6 / r->output_tokens;
    if (s->afd.on) {
        r->usd_per_mtok_attn = r->devices_attn * pa * hours * per_mtok;
        r->usd_per_mtok_ffn = r->devices_ffn * pf * hours * per_mtok;
        r->usd_per_mtok = r->usd_per_mtok_attn + r->usd_per_mtok_ffn;
    } else {
        r->usd_per_mtok = tp * pa * hours * per_mtok;
        const double busy = r->time_attn_s + r->time_ffn_s + r->time_other_s;
        r->usd_per_mtok_attn = r->usd_per_mtok * (r->time_attn_s + r->time_other_s) / busy;
        r->usd_per_mtok_ffn = r->usd_per_mtok * r->time_ffn_s / busy;
    }
    r->usd_total = r->usd_per_mtok * r->output_tokens / 1e6;
}

/* Prefix caching shares whole blocks of every layer's KV: a layer that keeps
 * only a window, or a recurrent state, has no such blocks to share. 0, or -1
 * with e set (at the prefix_cache key). */
static int cache_check(struct sim *x, struct err *e)
{
    const struct serve_scenario *s = x->s;
    struct model_counts mc;
    model_count(s->m, x->tp_a, &mc);
    const double L = 16777216.0;
    if (x->state_b > 0 || model_kv_elems_per_seq(s->m, x->tp_a, L) != L * mc.kv_elems_per_token_dev)
        return fail_at(s, s->line_cache, s->col_cache, e,
                       "prefix caching needs every layer to keep the KV of its whole context; "
                       "this model has a sliding-window or recurrent layer");
    pcache_init(&x->pc);
    x->block = s->block_tokens;
    x->block_bytes = x->block * x->r->kv_bytes_per_token_dev;
    return 0;
}

int serve_run(const struct serve_scenario *s, const struct serve_hw *hw, double tp,
              struct serve_result *r, struct err *e)
{
    OB_ASSERT(!s->fleet); /* a fleet runs with fleet_run (sim/fleet.h) */
    memset(r, 0, sizeof *r);
    struct sim x;
    memset(&x, 0, sizeof x);
    pcache_init(&x.pc);
    x.s = s;
    x.r = r;
    x.dw = s->has_dt_w ? s->dt_w : s->m->dt_w;
    x.dk = s->has_dt_kv ? s->dt_kv : s->m->dt_kv;
    x.nreq = (size_t)s->requests;
    int rc = -1;
    pools_open(&x, hw, tp);
    if (memory_budget(&x, e)) goto out;
    x.p.a.work = 0; /* the reserve's evaluation is no iteration of the run */
    x.q = calloc(x.nreq, sizeof *x.q);
    x.run = malloc(x.nreq * sizeof *x.run);
    x.items = malloc(x.nreq * sizeof *x.items);
    x.p.mb = malloc(x.nreq * sizeof *x.p.mb);
    x.p.dev = malloc(x.nreq * sizeof *x.p.dev);
    x.p.ditems = malloc(x.nreq * sizeof *x.p.ditems);
    OB_ASSERT(x.q && x.run && x.items && x.p.mb && x.p.ditems && x.p.dev);
    spec_setup(&x);
    if (s->block_tokens > 0 && cache_check(&x, e)) goto out;
    x.paged = s->preempt;
    if (s->has_priority) {
        x.heap = malloc(x.nreq * sizeof *x.heap);
        OB_ASSERT(x.heap);
    }
    x.resume = malloc(x.nreq * sizeof *x.resume);
    OB_ASSERT(x.resume);
    if (requests_make(&x, e)) goto out;
    if (work_bound(&x, e)) goto out;
    afd_link(&x);
    OB_ASSERT(s->exact_samples >= 2 && s->exact_samples % 2 == 0);
    serve_stream_init(&x.iters, s->exact_samples, false);
    serve_stream_init(&x.ttft, s->exact_samples, false);
    serve_stream_init(&x.e2e, s->exact_samples, false);
    serve_stream_init(&x.gaps, s->exact_samples, true); /* decodes of one iteration share a gap */
    x.tl.cap = s->exact_samples;
    if (s->series_window_s > 0) {
        OB_ASSERT(serve_series_init(&r->series, s->series_window_s) == 0);
        x.ser = &r->series;
    }
    if (simulate(&x, e)) goto out;
    summarize(&x, clock_abs(&x));
    price(&x, tp, clock_abs(&x));
    rc = 0;
out:
    if (rc) serve_result_free(r);
    serve_stream_free(&x.iters), serve_stream_free(&x.ttft), serve_stream_free(&x.e2e);
    serve_stream_free(&x.gaps);
    free(x.tl.t), free(x.tl.kv);
    if (x.q)
        for (size_t i = 0; i < x.nreq; i++) pcache_path_free(&x.q[i].path);
    pcache_free(&x.pc);
    free(x.keys);
    free(x.resume);
    free(x.heap);
    free(x.q), free(x.run), free(x.items), free(x.p.mb), free(x.p.dev);
    serve_engine_free(&x.p.a);
    serve_engine_free(&x.p.f);
    serve_engine_free(&x.p.dr);
    free(x.p.ditems);
    return rc;
}

/* ---- one replica of a fleet (serve.h, "one replica stepped event by event") ---- */

struct serve_replica {
    struct sim x;
    double tp;
};

int serve_replica_open(const struct serve_scenario *s, const struct serve_hw *hw, double tp,
                       enum serve_role role, struct serve_fleet_out *fo, size_t cap,
                       struct serve_result *r, struct serve_replica **out, struct err *e)
{
    OB_ASSERT(!s->afd.on);
    memset(r, 0, sizeof *r);
    struct serve_replica *p = calloc(1, sizeof *p);
    OB_ASSERT(p);
    struct sim *x = &p->x;
    p->tp = tp;
    x->s = s;
    x->r = r;
    x->dw = s->has_dt_w ? s->dt_w : s->m->dt_w;
    x->dk = s->has_dt_kv ? s->dt_kv : s->m->dt_kv;
    pools_open(x, hw, tp);
    if (memory_budget(x, e)) {
        serve_replica_free(p);
        return -1;
    }
    x->p.a.work = 0;
    const size_t room = 1 + (size_t)fmin((double)cap, s->max_batch);
    x->run = malloc(room * sizeof *x->run);
    x->items = malloc(room * sizeof *x->items);
    x->p.ditems = malloc(room * sizeof *x->p.ditems);
    OB_ASSERT(x->run && x->items && x->p.ditems);
    spec_setup(x);
    serve_stream_init(&x->iters, s->exact_samples, false);
    serve_stream_init(&x->ttft, s->exact_samples, false);
    serve_stream_init(&x->e2e, s->exact_samples, false);
    serve_stream_init(&x->gaps, s->exact_samples, true);
    x->tl.cap = s->exact_samples;
    if (s->series_window_s > 0) {
        OB_ASSERT(serve_series_init(&r->series, s->series_window_s) == 0);
        x->ser = &r->series;
    }
    x->fleet = true;
    x->role = role;
    x->fo = fo;
    x->pending_t = -1;
    *out = p;
    return 0;
}

double serve_replica_kv_limit(const struct serve_replica *p) { return p->x.r->kv_limit_bytes; }

double serve_replica_kv_bytes(const struct serve_replica *p, double tokens)
{
    return model_kv_bytes_per_seq(p->x.s->m, p->x.tp_a, tokens, p->x.dk) + p->x.state_b;
}

void serve_replica_push(struct serve_replica *p, double t_s, double before_s, double input,
                        double output, bool prefilled)
{
    struct sim *x = &p->x;
    OB_ASSERT(t_s >= clock_abs(x) || x->pending_t >= 0);
    if (x->nreq == x->qcap) {
        x->qcap = x->qcap ? 2 * x->qcap : 256;
        x->q = realloc(x->q, x->qcap * sizeof *x->q);
        OB_ASSERT(x->q);
    }
    struct req *r = &x->q[x->nreq++];
    memset(r, 0, sizeof *r);
    r->arrival = t_s;
    r->before = before_s;
    r->input = input;
    r->plen = input;
    r->output = output;
    if (x->role == SERVE_ROLE_PREFILL && output > 1) {
        r->output = 1; /* the first token; the rest decode elsewhere */
        r->handoff_output = output;
    }
    if (prefilled) {
        r->prefilled = input;
        r->generated = 1;
    } else {
        x->r->input_tokens += input;
    }
    r->need_bytes = serve_replica_kv_bytes(p, r->input + r->output - 1);
    OB_ASSERT(r->need_bytes <= x->r->kv_limit_bytes);
    x->outstanding += (r->input - r->prefilled) + (r->output - r->generated);
    x->r->requests += 1;
}

double serve_replica_next(const struct serve_replica *p, bool *ends)
{
    const struct sim *x = &p->x;
    *ends = x->pending_t >= 0;
    if (*ends) return clock_abs(x) + x->pending_t;
    if (x->nrun > 0 || (x->next < x->nreq && x->q[x->next].arrival - x->epoch <= x->rel))
        return clock_abs(x);
    return x->next < x->nreq ? x->q[x->next].arrival : INFINITY;
}

void serve_replica_event(struct serve_replica *p)
{
    struct sim *x = &p->x;
    if (x->pending_t >= 0) {
        advance(x, x->pending_t);
        x->pending_t = -1;
        return;
    }
    double t;
    if (iteration_start(x, &t)) {
        OB_ASSERT(x->next < x->nreq);
        x->epoch = x->q[x->next].arrival;
        x->rel = 0;
        OB_ASSERT(iteration_start(x, &t) == 0);
    }
    x->pending_t = t;
}

double serve_replica_outstanding(const struct serve_replica *p) { return p->x.outstanding; }
double serve_replica_work(const struct serve_replica *p) { return p->x.work; }
double serve_replica_done(const struct serve_replica *p) { return (double)p->x.done; }
double serve_replica_iterations(const struct serve_replica *p) { return p->x.iters.n; }

void serve_replica_finish(struct serve_replica *p, double makespan_s)
{
    struct sim *x = &p->x;
    x->r->output_tokens = x->out_tokens;
    summarize(x, makespan_s);
    price(x, p->tp, makespan_s);
}

void serve_replica_free(struct serve_replica *p)
{
    if (!p) return;
    struct sim *x = &p->x;
    serve_stream_free(&x->iters), serve_stream_free(&x->ttft), serve_stream_free(&x->e2e);
    serve_stream_free(&x->gaps);
    free(x->tl.t), free(x->tl.kv);
    free(x->q), free(x->run), free(x->items), free(x->p.mb);
    serve_engine_free(&x->p.a);
    serve_engine_free(&x->p.f);
    serve_engine_free(&x->p.dr);
    free(x->p.ditems);
    free(p);
}

/* splitmix64, as serve_gen.c draws (the fleet's cycled and uniform mixes). */
static uint64_t draw_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rng_unit(uint64_t *s) { return serve_rng_unit(s); }
static double rng_int(uint64_t *s, double lo, double hi)
{
    return lo + (double)(draw_next(s) % (uint64_t)(hi - lo + 1));
}

/* The scenario's requests one by one, drawn as requests_make draws them
 * (the same streams, so a fleet sees serve_run's requests). */
void serve_requests_draw(const struct serve_scenario *s, struct serve_draw *g, double *arrival,
                         double *input, double *output)
{
    if (g->i == 0 && !g->started) {
        g->rs = s->seed;
        g->as = s->seed ^ 0x5eedULL;
        g->t = 0;
        g->started = true;
    }
    const size_t i = g->i++;
    if (s->n_lengths) {
        *input = s->input[i % (size_t)s->n_lengths];
        *output = s->output[i % (size_t)s->n_lengths];
    } else {
        *input = rng_int(&g->rs, s->in_min, s->in_max);
        *output = rng_int(&g->rs, s->out_min, s->out_max);
    }
    if (s->arrival_rate_per_s > 0 && i > 0) g->t += -log1p(-rng_unit(&g->as)) / s->arrival_rate_per_s;
    *arrival = g->t;
}
