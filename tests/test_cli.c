/* test_cli.c - the opbound command as a user runs it: exit codes (0, or 2 for
 * bad input with nothing on stdout), FILE:LINE:COL messages, help and version,
 * and the JSON/csv contract (JSON parsed back with libyaml, since JSON is YAML's
 * flow subset). */
#include "testutil.h"


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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_help_and_version),
        cmocka_unit_test(test_cli_usage_errors),
        cmocka_unit_test(test_cli_bad_file_position),
        cmocka_unit_test(test_cli_json_contract),
        cmocka_unit_test(test_cli_csv_and_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
