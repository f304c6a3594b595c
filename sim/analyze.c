/* analyze.c - scenario analysis; see analyze.h. Conventions: docs/conventions.md. */
#include "analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *phase_name(enum phase p) { return p == PHASE_PREFILL ? "prefill" : "decode"; }

int analysis_init(struct analysis *a, const struct model *m)
{
    memset(a, 0, sizeof *a);
    /* room for the context-parallel traffic ops, two per attention op
     * (cp_insert_ops): model_max_ops counts PROF_MAX_KERNELS slots per op a
     * block can lower to, so a quarter more holds two for each of them with
     * up to 6 attention kernels per op */
    const int base = model_max_ops(m);
    int cap = base + base / 4 + 8;
    if (graph_init(&a->graph, cap) || graph_init(&a->other, cap)) goto fail;
    a->per_op = calloc((size_t)cap, sizeof *a->per_op);
    a->place = calloc((size_t)cap, sizeof *a->place);
    if (!a->per_op || !a->place) goto fail;
    model_count(m, 1, &a->counts); /* depends on the scenario's tp only */
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
    free(a->place);
    a->per_op = NULL;
    a->place = NULL;
}

static void set_step(struct step *st, enum phase ph, double batch, double len,
                     const struct model *m, const struct scenario *sc)
{
    st->phase = ph;
    st->batch = batch;
    st->q_len = ph == PHASE_PREFILL ? len : 1.0;
    st->ctx_prior = ph == PHASE_PREFILL ? 0.0 : len;
    if (sc->cp > 1) {
        /* context parallel (prefill): the busiest device's share; the decode
         * after it attends the device's shard of S/cp keys (docs/training.md) */
        if (ph == PHASE_PREFILL) cp_step_shape(sc->cp_scheme, len, sc->cp, &st->q_len, &st->ctx_prior);
        else st->ctx_prior = len / sc->cp;
    }
    st->tp = sc->tp >= 1 ? sc->tp : 1;
    st->ep = sc->ep >= 1 ? sc->ep : 1;
    st->dt_w = sc->has_dt_w ? sc->dt_w : m->dt_w;
    st->dt_act = m->dt_act;
    st->dt_kv = sc->has_dt_kv ? sc->dt_kv : m->dt_kv;
    st->profile = sc->profile;
}

void analysis_run(struct analysis *a, const struct model *m, const struct device *d,
                  const struct scenario *sc)
{
    const double b = sc->batch;
    /* Prompt length and context length are the same number seen from the two
     * phases: a prefill of S is followed by decode at context S; a decode at
     * context L was preceded by a prefill of L. */
    const double len = sc->phase == PHASE_PREFILL ? sc->seq : sc->context;
    const enum phase other = sc->phase == PHASE_PREFILL ? PHASE_DECODE : PHASE_PREFILL;
    set_step(&a->step, sc->phase, b, len, m, sc);
    set_step(&a->other_step, other, b, len, m, sc);
    model_lower(m, &a->step, &a->graph);
    a->cp = sc->cp > 1 && sc->phase == PHASE_PREFILL ? sc->cp : 1;
    cp_insert_ops(&a->graph, sc->cp_scheme, a->cp, len, d, &a->cp_tot);
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
        if (other == PHASE_PREFILL && sc->cp > 1) {
            struct cp_totals ot;
            cp_insert_ops(&a->other, sc->cp_scheme, sc->cp, len, d, &ot);
        }
        eval_graph(&a->other, d, NULL, &a->other_tot);
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
    a->weight_bytes_dev =
        (a->counts.params_dev - a->counts.ep_params_dev * (1.0 - 1.0 / a->step.ep)) * wb;
    a->kv_bytes_per_token_dev = a->counts.kv_elems_per_token_dev * kvb;
    a->state_bytes_per_seq = a->counts.state_elems_per_seq * kvb;
    a->state_bytes_per_seq_dev = a->counts.state_elems_per_seq_dev * kvb;
    a->ctx_tokens = a->step.ctx_prior + a->step.q_len;
    if (a->cp > 1) a->ctx_tokens = len / a->cp; /* each device caches its shard */
    /* sliding-window layers hold at most their window (model_kv_elems_per_seq) */
    /* (Ulysses holds 1/min(cp, Hkv) of the heads for all S tokens: kv_factor) */
    const double seq_cache =
        model_kv_elems_per_seq(m, a->step.tp, a->ctx_tokens) * kvb * a->cp_tot.kv_factor +
        a->state_bytes_per_seq_dev;
    a->kv_cache_bytes = b * seq_cache;
    a->act_bytes = a->tot.act_peak_bytes + a->cp_tot.buf_bytes;
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

double analysis_smallest_cp(const struct model *m, const struct device *d,
                            const struct scenario *sc, int max)
{
    struct analysis a;
    if (analysis_init(&a, m)) return -1;
    double found = 0;
    char msg[256];
    for (int n = 2; n <= max && found == 0; n++) {
        struct scenario s = *sc;
        s.cp = n;
        /* silent checks: a split the sequence or the heads cannot take is skipped */
        if (cp_check_seq(s.cp_scheme, s.seq, n, msg, sizeof msg)) continue;
        const int hr = cp_check_heads(m, s.tp, n, s.cp_scheme, msg, sizeof msg);
        if (hr == -2) {
            found = -1;
            break;
        }
        if (hr) continue;
        analysis_run(&a, m, d, &s);
        if (a.fits) found = n;
    }
    analysis_free(&a);
    return found;
}
