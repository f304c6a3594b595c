/* cmd_measure.c - `opbound measure import JSON -o OUT.csv`: converts the
 * library-kernel benchmark's JSON into the measurement CSV
 * (sim/measure_import.c, docs/measurements.md). The CSV is loaded back with
 * meas_load before it is renamed into place: a file that would not load is
 * never written. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../measure.h"
#include "cli.h"

static const struct cli_opt OPTS[] = {
    {"-o", "OUT.csv", "the measurement file to write (default: standard output)"},
    CLI_OPT_END,
};

const struct cli_cmd CLI_MEASURE = {
    .name = "measure",
    .brief = "measure import BENCH.json -o OUT.csv",
    .summary = "library-benchmark JSON to measurements",
    .usage = "opbound measure import BENCH.json -o OUT.csv",
    .about = "Converts the JSON written by the library-kernel benchmark (cuBLAS GEMMs, PyTorch\n"
             "SDPA prefill and decode per backend, eager grouped and MLA decode compositions;\n"
             "format in kernels/measurements/library/) into a measurement file for calibrate\n"
             "and validate (docs/measurements.md). Without -o the CSV goes to standard output.\n",
    .opts = OPTS,
};

int cmd_measure(int argc, char **argv)
{
    const char *C = "measure";
    if (argc < 1 || cli_is_help(argv[0])) {
        cli_help(&CLI_MEASURE, argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_USAGE : 0;
    }
    if (strcmp(argv[0], "import") != 0)
        return cli_fail(C, "unknown subcommand '%s' (import)", argv[0]);
    struct cli_args a;
    int rc = cli_parse(&CLI_MEASURE, argc - 1, argv + 1, &a);
    if (rc) return rc;
    if (a.help) return cli_help(&CLI_MEASURE, stdout), 0;
    if (a.npos != 1) return cli_fail(C, "expected one JSON file");
    struct err e;
    char *csv = NULL;
    if (meas_import_json(a.pos[0], &csv, &e)) return cli_fail_err(&e);
    if (!a.out) {
        fputs(csv, stdout);
        free(csv);
        return 0;
    }
    char tmp[4096];
    const int n = snprintf(tmp, sizeof tmp, "%s.tmp-%ld", a.out, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        free(csv);
        return cli_fail(C, "-o path too long (%zu characters)", strlen(a.out));
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(csv);
        return cli_fail(C, "cannot write %s", a.out);
    }
    const size_t len = strlen(csv);
    int ok = fwrite(csv, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    free(csv);
    struct meas_file m;
    if (ok && meas_load(tmp, true, &m, &e)) {
        remove(tmp);
        return cli_fail_err(&e);
    }
    if (ok) meas_free(&m);
    if (!ok || rename(tmp, a.out) != 0) {
        remove(tmp);
        return cli_fail(C, "cannot write %s", a.out);
    }
    return 0;
}
