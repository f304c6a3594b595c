/* cli.h - shared pieces of the opbound commands: option parsing, scenario
 * options, loading by bundled name, error exits.
 *
 * Each command lives in sim/cli/cmd_<name>.c as `int cmd_<name>(int argc, char
 * **argv)` and is listed in COMMANDS in main.c. Exit codes (docs/output.md):
 * 0 success; 2 (CLI_USAGE) bad input or usage, including an -o path that cannot
 * be created or written; 1 a failure not caused by the input (gnuplot failed,
 * out of memory, standard output not writable). */
#ifndef OB_CLI_H
#define OB_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "../../hw/device.h"
#include "../../models/model.h"
#include "../../models/profile.h"
#include "../../reports/analysis_report.h"
#include "../analyze.h"

#define CLI_USAGE 2
#define CLI_MAX_ARGS 64

/* What the shared parser collected. Values are argv strings (NULL = absent). */
struct cli_args {
    const char *hw, *phase, *seq, *ctx, *batch, *wdt, *kvdt, *format, *tp, *ep, *out;
    const char *launch; /* --launch graph|eager (applied by cli_load_device) */
    const char *profile, *impl; /* --profile NAME|PATH, --impl KEY=IMPL,... */
    bool per_op;
    bool verbose;
    const char *pos[CLI_MAX_ARGS]; /* positional arguments in order */
    int npos;
    /* Command-specific options that take a value (listed in `extra`), in order. */
    const char *xname[CLI_MAX_ARGS], *xval[CLI_MAX_ARGS];
    int nx;
    bool help;
};

/* Parses argv. `extra` is a NULL-terminated list of command-specific options
 * taking a value (may be NULL). Returns 0, or CLI_USAGE after printing why. */
int cli_parse(const char *cmd, int argc, char **argv, const char *const *extra,
              struct cli_args *a);
/* Builds a scenario from --phase/--seq/--context/--batch/--tp/--*-dtype and
 * --profile/--impl (the profile stays loaded until exit). Returns 0, or
 * CLI_USAGE after printing why. */
int cli_scenario(const char *cmd, const struct cli_args *a, struct scenario *sc);
/* Loads implementation profile `name` (a file, or a bundled name in
 * models/profiles) and applies the --impl choices `impl` (either may be
 * NULL; --impl alone starts from the bundled `default` profile). *out is
 * NULL when both are NULL; otherwise the profile stays loaded until exit.
 * Returns 0, or CLI_USAGE after printing why. */
int cli_profile(const char *cmd, const char *name, const char *impl, const struct profile **out);
/* --format (table, csv, json; default table). */
int cli_format(const char *cmd, const struct cli_args *a, enum out_format *fmt);

/* Parses a count with an optional k (x1024) or m (x1048576) suffix. */
int cli_count(const char *s, double min, double max, double *out);
/* Prints "opbound CMD: <msg>" and a help hint; returns CLI_USAGE. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints an error record; returns CLI_USAGE. */
int cli_fail_err(const struct err *e);
/* Prints an error from writing the files of -o; returns CLI_USAGE (a path that
 * cannot be created or written is bad input), or 1 when e says memory ran out. */
int cli_fail_out(const struct err *e);

/* Resolve a bundled name or path and load it. 0, or -1 with e set. */
int cli_load_model(const char *arg, struct model **m, struct err *e);
int cli_load_device(const char *arg, struct device **d, struct err *e);
/* Checks that model m can run the scenario (tensor parallelism); CLI_USAGE
 * after printing why, or 0. */
int cli_check_scenario(const struct model *m, const struct scenario *sc);

bool cli_is_help(const char *s);

/* Set by --verbose (any command). */
extern bool cli_verbose;
struct hf_notes;
void cli_print_hf_notes(const char *path, const struct hf_notes *n);
/* Runs gnuplot on dir/script (plot_render) and says on stderr what went
 * wrong. gnuplot missing: prints how to install it (once per *warned) and
 * returns 0, since data and scripts are written. Returns 1 if gnuplot failed. */
int cli_render(const char *cmd, const char *dir, const char *script, const char *const *vars,
               const char *const *files, int n, bool *warned);
/* Splits `-o out/name.png` into folder "out" and base "name" (a .png, .svg,
 * .gp, .dat or .csv extension is dropped). CLI_USAGE after printing why, or 0. */
int cli_out_split(const char *cmd, const char *out, char *dir, size_t ndir, char *base,
                  size_t nbase);

/* The commands. */
int cmd_analyze(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_schema(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_roofline(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Shared help text for the scenario options. */
extern const char CLI_SCENARIO_HELP[];

#endif
