/* cmd_compare.c - `opbound compare`: several designs side by side.
 *
 *   opbound compare A.yaml B.yaml ... --hw HW --phase P --batch B --context L|--seq S
 *   opbound compare STUDY.yaml       (designs, devices and scenarios from the file)
 *
 * One row per design: parameters, KV-cache bytes per token, prefill and decode
 * FLOPs, decode intensity, TTFT and TPOT, memory, largest batch, and ratios
 * against the first row; one block per (device, scenario). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/compare_report.h"
#include "../core/catalog.h"
#include "cli.h"
#include "../study.h"

static const struct cli_opt OPTS[] = {
    CLI_OPT_HW,
    CLI_OPT_PHASE,
    CLI_OPTS_SCENARIO_BODY,
    {"--format", "F", "table (default), csv or json"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_COMPARE = {
    .name = "compare",
    .brief = "compare MODEL... | STUDY.yaml",
    .summary = "designs side by side, ratios to the first",
    .usage = "opbound compare MODEL MODEL... --hw HW --phase prefill|decode ... [options]\n"
             "opbound compare STUDY.yaml [--format F]",
    .about = "One row per design: parameters, KV-cache bytes per token, prefill and decode FLOPs,\n"
             "decode intensity, time to first token (prefill of the batch at the scenario's\n"
             "length), time per output token (decode at that context), memory and the largest\n"
             "batch, with ratios against the first design. A study file (see\n"
             "examples/study-attention.yaml and docs/schema.md) names a skeleton model and the\n"
             "attention or FFN blocks to place in it, the devices and the scenarios; with a study\n"
             "file only --format may be given.\n",
    .opts = OPTS,
    .notes = CLI_NOTE_COUNTS,
};

static int run(const char *title, struct study *s, enum out_format fmt)
{
    struct device *devs[STUDY_MAX] = {0};
    struct analysis an[STUDY_MAX];
    memset(an, 0, sizeof an);
    struct compare_block blocks[STUDY_MAX * 4];
    struct compare_row *rows = calloc((size_t)(s->n_hw * s->n_scenarios * s->n_designs),
                                      sizeof *rows);
    int rc = 0, nb = 0;
    OB_ASSERT(rows && s->n_hw * s->n_scenarios <= STUDY_MAX * 4);
    struct err e;
    for (int i = 0; i < s->n_hw && rc == 0; i++)
        if (device_load(s->hw[i], &devs[i], &e)) rc = cli_fail_err(&e);
    /* every device must run the GEMM dtype asked of it */
    for (int i = 0; i < s->n_hw && rc == 0; i++)
        for (int j = 0; j < s->n_scenarios && rc == 0; j++)
            for (int k = 0; k < s->n_designs && rc == 0; k++)
                if (analysis_check_compute(s->designs[k].m, devs[i], &s->scenarios[j], &e))
                    rc = cli_fail_err(&e);
    for (int k = 0; k < s->n_designs && rc == 0; k++)
        if (analysis_init(&an[k], s->designs[k].m)) rc = 1;
    for (int i = 0; i < s->n_hw && rc == 0; i++)
        for (int j = 0; j < s->n_scenarios; j++) {
            struct compare_block *b = &blocks[nb];
            b->d = devs[i];
            b->sc = &s->scenarios[j];
            b->rows = rows + (size_t)nb * (size_t)s->n_designs;
            b->n = s->n_designs;
            for (int k = 0; k < s->n_designs; k++) {
                analysis_run(&an[k], s->designs[k].m, devs[i], b->sc);
                compare_row_fill(&b->rows[k], s->designs[k].name, &an[k], b->sc);
                if (compare_row_train(&b->rows[k], s->designs[k].m, devs[i], b->sc) && !rc) {
                    fprintf(stderr, "opbound: out of memory\n");
                    rc = 1;
                }
            }
            nb++;
        }
    if (rc == 0) report_compare(stdout, fmt, title, blocks, nb);
    for (int k = 0; k < s->n_designs; k++) analysis_free(&an[k]);
    for (int i = 0; i < s->n_hw; i++) device_free(devs[i]);
    free(rows);
    return rc;
}

int cmd_compare(int argc, char **argv)
{
    const char *C = "compare";
    struct cli_args a;
    int rc = cli_parse(&CLI_COMPARE, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_COMPARE, stdout);
        return 0;
    }
    enum out_format fmt;
    if ((rc = cli_format(C, &a, &fmt))) return rc;
    if (a.npos == 0) return cli_fail(C, "missing MODEL... or STUDY.yaml");
    struct err e;
    /* One argument: a study file's own errors come before any missing option. */
    const int study = a.npos == 1 ? study_sniff(a.pos[0], &e) : 0;
    if (study < 0) return cli_fail_err(&e);
    if (study) {
        if (a.hw || a.phase || a.seq || a.ctx || a.batch || a.tp || a.ep || a.wdt || a.kvdt)
            return cli_fail(C, "%s is a study file: its devices and scenarios come from it; "
                               "only --format may be given",
                            a.pos[0]);
        struct study *s = NULL;
        if (study_load(a.pos[0], &s, &e)) return cli_fail_err(&e);
        rc = run(s->name, s, fmt);
        study_free(s);
        return rc;
    }
    if (a.npos > STUDY_MAX) return cli_fail(C, "at most %d designs", STUDY_MAX);
    if (!a.hw) return cli_fail(C, "missing --hw HW");
    struct study *s = calloc(1, sizeof *s);
    OB_ASSERT(s);
    if ((rc = cli_scenario(C, &a, &s->scenarios[0]))) goto out;
    s->n_scenarios = 1;
    {
        char path[1024];
        if (catalog_resolve("hw", a.hw, path, sizeof path, &e)) {
            rc = cli_fail_err(&e);
            goto out;
        }
        snprintf(s->hw[0], sizeof s->hw[0], "%s", path);
    }
    s->n_hw = 1;
    for (int i = 0; i < a.npos; i++) {
        if (cli_load_model(a.pos[i], &s->designs[i].m, &e)) {
            rc = cli_fail_err(&e);
            goto out;
        }
        s->n_designs = i + 1;
        snprintf(s->designs[i].name, sizeof s->designs[i].name, "%s", s->designs[i].m->name);
        if ((rc = cli_check_scenario(s->designs[i].m, &s->scenarios[0]))) goto out;
    }
    rc = run("", s, fmt);
out:
    study_free(s);
    return rc;
}
