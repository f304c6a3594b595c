/* cp.c - context parallelism shared by analyze and train; see cp.h and
 * docs/training.md, "Context parallelism". */
#include "cp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval.h"

static const char *const NAMES[CP_SCHEME_COUNT] = {
    [CP_RING] = "ring", [CP_ULYSSES] = "ulysses", [CP_LIGHTSEQ] = "lightseq"};

const char *cp_scheme_name(enum cp_scheme s) { return NAMES[s]; }

int cp_scheme_parse(const char *s, enum cp_scheme *out)
{
    for (int i = 0; i < CP_SCHEME_COUNT; i++)
        if (strcmp(s, NAMES[i]) == 0) return *out = (enum cp_scheme)i, 0;
    return -1;
}

/* LightSeq's schedule (Li et al. 2023, arXiv 2310.03294, "load-balanced scheduling"; the step
 * count and the transfers as in the authors' reference code):
 * device j holds the contiguous chunk j; block (j, i), i < j, is computed by
 * j with i's K and V when j - i <= floor(cp/2) ("local"), else by the idle
 * device i with j's queries ("helped"). The last device j = cp - 1 has the
 * most of both: L local and H helped off-diagonal blocks. */
static double ls_local(double cp) { return fmin(cp - 1.0, floor(cp / 2.0)); }
static double ls_helped(double cp) { return cp - 1.0 - ls_local(cp); }

void cp_step_shape(enum cp_scheme s, double seq, double cp, double *q_len, double *ctx_prior)
{
    const double c = seq / cp;
    *q_len = c;
    if (cp <= 1) *ctx_prior = 0;
    else if (s == CP_LIGHTSEQ) *ctx_prior = ls_local(cp) * c;
    else *ctx_prior = (seq - c) / 2.0;
}

int cp_check_seq(enum cp_scheme s, double seq, double cp, char *msg, size_t n)
{
    if (cp <= 1) return 0;
    if (fmod(seq, cp) != 0)
        return snprintf(msg, n, "cp %g does not divide the sequence length %g", cp, seq), -1;
    if (s == CP_RING && fmod(seq / cp, 2.0) != 0)
        return snprintf(msg, n,
                        "ring attention with zig-zag balance splits each device's %g tokens "
                        "into two chunks: S/cp must be even (or use --cp-scheme lightseq)",
                        seq / cp),
               -1;
    return 0;
}

int cp_check_heads(const struct model *m, double tp, double cp, enum cp_scheme s, char *msg,
                   size_t n)
{
    if (cp <= 1 || s != CP_ULYSSES) return 0;
    struct graph g;
    if (graph_init(&g, model_max_ops(m) + 4)) return -2;
    /* the heads do not depend on the length: a 2-token prefill */
    struct step st = {.phase = PHASE_PREFILL, .batch = 1, .q_len = 2, .tp = tp, .ep = 1,
                      .dt_w = m->dt_w, .dt_act = m->dt_act, .dt_kv = m->dt_kv};
    model_lower(m, &st, &g);
    int rc = 0;
    for (int i = 0; i < g.n && rc == 0; i++) {
        const struct op *op = &g.ops[i];
        if (op->kind != OP_ATTENTION || fmod(op->shape.attn.hq, cp) == 0) continue;
        snprintf(msg, n,
                 "Ulysses splits heads over cp: layer %d's attention has %g query heads "
                 "per device (after tp %g), not divisible by cp %g; use --cp-scheme ring or "
                 "lightseq",
                 op->layer_first, op->shape.attn.hq, tp, cp);
        rc = -1;
    }
    graph_free(&g);
    return rc;
}

double cp_kv_heads(const struct attn_shape *a)
{
    const double h = floor(a->kv_width / (a->dqk + a->dv));
    return h >= 1 ? h : 1;
}

/* Per token of one sequence, in bytes: q = Hq Dqk, o = Hq Dv, kv = kv_width
 * elements of ab bytes; the softmax statistics are fp32, one or two per head. */
void cp_layer_cost(enum cp_scheme s, double cp, double seq, const struct attn_shape *a,
                   double ab, struct cp_layer *out)
{
    memset(out, 0, sizeof *out);
    if (cp <= 1) return;
    const double tok = a->b * seq / cp; /* the device's tokens (B sequences) */
    const double q = a->hq * a->dqk * ab, o = a->hq * a->dv * ab;
    const double kv = a->kv_width * ab, stat = 4.0 * a->hq;
    switch (s) {
    case CP_RING:
        /* cp - 1 chunks of K and V arrive (and leave) in forward; backward
         * passes K, V and their gradients dK, dV: twice that. Double
         * buffering: the chunk being used and the one arriving. */
        out->fwd_bytes = (cp - 1.0) * tok * kv;
        out->bwd_bytes = 2.0 * out->fwd_bytes;
        out->buf_bytes = 2.0 * tok * kv;
        out->overlapped = true;
        break;
    case CP_ULYSSES: {
        /* each device keeps 1/cp of its tokens' q and o columns and sends the
         * rest; K and V go to cp - 1 devices as 1/min(cp, Hkv) of the KV
         * columns each (KV heads are replicated when fewer than cp) */
        const double rep = fmin(cp, cp_kv_heads(a));
        out->fwd_bytes = (cp - 1.0) * tok * (q / cp + kv / rep + o / cp);
        out->bwd_bytes = out->fwd_bytes; /* dO in, dQ, dK, dV out: the same columns */
        out->buf_bytes = cp * tok * (q / cp + kv / rep + o / cp); /* S tokens, 1/cp heads */
        out->overlapped = false;
        break;
    }
    case CP_LIGHTSEQ: {
        /* forward, last device: receives L chunks of K, V and H partial
         * outputs with their max and sum (two fp32 per head); sends H query
         * chunks; the first device mirrors it. Backward: L chunks of K, V in
         * and of dK, dV out; for each helped block it sends q, o, dO and the
         * log-sum-exp (one fp32 per head) and receives dQ. */
        const double L = ls_local(cp), H = ls_helped(cp);
        out->fwd_bytes = tok * fmax(L * kv + H * (o + 2.0 * stat), H * q);
        out->bwd_bytes = tok * (L * kv + H * (q + 2.0 * o + stat));
        /* two buffers of a peer's q, k, v, o and statistics (double buffering) */
        out->buf_bytes = 2.0 * tok * (q + kv + o + 2.0 * stat);
        out->overlapped = true;
        break;
    }
    case CP_SCHEME_COUNT: break;
    }
}

double cp_exposed_s(bool overlapped, double t_net, double t_attn)
{
    return overlapped ? fmax(0.0, t_net - t_attn) : t_net;
}

/* Moves the op at index `from` (the last) to index `to`. */
static void move_op(struct graph *g, int from, int to)
{
    const struct op tmp = g->ops[from];
    memmove(&g->ops[to + 1], &g->ops[to], (size_t)(from - to) * sizeof *g->ops);
    g->ops[to] = tmp;
}

/* An op of the attention's layers carrying net bytes (cost fixed: the count
 * functions do not recompute it) among the cp devices of the group, `stride`
 * devices apart (the tensor-parallel size: docs/network.md). On a device with
 * a network map an all-to-all is timed as one (sim/net.c) and the ring's
 * all-gather kind as point-to-point sends of its bytes. */
static struct op *traffic_op(struct graph *g, enum op_kind k, const char *name,
                             const struct op *at, double net, double cp, double stride)
{
    struct op *op = k == OP_ALLTOALL ? op_alltoall(g, name, 1, 1, 1, cp)
                                     : op_allgather(g, name, 1, 1, cp);
    if (k == OP_ALLTOALL) op->shape.alltoall.stride = stride;
    else op->shape.allreduce.stride = stride;
    op->block = at->block;
    op->group = at->group;
    op->layer_first = at->layer_first;
    op->layer_count = at->layer_count;
    op->dt_act = at->dt_act;
    op->cost = (struct op_cost){.bytes_net = net};
    op->cost_fixed = true;
    return op;
}

void cp_insert_ops(struct graph *g, enum cp_scheme s, double cp, double tp, double seq,
                   const struct device *d, struct cp_totals *t)
{
    memset(t, 0, sizeof *t);
    t->kv_factor = 1;
    if (cp <= 1) return;
    double kv_all = 0, kv_held = 0;
    int n_attn = 0;
    for (int i = 0; i < g->n; i++) n_attn += g->ops[i].kind == OP_ATTENTION;
    OB_ASSERT(g->n + 2 * n_attn + 1 <= g->cap); /* analysis_init reserves the room */
    for (int i = g->n - 1; i >= 0; i--) {
        if (g->ops[i].kind != OP_ATTENTION) continue;
        const struct op at = g->ops[i];
        const struct attn_shape *a = &at.shape.attn;
        const double n = at.layer_count, ab = dtype_bytes(at.dt_act);
        struct cp_layer c;
        cp_layer_cost(s, cp, seq, a, ab, &c);
        struct op_eval ev;
        const double t_attn = eval_op(&at, d, &ev);
        t->traffic_bytes += n * c.fwd_bytes;
        t->buf_bytes = fmax(t->buf_bytes, c.buf_bytes);
        t->attn_pairs = fmax(t->attn_pairs, a->pairs);
        kv_all += n * a->kv_width;
        kv_held += n * a->kv_width * (s == CP_ULYSSES ? cp / fmin(cp, cp_kv_heads(a)) : 1.0);
        if (s == CP_ULYSSES) {
            /* q, k, v in before the attention; o out after it */
            const double rep = fmin(cp, cp_kv_heads(a)), tok = a->b * seq / cp;
            const double in = (cp - 1.0) * tok * (a->hq * a->dqk / cp + a->kv_width / rep) * ab;
            const double outb = (cp - 1.0) * tok * (a->hq * a->dv / cp) * ab;
            traffic_op(g, OP_ALLTOALL, "cp.a2a_o", &at, outb, cp, tp);
            move_op(g, g->n - 1, i + 1);
            traffic_op(g, OP_ALLTOALL, "cp.a2a_qkv", &at, in, cp, tp);
            move_op(g, g->n - 1, i);
            t->exposed_s += n * (eval_op(&g->ops[i], d, &ev) + eval_op(&g->ops[i + 2], d, &ev));
        } else {
            /* the part of the traffic the attention does not hide */
            struct op *full = traffic_op(g, OP_ALLGATHER, "", &at, c.fwd_bytes, cp, tp);
            eval_op(full, d, &ev);
            const double t_net = ev.t_network_s;
            g->n--;
            const double exp_s = cp_exposed_s(true, t_net, t_attn);
            const double net = t_net > 0 ? c.fwd_bytes * exp_s / t_net : 0;
            traffic_op(g, OP_ALLGATHER, s == CP_RING ? "cp.ring_kv" : "cp.lightseq", &at, net, cp, tp);
            move_op(g, g->n - 1, i + 1);
            t->exposed_s += n * exp_s;
        }
    }
    if (kv_all > 0) t->kv_factor = kv_held / kv_all;
}
