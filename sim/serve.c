/* serve.c - the iteration engine and the continuous-batching scheduler; see
 * serve.h. Rules and formulas: docs/serving.md. */
#include "serve.h"

#include "placement.h"

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
    if (graph_init(&e->g, model_max_ops(m) + m->n_groups * attn_ops) ||
        graph_init(&e->scratch, attn_ops)) {
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
    e->items = NULL;
    e->items_cap = 0;
}

static int item_cmp(const void *pa, const void *pb)
{
    const struct serve_item *a = pa, *b = pb;
    if (a->q != b->q) return a->q < b->q ? -1 : 1;
    if (a->ctx != b->ctx) return a->ctx < b->ctx ? -1 : 1;
    return 0;
}

/* Sums b into a, except shared weights (struct op.shared_w: a plain GEMM's
 * model weights such as MLA kv_up, NSA cmp_k/cmp_v): one kernel over every
 * sequence reads them once, so the merged op reads them once (the largest of
 * the groups'). Other weight operands belong to each sequence (MoBA's batched
 * gate holds the queries there) and add up. */
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
static void merge_op(struct graph *g, const struct op *src)
{
    for (int i = 0; i < g->n; i++) {
        struct op *o = &g->ops[i];
        if (o->group == src->group && op_per_seq(o) && strcmp(o->name, src->name) == 0) {
            cost_add(&o->cost, &src->cost, o->shared_w);
            return;
        }
    }
    OB_ASSERT(g->n < g->cap);
    g->ops[g->n++] = *src;
}

double serve_engine_eval(struct serve_engine *e, const struct serve_item *items, int n,
                         struct eval_totals *tot)
{
    OB_ASSERT(n >= 1);
    if (n > e->items_cap) {
        free(e->items);
        e->items = malloc((size_t)n * sizeof *e->items);
        OB_ASSERT(e->items);
        e->items_cap = n;
    }
    struct serve_item *it = e->items;
    memcpy(it, items, (size_t)n * sizeof *it);
    qsort(it, (size_t)n, sizeof *it, item_cmp);
    /* Merge equal (q, ctx): one lowering per group, batch = the group's size. */
    int ng = 0;
    for (int i = 0; i < n; i++) {
        OB_ASSERT(it[i].n >= 1 && it[i].q >= 1 && it[i].ctx >= 0 && it[i].samples >= 0 &&
                  it[i].samples <= it[i].n);
        if (ng > 0 && it[ng - 1].q == it[i].q && it[ng - 1].ctx == it[i].ctx) {
            it[ng - 1].n += it[i].n;
            it[ng - 1].samples += it[i].samples;
        } else {
            it[ng++] = it[i];
        }
    }
    double b = 0, t = 0, samples = 0;
    bool all_decode = true;
    for (int i = 0; i < ng; i++) {
        b += it[i].n;
        t += it[i].n * it[i].q;
        samples += it[i].samples;
        if (it[i].q != 1 || it[i].ctx == 0) all_decode = false;
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
            gs.phase = it[k].q == 1 && it[k].ctx > 0 ? PHASE_DECODE : PHASE_PREFILL;
            gs.batch = it[k].n;
            gs.q_len = it[k].q;
            gs.ctx_prior = it[k].ctx;
            const struct lower_ctx c = {.m = e->m, .st = &gs, .tokens = gs.batch * gs.q_len};
            graph_reset(sg);
            sg->dt_w = st.dt_w;
            sg->dt_act = st.dt_act;
            sg->dt_kv = st.dt_kv;
            sg->block = BLK_ATTN;
            sg->group = li;
            sg->layer_first = lg->first_layer;
            sg->layer_count = (int)lg->repeat;
            lg->kind[SLOT_ATTN]->lower(lg->cfg[SLOT_ATTN], &c, sg);
            for (int j = 0; j < sg->n; j++)
                if (op_per_seq(&sg->ops[j])) merge_op(g, &sg->ops[j]);
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
    return tot->time_s;
}

/* ---- scheduler ---- */

struct req {
    double arrival, input, output;
    double prefilled, generated, chunk;
    double admit, first, since, need_bytes; /* since: time since the last token */
    bool sched;
};

/* splitmix64 (Steele, Lea and Flood 2014): a fixed-seed generator so that
 * every run of a scenario is the same. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }
static double rng_int(uint64_t *s, double lo, double hi)
{
    return lo + (double)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

double serve_afd_step(double a, double f, double x, double micro_batches)
{
    double mx = a > f ? a : f;
    if (x > mx) mx = x;
    return a + f + 2.0 * x + (micro_batches - 1.0) * mx;
}

/* Growable double array. */
struct vec {
    double *v;
    size_t n, cap;
};
static void vec_push(struct vec *a, double x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 1024;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        OB_ASSERT(a->v);
    }
    a->v[a->n++] = x;
}

static int dbl_cmp(const void *pa, const void *pb)
{
    const double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

/* Nearest-rank percentile p (0..1] of sorted x[0..n). */
static double rank_pct(const double *x, size_t n, double p)
{
    size_t k = (size_t)ceil(p * (double)n);
    return x[k > 0 ? k - 1 : 0];
}

static void stats_of(struct vec *a, struct serve_stats *s)
{
    memset(s, 0, sizeof *s);
    if (a->n == 0) return;
    double sum = 0;
    for (size_t i = 0; i < a->n; i++) sum += a->v[i];
    qsort(a->v, a->n, sizeof *a->v, dbl_cmp);
    s->mean = sum / (double)a->n;
    s->p50 = rank_pct(a->v, a->n, 0.5);
    s->p99 = rank_pct(a->v, a->n, 0.99);
    s->max = a->v[a->n - 1];
}

/* Gaps between tokens as (value, count) runs: most decode tokens of one
 * iteration share its duration, so this stays about one entry per iteration. */
struct gaps {
    double *v, *c;
    size_t n, cap;
    double total;
};
static void gaps_add(struct gaps *g, double v)
{
    g->total += 1;
    if (g->n && g->v[g->n - 1] == v) {
        g->c[g->n - 1] += 1;
        return;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 1024;
        g->v = realloc(g->v, g->cap * sizeof *g->v);
        g->c = realloc(g->c, g->cap * sizeof *g->c);
        OB_ASSERT(g->v && g->c);
    }
    g->v[g->n] = v;
    g->c[g->n++] = 1;
}
struct run_vc {
    double v, c;
};
static int run_cmp(const void *pa, const void *pb)
{
    return dbl_cmp(&((const struct run_vc *)pa)->v, &((const struct run_vc *)pb)->v);
}
static void gaps_stats(struct gaps *g, struct serve_stats *s)
{
    memset(s, 0, sizeof *s);
    if (g->n == 0) return;
    struct run_vc *x = malloc(g->n * sizeof *x);
    OB_ASSERT(x);
    double sum = 0;
    for (size_t i = 0; i < g->n; i++) {
        x[i] = (struct run_vc){g->v[i], g->c[i]};
        sum += g->v[i] * g->c[i];
    }
    qsort(x, g->n, sizeof *x, run_cmp);
    /* nearest rank over the expanded multiset */
    const double want50 = ceil(0.5 * g->total), want99 = ceil(0.99 * g->total);
    double cum = 0;
    bool got50 = false;
    for (size_t i = 0; i < g->n; i++) {
        cum += x[i].c;
        if (!got50 && cum >= want50) s->p50 = x[i].v, got50 = true;
        if (cum >= want99) {
            s->p99 = x[i].v;
            break;
        }
    }
    s->mean = sum / g->total;
    s->max = x[g->n - 1].v;
    free(x);
}

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
    const struct device *da, *df;
    double link, layers, hidden, act_b;
    struct serve_item *mb;
};

/* The state of one run: the requests, the running set, the clock, the KV
 * cache held, and what the statistics need. */
struct sim {
    const struct serve_scenario *s;
    struct serve_result *r;
    struct pools p;
    enum dtype dw, dk;
    double tp_a, state_b;
    size_t nreq, next, nrun, done;
    struct req *q;
    size_t *run;               /* running requests, in admission order */
    struct serve_item *items;  /* this iteration's work */
    double now, kv, kv_time;
    struct vec iters, ttft, e2e, tl_t, tl_kv;
    struct gaps gp;
};

static double iteration(struct pools *p, const struct serve_scenario *s, struct serve_item *it,
                        int n, struct serve_result *r)
{
    struct eval_totals tot;
    if (!s->afd.on) {
        const double t = serve_engine_eval(&p->a, it, n, &tot);
        r->time_attn_s += tot.time_block_s[BLK_ATTN];
        r->time_ffn_s += tot.time_block_s[BLK_FFN];
        r->time_other_s += tot.time_block_s[BLK_MODEL];
        return t;
    }
    const int mbs = (int)s->afd.micro_batches < n ? (int)s->afd.micro_batches : n;
    double a = 0, f = 0, x = 0;
    for (int k = 0; k < mbs; k++) {
        int c = 0;
        double tokens = 0;
        for (int i = k; i < n; i += mbs) p->mb[c++] = it[i], tokens += it[i].n * it[i].q;
        serve_engine_eval(&p->a, p->mb, c, &tot);
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
    x->tp_a = s->afd.on ? s->afd.attn_devices : tp;
    OB_ASSERT(serve_engine_init(&x->p.a, m, x->p.da, x->tp_a, x->dw, m->dt_act, x->dk) == 0);
    if (s->afd.on)
        OB_ASSERT(serve_engine_init(&x->p.f, m, x->p.df, s->afd.ffn_devices, x->dw, m->dt_act,
                                    x->dk) == 0);
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
    const double wb = dtype_bytes(x->dw), kvb = dtype_bytes(x->dk);
    r->weight_bytes_dev = mc.params_dev * wb;
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
    r->kv_bytes_per_token_dev = mc.kv_elems_per_token_dev * kvb;
    x->state_b = mc.state_elems_per_seq_dev * kvb;
    if (s->act_reserve_bytes >= 0) {
        r->act_reserve_bytes = s->act_reserve_bytes;
    } else {
        struct eval_totals tot;
        const struct serve_item one = {1, s->token_budget, 0, 1};
        serve_engine_eval(&x->p.a, &one, 1, &tot);
        r->act_reserve_bytes = tot.act_peak_bytes;
    }
    r->kv_limit_bytes = s->kv_memory_bytes >= 0
                            ? s->kv_memory_bytes
                            : da->mem_capacity_bytes - r->weight_bytes_dev - r->act_reserve_bytes;
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

/* Requests: lengths (cycled mix or uniform draws), arrivals (all at 0 or
 * Poisson), and each one's final KV footprint. 0, or -1 with e set when a
 * request can never fit. */
static int requests_make(struct sim *x, struct err *e)
{
    const struct serve_scenario *s = x->s;
    struct serve_result *r = x->r;
    const size_t nreq = x->nreq;
    struct req *q = x->q;
    const double kvb = dtype_bytes(x->dk);
    uint64_t rs = s->seed, as = s->seed ^ 0x5eedULL;
    double t_arr = 0;
    for (size_t i = 0; i < nreq; i++) {
        if (s->n_lengths) {
            q[i].input = s->input[i % (size_t)s->n_lengths];
            q[i].output = s->output[i % (size_t)s->n_lengths];
        } else {
            q[i].input = rng_int(&rs, s->in_min, s->in_max);
            q[i].output = rng_int(&rs, s->out_min, s->out_max);
        }
        if (s->arrival_rate_per_s > 0 && i > 0) t_arr += -log1p(-rng_unit(&as)) / s->arrival_rate_per_s;
        q[i].arrival = t_arr;
        /* cache held at the end: the prompt and every output token but the last,
         * at most kv_window of them in a sliding-window layer */
        q[i].need_bytes =
            model_kv_elems_per_seq(s->m, x->tp_a, q[i].input + q[i].output - 1) * kvb + x->state_b;
        if (q[i].need_bytes > r->kv_limit_bytes) {
            char msg[768];
            snprintf(msg, sizeof msg,
                     "a request of %g input and %g output tokens needs %.17g bytes of KV cache "
                     "per device, more than the %.17g available: it can never be served",
                     q[i].input, q[i].output, q[i].need_bytes, r->kv_limit_bytes);
            return fail_at(s, s->line_mix, s->col_mix, e, msg);
        }
        r->input_tokens += q[i].input;
        r->output_tokens += q[i].output;
    }
    r->requests = (double)nreq;
    return 0;
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

/* Step 1, admission (FCFS, no overtaking): arrived requests join while the
 * batch has room and the cache holds their final footprint. */
static void admit(struct sim *x)
{
    struct req *q = x->q;
    struct serve_result *r = x->r;
    while (x->next < x->nreq && q[x->next].arrival <= x->now &&
           (double)x->nrun < x->s->max_batch && x->kv + q[x->next].need_bytes <= r->kv_limit_bytes) {
        struct req *n = &q[x->next];
        n->admit = x->now;
        x->kv += n->need_bytes;
        if (x->now > n->arrival) {
            const double w = x->now - n->arrival;
            r->waited += 1;
            r->wait_mean_s += w;
            if (w > r->wait_max_s) r->wait_max_s = w;
        }
        x->run[x->nrun++] = x->next++;
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
        if (r->prefilled < r->input) continue;
        if (budget < 1) {
            x->r->starved_tokens += 1;
            continue;
        }
        x->items[ni++] = (struct serve_item){1, 1, r->input + r->generated - 1, 1};
        r->sched = true;
        r->chunk = 0;
        budget -= 1;
    }
    for (size_t k = 0; k < x->nrun && budget >= 1; k++) { /* then prefill chunks */
        struct req *r = &x->q[x->run[k]];
        if (r->prefilled >= r->input) continue;
        double c = r->input - r->prefilled;
        if (c > s->prefill_chunk) c = s->prefill_chunk;
        if (c > budget) c = budget;
        x->items[ni++] = (struct serve_item){1, c, r->prefilled, c == r->input - r->prefilled};
        r->sched = true;
        r->chunk = c;
        budget -= c;
    }
    OB_ASSERT(ni > 0);
    return ni;
}

/* Step 4: the iteration of t seconds ran: the clock advances, prompts that
 * finished give their first token, decodes one token each, and finished
 * requests leave and free their cache. */
static void advance(struct sim *x, double t)
{
    x->kv_time += x->kv * t;
    x->now += t;
    vec_push(&x->iters, t);
    size_t w = 0;
    for (size_t k = 0; k < x->nrun; k++) {
        struct req *r = &x->q[x->run[k]];
        r->since += t; /* a sum of iteration times, so a gap of one iteration is exact */
        if (r->sched) {
            if (r->chunk == 0) {
                r->generated += 1;
                gaps_add(&x->gp, r->since);
                r->since = 0;
            } else {
                r->prefilled += r->chunk;
                if (r->prefilled == r->input) {
                    r->generated = 1;
                    r->first = x->now;
                    r->since = 0;
                    vec_push(&x->ttft, x->now - r->arrival);
                }
            }
            if (r->generated == r->output) {
                x->kv -= r->need_bytes;
                vec_push(&x->e2e, x->now - r->arrival);
                x->done++;
                continue;
            }
        }
        x->run[w++] = x->run[k];
    }
    x->nrun = w;
    if (x->nrun == 0) x->kv = 0; /* drop rounding residue */
}

/* The loop: admit, schedule, cost, advance; when nothing runs and nothing
 * can be admitted the clock jumps to the next arrival. */
static void simulate(struct sim *x)
{
    struct serve_result *r = x->r;
    while (x->done < x->nreq) {
        admit(x);
        if (x->nrun == 0) {
            OB_ASSERT(x->next < x->nreq && x->q[x->next].arrival > x->now);
            x->now = x->q[x->next].arrival;
            continue;
        }
        const int ni = schedule(x);
        if (x->kv > r->kv_peak_bytes) r->kv_peak_bytes = x->kv;
        vec_push(&x->tl_t, x->now);
        vec_push(&x->tl_kv, x->kv);
        advance(x, iteration(&x->p, x->s, x->items, ni, r));
    }
}

/* Latency, throughput, occupancy and timeline figures of the finished run. */
static void summarize(struct sim *x)
{
    struct serve_result *r = x->r;
    const double now = x->now;
    r->iterations = (double)x->iters.n;
    r->makespan_s = now;
    stats_of(&x->iters, &r->iter_s);
    stats_of(&x->ttft, &r->ttft_s);
    stats_of(&x->e2e, &r->e2e_s);
    gaps_stats(&x->gp, &r->tbt_s);
    r->output_tokens_per_s = r->output_tokens / now;
    r->total_tokens_per_s = (r->input_tokens + r->output_tokens) / now;
    if (r->waited > 0) r->wait_mean_s /= r->waited;
    r->kv_mean_bytes = x->kv_time / now;
    const struct vec *tl_t = &x->tl_t, *tl_kv = &x->tl_kv;
    r->n_timeline = tl_t->n < SERVE_TIMELINE ? (int)tl_t->n : SERVE_TIMELINE;
    for (int i = 0; i < r->n_timeline; i++) {
        const size_t k = r->n_timeline > 1 ? (size_t)i * (tl_t->n - 1) / (size_t)(r->n_timeline - 1) : 0;
        r->timeline_t_s[i] = tl_t->v[k];
        r->timeline_kv_bytes[i] = tl_kv->v[k];
    }
}

/* Cost: devices x price x makespan, per million output tokens. */
static void price(struct sim *x, double tp)
{
    const struct serve_scenario *s = x->s;
    struct serve_result *r = x->r;
    const double pa = x->p.da->price_usd_per_hour, pf = x->p.df->price_usd_per_hour;
    r->devices_attn = s->afd.on ? s->afd.attn_devices : tp;
    r->devices_ffn = s->afd.on ? s->afd.ffn_devices : 0;
    r->price_attn_usd_per_hour = pa;
    r->price_ffn_usd_per_hour = s->afd.on ? pf : pa;
    r->has_price = pa > 0 && (!s->afd.on || pf > 0);
    if (!r->has_price) return;
    const double hours = x->now / 3600.0, per_mtok = 1e6 / r->output_tokens;
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

int serve_run(const struct serve_scenario *s, const struct serve_hw *hw, double tp,
              struct serve_result *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    struct sim x;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.r = r;
    x.dw = s->has_dt_w ? s->dt_w : s->m->dt_w;
    x.dk = s->has_dt_kv ? s->dt_kv : s->m->dt_kv;
    x.nreq = (size_t)s->requests;
    int rc = -1;
    pools_open(&x, hw, tp);
    if (memory_budget(&x, e)) goto out;
    x.q = calloc(x.nreq, sizeof *x.q);
    x.run = malloc(x.nreq * sizeof *x.run);
    x.items = malloc(x.nreq * sizeof *x.items);
    x.p.mb = malloc(x.nreq * sizeof *x.p.mb);
    OB_ASSERT(x.q && x.run && x.items && x.p.mb);
    if (requests_make(&x, e)) goto out;
    afd_link(&x);
    simulate(&x);
    summarize(&x);
    price(&x, tp);
    rc = 0;
out:
    free(x.iters.v), free(x.ttft.v), free(x.e2e.v), free(x.tl_t.v), free(x.tl_kv.v);
    free(x.gp.v), free(x.gp.c);
    free(x.q), free(x.run), free(x.items), free(x.p.mb);
    serve_engine_free(&x.p.a);
    serve_engine_free(&x.p.f);
    return rc;
}
