/* cmd_analyze.c - `opbound analyze MODEL --hw HW --phase ...`: one model, one
 * device, one scenario; per-op and per-model figures as table, csv or json. */
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include "../../reports/fmt.h"
#include "../spec.h"
#include "cli.h"

static const struct cli_opt OPTS[] = {
    CLI_OPT_HW,
    CLI_OPT_PHASE,
    CLI_OPTS_SCENARIO_BODY,
    {"--format", "F", "table (default), csv or json"},
    {"--per-op", NULL, "table/csv: one row per op (json always lists ops)"},
    {"--pp", "N", "pipeline stages (default 1): contiguous layers per stage,\n"
                  "each stage --tp x --ep devices (docs/pipeline.md)"},
    {"--micro-batches", "M", "with --pp: micro-batches the batch is split into\n"
                             "(default: the stages, at most --batch)"},
    {"--attn-dp", "N", "data-parallel attention over N devices, each with its\n"
                       "own --batch; the FFN tensor-parallel over the N\n"
                       "(docs/pipeline.md; not with --tp, --ep or --pp)"},
    {"--draft", "MODEL", "decode: speculative decoding with this draft model\n"
                         "(a file or bundled name; docs/speculative.md)"},
    {"--spec-k", "K", "draft tokens proposed per step (default 1)"},
    {"--spec-accept", "A", "probability the target accepts a draft token,\n"
                           "0 to 1 (required with --draft)"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_ANALYZE = {
    .name = "analyze",
    .brief = "analyze MODEL --hw HW --phase prefill|decode ...",
    .summary = "FLOPs, bytes, intensity, roofline time per op",
    .usage = "opbound analyze MODEL --hw HW --phase prefill --seq S [options]\n"
             "opbound analyze MODEL --hw HW --phase decode --context L [options]",
    .about = "Lowers MODEL to an op graph for one step and evaluates it on device HW with a\n"
             "roofline: per op FLOPs, bytes (weights / activations / KV cache / written),\n"
             "intensity, bound and time; per model parameters, KV cache, memory fit, largest\n"
             "batch, time to first token, time per output token and tokens per second.\n"
             "MODEL is a file (YAML, or a Hugging Face config.json) if one by that name exists,\n"
             "else a bundled name (any case) or a prefix that starts exactly one. A scenario\n"
             "that does not fit in memory is warned about on stderr with the smallest --tp\n"
             "(and --ep) that fits.\n",
    .opts = OPTS,
    .notes = CLI_NOTE_COUNTS,
};

/* Does not fit: says so on stderr with the smallest --tp (and --ep for a
 * model with routed experts) that would fit, keeping every other setting. */
static void fit_warning(const struct model *m, const struct device *d, const struct scenario *sc,
                        const struct analysis *an)
{
    char b[2][64];
    fprintf(stderr, "opbound analyze: warning: %s does not fit on %s: footprint %s of %s per device; "
                    "throughput is not applicable\n",
            m->name, d->name, fmt_bin(b[0], 64, an->memory_bytes),
            fmt_bin(b[1], 64, d->mem_capacity_bytes));
    const double tp = sc->ep > 1 ? 0 : analysis_smallest_fit(m, d, sc, false, 1024);
    const bool moe = model_ep_check(m, 2, NULL) == 0;
    const double ep = moe && sc->tp <= 1 ? analysis_smallest_fit(m, d, sc, true, 1024) : 0;
    if (tp > sc->tp) fprintf(stderr, "hint: --tp %.0f is the smallest tensor parallelism that fits\n", tp);
    if (ep > sc->ep) fprintf(stderr, "hint: --ep %.0f is the smallest expert parallelism that fits\n", ep);
    if (!(tp > sc->tp) && !(ep > sc->ep))
        fprintf(stderr, "hint: no %s up to 1024 devices fits; lower --batch (largest that fits "
                        "here: %.0f), the length or the dtypes\n",
                moe ? "--tp or --ep" : "--tp", an->max_batch);
}

int cmd_analyze(int argc, char **argv)
{
    const char *C = "analyze";
    struct cli_args a;
    int rc = cli_parse(&CLI_ANALYZE, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_ANALYZE, stdout);
        return 0;
    }
    if (a.npos == 0) return cli_fail(C, "missing MODEL");
    if (a.npos > 1) return cli_fail(C, "one MODEL expected, got '%s' and '%s'", a.pos[0], a.pos[1]);
    if (!a.hw) return cli_fail(C, "missing --hw HW");
    struct scenario sc;
    enum out_format fmt;
    if ((rc = cli_scenario(C, &a, &sc)) || (rc = cli_format(C, &a, &fmt))) return rc;
    const char *draft_arg = NULL, *k_arg = NULL, *acc_arg = NULL, *pp_arg = NULL, *mb_arg = NULL,
               *adp_arg = NULL;
    for (int i = 0; i < a.nx; i++) {
        if (strcmp(a.xname[i], "--pp") == 0) pp_arg = a.xval[i];
        if (strcmp(a.xname[i], "--micro-batches") == 0) mb_arg = a.xval[i];
        if (strcmp(a.xname[i], "--attn-dp") == 0) adp_arg = a.xval[i];
        if (strcmp(a.xname[i], "--draft") == 0) draft_arg = a.xval[i];
        if (strcmp(a.xname[i], "--spec-k") == 0) k_arg = a.xval[i];
        if (strcmp(a.xname[i], "--spec-accept") == 0) acc_arg = a.xval[i];
    }
    if (pp_arg && cli_count(pp_arg, 1, PIPE_MAX_STAGES, &sc.pp))
        return cli_fail(C, "--pp must be a whole number from 1 to %d, got '%s'", PIPE_MAX_STAGES,
                        pp_arg);
    if (mb_arg && !pp_arg) return cli_fail(C, "--micro-batches needs --pp N");
    if (mb_arg && cli_count(mb_arg, 1, 1073741824.0, &sc.micro_batches))
        return cli_fail(C, "--micro-batches must be a whole number from 1 to 2^30, got '%s'", mb_arg);
    if (sc.micro_batches > sc.batch)
        return cli_fail(C, "--micro-batches %.0f: more micro-batches than the %.0f sequences of "
                           "--batch", sc.micro_batches, sc.batch);
    if (sc.pp > 1 && draft_arg) return cli_fail(C, "--draft with --pp is not modelled");
    if (adp_arg && cli_count(adp_arg, 1, 65536, &sc.attn_dp))
        return cli_fail(C, "--attn-dp must be a whole number from 1 to 65536, got '%s'", adp_arg);
    if (sc.attn_dp > 1 && (sc.tp > 1 || sc.ep > 1 || sc.pp > 1))
        return cli_fail(C, "--attn-dp with --tp, --ep or --pp is not modelled: for a model with "
                           "routed experts, --tp T --ep N is data-parallel attention over N/T "
                           "groups (docs/moe.md)");
    struct spec_cfg spec = {.k = 1};
    struct model *draft = NULL;
    if ((k_arg || acc_arg) && !draft_arg)
        return cli_fail(C, "--spec-k and --spec-accept need --draft MODEL");
    if (draft_arg) {
        char *end = NULL;
        if (sc.phase != PHASE_DECODE)
            return cli_fail(C, "--draft: speculative decoding is a decode scenario (--phase decode)");
        if (fmt != OUT_TABLE) return cli_fail(C, "--draft: only the table format shows it yet");
        if (k_arg && cli_count(k_arg, 1, 64, &spec.k))
            return cli_fail(C, "--spec-k '%s': a whole number from 1 to 64", k_arg);
        if (!acc_arg) return cli_fail(C, "--draft needs --spec-accept A (0 to 1)");
        spec.accept = strtod(acc_arg, &end);
        if (end == acc_arg || *end || !(spec.accept >= 0 && spec.accept <= 1))
            return cli_fail(C, "--spec-accept '%s': a probability from 0 to 1", acc_arg);
    }

    struct err e;
    struct model *m = NULL;
    struct device *d = NULL;
    if (cli_load_model(a.pos[0], &m, &e)) return cli_fail_err(&e);
    if (cli_load_device(a.hw, &d, &e)) {
        model_free(m);
        return cli_fail_err(&e);
    }
    if ((rc = cli_check_scenario(m, &sc))) {
        model_free(m);
        device_free(d);
        return rc;
    }
    if (sc.attn_dp > 1 && model_tp_check(m, sc.attn_dp, &e)) {
        fprintf(stderr, "opbound %s: --attn-dp %.0f: the FFN is split over the %.0f devices: %s\n",
                C, sc.attn_dp, sc.attn_dp, e.msg);
        model_free(m);
        device_free(d);
        return CLI_USAGE;
    }
    if (sc.pp > (double)m->layers) {
        fprintf(stderr, "opbound %s: --pp %.0f: more pipeline stages than the model's %lld "
                        "layers (%s)\n", C, sc.pp, (long long)m->layers, m->name);
        model_free(m);
        device_free(d);
        return CLI_USAGE;
    }
    if (draft_arg && (cli_load_model(draft_arg, &draft, &e) || model_tp_check(draft, sc.tp, &e))) {
        model_free(draft);
        model_free(m);
        device_free(d);
        return cli_fail_err(&e);
    }
    struct analysis an;
    if (analysis_init(&an, m)) {
        fprintf(stderr, "opbound: out of memory\n");
        return 1;
    }
    analysis_run(&an, m, d, &sc);
    struct analysis_view v = {.m = m, .d = d, .sc = &sc, .a = &an, .has_ttft_request = true};
    v.ttft_request_s = analysis_ttft_request_s(m, d, &sc);
    if (v.ttft_request_s < 0) {
        fprintf(stderr, "opbound: out of memory\n");
        return 1;
    }
    if (!an.fits) fit_warning(m, d, &sc, &an);
    /* A PIM device may name a baseline device (docs/logic-pim.md): the same
     * model and scenario run there too, for the speedup line. */
    struct device *bd = NULL;
    struct analysis ban = {0};
    if (d->has_pim && d->pim.baseline[0]) {
        if (cli_load_device(d->pim.baseline, &bd, &e)) {
            analysis_free(&an);
            device_free(d);
            model_free(m);
            return cli_fail_err(&e);
        }
        if (analysis_init(&ban, m)) {
            fprintf(stderr, "opbound: out of memory\n");
            return 1;
        }
        analysis_run(&ban, m, bd, &sc);
        v.base = &ban;
        v.base_d = bd;
    }
    switch (fmt) {
    case OUT_TABLE: report_analysis_table(stdout, &v, a.per_op); break;
    case OUT_CSV: report_analysis_csv(stdout, &v, a.per_op); break;
    case OUT_JSON: report_analysis_json(stdout, &v); break;
    }
    if (draft) {
        struct spec_result sr;
        if (spec_run(m, draft, d, &an.step, &spec, &sr)) {
            fprintf(stderr, "opbound: out of memory\n");
            rc = 1;
        } else {
            char b[4][32];
            printf("Speculative decoding (draft %s, %g proposed per step, acceptance %g)\n",
                   draft->name, spec.k, spec.accept);
            printf("  tokens per step     %.4g per sequence (expected)\n", sr.tokens_per_iter);
            printf("  step time           %s = %g x draft step %s + verify of %g tokens %s\n",
                   fmt_time(b[0], 32, sr.t_iter_s), spec.k, fmt_time(b[1], 32, sr.t_draft_s),
                   spec.k + 1, fmt_time(b[2], 32, sr.t_verify_s));
            printf("  time per out token  %s (without: %s; speedup %.3gx)\n",
                   fmt_time(b[0], 32, sr.tpot_s), fmt_time(b[1], 32, sr.t_plain_s), sr.speedup);
            if (an.fits)
                printf("  tokens per second   %s (tokens generated)\n",
                       fmt_si(b[0], 32, sr.tokens_per_s, ""));
            else
                printf("  tokens per second   n/a (does not fit in memory)\n");
            printf("  draft weights       %s per device (not in the footprint above)\n",
                   fmt_bin(b[3], 32, sr.draft_weight_bytes));
        }
        model_free(draft);
    }
    analysis_free(&an);
    analysis_free(&ban);
    device_free(bd);
    device_free(d);
    model_free(m);
    return rc;
}
