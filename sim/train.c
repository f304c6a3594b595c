/* train.c - the training-step cost model; see train.h and docs/training.md. */
#include "train.h"

#include "net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const RECOMPUTE_NAMES[RECOMPUTE_COUNT] = {
    [RECOMPUTE_NONE] = "none", [RECOMPUTE_SELECTIVE] = "selective", [RECOMPUTE_FULL] = "full"};
static const char *const CP_NAMES[CP_SCHEME_COUNT] = {[CP_RING] = "ring",
                                                      [CP_ULYSSES] = "ulysses"};
static const char *const OPT_NAMES[OPT_COUNT] = {[OPT_ADAMW] = "adamw", [OPT_SGD] = "sgd"};

const char *recompute_name(enum recompute r) { return RECOMPUTE_NAMES[r]; }
const char *cp_scheme_name(enum cp_scheme s) { return CP_NAMES[s]; }
const char *optimizer_name(enum optimizer o) { return OPT_NAMES[o]; }

/* Mixed-precision training keeps an fp32 master copy of the weights beside
 * the optimizer's own states (Rajbhandari et al. 2020, ZeRO, sec. 3.1: K = 12
 * for Adam: fp32 weights, momentum and variance); SGD with momentum: fp32
 * weights and momentum, K = 8. */
double optimizer_bytes_per_param(enum optimizer o)
{
    switch (o) {
    case OPT_ADAMW: return 12.0;
    case OPT_SGD: return 8.0;
    case OPT_COUNT: break;
    }
    return 0;
}

/* Backward of one op (per layer), docs/training.md "Backward per op kind". */
void train_bwd_cost(const struct op *f, struct op_cost *o)
{
    const struct op_cost *c = &f->cost;
    memset(o, 0, sizeof *o);
    switch (f->kind) {
    case OP_GEMM:
    case OP_BATCHED_GEMM:
        /* dX = dY W^T and dW = X^T dY: two GEMMs of the forward's size;
         * reads W, X and dY (twice), writes dX and dW */
        o->flops_mm = 2.0 * c->flops_mm;
        o->flops_vec = c->flops_vec; /* bias gradient: dY summed over rows */
        o->bytes_w = c->bytes_w;
        o->bytes_act = c->bytes_act + 2.0 * c->bytes_out;
        o->bytes_kv = c->bytes_kv;
        o->bytes_out = c->bytes_act + c->bytes_kv + c->bytes_w;
        break;
    case OP_ATTENTION: {
        /* FlashAttention-2 backward (Dao 2023, sec. 3.2): recompute S = QK^T,
         * then dV = P^T dO, dP = dO V^T, dQ = dS K, dK = dS^T Q: per pair
         * 2(3 Dqk + 2 Dv) FLOPs against the forward's 2(Dqk + Dv) (2.5x at
         * Dqk = Dv); reads Q, K, V, O, dO and the log-sum-exp, writes dQ, dK, dV */
        const struct attn_shape *s = &f->shape.attn;
        const double per_pair = 2.0 * (3.0 * s->dqk + 2.0 * s->dv);
        o->flops_mm = s->b * s->hq * s->pairs * per_pair;
        o->flops_wasted =
            s->pairs_useful > 0 ? s->b * s->hq * (s->pairs - s->pairs_useful) * per_pair : 0;
        o->flops_vec = 2.0 * c->flops_vec;
        o->bytes_act = c->bytes_act + 2.0 * c->bytes_out + s->b * s->sq * s->hq * 4.0;
        o->bytes_kv = c->bytes_kv;
        o->bytes_out = c->bytes_act + c->bytes_kv;
        break;
    }
    case OP_SCAN:
        /* chunked scan backward: twice the forward's work (docs: an assumption) */
        o->flops_mm = 2.0 * c->flops_mm;
        o->flops_vec = 2.0 * c->flops_vec;
        o->bytes_act = c->bytes_act + c->bytes_out;
        o->bytes_kv = c->bytes_kv;
        o->bytes_out = c->bytes_act + c->bytes_kv;
        break;
    case OP_ELEMENTWISE:
    case OP_NORM:
    case OP_SOFTMAX:
    case OP_ROUTER:
        /* derivative and chain product: twice the FLOPs; reads the inputs (or
         * the output, for softmax) and dY, writes dX; a norm also reads its
         * weight and writes the weight's gradient */
        o->flops_vec = 2.0 * c->flops_vec;
        o->bytes_w = 2.0 * c->bytes_w;
        o->bytes_act = c->bytes_act + c->bytes_out;
        o->bytes_out = c->bytes_act;
        break;
    case OP_GATHER:
        /* embedding: dY rows scatter-added into the table's gradient */
        o->flops_vec = c->bytes_out / dtype_bytes(f->dt_act);
        o->bytes_act = c->bytes_out;
        o->bytes_out = c->bytes_w;
        break;
    case OP_ALLREDUCE:
    case OP_ALLGATHER:
    case OP_ALLTOALL:
        *o = *c; /* the conjugate collective moves the same bytes */
        break;
    case OP_COUNT: break;
    }
}

/* What an op keeps for its backward with no recomputation. */
double train_saved_bytes(const struct op *f)
{
    const struct op_cost *c = &f->cost;
    switch (f->kind) {
    case OP_GEMM:
    case OP_BATCHED_GEMM: return c->bytes_act + c->bytes_kv; /* its input X */
    case OP_ATTENTION: {
        const struct attn_shape *s = &f->shape.attn; /* Q, K, V, O, fp32 log-sum-exp */
        return c->bytes_act + c->bytes_kv + c->bytes_out + s->b * s->sq * s->hq * 4.0;
    }
    case OP_NORM:
    case OP_ROUTER: return c->bytes_act; /* input (logits) */
    case OP_SOFTMAX: return c->bytes_out; /* its output */
    case OP_SCAN: return c->bytes_act + c->bytes_kv;
    case OP_ELEMENTWISE:
        /* linear pointwise ops (residual adds, RoPE, copies, pooling sums: at
         * most FLOPS_ROPE per element) need nothing; nonlinear ones keep inputs */
        return f->shape.ew.flops_per_elem > FLOPS_ROPE ? c->bytes_act : 0;
    case OP_GATHER:
    case OP_ALLREDUCE:
    case OP_ALLGATHER:
    case OP_ALLTOALL: return 0;
    case OP_COUNT: break;
    }
    return 0;
}

/* The step of one micro-batch on one device. With context parallelism each
 * device holds S/cp queries; a prior of (S - S/cp)/2 keys gives exactly 1/cp
 * of the causal pairs: q P + q(q + 1)/2 = S(S + 1)/(2 cp) at q = S/cp (the
 * load balance of a zig-zag chunk assignment). */
static void micro_step(const struct train_cfg *c, struct step *st)
{
    const double q = c->seq / c->cp;
    *st = (struct step){.phase = PHASE_PREFILL, .batch = c->micro_batch, .q_len = q,
                        .ctx_prior = c->cp > 1 ? (c->seq - q) / 2.0 : 0.0, .tp = c->tp,
                        .ep = c->ep, .dt_w = c->dt, .dt_act = c->dt, .dt_kv = c->dt};
}

int train_check(const struct model *m, const struct train_cfg *c, char *msg, size_t n)
{
    const double prod = c->tp * c->pp * c->dp * c->cp;
    if (prod != c->gpus)
        return snprintf(msg, n, "tp %g x pp %g x dp %g x cp %g = %g devices, but --gpus is %g",
                        c->tp, c->pp, c->dp, c->cp, prod, c->gpus),
               -1;
    if (c->pp > (double)m->layers)
        return snprintf(msg, n, "pp %g is larger than the model's %lld layers", c->pp,
                        (long long)m->layers),
               -1;
    if (fmod(c->seq, c->cp) != 0)
        return snprintf(msg, n, "cp %g does not divide the sequence length %g", c->cp, c->seq), -1;
    if (c->cp > 1 && fmod(c->seq / c->cp, 2.0) != 0 && c->cp_scheme == CP_RING)
        return snprintf(msg, n,
                        "ring attention with zig-zag balance splits each device's %g tokens "
                        "into two chunks: S/cp must be even",
                        c->seq / c->cp),
               -1;
    const double seqs = c->global_tokens / c->seq;
    if (fmod(c->global_tokens, c->seq) != 0)
        return snprintf(msg, n, "the global batch (%g tokens) is not a whole number of %g-token "
                        "sequences", c->global_tokens, c->seq),
               -1;
    const double per = c->dp * c->micro_batch;
    if (fmod(seqs, per) != 0)
        return snprintf(msg, n,
                        "%g sequences per step do not split into dp %g x micro-batch %g "
                        "(a multiple of %g is needed)",
                        seqs, c->dp, c->micro_batch, per),
               -1;
    if (c->ep > 1 && fmod(c->dp * c->tp, c->ep) != 0)
        return snprintf(msg, n, "ep %g must divide dp x tp = %g (experts are spread over the "
                        "data- and tensor-parallel devices)", c->ep, c->dp * c->tp),
               -1;
    struct err e;
    if (model_len_check(m, c->seq, &e)) return snprintf(msg, n, "%s", e.msg), -1;
    if (model_tp_check(m, c->tp, &e))
        return snprintf(msg, n, "%s", e.msg), -1;
    if (c->ep > 1 && model_ep_check(m, c->ep, &e)) return snprintf(msg, n, "%s", e.msg), -1;
    if (c->cp > 1 && c->cp_scheme == CP_ULYSSES) {
        /* Ulysses scatters heads: every attention op's local heads split over cp */
        struct graph g;
        if (graph_init(&g, model_max_ops(m) + 4)) return snprintf(msg, n, "out of memory"), -1;
        struct step st;
        micro_step(c, &st);
        st.q_len = 2; /* the shape of the heads does not depend on the length */
        st.ctx_prior = 0;
        model_lower(m, &st, &g);
        for (int i = 0; i < g.n; i++) {
            const struct op *op = &g.ops[i];
            if (op->kind != OP_ATTENTION || fmod(op->shape.attn.hq, c->cp) == 0) continue;
            snprintf(msg, n,
                     "Ulysses splits heads over cp: layer %d's attention has %g query heads "
                     "per device (after tp %g), not divisible by cp %g; use --cp-scheme ring",
                     op->layer_first, op->shape.attn.hq, c->tp, c->cp);
            graph_free(&g);
            return -1;
        }
        graph_free(&g);
    }
    return 0;
}

/* Head ops (outside the layer stack) run on the last pipeline stage, the
 * embedding on the first. */
static bool is_head(const struct op *op) { return op->group < 0 && op->kind != OP_GATHER; }

static void push(struct train_result *r, const struct op *f, const struct device *d,
                 enum recompute rc)
{
    struct train_op *t = &r->ops[r->n_ops++];
    struct op_eval ev;
    t->fwd = *f;
    t->bwd = *f;
    train_bwd_cost(f, &t->bwd.cost);
    t->t_fwd_s = eval_op(&t->fwd, d, &ev);
    t->t_bwd_s = eval_op(&t->bwd, d, &ev);
    t->saved_bytes = train_saved_bytes(f);
    t->recomputed = f->group >= 0 && (rc == RECOMPUTE_FULL ||
                                      (rc == RECOMPUTE_SELECTIVE &&
                                       (f->kind == OP_ATTENTION || f->kind == OP_SOFTMAX)));
}

int train_run(const struct model *m, const struct device *d, const struct train_cfg *c,
              struct train_result *r)
{
    memset(r, 0, sizeof *r);
    struct graph g, extra;
    if (graph_init(&g, model_max_ops(m))) return -1;
    if (graph_init(&extra, 4)) {
        graph_free(&g);
        return -1;
    }
    struct step st;
    micro_step(c, &st);
    model_lower(m, &st, &g);
    r->ops = calloc((size_t)g.n + 4, sizeof *r->ops);
    if (!r->ops) {
        graph_free(&g);
        graph_free(&extra);
        return -1;
    }
    const double t = st.batch * st.q_len, h = (double)m->hidden, ab = dtype_bytes(c->dt);
    r->tokens_mb_dev = t;
    /* The training graph: the LM head over every token (not only the last of
     * each sequence), no logits all-gather (a vocabulary-parallel cross-entropy
     * needs only two scalars per token: max and sum of exponentials; Megatron-LM),
     * then the loss. */
    extra.dt_w = extra.dt_act = extra.dt_kv = c->dt;
    extra.block = BLK_MODEL;
    for (int i = 0; i < g.n; i++) {
        struct op op = g.ops[i];
        /* the head (struct op.head): lm_head and its logits all-gather */
        if (op.head && op.kind == OP_ALLGATHER) continue; /* logits all-gather */
        if (op.head && op.kind == OP_GEMM) {
            op_set_rows(&op, t);
            push(r, &op, d, c->recompute);
            graph_reset(&extra);
            push(r, op_softmax(&extra, "loss", t, (double)m->vocab / c->tp), d, c->recompute);
            if (c->tp > 1)
                push(r, op_allreduce(&extra, "loss_allreduce", t, 2.0, c->tp), d, c->recompute);
            continue;
        }
        push(r, &op, d, c->recompute);
    }
    graph_free(&g);
    graph_free(&extra);

    /* One micro-batch on the busiest stage: 1/pp of the layer stack plus the
     * head (the last stage); with pp = 1 the embedding too. */
    const double share = 1.0 / c->pp;
    r->layers_per_stage_frac = share;
    double f_mm = 0, b_mm = 0, rc_mm = 0; /* whole model, per micro-batch and device */
    double act_none = 0, act_layer_max = 0, layer_inputs = 0, act_head = 0;
    double net_graph = 0;
    double attn_fwd_s = 0, attn_bwd_s = 0, kv_elems_token = 0, attn_layers = 0, qkv_cols = 0,
           o_cols = 0;
    int last_group = -2;
    for (int i = 0; i < r->n_ops; i++) {
        const struct train_op *o = &r->ops[i];
        const double n = o->fwd.layer_count;
        const bool layer = o->fwd.group >= 0;
        const double w = layer ? share : (is_head(&o->fwd) || c->pp == 1 ? 1.0 : 0.0);
        r->t_fwd_s += w * n * o->t_fwd_s;
        r->t_bwd_s += w * n * o->t_bwd_s;
        if (o->recomputed) r->t_recompute_s += w * n * o->t_fwd_s;
        if (o->fwd.cost.bytes_net > 0) {
            struct op_eval ev;
            r->t_tp_s += w * n * (eval_op(&o->fwd, d, &ev) + eval_op(&o->bwd, d, &ev));
            net_graph += w * n * (o->fwd.cost.bytes_net + o->bwd.cost.bytes_net);
        }
        f_mm += n * o->fwd.cost.flops_mm;
        b_mm += n * o->bwd.cost.flops_mm;
        if (o->recomputed) rc_mm += n * o->fwd.cost.flops_mm;
        double saved = o->saved_bytes;
        if (c->recompute == RECOMPUTE_SELECTIVE && o->recomputed)
            saved = o->fwd.cost.bytes_act + o->fwd.cost.bytes_kv; /* inputs only */
        if (layer) {
            act_none += share * n * saved;
            /* one layer of each group, for full recompute */
            if (o->fwd.group != last_group) {
                double one = 0;
                for (int j = i; j < r->n_ops && r->ops[j].fwd.group == o->fwd.group; j++)
                    one += r->ops[j].saved_bytes;
                if (one > act_layer_max) act_layer_max = one;
                layer_inputs += share * n * t * h * ab;
                last_group = o->fwd.group;
            }
        } else if (w > 0) {
            act_head += saved;
        }
        if (o->fwd.kind == OP_ATTENTION) {
            attn_fwd_s += share * n * o->t_fwd_s;
            attn_bwd_s += share * n * o->t_bwd_s;
            kv_elems_token += share * n * o->fwd.shape.attn.kv_width;
            attn_layers += share * n;
            qkv_cols += share * n * (o->fwd.shape.attn.hq * o->fwd.shape.attn.dqk);
            o_cols += share * n * (o->fwd.shape.attn.hq * o->fwd.shape.attn.dv);
        }
    }
    r->act_per_mb = (c->recompute == RECOMPUTE_FULL ? layer_inputs + act_layer_max : act_none) +
                    act_head;

    /* Context parallelism (docs/training.md): ring passes every other chunk's
     * K and V around the ring (forward), K, V and their gradients (backward),
     * overlapped with the attention; Ulysses all-to-alls q, k, v and o between
     * sequence and head sharding (backward the same), not overlapped. */
    if (c->cp > 1) {
        const double frac = (c->cp - 1.0) / c->cp, s_all = c->seq * c->micro_batch;
        double fwd_b, bwd_b;
        if (c->cp_scheme == CP_RING) {
            fwd_b = frac * s_all * kv_elems_token * ab;
            bwd_b = 2.0 * fwd_b;
            /* the ring's slowest link: across nodes once the cp group spans them
             * (stride tp; docs/network.md) */
            const double tf = net_time_s(d, NET_P2P, fwd_b, c->cp, c->tp),
                         tb = net_time_s(d, NET_P2P, bwd_b, c->cp, c->tp);
            r->t_cp_s = fmax(0, tf - attn_fwd_s) + fmax(0, tb - attn_bwd_s);
        } else {
            /* each device sends (cp-1)/cp of its S/cp tokens' q, k, v and o */
            fwd_b = frac * t * (qkv_cols + kv_elems_token + o_cols) * ab;
            bwd_b = fwd_b;
            r->t_cp_s = net_time_s(d, NET_ALLTOALL, fwd_b, c->cp, c->tp) +
                        net_time_s(d, NET_ALLTOALL, bwd_b, c->cp, c->tp);
        }
        r->net_cp_bytes = fwd_b + bwd_b;
    }

    /* Pipeline (1F1B, Narayanan et al. 2021): m micro-batches, bubble of
     * pp - 1 stage times; each boundary sends the activations forward and
     * their gradients back. */
    r->micro_batches = c->global_tokens / (c->seq * c->dp * c->micro_batch);
    if (c->pp > 1) {
        const double bytes = 2.0 * t * h * ab;
        /* one send forward, one back; the stages are tp x cp x dp devices apart */
        r->t_pp_p2p_s = 2.0 * net_time_s(d, NET_P2P, bytes / 2.0, c->pp, c->tp * c->cp * c->dp);
        r->net_pp_bytes = bytes * r->micro_batches;
    }
    r->t_stage_s = r->t_fwd_s + r->t_recompute_s + r->t_bwd_s + r->t_cp_s + r->t_pp_p2p_s;
    r->bubble_frac = (c->pp - 1.0) / r->micro_batches;
    r->t_pipeline_s = (r->micro_batches + c->pp - 1.0) * r->t_stage_s;
    r->net_tp_bytes = net_graph * r->micro_batches;
    r->net_cp_bytes *= r->micro_batches;

    /* Memory (ZeRO, Rajbhandari et al. 2020): weights 2 psi, gradients 2 psi,
     * optimizer K psi per device; stage 1 shards the optimizer over dp, 2 the
     * gradients too, 3 the weights too. Expert weights are split over ep. */
    struct model_counts mc;
    model_count(m, c->tp, &mc);
    const double ep = c->ep > 1 ? c->ep : 1.0;
    r->params_dev = (mc.params_dev - mc.ep_params_dev + mc.ep_params_dev / ep) / c->pp;
    const double psi = r->params_dev, K = optimizer_bytes_per_param(c->opt);
    r->mem_weights = psi * ab / (c->zero >= 3 ? c->dp : 1.0);
    r->mem_grads = psi * ab / (c->zero >= 2 ? c->dp : 1.0);
    r->mem_optimizer = psi * K / (c->zero >= 1 ? c->dp : 1.0);
    r->mb_in_flight = fmin(c->pp, r->micro_batches);
    r->mem_activations = r->act_per_mb * r->mb_in_flight;
    r->mem_total = r->mem_weights + r->mem_grads + r->mem_optimizer + r->mem_activations;
    r->fits = r->mem_total <= d->mem_capacity_bytes;

    /* Data parallelism: ring all-reduce of the gradients, 2(dp-1)/dp of them
     * per device (ZeRO 1-2: reduce-scatter + all-gather of the updated weights,
     * the same bytes); ZeRO 3 all-gathers the weights in forward and backward
     * and reduce-scatters the gradients for every micro-batch (1.5x per
     * micro-batch, ZeRO sec. 7.2.2). Not overlapped with compute here. */
    if (c->dp > 1) {
        const double frac = (c->dp - 1.0) / c->dp, wbytes = psi * ab;
        r->net_dp_bytes = c->zero >= 3 ? r->micro_batches * 3.0 * frac * wbytes
                                       : 2.0 * frac * wbytes;
        /* the dp group's members are tp x cp devices apart (Megatron's rank
         * order); hierarchical across nodes (docs/network.md). A reduce-scatter
         * costs what an all-gather does. */
        const double stride = c->tp * c->cp;
        r->t_dp_s = c->zero >= 3
                        ? r->micro_batches * 3.0 * net_time_s(d, NET_ALLGATHER, wbytes, c->dp, stride)
                        : net_time_s(d, NET_ALLREDUCE, wbytes, c->dp, stride);
    }
    /* Optimizer: each state, master weight, gradient and weight read and the
     * states and weights written once, on the shard a device updates. */
    const double shard = c->zero >= 1 ? c->dp : 1.0;
    r->t_optimizer_s = (psi / shard) * (2.0 * K + 2.0 * ab + ab) / d->mem_rate;
    r->step_time_s = r->t_pipeline_s + r->t_dp_s + r->t_optimizer_s;
    r->tokens_per_s = c->global_tokens / r->step_time_s;

    /* Model FLOPs (matmul, forward + backward, no recompute) per token: one
     * micro-batch's FLOPs on one device cover t tokens of 1/(tp cp) of the
     * work of mb * S tokens. */
    const double tok = c->micro_batch * c->seq, devs = c->tp * c->cp;
    r->model_flops_per_token = (f_mm + b_mm) * devs / tok;
    r->hw_flops_per_token = (f_mm + b_mm + rc_mm) * devs / tok;
    const double peak = d->tensor_flops_per_s[c->dt];
    r->mfu = peak > 0 ? r->model_flops_per_token * r->tokens_per_s / (c->gpus * peak) : 0;
    return 0;
}

void train_free(struct train_result *r)
{
    if (!r) return;
    free(r->ops);
    r->ops = NULL;
    r->n_ops = 0;
}
