/* main.c - the opbound command line: dispatches to sim/cli/cmd_<name>.c. The only
 * place besides the commands that prints; exit codes are in cli.h.
 *
 * To add a command: write sim/cli/cmd_<name>.c with int cmd_<name>(int, char **),
 * declare it in cli.h and list it in COMMANDS below. */
#include <stdio.h>
#include <string.h>

#include "../core/outfile.h"
#include "cli.h"

#ifndef OB_VERSION
#define OB_VERSION "0.1.0"
#endif

static const struct {
    const struct cli_cmd *spec;
    int (*run)(int argc, char **argv);
} COMMANDS[] = {
    {&CLI_ANALYZE, cmd_analyze},     {&CLI_COMPARE, cmd_compare},   {&CLI_IMPORT, cmd_import},
    {&CLI_ROOFLINE, cmd_roofline},   {&CLI_SWEEP, cmd_sweep},       {&CLI_SERVE, cmd_serve},
    {&CLI_REPORT, cmd_report},       {&CLI_CALIBRATE, cmd_calibrate}, {&CLI_VALIDATE, cmd_validate},
    {&CLI_PREDICT, cmd_predict},     {&CLI_TRAIN, cmd_train},       {&CLI_PLAN, cmd_plan},
    {&CLI_LIST, cmd_list},           {&CLI_SCHEMA, cmd_schema},     {&CLI_MEASURE, cmd_measure},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

/* The command list comes from the same specs as each command's --help. */
static void usage(FILE *out)
{
    fputs("opbound - cost model for attention and MoE designs on GPUs\n\n"
          "usage: opbound COMMAND [ARGS]\n\ncommands:\n",
          out);
    int w = 13; /* "man [COMMAND]" */
    for (int i = 0; i < N_COMMANDS; i++)
        if ((int)strlen(COMMANDS[i].spec->brief) > w) w = (int)strlen(COMMANDS[i].spec->brief);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-*s  %s\n", w, COMMANDS[i].spec->brief, COMMANDS[i].spec->summary);
    fprintf(out, "  %-*s  the man page (roff) of opbound or a command\n", w, "man [COMMAND]");
    fputs("\noptions: --help (also after a command), --version\n"
          "MODEL and HW are files if one by that name exists (YAML; MODEL may also be a\n"
          "Hugging Face config.json), else bundled names in any case (see 'opbound list') or\n"
          "prefixes that start exactly one. Bundled files come from $OPBOUND_DATA, else from\n"
          "beside the program. Exit status: 0 ok, 2 bad input or usage, 1 other failure.\n",
          out);
}

/* `opbound man [COMMAND]`: the man page, made from the option tables. */
static int man(int argc, char **argv)
{
    const struct cli_cmd *specs[N_COMMANDS];
    for (int i = 0; i < N_COMMANDS; i++) specs[i] = COMMANDS[i].spec;
    if (argc == 0) {
        cli_man(NULL, specs, N_COMMANDS, OB_VERSION, stdout);
        return 0;
    }
    for (int i = 0; argc == 1 && i < N_COMMANDS; i++)
        if (strcmp(argv[0], specs[i]->name) == 0) {
            cli_man(specs[i], NULL, 0, OB_VERSION, stdout);
            return 0;
        }
    fprintf(stderr, "opbound man: expected no argument or one command name\n");
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "man") == 0) return man(argc - 2, argv + 2);
    if (strcmp(argv[1], "--version") == 0) {
        printf("opbound %s\n", OB_VERSION);
        return 0;
    }
    outfile_cleanup_on_signals(); /* an interrupt leaves no temporary file */
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], COMMANDS[i].spec->name) == 0) {
            cli_command = COMMANDS[i].spec->name;
            int rc = COMMANDS[i].run(argc - 2, argv + 2);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "opbound: error writing output\n");
                return 1;
            }
            return rc;
        }
    fprintf(stderr, "opbound: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
