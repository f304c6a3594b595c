/* lower.c - lowering a whole model for one step into an op graph.
 *
 * Order: embedding gather; per layer group (one node set standing for all its
 * identical layers): attn_norm, attention block, attn_residual, ffn_norm, FFN
 * block, ffn_residual; then final_norm over all T tokens and lm_head over the
 * last token of each sequence (B rows), as serving engines do.
 *
 * Tensor parallelism over tp devices (Megatron-LM, Shoeybi et al. 2019): the
 * graph is one device's share. Blocks split their heads / intermediate size;
 * each block's output is summed across devices by a ring all-reduce of T x h;
 * the embedding and lm_head are split by vocabulary (Megatron-LM's vocabulary-
 * parallel layers): the looked-up rows are summed by an all-reduce of T x h
 * (embed_allreduce) and the B x V/tp logits of each device are assembled by a
 * ring all-gather of B x V (logits_allgather, the last op). Norms and
 * residuals run on every device. */
#include "model.h"
#include "sites.h"

int model_max_ops(const struct model *m)
{
    int n = 5; /* embed (+ all-reduce), final_norm, lm_head (+ all-gather) */
    for (int i = 0; i < m->n_groups; i++)
        n += 13 + m->groups[i].kind[SLOT_ATTN]->max_ops + m->groups[i].kind[SLOT_FFN]->max_ops +
             (m->groups[i].alt_kind ? m->groups[i].alt_kind->max_ops : 0);
    return n * PROF_MAX_KERNELS;
}

/* An attention block under a KV budget (docs/kv-budgets.md): the cached
 * context it attends is what the budget keeps, min(P, budget(P)); a prefill
 * attends its whole prompt. The selection work follows the block:
 * - snapkv: once, at the end of a prompt longer than the budget, the last
 *   `window` queries score every key (a GEMM per head), and each head keeps
 *   its top budget(n) keys;
 * - h2o: every decode step adds the step's attention probabilities to each
 *   kept key's score (read back from the attention) and evicts the lowest;
 * - streaming: a ring buffer of sinks + recent tokens, no selection work. */
static void lower_budgeted(const struct model *m, const struct layer_group *lg,
                           const struct step *st, struct graph *g)
{
    const struct kv_budget *b = &lg->budget;
    struct step s2 = *st;
    s2.ctx_prior = kv_budget_held(b, st->ctx_prior);
    const struct lower_ctx c2 = {.m = m, .st = &s2, .tokens = st->batch * st->q_len};
    const int first = g->n;
    lg->kind[SLOT_ATTN]->lower(lg->cfg[SLOT_ATTN], &c2, g);
    const struct attn_shape *as = NULL; /* the block's attention core */
    for (int i = first; i < g->n; i++)
        if (g->ops[i].kind == OP_ATTENTION) as = &g->ops[i].shape.attn;
    if (!as) return;
    const double n = st->ctx_prior + st->q_len, keep = kv_budget_held(b, n);
    if (b->method == KVB_SNAPKV && st->q_len > 1 && keep < n) {
        const double w = (double)b->window < st->q_len ? (double)b->window : st->q_len;
        op_batched_gemm(g, "snapkv_score", as->b * as->hq, w, n, as->dqk, false)->per_seq = true;
        op_router(g, "snapkv_select", as->b * as->hq, n, keep)->per_seq = true;
    } else if (b->method == KVB_H2O && st->q_len == 1) {
        const double kept = s2.ctx_prior + 1.0;
        op_elementwise(g, "h2o_accumulate", as->b * as->hq, kept, 2, 1, false)->per_seq = true;
        if (keep < n) op_router(g, "h2o_evict", as->b * as->hq, kept, 1)->per_seq = true;
    }
}

/* The attention slot of a group: the main block, or under layer routing the
 * main block for (1 - f) of the sequences and the alternative for f (an
 * expectation over requests; docs/layer-routing.md). */
static void attn_block(const struct model *m, const struct layer_group *lg,
                       const struct block_kind *k, const void *cfg, const struct step *st,
                       struct graph *g)
{
    if (lg->budget.method != KVB_NONE && k == lg->kind[SLOT_ATTN]) {
        lower_budgeted(m, lg, st, g);
        return;
    }
    const struct lower_ctx c = {.m = m, .st = st, .tokens = st->batch * st->q_len};
    k->lower(cfg, &c, g);
}

static void lower_attention(const struct model *m, const struct layer_group *lg,
                            const struct step *st, struct graph *g)
{
    if (!lg->alt_kind || lg->alt_fraction <= 0) {
        attn_block(m, lg, lg->kind[SLOT_ATTN], lg->cfg[SLOT_ATTN], st, g);
        return;
    }
    struct step main = *st, alt = *st;
    main.batch = st->batch * (1.0 - lg->alt_fraction);
    alt.batch = st->batch * lg->alt_fraction;
    if (main.batch > 0) attn_block(m, lg, lg->kind[SLOT_ATTN], lg->cfg[SLOT_ATTN], &main, g);
    attn_block(m, lg, lg->alt_kind, lg->alt_cfg, &alt, g);
}

void model_lower(const struct model *m, const struct step *st, struct graph *g)
{
    const double h = (double)m->hidden;
    const double t = st->batch * st->q_len;
    OB_ASSERT(st->tp >= 1 && st->batch >= 1 && st->q_len >= 1);
    const double norm_p = model_norm_params(m, h), norm_f = model_norm_flops(m);
    const struct lower_ctx c = {.m = m, .st = st, .tokens = t};
    double v[SYM_COUNT];
    graph_reset(g);
    profile_apply_kinds(st->profile, g);
    g->dt_w = st->dt_w;
    g->dt_act = st->dt_act;
    g->dt_kv = st->dt_kv;
    g->block = BLK_MODEL;
    g->group = -1;
    g->layer_first = -1;
    g->layer_count = 1;
    op_gather(g, "embed", t, h);
    if (st->tp > 1) op_allreduce(g, "embed_allreduce", t, h, st->tp);
    for (int i = 0; i < m->n_groups; i++) {
        const struct layer_group *lg = &m->groups[i];
        /* mixture-of-depths: a router scores every token and sends a fraction
         * c through the layer (prefill: c of each sequence's tokens; decode:
         * c of the sequences' new tokens, an expectation); the layer runs on
         * those, with c of the context cached (Raposo et al. 2024) */
        struct step gsv = *st;
        const struct step *gs = st;
        double tg = t;
        if (lg->mod_capacity > 0) {
            const double cap = lg->mod_capacity;
            if (st->q_len > 1) gsv.q_len = st->q_len * cap;
            else gsv.batch = st->batch * cap;
            gsv.ctx_prior = st->ctx_prior * cap;
            gs = &gsv;
            tg = gsv.batch * gsv.q_len;
        }
        const struct lower_ctx cg = {.m = m, .st = gs, .tokens = tg};
        site_vars(&cg, v);
        g->group = i;
        g->layer_first = lg->first_layer;
        g->layer_count = (int)lg->repeat;
        g->block = BLK_ATTN;
        if (lg->mod_capacity > 0) {
            op_gemm(g, "mod_router", t, 1, h, false);
            if (st->q_len > 1) /* each sequence keeps its top c of q tokens */
                op_router(g, "mod_topk", st->batch, st->q_len, gsv.q_len);
            op_elementwise(g, "mod_gather", tg, h, 1, 0, false); /* routed rows copied out */
        }
        site_norm(&cg, g, ROLE_NORM, "attn_norm", v, tg, h, norm_p, norm_f);
        lower_attention(m, lg, gs, g);
        if (st->tp > 1) op_allreduce(g, "attn_allreduce", tg, h, st->tp);
        if (m->post_norms) site_norm(&cg, g, ROLE_NORM, "attn_post_norm", v, tg, h, norm_p, norm_f);
        site_pointwise(&cg, g, ROLE_RESIDUAL, "attn_residual", v, tg, h, 2, FLOPS_RESIDUAL, false);
        g->block = BLK_FFN;
        site_norm(&cg, g, ROLE_NORM, "ffn_norm", v, tg, h, norm_p, norm_f);
        if (st->attn_dp > 1) {
            /* data-parallel attention, tensor-parallel FFN (docs/pipeline.md,
             * "Data-parallel attention"): the dp devices' rows are gathered,
             * the FFN runs on all of them with 1/dp of its width, and an
             * all-reduce returns the sums (each device keeps its own rows) */
            const double dp = st->attn_dp;
            struct step fs = *gs;
            fs.tp = dp;
            fs.batch = gs->batch * dp;
            const struct lower_ctx cf = {.m = m, .st = &fs, .tokens = tg * dp};
            op_allgather(g, "ffn_allgather", tg * dp, h, dp);
            lg->kind[SLOT_FFN]->lower(lg->cfg[SLOT_FFN], &cf, g);
            op_allreduce(g, "ffn_allreduce", tg * dp, h, dp);
        } else {
            lg->kind[SLOT_FFN]->lower(lg->cfg[SLOT_FFN], &cg, g);
            /* an expert-parallel block under tp gathers its own rows (ffn_moe.c) */
            const bool ep_ffn = st->ep > 1 && lg->kind[SLOT_FFN]->ep_check;
            if (st->tp > 1 && !ep_ffn) op_allreduce(g, "ffn_allreduce", tg, h, st->tp);
        }
        if (m->post_norms) site_norm(&cg, g, ROLE_NORM, "ffn_post_norm", v, tg, h, norm_p, norm_f);
        site_pointwise(&cg, g, ROLE_RESIDUAL, "ffn_residual", v, tg, h, 2, FLOPS_RESIDUAL, false);
        if (lg->mod_capacity > 0) /* weighted by the router score, written back */
            op_elementwise(g, "mod_scatter", tg, h, 2, 1, false);
    }
    g->block = BLK_MODEL;
    g->group = -1;
    g->layer_first = -1;
    g->layer_count = 1;
    site_vars(&c, v);
    site_norm(&c, g, ROLE_NORM, "final_norm", v, t, h, norm_p, norm_f);
    /* the head: only sequences that sample a token need it (struct op.head) */
    op_gemm(g, "lm_head", st->batch, (double)m->vocab / st->tp, h, false)->head = true;
    if (st->tp > 1)
        op_allgather(g, "logits_allgather", st->batch, (double)m->vocab, st->tp)->head = true;
}
