/* spec.c - speculative decoding; see spec.h and docs/speculative.md. */
#include "spec.h"

#include <math.h>

#include "eval.h"

double spec_expected_tokens(double k, double accept)
{
    if (accept >= 1.0) return k + 1.0;
    return (1.0 - pow(accept, k + 1.0)) / (1.0 - accept);
}

static int step_time(const struct model *m, const struct device *d, const struct step *st,
                     double *t)
{
    struct graph g;
    if (graph_init(&g, model_max_ops(m))) return -1;
    model_lower(m, st, &g);
    struct eval_totals tot;
    eval_graph(&g, d, NULL, &tot);
    graph_free(&g);
    *t = tot.time_s;
    return 0;
}

int spec_run(const struct model *m, const struct model *draft, const struct device *d,
             const struct step *st, const struct spec_cfg *c, struct spec_result *out)
{
    struct step plain = *st, verify = *st, dstep = *st;
    plain.q_len = 1;
    verify.q_len = c->k + 1.0; /* the k proposals and the token after them */
    verify.decode_q_max = c->k + 1.0; /* run by the decode kernels (MLA absorbed) */
    dstep.q_len = 1;
    /* the draft runs in its own dtypes (weights and KV as its file says) */
    dstep.dt_w = draft->dt_w;
    dstep.dt_kv = draft->dt_kv;
    if (step_time(m, d, &plain, &out->t_plain_s) || step_time(m, d, &verify, &out->t_verify_s) ||
        step_time(draft, d, &dstep, &out->t_draft_s))
        return -1;
    out->tokens_per_iter = spec_expected_tokens(c->k, c->accept);
    out->t_iter_s = c->k * out->t_draft_s + out->t_verify_s;
    out->tpot_s = out->t_iter_s / out->tokens_per_iter;
    out->speedup = out->t_plain_s / out->tpot_s;
    out->tokens_per_s = st->batch * out->tokens_per_iter / out->t_iter_s;
    struct model_counts dc;
    model_count(draft, st->tp, &dc);
    out->draft_weight_bytes = model_weight_bytes(draft, dc.params_dev, dc.emb_params_dev,
                                                 draft->dt_w);
    return 0;
}
