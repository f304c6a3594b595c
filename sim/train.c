/* train.c - the training-step cost model; see train.h and docs/training.md. */
#include "train.h"

#include "net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const RECOMPUTE_NAMES[RECOMPUTE_COUNT] = {
    [RECOMPUTE_NONE] = "none", [RECOMPUTE_SELECTIVE] = "selective", [RECOMPUTE_FULL] = "full"};
static const char *const OPT_NAMES[OPT_COUNT] = {[OPT_ADAMW] = "adamw", [OPT_SGD] = "sgd"};

const char *recompute_name(enum recompute r) { return RECOMPUTE_NAMES[r]; }
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

/* The step of one micro-batch on one device: S/cp queries over the prior
 * context that gives the busiest device its causal pairs (cp_step_shape). */
static void micro_step(const struct train_cfg *c, struct step *st)
{
    double q, prior;
    cp_step_shape(c->cp_scheme, c->seq, c->cp, &q, &prior);
    *st = (struct step){.phase = PHASE_PREFILL, .batch = c->micro_batch, .q_len = q,
                        .ctx_prior = prior, .tp = c->tp, .ep = c->ep, .dt_w = c->dt,
                        .dt_act = c->dt, .dt_kv = c->dt};
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
    if (c->pp_virtual > 1 && (c->pp < 2 || c->pp * c->pp_virtual > (double)m->layers))
        return snprintf(msg, n,
                        "--pp-virtual %g needs pp > 1 and at least pp x V = %g layers (the "
                        "model has %lld)",
                        c->pp_virtual, c->pp * c->pp_virtual, (long long)m->layers),
               -1;
    if (cp_check_seq(c->cp_scheme, c->seq, c->cp, msg, n)) return -1;
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
    const int hr = cp_check_heads(m, c->tp, c->cp, c->cp_scheme, msg, n);
    if (hr == -2) return snprintf(msg, n, "out of memory"), -1;
    if (hr) return -1;
    return 0;
}

/* Head ops (outside the layer stack) run on the last pipeline stage, the
 * embedding on the first. */
static bool is_head(const struct op *op) { return op->group < 0 && op->kind != OP_GATHER; }

static void push(struct train_result *r, const struct op *f, const struct device *d,
                 const struct train_cfg *c)
{
    const enum recompute rc = c->recompute;
    struct train_op *t = &r->ops[r->n_ops++];
    struct op_eval ev;
    t->fwd = *f;
    t->bwd = *f;
    train_bwd_cost(f, &t->bwd.cost);
    t->t_fwd_s = eval_op(&t->fwd, d, &ev);
    t->t_bwd_s = eval_op(&t->bwd, d, &ev);
    t->saved_bytes = train_saved_bytes(f);
    if (c->cp > 1 && f->kind == OP_ATTENTION) {
        /* context parallel: a device keeps its own tokens' K and V; the other
         * chunks pass through again in backward (cp.h) */
        const struct attn_shape *a = &f->shape.attn;
        t->saved_bytes += a->b * a->sq * a->kv_width * dtype_bytes(f->dt_act) - f->cost.bytes_kv;
    }
    t->recomputed = f->group >= 0 && (rc == RECOMPUTE_FULL ||
                                      (rc == RECOMPUTE_SELECTIVE &&
                                       (f->kind == OP_ATTENTION || f->kind == OP_SOFTMAX)));
    /* LightSeq's rematerialization-aware checkpointing (Li et al. 2023,
     * arXiv 2310.03294): with full recomputation the checkpoint sits at the attention's
     * output, so the attention forward is not run again */
    if (rc == RECOMPUTE_FULL && c->cp_scheme == CP_LIGHTSEQ && c->cp > 1 &&
        f->kind == OP_ATTENTION)
        t->recomputed = false;
}

/* Time of one context-parallel transfer of bytes per device: point-to-point
 * around the ring (ring, LightSeq), all-to-all for Ulysses; over the tier the
 * cp group spans, its members tp devices apart (docs/network.md). */
static double cp_net_s(const struct device *d, const struct train_cfg *c, double bytes)
{
    return net_time_s(d, c->cp_scheme == CP_ULYSSES ? NET_ALLTOALL : NET_P2P, bytes, c->cp, c->tp);
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
            push(r, &op, d, c);
            graph_reset(&extra);
            push(r, op_softmax(&extra, "loss", t, (double)m->vocab / c->tp), d, c);
            if (c->tp > 1)
                push(r, op_allreduce(&extra, "loss_allreduce", t, 2.0, c->tp), d, c);
            continue;
        }
        push(r, &op, d, c);
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
    double ckpt_attn = 0; /* LightSeq + full: attention outputs kept as checkpoints */
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
        if (o->fwd.kind == OP_ATTENTION && layer) {
            /* context parallelism (cp.h): per layer, traffic beyond what the
             * attention's forward and backward hide */
            struct cp_layer cl;
            cp_layer_cost(c->cp_scheme, c->cp, c->seq, &o->fwd.shape.attn, ab, &cl);
            r->net_cp_bytes += share * n * (cl.fwd_bytes + cl.bwd_bytes);
            r->t_cp_s += share * n *
                         (cp_exposed_s(cl.overlapped, cp_net_s(d, c, cl.fwd_bytes), o->t_fwd_s) +
                          cp_exposed_s(cl.overlapped, cp_net_s(d, c, cl.bwd_bytes), o->t_bwd_s));
            r->cp_buf_bytes = fmax(r->cp_buf_bytes, cl.buf_bytes);
            if (c->recompute == RECOMPUTE_FULL && c->cp_scheme == CP_LIGHTSEQ && c->cp > 1)
                ckpt_attn += share * n *
                             (o->fwd.cost.bytes_out +
                              o->fwd.shape.attn.b * o->fwd.shape.attn.sq * o->fwd.shape.attn.hq * 4.0);
        }
    }
    r->act_per_mb = (c->recompute == RECOMPUTE_FULL ? layer_inputs + ckpt_attn + act_layer_max
                                                    : act_none) +
                    act_head;

    /* Pipeline (1F1B, Narayanan et al. 2021): m micro-batches, bubble of
     * pp - 1 stage times; each boundary sends the activations forward and
     * their gradients back. Interleaved 1F1B with V virtual stages per device
     * (sec. 2.2.2): bubble (pp - 1)/V stage times, V times the sends. */
    const double V = c->pp_virtual >= 1 ? c->pp_virtual : 1.0;
    r->micro_batches = c->global_tokens / (c->seq * c->dp * c->micro_batch);
    if (c->pp > 1) {
        /* each of the tp devices of a stage sends 1/tp of the activations
         * (Megatron-LM's scatter/gather optimisation, Narayanan et al. 2021
         * sec. 4.1: the receiving stage all-gathers them over the node's
         * NVLink, not counted) */
        const double bytes = 2.0 * t * h * ab * V / c->tp;
        /* one send forward, one back per virtual stage; the stages are
         * tp x cp x dp devices apart (docs/network.md) */
        r->t_pp_p2p_s = 2.0 * V * net_time_s(d, NET_P2P, bytes / (2.0 * V), c->pp, c->tp * c->cp * c->dp);
        r->net_pp_bytes = bytes * r->micro_batches;
    }
    r->t_stage_s = r->t_fwd_s + r->t_recompute_s + r->t_bwd_s + r->t_cp_s + r->t_pp_p2p_s;
    r->bubble_frac = (c->pp - 1.0) / (V * r->micro_batches);
    r->t_pipeline_s = (r->micro_batches + (c->pp - 1.0) / V) * r->t_stage_s;
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
    r->mem_total = r->mem_weights + r->mem_grads + r->mem_optimizer + r->mem_activations +
                   r->cp_buf_bytes;
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
