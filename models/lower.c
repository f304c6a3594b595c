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

int model_max_ops(const struct model *m)
{
    int n = 5; /* embed (+ all-reduce), final_norm, lm_head (+ all-gather) */
    for (int i = 0; i < m->n_groups; i++)
        n += 8 + m->groups[i].kind[SLOT_ATTN]->max_ops + m->groups[i].kind[SLOT_FFN]->max_ops;
    return n;
}

void model_lower(const struct model *m, const struct step *st, struct graph *g)
{
    const double h = (double)m->hidden;
    const double t = st->batch * st->q_len;
    const struct lower_ctx c = {.m = m, .st = st, .tokens = t};
    OB_ASSERT(st->tp >= 1 && st->batch >= 1 && st->q_len >= 1);
    const double norm_p = model_norm_params(m, h), norm_f = model_norm_flops(m);
    graph_reset(g);
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
        g->group = i;
        g->layer_first = lg->first_layer;
        g->layer_count = (int)lg->repeat;
        g->block = BLK_ATTN;
        op_norm(g, "attn_norm", t, h, norm_p, norm_f);
        lg->kind[SLOT_ATTN]->lower(lg->cfg[SLOT_ATTN], &c, g);
        if (st->tp > 1) op_allreduce(g, "attn_allreduce", t, h, st->tp);
        if (m->post_norms) op_norm(g, "attn_post_norm", t, h, norm_p, norm_f);
        op_elementwise(g, "attn_residual", t, h, 2, FLOPS_RESIDUAL, false);
        g->block = BLK_FFN;
        op_norm(g, "ffn_norm", t, h, norm_p, norm_f);
        lg->kind[SLOT_FFN]->lower(lg->cfg[SLOT_FFN], &c, g);
        if (st->tp > 1) op_allreduce(g, "ffn_allreduce", t, h, st->tp);
        if (m->post_norms) op_norm(g, "ffn_post_norm", t, h, norm_p, norm_f);
        op_elementwise(g, "ffn_residual", t, h, 2, FLOPS_RESIDUAL, false);
    }
    g->block = BLK_MODEL;
    g->group = -1;
    g->layer_first = -1;
    g->layer_count = 1;
    op_norm(g, "final_norm", t, h, norm_p, norm_f);
    /* the head: only sequences that sample a token need it (struct op.head) */
    op_gemm(g, "lm_head", st->batch, (double)m->vocab / st->tp, h, false)->head = true;
    if (st->tp > 1)
        op_allgather(g, "logits_allgather", st->batch, (double)m->vocab, st->tp)->head = true;
}
