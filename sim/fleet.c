/* fleet.c - replicas behind a router, and disaggregated prefill / decode
 * pools; see fleet.h. Rules: docs/serving.md, "Fleet". */
#include "fleet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- scenario keys ---- */

static const char *const ROUTER_NAMES[] = {"round_robin", "least_tokens", NULL};
static const char *const ROLE_NAMES[] = {"both", "prefill", "decode", NULL};
_Static_assert(N(ROUTER_NAMES) == FLEET_ROUTER_COUNT + 1, "a name per router");
_Static_assert(N(ROLE_NAMES) == SERVE_ROLE_COUNT + 1, "a name per role");

struct fleet_in {
    int router;
    double link, latency;
};
#define FOFF(f) offsetof(struct fleet_in, f)
static const struct key_spec FLEET_KEYS[] = {
    {"router", KEY_ENUM, FOFF(router), 0, 0, 1, ROUTER_NAMES, "",
     "round_robin (each pool in turn) or least_tokens (the replica with the fewest prompt and "
     "output tokens still to do)"},
    {"replicas", KEY_SEQ, 0, 0, 0, 1, NULL, "",
     "replica groups (see the replicas item table); at most 256 replicas in all"},
    {"kv_link_bytes_per_s", KEY_NUM, FOFF(link), 1e6, 1e16, 0, NULL, "bytes/s",
     "disaggregated pools: bandwidth of the KV-cache transfer from a prefill to a decode "
     "replica (required with prefill / decode roles, refused without)"},
    {"kv_link_latency_s", KEY_NUM, FOFF(latency), 0, 10, 0, NULL, "s",
     "disaggregated pools: fixed latency of one KV-cache transfer (required with roles)"},
};

struct rep_in {
    int64_t count, tp;
    char hw[256];
    int role;
};
#define ROFF(f) offsetof(struct rep_in, f)
static const struct key_spec REP_KEYS[] = {
    {"count", KEY_INT, ROFF(count), 1, FLEET_MAX_REPLICAS, 0, NULL, "replicas",
     "replicas of this shape (default 1)"},
    {"tp", KEY_INT, ROFF(tp), 1, 65536, 1, NULL, "devices", "tensor-parallel devices of each"},
    {"hw", KEY_STR, ROFF(hw), 0, 256, 0, NULL, "",
     "device (bundled name or path relative to this file; default --hw)"},
    {"role", KEY_ENUM, ROFF(role), 0, 0, 0, ROLE_NAMES, "",
     "both (default), or prefill / decode for disaggregated pools"},
};

int fleet_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n)
{
    switch (i) {
    case 0: *title = "Serve scenario: `fleet`"; *keys = FLEET_KEYS; *n = N(FLEET_KEYS); return 0;
    case 1: *title = "Serve scenario: each item of `fleet.replicas`"; *keys = REP_KEYS;
        *n = N(REP_KEYS); return 0;
    default: return -1;
    }
}

void fleet_free(struct serve_fleet *f) { free(f); }

int fleet_load(struct serve_scenario *s, const struct yml_doc *d, yml_node fn, struct err *e)
{
    struct fleet_in in = {0};
    uint64_t pr;
    if (yml_map_read(d, fn, "fleet", FLEET_KEYS, N(FLEET_KEYS), &in, &pr, e)) return -1;
    if (s->afd.on)
        return yml_fail(d, fn, e, "a fleet of AFD replicas is not modelled: give `fleet` or "
                                  "`afd`, not both");
    struct serve_fleet *f = calloc(1, sizeof *f);
    OB_ASSERT(f);
    s->fleet = f;
    f->router = (enum fleet_router)in.router;
    f->all_named = true;
    yml_node rn = yml_map_get(d, fn, "replicas");
    const int ng = yml_seq_len(d, rn);
    if (ng == 0) return yml_fail(d, rn, e, "'replicas' must list at least one replica group");
    int roles[SERVE_ROLE_COUNT] = {0};
    for (int g = 0; g < ng; g++) {
        yml_node it = yml_seq_at(d, rn, g);
        struct rep_in ri = {.count = 1, .role = SERVE_ROLE_BOTH};
        uint64_t rp;
        if (yml_map_read(d, it, "replica group", REP_KEYS, N(REP_KEYS), &ri, &rp, e)) return -1;
        if (f->n + ri.count > FLEET_MAX_REPLICAS)
            return yml_fail(d, yml_map_get(d, it, "count"), e,
                            "more than %d replicas in all", FLEET_MAX_REPLICAS);
        struct err te;
        if (model_tp_check(s->m, (double)ri.tp, &te))
            return yml_fail(d, yml_map_get(d, it, "tp"), e, "%s", te.msg);
        if (s->spec.on && model_tp_check(s->spec.draft, (double)ri.tp, &te))
            return yml_fail(d, yml_map_get(d, it, "tp"), e, "speculative draft: %s", te.msg);
        char hw[1024] = "";
        if (ri.hw[0] && catalog_resolve_in("hw", s->file, ri.hw, hw, sizeof hw, &te))
            return yml_fail(d, yml_map_get(d, it, "hw"), e, "%s", te.msg);
        if (!ri.hw[0]) f->all_named = false;
        roles[ri.role] += (int)ri.count;
        for (int k = 0; k < ri.count; k++) {
            struct fleet_replica_spec *r = &f->rep[f->n++];
            r->tp = (double)ri.tp;
            r->role = ri.role;
            snprintf(r->hw, sizeof r->hw, "%s", hw);
        }
    }
    f->disagg = roles[SERVE_ROLE_PREFILL] + roles[SERVE_ROLE_DECODE] > 0;
    const bool has_link = pr & (UINT64_C(1) << 2), has_lat = pr & (UINT64_C(1) << 3);
    if (f->disagg) {
        if (roles[SERVE_ROLE_BOTH] || !roles[SERVE_ROLE_PREFILL] || !roles[SERVE_ROLE_DECODE])
            return yml_fail(d, rn, e,
                            "disaggregated replicas need at least one `role: prefill` and one "
                            "`role: decode`, and no `role: both` (%d prefill, %d decode, %d both)",
                            roles[SERVE_ROLE_PREFILL], roles[SERVE_ROLE_DECODE],
                            roles[SERVE_ROLE_BOTH]);
        if (!has_link || !has_lat)
            return yml_fail(d, fn, e,
                            "disaggregated replicas need the KV-cache link: give "
                            "kv_link_bytes_per_s and kv_link_latency_s");
        f->link_bytes_per_s = in.link;
        f->link_latency_s = in.latency;
    } else if (has_link || has_lat) {
        return yml_fail(d, yml_map_get(d, fn, has_link ? "kv_link_bytes_per_s"
                                                       : "kv_link_latency_s"),
                        e, "a KV-cache link applies only to prefill / decode replicas");
    }
    return 0;
}

/* ---- hand-offs in flight (a binary heap by delivery time, then order) ---- */

struct flight {
    double t_s, before_s, input, output;
    size_t seq;
};

struct heap {
    struct flight *a;
    size_t n, cap, seq;
};

static bool flight_less(const struct flight *x, const struct flight *y)
{
    return x->t_s < y->t_s || (x->t_s == y->t_s && x->seq < y->seq);
}

static void heap_push(struct heap *h, struct flight f)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->a = realloc(h->a, h->cap * sizeof *h->a);
        OB_ASSERT(h->a);
    }
    f.seq = h->seq++;
    size_t i = h->n++;
    while (i > 0 && flight_less(&f, &h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = f;
}

static struct flight heap_pop(struct heap *h)
{
    const struct flight top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && flight_less(&h->a[c + 1], &h->a[c])) c++;
        if (!flight_less(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = last;
    return top;
}

/* ---- the run ---- */

struct fleet_sim {
    const struct serve_scenario *s;
    const struct serve_fleet *f;
    struct serve_replica *rep[FLEET_MAX_REPLICAS];
    struct device *dev[FLEET_MAX_REPLICAS]; /* loaded here (NULL: the --hw device) */
    int rr[SERVE_ROLE_COUNT];                /* round-robin position per pool */
    struct serve_fleet_out fo;
    struct heap flying;
    double kv_elems_tok_b, state_b; /* whole-model KV bytes: per token (x elems) and state */
};

/* The replica of pool `role` a request goes to. Round robin: the pool's
 * replicas in turn. Least tokens: the fewest prompt and output tokens still
 * to do (serve_replica_outstanding) at this moment; ties to the lowest index. */
static int route(struct fleet_sim *fs, int role)
{
    const struct serve_fleet *f = fs->f;
    int pick = -1;
    if (f->router == FLEET_ROUND_ROBIN) {
        int size = 0;
        for (int i = 0; i < f->n; i++) size += f->rep[i].role == role;
        const int want = fs->rr[role]++ % size;
        for (int i = 0, seen = 0; i < f->n; i++)
            if (f->rep[i].role == role && seen++ == want) return i;
        OB_ASSERT(0);
    }
    double best = INFINITY;
    for (int i = 0; i < f->n; i++) {
        if (f->rep[i].role != role) continue;
        const double o = serve_replica_outstanding(fs->rep[i]);
        if (o < best) best = o, pick = i;
    }
    return pick;
}

static int fail_at(const struct serve_scenario *s, int line, int col, struct err *e,
                   const char *msg)
{
    return err_set(e, s->file, line, col, "%s", msg);
}

/* Every request must fit every replica of the pools it may be routed to
 * (the router may pick any). 0, or -1 with e set. */
static int check_fit(struct fleet_sim *fs, double input, double output, struct err *e)
{
    const struct serve_fleet *f = fs->f;
    for (int i = 0; i < f->n; i++) {
        const double out_here = f->rep[i].role == SERVE_ROLE_PREFILL ? 1 : output;
        const double need = serve_replica_kv_bytes(fs->rep[i], input + out_here - 1);
        if (need > serve_replica_kv_limit(fs->rep[i])) {
            char msg[768];
            snprintf(msg, sizeof msg,
                     "a request of %g input and %g output tokens needs %.17g bytes of KV cache "
                     "per device on replica %d (tp %g), more than its %.17g: the router may send "
                     "it there, so it can never be served",
                     input, output, need, i, f->rep[i].tp, serve_replica_kv_limit(fs->rep[i]));
            return fail_at(fs->s, fs->s->line_mix, fs->s->col_mix, e, msg);
        }
    }
    return 0;
}

static void fleet_sim_free(struct fleet_sim *fs)
{
    for (int i = 0; i < FLEET_MAX_REPLICAS; i++) {
        serve_replica_free(fs->rep[i]);
        device_free(fs->dev[i]);
    }
    serve_stream_free(&fs->fo.ttft), serve_stream_free(&fs->fo.e2e);
    serve_stream_free(&fs->fo.gaps);
    free(fs->fo.ho);
    free(fs->flying.a);
}

static int open_replicas(struct fleet_sim *fs, const struct device *d, struct fleet_result *r,
                         struct err *e)
{
    const struct serve_fleet *f = fs->f;
    const size_t cap = (size_t)fs->s->requests;
    for (int i = 0; i < f->n; i++) {
        const struct device *di = d;
        if (f->rep[i].hw[0]) {
            if (device_load(f->rep[i].hw, &fs->dev[i], e)) return -1;
            di = fs->dev[i];
        }
        OB_ASSERT(di);
        if (serve_replica_open(fs->s, &(struct serve_hw){.d = di}, f->rep[i].tp, f->rep[i].role,
                               &fs->fo, cap, &r->rep[i], &fs->rep[i], e))
            return -1;
        snprintf(r->role[i], sizeof r->role[i], "%s", ROLE_NAMES[f->rep[i].role]);
    }
    return 0;
}

/* Fleet totals from the replicas' results and the fleet's streams. */
static void totals(struct fleet_sim *fs, struct fleet_result *r, double makespan)
{
    struct serve_result *t = &r->total;
    t->makespan_s = makespan;
    t->requests = fs->s->requests;
    bool price = true;
    for (int i = 0; i < r->n; i++) {
        const struct serve_result *p = &r->rep[i];
        t->iterations += p->iterations;
        t->input_tokens += p->input_tokens;
        t->output_tokens += p->output_tokens;
        t->waited += p->waited;
        t->wait_mean_s += p->wait_mean_s * p->waited;
        t->wait_max_s = fmax(t->wait_max_s, p->wait_max_s);
        t->starved_tokens += p->starved_tokens;
        t->kv_peak_bytes = fmax(t->kv_peak_bytes, p->kv_peak_bytes);
        t->time_attn_s += p->time_attn_s;
        t->time_ffn_s += p->time_ffn_s;
        t->time_other_s += p->time_other_s;
        t->cache_hits += p->cache_hits;
        t->cache_misses += p->cache_misses;
        t->devices_attn += p->devices_attn;
        if (p->price_attn_usd_per_hour > 0)
            t->usd_total += p->devices_attn * p->price_attn_usd_per_hour * makespan / 3600.0;
        else
            price = false;
    }
    if (t->waited > 0) t->wait_mean_s /= t->waited;
    serve_stream_stats(&fs->fo.ttft, &t->ttft_s);
    serve_stream_stats(&fs->fo.e2e, &t->e2e_s);
    serve_stream_stats(&fs->fo.gaps, &t->tbt_s);
    t->output_tokens_per_s = t->output_tokens / makespan;
    t->total_tokens_per_s = (t->input_tokens + t->output_tokens) / makespan;
    t->has_price = price && t->output_tokens > 0;
    if (t->has_price) t->usd_per_mtok = t->usd_total / t->output_tokens * 1e6;
    else t->usd_total = 0;
}

int fleet_run(const struct serve_scenario *s, const struct device *d, struct fleet_result *r,
              struct err *e)
{
    const struct serve_fleet *f = s->fleet;
    OB_ASSERT(f && f->n >= 1);
    memset(r, 0, sizeof *r);
    r->n = f->n;
    r->rep = calloc((size_t)f->n, sizeof *r->rep);
    OB_ASSERT(r->rep);
    struct fleet_sim *fs = calloc(1, sizeof *fs);
    OB_ASSERT(fs);
    fs->s = s;
    fs->f = f;
    serve_stream_init(&fs->fo.ttft, s->exact_samples, false);
    serve_stream_init(&fs->fo.e2e, s->exact_samples, false);
    serve_stream_init(&fs->fo.gaps, s->exact_samples, true);
    int rc = -1;
    if (open_replicas(fs, d, r, e)) goto out;
    /* whole-model KV of a prompt (tp 1: every device's share once), the bytes
     * a hand-off moves */
    const double kvb = dtype_bytes(s->has_dt_kv ? s->dt_kv : s->m->dt_kv);
    struct model_counts mc;
    model_count(s->m, 1, &mc);
    fs->state_b = mc.state_elems_per_seq_dev * kvb;
    /* the requests: drawn once to check them and bound the work, then again
     * as they arrive (the same draws) */
    const size_t nreq = (size_t)s->requests;
    struct serve_draw g = {0};
    double turns = 0;
    const double c = fmin(s->prefill_chunk, s->token_budget);
    for (size_t i = 0; i < nreq; i++) {
        double a, in, out;
        serve_requests_draw(s, &g, &a, &in, &out);
        if (check_fit(fs, in, out, e)) goto out;
        turns += out - 1 + ceil(in / c);
    }
    if (turns * SERVE_HIT_WORK > s->max_work) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "this scenario needs at least %.6g units of work (%.6g sequence turns), more "
                 "than serve's work bound of %g (docs/serving.md, \"Work bound\")",
                 turns * SERVE_HIT_WORK, turns, s->max_work);
        fail_at(s, s->line_requests, s->col_requests, e, msg);
        goto out;
    }
    memset(&g, 0, sizeof g);
    size_t routed = 0;
    double na = 0, nin = 0, nout = 0, now = 0;
    if (nreq) serve_requests_draw(s, &g, &na, &nin, &nout);
    const int entry = f->disagg ? SERVE_ROLE_PREFILL : SERVE_ROLE_BOTH;
    for (;;) {
        /* the next event: iteration ends first, then arrivals at the router,
         * then hand-offs landing, then iteration starts; ties by replica */
        double best = INFINITY;
        int kind = -1, who = -1;
        for (int i = 0; i < f->n; i++) {
            bool ends;
            const double t = serve_replica_next(fs->rep[i], &ends);
            const int k = ends ? 0 : 3;
            if (t < best || (t == best && k < kind)) best = t, kind = k, who = i;
        }
        if (routed < nreq && (na < best || (na == best && 1 < kind))) best = na, kind = 1;
        if (fs->flying.n &&
            (fs->flying.a[0].t_s < best || (fs->flying.a[0].t_s == best && 2 < kind)))
            best = fs->flying.a[0].t_s, kind = 2;
        if (kind < 0) break; /* nothing left anywhere */
        now = best;
        if (kind == 1) {
            serve_replica_push(fs->rep[route(fs, entry)], na, 0, nin, nout, false);
            if (++routed < nreq) serve_requests_draw(s, &g, &na, &nin, &nout);
        } else if (kind == 2) {
            const struct flight fl = heap_pop(&fs->flying);
            serve_stream_add(&fs->fo.ttft, fl.before_s); /* the first token reaches the user */
            serve_replica_push(fs->rep[route(fs, SERVE_ROLE_DECODE)], fl.t_s, fl.before_s,
                               fl.input, fl.output, true);
        } else {
            serve_replica_event(fs->rep[who]);
            /* prompts a prefill replica finished cross the link */
            for (size_t h = 0; h < fs->fo.nho; h++) {
                const struct serve_handoff *ho = &fs->fo.ho[h];
                const double bytes = model_kv_elems_per_seq(s->m, 1, ho->input) * kvb + fs->state_b;
                const double x = f->link_latency_s + bytes / f->link_bytes_per_s;
                r->kv_transfers += 1;
                r->kv_transfer_bytes += bytes;
                r->kv_transfer_s += x;
                heap_push(&fs->flying, (struct flight){ho->t_s + x, ho->before_s + x, ho->input,
                                                       ho->output, 0});
            }
            fs->fo.nho = 0;
            double work = 0;
            for (int i = 0; i < f->n; i++) work += serve_replica_work(fs->rep[i]);
            if (work > s->max_work) {
                char msg[512];
                snprintf(msg, sizeof msg,
                         "stopped at t = %g s: the fleet reached serve's work bound of %g units "
                         "(docs/serving.md, \"Work bound\"): simulate fewer requests or shorter "
                         "outputs",
                         now, s->max_work);
                fail_at(s, s->line_requests, s->col_requests, e, msg);
                goto out;
            }
        }
    }
    for (int i = 0; i < f->n; i++) serve_replica_finish(fs->rep[i], now);
    totals(fs, r, now);
    rc = 0;
out:
    fleet_sim_free(fs);
    free(fs);
    if (rc) fleet_result_free(r);
    return rc;
}

void fleet_result_free(struct fleet_result *r)
{
    if (r->rep)
        for (int i = 0; i < r->n; i++) serve_result_free(&r->rep[i]);
    free(r->rep);
    r->rep = NULL;
    r->n = 0;
}
