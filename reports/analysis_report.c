/* analysis_report.c - table, csv and json output of one analysis.
 *
 * Per-op figures are per layer; a row stands for layer_count identical layers
 * (layers layer..layer+layer_count-1; layer = -1 for embed, final_norm and
 * lm_head). Totals = sum over rows of figure x layer_count. */
#include "analysis_report.h"

#include <stdlib.h>
#include <string.h>

#include "../models/profile.h"
#include "fmt.h"
#include "pim_report.h"

#define B64 64

static void layer_label(char *buf, size_t n, const struct op *op)
{
    if (op->layer_first < 0)
        snprintf(buf, n, "-");
    else if (op->layer_count == 1)
        snprintf(buf, n, "%d", op->layer_first);
    else
        snprintf(buf, n, "%d-%d", op->layer_first, op->layer_first + op->layer_count - 1);
}

static void header(FILE *out, const struct analysis_view *v)
{
    const struct analysis *a = v->a;
    const struct step *st = &a->step;
    char b1[B64];
    fprintf(out, "model     %s (%s)\n", v->m->name, v->m->file);
    fprintf(out, "device    %s (%s)\n", v->d->name, v->d->file);
    if (v->sc->phase == PHASE_PREFILL)
        fprintf(out, "scenario  prefill, batch %.0f, prompt %.0f tokens", st->batch, st->q_len);
    else
        fprintf(out, "scenario  decode, batch %.0f, context %.0f (+1 new token)", st->batch,
                st->ctx_prior);
    fprintf(out, "; weights %s, activations %s, KV cache %s\n", dtype_name(st->dt_w),
            dtype_name(st->dt_act), dtype_name(st->dt_kv));
    if (v->sc->profile) {
        char pb[512];
        profile_describe(v->sc->profile, pb, sizeof pb);
        fprintf(out, "profile   %s (%s)\n", pb, profile_file(v->sc->profile));
    }
    if (st->tp > 1 && st->ep > 1)
        fprintf(out, "parallel  attention tensor-parallel over %.0f devices, experts "
                     "expert-parallel over %.0f: %.0f attention groups, each with its own batch; "
                     "each device holds 1/%.0f of the routed experts, whole, and dispatches 1/%.0f "
                     "of its group's tokens: figures are the busiest device's (docs/moe.md)\n",
                st->tp, st->ep, st->ep / st->tp, st->ep, st->tp);
    else if (st->tp > 1)
        fprintf(out, "parallel  tensor-parallel over %.0f devices: ops, step totals and memory "
                     "are per device\n",
                st->tp);
    if (st->ep > 1 && st->tp <= 1)
        fprintf(out, "parallel  expert-parallel over %.0f devices, each with its own batch and "
                     "1/%.0f of the routed experts: figures are the busiest device's "
                     "(docs/moe.md)\n",
                st->ep, st->ep);
    if (st->attn_dp > 1)
        fprintf(out, "parallel  data-parallel attention over %.0f devices, each with its own "
                     "batch and the attention whole; the FFN tensor-parallel over the %.0f on "
                     "all their rows (docs/pipeline.md): figures are one device's\n",
                st->attn_dp, st->attn_dp);
    if (a->piped)
        fprintf(out, "parallel  pipeline of %.0f stages, %.0f micro-batches of %.4g sequences: the "
                     "step and op figures are one micro-batch through every layer; memory, "
                     "times and tokens/s are the pipeline's (docs/pipeline.md)\n",
                a->pipe.pp, a->pipe.m, a->pipe.b_mb);
    fprintf(out, "roofline  %s/s memory, %s/s tensor (%s), ridge %.0f FLOP/B, %s per kernel\n",
            fmt_si(b1, sizeof b1, v->d->mem_rate, "B"),
            fmt_si((char[B64]){0}, B64, v->d->tensor_rate[st->dt_act], "FLOP"),
            dtype_name(st->dt_act), device_ridge(v->d, st->dt_act),
            fmt_time((char[B64]){0}, B64,
                     v->d->launch == LAUNCH_GRAPH && v->d->has_graph_overhead
                         ? v->d->graph_overhead_s : v->d->kernel_overhead_s));
    char desc[512];
    device_describe(v->d, desc, sizeof desc);
    fprintf(out, "kernels   %s\n\n", desc);
}

static void per_op_table(FILE *out, const struct analysis_view *v)
{
    static const char *const hdr[] = {"layers", "op",     "kind",  "FLOPs",   "weights", "act",
                                      "KV",     "written", "Op/B", "bound",   "time",    "share",
                                      "on",     "t xPU",   "t PIM"};
    /* PIM devices: where each op runs and its time on either side (sim/placement.h) */
    const bool pim = v->a->placed && v->d->has_pim;
    struct table t;
    table_init(&t, pim ? 15 : 12, hdr, "lllrrrrrrlrrlrr");
    const struct graph *g = &v->a->graph;
    const double total = v->a->tot.time_s;
    int last_group = -2;
    char b[8][B64];
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        const struct op_eval *ev = &v->a->per_op[i];
        if (op->group != last_group && i > 0) table_rule(&t);
        last_group = op->group;
        table_row(&t);
        layer_label(b[0], B64, op);
        table_cell(&t, 0, "%s", b[0]);
        table_cell(&t, 1, "%s", op->name);
        table_cell(&t, 2, "%s", op_kind_name(op->kind));
        table_cell(&t, 3, "%s", fmt_si(b[1], B64, ev->flops, ""));
        table_cell(&t, 4, "%s", fmt_si(b[2], B64, op->cost.bytes_w, "B"));
        table_cell(&t, 5, "%s", fmt_si(b[3], B64, op->cost.bytes_act, "B"));
        table_cell(&t, 6, "%s", fmt_si(b[4], B64, op->cost.bytes_kv, "B"));
        table_cell(&t, 7, "%s", fmt_si(b[5], B64, op->cost.bytes_out, "B"));
        table_cell(&t, 8, ev->intensity >= 100 ? "%.0f" : "%.3g", ev->intensity);
        table_cell(&t, 9, "%s", bound_name(ev->bound));
        table_cell(&t, 10, "%s", fmt_time(b[6], B64, ev->time_s));
        table_cell(&t, 11, "%.1f%%", 100.0 * ev->time_s * op->layer_count / total);
        if (pim) {
            const struct op_place *pl = &v->a->place[i];
            if (pl->side == SIDE_CO)
                table_cell(&t, 12, "co %.0f/%.3g", pl->units_xpu, pl->units);
            else
                table_cell(&t, 12, "%s", place_side_name(pl->side));
            table_cell(&t, 13, "%s", fmt_time(b[6], B64, pl->t_xpu_s));
            table_cell(&t, 14, "%s", pl->t_pim_s > 0 ? fmt_time(b[7], B64, pl->t_pim_s) : "-");
        }
    }
    fprintf(out, "Per op (figures per layer; a row stands for every layer in its range%s):\n",
            pim ? "; on: xpu, pim, or co X/N = X of N experts or requests on the xPU" : "");
    table_print(&t, out);
    table_free(&t);
    fputc('\n', out);
}

static void per_group_table(FILE *out, const struct analysis_view *v)
{
    static const char *const hdr[] = {"layers", "attention", "ffn", "per layer", "all layers",
                                      "share"};
    struct table t;
    table_init(&t, 6, hdr, "lrrrrr");
    const struct graph *g = &v->a->graph;
    const double total = v->a->tot.time_s;
    char b[5][B64];
    /* one pass over the ops into per-group sums, then one row per group:
     * O(groups + ops) (a loop over every op for every group took minutes at
     * 100,000 groups) */
    const int ng = v->m->n_groups;
    double(*tb)[BLK_COUNT] = calloc((size_t)ng + 1, sizeof *tb); /* [0] = outside the stack */
    int *first = malloc(((size_t)ng + 1) * sizeof *first);
    OB_ASSERT(tb && first);
    for (int gi = 0; gi <= ng; gi++) first[gi] = -1;
    for (int i = 0; i < g->n; i++) {
        const int gi = g->ops[i].group + 1;
        OB_ASSERT(gi >= 0 && gi <= ng);
        if (first[gi] < 0) first[gi] = i;
        tb[gi][g->ops[i].block] += v->a->per_op[i].time_s;
    }
    const double other = tb[0][BLK_MODEL];
    for (int gi = 1; gi <= ng; gi++) {
        if (first[gi] < 0) continue; /* a group that lowers to no op */
        const struct op *op0 = &g->ops[first[gi]];
        const double layer = tb[gi][BLK_ATTN] + tb[gi][BLK_FFN] + tb[gi][BLK_MODEL];
        table_row(&t);
        layer_label(b[0], B64, op0);
        table_cell(&t, 0, "%s", b[0]);
        table_cell(&t, 1, "%s", fmt_time(b[1], B64, tb[gi][BLK_ATTN]));
        table_cell(&t, 2, "%s", fmt_time(b[2], B64, tb[gi][BLK_FFN]));
        table_cell(&t, 3, "%s", fmt_time(b[3], B64, layer));
        table_cell(&t, 4, "%s", fmt_time(b[4], B64, layer * op0->layer_count));
        table_cell(&t, 5, "%.1f%%", 100.0 * layer * op0->layer_count / total);
    }
    free(tb);
    free(first);
    table_row(&t);
    table_cell(&t, 0, "embed+head");
    table_cell(&t, 4, "%s", fmt_time(b[0], B64, other));
    table_cell(&t, 5, "%.1f%%", 100.0 * other / total);
    fprintf(out, "Per layer group:\n");
    table_print(&t, out);
    table_free(&t);
    fputc('\n', out);
}

/* Fixed per-kernel time in the step: each op's kernel overhead (per op kind,
 * hw/device.h) times the layers it stands for; on a PIM device the overhead of
 * the side the op was placed on (sim/placement.c: PIM overhead_s, and the
 * larger of the two when co-processed). */
static double overhead_s(const struct analysis_view *v)
{
    const struct analysis *a = v->a;
    const struct device *d = v->d;
    double t = 0;
    for (int i = 0; i < a->graph.n; i++) {
        const struct op *op = &a->graph.ops[i];
        double o = a->per_op[i].t_overhead_s; /* as eval_op charged it */
        if (a->placed && a->place[i].side == SIDE_PIM) o = d->pim.overhead_s;
        else if (a->placed && a->place[i].side == SIDE_CO) /* as placement.c: both sides run */
            o = device_cal_of(d, op)->t_overhead_s > d->pim.overhead_s ? device_cal_of(d, op)->t_overhead_s
                                                                 : d->pim.overhead_s;
        t += o * op->layer_count;
    }
    return t;
}

/* The pipeline's stages and schedule (docs/pipeline.md). */
static void report_pipeline(FILE *out, const struct analysis_view *v)
{
    const struct analysis *a = v->a;
    const struct pipe_figures *p = &a->pipe;
    char b[4][B64];
    fprintf(out, "Pipeline (%.0f stages, %.0f micro-batches of %.4g sequences)\n", p->pp, p->m, p->b_mb);
    fprintf(out, "  stage  layers    prefill    decode     weights    cache/seq  memory\n");
    for (int s = 0; s < (int)p->pp; s++) {
        const struct pipe_stage *st = &p->stage[s];
        char lay[32];
        snprintf(lay, sizeof lay, "%d-%d", st->layer_lo, st->layer_hi - 1);
        fprintf(out, "  %5d  %-8s  %-9s  %-9s  %-9s  %-9s  %s\n", s, lay,
                fmt_time(b[0], B64, st->t_prefill_s), fmt_time(b[1], B64, st->t_decode_s),
                fmt_bin(b[2], B64, st->weight_bytes), fmt_bin(b[3], B64, st->cache_bytes_per_seq),
                fmt_bin((char[B64]){0}, B64, st->memory_bytes));
    }
    fprintf(out, "  stage send          %s prefill, %s decode per micro-batch (%s, %s)\n",
            fmt_si(b[0], B64, p->send_bytes_prefill, "B"), fmt_si(b[1], B64, p->send_bytes_decode, "B"),
            !v->d->has_network ? "one tier" : p->send_crosses ? "across nodes" : "within a node",
            fmt_time(b[2], B64, p->t_send_decode_s));
    fprintf(out, "  prefill schedule    %s (GPipe: sum of stages + %.0f sends + %.0f x slowest "
                 "stage %d); bubble %.1f%% of the ideal\n",
            fmt_time(b[0], B64, p->t_prefill_s), p->pp - 1, p->m - 1, p->slowest_prefill,
            100.0 * p->bubble_prefill);
    fprintf(out, "  decode step         %s (max of the round trip and %.0f x slowest stage %d); "
                 "devices busy %.1f%%\n",
            fmt_time(b[0], B64, p->t_decode_s), p->m, p->slowest_decode, 100.0 * p->busy_decode);
}

void report_analysis_table(FILE *out, const struct analysis_view *v, bool per_op)
{
    const struct analysis *a = v->a;
    const struct eval_totals *t = &a->tot;
    char b[4][B64];
    header(out, v);
    if (per_op)
        per_op_table(out, v);
    else
        per_group_table(out, v);
    fprintf(out, "Model\n");
    fprintf(out, "  parameters          %s total, %s active per token\n",
            fmt_si(b[0], B64, a->counts.params, ""), fmt_si(b[1], B64, a->counts.active_params, ""));
    fprintf(out, "  weights             %s\n", fmt_bin(b[0], B64, a->weight_bytes));
    fprintf(out, "  KV cache per token  %s (all layers)\n",
            fmt_bin(b[0], B64, a->kv_bytes_per_token));
    if (a->state_bytes_per_seq > 0)
        fprintf(out, "  state per sequence  %s (constant in context; conv/recurrent state)\n",
                fmt_bin(b[0], B64, a->state_bytes_per_seq));
    if (a->step.tp > 1)
        fprintf(out, "  per device          weights %s, KV cache per token %s\n",
                fmt_bin(b[0], B64, a->weight_bytes_dev),
                fmt_bin(b[1], B64, a->kv_bytes_per_token_dev));
    fprintf(out, "Step (%s)\n", phase_name(v->sc->phase));
    fprintf(out, "  FLOPs               %s (%s matmul, %s vector)\n",
            fmt_si(b[0], B64, t->flops, ""), fmt_si(b[1], B64, t->cost.flops_mm, ""),
            fmt_si(b[2], B64, t->cost.flops_vec, ""));
    if (t->cost.flops_wasted > 0) /* masked pairs inside computed tiles (docs/variants/swa.md) */
        fprintf(out, "                      of which computed on masked pairs: %s (%.1f%%)\n",
                fmt_si(b[0], B64, t->cost.flops_wasted, ""), 100.0 * t->cost.flops_wasted / t->flops);
    fprintf(out, "  bytes               %s (weights %s, activations %s, KV cache %s, written %s)\n",
            fmt_si(b[0], B64, t->bytes, "B"), fmt_si(b[1], B64, t->cost.bytes_w, "B"),
            fmt_si(b[2], B64, t->cost.bytes_act, "B"), fmt_si(b[3], B64, t->cost.bytes_kv, "B"),
            fmt_si((char[B64]){0}, B64, t->cost.bytes_out, "B"));
    const double inten = t->bytes > 0 ? t->flops / t->bytes : 0;
    fprintf(out, inten >= 100 ? "  intensity           %.0f FLOP/B\n" : "  intensity           %.3g FLOP/B\n", inten);
    fprintf(out, "  time                %s (%.0f%% in memory-bound ops, %.0f kernels, overhead "
                 "%.0f%%)\n",
            fmt_time(b[0], B64, t->time_s), 100.0 * t->time_bound_s[BOUND_MEMORY] / t->time_s,
            t->kernels, 100.0 * overhead_s(v) / t->time_s);
    if (t->cost.bytes_net > 0)
        fprintf(out, "  interconnect        %s sent, %s in network-bound ops\n",
                fmt_si(b[0], B64, t->cost.bytes_net, "B"),
                fmt_time(b[1], B64, t->time_bound_s[BOUND_NETWORK]));
    if (a->placed) report_pim_summary(out, v);
    fprintf(out, "Memory on %s\n", v->d->name);
    /* windowed layers cache fewer than ctx_tokens: say so when it applies */
    const double uncapped =
        a->step.batch * (a->ctx_tokens * a->kv_bytes_per_token_dev + a->state_bytes_per_seq_dev);
    if (a->piped) /* the worst stage's (the pipeline section lists every stage) */
        fprintf(out, "  KV cache            %s (%.0f x %.0f tokens, layers %d-%d of stage %d)\n",
                fmt_bin(b[0], B64, a->kv_cache_bytes), v->sc->batch, a->ctx_tokens,
                a->pipe.stage[a->pipe.worst_memory].layer_lo,
                a->pipe.stage[a->pipe.worst_memory].layer_hi - 1, a->pipe.worst_memory);
    else
        fprintf(out, "  KV cache            %s (%.0f x %.0f tokens%s)\n",
                fmt_bin(b[0], B64, a->kv_cache_bytes), a->step.batch, a->ctx_tokens,
                a->kv_cache_bytes < uncapped ? "; windowed layers hold fewer" : "");
    fprintf(out, "  activations         %s (largest op)\n", fmt_bin(b[0], B64, a->act_bytes));
    fprintf(out, "  footprint           %s of %s: %s\n", fmt_bin(b[0], B64, a->memory_bytes),
            fmt_bin(b[1], B64, v->d->mem_capacity_bytes), a->fits ? "fits" : "DOES NOT FIT");
    fprintf(out, "  largest batch       %.0f at this length\n", a->max_batch);
    if (a->piped) report_pipeline(out, v);
    fprintf(out, "Serving\n");
    const double plen = v->sc->phase == PHASE_PREFILL ? v->sc->seq : v->sc->context;
    if (v->has_ttft_request)
        fprintf(out, "  time to first token %s (one request of %.0f tokens, prefilled alone)\n",
                fmt_time(b[0], B64, v->ttft_request_s), plen);
    if (!v->has_ttft_request || a->step.batch > 1) /* at batch 1 it is the line above */
        fprintf(out, "  %s %s (%.0f x %.0f tokens%s)\n",
                v->has_ttft_request ? "batch prefill      " : "time to first token",
                fmt_time(b[0], B64, a->ttft_s), v->sc->batch, plen,
                v->has_ttft_request ? " together: each of these requests waits this long" : "");
    fprintf(out, "  time per out token  %s (decode at context %.0f)\n",
            fmt_time(b[0], B64, a->tpot_s),
            v->sc->phase == PHASE_PREFILL ? v->sc->seq : v->sc->context);
    const char *what = v->sc->phase == PHASE_PREFILL ? "prompt tokens processed" : "tokens generated";
    if (!a->fits)
        fprintf(out, "  tokens per second   n/a (does not fit in memory)\n");
    else if (a->piped) /* one batch through the stages, each stage tp x ep devices */
        fprintf(out, "  tokens per second   %s (%s by the pipeline of %.0f devices; %s per device)\n",
                fmt_si(b[0], B64, a->tokens_per_s, ""), what, a->pipe.pp * a->step.tp * a->step.ep,
                fmt_si(b[1], B64, a->tokens_per_s / (a->pipe.pp * a->step.tp * a->step.ep), ""));
    else if (a->step.attn_dp > 1) /* each device its own batch */
        fprintf(out, "  tokens per second   %s (%s per device, each with its own batch; %s by "
                     "the group of %.0f)\n",
                fmt_si(b[0], B64, a->tokens_per_s, ""), what,
                fmt_si(b[1], B64, a->tokens_per_s * a->step.attn_dp, ""), a->step.attn_dp);
    else if (a->step.tp > 1 && a->step.ep > 1) /* a batch per attention group of tp */
        fprintf(out, "  tokens per second   %s (%s by one attention group of %.0f devices; %s per "
                     "device; %s by the expert group of %.0f)\n",
                fmt_si(b[0], B64, a->tokens_per_s, ""), what, a->step.tp,
                fmt_si(b[1], B64, a->tokens_per_s / a->step.tp, ""),
                fmt_si(b[2], B64, a->tokens_per_s * a->step.ep / a->step.tp, ""), a->step.ep);
    else if (a->step.tp > 1) /* one batch split over the group */
        fprintf(out, "  tokens per second   %s (%s by the group of %.0f devices; %s per device)\n",
                fmt_si(b[0], B64, a->tokens_per_s, ""), what, a->step.tp,
                fmt_si(b[1], B64, a->tokens_per_s / a->step.tp, ""));
    else if (a->step.ep > 1) /* each device its own batch (docs/moe.md) */
        fprintf(out, "  tokens per second   %s (%s per device, each with its own batch; %s by "
                     "the group of %.0f)\n",
                fmt_si(b[0], B64, a->tokens_per_s, ""), what,
                fmt_si(b[1], B64, a->tokens_per_s * a->step.ep, ""), a->step.ep);
    else
        fprintf(out, "  tokens per second   %s (%s)\n", fmt_si(b[0], B64, a->tokens_per_s, ""), what);
    if (!a->counts_exact)
        fprintf(out, "note: totals above 2^53 are rounded to double precision (relative error "
                     "below 1e-15); see docs/conventions.md\n");
}

/* ---- csv / json: exact numbers ---- */

#define X(v) fmt_exact(nb, sizeof nb, (v))

static const char *const TOTAL_COLS =
    "model,hw,phase,batch,seq,context,weight_dtype,activation_dtype,kv_dtype,params,"
    "active_params,weight_bytes,kv_cache_bytes_per_token,flops,matmul_flops,vector_flops,bytes,"
    "bytes_weights,bytes_activations,bytes_kv_cache,bytes_written,intensity,time_s,"
    "kv_cache_bytes,activation_bytes,memory_bytes,fits,max_batch,ttft_s,tpot_s,tokens_per_s,tp,"
    "device_weight_bytes,device_kv_cache_bytes_per_token,bytes_interconnect,ep";

static void csv_str(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"') fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
}

void report_analysis_csv(FILE *out, const struct analysis_view *v, bool per_op)
{
    const struct analysis *a = v->a;
    const struct eval_totals *t = &a->tot;
    char nb[64];
    if (per_op) {
        fprintf(out, "layer,layer_count,group,block,name,kind,flops,matmul_flops,vector_flops,"
                     "bytes,bytes_weights,bytes_activations,bytes_kv_cache,bytes_written,"
                     "intensity,bound,t_compute_s,t_memory_s,time_s,bytes_interconnect,t_network_s");
        if (a->placed) report_pim_csv_header(out);
        if (v->sc->profile) fputs(",impl", out);
        fputc('\n', out);
        for (int i = 0; i < a->graph.n; i++) {
            const struct op *op = &a->graph.ops[i];
            const struct op_eval *ev = &a->per_op[i];
            fprintf(out, "%d,%d,%d,%s,%s,%s,", op->layer_first, op->layer_count, op->group,
                    op_block_name(op->block), op->name, op_kind_name(op->kind));
            fprintf(out, "%s,", X(ev->flops));
            fprintf(out, "%s,", X(op->cost.flops_mm));
            fprintf(out, "%s,", X(op->cost.flops_vec));
            fprintf(out, "%s,", X(ev->bytes));
            fprintf(out, "%s,", X(op->cost.bytes_w));
            fprintf(out, "%s,", X(op->cost.bytes_act));
            fprintf(out, "%s,", X(op->cost.bytes_kv));
            fprintf(out, "%s,", X(op->cost.bytes_out));
            fprintf(out, "%s,%s,", X(ev->intensity), bound_name(ev->bound));
            fprintf(out, "%s,", X(ev->t_compute_s));
            fprintf(out, "%s,", X(ev->t_memory_s));
            fprintf(out, "%s,", X(ev->time_s));
            fprintf(out, "%s,", X(op->cost.bytes_net));
            fprintf(out, "%s", X(ev->t_network_s));
            if (a->placed) report_pim_csv_op(out, v, i);
            if (v->sc->profile) fprintf(out, ",%s", op_impl_name(op->impl));
            fputc('\n', out);
        }
        return;
    }
    fprintf(out, "%s%s\n", TOTAL_COLS, v->sc->profile ? ",profile" : "");
    csv_str(out, v->m->name);
    fputc(',', out);
    csv_str(out, v->d->name);
    fprintf(out, ",%s,%s,", phase_name(v->sc->phase), X(v->sc->batch));
    if (v->sc->phase == PHASE_PREFILL) fprintf(out, "%s,,", X(v->sc->seq));
    else fprintf(out, ",%s,", X(v->sc->context));
    fprintf(out, "%s,%s,%s", dtype_name(a->step.dt_w), dtype_name(a->step.dt_act),
            dtype_name(a->step.dt_kv));
    const double vals[] = {a->counts.params, a->counts.active_params, a->weight_bytes,
                           a->kv_bytes_per_token, t->flops, t->cost.flops_mm, t->cost.flops_vec,
                           t->bytes, t->cost.bytes_w, t->cost.bytes_act, t->cost.bytes_kv,
                           t->cost.bytes_out, t->bytes > 0 ? t->flops / t->bytes : 0, t->time_s,
                           a->kv_cache_bytes, a->act_bytes, a->memory_bytes};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) fprintf(out, ",%s", X(vals[i]));
    fprintf(out, ",%s,%s,", a->fits ? "true" : "false", X(a->max_batch));
    fprintf(out, "%s,", X(a->ttft_s));
    fprintf(out, "%s,", X(a->tpot_s));
    fprintf(out, "%s,", X(a->tokens_per_s));
    fprintf(out, "%s,", X(a->step.tp));
    fprintf(out, "%s,", X(a->weight_bytes_dev));
    fprintf(out, "%s,", X(a->kv_bytes_per_token_dev));
    fprintf(out, "%s,", X(t->cost.bytes_net));
    fprintf(out, "%s", X(a->step.ep));
    if (v->sc->profile) {
        fputc(',', out);
        csv_str(out, profile_name(v->sc->profile));
    }
    fputc('\n', out);
}

static void jnum(FILE *out, const char *key, double v, bool comma)
{
    char nb[64];
    fprintf(out, "\"%s\": %s%s", key, X(v), comma ? ", " : "");
}

static void jstr(FILE *out, const char *key, const char *s, bool comma)
{
    fprintf(out, "\"%s\": ", key);
    fmt_json_str(out, s);
    if (comma) fputs(", ", out);
}

void report_analysis_json(FILE *out, const struct analysis_view *v)
{
    const struct analysis *a = v->a;
    const struct eval_totals *t = &a->tot;
    const struct model *m = v->m;
    const struct device *d = v->d;
    fprintf(out, "{\n  \"model\": {");
    jstr(out, "name", m->name, true);
    jstr(out, "file", m->file, true);
    jstr(out, "family", m->family, true);
    jstr(out, "source", m->source, true);
    jnum(out, "hidden", (double)m->hidden, true);
    jnum(out, "layers", (double)m->layers, true);
    jnum(out, "vocab", (double)m->vocab, true);
    fprintf(out, "\"tied_embeddings\": %s},\n", m->tied_embeddings ? "true" : "false");
    fprintf(out, "  \"hw\": {");
    jstr(out, "name", d->name, true);
    jstr(out, "file", d->file, true);
    jnum(out, "memory_capacity_bytes", d->mem_capacity_bytes, true);
    jnum(out, "memory_bytes_per_s", d->mem_rate, true);
    jnum(out, "tensor_flops_per_s", d->tensor_rate[a->step.dt_act], true);
    jnum(out, "vector_flops_per_s", d->vector_rate[a->step.dt_act], true);
    jnum(out, "ridge_flops_per_byte", device_ridge(d, a->step.dt_act), true);
    jnum(out, "kernel_overhead_s", d->kernel_overhead_s, true);
    jstr(out, "launch", launch_mode_name(d->launch), true);
    jstr(out, "calibration", d->cal_note[0] ? d->cal_note : "not calibrated", true);
    char pri[256];
    device_priors_describe(d, pri, sizeof pri);
    jstr(out, "impl_priors", pri, false);
    fprintf(out, "},\n  \"scenario\": {");
    jstr(out, "phase", phase_name(v->sc->phase), true);
    jnum(out, "batch", v->sc->batch, true);
    if (v->sc->phase == PHASE_PREFILL) jnum(out, "seq", v->sc->seq, true);
    else jnum(out, "context", v->sc->context, true);
    jnum(out, "tokens", a->step.batch * a->step.q_len, true);
    jnum(out, "tp", a->step.tp, true);
    jnum(out, "ep", a->step.ep, true);
    if (a->step.attn_dp > 1) jnum(out, "attn_dp", a->step.attn_dp, true);
    jstr(out, "weight_dtype", dtype_name(a->step.dt_w), true);
    jstr(out, "activation_dtype", dtype_name(a->step.dt_act), true);
    jstr(out, "kv_dtype", dtype_name(a->step.dt_kv), v->sc->profile != NULL);
    if (v->sc->profile) {
        char pb[512];
        profile_describe(v->sc->profile, pb, sizeof pb);
        jstr(out, "profile", profile_name(v->sc->profile), true);
        jstr(out, "profile_file", profile_file(v->sc->profile), true);
        jstr(out, "profile_choices", pb, false);
    }
    fprintf(out, "},\n  \"totals\": {");
    jnum(out, "params", a->counts.params, true);
    jnum(out, "active_params", a->counts.active_params, true);
    jnum(out, "kv_cache_bytes_per_token", a->kv_bytes_per_token, true);
    jnum(out, "weight_bytes", a->weight_bytes, true);
    jnum(out, "device_weight_bytes", a->weight_bytes_dev, true);
    jnum(out, "device_kv_cache_bytes_per_token", a->kv_bytes_per_token_dev, true);
    jnum(out, "state_bytes_per_sequence", a->state_bytes_per_seq, true);
    jnum(out, "flops", t->flops, true);
    jnum(out, "matmul_flops", t->cost.flops_mm, true);
    jnum(out, "vector_flops", t->cost.flops_vec, true);
    jnum(out, "flops_wasted", t->cost.flops_wasted, true);
    jnum(out, "bytes", t->bytes, true);
    jnum(out, "bytes_weights", t->cost.bytes_w, true);
    jnum(out, "bytes_activations", t->cost.bytes_act, true);
    jnum(out, "bytes_kv_cache", t->cost.bytes_kv, true);
    jnum(out, "bytes_written", t->cost.bytes_out, true);
    jnum(out, "bytes_interconnect", t->cost.bytes_net, true);
    jnum(out, "intensity", t->bytes > 0 ? t->flops / t->bytes : 0, true);
    jnum(out, "time_s", t->time_s, true);
    jnum(out, "time_attention_s", t->time_block_s[BLK_ATTN], true);
    jnum(out, "time_ffn_s", t->time_block_s[BLK_FFN], true);
    jnum(out, "time_other_s", t->time_block_s[BLK_MODEL], true);
    jnum(out, "kernels", t->kernels, true);
    jnum(out, "kv_cache_bytes", a->kv_cache_bytes, true);
    jnum(out, "activation_bytes", a->act_bytes, true);
    jnum(out, "memory_bytes", a->memory_bytes, true);
    fprintf(out, "\"fits\": %s, ", a->fits ? "true" : "false");
    jnum(out, "max_batch", a->max_batch, true);
    jnum(out, "ttft_s", a->ttft_s, true);
    if (v->has_ttft_request) jnum(out, "ttft_request_s", v->ttft_request_s, true);
    jnum(out, "tpot_s", a->tpot_s, true);
    if (a->fits) jnum(out, "tokens_per_s", a->tokens_per_s, true);
    else fputs("\"tokens_per_s\": null, ", out); /* not applicable: does not fit */
    fprintf(out, "\"counts_exact\": %s", a->counts_exact ? "true" : "false");
    if (a->piped) { /* docs/pipeline.md */
        const struct pipe_figures *p = &a->pipe;
        fputs(", \"pipeline\": {", out);
        jnum(out, "pp", p->pp, true);
        jnum(out, "micro_batches", p->m, true);
        jnum(out, "micro_batch_sequences", p->b_mb, true);
        jnum(out, "send_bytes_prefill", p->send_bytes_prefill, true);
        jnum(out, "send_bytes_decode", p->send_bytes_decode, true);
        jnum(out, "t_send_prefill_s", p->t_send_prefill_s, true);
        jnum(out, "t_send_decode_s", p->t_send_decode_s, true);
        fprintf(out, "\"send_crosses_nodes\": %s, ", p->send_crosses ? "true" : "false");
        jnum(out, "t_prefill_s", p->t_prefill_s, true);
        jnum(out, "t_decode_s", p->t_decode_s, true);
        jnum(out, "bubble_prefill", p->bubble_prefill, true);
        jnum(out, "busy_decode", p->busy_decode, true);
        fputs("\"stages\": [", out);
        for (int s = 0; s < (int)p->pp; s++) {
            const struct pipe_stage *st = &p->stage[s];
            fputs(s ? ", {" : "{", out);
            jnum(out, "layer_first", st->layer_lo, true);
            jnum(out, "layer_last", st->layer_hi - 1, true);
            jnum(out, "t_prefill_s", st->t_prefill_s, true);
            jnum(out, "t_decode_s", st->t_decode_s, true);
            jnum(out, "weight_bytes", st->weight_bytes, true);
            jnum(out, "cache_bytes_per_sequence", st->cache_bytes_per_seq, true);
            jnum(out, "memory_bytes", st->memory_bytes, false);
            fputs("}", out);
        }
        fputs("]}", out);
    }
    if (a->placed) report_pim_json_totals(out, v);
    fprintf(out, "},\n  \"ops\": [");
    for (int i = 0; i < a->graph.n; i++) {
        const struct op *op = &a->graph.ops[i];
        const struct op_eval *ev = &a->per_op[i];
        fprintf(out, "%s\n    {", i ? "," : "");
        jnum(out, "layer", op->layer_first, true);
        jnum(out, "layer_count", op->layer_count, true);
        jstr(out, "block", op_block_name(op->block), true);
        jstr(out, "name", op->name, true);
        jstr(out, "kind", op_kind_name(op->kind), true);
        jnum(out, "flops", ev->flops, true);
        jnum(out, "matmul_flops", op->cost.flops_mm, true);
        jnum(out, "vector_flops", op->cost.flops_vec, true);
        jnum(out, "bytes", ev->bytes, true);
        jnum(out, "bytes_weights", op->cost.bytes_w, true);
        jnum(out, "bytes_activations", op->cost.bytes_act, true);
        jnum(out, "bytes_kv_cache", op->cost.bytes_kv, true);
        jnum(out, "bytes_written", op->cost.bytes_out, true);
        jnum(out, "bytes_interconnect", op->cost.bytes_net, true);
        jnum(out, "intensity", ev->intensity, true);
        jstr(out, "bound", bound_name(ev->bound), true);
        jnum(out, "t_compute_s", ev->t_compute_s, true);
        jnum(out, "t_memory_s", ev->t_memory_s, true);
        jnum(out, "t_network_s", ev->t_network_s, true);
        jnum(out, "time_s", ev->time_s, false);
        if (a->placed) report_pim_json_op(out, v, i);
        fputc('}', out);
    }
    fprintf(out, "\n  ]\n}\n");
}
