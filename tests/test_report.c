/* test_report.c - `opbound report STUDY.yaml -o DIR` as a user runs it, on a
 * small study (2 designs, 1 device, 1 scenario): the files it writes (md,
 * html, csv, gnuplot data and scripts, PNG/SVG images when gnuplot is
 * installed; skipped without it, failed under `make check`), compare.csv's
 * parameters, KV per token and KV ratio derived by hand, a bad study exiting 2 with FILE:LINE:COL and no folder, and
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

/* The field of column `name` in the csv line `row` (header `hdr`). */
static double csv_get(const char *hdr, const char *row, const char *name)
{
    int col = 0;
    const size_t n = strlen(name);
    const char *p = hdr;
    for (; *p && *p != '\n'; col++) {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\n')) break;
        p += strcspn(p, ",\n");
        if (*p == ',') p++;
    }
    if (!*p || *p == '\n') {
        print_error("compare.csv has no column %s\n", name);
        fail();
    }
    for (int i = 0; i < col; i++) row += strcspn(row, ",\n") + 1;
    return strtod(row, NULL);
}

/* gnuplot present: true. Absent: fail under OPBOUND_REQUIRE_GNUPLOT=1 (`make
 * check` installs gnuplot), else cmocka reports the test skipped. */
static bool gnuplot_or_skip(void)
{
    const char *prog;
    if (plot_gnuplot_find(&prog)) return true;
    const char *req = getenv("OPBOUND_REQUIRE_GNUPLOT");
    if (req && strcmp(req, "1") == 0) {
        print_error("gnuplot not found but OPBOUND_REQUIRE_GNUPLOT=1: image checks cannot run\n");
        fail();
    }
    print_message("gnuplot not installed: image checks skipped\n");
    skip();
    return false;
}

/* compare.csv of the study, by hand (Llama-3-8B skeleton, h = 4096, 32 layers):
 *   GQA-8 keeps the published 8,030,261,248 parameters; MQA's k and v
 *   projections shrink from 2 x 4096 x 8 x 128 to 2 x 4096 x 128 per layer:
 *   32 x 2 x 4096 x 7 x 128 = 234,881,024 fewer: 7,795,380,224.
 *   KV per token: 32 x 2 x 8 x 128 x 2 B = 131,072 B and 32 x 2 x 128 x 2 B =
 *   16,384 B: kv_ratio 1/8. */
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
    assert_non_null(strstr(md, "| MQA | 7.80 G |"));
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "<td>MQA</td>"));
    /* self-contained: no external assets (the inlined SVGs' XML namespace names,
     * http://www.w3.org/..., are identifiers, not requests) */
    for (const char *h = strstr(html, "http://"); h; h = strstr(h + 1, "http://"))
        assert_memory_equal(h, "http://www.w3.org/", 18);
    assert_null(strstr(html, "https://"));
    static char csv[1 << 16];
    slurp(tpath("r1/compare.csv"), csv, sizeof csv);
    const char *gqa = strstr(csv, ",GQA-8,"), *mqa = strstr(csv, ",MQA,");
    assert_non_null(gqa);
    assert_non_null(mqa);
    while (gqa > csv && gqa[-1] != '\n') gqa--;
    while (mqa > csv && mqa[-1] != '\n') mqa--;
    assert_exact(csv_get(csv, gqa, "params"), 8030261248.0);
    assert_exact(csv_get(csv, mqa, "params"), 8030261248.0 - 32 * 2 * 4096.0 * 7 * 128);
    assert_exact(csv_get(csv, gqa, "kv_cache_bytes_per_token"), 131072);
    assert_exact(csv_get(csv, mqa, "kv_cache_bytes_per_token"), 16384);
    assert_exact(csv_get(csv, gqa, "kv_ratio"), 1);
    assert_exact(csv_get(csv, mqa, "kv_ratio"), 0.125);
    /* report.md and report.html carry the csv's ratios at 3 significant digits,
     * each in its own column (KV x, TTFT x, TPOT x; here TTFT x != TPOT x) */
    const double rt = csv_get(csv, mqa, "ttft_ratio"), rd = csv_get(csv, mqa, "tpot_ratio");
    assert_close(rt, csv_get(csv, mqa, "ttft_s") / csv_get(csv, gqa, "ttft_s"), 1e-15);
    assert_close(rd, csv_get(csv, mqa, "tpot_s") / csv_get(csv, gqa, "tpot_s"), 1e-15);
    char want[256];
    /* (the three training columns follow them) */
    snprintf(want, sizeof want, "| 0.125 | %.3g | %.3g | ", rt, rd);
    assert_true(strcmp(want, "| 0.125 | 1 | 1 | ") != 0);
    const char *row = strstr(md, "| MQA |");
    assert_non_null(row);
    const char *eol = strchr(row, '\n');
    assert_non_null(eol);
    const char *at = strstr(row, want);
    assert_true(at && at < eol);
    snprintf(want, sizeof want,
             "<td class=\"r\">0.125</td><td class=\"r\">%.3g</td><td class=\"r\">%.3g</td><td", rt,
             rd);
    row = strstr(html, "<td>MQA</td>");
    assert_non_null(row);
    eol = strchr(row, '\n');
    assert_non_null(eol);
    at = strstr(row, want);
    assert_true(at && at < eol);
    /* a second run replaces the earlier report */
    snprintf(args, sizeof args, "report %s -o %s", study_path, tpath("r1"));
    assert_int_equal(run_env("", args), 0);
    assert_data_files("r1");
}

static void test_report_images(void **state)
{
    (void)state;
    if (!gnuplot_or_skip()) return;
    char args[512];
    snprintf(args, sizeof args, "report %s -o %s", study_path, tpath("ri"));
    assert_int_equal(run_env("", args), 0);
    static char md[1 << 18], html[1 << 18];
    slurp(tpath("ri/report.md"), md, sizeof md);
    slurp(tpath("ri/report.html"), html, sizeof html);
    char p[512];
    for (size_t i = 0; i < sizeof CHARTS / sizeof CHARTS[0]; i++) {
        snprintf(p, sizeof p, "ri/%s.png", CHARTS[i]);
        assert_image(tpath(p), true);
        snprintf(p, sizeof p, "ri/%s.svg", CHARTS[i]);
        assert_image(tpath(p), false);
        /* inlined, not linked: report.html stands alone (test_html.c) */
        snprintf(p, sizeof p, "src=\"%s.png\"", CHARTS[i]);
        assert_null(strstr(html, p));
    }
    assert_null(strstr(md, "[missing image]"));
    assert_non_null(strstr(html, "<figure>\n<svg"));
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
        cmocka_unit_test(test_report_images),
        cmocka_unit_test(test_report_bad_study),
        cmocka_unit_test(test_report_no_gnuplot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
