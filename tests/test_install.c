/* test_install.c - `make install` into a temporary prefix and what a user then
 * does with it: the installed binary run from / finds its data; a moved build
 * tree finds its own; no data fails loudly; OPBOUND_DATA; the shared and the
 * installed static library export only ob_ names; the API example builds with
 * pkg-config and prints the CLI's decode time; man pages carry every option
 * of --help; bash completion loads; `make uninstall` removes every file. */
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>

static char g_tmp[64];     /* the scratch folder */
static char g_prefix[128]; /* the install prefix */
static int g_install_rc = -1;

/* Runs sh -c CMD with stdout and stderr captured; returns the exit status. */
static int sh(char *out, size_t n_out, char *err, size_t n_err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int sh(char *out, size_t n_out, char *err, size_t n_err, const char *fmt, ...)
{
    char cmd[8192], script[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(script, sizeof script, fmt, ap);
    va_end(ap);
    char o[128], e[128];
    snprintf(o, sizeof o, "%s/sh.out", g_tmp);
    snprintf(e, sizeof e, "%s/sh.err", g_tmp);
    char sf[128];
    snprintf(sf, sizeof sf, "%s/sh.sh", g_tmp);
    FILE *f = fopen(sf, "w");
    if (!f) return -1;
    fputs(script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "sh %s >%s 2>%s </dev/null", sf, o, e);
    int st = system(cmd);
    const char *paths[2] = {o, e};
    char *bufs[2] = {out, err};
    size_t sizes[2] = {n_out, n_err};
    for (int i = 0; i < 2; i++) {
        if (!bufs[i]) continue;
        FILE *g = fopen(paths[i], "rb");
        size_t k = g ? fread(bufs[i], 1, sizes[i] - 1, g) : 0;
        bufs[i][k] = 0;
        if (g) fclose(g);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char out[1 << 16], err[1 << 14];

/* `make install` runs from this clone with the parent make's settings removed
 * (a sanitized test run still installs the plain build). */
#define MAKE_IN_CLONE "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -s -C " OB_DATADIR

static int setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/opbound-install-XXXXXX");
    if (!mkdtemp(g_tmp)) return -1;
    snprintf(g_prefix, sizeof g_prefix, "%s/prefix", g_tmp);
    g_install_rc = sh(out, sizeof out, err, sizeof err,
                      MAKE_IN_CLONE " SAN= install PREFIX='%s'", g_prefix);
    if (g_install_rc != 0) fprintf(stderr, "make install failed:\n%s\n%s\n", out, err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* The stems of OB_DATADIR/sub/ *.yaml, read here independently of the tool. */
static int stems(const char *sub, char names[][64], int max)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", OB_DATADIR, sub);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) && n < max) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0)
            snprintf(names[n++], 64, "%.*s", (int)(l - 5), de->d_name);
    }
    if (d) closedir(d);
    return n;
}

/* Whether some line of text starts with word followed by a space. */
static bool line_starts(const char *text, const char *word)
{
    size_t l = strlen(word);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, word, l) == 0 && p[l] == ' ') return true;
    return false;
}

static void test_install_lists_every_bundled_file_from_root(void **state)
{
    (void)state;
    assert_int_equal(g_install_rc, 0);
    const char *subs[2] = {"models", "hw"};
    for (int s = 0; s < 2; s++) {
        static char names[256][64];
        int n = stems(subs[s], names, 256);
        assert_true(n >= 6);
        int rc = sh(out, sizeof out, err, sizeof err,
                    "cd / && env -u OPBOUND_DATA '%s/bin/opbound' list %s", g_prefix, subs[s]);
        assert_int_equal(rc, 0);
        for (int i = 0; i < n; i++)
            if (!line_starts(out, names[i])) fail_msg("'%s' missing from list %s", names[i], subs[s]);
        char want[512];
        snprintf(want, sizeof want, "(from %s/share/opbound/%s", g_prefix, subs[s]);
        assert_non_null(strstr(out, want));
    }
}

/* Names in any case, from another folder, with the installed data. */
static void test_install_analyze_from_another_folder(void **state)
{
    (void)state;
    assert_int_equal(g_install_rc, 0);
    int rc = sh(out, sizeof out, err, sizeof err,
                "cd / && env -u OPBOUND_DATA '%s/bin/opbound' analyze LLAMA-3-8B --hw H100 "
                "--phase decode --context 1k",
                g_prefix);
    if (rc) fail_msg("rc %d: %s", rc, err);
    assert_non_null(strstr(out, "H100-SXM5-80GB"));
}

/* A clone moved elsewhere: build/opbound finds ../models and ../hw. */
static void test_moved_build_tree_finds_its_data(void **state)
{
    (void)state;
    int rc = sh(out, sizeof out, err, sizeof err,
                "set -e; c='%s/moved clone'; mkdir -p \"$c/build\" \"$c/models\" \"$c/hw\"; "
                "cp '%s' \"$c/build/\"; cp %s/models/*.yaml \"$c/models/\"; "
                "cp %s/hw/*.yaml \"$c/hw/\"; cd / && env -u OPBOUND_DATA \"$c/build/opbound\" list hw",
                g_tmp, OB_BIN, OB_DATADIR, OB_DATADIR);
    if (rc) fail_msg("rc %d: %s", rc, err);
    char want[512];
    snprintf(want, sizeof want, "(from %s/moved clone/hw)", g_tmp);
    assert_non_null(strstr(out, want));
    assert_true(line_starts(out, "h100-sxm5-80gb"));
}

/* A binary with no data beside it and no OPBOUND_DATA: exit 2, every place tried. */
static void test_no_data_fails_loudly(void **state)
{
    (void)state;
    int rc = sh(out, sizeof out, err, sizeof err,
                "set -e; mkdir -p '%s/lonely/bin'; cp '%s' '%s/lonely/bin/'; cd / && "
                "env -u OPBOUND_DATA '%s/lonely/bin/opbound' list models",
                g_tmp, OB_BIN, g_tmp, g_tmp);
    assert_int_equal(rc, 2);
    assert_string_equal(out, "");
    char want[512];
    snprintf(want, sizeof want, "tried %s/lonely/share/opbound, %s/lonely, ", g_tmp, g_tmp);
    if (!strstr(err, want)) fail_msg("expected '%s' in: %s", want, err);
    assert_non_null(strstr(err, "OPBOUND_DATA (not set)"));
    rc = sh(out, sizeof out, err, sizeof err,
            "cd / && env -u OPBOUND_DATA '%s/lonely/bin/opbound' analyze llama-3-8b --hw h100 "
            "--phase decode --context 1k",
            g_tmp);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "no bundled models and devices found"));
    /* paths need no data folder */
    rc = sh(out, sizeof out, err, sizeof err,
            "cd / && env -u OPBOUND_DATA '%s/lonely/bin/opbound' analyze %s/models/llama-3-8b.yaml "
            "--hw %s/hw/h100-sxm5-80gb.yaml --phase decode --context 1k",
            g_tmp, OB_DATADIR, OB_DATADIR);
    if (rc) fail_msg("rc %d: %s", rc, err);
}

static void test_opbound_data_is_used_and_checked(void **state)
{
    (void)state;
    int rc = sh(out, sizeof out, err, sizeof err,
                "mkdir -p '%s/lonely2/bin' && cp '%s' '%s/lonely2/bin/' && cd / && "
                "OPBOUND_DATA=%s '%s/lonely2/bin/opbound' list hw",
                g_tmp, OB_BIN, g_tmp, OB_DATADIR, g_tmp);
    if (rc) fail_msg("rc %d: %s", rc, err);
    assert_true(line_starts(out, "b200"));
    rc = sh(out, sizeof out, err, sizeof err,
            "OPBOUND_DATA=/nonexistent/opbound '%s/bin/opbound' list hw", g_prefix);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "OPBOUND_DATA=/nonexistent/opbound (no models/ and hw/"));
}

/* Every defined global symbol of the libraries starts with ob_. */
static void check_only_ob(const char *nm_args)
{
    int rc = sh(out, sizeof out, err, sizeof err, "nm %s", nm_args);
    if (rc == 127) skip();
    assert_int_equal(rc, 0);
    int n = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char addr[64], type[8], name[256];
        if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3) continue; /* archive member line */
        if (strncmp(name, "ob_", 3) != 0) fail_msg("nm %s: exported '%s'", nm_args, name);
        n++;
    }
    /* opbound.h declares 27 functions: error_format, version, data_dir (3); model and
     * device load, free, name (6); scenario new, free and 7 setters (9); evaluate,
     * result_free, result_total (3); op_count, op_name, op_kind, op_bound,
     * op_layer, op (6). */
    assert_int_equal(n, 27);
}

static void test_libraries_export_only_ob_symbols(void **state)
{
    (void)state;
    assert_int_equal(g_install_rc, 0);
    char a[512];
    snprintf(a, sizeof a, "-D --defined-only '%s/lib/libopbound.so'", g_prefix);
    check_only_ob(a);
    snprintf(a, sizeof a, "-g --defined-only '%s/lib/libopbound.a'", g_prefix);
    check_only_ob(a);
}

/* "time per output token  X ms" of the example, in seconds. */
static double example_tpot(const char *text)
{
    const char *p = strstr(text, "time per output token");
    double ms = -1;
    if (p) sscanf(p, "time per output token %lf ms", &ms);
    return ms / 1e3;
}

static void test_api_example_via_pkg_config_matches_cli(void **state)
{
    (void)state;
    assert_int_equal(g_install_rc, 0);
    if (sh(NULL, 0, NULL, 0, "command -v pkg-config") != 0) skip();
    char pc[512];
    snprintf(pc, sizeof pc, "PKG_CONFIG_PATH='%s/lib/pkgconfig'", g_prefix);
    int rc = sh(out, sizeof out, err, sizeof err,
                "set -e; cd '%s'; export %s; "
                "cc -std=c11 -Wall -Wextra -Werror %s/examples/api_example.c "
                "$(pkg-config --cflags --libs opbound) -o api_shared; "
                "cc -std=c11 -Wall -Wextra -Werror %s/examples/api_example.c "
                "$(pkg-config --cflags opbound) \"$(pkg-config --variable=libdir opbound)/libopbound.a\" "
                "-lyaml -lm -pthread -o api_static",
                g_tmp, pc, OB_DATADIR, OB_DATADIR);
    if (rc) fail_msg("build failed (%d): %s", rc, err);
    /* shared: the data is found beside the library (lib/../share/opbound) */
    rc = sh(out, sizeof out, err, sizeof err,
            "cd / && env -u OPBOUND_DATA LD_LIBRARY_PATH='%s/lib' '%s/api_shared' llama-3-8b H100 "
            "8192 32",
            g_prefix, g_tmp);
    if (rc) fail_msg("rc %d: %s", rc, err);
    const double t_shared = example_tpot(out);
    rc = sh(out, sizeof out, err, sizeof err,
            "cd / && OPBOUND_DATA='%s/share/opbound' '%s/api_static' llama-3-8b h100 8192 32",
            g_prefix, g_tmp);
    if (rc) fail_msg("rc %d: %s", rc, err);
    const double t_static = example_tpot(out);
    rc = sh(out, sizeof out, err, sizeof err,
            "cd / && '%s/bin/opbound' analyze llama-3-8b --hw h100 --phase decode --context 8192 "
            "--batch 32 --format json",
            g_prefix);
    assert_int_equal(rc, 0);
    const char *p = strstr(out, "\"tpot_s\": ");
    assert_non_null(p);
    const double t_cli = atof(p + 10);
    assert_true(t_cli > 0);
    /* the example prints 6 significant digits: half a unit in the 6th */
    assert_close(t_shared, t_cli, 5e-6);
    assert_close(t_static, t_cli, 5e-6);
}

static const char *const COMMANDS[] = {"analyze", "compare",  "import",   "list",
                                       "serve",   "schema",   "roofline", "sweep",
                                       "report",  "calibrate", "validate", "predict",
                                       "train",   "plan",     "measure"};

/* Every --option of `opbound CMD --help` is in its man page (as \-\-option). */
static void test_man_pages_carry_every_option(void **state)
{
    (void)state;
    assert_int_equal(g_install_rc, 0);
    for (size_t c = 0; c < sizeof COMMANDS / sizeof COMMANDS[0]; c++) {
        char page[512];
        snprintf(page, sizeof page, "%s/share/man/man1/opbound-%s.1", g_prefix, COMMANDS[c]);
        FILE *f = fopen(page, "r");
        if (!f) fail_msg("no man page %s", page);
        static char man[1 << 16];
        size_t k = fread(man, 1, sizeof man - 1, f);
        man[k] = 0;
        fclose(f);
        assert_non_null(strstr(man, ".TH OPBOUND\\-"));
        assert_non_null(strstr(man, "\n.SH OPTIONS\n") ? man : strstr(man, "\n.SH DESCRIPTION\n"));
        assert_int_equal(sh(out, sizeof out, NULL, 0, "'%s/bin/opbound' %s --help", g_prefix,
                            COMMANDS[c]),
                         0);
        int n = 0;
        for (char *p = strstr(out, "--"); p; p = strstr(p + 2, "--")) {
            char opt[64], want[160];
            if (sscanf(p, "--%63[a-z-]", opt) != 1) continue;
            snprintf(want, sizeof want, "\\-\\-%s", opt);
            for (char *q = want + 4; *q; q++) /* hyphens inside the name are escaped too */
                if (*q == '-') memmove(q + 1, q, strlen(q) + 1), *q = '\\', q++;
            if (!strstr(man, want)) fail_msg("%s: '%s' not in the man page", COMMANDS[c], want);
            n++;
        }
        (void)n;
    }
    char page[512];
    snprintf(page, sizeof page, "%s/share/man/man1/opbound.1", g_prefix);
    assert_int_equal(access(page, R_OK), 0);
}

static void test_bash_completion_completes_options_and_names(void **state)
{
    (void)state;
    assert_int_equal(g_install_rc, 0);
    if (sh(NULL, 0, NULL, 0, "command -v bash") != 0) skip();
    int rc = sh(out, sizeof out, err, sizeof err,
                "PATH='%s/bin':$PATH bash -c '. \"%s/share/bash-completion/completions/opbound\"; "
                "COMP_WORDS=(opbound analyze --ph); COMP_CWORD=2; _opbound; echo \"${COMPREPLY[*]}\"; "
                "COMP_WORDS=(opbound analyze x --hw h); COMP_CWORD=4; _opbound; echo \"${COMPREPLY[*]}\"'",
                g_prefix, g_prefix);
    if (rc) fail_msg("rc %d: %s", rc, err);
    assert_non_null(strstr(out, "--phase\n"));
    assert_non_null(strstr(out, "h100-sxm5-80gb"));
    assert_non_null(strstr(out, "h200"));
    assert_non_null(strstr(out, "h20 ")); /* hw/h20.yaml */
    assert_null(strstr(out, "b200"));
}

/* Runs last: uninstall leaves no file or link under the prefix. */
static void test_uninstall_removes_everything(void **state)
{
    (void)state;
    assert_int_equal(g_install_rc, 0);
    int rc = sh(out, sizeof out, err, sizeof err, MAKE_IN_CLONE " SAN= uninstall PREFIX='%s'",
                g_prefix);
    if (rc) fail_msg("rc %d: %s", rc, err);
    rc = sh(out, sizeof out, err, sizeof err, "find '%s' ! -type d", g_prefix);
    assert_int_equal(rc, 0);
    if (out[0]) fail_msg("left after uninstall:\n%s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_lists_every_bundled_file_from_root),
        cmocka_unit_test(test_install_analyze_from_another_folder),
        cmocka_unit_test(test_moved_build_tree_finds_its_data),
        cmocka_unit_test(test_no_data_fails_loudly),
        cmocka_unit_test(test_opbound_data_is_used_and_checked),
        cmocka_unit_test(test_libraries_export_only_ob_symbols),
        cmocka_unit_test(test_api_example_via_pkg_config_matches_cli),
        cmocka_unit_test(test_man_pages_carry_every_option),
        cmocka_unit_test(test_bash_completion_completes_options_and_names),
        cmocka_unit_test(test_uninstall_removes_everything),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
