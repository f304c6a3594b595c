/* main.c - the opbound command line: dispatches to sim/cli/cmd_<name>.c. The only
 * place besides the commands that prints; exit codes are in cli.h.
 *
 * To add a command: write sim/cli/cmd_<name>.c with int cmd_<name>(int, char **),
 * declare it in cli.h and list it in COMMANDS below. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef OB_VERSION
#define OB_VERSION "0.1.0"
#endif

static const char USAGE[] =
    "opbound - cost model for attention and MoE designs on GPUs\n"
    "\n"
    "usage: opbound COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  analyze MODEL --hw HW --phase prefill|decode ...   FLOPs, bytes, intensity, roofline time\n"
    "  compare MODEL... | STUDY.yaml                     designs side by side, ratios to the first\n"
    "  import config.json [-o model.yaml]                Hugging Face config -> opbound YAML\n"
    "  roofline MODEL... --hw HW --phase ... -o PATH      roofline chart: ceilings and every op\n"
    "  sweep MODEL... --hw HW --phase ... --vary ... -o DIR   csv and charts over batch/length\n"
    "  serve SCENARIO.yaml --hw HW [--tp N]             continuous-batching simulation, cost per token\n"
    "  report STUDY.yaml -o DIR                          tables, charts and csv of a study\n"
    "  calibrate MEAS.csv --hw HW -o OUT.yaml            fit efficiencies to kernel timings\n"
    "  validate MEAS.csv --hw HW                         predicted vs measured time, errors\n"
    "  predict OPS.csv --hw HW                           predicted time of ops in that format\n"
    "  measure import BENCH.json -o OUT.csv              library-benchmark JSON to measurements\n"
    "  train MODEL --hw HW --gpus N --seq S --global-batch T  one training step: time, memory, MFU\n"
    "  plan MODEL --hw HW --gpus N --isl S --osl T      best deployment under TTFT/TPOT targets\n"
    "  list models|hw|kinds                              bundled models, devices, block kinds\n"
    "  schema                                            the YAML schema (docs/schema.md)\n"
    "\n"
    "options: --help (also after a command), --version\n"
    "MODEL and HW are files if one by that name exists (YAML; MODEL may also be a\n"
    "Hugging Face config.json), else bundled names (see 'opbound list') or prefixes\n"
    "that start exactly one. Exit status: 0 ok, 2 bad input or usage, 1 other failure.\n";

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} COMMANDS[] = {
    {"analyze", cmd_analyze},
    {"compare", cmd_compare},
    {"import", cmd_import},
    {"list", cmd_list},
    {"serve", cmd_serve},
    {"schema", cmd_schema},
    {"roofline", cmd_roofline},
    {"sweep", cmd_sweep},
    {"report", cmd_report},
    {"calibrate", cmd_calibrate},
    {"validate", cmd_validate},
    {"predict", cmd_predict},
    {"measure", cmd_measure},
    {"train", cmd_train},
    {"plan", cmd_plan},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("opbound %s\n", OB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) {
            int rc = COMMANDS[i].run(argc - 2, argv + 2);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "opbound: error writing output\n");
                return 1;
            }
            return rc;
        }
    fprintf(stderr, "opbound: unknown command '%s'\n\n%s", argv[1], USAGE);
    return CLI_USAGE;
}
