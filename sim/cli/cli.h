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
    const char *gemmdt; /* --gemm-dtype */
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

/* One option of a command: the table each command declares is the one source
 * of its --help, its man page (`opbound man CMD`) and what cli_parse accepts. */
struct cli_opt {
    const char *name; /* "--hw", "-o" */
    const char *arg;  /* the value's placeholder ("HW"); NULL for a flag */
    const char *help; /* lines separated by '\n' */
};
#define CLI_OPT_END {NULL, NULL, NULL}

/* A command: its one-line summary and short form (for `opbound --help` and
 * the man page's NAME), usage lines, description, option table, notes. */
struct cli_cmd {
    const char *name;
    const char *brief;    /* "analyze MODEL --hw HW --phase prefill|decode ..." */
    const char *summary;  /* "FLOPs, bytes, intensity, roofline time" */
    const char *usage;    /* "opbound analyze ...\nopbound analyze ...": one line per form */
    const char *about;    /* description; paragraphs separated by an empty line */
    const struct cli_opt *opts; /* ends with CLI_OPT_END */
    const char *notes;    /* printed after the options; may be NULL */
};

/* The options every scenario command shares (help texts in one place). */
#define CLI_OPT_HW {"--hw", "HW", "device (bundled name in any case, unique prefix,\nor path)"}
#define CLI_OPT_LAUNCH                                                                         \
    {"--launch", "M", "graph (CUDA-graph replay) or eager kernel launches\n"                  \
                      "(default eager; docs/measurements.md)"}
#define CLI_OPTS_SCENARIO_BODY                                                                 \
    CLI_OPT_LAUNCH,                                                                            \
    {"--seq", "S", "prefill: prompt tokens per sequence"},                                     \
    {"--context", "L", "decode: tokens already cached per sequence; the step adds\n"           \
                       "one token that attends to L + 1 keys"},                                \
    {"--batch", "B", "sequences in the batch (default 1)"},                                    \
    {"--tp", "N", "tensor-parallel devices (default 1): ops, step totals\n"                  \
                  "and memory are per device; tokens/s is the group's"},                       \
    {"--ep", "N", "expert-parallel devices (default 1): each holds E/N\n"                    \
                  "experts and its own batch; tokens reach experts by\n"                      \
                  "all-to-all (docs/moe.md)"},                                                 \
    {"--weight-dtype", "D", "override the model's weight dtype"},                              \
    {"--gemm-dtype", "D", "compute dtype of the weight GEMMs (e.g. fp8 GEMMs with\n"         \
                          "bf16 attention); the device must list a tensor rate\n"           \
                          "for it (docs/conventions.md)"},                                    \
    {"--kv-dtype", "D", "override the model's KV-cache dtype\n"                               \
                        "D: fp32, bf16, fp16, fp8, int8, int4, int4_g128,\n"                  \
                        "nvfp4, mxfp4 (block scales counted: docs/conventions.md)"},           \
    {"--profile", "P", "implementation profile: engine, hf, or a profile file\n"              \
                       "(docs/profiles.md); default: one fused op per role"},                 \
    {"--impl", "K=I,...", "implementation per role or op kind, e.g.\n"                        \
                          "attention=cudnn,gemm=cublas,norm=eager"}
#define CLI_OPT_PHASE {"--phase", "P", "prefill or decode"}
#define CLI_OPT_VERBOSE                                                                        \
    {"--verbose", NULL, "list every field of a Hugging Face config.json that was\n"           \
                        "ignored or assumed (also -v)"}
#define CLI_NOTE_COUNTS "Numbers accept a k (x1024) or m (x1048576) suffix: --context 128k.\n"

/* Parses argv against c's option table: an option not in it is refused (named
 * as belonging to other commands when it does). Values of options outside
 * struct cli_args's named fields go to xname/xval (a command's own flags
 * with the value ""). Returns 0, or CLI_USAGE after printing why. */
int cli_parse(const struct cli_cmd *c, int argc, char **argv, struct cli_args *a);
/* --help of c, from its table. */
void cli_help(const struct cli_cmd *c, FILE *out);
/* The man page of c (roff), from the same table; c NULL: opbound(1) listing
 * cmds[0..n). */
void cli_man(const struct cli_cmd *c, const struct cli_cmd *const *cmds, int n,
             const char *version, FILE *out);
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
/* A model_len_check refusal: about a command-line length (--seq, --context,
 * --isl/--osl), so printed as `opbound CMD: message`. */
int cli_fail_len(struct err *e);
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
/* The command being run (main sets it): errors that carry no file and
 * position (an unknown model or profile name, a model that cannot be split
 * over --tp) are printed as `opbound CMD: message` by cli_fail_err and
 * cli_fail_out, as every other command-line mistake. */
extern const char *cli_command;
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

/* The command specs (each in its cmd_*.c). */
extern const struct cli_cmd CLI_ANALYZE, CLI_COMPARE, CLI_IMPORT, CLI_LIST, CLI_SERVE, CLI_SCHEMA,
    CLI_ROOFLINE, CLI_SWEEP, CLI_REPORT, CLI_CALIBRATE, CLI_VALIDATE, CLI_PREDICT, CLI_TRAIN, CLI_PLAN,
    CLI_MEASURE;

#endif
