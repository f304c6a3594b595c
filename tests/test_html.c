/* test_html.c - report.html stands alone: every chart inlined (SVG, ids unique
 * across figures), nothing loaded from beside it, a viewport meta, tables that
 * scroll; every roofline point carries a hover title (op, kind, layers, model,
 * phase, Op/B, time) with no script; the breakdown bars mark designs that do
 * not fit. Needs gnuplot to draw the charts: reported as skipped without it. */
#include "testutil.h"

#include <dirent.h>

static char out[1 << 16], err[1 << 14];
static char dir[64];
static char *html;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b) b[fread(b, 1, (size_t)n, f)] = 0;
    fclose(f);
    return b;
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static bool have_gnuplot(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0; }

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/opbound-html-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    if (!have_gnuplot()) return 0;
    char args[256];
    snprintf(args, sizeof args, "report " OB_DATADIR "/examples/study-attention.yaml -o %s/r", dir);
    if (tu_run(args, out, sizeof out, err, sizeof err) != 0) {
        fprintf(stderr, "report failed: %s\n", err);
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/r/report.html", dir);
    html = slurp(path);
    return html ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(html);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* One inlined <svg> per chart drawn (every .svg in the folder), no <img> of a
 * file, no src/href that loads anything from beside the page. */
static void test_html_self_contained(void **state)
{
    (void)state;
    if (!html) skip();
    char path[128];
    snprintf(path, sizeof path, "%s/r", dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n_svg = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".svg") == 0) n_svg++;
    }
    closedir(d);
    /* 2 scenarios x (breakdown, KV cache, decode time, 1 roofline) = 8 charts at least */
    assert_true(n_svg >= 8);
    assert_int_equal(count(html, "<svg"), n_svg);
    assert_int_equal(count(html, "<img src=\""), count(html, "<img src=\"data:image/png;base64,"));
    assert_int_equal(count(html, "src=\""), count(html, "src=\"data:"));
    assert_int_equal(count(html, "<script"), 0);
    assert_int_equal(count(html, "gnuplot_svg"), 0); /* no hover script left behind */
    assert_int_equal(count(html, "http://"), count(html, "http://www.w3.org/")); /* namespaces only */
    assert_non_null(strstr(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    /* every table scrolls inside its own box */
    assert_int_equal(count(html, "<table>"), count(html, "<div class=\"scroll\"><table>"));
    assert_non_null(strstr(html, ".scroll{overflow-x:auto"));
}

/* Ids are unique across the inlined figures (each gnuplot SVG defines gpPt0...). */
static void test_html_ids_unique(void **state)
{
    (void)state;
    if (!html) skip();
    static char ids[20000][48];
    int n = 0;
    for (const char *p = html; (p = strstr(p, " id=")) && n < 20000; p += 4) {
        char q = p[4];
        const char *s = p + 5, *e = strchr(s, q);
        if (!e || e - s >= 48) continue;
        snprintf(ids[n], 48, "%.*s", (int)(e - s), s);
        for (int k = 0; k < n; k++)
            if (strcmp(ids[k], ids[n]) == 0) fail_msg("duplicate id '%s'", ids[n]);
        n++;
    }
    assert_true(n > 8);
    /* and every reference points at an id that exists */
    for (const char *p = html; (p = strstr(p, "href='#")); p += 7) {
        char ref[48];
        if (sscanf(p + 7, "%47[^']", ref) != 1) continue;
        bool found = false;
        for (int k = 0; k < n && !found; k++) found = strcmp(ids[k], ref) == 0;
        if (!found) fail_msg("reference to a missing id '%s'", ref);
    }
}

/* The roofline of one model: one hover title per point (.dat row drawn), in
 * the SVG on its own and in the page. Llama-3-8B decode, batch 1, context 1024
 * on H100: qkv_proj does 2 x 4096 x 6144 = 50,331,648 FLOPs per layer and moves
 * 4096 x 6144 x 2 B weights + 4096 x 2 B in + 6144 x 2 B out = 50,352,128 B:
 * 0.9996 Op/B, printed to 3 digits as "1". */
static void test_roofline_points_have_hover_titles(void **state)
{
    (void)state;
    if (!have_gnuplot()) skip();
    char args[256], path[128];
    snprintf(args, sizeof args,
             "roofline llama-3-8b --hw h100 --phase decode --context 1024 -o %s/rl.svg", dir);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/rl.dat", dir);
    char *dat = slurp(path);
    assert_non_null(dat);
    int rows = 0;
    for (const char *p = dat; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (*p == '"') rows++; /* drawn points; the rest are comments */
    free(dat);
    snprintf(path, sizeof path, "%s/rl.svg", dir);
    char *svg = slurp(path);
    assert_non_null(svg);
    assert_true(rows > 5);
    assert_int_equal(count(svg, "<g><title>"), rows);
    assert_int_equal(count(svg, "onmousemove"), 0);
    assert_non_null(strstr(svg, "<g><title>qkv_proj (gemm), layers 0-31; llama-3-8b, decode; 1 Op/B; "));
    free(svg);
    if (html) /* the report's rooflines keep their titles when inlined */
        assert_true(count(html, "<g><title>") > 20);
}

/* MHA-32 at batch 32, context 8192: KV 32 layers x 2 x 32 x 128 x 2 B = 524,288 B
 * per token x 32 x 8,193 tokens = 137.4e9 B > 80 GiB: its bar says so. */
static void test_breakdown_marks_does_not_fit(void **state)
{
    (void)state;
    if (!html) skip();
    char path[160];
    snprintf(path, sizeof path, "%s/r/breakdown_h100-sxm5-80gb_1-decode-b32-c8192.gp", dir);
    char *gp = slurp(path);
    assert_non_null(gp);
    assert_int_equal(count(gp, "\\nDOES NOT FIT\" at 0,"), 1); /* bar 0 = MHA-32, only it */
    free(gp);
}

/* 3 models x 16 batch values = 48 curves: each differs from every other in
 * colour, marker or dash (colour = value mod 8; marker and dash from the model
 * and value / 8), and the key names 23 of them plus a line counting the other 25. */
static void test_sweep_many_series_distinguishable_and_key_capped(void **state)
{
    (void)state;
    char args[512], path[128];
    snprintf(args, sizeof args,
             "sweep llama-3-8b mixtral qwen3-30b --hw h100 --phase decode --vary context=1k..8k "
             "--vary batch=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -o %s/sw", dir);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/sw/decode_time_vs_context.gp", dir);
    char *gp = slurp(path);
    assert_non_null(gp);
    static char seen[64][64];
    int n = 0;
    for (const char *p = strstr(gp, "using 1:2 with lines"); p; p = strstr(p + 1, "using 1:2 with lines")) {
        int dt, pt;
        char col[16];
        if (sscanf(p, "using 1:2 with lines lw 2 dt %d lc rgb '%15[^']'", &dt, col) != 2) continue;
        const char *q = strstr(p, "with points pt ");
        assert_non_null(q);
        assert_int_equal(sscanf(q, "with points pt %d", &pt), 1);
        assert_true(n < 64);
        snprintf(seen[n], 64, "%d/%d/%s", dt, pt, col);
        for (int k = 0; k < n; k++)
            if (strcmp(seen[k], seen[n]) == 0) fail_msg("curves %d and %d look alike (%s)", k, n, seen[n]);
        n++;
    }
    assert_int_equal(n, 48);
    assert_int_equal(count(gp, "keyentry with linespoints"), 23);
    assert_non_null(strstr(gp, "... and 25 more curves (named in sweep.csv)"));
    free(gp);
}

/* A study of 30 designs (GQA with 1, 2, 4, 8, 16, 32 KV heads x head sizes 64,
 * 96, 128, 160, 192): the KV-cache chart's key names 27 designs (28 lines with
 * the count) and says "... and 3 more"; the curves themselves are all drawn. */
static void test_report_key_capped(void **state)
{
    (void)state;
    char yaml[8192] = "name: many designs\nskeleton: llama-3-8b\nhw: [h100-sxm5-80gb]\n"
                      "scenarios:\n  - {phase: decode, batch: 4, context: 4096}\ndesigns:\n";
    static const int KV[] = {1, 2, 4, 8, 16, 32}, HD[] = {64, 96, 128, 160, 192};
    for (int k = 0; k < 6; k++)
        for (int h = 0; h < 5; h++)
            snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml),
                     "  - name: GQA kv%d d%d\n    attention: {kind: gqa, heads: 32, kv_heads: %d, "
                     "head_dim: %d}\n",
                     KV[k], HD[h], KV[k], HD[h]);
    const char *study = tu_write_temp(yaml);
    if (!study) {
        fail_msg("cannot write a temp file");
        return;
    }
    char args[256], path[160];
    snprintf(args, sizeof args, "report %s -o %s/many", study, dir);
    int rc = tu_run(args, out, sizeof out, err, sizeof err);
    unlink(study);
    if (rc) fail_msg("rc %d: %s", rc, err);
    snprintf(path, sizeof path, "%s/many/kv_cache_h100-sxm5-80gb_1-decode-b4-c4096.gp", dir);
    char *gp = slurp(path);
    assert_non_null(gp);
    assert_int_equal(count(gp, "keyentry with linespoints") + count(gp, "keyentry title '= "), 27);
    assert_non_null(strstr(gp, "keyentry title '... and 3 more (see compare.csv)'"));
    free(gp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_self_contained),
        cmocka_unit_test(test_html_ids_unique),
        cmocka_unit_test(test_roofline_points_have_hover_titles),
        cmocka_unit_test(test_breakdown_marks_does_not_fit),
        cmocka_unit_test(test_sweep_many_series_distinguishable_and_key_capped),
        cmocka_unit_test(test_report_key_capped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
