/* test_cli.c - the opbound command as a user runs it: exit codes (0, or 2 for
 * bad input with nothing on stdout), FILE:LINE:COL messages, help and version,
 * and the JSON/csv contract (JSON parsed back with libyaml, since JSON is YAML's
 * flow subset). */
#include "testutil.h"

#include <sys/stat.h>


static char out_buf[1 << 20], err_buf[1 << 16];

static int run(const char *args)
{
    return tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
}

static void expect_usage_error(const char *args, const char *msg)
{
    int rc = run(args);
    if (rc != 2 || out_buf[0] || !strstr(err_buf, msg)) {
        print_error("opbound %s: rc %d, stdout '%.80s', stderr '%s' (wanted '%s')\n", args, rc,
                    out_buf, err_buf, msg);
        fail();
    }
}

static void test_cli_help_and_version(void **state)
{
    (void)state;
    assert_int_equal(run("--version"), 0);
    assert_string_equal(out_buf, "opbound 0.1.0\n");
    assert_int_equal(run("--help"), 0);
    assert_non_null(strstr(out_buf, "analyze MODEL"));
    assert_int_equal(run("analyze --help"), 0);
    assert_non_null(strstr(out_buf, "--phase"));
    assert_int_equal(run("list --help"), 0);
    assert_int_equal(run("schema --help"), 0);
    assert_int_equal(run(""), 2);
    expect_usage_error("frobnicate", "unknown command 'frobnicate'");
}

static void test_cli_usage_errors(void **state)
{
    (void)state;
    expect_usage_error("analyze llama-3-8b --phase decode --context 10", "missing --hw");
    expect_usage_error("analyze llama-3-8b --hw h100 --context 10", "missing --phase");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase middle --context 10",
                       "--phase must be prefill or decode, got 'middle'");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase prefill", "needs --seq");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --seq 5",
                       "--seq is for --phase prefill");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context 10 --batch 0",
                       "--batch must be a whole number from 1 to 2^30, got '0'");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context -5",
                       "--context must be a whole number");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase prefill --seq 12x",
                       "--seq must be a whole number");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context 1 --kv-dtype fp5",
                       "--kv-dtype: unknown dtype 'fp5'");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context 1 --format xml",
                       "--format must be table, csv or json");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context 1 --bogus",
                       "unknown option '--bogus'");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context", "needs a value");
    expect_usage_error("analyze llama-9 --hw h100 --phase decode --context 1",
                       "unknown model 'llama-9'");
    expect_usage_error("analyze llama-3-8b --hw h --phase decode --context 1",
                       "ambiguous device 'h'");
    expect_usage_error("list gadgets", "unknown list 'gadgets'");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context 1 --tp 0",
                       "--tp must be a whole number from 1 to 65536, got '0'");
    expect_usage_error("analyze llama-3-8b --hw h100 --phase decode --context 1 --tp 3",
                       "llama-3-8b.yaml: cannot split layer group 0 (layers 0-31) over 3 "
                       "devices: heads (32) not divisible by 3");
}

static void test_cli_bad_file_position(void **state)
{
    (void)state;
    const char *path = tu_write_temp("name: t\nhidden: 4096\nlayers: two\n");
    char args[512], want[512];
    snprintf(args, sizeof args, "analyze %s --hw h100 --phase decode --context 1", path);
    snprintf(want, sizeof want, "%s:3:9: 'layers' must be an integer, got 'two'\n", path);
    assert_int_equal(run(args), 2);
    assert_string_equal(out_buf, "");
    assert_string_equal(err_buf, want);
    expect_usage_error("analyze /no/such.yaml --hw h100 --phase decode --context 1",
                       "/no/such.yaml: no such file");
}

/* Walks a parsed JSON document: value of key path "a.b" (mappings only). */
static yml_node jget(struct yml_doc *d, const char *path)
{
    yml_node n = yml_root(d);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, ".")) n = yml_map_get(d, n, tok);
    return n;
}
static double jnum(struct yml_doc *d, const char *path)
{
    const char *s = yml_scalar(d, jget(d, path));
    assert_non_null(s);
    return strtod(s, NULL);
}

/* JSON contract: names scripts depend on, and numbers derived by hand:
 * Llama-3-8B params 8,030,261,248, KV 131,072 B/token, weights x 2 bytes;
 * decode B = 4 at context 1023: matmul FLOPs 32 x (436,207,616 x 4 +
 * 16,384 x 4 x 1024) + lm_head 2 x 4 x 4096 x 128,256. */
static void test_cli_json_contract(void **state)
{
    (void)state;
    assert_int_equal(run("analyze llama-3-8b --hw h100 --phase decode --batch 4 --context 1023 "
                         "--format json"),
                     0);
    assert_string_equal(err_buf, "");
    struct yml_doc *d = NULL;
    struct err e;
    if (yml_load_string("json", out_buf, strlen(out_buf), &d, &e)) {
        err_print(&e, stderr);
        fail();
    }
    const char *keys[] = {"model.name", "hw.name", "scenario.phase", "totals.params",
                          "totals.active_params", "totals.kv_cache_bytes_per_token",
                          "totals.weight_bytes", "totals.flops", "totals.bytes", "totals.time_s"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) assert_true(jget(d, keys[i]) != 0);
    assert_string_equal(yml_scalar(d, jget(d, "model.name")), "llama-3-8b");
    assert_string_equal(yml_scalar(d, jget(d, "scenario.phase")), "decode");
    assert_exact(jnum(d, "totals.params"), 8030261248.0);
    assert_exact(jnum(d, "totals.kv_cache_bytes_per_token"), 131072.0);
    assert_exact(jnum(d, "totals.weight_bytes"), 8030261248.0 * 2);
    assert_exact(jnum(d, "totals.matmul_flops"),
                 32 * (436207616.0 * 4 + 16384.0 * 4 * 1024) + 2.0 * 4 * 4096 * 128256);
    yml_node ops = jget(d, "ops");
    assert_int_equal(yml_seq_len(d, ops), 3 + 12);
    double sum_t = 0;
    for (int i = 0; i < yml_seq_len(d, ops); i++) {
        yml_node op = yml_seq_at(d, ops, i);
        const char *need[] = {"layer", "name", "kind", "flops", "bytes", "intensity", "bound",
                              "time_s"};
        for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
            assert_true(yml_map_get(d, op, need[k]) != 0);
        sum_t += strtod(yml_scalar(d, yml_map_get(d, op, "time_s")), NULL) *
                 strtod(yml_scalar(d, yml_map_get(d, op, "layer_count")), NULL);
    }
    assert_close(sum_t, jnum(d, "totals.time_s"), 1e-12);
    yml_free(d);
}

static void test_cli_csv_and_table(void **state)
{
    (void)state;
    assert_int_equal(run("analyze mixtral --hw a100 --phase prefill --seq 1k --format csv"), 0);
    char *nl = strchr(out_buf, '\n');
    assert_non_null(nl);
    int hdr_cols = 1, row_cols = 1;
    for (char *p = out_buf; p < nl; p++) hdr_cols += *p == ',';
    for (char *p = nl + 1; *p && *p != '\n'; p++) row_cols += *p == ',';
    assert_int_equal(hdr_cols, row_cols);
    assert_non_null(strstr(out_buf, "mixtral-8x7b,A100-SXM4-80GB,prefill,1,1024,,"));
    assert_int_equal(run("analyze qwen3-30b-a3b --hw h200 --phase decode --context 4k --per-op"), 0);
    assert_non_null(strstr(out_buf, "experts_gate_up"));
    assert_non_null(strstr(out_buf, "time per out token"));
    assert_int_equal(run("list models"), 0);
    assert_non_null(strstr(out_buf, "qwen3-235b-a22b"));
    assert_int_equal(run("list hw"), 0);
    assert_non_null(strstr(out_buf, "H20"));
    assert_int_equal(run("list kinds"), 0);
    assert_non_null(strstr(out_buf, "moe"));
}

/* A temp file with text (never NULL: a failed write names a missing file). */
static const char *temp_file(const char *text)
{
    const char *p = tu_write_temp(text);
    return p ? p : "/nonexistent/opbound-temp";
}

/* ---- docs/output.md lists every field the commands print ---- */

static char doc_buf[1 << 16];

static void load_output_doc(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/output.md", OB_DATADIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(doc_buf, 1, sizeof doc_buf - 1, f);
    fclose(f);
    doc_buf[n] = 0;
}

static int undocumented;

static void documented(const char *name, const char *where)
{
    char want[128];
    snprintf(want, sizeof want, "`%s`", name);
    if (!strstr(doc_buf, want)) {
        print_error("%s: field '%s' is not in docs/output.md\n", where, name);
        undocumented++;
    }
}

/* Every mapping key anywhere in the JSON document. */
static void json_keys(struct yml_doc *d, yml_node n, const char *where)
{
    switch (yml_kind_of(d, n)) {
    case YML_MAP:
        for (int i = 0; i < yml_map_len(d, n); i++) {
            yml_node k = yml_map_key_at(d, n, i);
            documented(yml_scalar(d, k), where);
            json_keys(d, yml_map_get(d, n, yml_scalar(d, k)), where);
        }
        break;
    case YML_SEQ:
        for (int i = 0; i < yml_seq_len(d, n); i++) json_keys(d, yml_seq_at(d, n, i), where);
        break;
    default: break;
    }
}

static void json_documented(const char *args)
{
    assert_int_equal(run(args), 0);
    struct yml_doc *d = NULL;
    struct err e;
    if (yml_load_string("json", out_buf, strlen(out_buf), &d, &e)) {
        err_print(&e, stderr);
        fail();
    }
    json_keys(d, yml_root(d), args);
    yml_free(d);
}

/* Every column of the first line of text. */
static void header_documented(const char *text, const char *where)
{
    char line[4096];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(text, "\n"), text);
    for (char *c = strtok(line, ","); c; c = strtok(NULL, ",")) documented(c, where);
}

static void csv_documented(const char *args)
{
    assert_int_equal(run(args), 0);
    header_documented(out_buf, args);
}

static void test_cli_output_documented(void **state)
{
    (void)state;
    load_output_doc();
    undocumented = 0;
    /* the datasheet H100: every kernel + 4 us (the bundled h100 has a launch gap) */
    const char *an =
        "analyze llama-3-8b --hw " TU_IDEAL_H100 " --phase decode --batch 8 --context 4096";
    char args[512];
    snprintf(args, sizeof args, "%s --format json", an);
    json_documented(args);
    json_documented("analyze mixtral --hw h100 --phase prefill --seq 512 --ep 2 --format json");
    json_documented("analyze llama-3-8b --hw h100 --phase decode --context 64 --batch 4 --pp 2 "
                    "--format json");
    json_documented("analyze llama-3-8b --hw h100 --phase decode --context 64 --attn-dp 2 "
                    "--format json");
    json_documented("analyze llama-3-8b --hw duplex-h100 --phase decode --context 4096 --format json");
    json_documented("compare llama-3-8b mixtral --hw h100 --phase decode --context 1k --format json");
    json_documented("analyze llama-3-8b --hw h100 --phase decode --context 64 --profile hf "
                    "--format json");
    json_documented("compare llama-3-8b mixtral --hw h100 --phase decode --context 1k "
                    "--profile engine --format json");
    json_documented("serve " OB_DATADIR "/examples/serve-step3-afd.yaml --format json");
    json_documented("serve " OB_DATADIR "/examples/serve-fleet-disagg.yaml --hw h100 --format json");
    snprintf(args, sizeof args, "%s --format csv", an);
    csv_documented(args);
    snprintf(args, sizeof args, "%s --format csv --per-op", an);
    csv_documented(args);
    csv_documented("analyze llama-3-8b --hw duplex-h100 --phase decode --context 4096 --format csv "
                   "--per-op");
    csv_documented("compare llama-3-8b mixtral --hw h100 --phase decode --context 1k --format csv");
    csv_documented("analyze llama-3-8b --hw h100 --phase decode --context 64 --profile engine "
                   "--format csv");
    csv_documented("compare llama-3-8b mixtral --hw h100 --phase decode --context 1k "
                   "--profile hf --format csv");
    csv_documented("analyze llama-3-8b --hw h100 --phase decode --context 64 --impl "
                   "attention=cudnn --format csv --per-op");
    csv_documented("serve " OB_DATADIR "/examples/serve-step3-afd.yaml --format csv");
    csv_documented("serve " OB_DATADIR "/examples/serve-fleet-disagg.yaml --hw h100 --format csv");
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/opbound-sweep-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(args, sizeof args,
             "sweep llama-3-8b --hw h100 --phase decode --vary context=1k,2k -o %s", dir);
    assert_int_equal(run(args), 0);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    header_documented(text, "sweep.csv");
    snprintf(args, sizeof args, "rm -rf %s", dir);
    assert_int_equal(system(args), 0);
    /* the op kinds, in the per-op table's `kind` row, and the bounds, in its
     * `bound` row (anywhere else in the page they would prove nothing) */
    const char *bounds[] = {"memory", "compute", "network"};
    for (int r = 0; r < 2; r++) {
        const char *row = strstr(doc_buf, r ? "\n| `bound` |" : "\n| `kind` |");
        assert_non_null(row);
        const char *end = strchr(row + 1, '\n');
        assert_non_null(end);
        const int nw = r ? 3 : OP_COUNT; /* every kind the op table names */
        for (int i = 0; i < nw; i++) {
            char want[64];
            snprintf(want, sizeof want, "`%s`", r ? bounds[i] : op_kind_name((enum op_kind)i));
            const char *at = strstr(row, want);
            if (!at || at > end) {
                print_error("docs/output.md: '%s' is not in the `%s` row\n", want,
                            r ? "bound" : "kind");
                undocumented++;
            }
        }
    }
    assert_int_equal(undocumented, 0);
}

/* Exit status 2 for an -o path that cannot be created (here: under a regular
 * file, which fails for root too), for every command that writes files; the
 * reason on stderr, nothing on stdout. */
static void test_cli_unwritable_output(void **state)
{
    (void)state;
    const char *file = temp_file("not a folder\n");
    char args[1024];
    const char *cmds[] = {
        "sweep llama-3-8b --hw h100 --phase decode --vary context=1k,2k -o %s/out",
        "roofline llama-3-8b --hw h100 --phase decode --context 1k -o %s/out/r.png",
        "report " OB_DATADIR "/examples/study-attention.yaml -o %s/out",
        "import " OB_DATADIR "/tests/data/hf/llama-3-8b.json -o %s/out.yaml",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        snprintf(args, sizeof args, cmds[i], file);
        int rc = run(args);
        if (rc != 2 || out_buf[0] || !err_buf[0]) {
            print_error("opbound %s: rc %d, stdout '%.80s', stderr '%s'\n", args, rc, out_buf,
                        err_buf);
            fail();
        }
    }
    unlink(file);
}

/* MODEL and --hw: an existing file is loaded whatever its name; otherwise a
 * bundled name or a prefix that starts exactly one; a folder is refused. */
static void test_cli_model_argument(void **state)
{
    (void)state;
    char cwd[1024], dir[64], src[1024], text[1 << 14];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(dir, sizeof dir, "/tmp/opbound-cwd-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    const char *const copies[][2] = {{"models/llama-3-8b.yaml", "mymodel"},
                                     {"models/llama-3-8b.yaml", "foo.yaml"},
                                     {"hw/h100-sxm5-80gb.yaml", "mydev"}};
    for (size_t i = 0; i < 3; i++) {
        snprintf(src, sizeof src, "%s/%s", OB_DATADIR, copies[i][0]);
        FILE *f = fopen(src, "r");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof text, f);
        fclose(f);
        f = fopen(copies[i][1], "w");
        assert_non_null(f);
        fwrite(text, 1, n, f);
        fclose(f);
    }
    assert_int_equal(mkdir("sub", 0700), 0);
    const char *tail = "--phase decode --context 1 --format json";
    char args[512];
    snprintf(args, sizeof args, "analyze mymodel --hw mydev %s", tail);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_buf, "\"file\": \"mymodel\""));
    assert_non_null(strstr(out_buf, "\"file\": \"mydev\""));
    snprintf(args, sizeof args, "analyze foo.yaml --hw h100 %s", tail);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out_buf, "\"file\": \"foo.yaml\""));
    snprintf(args, sizeof args, "analyze llama-3-8b --hw h100 %s", tail);
    assert_int_equal(run(args), 0);
    expect_usage_error("analyze sub --hw h100 --phase decode --context 1",
                       "sub: is a directory, not a model file (bundled models: ccgqa-1b,");
    expect_usage_error("analyze sub/ --hw h100 --phase decode --context 1",
                       "sub/: is a directory, not a model file\n");
    expect_usage_error("analyze llama-3-8b --hw sub --phase decode --context 1",
                       "sub: is a directory, not a device file");
    expect_usage_error("analyze nothere.yaml --hw h100 --phase decode --context 1",
                       "nothere.yaml: no such file\n");
    /* an ambiguous prefix lists only the names it starts */
    expect_usage_error("analyze qwen --hw h100 --phase decode --context 1",
                       "ambiguous model 'qwen': 2 bundled names start with it "
                       "(qwen3-235b-a22b, qwen3-30b-a3b)\n");
    expect_usage_error("analyze llama-3-8b --hw h --phase decode --context 1",
                       "ambiguous device 'h': 4 bundled names start with it "
                       "(h100-sxm5-80gb, h20, h200, h800)\n");
    unlink("mymodel");
    unlink("foo.yaml");
    unlink("mydev");
    rmdir("sub");
    assert_int_equal(chdir(cwd), 0);
    rmdir(dir);
}

/* compare FILE alone: the file's own error comes first, not "missing --hw". */
static void test_cli_compare_study_first(void **state)
{
    (void)state;
    char args[512], want[512];
    const char *bad = temp_file("name: s\nhw: [h100\n");
    snprintf(args, sizeof args, "compare %s", bad);
    snprintf(want, sizeof want, "%s:3:1: YAML syntax error", bad);
    expect_usage_error(args, want);
    unlink(bad);
    const char *typo = temp_file("name: s\n"
                                     "skeleton: llama-3-8b\n"
                                     "hw: [h100]\n"
                                     "scenarios: [{phase: decode, batch: 1, context: 16}]\n"
                                     "desings: []\n");
    snprintf(args, sizeof args, "compare %s", typo);
    snprintf(want, sizeof want, "%s:5:1: unknown key 'desings'", typo);
    expect_usage_error(args, want);
    unlink(typo);
    /* a model file is not a study: it still needs --hw */
    expect_usage_error("compare " OB_DATADIR "/models/llama-3-8b.yaml", "missing --hw HW");
}

/* The table's time line gives the share of fixed per-kernel time: Llama-3-8B
 * decode has 3 + 32 x 12 = 387 kernels (embed, final_norm, lm_head; per layer
 * attn_norm, qkv_proj, rope, kv_write, attention, o_proj, attn_residual,
 * ffn_norm, gate_up_proj, silu_mul, down_proj, ffn_residual), each with the
 * H100 file's 4 us overhead: 387 x 4 us over the step time. Under --tp 2 the
 * all-reduce of 8 tokens x 4096 x 2 bytes sends 2 x (1/2) x 65,536 = 65,536
 * bytes over 450 GB/s: t_network_s = 65,536 / 450e9. */
static void test_cli_overhead_and_network(void **state)
{
    (void)state;
    /* the datasheet H100: every kernel + 4 us (the bundled h100 has a launch gap) */
    const char *an =
        "analyze llama-3-8b --hw " TU_IDEAL_H100 " --phase decode --batch 8 --context 4096";
    char args[512];
    snprintf(args, sizeof args, "%s --format json", an);
    assert_int_equal(run(args), 0);
    struct yml_doc *d = NULL;
    struct err e;
    assert_int_equal(yml_load_string("json", out_buf, strlen(out_buf), &d, &e), 0);
    assert_exact(jnum(d, "totals.kernels"), 387);
    assert_exact(jnum(d, "hw.kernel_overhead_s"), 4e-6);
    const double t = jnum(d, "totals.time_s");
    yml_free(d);
    char want[64];
    snprintf(want, sizeof want, "387 kernels, overhead %.0f%%)", 100.0 * 387 * 4e-6 / t);
    assert_int_equal(run(an), 0);
    assert_non_null(strstr(out_buf, want));
    snprintf(args, sizeof args, "%s --tp 2 --per-op --format csv", an);
    assert_int_equal(run(args), 0);
    const char *row = strstr(out_buf, "\n0,32,0,attention,attn_allreduce,allreduce,");
    assert_non_null(row);
    assert_non_null(strstr(out_buf, ",time_s,bytes_interconnect,t_network_s\n"));
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(row + 1, "\n"), row + 1);
    const char *c2 = strrchr(line, ',');
    assert_non_null(c2);
    assert_close(strtod(c2 + 1, NULL), 65536.0 / 450e9, 1e-15);
    char *c1 = strrchr(line, ',');
    *c1 = 0;
    c1 = strrchr(line, ',');
    assert_exact(strtod(c1 + 1, NULL), 65536);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_help_and_version),
        cmocka_unit_test(test_cli_usage_errors),
        cmocka_unit_test(test_cli_bad_file_position),
        cmocka_unit_test(test_cli_json_contract),
        cmocka_unit_test(test_cli_csv_and_table),
        cmocka_unit_test(test_cli_output_documented),
        cmocka_unit_test(test_cli_unwritable_output),
        cmocka_unit_test(test_cli_model_argument),
        cmocka_unit_test(test_cli_compare_study_first),
        cmocka_unit_test(test_cli_overhead_and_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
