/* cmd_train.c - `opbound train MODEL --hw HW --gpus N --seq S --global-batch T`:
 * one training step (sim/train.h): per-op forward/backward, memory per device,
 * collectives, step time, tokens/s and MFU. docs/training.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../reports/fmt.h"
#include "../train.h"
#include "cli.h"

/* The options taking a value that struct cli_args has no field for, in the
 * order x[] below reads them. */
static const char *const EXTRA[] = {"--gpus", "--global-batch", "--micro-batch", "--pp",
                                    "--dp", "--cp", "--cp-scheme", "--recompute", "--zero",
                                    "--optimizer", "--dtype", "--pp-virtual", NULL};

static const struct cli_opt OPTS[] = {
    CLI_OPT_HW,
    {"--gpus", "N", "devices in the job (= tp x pp x dp x cp)"},
    {"--seq", "S", "tokens per sequence"},
    {"--global-batch", "T", "tokens per optimizer step (a multiple of S)"},
    {"--micro-batch", "B", "sequences per micro-batch (default 1)"},
    {"--tp", "N", "tensor parallelism (default 1)"},
    {"--pp", "N", "pipeline parallelism (default 1)"},
    {"--pp-virtual", "V", "interleaved 1F1B: V model chunks per pipeline device\n"
                          "(default 1: plain 1F1B; bubble (pp-1)/(V m))"},
    {"--cp", "N", "context parallelism (default 1)"},
    {"--ep", "N", "expert parallelism (default 1)"},
    {"--dp", "N", "data parallelism (default: gpus / (tp pp cp))"},
    {"--cp-scheme", "S", "ring (default; zig-zag balanced), ulysses or lightseq\n"
                         "(docs/training.md)"},
    {"--recompute", "R", "none (default), selective (attention core) or full"},
    {"--zero", "Z", "ZeRO stage 0 (default), 1, 2 or 3"},
    {"--optimizer", "O", "adamw (default) or sgd (with momentum)"},
    {"--dtype", "D", "weights, activations and gradients (default bf16)"},
    {"--per-op", NULL, "one row per op: forward and backward time"},
    {"--format", "F", "table (default) or json"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_TRAIN = {
    .name = "train",
    .brief = "train MODEL --hw HW --gpus N --seq S --global-batch T",
    .summary = "one training step: time, memory, MFU",
    .usage = "opbound train MODEL --hw HW --gpus N --seq S --global-batch TOKENS [options]",
    .about = "One optimizer step of training MODEL on N devices HW: forward, backward and\n"
             "recomputation per op, weights/gradients/optimizer states under ZeRO, activation\n"
             "memory, tensor/pipeline/data/context/expert-parallel traffic, step time, tokens/s\n"
             "and MFU (docs/training.md).\n",
    .opts = OPTS,
    .notes = "Numbers accept a k (x1024) or m (x1048576) suffix: --seq 8k.\n",
};

static int num(const char *C, const char *opt, const char *s, double min, double max,
               double *out)
{
    if (!s) return 0;
    if (cli_count(s, min, max, out))
        return cli_fail(C, "%s '%s': expected a whole number from %g to %g", opt, s, min, max);
    return 0;
}

static int pick(const char *C, const char *opt, const char *s, const char *const *names, int n,
                int *out)
{
    if (!s) return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return *out = i, 0;
    return cli_fail(C, "%s '%s': unknown (one of %s%s%s%s%s)", opt, s, names[0],
                    n > 1 ? ", " : "", n > 1 ? names[1] : "", n > 2 ? ", " : "",
                    n > 2 ? names[2] : "");
}

static void print_table(const struct model *m, const struct device *d, const struct train_cfg *c,
                        const struct train_result *r, bool per_op)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    printf("model     %s (%s)\n", m->name, m->file);
    printf("device    %s (%s), %g devices\n", d->name, d->file, c->gpus);
    printf("parallel  tp %g, pp %g (%g virtual), dp %g, cp %g (%s), ep %g; micro-batch %g x %g "
           "tokens, %g micro-batches per step\n",
           c->tp, c->pp, c->pp_virtual, c->dp, c->cp, cp_scheme_name(c->cp_scheme), c->ep,
           c->micro_batch, c->seq, r->micro_batches);
    printf("training  %s recompute, ZeRO %d, %s, %s; global batch %.0f tokens\n",
           recompute_name(c->recompute), c->zero, optimizer_name(c->opt), dtype_name(c->dt),
           c->global_tokens);
    if (per_op) {
        printf("\nPer op (one micro-batch on one device, per layer; a row stands for every layer "
               "in its range):\n");
        printf("%-7s  %-16s  %-12s  %9s  %9s  %9s  %9s  %s\n", "layers", "op", "kind",
               "fwd FLOPs", "bwd FLOPs", "fwd time", "bwd time", "saved");
        for (int i = 0; i < r->n_ops; i++) {
            const struct train_op *o = &r->ops[i];
            char lay[24];
            if (o->fwd.group < 0)
                snprintf(lay, sizeof lay, "-");
            else
                snprintf(lay, sizeof lay, "%d-%d", o->fwd.layer_first,
                         o->fwd.layer_first + o->fwd.layer_count - 1);
            printf("%-7s  %-16s  %-12s  %9s  %9s  %9s  %9s  %s%s\n", lay, o->fwd.name,
                   op_kind_name(o->fwd.kind),
                   fmt_si(b1, sizeof b1, o->fwd.cost.flops_mm + o->fwd.cost.flops_vec, ""),
                   fmt_si(b2, sizeof b2, o->bwd.cost.flops_mm + o->bwd.cost.flops_vec, ""),
                   fmt_time(b3, sizeof b3, o->t_fwd_s), fmt_time(b4, sizeof b4, o->t_bwd_s),
                   fmt_bin(b5, sizeof b5, o->saved_bytes), o->recomputed ? " (recomputed)" : "");
        }
    }
    printf("\nStep (busiest pipeline stage: %s of the layers%s)\n",
           c->pp > 1 ? "1/pp" : "all", c->pp > 1 ? " and the LM head" : "");
    printf("  per micro-batch     forward %s, recompute %s, backward %s, cp traffic %s, "
           "stage sends %s\n",
           fmt_time(b1, sizeof b1, r->t_fwd_s), fmt_time(b2, sizeof b2, r->t_recompute_s),
           fmt_time(b3, sizeof b3, r->t_bwd_s), fmt_time(b4, sizeof b4, r->t_cp_s),
           fmt_time(b5, sizeof b5, r->t_pp_p2p_s));
    printf("  pipeline            %g micro-batches + %g fill/drain = %s (bubble %.1f%%)\n",
           r->micro_batches, (c->pp - 1) / c->pp_virtual, fmt_time(b1, sizeof b1, r->t_pipeline_s),
           100.0 * r->bubble_frac);
    printf("  data parallel       %s of gradient%s traffic per device, %s (not overlapped)\n",
           fmt_si(b1, sizeof b1, r->net_dp_bytes, "B"), c->zero >= 3 ? " and parameter" : "",
           fmt_time(b2, sizeof b2, r->t_dp_s));
    printf("  optimizer update    %s\n", fmt_time(b1, sizeof b1, r->t_optimizer_s));
    printf("  step time           %s\n", fmt_time(b1, sizeof b1, r->step_time_s));
    printf("  tokens per second   %s (whole job), %s per device\n",
           fmt_si(b1, sizeof b1, r->tokens_per_s, ""),
           fmt_si(b2, sizeof b2, r->tokens_per_s / c->gpus, ""));
    printf("  model FLOPs/token   %s (matmul, forward + backward); with recompute %s\n",
           fmt_si(b1, sizeof b1, r->model_flops_per_token, ""),
           fmt_si(b2, sizeof b2, r->hw_flops_per_token, ""));
    printf("  MFU                 %.1f%% of %s dense %s peak\n", 100.0 * r->mfu, d->name,
           dtype_name(c->dt));
    printf("Memory per device\n");
    printf("  weights             %s\n", fmt_bin(b1, sizeof b1, r->mem_weights));
    printf("  gradients           %s\n", fmt_bin(b1, sizeof b1, r->mem_grads));
    printf("  optimizer states    %s\n", fmt_bin(b1, sizeof b1, r->mem_optimizer));
    printf("  activations         %s (%s per micro-batch x %g in flight)\n",
           fmt_bin(b1, sizeof b1, r->mem_activations),
           fmt_bin(b2, sizeof b2, r->act_per_mb), r->mb_in_flight);
    if (c->cp > 1)
        printf("  cp buffers          %s (%s, one attention layer)\n",
               fmt_bin(b1, sizeof b1, r->cp_buf_bytes), cp_scheme_name(c->cp_scheme));
    printf("  total               %s of %s: %s\n", fmt_bin(b1, sizeof b1, r->mem_total),
           fmt_bin(b2, sizeof b2, d->mem_capacity_bytes), r->fits ? "fits" : "DOES NOT FIT");
}

static void print_json(const struct model *m, const struct device *d, const struct train_cfg *c,
                       const struct train_result *r)
{
    printf("{\"model\": \"%s\", \"device\": \"%s\", \"gpus\": %.17g, \"tp\": %.17g, \"pp\": %.17g, "
           "\"pp_virtual\": %.17g, \"dp\": %.17g, \"cp\": %.17g, \"ep\": %.17g, \"cp_scheme\": \"%s\", "
           "\"recompute\": \"%s\", \"zero\": %d, \"optimizer\": \"%s\",\n",
           m->name, d->name, c->gpus, c->tp, c->pp, c->pp_virtual, c->dp, c->cp, c->ep,
           cp_scheme_name(c->cp_scheme), recompute_name(c->recompute), c->zero,
           optimizer_name(c->opt));
    printf(" \"seq\": %.17g, \"global_batch_tokens\": %.17g, \"micro_batch\": %.17g, "
           "\"micro_batches\": %.17g,\n",
           c->seq, c->global_tokens, c->micro_batch, r->micro_batches);
    printf(" \"time_s\": {\"forward\": %.17g, \"recompute\": %.17g, \"backward\": %.17g, "
           "\"cp\": %.17g, \"pp_p2p\": %.17g, \"stage\": %.17g, \"pipeline\": %.17g, "
           "\"dp\": %.17g, \"optimizer\": %.17g, \"step\": %.17g},\n",
           r->t_fwd_s, r->t_recompute_s, r->t_bwd_s, r->t_cp_s, r->t_pp_p2p_s, r->t_stage_s,
           r->t_pipeline_s, r->t_dp_s, r->t_optimizer_s, r->step_time_s);
    printf(" \"bubble_fraction\": %.17g, \"tokens_per_s\": %.17g, \"model_flops_per_token\": "
           "%.17g, \"hw_flops_per_token\": %.17g, \"mfu\": %.17g,\n",
           r->bubble_frac, r->tokens_per_s, r->model_flops_per_token, r->hw_flops_per_token,
           r->mfu);
    printf(" \"memory_bytes\": {\"weights\": %.17g, \"gradients\": %.17g, \"optimizer\": %.17g, "
           "\"activations\": %.17g, \"cp_buffers\": %.17g, \"total\": %.17g, \"capacity\": %.17g, "
           "\"fits\": %s},\n",
           r->mem_weights, r->mem_grads, r->mem_optimizer, r->mem_activations, r->cp_buf_bytes,
           r->mem_total,
           d->mem_capacity_bytes, r->fits ? "true" : "false");
    printf(" \"network_bytes_per_step\": {\"tp_ep\": %.17g, \"cp\": %.17g, \"pp\": %.17g, "
           "\"dp\": %.17g},\n",
           r->net_tp_bytes, r->net_cp_bytes, r->net_pp_bytes, r->net_dp_bytes);
    printf(" \"ops\": [\n");
    for (int i = 0; i < r->n_ops; i++) {
        const struct train_op *o = &r->ops[i];
        printf("  {\"name\": \"%s\", \"kind\": \"%s\", \"group\": %d, \"layers\": %d, "
               "\"fwd_flops\": %.17g, \"bwd_flops\": %.17g, \"fwd_time_s\": %.17g, "
               "\"bwd_time_s\": %.17g, \"saved_bytes\": %.17g, \"recomputed\": %s}%s\n",
               o->fwd.name, op_kind_name(o->fwd.kind), o->fwd.group, o->fwd.layer_count,
               o->fwd.cost.flops_mm + o->fwd.cost.flops_vec,
               o->bwd.cost.flops_mm + o->bwd.cost.flops_vec, o->t_fwd_s, o->t_bwd_s,
               o->saved_bytes, o->recomputed ? "true" : "false", i + 1 < r->n_ops ? "," : "");
    }
    printf(" ]}\n");
}

int cmd_train(int argc, char **argv)
{
    const char *C = "train";
    struct cli_args a;
    int rc = cli_parse(&CLI_TRAIN, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_TRAIN, stdout);
        return 0;
    }
    if (a.npos == 0) return cli_fail(C, "missing MODEL");
    if (a.npos > 1) return cli_fail(C, "one MODEL expected, got '%s' and '%s'", a.pos[0], a.pos[1]);
    if (!a.hw) return cli_fail(C, "missing --hw HW");
    const char *x[16] = {0};
    for (int i = 0; i < a.nx; i++)
        for (int k = 0; EXTRA[k]; k++)
            if (strcmp(a.xname[i], EXTRA[k]) == 0) x[k] = a.xval[i];
    struct train_cfg c = {.micro_batch = 1, .tp = 1, .pp = 1, .cp = 1, .ep = 1,
                          .pp_virtual = 1, .dt = DT_BF16};
    double dp = 0, zero = 0;
    if (!x[0]) return cli_fail(C, "missing --gpus N");
    if (!a.seq) return cli_fail(C, "missing --seq S");
    if (!x[1]) return cli_fail(C, "missing --global-batch TOKENS");
    if ((rc = num(C, "--gpus", x[0], 1, 1048576, &c.gpus)) ||
        (rc = num(C, "--seq", a.seq, 1, 1e9, &c.seq)) ||
        (rc = num(C, "--global-batch", x[1], 1, 1e15, &c.global_tokens)) ||
        (rc = num(C, "--micro-batch", x[2], 1, 1e6, &c.micro_batch)) ||
        (rc = num(C, "--tp", a.tp, 1, 4096, &c.tp)) || (rc = num(C, "--pp", x[3], 1, 4096, &c.pp)) ||
        (rc = num(C, "--dp", x[4], 1, 1048576, &dp)) || (rc = num(C, "--cp", x[5], 1, 4096, &c.cp)) ||
        (rc = num(C, "--ep", a.ep, 1, 4096, &c.ep)) || (rc = num(C, "--zero", x[8], 0, 3, &zero)) ||
        (rc = num(C, "--pp-virtual", x[11], 1, 4096, &c.pp_virtual)))
        return rc;
    c.zero = (int)zero;
    int v = 0;
    if ((rc = pick(C, "--cp-scheme", x[6], (const char *const[]){"ring", "ulysses", "lightseq"}, 3, &v)))
        return rc;
    c.cp_scheme = (enum cp_scheme)v;
    v = 0;
    if ((rc = pick(C, "--recompute", x[7], (const char *const[]){"none", "selective", "full"}, 3,
                   &v)))
        return rc;
    c.recompute = (enum recompute)v;
    v = 0;
    if ((rc = pick(C, "--optimizer", x[9], (const char *const[]){"adamw", "sgd"}, 2, &v)))
        return rc;
    c.opt = (enum optimizer)v;
    if (x[10] && (dtype_parse(x[10], &c.dt) || c.dt == DT_INT4 || c.dt == DT_INT8))
        return cli_fail(C, "--dtype '%s': one of fp32, bf16, fp16, fp8", x[10]);
    const double rest = c.tp * c.pp * c.cp;
    if (dp == 0) {
        if (fmod(c.gpus, rest) != 0)
            return cli_fail(C, "--gpus %g is not a multiple of tp x pp x cp = %g", c.gpus, rest);
        dp = c.gpus / rest;
    }
    c.dp = dp;
    if (c.ep > 1 && c.tp > 1)
        return cli_fail(C, "--ep with --tp is not modelled yet (as in analyze): use one of them");
    if (c.cp > 1 && c.ep > 1)
        return cli_fail(C, "--cp with --ep is not modelled yet: use one of them");

    struct err e;
    struct model *m = NULL;
    struct device *d = NULL;
    if (cli_load_model(a.pos[0], &m, &e)) return cli_fail_err(&e);
    if (cli_load_device(a.hw, &d, &e)) {
        model_free(m);
        return cli_fail_err(&e);
    }
    char msg[512];
    if (train_check(m, &c, msg, sizeof msg)) {
        model_free(m);
        device_free(d);
        return cli_fail(C, "%s", msg);
    }
    struct train_result r;
    if (train_run(m, d, &c, &r)) {
        model_free(m);
        device_free(d);
        fprintf(stderr, "opbound: out of memory\n");
        return 1;
    }
    if (a.format && strcmp(a.format, "json") == 0)
        print_json(m, d, &c, &r);
    else if (a.format && strcmp(a.format, "table") != 0)
        rc = cli_fail(C, "--format '%s': table or json", a.format);
    else
        print_table(m, d, &c, &r, a.per_op);
    if (rc == 0 && !r.fits)
        fprintf(stderr,
                "warning: %s of memory per device does not fit %s; try --zero 3, --recompute "
                "full, a larger --tp/--pp, or a smaller --micro-batch\n",
                fmt_bin(msg, sizeof msg, r.mem_total), d->name);
    train_free(&r);
    model_free(m);
    device_free(d);
    return rc;
}
