/* cmd_roofline.c - `opbound roofline MODEL... --hw HW --phase ... -o out/roofline.png`:
 * a log-log roofline chart of one device with every op of every model as a point.
 *
 * Writes NAME.dat (one row per op, one gnuplot `index` block per model and
 * phase), NAME.gp (the script: ceilings as an inline data block, styles,
 * labels) with reports/roofline_plot.c, then runs gnuplot for NAME.png and
 * NAME.svg. The x of a point is the
 * op's arithmetic intensity (FLOPs / bytes); its y is the op's roofline rate,
 * FLOPs / max(t_compute, t_memory, t_network) (kernel overhead excluded), or
 * with --rate achieved FLOPs / time_s (overhead included). Colour = model,
 * shape = op kind, filled = prefill and open = decode when both are drawn.
 * docs/plots.md explains the chart. */
#include <stdio.h>
#include <string.h>

#include "../../reports/plot.h"
#include "../../reports/roofline_plot.h"
#include "cli.h"

#define RL_MAX_MODELS ROOFLINE_MAX_MODELS

static const struct cli_opt OPTS[] = {
    CLI_OPT_HW,
    {"--phase", "P", "prefill, decode, or both; --phase both draws prefill\n"
                     "(needs --seq) and decode (needs --context) in one chart"},
    CLI_OPTS_SCENARIO_BODY,
    {"-o", "PATH", "e.g. out/roofline.png (folders are created)"},
    {"--rate", "R", "y of a point: roof (default) = FLOPs / roofline time\n"
                    "without the kernel overhead; achieved = FLOPs / time\n"
                    "with it"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_ROOFLINE = {
    .name = "roofline",
    .brief = "roofline MODEL... --hw HW --phase ... -o PATH",
    .summary = "roofline chart: ceilings and every op",
    .usage = "opbound roofline MODEL... --hw HW --phase prefill|decode|both [options] -o PATH",
    .about = "Draws the roofline of device HW (log-log: arithmetic intensity in FLOP/byte against\n"
             "FLOP/s) with its ceilings (memory bandwidth, tensor peak per dtype the device\n"
             "lists, CUDA-core peaks) and every op of every MODEL (up to 8: bundled names,\n"
             "prefixes or paths) as a point: colour = model, shape = op kind; with --phase\n"
             "both, prefill points are filled and decode points open. Writes PATH's .png,\n"
             ".svg, .gp (gnuplot script) and .dat (the points); the script and data stay so\n"
             "the chart can be restyled: cd DIR && gnuplot NAME.gp.\n",
    .opts = OPTS,
    .notes = CLI_NOTE_COUNTS "Without gnuplot the data and script are still written (exit status 0).\n",
};


/* Checks --rate, --phase and the scenario options; fills r->sc, r->nph. */
static int parse_scenarios(const char *C, const struct cli_args *a, struct roofline_plot *r)
{
    for (int i = 0; i < a->nx; i++) {
        if (strcmp(a->xval[i], "roof") == 0) r->achieved = false;
        else if (strcmp(a->xval[i], "achieved") == 0) r->achieved = true;
        else return cli_fail(C, "--rate must be roof or achieved, got '%s'", a->xval[i]);
    }
    if (a->phase && strcmp(a->phase, "both") == 0) {
        if (!a->seq || !a->ctx)
            return cli_fail(C, "--phase both needs --seq S (prefill) and --context L (decode)");
        struct cli_args pa = *a, da = *a;
        pa.phase = "prefill", pa.ctx = NULL;
        da.phase = "decode", da.seq = NULL;
        r->nph = 2;
        int rc = cli_scenario(C, &pa, &r->sc[0]);
        return rc ? rc : cli_scenario(C, &da, &r->sc[1]);
    }
    r->nph = 1;
    return cli_scenario(C, a, &r->sc[0]);
}

static int write_all(const struct roofline_plot *r, const char *dir, const char *base)
{
    const char *C = "roofline";
    struct err e;
    char path[PLOT_PATH_MAX], name[2][PLOT_PATH_MAX];
    /* -o that cannot be created or written is bad input (exit 2, docs/output.md) */
    if (plot_mkdirs(dir, &e) || roofline_plot_write(r, dir, base, &e)) return cli_fail_out(&e);
    snprintf(name[0], sizeof name[0], "%s.png", base);
    snprintf(name[1], sizeof name[1], "%s.svg", base);
    snprintf(path, sizeof path, "%s.gp", base);
    bool warned = false;
    const char *vars[] = {"png_file", "svg_file"}, *files[] = {name[0], name[1]};
    int rc = cli_render(C, dir, path, vars, files, 2, &warned);
    if (rc == 0) printf("wrote %s/%s.%s\n", dir, base, warned ? "{gp,dat}" : "{png,svg,gp,dat}");
    return rc;
}

int cmd_roofline(int argc, char **argv)
{
    const char *C = "roofline";
    struct cli_args a;
    int rc = cli_parse(&CLI_ROOFLINE, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_ROOFLINE, stdout);
        return 0;
    }
    struct roofline_plot r;
    struct model *models[RL_MAX_MODELS] = {NULL};
    memset(&r, 0, sizeof r);
    if (a.npos == 0) return cli_fail(C, "missing MODEL");
    if (a.npos > RL_MAX_MODELS)
        return cli_fail(C, "at most %d models in one chart, got %d", RL_MAX_MODELS, a.npos);
    if (!a.hw) return cli_fail(C, "missing --hw HW");
    if (!a.out) return cli_fail(C, "missing -o PATH (e.g. -o out/roofline.png)");
    if ((rc = parse_scenarios(C, &a, &r))) return rc;
    char dir[PLOT_PATH_MAX], base[256], cmd_line[2048];
    if ((rc = cli_out_split(C, a.out, dir, sizeof dir, base, sizeof base))) return rc;
    size_t k = (size_t)snprintf(cmd_line, sizeof cmd_line, "opbound roofline");
    for (int i = 0; i < argc && k < sizeof cmd_line; i++)
        k += (size_t)snprintf(cmd_line + k, sizeof cmd_line - k, " %s", argv[i]);
    r.cmd_line = cmd_line;

    struct err e;
    struct device *d = NULL;
    if (cli_load_device(a.hw, &d, &e)) return cli_fail_err(&e);
    r.d = d;
    int nm = 0;
    for (int i = 0; i < a.npos && !rc; i++) {
        if (cli_load_model(a.pos[i], &models[i], &e)) {
            rc = cli_fail_err(&e);
            break;
        }
        nm = i + 1;
        r.m[i] = models[i];
        for (int p = 0; p < r.nph && !rc; p++) {
            rc = cli_check_scenario(models[i], &r.sc[p]);
            if (!rc && analysis_check_compute(models[i], d, &r.sc[p], &e)) rc = cli_fail_err(&e);
        }
    }
    r.n = nm;
    if (!rc) rc = write_all(&r, dir, base);
    for (int i = 0; i < nm; i++) model_free(models[i]);
    device_free(d);
    return rc;
}
