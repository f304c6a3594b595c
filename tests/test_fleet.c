/* test_fleet.c - replicas behind a router (sim/fleet.c) and time series:
 * every event of small scenarios computed by hand on the test device
 * (tests/data/test-overhead.yaml: every kernel costs its 1 ms overhead, so an
 * iteration of tiny-gelu is 14 ms when a sequence samples a token: see
 * tests/test_serve.c), a one-replica fleet equal to serve_run bit for bit,
 * disaggregated prefill / decode with the KV transfer by hand, and loader
 * errors with FILE:LINE:COL. */
#include "testutil.h"

#include <string.h>

#include "../sim/fleet.h"
#include "../sim/serve.h"

#define TINY_MODEL OB_DATADIR "/tests/data/tiny-gelu.yaml"
#define TEST_DEVICE OB_DATADIR "/tests/data/test-overhead.yaml"
#define MS 1e-3

static struct serve_scenario *load_ok(const char *text)
{
    struct serve_scenario *s = NULL;
    struct err e;
    if (serve_load(tu_write_temp(text), &s, &e)) {
        err_print(&e, stderr);
        fail();
    }
    return s;
}

static void fleet_ok(const struct serve_scenario *s, struct fleet_result *r)
{
    struct err e;
    if (fleet_run(s, NULL, r, &e)) {
        err_print(&e, stderr);
        fail();
    }
}

/* Four requests at t = 0 cycling {10 in, 3 out} and {10 in, 1 out} (so
 * requests 0 and 2 want 3 tokens, 1 and 3 one), two replicas, max batch 4,
 * token budget 64 (both prompts fit one iteration).
 *
 * Round robin: r0 gets requests 0 and 2, r1 gets 1 and 3. r0: a 14 ms prefill
 * of both prompts (first tokens at 14 ms), two 14 ms decode iterations (tokens
 * 2 and 3 at 28 and 42 ms): 3 iterations, end-to-end 42 ms each. r1: one
 * 14 ms prefill finishes both (one output each): 1 iteration, end-to-end 14
 * ms. Fleet: 4 iterations, makespan 42 ms, TTFT 14 ms for all four, TBT 14 ms
 * (four gaps), end-to-end mean (42 + 42 + 14 + 14) / 4 = 28 ms, 8 output
 * tokens.
 *
 * Least outstanding tokens (prompt + output tokens still to do, ties to the
 * lower index): request 0 (13 tokens) -> r0 (0 vs 0); request 1 (11) -> r1
 * (13 vs 0); request 2 (13) -> r1 (13 vs 11); request 3 (11) -> r0 (13 vs
 * 24). Each replica holds one 3-token and one 1-token request: a prefill and
 * two decodes, 3 iterations each, 6 in all; makespan 42 ms; end-to-end {42,
 * 14} on each. */
static void test_fleet_two_replicas_by_hand(void **state)
{
    (void)state;
    char text[1024];
    for (int lt = 0; lt <= 1; lt++) {
        snprintf(text, sizeof text,
                 "model: %s\nrequests: 4\n"
                 "lengths: [{input: 10, output: 3}, {input: 10, output: 1}]\n"
                 "max_batch: 4\ntoken_budget: 64\n"
                 "fleet:\n  router: %s\n  replicas:\n    - {count: 2, tp: 1, hw: %s}\n",
                 TINY_MODEL, lt ? "least_tokens" : "round_robin", TEST_DEVICE);
        struct serve_scenario *s = load_ok(text);
        struct fleet_result r;
        fleet_ok(s, &r);
        assert_int_equal(r.n, 2);
        assert_close(r.total.makespan_s, 42 * MS, 1e-9);
        assert_exact(r.total.output_tokens, 8);
        assert_close(r.total.ttft_s.mean, 14 * MS, 1e-9);
        assert_close(r.total.ttft_s.max, 14 * MS, 1e-9);
        assert_close(r.total.tbt_s.mean, 14 * MS, 1e-9);
        assert_close(r.total.e2e_s.mean, 28 * MS, 1e-9);
        assert_close(r.total.e2e_s.max, 42 * MS, 1e-9);
        if (!lt) {
            assert_exact(r.total.iterations, 4);
            assert_exact(r.rep[0].iterations, 3);
            assert_exact(r.rep[1].iterations, 1);
            assert_exact(r.rep[0].output_tokens, 6);
            assert_exact(r.rep[1].output_tokens, 2);
            assert_close(r.rep[1].e2e_s.max, 14 * MS, 1e-9);
        } else {
            assert_exact(r.total.iterations, 6);
            assert_exact(r.rep[0].iterations, 3);
            assert_exact(r.rep[1].iterations, 3);
            assert_exact(r.rep[0].output_tokens, 4);
            assert_exact(r.rep[1].output_tokens, 4);
            assert_close(r.rep[1].e2e_s.mean, 28 * MS, 1e-9);
        }
        assert_exact(r.rep[0].requests + r.rep[1].requests, 4);
        fleet_result_free(&r);
        serve_free(s);
    }
}

/* Disaggregated: one prefill and one decode replica, one request of 100 +
 * 3 tokens, a link of 1e6 B/s and 1 ms latency. The prefill replica runs the
 * 100-token prompt in one 14 ms iteration (first token at 14 ms). Its KV
 * cache, tiny-gelu's 1 layer x 1 KV head x 4 head dim x 2 (K, V) x 2 B = 16 B
 * per token, is 100 x 16 = 1,600 B: 1 ms + 1600 / 1e6 s = 2.6 ms on the link,
 * so the first token reaches the user at TTFT = 16.6 ms. The decode replica
 * admits it at 16.6 ms and runs two 14 ms decodes: tokens at 30.6 and 44.6
 * ms, gaps 14 ms each, end-to-end and makespan 44.6 ms. */
static void test_fleet_disaggregated_by_hand(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 100, output: 3}]\n"
             "max_batch: 4\ntoken_budget: 128\n"
             "fleet:\n  router: round_robin\n  replicas:\n"
             "    - {tp: 1, hw: %s, role: prefill}\n    - {tp: 1, hw: %s, role: decode}\n"
             "  kv_link_bytes_per_s: 1e6\n  kv_link_latency_s: 1e-3\n",
             TINY_MODEL, TEST_DEVICE, TEST_DEVICE);
    struct serve_scenario *s = load_ok(text);
    struct fleet_result r;
    fleet_ok(s, &r);
    assert_exact(r.kv_transfers, 1);
    assert_exact(r.kv_transfer_bytes, 1600);
    assert_close(r.kv_transfer_s, 2.6 * MS, 1e-9);
    assert_close(r.total.ttft_s.mean, 16.6 * MS, 1e-9);
    assert_close(r.total.tbt_s.mean, 14 * MS, 1e-9);
    assert_close(r.total.tbt_s.max, 14 * MS, 1e-9);
    assert_close(r.total.e2e_s.mean, 44.6 * MS, 1e-9);
    assert_close(r.total.makespan_s, 44.6 * MS, 1e-9);
    assert_exact(r.total.output_tokens, 3);
    assert_exact(r.rep[0].iterations, 1);
    assert_exact(r.rep[1].iterations, 2);
    assert_exact(r.rep[0].input_tokens, 100);
    assert_exact(r.rep[1].input_tokens, 0);
    fleet_result_free(&r);
    serve_free(s);
}

/* One replica fed every request is serve_run: the same scheduler, the same
 * iterations, every field of the result equal (llama-3-8b on the bundled
 * H100, a uniform mix with Poisson arrivals, so arrivals land while
 * iterations run). */
static void test_fleet_one_replica_is_serve_run(void **state)
{
    (void)state;
    struct device *h100 = tu_device("h100-sxm5-80gb");
    assert_non_null(h100);
    const char *mix = "model: llama-3-8b\nrequests: 300\n"
                      "uniform: {input_min: 20, input_max: 900, output_min: 2, output_max: 90}\n"
                      "arrival_rate_per_s: 30\nmax_batch: 16\ntoken_budget: 512\n"
                      "prefill_chunk: 256\n";
    struct serve_scenario *s = load_ok(mix);
    struct serve_result want;
    struct err e;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &want, &e), 0);
    serve_free(s);
    char text[1024];
    snprintf(text, sizeof text, "%sfleet:\n  router: least_tokens\n  replicas:\n    - {tp: 1}\n",
             mix);
    s = load_ok(text);
    struct fleet_result r;
    assert_int_equal(fleet_run(s, h100, &r, &e), 0);
    assert_true(r.rep[0].iterations == want.iterations);
    assert_true(r.rep[0].makespan_s == want.makespan_s);
    assert_true(r.rep[0].ttft_s.p99 == want.ttft_s.p99);
    assert_memory_equal(&r.rep[0], &want, sizeof want);
    /* the fleet's own latency streams see the same samples */
    assert_true(r.total.ttft_s.mean == want.ttft_s.mean);
    assert_true(r.total.e2e_s.p99 == want.e2e_s.p99);
    assert_true(r.total.tbt_s.mean == want.tbt_s.mean);
    fleet_result_free(&r);
    serve_free(s);
    device_free(h100);
}

/* Time series: one request of 100 + 3 tokens on one replica, three 14 ms
 * iterations (0-14, 14-28, 28-42 ms), windows of 10 ms. One sequence runs
 * from 0 to 42 ms: windows [0,10), [10,20), [20,30), [30,40) hold 10 ms of
 * it, [40,50) holds 2 ms (integrals 10, 10, 10, 10, 2 sequence-ms). Tokens:
 * the first at 14 ms (window 1), the second at 28 (window 2), the third at
 * 42 (window 4). KV held: the reserved 102 x 16 = 1,632 B throughout. The
 * test device's roofline terms add < 1e-12 s per kernel: tolerance 1e-6. */
static void test_fleet_series_by_hand(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 100, output: 3}]\n"
             "max_batch: 4\ntoken_budget: 128\n", TINY_MODEL);
    struct serve_scenario *s = load_ok(text);
    s->series_window_s = 10 * MS;
    struct device *d = tu_test_device();
    struct serve_result r;
    struct err e;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e), 0);
    const struct serve_series *ts = &r.series;
    assert_int_equal(ts->n, 5);
    const double running[] = {10, 10, 10, 10, 2}, tokens[] = {0, 1, 1, 0, 1};
    for (int k = 0; k < 5; k++) {
        assert_close(ts->running[k], running[k] * MS, 1e-6);
        assert_close(ts->kv[k], running[k] * MS * 1632, 1e-6);
        assert_exact(ts->queue[k], 0);
        assert_exact(ts->tokens[k], tokens[k]);
    }
    /* widened to 20 ms: pairs merge */
    serve_series_widen(&r.series, 20 * MS);
    assert_int_equal(ts->n, 3);
    assert_close(ts->running[0], 20 * MS, 1e-6);
    assert_close(ts->running[2], 2 * MS, 1e-6);
    assert_exact(ts->tokens[1], 1);
    serve_result_free(&r);
    device_free(d);
    serve_free(s);
}

/* Speculative decoding by hand: tiny-gelu as target and draft, k = 2, a =
 * 0.5: E = (1 - 0.5^3) / (1 - 0.5) = 0.875 / 0.5 = 1.75 tokens per verify.
 * One request of 10 + 8 tokens. Every iteration of tiny-gelu that samples
 * is 14 kernels = 14 ms on the test device, a verify of q = 3 included; a
 * decoding iteration adds k = 2 draft decode steps (2 x 14 ms) before its
 * verify (14 ms): 42 ms. The prefill (14 ms, no draft) gives token 1 at 14
 * ms. Credit 1.75, 3.5, 5.25, 7.0 after each verify: floor differences 1, 2,
 * 2, 2 tokens, totals 2, 4, 6, 8 = the output, at 56, 98, 140, 182 ms. Five
 * iterations, makespan 182 ms, draft time 4 x 28 = 112 ms; gaps: 42 ms for
 * the first verify's one token, then 42 / 2 = 21 ms for each of the six
 * tokens of the next three: mean (42 + 6 x 21) / 7 = 24 ms, max 42 ms. */
static void test_serve_speculative_by_hand(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 10, output: 8}]\n"
             "max_batch: 4\ntoken_budget: 64\n"
             "speculative: {draft: %s, k: 2, accept: 0.5}\n", TINY_MODEL, TINY_MODEL);
    struct serve_scenario *s = load_ok(text);
    struct device *d = tu_test_device();
    struct serve_result r;
    struct err e;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e), 0);
    assert_exact(r.spec_tokens_per_verify, 1.75);
    assert_exact(r.iterations, 5);
    assert_exact(r.output_tokens, 8);
    assert_close(r.makespan_s, 182 * MS, 1e-6);
    assert_close(r.e2e_s.mean, 182 * MS, 1e-6);
    assert_close(r.ttft_s.mean, 14 * MS, 1e-6);
    assert_close(r.spec_draft_s, 112 * MS, 1e-6);
    assert_close(r.tbt_s.mean, 24 * MS, 1e-6);
    assert_close(r.tbt_s.max, 42 * MS, 1e-6);
    assert_close(r.iter_s.max, 42 * MS, 1e-6);
    /* the draft (here the target model itself) holds the target's weight
     * bytes, and the KV limit is that much below the same run without it */
    const double kv_spec = r.kv_limit_bytes, w_draft = r.spec_draft_weight_bytes_dev;
    serve_result_free(&r);
    serve_free(s);
    snprintf(text, sizeof text,
             "model: %s\nrequests: 1\nlengths: [{input: 10, output: 8}]\n"
             "max_batch: 4\ntoken_budget: 64\n", TINY_MODEL);
    s = load_ok(text);
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e), 0);
    assert_true(w_draft > 0);
    assert_exact(w_draft, r.weight_bytes_dev);
    assert_exact(r.kv_limit_bytes - kv_spec, w_draft);
    assert_exact(r.iterations, 8); /* plain: a prefill and 7 decodes */
    serve_result_free(&r);
    device_free(d);
    serve_free(s);
}

/* A request that fits one replica but not another the router may pick is
 * refused before the run, at the mix (line 3). */
static void test_fleet_request_never_fits(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text,
             "model: %s\nrequests: 2\nlengths: [{input: 100, output: 3}]\n"
             "max_batch: 4\ntoken_budget: 128\nkv_memory_bytes: 1000\n"
             "fleet:\n  router: round_robin\n  replicas:\n    - {count: 2, tp: 1, hw: %s}\n",
             TINY_MODEL, TEST_DEVICE);
    struct serve_scenario *s = load_ok(text);
    struct fleet_result r;
    struct err e;
    assert_int_equal(fleet_run(s, NULL, &r, &e), -1);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, "1632 bytes of KV cache per device on replica 0"));
    serve_free(s);
}

/* The bundled fleet and speculative examples run end to end through the
 * command; --timeseries writes its csv (header as docs/output.md lists) and
 * script, and the chart when gnuplot is installed. */
static void test_fleet_examples_end_to_end(void **state)
{
    (void)state;
    static char out[1 << 16], err[4096];
    char dir[512], args[1536], path[600];
    snprintf(dir, sizeof dir, "%s", tu_write_temp("x"));
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), ".d");
    snprintf(args, sizeof args,
             "serve " OB_DATADIR "/examples/serve-fleet-llama8b.yaml --hw h100 --format csv "
             "--timeseries %s/ts.png --window 5", dir);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "scenario,model,router,replica,role,hw,tp,requests"));
    assert_non_null(strstr(out, "least_tokens,3,both,A100-SXM4-80GB,2,"));
    snprintf(path, sizeof path, "%s/ts.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "replica,label,t_start_s,window_s,queue_mean,running_mean,"
                              "kv_mean_bytes,kv_occupancy,output_tokens_per_s\n");
    snprintf(path, sizeof path, "%s/ts.gp", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    fclose(f);
    if (!strstr(err, "{png,svg,gp,csv}")) print_message("gnuplot not found: chart skipped\n");
    static const char *const ext[] = {"csv", "gp", "png", "svg"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/ts.%s", dir, ext[i]);
        remove(path);
    }
    remove(dir);
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-fleet-disagg.yaml --hw h100",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "kv_transfers                   2000"));
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-llama70b-spec.yaml --hw h100 "
                            "--format json",
                            out, sizeof out, err, sizeof err),
                     0);
    /* E = (1 - 0.7^5) / (1 - 0.7) = (1 - 0.16807) / 0.3 = 2.7731 */
    assert_non_null(strstr(out, "\"spec_tokens_per_verify\": 2.773"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_two_replicas_by_hand),
        cmocka_unit_test(test_fleet_disaggregated_by_hand),
        cmocka_unit_test(test_fleet_one_replica_is_serve_run),
        cmocka_unit_test(test_fleet_series_by_hand),
        cmocka_unit_test(test_fleet_request_never_fits),
        cmocka_unit_test(test_serve_speculative_by_hand),
        cmocka_unit_test(test_fleet_examples_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
