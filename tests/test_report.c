/* test_report.c - `opbound report STUDY.yaml -o DIR` as a user runs it, on a
 * small study (2 designs, 1 device, 1 scenario): the files it writes (md,
 * html, csv, gnuplot data and scripts, PNG/SVG images when gnuplot is
 * installed), compare.csv holding the numbers of `opbound compare STUDY
 * --format csv`, a bad study exiting 2 with FILE:LINE:COL and no folder, and
 * the missing-gnuplot path (exit 0, everything but the images, notes in the
 * documents). */
#include "testutil.h"

#include <sys/stat.h>

#include "../reports/plot.h"

static const char STUDY[] =
    "name: Small report study\n"
    "skeleton: llama-3-8b\n"
    "hw: [h100]\n"
    "scenarios:\n"
    "  - {phase: decode, batch: 4, context: 4096}\n"
    "designs:\n"
    "  - name: GQA-8\n"
    "    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}\n"
    "  - name: MQA\n"
    "    attention: {kind: mqa, heads: 32, head_dim: 128}\n";

#define BLOCK "h100-sxm5-80gb_1-decode-b4-c4096"

static char out_buf[1 << 20], err_buf[1 << 16];
static char tmp_dir[64], study_path[128];

static void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = 0;
    if (f) fclose(f);
}

/* Runs `ENV opbound ARGS` (env may be ""); returns the exit status. */
static int run_env(const char *env, const char *args)
{
    char cmd[4096], o[128], e[128];
    snprintf(o, sizeof o, "%s.out", tmp_dir);
    snprintf(e, sizeof e, "%s.err", tmp_dir);
    snprintf(cmd, sizeof cmd, "%s %s %s >%s 2>%s </dev/null", env, OB_BIN, args, o, e);
    int st = system(cmd);
    slurp(o, out_buf, sizeof out_buf);
    slurp(e, err_buf, sizeof err_buf);
    unlink(o);
    unlink(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *tpath(const char *name)
{
    static char p[4][700];
    static int slot;
    char *s = p[slot++ % 4];
    snprintf(s, 700, "%s/%s", tmp_dir, name);
    return s;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void assert_exists(const char *path)
{
    if (!exists(path)) {
        print_error("missing %s\n", path);
        fail();
    }
}

static void assert_image(const char *path, bool png)
{
    static char buf[1 << 16];
    assert_exists(path);
    slurp(path, buf, sizeof buf);
    if (png) {
        assert_memory_equal(buf, "\x89PNG\r\n\x1a\n", 8);
    } else {
        assert_true(strncmp(buf, "<?xml", 5) == 0 || strncmp(buf, "<svg", 4) == 0);
        assert_non_null(strstr(buf, "<svg"));
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/opbound-report-XXXXXX");
    if (!mkdtemp(tmp_dir)) return -1;
    snprintf(study_path, sizeof study_path, "%s/study.yaml", tmp_dir);
    FILE *f = fopen(study_path, "w");
    if (!f) return -1;
    fputs(STUDY, f);
    return fclose(f);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The chart files every report has for the block; images when drawn. */
static const char *const CHARTS[] = {"roofline_" BLOCK, "kv_cache_" BLOCK, "decode_time_" BLOCK,
                                     "breakdown_" BLOCK};

static void assert_data_files(const char *dir)
{
    char p[512];
    static const char *const FILES[] = {"report.md", "report.html", "compare.csv",
                                        "breakdown_" BLOCK ".csv", "ops/" BLOCK "/01-gqa-8.csv",
                                        "ops/" BLOCK "/02-mqa.csv"};
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, FILES[i]);
        assert_exists(tpath(p));
    }
    for (size_t i = 0; i < sizeof CHARTS / sizeof CHARTS[0]; i++) {
        snprintf(p, sizeof p, "%s/%s.dat", dir, CHARTS[i]);
        assert_exists(tpath(p));
        snprintf(p, sizeof p, "%s/%s.gp", dir, CHARTS[i]);
        assert_exists(tpath(p));
    }
}

/* Splits a csv line into fields (no quoted commas in these files' numbers). */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    for (char *s = line; s && n < max; n++) {
        f[n] = s;
        s = strchr(s, ',');
        if (s) *s++ = 0;
    }
    return n;
}

/* Every field of every line equal; numbers compared as parsed doubles. */
static void assert_csv_equal(char *a, char *b)
{
    char *sa, *sb;
    char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb);
    int lines = 0;
    for (; la && lb; la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb), lines++) {
        char *fa[64], *fb[64];
        int na = csv_split(la, fa, 64), nb = csv_split(lb, fb, 64);
        assert_int_equal(na, nb);
        for (int i = 0; i < na; i++) {
            char *ea, *eb;
            double va = strtod(fa[i], &ea), vb = strtod(fb[i], &eb);
            if (*fa[i] && !*ea && *fb[i] && !*eb) assert_exact(va, vb);
            else assert_string_equal(fa[i], fb[i]);
        }
    }
    assert_null(la);
    assert_null(lb);
    assert_int_equal(lines, 3); /* header and two designs */
}

static void test_report_files(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "report %s -o %s", study_path, tpath("r1"));
    assert_int_equal(run_env("", args), 0);
    assert_non_null(strstr(out_buf, "report.md"));
    assert_data_files("r1");
    static char md[1 << 18], html[1 << 21]; /* the page inlines every chart */
    slurp(tpath("r1/report.md"), md, sizeof md);
    slurp(tpath("r1/report.html"), html, sizeof html);
    assert_non_null(strstr(md, "# Small report study"));
    assert_non_null(strstr(md, "| GQA-8 |"));
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "<td>MQA</td>"));
    /* self-contained: no external assets (the inlined SVGs' XML namespace names,
     * http://www.w3.org/..., are identifiers, not requests) */
    for (const char *h = strstr(html, "http://"); h; h = strstr(h + 1, "http://"))
        assert_memory_equal(h, "http://www.w3.org/", 18);
    assert_null(strstr(html, "https://"));
    const char *prog;
    if (plot_gnuplot_find(&prog)) {
        char p[512];
        for (size_t i = 0; i < sizeof CHARTS / sizeof CHARTS[0]; i++) {
            snprintf(p, sizeof p, "r1/%s.png", CHARTS[i]);
            assert_image(tpath(p), true);
            snprintf(p, sizeof p, "r1/%s.svg", CHARTS[i]);
            assert_image(tpath(p), false);
            /* inlined, not linked: report.html stands alone (test_html.c) */
            snprintf(p, sizeof p, "src=\"%s.png\"", CHARTS[i]);
            assert_null(strstr(html, p));
        }
        assert_null(strstr(md, "[missing image]"));
        assert_non_null(strstr(html, "<figure>\n<svg"));
    } else {
        print_message("gnuplot not installed: image checks skipped\n");
    }
    /* compare.csv holds what `opbound compare STUDY --format csv` prints */
    static char csv[1 << 16];
    slurp(tpath("r1/compare.csv"), csv, sizeof csv);
    snprintf(args, sizeof args, "compare %s --format csv", study_path);
    assert_int_equal(run_env("", args), 0);
    assert_csv_equal(csv, out_buf);
    /* a second run replaces the earlier report */
    snprintf(args, sizeof args, "report %s -o %s", study_path, tpath("r1"));
    assert_int_equal(run_env("", args), 0);
    assert_data_files("r1");
}

static void test_report_bad_study(void **state)
{
    (void)state;
    char bad[256], args[768];
    snprintf(bad, sizeof bad, "%s/bad.yaml", tmp_dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("name: bad\nskeleton: llama-3-8b\nhw: [h100]\nscenarios:\n"
          "  - {phase: decode, batch: 4, contxt: 4096}\n"
          "designs:\n  - name: A\n    attention: {kind: mqa, heads: 32, head_dim: 128}\n", f);
    fclose(f);
    snprintf(args, sizeof args, "report %s -o %s", bad, tpath("bad/out"));
    assert_int_equal(run_env("", args), 2);
    char where[300];
    snprintf(where, sizeof where, "%s:5:", bad);
    assert_non_null(strstr(err_buf, where));
    assert_false(exists(tpath("bad")));
    /* usage errors write nothing either */
    snprintf(args, sizeof args, "report %s --hw h100 -o %s", study_path, tpath("bad"));
    assert_int_equal(run_env("", args), 2);
    snprintf(args, sizeof args, "report %s", study_path);
    assert_int_equal(run_env("", args), 2);
    assert_false(exists(tpath("bad")));
    /* a folder that is not an earlier report is not replaced */
    assert_int_equal(mkdir(tpath("keep"), 0777), 0);
    f = fopen(tpath("keep/mine.txt"), "w");
    assert_non_null(f);
    fclose(f);
    snprintf(args, sizeof args, "report %s -o %s", study_path, tpath("keep"));
    assert_int_equal(run_env("", args), 2);
    assert_true(exists(tpath("keep/mine.txt")));
    assert_false(exists(tpath("keep/report.md")));
}

static void test_report_no_gnuplot(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "report %s -o %s", study_path, tpath("r2"));
    assert_int_equal(run_env("OPBOUND_GNUPLOT=/nonexistent/gnuplot", args), 0);
    assert_non_null(strstr(err_buf, "not found"));
    assert_data_files("r2");
    assert_false(exists(tpath("r2/roofline_" BLOCK ".png")));
    assert_false(exists(tpath("r2/breakdown_" BLOCK ".svg")));
    static char md[1 << 18], html[1 << 21]; /* the page inlines every chart */
    slurp(tpath("r2/report.md"), md, sizeof md);
    slurp(tpath("r2/report.html"), html, sizeof html);
    assert_non_null(strstr(md, "[missing image] `roofline_" BLOCK ".png`"));
    assert_non_null(strstr(html, "[missing image]"));
    assert_null(strstr(html, "<img"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_files),
        cmocka_unit_test(test_report_bad_study),
        cmocka_unit_test(test_report_no_gnuplot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
