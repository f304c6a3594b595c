/* test_plots.c - `opbound roofline` and `opbound sweep` as a user runs them:
 * the files they write (data, gnuplot script, and the PNG/SVG images when
 * gnuplot is installed; reported skipped without it, failed under `make
 * check`), the data's numbers for a tiny model on the test device derived
 * by hand, the missing-gnuplot and failing-gnuplot paths,
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

/* gnuplot present: true. Absent: the image test fails when the caller asked
 * for images (OPBOUND_REQUIRE_GNUPLOT=1, set by `make check`, which installs
 * gnuplot), else cmocka reports it skipped. Never a silent pass. */
static bool gnuplot_or_skip(void)
{
    if (have_gnuplot()) return true;
    const char *req = getenv("OPBOUND_REQUIRE_GNUPLOT");
    if (req && strcmp(req, "1") == 0) {
        print_error("gnuplot not found but OPBOUND_REQUIRE_GNUPLOT=1: image checks cannot run\n");
        fail();
    }
    print_message("gnuplot not installed: image checks skipped\n");
    skip();
    return false;
}

/* Tiny model on the 1 ms-per-kernel test device (tests/test_figures.c):
 * every figure below by hand. */
#define TINY OB_DATADIR "/tests/data/tiny-gelu.yaml --hw " OB_DATADIR "/tests/data/test-overhead.yaml"

/* Roofline: files exist, and the decode row of qkv_proj holds, for B = 4 at
 * context 8 (t = 4 tokens, h = 8, qkv width (2 + 2 x 1) x 4 = 16, bf16):
 *   FLOPs 2 x 4 x 16 x 8 = 1024; bytes: weights 8 x 16 x 2 = 256, input
 *   4 x 8 x 2 = 64, output 4 x 16 x 2 = 128: 448; intensity 1024/448;
 *   t_compute 1024 / 1e19; t_memory 448 / 1e16; time 1 ms + t_memory;
 *   rate_roof = FLOPs / t_memory. */
static void test_plots_roofline(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "roofline %s --phase decode --batch 4 --context 8 -o %s", TINY,
             tpath("rl/roofline.png"));
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_buf, "/roofline.{"));
    assert_true(exists(tpath("rl/roofline.dat")));
    assert_true(exists(tpath("rl/roofline.gp")));
    static char dat[1 << 20];
    slurp(tpath("rl/roofline.dat"), dat, sizeof dat);
    const char *key = "\"tiny-gelu\" decode 0 0 1 qkv_proj gemm 0 ";
    const char *row = strstr(dat, key);
    assert_non_null(row);
    row += strlen(key);
    /* flops bytes intensity t_compute t_memory t_network time_s rate_roof */
    double v[8];
    char *end;
    for (int i = 0; i < 8; i++) {
        v[i] = strtod(row, &end);
        assert_true(end != row);
        row = end;
    }
    assert_exact(v[0], 1024);
    assert_exact(v[1], 448);
    assert_close(v[2], 1024.0 / 448, 1e-15);
    assert_close(v[3], 1024 / 1e19, 1e-12);
    assert_close(v[4], 448 / 1e16, 1e-12);
    assert_exact(v[5], 0);
    assert_close(v[6], 1e-3 + 448 / 1e16, 1e-15);
    assert_close(v[7], 1024 / (448 / 1e16), 1e-12);
    /* the script names its data and both outputs, and the device's roof */
    static char gp[1 << 16];
    slurp(tpath("rl/roofline.gp"), gp, sizeof gp);
    assert_non_null(strstr(gp, "DATA = 'roofline.dat'"));
    assert_non_null(strstr(gp, "png_file = 'roofline.png'"));
    assert_non_null(strstr(gp, "svg_file = 'roofline.svg'"));
    /* one line for every 1e19 FLOP/s peak of the test device: bf16 tensor and
     * the fp32 and bf16 CUDA-core rates */
    assert_non_null(strstr(gp, "bf16 tensor, fp32/bf16 (CUDA cores) 10.0 EFLOP/s"));
}

static void test_plots_roofline_images(void **state)
{
    (void)state;
    if (!gnuplot_or_skip()) return;
    char args[1024];
    snprintf(args, sizeof args, "roofline %s --phase both --seq 8 --batch 4 --context 8 -o %s",
             TINY, tpath("rli/roofline.png"));
    assert_int_equal(run(args), 0);
    assert_image(tpath("rli/roofline.png"), true);
    assert_image(tpath("rli/roofline.svg"), false);
    assert_int_equal(count_entries(tpath("rli")), 4); /* no temp file left */
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

static double csv_num(const char *csv, const char *row, const char *name)
{
    char buf[64];
    int col = csv_col(csv, name);
    if (col < 0) {
        print_error("sweep.csv has no column %s\n", name);
        fail();
    }
    return strtod(csv_field(row, col, buf, sizeof buf), NULL);
}

/* Sweep: one csv row per point (8, 16 x 1, 4); the row for B = 4 at context 16
 * by hand: 14 kernels = 14 ms per step (TTFT, TPOT and the step), 4 / 0.014
 * tokens/s; KV cache 4 x (16 + 1) x 16 B = 1088 B, all of it read by the
 * attention; params 728 (tests/test_figures.c), weights 1456 B, of which a
 * step reads all but the embedding table, whose 4 gathered rows are 4 x 8 x 2:
 * 1456 - 256 + 64 = 1264 B. */
static void test_plots_sweep(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args,
             "sweep %s --phase decode --vary context=8,16 --vary batch=1,4 -o %s", TINY,
             tpath("sw"));
    assert_int_equal(run(args), 0);
    static char csv[1 << 16];
    slurp(tpath("sw/sweep.csv"), csv, sizeof csv);
    int lines = 0;
    for (char *p = csv; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 1 + 2 * 2);
    const char *row = strstr(csv, "tiny-gelu,test-overhead-1ms,decode,4,,16,");
    assert_non_null(row);
    assert_close(csv_num(csv, row, "time_s"), 14e-3, 1e-9);
    assert_close(csv_num(csv, row, "ttft_s"), 14e-3, 1e-9);
    assert_close(csv_num(csv, row, "tpot_s"), 14e-3, 1e-9);
    assert_close(csv_num(csv, row, "tokens_per_s"), 4 / 14e-3, 1e-9);
    assert_exact(csv_num(csv, row, "kv_cache_bytes"), 1088);
    assert_exact(csv_num(csv, row, "bytes_kv_cache"), 1088);
    assert_exact(csv_num(csv, row, "params"), 728);
    assert_exact(csv_num(csv, row, "weight_bytes"), 1456);
    assert_exact(csv_num(csv, row, "bytes_weights"), 1264);
    assert_exact(csv_num(csv, row, "kv_cache_bytes_per_token"), 16);
    char buf[64];
    assert_string_equal(csv_field(row, csv_col(csv, "fits"), buf, sizeof buf), "true");
    static const char *const charts[] = {"kv_cache_vs_context", "decode_time_vs_context",
                                         "decode_time_vs_batch"};
    char name[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "sw/%s.dat", charts[i]);
        assert_true(exists(tpath(name)));
        snprintf(name, sizeof name, "sw/%s.gp", charts[i]);
        assert_true(exists(tpath(name)));
    }
    /* prefill: time against sequence length */
    snprintf(args, sizeof args, "sweep %s --phase prefill --vary seq=8,16 -o %s", TINY,
             tpath("swp"));
    assert_int_equal(run(args), 0);
    assert_true(exists(tpath("swp/prefill_time_vs_seq.dat")));
    assert_false(exists(tpath("swp/prefill_time_vs_batch.dat"))); /* batch not varied */
}

/* sweep --vary tp: one row per split; per device, by hand: llama-3-8b holds
 * 32 layers x 2 x 8 KV heads x 128 x 2 B = 131,072 B of K and V per token,
 * split over tp (8 KV heads divide by 1, 2, 4, 8); decode at context 1k holds
 * 1,025 tokens after the step: 1,025 x 131,072 / tp = 134,348,800 /
 * 67,174,400 / 33,587,200 / 16,793,600 B at batch 1. A split the heads do not
 * take, and tp with ep, are errors (exit 2). */
static void test_plots_sweep_tp(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args,
             "sweep llama-3-8b --hw h100 --phase decode --context 1k --vary tp=1,2,4,8 "
             "--vary batch=1,2 -o %s", tpath("swtp"));
    assert_int_equal(run(args), 0);
    static char csv[1 << 16];
    slurp(tpath("swtp/sweep.csv"), csv, sizeof csv);
    int lines = 0;
    for (char *p = csv; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 1 + 4 * 2);
    static const double kv[] = {134348800, 67174400, 33587200, 16793600};
    for (int t = 0; t < 4; t++) {
        char want[128];
        snprintf(want, sizeof want, "llama-3-8b,H100-SXM5-80GB,decode,1,,1024,%d,", 1 << t);
        const char *row = strstr(csv, want);
        assert_non_null(row);
        assert_exact(csv_num(csv, row, "kv_cache_bytes"), kv[t]);
        assert_exact(csv_num(csv, row, "tp"), 1 << t);
    }
    snprintf(args, sizeof args,
             "sweep llama-3-8b --hw h100 --phase decode --context 1k --vary tp=3 -o %s",
             tpath("swtp3"));
    assert_int_equal(run(args), 2);
    assert_false(exists(tpath("swtp3")));
    snprintf(args, sizeof args,
             "sweep mixtral --hw h100 --phase decode --context 1k --vary tp=1,2 --vary ep=1,2 "
             "-o %s", tpath("swtpep"));
    assert_int_equal(run(args), 2);
    assert_false(exists(tpath("swtpep")));
    /* ep alone: one row per split */
    snprintf(args, sizeof args,
             "sweep mixtral --hw h100 --phase decode --context 1k --vary ep=1,2,4,8 -o %s",
             tpath("swep"));
    assert_int_equal(run(args), 0);
    slurp(tpath("swep/sweep.csv"), csv, sizeof csv);
    lines = 0;
    for (char *p = csv; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 1 + 4);
}

static void test_plots_sweep_images(void **state)
{
    (void)state;
    if (!gnuplot_or_skip()) return;
    char args[1024];
    snprintf(args, sizeof args,
             "sweep %s --phase decode --vary context=8,16 --vary batch=1,4 -o %s", TINY,
             tpath("swi"));
    assert_int_equal(run(args), 0);
    static const char *const charts[] = {"kv_cache_vs_context", "decode_time_vs_context",
                                         "decode_time_vs_batch"};
    char name[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "swi/%s.png", charts[i]);
        assert_image(tpath(name), true);
        snprintf(name, sizeof name, "swi/%s.svg", charts[i]);
        assert_image(tpath(name), false);
    }
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
    char f[1024];
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
    expect_bad(SW("--vary heads=2"), "--vary: unknown name 'heads' (batch, context, tp, ep)");
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
        cmocka_unit_test(test_plots_roofline_images),
        cmocka_unit_test(test_plots_sweep),
        cmocka_unit_test(test_plots_sweep_tp),
        cmocka_unit_test(test_plots_sweep_images),
        cmocka_unit_test(test_plots_gnuplot_missing_or_failing),
        cmocka_unit_test(test_plots_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
