/* sites.h - the lowering's role sites: the ops an implementation profile
 * may rewrite (models/profile.h), emitted through profile_site with the
 * role's shape symbols filled in. With no profile each helper appends
 * exactly the op the lowering appended before profiles existed. */
#ifndef OB_SITES_H
#define OB_SITES_H

#include "model.h"
#include "profile.h"

/* The symbols every role has: T, B, S, P, L, h, tp. */
static inline void site_vars(const struct lower_ctx *c, double *v)
{
    for (int i = 0; i < SYM_COUNT; i++) v[i] = 0;
    v[SYM_T] = c->tokens;
    v[SYM_B] = c->st->batch;
    v[SYM_S] = c->st->q_len;
    v[SYM_P] = c->st->ctx_prior;
    v[SYM_L] = c->st->ctx_prior + c->st->q_len;
    v[SYM_HID] = (double)c->m->hidden;
    v[SYM_TP] = c->st->tp;
}

/* A norm over rows x cols with `params` weights (role norm or qk_norm; for
 * qk_norm the caller has set H, Hkv, D in v). */
static inline void site_norm(const struct lower_ctx *c, struct graph *g, enum prof_role r,
                             const char *name, double *v, double rows, double cols, double params,
                             double flops_per_elem)
{
    v[SYM_ROWS] = rows;
    v[SYM_COLS] = cols;
    v[SYM_PARAMS] = params;
    const struct prof_default def = {.kind = OP_NORM, .rows = rows, .cols = cols,
                                     .params = params, .flops_per_elem = flops_per_elem};
    profile_site(c->st->profile, g, r, name, v, &def);
}

/* A pointwise op over rows x cols (residual, activations, rope, kv_write);
 * extra symbols (H, Hkv, D, I) are set by the caller in v after site_vars. */
static inline void site_pointwise(const struct lower_ctx *c, struct graph *g, enum prof_role r,
                                  const char *name, double *v, double rows, double cols,
                                  double inputs, double flops_per_elem, bool out_kv)
{
    v[SYM_ROWS] = rows;
    v[SYM_COLS] = cols;
    const struct prof_default def = {.kind = OP_ELEMENTWISE, .rows = rows, .cols = cols,
                                     .inputs = inputs, .flops_per_elem = flops_per_elem,
                                     .out_kv = out_kv};
    profile_site(c->st->profile, g, r, name, v, &def);
}

/* A projection GEMM (m x k) @ (k x n) that a profile may split. */
static inline void site_gemm(const struct lower_ctx *c, struct graph *g, enum prof_role r,
                             const char *name, double *v, double m, double n, double k, bool bias)
{
    v[SYM_ROWS] = m;
    v[SYM_COLS] = n;
    const struct prof_default def = {.kind = OP_GEMM, .m = m, .n = n, .k = k, .bias = bias};
    profile_site(c->st->profile, g, r, name, v, &def);
}

/* The attention core of shape s; Hkv is kv_width / (2 D) (K and V of the
 * GQA family). */
static inline void site_attention(const struct lower_ctx *c, struct graph *g, const char *name,
                                  const struct attn_shape *s)
{
    double v[SYM_COUNT];
    site_vars(c, v);
    v[SYM_B] = s->b;
    v[SYM_S] = s->sq;
    v[SYM_L] = s->skv;
    v[SYM_P] = s->skv - s->sq;
    v[SYM_T] = s->b * s->sq;
    v[SYM_H] = s->hq;
    v[SYM_D] = s->dqk;
    v[SYM_DV] = s->dv;
    v[SYM_HKV] = s->kv_width / (s->dqk + s->dv);
    v[SYM_PAIRS] = s->pairs;
    const struct prof_default def = {.kind = OP_ATTENTION, .attn = s};
    profile_site(c->st->profile, g, ROLE_ATTENTION, name, v, &def);
}

#endif
