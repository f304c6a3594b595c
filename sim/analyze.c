/* analyze.c - scenario analysis; see analyze.h. Conventions: docs/conventions.md. */
#include "analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

const char *phase_name(enum phase p) { return p == PHASE_PREFILL ? "prefill" : "decode"; }

int analysis_init(struct analysis *a, const struct model *m)
{
    memset(a, 0, sizeof *a);
    int cap = model_max_ops(m);
    if (graph_init(&a->graph, cap) || graph_init(&a->other, cap)) goto fail;
    a->per_op = calloc((size_t)cap, sizeof *a->per_op);
    a->other_per_op = calloc((size_t)cap, sizeof *a->other_per_op);
    a->place = calloc((size_t)cap, sizeof *a->place);
    if (!a->per_op || !a->other_per_op || !a->place) goto fail;
    model_count(m, 1, &a->counts); /* depends on the scenario's tp only */
    a->counts1 = a->counts;
    a->counts_tp = 1;
    return 0;
fail:
    analysis_free(a);
    return -1;
}

void analysis_free(struct analysis *a)
{
    graph_free(&a->graph);
    graph_free(&a->other);
    free(a->per_op);
    free(a->other_per_op);
    free(a->place);
    a->per_op = NULL;
    a->other_per_op = NULL;
    a->place = NULL;
}

static void set_step(struct step *st, enum phase ph, double batch, double len,
                     const struct model *m, const struct scenario *sc)
{
    st->phase = ph;
    st->batch = batch;
    st->q_len = ph == PHASE_PREFILL ? len : 1.0;
    st->ctx_prior = ph == PHASE_PREFILL ? 0.0 : len;
    st->tp = sc->tp >= 1 ? sc->tp : 1;
    st->ep = sc->ep >= 1 ? sc->ep : 1;
    st->dt_w = sc->has_dt_w ? sc->dt_w : m->dt_w;
    st->dt_act = m->dt_act;
    st->dt_kv = sc->has_dt_kv ? sc->dt_kv : m->dt_kv;
    st->profile = sc->profile;
    st->attn_dp = sc->attn_dp > 1 ? sc->attn_dp : 0;
}

/* Parameters one device holds: ct counted at tp, c1 at tp 1. Expert
 * parallelism alone: 1/ep of the routed experts (docs/moe.md); with tp too,
 * the expert blocks are not tp-split (whole router and shared experts, routed
 * experts / ep) while everything else is. */
static double dev_params(const struct model_counts *ct, const struct model_counts *c1,
                         double tp, double ep)
{
    if (ep > 1 && tp > 1)
        return ct->params_dev - ct->ep_block_params_dev + c1->ep_block_params_dev -
               c1->ep_params_dev * (1.0 - 1.0 / ep);
    return ct->params_dev - ct->ep_params_dev * (1.0 - 1.0 / ep);
}

/* Pipeline figures (pipeline.h) from the micro-batch graphs; overrides the
 * memory and time figures with the pipeline's. B: sequences in the step. */
static void pipe_run(struct analysis *a, const struct model *m, const struct device *d,
                     const struct scenario *sc, double B, double len)
{
    struct pipe_figures *p = &a->pipe;
    const int P = (int)p->pp, L = (int)m->layers;
    const bool pre_is_main = sc->phase == PHASE_PREFILL;
    double tp_[PIPE_MAX_STAGES] = {0}, td_[PIPE_MAX_STAGES];
    const bool no_prefill = !pre_is_main && len < 1; /* decode at context 0: not lowered */
    if (!no_prefill)
        pipe_stage_times(pre_is_main ? &a->graph : &a->other,
                         pre_is_main ? a->per_op : a->other_per_op, L, P, tp_);
    pipe_stage_times(pre_is_main ? &a->other : &a->graph,
                     pre_is_main ? a->other_per_op : a->per_op, L, P, td_);
    /* boundary sends: each device of a stage sends the micro-batch's hidden
     * states to its peer in the next stage (vLLM's form; docs/pipeline.md) */
    const double stage_devs = a->step.tp * a->step.ep, ab = dtype_bytes(a->step.dt_act);
    const double h = (double)m->hidden;
    p->send_bytes_prefill = no_prefill ? 0 : p->b_mb * len * h * ab;
    p->send_bytes_decode = p->b_mb * h * ab;
    p->t_send_prefill_s = net_time_s(d, NET_P2P, p->send_bytes_prefill, p->pp, stage_devs);
    p->t_send_decode_s = net_time_s(d, NET_P2P, p->send_bytes_decode, p->pp, stage_devs);
    struct net_span sp;
    net_layout(d, p->pp, stage_devs, &sp);
    p->send_crosses = sp.crosses;
    double sum_p = 0, sum_d = 0, max_p = -1, max_d = -1;
    const double wb = dtype_bytes(a->step.dt_w), kvb = dtype_bytes(a->step.dt_kv);
    const double act_seq = a->act_bytes / p->b_mb; /* activations grow with the micro-batch */
    double worst = -1, max_b = -1;
    for (int s = 0; s < P; s++) {
        struct pipe_stage *st = &p->stage[s];
        pipe_split(L, P, s, &st->layer_lo, &st->layer_hi);
        st->t_prefill_s = no_prefill ? 0 : tp_[s];
        st->t_decode_s = td_[s];
        sum_p += st->t_prefill_s, sum_d += st->t_decode_s;
        if (st->t_prefill_s > max_p) max_p = st->t_prefill_s, p->slowest_prefill = s;
        if (st->t_decode_s > max_d) max_d = st->t_decode_s, p->slowest_decode = s;
        struct model_counts c;
        const int ends = (s == 0 ? MODEL_ENDS_EMBED : 0) | (s == P - 1 ? MODEL_ENDS_HEAD : 0);
        model_count_layers(m, a->step.tp, st->layer_lo, st->layer_hi, ends, &c);
        struct model_counts c1 = c;
        if (a->step.ep > 1 && a->step.tp > 1)
            model_count_layers(m, 1, st->layer_lo, st->layer_hi, ends, &c1);
        st->weight_bytes = dev_params(&c, &c1, a->step.tp, a->step.ep) * wb;
        st->cache_bytes_per_seq =
            model_kv_elems_per_seq_layers(m, a->step.tp, a->ctx_tokens, st->layer_lo, st->layer_hi) *
                kvb +
            c.state_elems_per_seq_dev * kvb;
        st->memory_bytes = st->weight_bytes + B * st->cache_bytes_per_seq + a->act_bytes;
        if (st->memory_bytes > worst) worst = st->memory_bytes, p->worst_memory = s;
        const double room = d->mem_capacity_bytes - st->weight_bytes;
        const double fit = room <= 0 ? 0 : floor(room / (st->cache_bytes_per_seq + act_seq / p->m));
        if (max_b < 0 || fit < max_b) max_b = fit;
    }
    p->t_prefill_s = no_prefill ? 0 : sum_p + (p->pp - 1.0) * p->t_send_prefill_s + (p->m - 1.0) * max_p;
    const double ideal = p->m * sum_p / p->pp;
    p->bubble_prefill = ideal > 0 ? (p->t_prefill_s - ideal) / ideal : 0;
    const double round = sum_d + (p->pp - 1.0) * p->t_send_decode_s, busy = p->m * max_d;
    p->t_decode_s = round > busy ? round : busy;
    p->busy_decode = p->t_decode_s > 0 ? p->m * sum_d / (p->pp * p->t_decode_s) : 0;
    const struct pipe_stage *w = &p->stage[p->worst_memory];
    a->weight_bytes_dev = w->weight_bytes;
    a->kv_cache_bytes = B * w->cache_bytes_per_seq;
    a->memory_bytes = w->memory_bytes;
    a->fits = a->memory_bytes <= d->mem_capacity_bytes;
    a->max_batch = max_b;
    a->ttft_s = p->t_prefill_s;
    a->tpot_s = p->t_decode_s;
    a->tokens_per_s = sc->phase == PHASE_PREFILL ? B * len / p->t_prefill_s : B / p->t_decode_s;
}

void analysis_run(struct analysis *a, const struct model *m, const struct device *d,
                  const struct scenario *sc)
{
    a->piped = sc->pp > 1;
    double b = sc->batch;
    if (a->piped) {
        /* the graphs are one micro-batch; the step's B sequences are m of them */
        const double want = sc->micro_batches >= 1 ? sc->micro_batches : sc->pp;
        a->pipe.pp = sc->pp;
        a->pipe.m = want < sc->batch ? want : sc->batch;
        a->pipe.b_mb = sc->batch / a->pipe.m;
        b = a->pipe.b_mb;
    }
    /* Prompt length and context length are the same number seen from the two
     * phases: a prefill of S is followed by decode at context S; a decode at
     * context L was preceded by a prefill of L. */
    const double len = sc->phase == PHASE_PREFILL ? sc->seq : sc->context;
    const enum phase other = sc->phase == PHASE_PREFILL ? PHASE_DECODE : PHASE_PREFILL;
    set_step(&a->step, sc->phase, b, len, m, sc);
    set_step(&a->other_step, other, b, len, m, sc);
    model_lower(m, &a->step, &a->graph);
    eval_graph(&a->graph, d, a->per_op, &a->tot);
    a->placed = d->has_pim || d->has_energy;
    if (a->placed) {
        placement_graph(&a->graph, d, PLACE_AUTO, a->place, &a->place_tot);
        placement_apply(a->graph.n, a->place, a->per_op, &a->place_tot, &a->tot);
        a->energy_per_token_j = a->place_tot.energy_j / (a->step.batch * a->step.q_len);
    }
    if (other == PHASE_PREFILL && len < 1) {
        /* decode at context 0: there was no prompt, so no prefill (TTFT 0) */
        memset(&a->other_tot, 0, sizeof a->other_tot);
        memset(&a->other_place_tot, 0, sizeof a->other_place_tot);
    } else {
        model_lower(m, &a->other_step, &a->other);
        eval_graph(&a->other, d, a->piped ? a->other_per_op : NULL, &a->other_tot);
        if (a->placed) {
            placement_graph(&a->other, d, PLACE_AUTO, NULL, &a->other_place_tot);
            placement_apply(0, NULL, NULL, &a->other_place_tot, &a->other_tot);
        }
    }
    const struct eval_totals *pre = sc->phase == PHASE_PREFILL ? &a->tot : &a->other_tot;
    const struct eval_totals *dec = sc->phase == PHASE_PREFILL ? &a->other_tot : &a->tot;

    if (a->counts_tp != a->step.tp) {
        model_count(m, a->step.tp, &a->counts);
        a->counts_tp = a->step.tp;
    }
    const double wb = dtype_bytes(a->step.dt_w), kvb = dtype_bytes(a->step.dt_kv);
    a->weight_bytes = a->counts.params * wb;
    a->kv_bytes_per_token = a->counts.kv_elems_per_token * kvb;
    /* expert parallelism: each device holds 1/ep of the routed experts */
    a->weight_bytes_dev = dev_params(&a->counts, &a->counts1, a->step.tp, a->step.ep) * wb;
    if (a->step.attn_dp > 1) { /* attention whole, the FFN split over the dp devices */
        struct model_counts cd;
        model_count(m, a->step.attn_dp, &cd);
        a->weight_bytes_dev =
            (a->counts.params_dev - a->counts.ffn_params_dev + cd.ffn_params_dev) * wb;
    }
    a->kv_bytes_per_token_dev = a->counts.kv_elems_per_token_dev * kvb;
    a->state_bytes_per_seq = a->counts.state_elems_per_seq * kvb;
    a->state_bytes_per_seq_dev = a->counts.state_elems_per_seq_dev * kvb;
    a->ctx_tokens = a->step.ctx_prior + a->step.q_len;
    /* sliding-window layers hold at most their window (model_kv_elems_per_seq) */
    const double seq_cache =
        model_kv_elems_per_seq(m, a->step.tp, a->ctx_tokens) * kvb + a->state_bytes_per_seq_dev;
    a->kv_cache_bytes = b * seq_cache;
    a->act_bytes = a->tot.act_peak_bytes;
    a->memory_bytes = a->weight_bytes_dev + a->kv_cache_bytes + a->act_bytes;
    a->fits = a->memory_bytes <= d->mem_capacity_bytes;
    /* Every term but the weights grows linearly with B (activations too: each
     * op's activation bytes are proportional to the tokens in the step). */
    const double per_seq = seq_cache + a->act_bytes / b;
    const double room = d->mem_capacity_bytes - a->weight_bytes_dev;
    a->max_batch = room <= 0 ? 0 : floor(room / per_seq);
    a->ttft_s = pre->time_s;
    a->tpot_s = dec->time_s;
    a->tokens_per_s =
        sc->phase == PHASE_PREFILL ? b * len / a->tot.time_s : b / a->tot.time_s;
    if (a->piped) pipe_run(a, m, d, sc, sc->batch, len);
    const double exact = 9007199254740992.0;
    a->counts_exact = a->tot.flops < exact && a->tot.bytes < exact && a->counts.params < exact;
}

double analysis_ttft_request_s(const struct model *m, const struct device *d,
                               const struct scenario *sc)
{
    struct scenario one = *sc;
    one.batch = 1;
    one.phase = PHASE_PREFILL;
    one.seq = sc->phase == PHASE_PREFILL ? sc->seq : sc->context;
    one.context = 0;
    if (one.seq < 1) return 0; /* decode at context 0: no prompt */
    struct analysis a;
    if (analysis_init(&a, m)) return -1;
    analysis_run(&a, m, d, &one);
    const double t = a.tot.time_s;
    analysis_free(&a);
    return t;
}

double analysis_smallest_fit(const struct model *m, const struct device *d,
                             const struct scenario *sc, bool ep, int max)
{
    struct analysis a;
    if (analysis_init(&a, m)) return -1;
    double found = 0;
    for (int n = 2; n <= max && found == 0; n++) {
        struct scenario s = *sc;
        s.tp = ep ? 1 : n;
        s.ep = ep ? n : 1;
        /* silent checks: a split the model cannot take is skipped */
        if (ep ? model_ep_check(m, n, NULL) : model_tp_check(m, n, NULL)) continue;
        analysis_run(&a, m, d, &s);
        if (a.fits) found = n;
    }
    analysis_free(&a);
    return found;
}
