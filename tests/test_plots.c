/* test_plots.c - `opbound roofline` and `opbound sweep` as a user runs them:
 * the files they write (data, gnuplot script, and the PNG/SVG images when
 * gnuplot is installed), that the data holds the numbers `opbound analyze`
 * gives for the same point, the missing-gnuplot and failing-gnuplot paths,
 * and that bad input exits 2 having written nothing. */
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../reports/plot.h"

static char out_buf[1 << 20], err_buf[1 << 16];
static char tmp_dir[64];

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
static int run(const char *args) { return run_env("", args); }

static const char *tpath(const char *name)
{
    static char p[4][256];
    static int slot;
    char *s = p[slot++ % 4];
    snprintf(s, 256, "%s/%s", tmp_dir, name);
    return s;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static bool have_gnuplot(void)
{
    const char *prog;
    return plot_gnuplot_find(&prog);
}

/* The file starts as a PNG or SVG must: the PNG signature, or an XML
 * declaration / <svg> element. */
static void assert_image(const char *path, bool png)
{
    static char buf[1 << 16];
    if (!exists(path)) {
        print_error("missing image %s\n", path);
        fail();
    }
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
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/opbound-plots-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct yml_doc *analyze_json(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "analyze %s --format json", args);
    assert_int_equal(run(cmd), 0);
    struct yml_doc *d = NULL;
    struct err e;
    if (yml_load_string("json", out_buf, strlen(out_buf), &d, &e)) {
        err_print(&e, stderr);
        fail();
    }
    return d;
}

static double jnum(struct yml_doc *d, yml_node map, const char *key)
{
    const char *s = yml_scalar(d, yml_map_get(d, map, key));
    assert_non_null(s);
    return strtod(s, NULL);
}

/* Roofline: files exist, images are images, and the decode block's qkv_proj
 * row holds analyze's ops[] figures for the same scenario, digit for digit. */
static void test_plots_roofline(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args,
             "roofline llama-3-8b mixtral --hw h100 --phase both --seq 512 --batch 4 "
             "--context 1023 -o %s", tpath("rl/roofline.png"));
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_buf, "/roofline.{"));
    assert_true(exists(tpath("rl/roofline.dat")));
    assert_true(exists(tpath("rl/roofline.gp")));
    if (have_gnuplot()) {
        assert_image(tpath("rl/roofline.png"), true);
        assert_image(tpath("rl/roofline.svg"), false);
        assert_int_equal(count_entries(tpath("rl")), 4); /* no temp file left */
    } else {
        print_message("gnuplot not installed: image checks skipped\n");
    }
    static char dat[1 << 20];
    slurp(tpath("rl/roofline.dat"), dat, sizeof dat);
    const char *row = strstr(dat, "\"llama-3-8b\" decode 0 0 32 qkv_proj gemm 0 ");
    assert_non_null(row);
    /* columns from flops on: flops bytes intensity t_compute t_memory t_network time_s */
    row += strlen("\"llama-3-8b\" decode 0 0 32 qkv_proj gemm 0 ");
    double v[7];
    char *end;
    for (int i = 0; i < 7; i++) {
        v[i] = strtod(row, &end);
        assert_true(end != row);
        row = end;
    }
    struct yml_doc *d = analyze_json("llama-3-8b --hw h100 --phase decode --batch 4 --context 1023");
    yml_node ops = yml_map_get(d, yml_root(d), "ops"), op = 0;
    for (int i = 0; i < yml_seq_len(d, ops); i++) {
        yml_node o = yml_seq_at(d, ops, i);
        if (strcmp(yml_scalar(d, yml_map_get(d, o, "name")), "qkv_proj") == 0) op = o;
    }
    assert_true(op != 0);
    assert_exact(v[0], jnum(d, op, "flops"));
    assert_exact(v[1], jnum(d, op, "bytes"));
    assert_exact(v[2], jnum(d, op, "intensity"));
    assert_exact(v[3], jnum(d, op, "t_compute_s"));
    assert_exact(v[4], jnum(d, op, "t_memory_s"));
    assert_exact(v[6], jnum(d, op, "time_s"));
    yml_free(d);
    /* the script names its data and both outputs */
    static char gp[1 << 16];
    slurp(tpath("rl/roofline.gp"), gp, sizeof gp);
    assert_non_null(strstr(gp, "DATA = 'roofline.dat'"));
    assert_non_null(strstr(gp, "png_file = 'roofline.png'"));
    assert_non_null(strstr(gp, "svg_file = 'roofline.svg'"));
    assert_non_null(strstr(gp, "bf16/fp16 tensor 989 TFLOP/s"));
}

/* Column index of name in a csv header line. */
static int csv_col(const char *hdr, const char *name)
{
    int col = 0;
    size_t n = strlen(name);
    for (const char *p = hdr; *p && *p != '\n'; col++) {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\n')) return col;
        p += strcspn(p, ",\n");
        if (*p == ',') p++;
    }
    return -1;
}

static const char *csv_field(const char *line, int col, char *buf, size_t n)
{
    for (int i = 0; i < col; i++) line += strcspn(line, ",\n") + 1;
    size_t k = strcspn(line, ",\n");
    snprintf(buf, n, "%.*s", (int)k, line);
    return buf;
}

/* Sweep: one csv row per point (1k..3k = 1k, 2k, 3k); the row for batch 4 at
 * context 2k equals analyze's totals; charts exist for both varied axes. */
static void test_plots_sweep(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args,
             "sweep llama-3-8b --hw h100 --phase decode --vary context=1k..3k "
             "--vary batch=1,4 -o %s", tpath("sw"));
    assert_int_equal(run(args), 0);
    static char csv[1 << 16];
    slurp(tpath("sw/sweep.csv"), csv, sizeof csv);
    int lines = 0;
    for (char *p = csv; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 1 + 2 * 3);
    const char *row = strstr(csv, "llama-3-8b,H100-SXM5-80GB,decode,4,,2048,");
    assert_non_null(row);
    struct yml_doc *d = analyze_json("llama-3-8b --hw h100 --phase decode --batch 4 --context 2k");
    yml_node tot = yml_map_get(d, yml_root(d), "totals");
    static const char *const keys[] = {"time_s",         "ttft_s",       "tpot_s",
                                       "tokens_per_s",   "kv_cache_bytes", "memory_bytes",
                                       "activation_bytes", "max_batch",  "flops",
                                       "bytes",          "intensity",    "params",
                                       "weight_bytes",   "kv_cache_bytes_per_token"};
    char buf[64];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int col = csv_col(csv, keys[i]);
        if (col < 0) {
            print_error("sweep.csv has no column %s\n", keys[i]);
            fail();
        }
        assert_exact(strtod(csv_field(row, col, buf, sizeof buf), NULL), jnum(d, tot, keys[i]));
    }
    assert_string_equal(csv_field(row, csv_col(csv, "fits"), buf, sizeof buf),
                        yml_scalar(d, yml_map_get(d, tot, "fits")));
    yml_free(d);
    static const char *const charts[] = {"kv_cache_vs_context", "decode_time_vs_context",
                                         "decode_time_vs_batch"};
    char name[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "sw/%s.dat", charts[i]);
        assert_true(exists(tpath(name)));
        snprintf(name, sizeof name, "sw/%s.gp", charts[i]);
        assert_true(exists(tpath(name)));
        if (!have_gnuplot()) continue;
        snprintf(name, sizeof name, "sw/%s.png", charts[i]);
        assert_image(tpath(name), true);
        snprintf(name, sizeof name, "sw/%s.svg", charts[i]);
        assert_image(tpath(name), false);
    }
    /* prefill: time against sequence length */
    snprintf(args, sizeof args,
             "sweep llama-3-8b --hw h100 --phase prefill --vary seq=512,1k -o %s", tpath("swp"));
    assert_int_equal(run(args), 0);
    assert_true(exists(tpath("swp/prefill_time_vs_seq.dat")));
    assert_false(exists(tpath("swp/prefill_time_vs_batch.dat"))); /* batch not varied */
}

/* Without gnuplot: data and scripts, a hint on stderr, exit 0. With a gnuplot
 * that fails: exit 1, and no image nor temp file left behind. */
static void test_plots_gnuplot_missing_or_failing(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "roofline llama-3-8b --hw h100 --phase decode --context 1k -o %s",
             tpath("ng/r.png"));
    assert_int_equal(run_env("OPBOUND_GNUPLOT=/nonexistent/gnuplot", args), 0);
    assert_non_null(strstr(err_buf, "apt-get install gnuplot-nox"));
    assert_true(exists(tpath("ng/r.dat")));
    assert_true(exists(tpath("ng/r.gp")));
    assert_false(exists(tpath("ng/r.png")));
    assert_int_equal(count_entries(tpath("ng")), 2);

    snprintf(args, sizeof args, "roofline llama-3-8b --hw h100 --phase decode --context 1k -o %s",
             tpath("fail/r.png"));
    assert_int_equal(run_env("OPBOUND_GNUPLOT=/bin/false", args), 1);
    assert_non_null(strstr(err_buf, "gnuplot failed"));
    assert_false(exists(tpath("fail/r.png")));
    assert_int_equal(count_entries(tpath("fail")), 2); /* r.dat, r.gp; no temp files */
}

static void expect_bad(const char *args_fmt, const char *msg)
{
    char args[512];
    snprintf(args, sizeof args, args_fmt, tpath("bad"));
    int rc = run(args);
    if (rc != 2 || out_buf[0] || !strstr(err_buf, msg) || exists(tpath("bad"))) {
        print_error("opbound %s: rc %d, stdout '%.80s', stderr '%s' (wanted '%s'), wrote: %d\n",
                    args, rc, out_buf, err_buf, msg, exists(tpath("bad")));
        fail();
    }
}

static void test_plots_bad_input(void **state)
{
    (void)state;
    const char *sw = "sweep llama-3-8b --hw h100 --phase decode -o %s ";
    char f[256];
#define SW(x) (snprintf(f, sizeof f, "%s%s", sw, x), f)
    expect_bad(SW("--vary context=8k..1k"), "--vary context=8k..1k: the range runs backwards");
    expect_bad(SW("--vary context=1x..2k"), "the ends of a..b must be whole numbers");
    expect_bad(SW("--vary context=1k,,2k"), "'' is not a whole number");
    expect_bad(SW("--vary context=0..2k"), "starts at 1 or more");
    char many[512] = "--vary batch=1";
    for (int i = 2; i <= 65; i++) snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", i);
    expect_bad(SW(many), "more than 64 values");
    expect_bad(SW("--vary batch=0,1"), "--vary batch=0,1: '0' is not a whole number from 1");
    expect_bad(SW("--vary seq=1k"), "--vary seq is for --phase prefill");
    expect_bad(SW("--vary heads=2"), "--vary: unknown name 'heads' (batch, context)");
    expect_bad(SW("--vary context"), "--vary takes NAME=RANGE");
    expect_bad(SW("--vary batch=1 --vary batch=2"), "--vary batch given twice");
    expect_bad(SW("--vary context=1k --context 5"), "keep one");
    expect_bad(SW("--batch 2"), "nothing to sweep");
    expect_bad("sweep llama-9 --hw h100 --phase decode --context 1k --vary batch=1,2 -o %s",
               "unknown model 'llama-9'");
    expect_bad("sweep llama-3-8b --hw h100 --phase decode --context 1k --vary batch=1,2 --tp 3 -o %s",
               "not divisible by 3");
    expect_bad("roofline llama-3-8b --hw h100 --phase decode --context 1k -o %s/r.pdf",
               "must end in .png or .svg");
    expect_bad("roofline llama-3-8b --hw h100 --phase both --seq 1k -o %s/r.png",
               "--phase both needs --seq S (prefill) and --context L (decode)");
    expect_bad("roofline llama-3-8b --hw h100 --phase decode --context 1k --rate max -o %s/r",
               "--rate must be roof or achieved");
    expect_bad("roofline llama-3-8b --hw h100 --phase decode --context 1k --format csv -o %s/r",
               "--format is not an option here");
    expect_bad("roofline llama-3-8b --phase decode --context 1k -o %s/r", "missing --hw");
    assert_int_equal(run("roofline llama-3-8b --hw h100 --phase decode --context 1k"), 2);
    assert_non_null(strstr(err_buf, "missing -o PATH"));
    assert_int_equal(run("roofline --help"), 0);
    assert_non_null(strstr(out_buf, "--phase both"));
    assert_int_equal(run("sweep --help"), 0);
    assert_non_null(strstr(out_buf, "--vary NAME=RANGE"));
    assert_int_equal(run("--help"), 0);
    assert_non_null(strstr(out_buf, "roofline MODEL"));
    assert_non_null(strstr(out_buf, "sweep MODEL"));
#undef SW
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plots_roofline),
        cmocka_unit_test(test_plots_sweep),
        cmocka_unit_test(test_plots_gnuplot_missing_or_failing),
        cmocka_unit_test(test_plots_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
