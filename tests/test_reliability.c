/* test_reliability.c - issue 18 (nothing crashes, hangs, lies or loses a
 * file): output that is O(groups + ops), input limits checked before libyaml,
 * error positions of reader errors and extra documents, the atomic writer
 * (sim/core/outfile.h). The malformed-input corpus (tests/malformed) covers
 * the command-line side. */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include "../reports/analysis_report.h"
#include "../reports/fmt.h"
#include "../hw/device.h"
#include "../sim/core/outfile.h"
#include "../sim/serve.h"
#include "../sim/core/tiles.h"
#include "../sim/core/yml.h"

/* A model of n one-layer groups, alternating two shapes so that no two
 * neighbours could be merged. */
static char *many_groups(int n, size_t *len)
{
    const size_t cap = (size_t)n * 160 + 512;
    char *s = malloc(cap);
    size_t k = (size_t)snprintf(s, cap,
                                "name: many\nhidden: 256\nlayers: %d\nvocab: 1000\n"
                                "tied_embeddings: false\nnorm: rmsnorm\n"
                                "dtypes: {weight: bf16, activation: bf16, kv: bf16}\ngroups:\n",
                                n);
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k,
                              "  - {repeat: 1, attention: {kind: gqa, heads: 4, kv_heads: 2, "
                              "head_dim: 64}, ffn: {kind: swiglu, intermediate: %d}}\n",
                              i % 2 ? 512 : 768);
    *len = k;
    return s;
}

/* Issue 18 item 2: the per-group table looped over every op for every group
 * (groups x ops: 50,000 groups of ~12 ops is 3e10 steps, minutes). With one
 * pass it takes about a second; the alarm makes a hang a failure. The table
 * must still hold one row per group: 50,000 group rows, each labelled with
 * its layer ("layer 1" .. "layer 50000" as layer_label writes one-layer
 * ranges is checked through the last group's label). */
static void test_table_scales_with_groups(void **state)
{
    (void)state;
    size_t len;
    char *text = many_groups(50000, &len);
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load_text("many.yaml", text, len, &m, &e), 0);
    free(text);
    struct device *d = tu_device("h100-sxm5-80gb");
    assert_non_null(d);
    alarm(60);
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    const struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 128, .tp = 1};
    analysis_run(&a, m, d, &sc);
    struct analysis_view v = {.m = m, .d = d, .sc = &sc, .a = &a};
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    report_analysis_table(f, &v, false);
    fclose(f);
    alarm(0);
    /* rows between "Per layer group:" and "embed+head" */
    const char *p = strstr(buf, "Per layer group:");
    assert_non_null(p);
    const char *end = strstr(p, "embed+head");
    assert_non_null(end);
    int rows = 0;
    for (const char *c = p; c < end; c++) rows += *c == '\n';
    assert_int_equal(rows - 3, 50000); /* title, header and rule lines precede them */
    free(buf);
    analysis_free(&a);
    device_free(d);
    model_free(m);
}

/* Found by fuzz_model: a causal window of w = 3418 keys (left extent 3417)
 * with 127 x 12 tiles, decoding one query at a context near 1.5e9, kept
 * 3457 pairs while computing 3422: the useful pairs were differences of
 * prefix sums above 2^53 (an assertion abort in op_attention). One query at
 * position P >= w sees exactly w keys, at any P up to 2^40. */
static void test_tiles_huge_context(void **state)
{
    (void)state;
    const double P[] = {1500000000.0, 1500000001.0, 1e12, 1099511627776.0};
    for (int i = 0; i < 4; i++) {
        const struct tile_mask m = {.q_len = 1, .prior = P[i], .causal = true, .left = 3417,
                                    .right = 0, .stride = 1, .dilation = 1, .sinks = 0,
                                    .tile_q = 127, .tile_k = 12};
        struct tile_stats t;
        tiles_count(&m, &t);
        assert_exact(t.pairs_useful, 3418);
        assert_true(t.pairs_useful <= t.pairs_computed);
        /* dense: the query sees all P + 1 keys */
        assert_exact(t.dense_useful, P[i] + 1);
    }
    char out[8192], err[8192];
    assert_int_equal(tu_run("analyze " OB_DATADIR "/tests/fuzz/findings/model-swa-tiles-huge-"
                            "context.yaml --hw h100 --phase prefill --batch 3 --seq 1500000001 "
                            "--tp 2",
                            out, sizeof out, err, sizeof err),
                     0);
}

static int load(const char *name, const char *text, struct err *e)
{
    struct yml_doc *d = NULL;
    int rc = yml_load_string(name, text, strlen(text), &d, e);
    yml_free(d);
    return rc;
}

#define assert_pos(e, l, c)                                                                  \
    do {                                                                                     \
        assert_int_equal((e).line, (l));                                                     \
        assert_int_equal((e).col, (c));                                                      \
    } while (0)

/* Issue 18 item 7: reader errors carry only problem_offset; they were all
 * reported at 1:1. Positions by hand: "a: 1\n" is line 1; on line 2
 * "name: caf\xc3\xa9 " is 11 characters (the two bytes of e-acute are one),
 * so the bad byte is column 12; "b: \x01" puts the control character at 4. */
static void test_reader_error_positions(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(load("t.yaml", "a: 1\nname: caf\xc3\xa9 \xff\n", &e), -1);
    assert_pos(e, 2, 12);
    assert_non_null(strstr(e.msg, "UTF-8"));
    assert_int_equal(load("t.yaml", "a: 1\nb: \x01\n", &e), -1);
    assert_pos(e, 2, 4);
    assert_non_null(strstr(e.msg, "control"));
    /* a CRLF file: the second line starts after \r\n */
    assert_int_equal(load("t.yaml", "a: 1\r\nbb: \x02\r\n", &e), -1);
    assert_pos(e, 2, 5);
}

/* Issue 18 item 7: a second document, text after `...`, and a second JSON
 * value were silently ignored. */
static void test_one_document(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(load("t.yaml", "a: 1\n---\nb: 2\n", &e), -1);
    assert_pos(e, 3, 1); /* the second document's content */
    assert_int_equal(load("t.yaml", "a: 1\n...\nb: 2\n", &e), -1);
    assert_pos(e, 3, 1);
    assert_int_equal(load("t.json", "{\"a\": 1}\n{\"b\": 2}\n", &e), -1);
    assert_pos(e, 2, 1);
    assert_non_null(strstr(e.msg, "JSON"));
    assert_int_equal(load("t.json", "{\"a\": 1} x", &e), -1);
    assert_pos(e, 1, 10);
    /* still fine: a document end marker alone, a leading ---, a comment after */
    assert_int_equal(load("t.yaml", "---\na: 1\n...\n# done\n", &e), 0);
}

/* Issue 18 item 2: 100,000 '[' took libyaml's scanner over 20 s; the depth
 * is checked first. The 65th '[' (column 8 + 64 = 72 after "groups: ") is
 * the first one too deep. Brackets inside quotes, comments and plain
 * scalars do not count. */
static void test_nesting_limit(void **state)
{
    (void)state;
    char *s = malloc(200020);
    strcpy(s, "groups: ");
    memset(s + 8, '[', 200000);
    s[200008] = 0;
    struct err e;
    alarm(10);
    assert_int_equal(load("t.yaml", s, &e), -1);
    alarm(0);
    assert_pos(e, 1, 8 + 65);
    assert_non_null(strstr(e.msg, "nesting"));
    free(s);
    /* 64 levels are fine; quoted, commented and in-scalar brackets are not nesting */
    char ok[512] = "a: ";
    for (int i = 0; i < 64; i++) strcat(ok, "[");
    for (int i = 0; i < 64; i++) strcat(ok, "]");
    strcat(ok, "\nb: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n");
    strcat(ok, "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n");
    strcat(ok, "c: x[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n");
    assert_int_equal(load("t.yaml", ok, &e), 0);
}

/* The size limit applies before parsing: one byte over YML_MAX_BYTES. */
static void test_size_limit(void **state)
{
    (void)state;
    const size_t n = (size_t)YML_MAX_BYTES + 1;
    char *s = malloc(n);
    memset(s, ' ', n);
    memcpy(s, "a: 1\n", 5);
    struct err e;
    struct yml_doc *d = NULL;
    assert_int_equal(yml_load_string("big.yaml", s, n, &d, &e), -1);
    assert_non_null(strstr(e.msg, "16 MiB"));
    free(s);
}

/* The node bound: 16 MiB of "1," would make libyaml build 8 million nodes
 * (1.3 GB, 30 s); the structure marks are counted first. In "a: [1,1,...":
 * ':' is mark 1, '[' mark 2, comma j is mark j + 2 at column 4 + 2j, so mark
 * 3,000,001 (one over the limit) is comma 2,999,999 at column 6,000,002. */
static void test_item_limit(void **state)
{
    (void)state;
    const size_t n = 4 + 2 * 3000001 + 3;
    char *s = malloc(n + 1);
    memcpy(s, "a: [", 4);
    for (size_t i = 0; i < 3000001; i++) memcpy(s + 4 + 2 * i, "1,", 2);
    memcpy(s + 4 + 2 * 3000001, "1]\n", 3);
    s[n] = 0;
    struct err e;
    struct yml_doc *d = NULL;
    assert_int_equal(yml_load_string("many.yaml", s, n, &d, &e), -1);
    assert_pos(e, 1, 6000002);
    assert_non_null(strstr(e.msg, "more than 3000000 items"));
    free(s);
}

static int count_entries(const char *dir)
{
    DIR *dp = opendir(dir);
    int n = 0;
    for (struct dirent *de; dp && (de = readdir(dp));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    if (dp) closedir(dp);
    return n;
}

/* The atomic writer: nothing at the target until commit; discard leaves
 * nothing; a failed open (missing folder) leaves nothing; the temporary name
 * is ".NAME.tmp-XXXXXX" beside the target. */
static void test_outfile(void **state)
{
    (void)state;
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/opbound-outfile-%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/out.yaml", dir);
    struct outfile o;
    struct err e;
    assert_int_equal(outfile_open(&o, path, &e), 0);
    assert_int_equal(strncmp(o.tmp + strlen(dir), "/.out.yaml.tmp-", 15), 0);
    fputs("x: 1\n", o.f);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(outfile_commit(&o, &e), 0);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(outfile_open(&o, path, &e), 0);
    fputs("half", o.f);
    outfile_discard(&o);
    assert_int_equal(count_entries(dir), 1);
    FILE *f = fopen(path, "r");
    char line[16] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "x: 1\n"); /* the committed text, untouched */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/folder/out.yaml", dir);
    assert_int_equal(outfile_open(&o, bad, &e), -1);
    assert_non_null(strstr(e.msg, "cannot create"));
    outfile_discard(&o);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* Issue 18 "what to build" 4: an interrupted command leaves no partial
 * file. A child opens an outfile (as sweep, import and calibrate do), writes
 * half, and is sent SIGINT: it must die of SIGINT and leave the folder
 * empty; a guarded name (a gnuplot temp image) goes too. */
static void test_interrupt_leaves_nothing(void **state)
{
    (void)state;
    char dir[64], path[128], img[128];
    snprintf(dir, sizeof dir, "/tmp/opbound-sig-%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    snprintf(img, sizeof img, "%s/.chart.png.123.tmp", dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        outfile_cleanup_on_signals();
        struct outfile o;
        struct err e;
        if (outfile_open(&o, path, &e)) _exit(3);
        fputs("batch,context\n1,", o.f);
        fflush(o.f);
        FILE *f = fopen(img, "w"); /* as if gnuplot were drawing */
        if (!f) _exit(4);
        fclose(f);
        outfile_guard(img);
        kill(getpid(), SIGINT);
        _exit(5); /* not reached */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGINT);
    assert_int_equal(count_entries(dir), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* Runs opbound with args (NULL-terminated) in the background, sends it
 * SIGINT as soon as an entry whose name starts with `watch` appears in
 * folder `in` (plus a short pause), and returns true if the signal ended it
 * (false: it finished first, so the interrupt was not exercised). */
static bool interrupt_when(const char *const *args, const char *in, const char *watch)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(3);
        execv(OB_BIN, (char *const *)args);
        _exit(4);
    }
    bool seen = false;
    for (int i = 0; i < 200000 && !seen; i++) { /* up to about 20 s */
        DIR *dp = opendir(in);
        for (struct dirent *de; dp && (de = readdir(dp));)
            if (strncmp(de->d_name, watch, strlen(watch)) == 0) seen = true;
        if (dp) closedir(dp);
        if (!seen) usleep(100);
    }
    assert_true(seen);
    usleep(5000);
    kill(pid, SIGINT);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSIGNALED(st)) {
        print_message("%s finished before SIGINT; the interrupt was not exercised\n", args[1]);
        return false;
    }
    assert_int_equal(WTERMSIG(st), SIGINT);
    return true;
}

static void rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

/* `report` builds a hidden `.NAME.tmp-XXXXXX` folder and renames it whole;
 * an interrupt left that folder behind (issue 18 "left to other changes").
 * SIGINT comes as soon as the hidden folder appears (while it is being
 * filled): the parent folder must then be empty. */
static void test_report_interrupt_leaves_nothing(void **state)
{
    (void)state;
    char dir[64], out[96];
    snprintf(dir, sizeof dir, "/tmp/opbound-rsig-%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(out, sizeof out, "%s/rep", dir);
    const char *args[] = {OB_BIN, "report", OB_DATADIR "/examples/study-attention.yaml", "-o", out,
                          NULL};
    if (interrupt_when(args, dir, ".rep.tmp-")) assert_int_equal(count_entries(dir), 0);
    else rm_rf(out);
    assert_int_equal(rmdir(dir), 0);
}

/* `sweep` writes sweep.csv, then each chart's data, script and images: an
 * interrupt after the csv left a folder with some of them (found by the
 * campaign of docs/reliability.md). Every file of the run is now removed: the
 * folder it made is left empty. */
static void test_sweep_interrupt_leaves_nothing(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/opbound-ssig-%d", (int)getpid());
    const char *args[] = {OB_BIN, "sweep", "llama-3-8b", "mixtral", "qwen3-30b", "--hw", "h100",
                          "--phase", "decode", "--vary", "context=1..1m", "--vary",
                          "batch=1..1k", "-o", dir, NULL};
    assert_int_equal(mkdir(dir, 0777), 0);
    if (interrupt_when(args, dir, "sweep.csv")) assert_int_equal(count_entries(dir), 0);
    else rm_rf(dir), assert_int_equal(mkdir(dir, 0777), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* serve's progress callback (serve.h): called every 4096 iterations with
 * the requests done (rising, never above the total). 20,000 requests of
 * 64 output tokens at max_batch 8 need at least 20,000 x 64 / 8 = 160,000
 * decode iterations, so it is called at least 160,000 / 4096 = 39 times. */
struct serve_pg {
    int calls;
    double last, total;
    bool ok;
};

static void serve_pg_cb(void *ctx, double done, double total)
{
    struct serve_pg *p = ctx;
    if (done < p->last || done > total || total != 20000) p->ok = false;
    p->calls++;
    p->last = done;
    p->total = total;
}

static void test_serve_progress(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/opbound-spg-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: pg\nmodel: llama-3-8b\nrequests: 20000\nlengths:\n"
          "  - {input: 16, output: 64}\nmax_batch: 8\ntoken_budget: 1024\n", f);
    fclose(f);
    struct serve_scenario *s = NULL;
    struct err e;
    assert_int_equal(serve_load(path, &s, &e), 0);
    unlink(path);
    struct device *d = NULL;
    assert_int_equal(device_load(OB_DATADIR "/hw/h100-sxm5-80gb.yaml", &d, &e), 0);
    struct serve_pg pg = {.ok = true};
    s->progress = serve_pg_cb;
    s->progress_ctx = &pg;
    const struct serve_hw hw = {.d = d};
    struct serve_result r;
    assert_int_equal(serve_run(s, &hw, 1, &r, &e), 0);
    assert_true(pg.ok);
    assert_true(pg.calls >= 39);
    device_free(d);
    serve_free(s);
}

static char out_buf[1 << 16], err_buf[1 << 14];

/* Writes the bundled Mistral-7B config.json to path with one replacement. */
static void mistral_variant(const char *path, const char *from, const char *to)
{
    FILE *in = fopen(OB_DATADIR "/tests/data/hf/mistral-7b-v0.1.json", "r");
    assert_non_null(in);
    char text[8192];
    const size_t n = fread(text, 1, sizeof text - 1, in);
    text[n] = 0;
    fclose(in);
    char *hit = strstr(text, from);
    assert_non_null(hit);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(hit - text), text, to, hit + strlen(from));
    fclose(f);
}

/* Line and column of the first occurrence of needle in file path, by
 * reading the file (1-based; columns in bytes: these files are ASCII). */
static void find_pos(const char *path, const char *needle, int *line, int *col)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    *line = *col = 0;
    for (int l = 1; fgets(buf, sizeof buf, f); l++) {
        const char *h = strstr(buf, needle);
        if (h) {
            *line = l, *col = (int)(h - buf) + 1;
            break;
        }
    }
    fclose(f);
}

/* Issue 18 item 7: errors found in the generated YAML lost FILE:LINE:COL and
 * named the generated key ('window'). A sliding_window of 1e11 with
 * max_position_embeddings above it stays in force and exceeds the swa
 * window's bound (16777216): the error must point at the user's value. */
static void test_import_error_maps_back(void **state)
{
    (void)state;
    char path[64], args[256], want[160];
    snprintf(path, sizeof path, "/tmp/opbound-rel-%d.json", (int)getpid());
    mistral_variant(path, "\"sliding_window\": 4096", "\"sliding_window\": 100000000000");
    /* and max_position_embeddings above it, so that the window is in force */
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s.2", path);
    rename(path, tmp);
    FILE *in = fopen(tmp, "r");
    char text[8192];
    const size_t n = fread(text, 1, sizeof text - 1, in);
    text[n] = 0;
    fclose(in);
    unlink(tmp);
    char *hit = strstr(text, "\"max_position_embeddings\": 32768");
    assert_non_null(hit);
    FILE *f = fopen(path, "w");
    fprintf(f, "%.*s\"max_position_embeddings\": 1000000000000%s", (int)(hit - text), text,
            hit + strlen("\"max_position_embeddings\": 32768"));
    fclose(f);
    int line, col;
    find_pos(path, "\"sliding_window\": 100000000000", &line, &col);
    assert_true(line > 0);
    col += (int)strlen("\"sliding_window\": "); /* the value's column */
    snprintf(want, sizeof want, "%s:%d:%d: 'sliding_window' must be at most 16777216", path, line,
             col);
    snprintf(args, sizeof args, "import %s", path);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 2);
    assert_non_null(strstr(err_buf, want));
    snprintf(args, sizeof args, "analyze %s --hw h100 --phase decode --context 8", path);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 2);
    assert_non_null(strstr(err_buf, want));
    unlink(path);
}

/* Issue 18 item 7: a repeated key was accepted with the first value winning
 * (Python's json keeps the last). The error is at the second occurrence and
 * names the first. */
static void test_import_duplicate_key(void **state)
{
    (void)state;
    char path[64], args[256], want[200];
    snprintf(path, sizeof path, "/tmp/opbound-rel-%d.json", (int)getpid());
    mistral_variant(path, "\"vocab_size\": 32000", "\"vocab_size\": 32000, \"hidden_size\": 1024");
    int l1, c1, l2, c2;
    find_pos(path, "\"hidden_size\": 4096", &l1, &c1);
    find_pos(path, "\"hidden_size\": 1024", &l2, &c2);
    snprintf(want, sizeof want, "%s:%d:%d: duplicate key 'hidden_size' (first at line %d, column %d)",
             path, l2, c2, l1, c1);
    snprintf(args, sizeof args, "import %s", path);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 2);
    assert_non_null(strstr(err_buf, want));
    unlink(path);
}

/* Issue 18 item 7: a config.json under a folder whose name holds '"' and '\'
 * was refused (the path went unescaped into the generated YAML). The model
 * takes the folder's name. */
static void test_import_quoted_path(void **state)
{
    (void)state;
    char dir[96], path[128], args[512];
    snprintf(dir, sizeof dir, "/tmp/opbound-rel-%d-we\"ird\\\\dir", (int)getpid());
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    mistral_variant(path, "\"vocab_size\"", "\"vocab_size\"");
    snprintf(args, sizeof args, "analyze '%s' --hw h100 --phase decode --context 8", path);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    char want[160];
    snprintf(want, sizeof want, "model     %s (", strrchr(dir, '/') + 1);
    assert_non_null(strstr(out_buf, want));
    unlink(path);
    rmdir(dir);
}

/* Issue 18 item 7: "tokens per second 0.00" for 0.0032. Below 0.1, three
 * significant digits; at and above it the existing two decimals stay. */
/* `measure import` (sim/measure_import.c, found by the campaign of
 * docs/reliability.md): a string holding a comma split its CSV line, and
 * the error that followed pointed at the temporary CSV (out.csv.tmp-PID:9:110),
 * a file the user never wrote; a duplicate key was taken silently; `causal:
 * 1` was read as not causal. Each must now be an error at the JSON text that
 * caused it, with nothing written. */
static const char MEAS_JSON[] =
    "{\"device\": \"D\", \"torch\": \"2\",\n"
    " \"props\": {\"sms\": 132, \"l2_bytes\": 52428800},\n"
    " \"ceilings\": {\"copy_GBps\": 3000, \"gemm8192_bf16_TFLOPs\": 800},\n"
    " \"gemms\": [\n"
    "  {\"op\": OPNAME, \"M\": 64, \"N\": 4096, \"K\": 4096, \"dtype\": \"bf16\", \"ms\": 0.02,"
    " \"ms_min\": 0.02, \"flops\": FLOPS, \"bytes\": 34603008}],\n"
    " \"prefill\": [{\"B\": 1, \"H\": 32, \"Hkv\": 8, \"D\": 128, \"S\": 4096, \"causal\": CAUSAL,"
    " \"backend\": \"flash\", \"ms\": 0.5, \"ms_min\": 0.5}],\n"
    " \"decode\": [], \"mla_decode_bmm\": []EXTRA}\n";

static void meas_case(const char *dir, const char *op, const char *flops, const char *causal,
                      const char *extra, const char *at, int nth, const char *want)
{
    char text[2048], path[128], args[512];
    snprintf(text, sizeof text, "%s", MEAS_JSON);
    const char *from[] = {"OPNAME", "FLOPS", "CAUSAL", "EXTRA"}, *to[] = {op, flops, causal, extra};
    for (int i = 0; i < 4; i++) {
        char *h = strstr(text, from[i]);
        assert_non_null(h);
        char rest[2048];
        snprintf(rest, sizeof rest, "%s", h + strlen(from[i]));
        snprintf(h, sizeof text - (size_t)(h - text), "%s%s", to[i], rest);
    }
    snprintf(path, sizeof path, "%s/in.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(args, sizeof args, "measure import %s -o %s/out.csv", path, dir);
    const int rc = tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
    if (!at) { /* the unchanged file converts */
        assert_int_equal(rc, 0);
        snprintf(path, sizeof path, "%s/out.csv", dir);
        assert_int_equal(unlink(path), 0);
    } else {
        assert_int_equal(rc, 2);
        /* line and column of the nth occurrence of `at`, counted here */
        int line = 1, col = 1;
        const char *h = text;
        for (int k = 0; k < nth; k++) h = strstr(k ? h + 1 : h, at);
        assert_non_null(h);
        for (const char *c = text; c < h; c++) {
            if (*c == '\n') line++, col = 1;
            else col++;
        }
        char pos[192];
        snprintf(pos, sizeof pos, "%s/in.json:%d:%d: ", dir, line, col);
        assert_memory_equal(err_buf, pos, strlen(pos));
        assert_non_null(strstr(err_buf, want));
    }
    snprintf(path, sizeof path, "%s/in.json", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(count_entries(dir), 0);
}

static void test_measure_import_errors(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/opbound-mi-%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0777), 0);
    /* 2 x 64 x 4096 x 4096 = 2147483648 FLOPs; bytes bf16 A 64 x 4096 x 2 = 524288,
     * B 4096 x 4096 x 2 = 33554432, C 64 x 4096 x 2 = 524288: 34603008 */
    meas_case(dir, "\"q\"", "2147483648", "true", "", NULL, 0, "");
    meas_case(dir, "\"a,b\"", "2147483648", "true", "", "\"a,b\"", 1, "must not hold a comma");
    /* a wrong count is found in the converted CSV: reported at the JSON row */
    meas_case(dir, "\"q\"", "12345", "true", "", "{\"op\"", 1, "flops 12345 disagrees");
    meas_case(dir, "\"q\"", "2147483648", "1", "", "1, \"backend\"", 1,
              "'causal' must be true or false");
    meas_case(dir, "\"q\"", "2147483648", "true", ", \"device\": \"E\"", "\"device\"", 2,
              "duplicate key 'device'");
    assert_int_equal(rmdir(dir), 0);
}

static void test_fmt_small_numbers(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(fmt_si(b, sizeof b, 0.0032, ""), "0.0032");
    assert_string_equal(fmt_si(b, sizeof b, 0.0512345, ""), "0.0512");
    assert_string_equal(fmt_si(b, sizeof b, 1.2e-7, "B"), "1.2e-07 B");
    assert_string_equal(fmt_si(b, sizeof b, -0.0032, ""), "-0.0032");
    assert_string_equal(fmt_si(b, sizeof b, 0.5, ""), "0.50");
    assert_string_equal(fmt_si(b, sizeof b, 2.345, ""), "2.35");
    assert_string_equal(fmt_si(b, sizeof b, 0.0995, ""), "0.10");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_scales_with_groups),
        cmocka_unit_test(test_tiles_huge_context),
        cmocka_unit_test(test_reader_error_positions),
        cmocka_unit_test(test_one_document),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_item_limit),
        cmocka_unit_test(test_outfile),
        cmocka_unit_test(test_interrupt_leaves_nothing),
        cmocka_unit_test(test_report_interrupt_leaves_nothing),
        cmocka_unit_test(test_sweep_interrupt_leaves_nothing),
        cmocka_unit_test(test_serve_progress),
        cmocka_unit_test(test_measure_import_errors),
        cmocka_unit_test(test_import_error_maps_back),
        cmocka_unit_test(test_import_duplicate_key),
        cmocka_unit_test(test_import_quoted_path),
        cmocka_unit_test(test_fmt_small_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
