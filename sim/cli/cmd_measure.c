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

#include "../core/outfile.h"
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
    struct meas_origin *orig = NULL;
    int n_orig = 0;
    if (meas_import_json_at(a.pos[0], &csv, &orig, &n_orig, &e)) return cli_fail_err(&e);
    /* The converted text is loaded back before it is shown or renamed into
     * place, from a temporary file beside -o (or in TMPDIR for standard
     * output): a file that would not load is never written, and an error in
     * it is reported at the JSON row it came from. */
    char *tmpname = NULL;
    const char *dir = getenv("TMPDIR");
    if (!a.out) {
        const size_t n = strlen(dir && *dir ? dir : "/tmp") + 32;
        tmpname = malloc(n);
        OB_ASSERT(tmpname);
        snprintf(tmpname, n, "%s/opbound-measure.csv", dir && *dir ? dir : "/tmp");
    }
    struct outfile of;
    if (outfile_open(&of, a.out ? a.out : tmpname, &e)) {
        free(csv), free(orig), free(tmpname);
        return cli_fail_out(&e);
    }
    const size_t len = strlen(csv);
    if (fwrite(csv, 1, len, of.f) != len || fflush(of.f) != 0) {
        outfile_discard(&of);
        free(csv), free(orig), free(tmpname);
        return cli_fail(C, "cannot write %s", a.out ? a.out : tmpname);
    }
    struct meas_file m;
    if (meas_load(of.tmp, true, &m, &e)) {
        if (e.line >= 1 && e.line <= n_orig) {
            const struct meas_origin o = orig[e.line - 1];
            char msg[sizeof e.msg];
            snprintf(msg, sizeof msg, "%.700s (in the measurement row converted from here)", e.msg);
            err_set(&e, a.pos[0], o.line, o.col, "%s", msg);
        }
        outfile_discard(&of);
        free(csv), free(orig), free(tmpname);
        return cli_fail_err(&e);
    }
    meas_free(&m);
    free(orig);
    if (!a.out) {
        outfile_discard(&of);
        free(tmpname);
        fputs(csv, stdout);
        free(csv);
        return 0;
    }
    free(csv);
    if (outfile_commit(&of, &e)) return cli_fail_out(&e);
    return 0;
}
