/* test_serve_sched.c - the serving scheduler's workload and policies: request
 * traces (the three CSV layouts, their errors at FILE:LINE:COL, replay timed
 * by hand), the request generator (arrival processes and length
 * distributions, against an independent implementation of the documented
 * formulas and against their moments), prefix caching (every hit, eviction
 * and byte derived by hand) and SLO attainment. */
#include "testutil.h"

#include "../sim/serve.h"
#include "../sim/prefix_cache.h"
#include "../sim/trace.h"

/* tiny-gelu on the test device: every kernel costs its 1 ms overhead; an
 * iteration is 14 kernels when some sequence samples a token, 13 without
 * lm_head (tests/test_serve.c, test_serve_tiny_by_hand); KV 16 B per token. */
#define TINY_MODEL OB_DATADIR "/tests/data/tiny-gelu.yaml"
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

static struct serve_result tiny_run(const char *text)
{
    struct serve_scenario *s = load_ok(text);
    struct device *d = tu_test_device();
    struct serve_result r;
    struct err e;
    if (serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e)) {
        err_print(&e, stderr);
        fail();
    }
    device_free(d);
    serve_free(s);
    return r;
}

/* ---- traces ---- */

static void load_trace(const char *text, struct trace *t)
{
    struct err e;
    if (trace_load(tu_write_temp(text), 0, t, &e)) {
        err_print(&e, stderr);
        fail();
    }
}

/* Azure layout: 18:15:46.6805900 -> 18:15:50.9951690 is 4.3145790 s; the
 * third row crosses midnight and a month: 2023-11-30 23:59:59.5 is 14 days
 * 5 h 44 min 12.8194100 s after the first row = 14 x 86400 + 5 x 3600 + 44 x
 * 60 + 12.81941 = 1,230,252.81941 s. */
static void test_trace_azure(void **state)
{
    (void)state;
    struct trace t;
    load_trace("TIMESTAMP,ContextTokens,GeneratedTokens\n"
               "2023-11-16 18:15:46.6805900,374,44\n"
               "2023-11-16 18:15:50.9951690,396,109\n"
               "2023-11-30 23:59:59.5,10,2\n"
               "2023-12-01 00:00:00.25,7,1\n",
               &t);
    assert_int_equal(t.layout, TRACE_AZURE);
    assert_int_equal(t.n, 4);
    assert_exact(t.r[0].arrival_s, 0);
    assert_close(t.r[1].arrival_s, 4.314579, 1e-12);
    assert_close(t.r[2].arrival_s, 1230252.81941, 1e-15);
    assert_close(t.r[3].arrival_s - t.r[2].arrival_s, 0.75, 1e-9);
    assert_exact(t.r[0].input, 374);
    assert_exact(t.r[1].output, 109);
    assert_int_equal(t.r[3].line, 5);
    trace_free(&t);
    /* the calendar's ends (a fuzzer found nanoseconds since 1970 overflowing
     * 64 bits there): 0001-01-01 to 9999-12-31 is 3,652,058 days (Python's
     * date.toordinal difference), + 23:59:59.5 */
    load_trace("TIMESTAMP,ContextTokens,GeneratedTokens\n"
               "0001-01-01 00:00:00,1,1\n9999-12-31 23:59:59.5,1,1\n",
               &t);
    assert_close(t.r[1].arrival_s, 3652058.0 * 86400 + 86399.5, 1e-15);
    trace_free(&t);
}

/* BurstGPT layout: a row with 0 response tokens (a failed request) is
 * skipped and counted; arrivals from the first row kept (5 s): 0, 40 s. The
 * Session ID column of the later release groups turns. */
static void test_trace_burstgpt(void **state)
{
    (void)state;
    struct trace t;
    load_trace("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
               "3,ChatGPT,100,0,100,API log\n"
               "5,ChatGPT,472,18,490,Conversation log\n"
               "45,GPT-4,1087,230,1317,Conversation log\n",
               &t);
    assert_int_equal(t.layout, TRACE_BURSTGPT);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.skipped, 1);
    assert_exact(t.r[0].arrival_s, 0);
    assert_exact(t.r[1].arrival_s, 40);
    assert_exact(t.r[1].input, 1087);
    assert_exact(t.r[1].output, 230);
    assert_true(t.r[0].session == 0);
    trace_free(&t);
    load_trace("Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,"
               "Total tokens,Log Type\n"
               "0,a,1.5,ChatGPT,10,2,12,Conversation log\n"
               "1,b,1.5,ChatGPT,10,2,12,Conversation log\n"
               "2,a,1.5,ChatGPT,22,2,24,Conversation log\n",
               &t);
    assert_true(t.r[0].session != 0 && t.r[0].session == t.r[2].session);
    assert_true(t.r[1].session != t.r[0].session);
    trace_free(&t);
}

/* The opbound layout, any column order, quoted fields, CRLF line ends. */
static void test_trace_opbound(void **state)
{
    (void)state;
    struct trace t;
    load_trace("input_tokens,output_tokens,arrival_s,session,prefix,prefix_tokens\r\n"
               "100,5,0.5,\"s,1\",sys,64\r\n"
               "30,1,0.75,,,0\r\n",
               &t);
    assert_int_equal(t.layout, TRACE_OPBOUND);
    assert_int_equal(t.n, 2);
    assert_exact(t.r[1].arrival_s, 0.25);
    assert_exact(t.r[0].prefix_tokens, 64);
    assert_true(t.r[0].session != 0 && t.r[0].prefix != 0);
    assert_true(t.r[1].session == 0 && t.r[1].prefix == 0);
    trace_free(&t);
}

static void expect_trace_error(const char *text, int line, int col, const char *msg)
{
    struct trace t;
    struct err e;
    memset(&e, 0, sizeof e);
    const char *p = tu_write_temp(text);
    const int rc = trace_load(p, 0, &t, &e);
    if (rc == 0 || e.line != line || e.col != col || !strstr(e.msg, msg) || strcmp(e.file, p)) {
        print_error("want %d:%d '%s', got rc %d %d:%d '%s'\n", line, col, msg, rc, e.line, e.col,
                    e.msg);
        fail();
    }
}

static void test_trace_errors(void **state)
{
    (void)state;
    /* columns counted from 1 in the line as written */
    expect_trace_error("arrival_s,input_tokens,outputs\n", 1, 24, "unknown trace column 'outputs'");
    expect_trace_error("TIMESTAMP,Request tokens\n", 1, 11, "belongs to the BurstGPT layout");
    expect_trace_error("arrival_s,input_tokens\n", 1, 1, "no 'output_tokens' column");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n0,10,x\n", 2, 6,
                       "token count 'x' is not a whole number");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n0,16777217,1\n", 2, 3, "over 2^24");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n1,10,1\n0.5,10,1\n", 3, 1,
                       "goes back in time");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n1,10\n", 2, 5,
                       "expected 3 comma-separated fields");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n1,10,1,7\n", 2, 8,
                       "expected 3 comma-separated fields");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n-1,10,1\n", 2, 1,
                       "not a number of seconds");
    expect_trace_error("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-02-29 00:00:00,1,1\n", 2, 1,
                       "not a date and time");
    expect_trace_error("arrival_s,input_tokens,output_tokens,prefix,prefix_tokens\n0,10,1,p,11\n",
                       2, 10, "prefix_tokens (11) is more than the prompt");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n0,0,1\n", 2, 1, "no request");
    expect_trace_error("", 1, 1, "empty trace");
    expect_trace_error("arrival_s,input_tokens,output_tokens\n\"0,1,1\n", 2, 1, "quote");
}

/* Replay timed by hand (tiny-gelu, 14 ms per iteration). Requests at 0 s
 * (100 + 3 tokens) and 1 s (100 + 2): each meets an empty system. The first
 * takes a prefill and two decodes (3 x 14 ms); the second a prefill and one
 * decode: TTFT {14, 14} ms, makespan 1 + 0.028 s, 5 iterations.
 * trace_time_scale 0.01 brings the second to 10 ms: it joins the first's
 * second iteration [14, 28] ms as a prefill beside a decode (still 14
 * kernels); its first token at 28 ms (TTFT 18 ms), its second at 42 ms with
 * the first's third: 3 iterations, makespan 42 ms.
 * SLO (TTFT 16 ms, TPOT 15 ms): TPOT = (e2e - TTFT) / (output - 1): first
 * (42 - 14) / 2 = 14 ms, second (32 - 18) / 1 = 14 ms; TTFT met by the first
 * only: attainment TTFT 1/2, TPOT 2/2, both 1/2; goodput 1 request and its 3
 * tokens over 42 ms. */
static void test_trace_replay_by_hand(void **state)
{
    (void)state;
    const char *tr = tu_write_temp("arrival_s,input_tokens,output_tokens\n0,100,3\n1,100,2\n");
    char text[1024];
    snprintf(text, sizeof text,
             "model: %s\ntrace: %s\nmax_batch: 4\ntoken_budget: 256\n", TINY_MODEL, tr);
    struct serve_result r = tiny_run(text);
    assert_exact(r.requests, 2);
    assert_exact(r.iterations, 5);
    assert_close(r.makespan_s, 1.028, 1e-9);
    assert_close(r.ttft_s.max, 14 * MS, 1e-9);
    assert_exact(r.input_tokens, 200);
    assert_exact(r.output_tokens, 5);
    snprintf(text, sizeof text,
             "model: %s\ntrace: %s\ntrace_time_scale: 0.01\nmax_batch: 4\ntoken_budget: 256\n"
             "slo: {ttft_s: 0.016, tpot_s: 0.015}\n", TINY_MODEL, tr);
    r = tiny_run(text);
    assert_exact(r.iterations, 3);
    assert_close(r.makespan_s, 42 * MS, 1e-9);
    assert_close(r.ttft_s.mean, 16 * MS, 1e-9);
    assert_close(r.ttft_s.max, 18 * MS, 1e-9);
    assert_exact(r.slo_ttft_attainment, 0.5);
    assert_exact(r.slo_tpot_attainment, 1);
    assert_exact(r.slo_attainment, 0.5);
    assert_close(r.goodput_requests_per_s, 1 / (42 * MS), 1e-9);
    assert_close(r.goodput_tokens_per_s, 3 / (42 * MS), 1e-9);
    /* `requests: 1` replays the first row only */
    snprintf(text, sizeof text,
             "model: %s\ntrace: %s\nrequests: 1\nmax_batch: 4\ntoken_budget: 256\n", TINY_MODEL,
             tr);
    r = tiny_run(text);
    assert_exact(r.requests, 1);
    assert_exact(r.iterations, 3);
}

/* The bundled samples replay end to end, from the scenario and by --trace. */
static void test_trace_samples(void **state)
{
    (void)state;
    static char out[1 << 16], err[4096];
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-trace-azure.yaml --hw h100 "
                            "--format json", out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\"requests\": 200"));
    assert_non_null(strstr(out, "\"slo_attainment\""));
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-trace-burstgpt.yaml --hw h100 "
                            "--format csv", out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "trace_rows_skipped"));
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-chat-prefix.yaml --hw h100",
                            out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "prefix_hit_rate"));
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-llama8b-fixed.yaml --hw h100 "
                            "--trace " OB_DATADIR "/examples/traces/burstgpt-sample.csv "
                            "--slo-ttft 0.2 --format json",
                            out, sizeof out, err, sizeof err), 0);
    /* the scenario's requests: 300 keeps all 193 rows with tokens */
    assert_non_null(strstr(out, "\"requests\": 193"));
    assert_non_null(strstr(out, "\"slo_ttft_s\": 0.2"));
    /* a bad row: FILE:LINE:COL, exit 2 */
    const char *bad = tu_write_temp("arrival_s,input_tokens,output_tokens\n0,10,1\n1,ten,1\n");
    char args[512], want[256];
    snprintf(args, sizeof args, "serve %s/examples/serve-llama8b-fixed.yaml --hw h100 --trace %s",
             OB_DATADIR, bad);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
    snprintf(want, sizeof want, "%s:3:3: token count 'ten'", bad);
    if (!strstr(err, want)) {
        print_error("stderr: %s\n", err);
        fail();
    }
    assert_int_equal(tu_run("serve " OB_DATADIR "/examples/serve-llama8b-fixed.yaml --hw h100 "
                            "--slo-ttft soon", out, sizeof out, err, sizeof err), 2);
}

/* ---- the generator, against an independent implementation ---- */

static uint64_t sm64(uint64_t *s) /* splitmix64, written from its paper */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double unit(uint64_t *s) { return (double)(sm64(s) >> 11) / 9007199254740992.0; }

/* First values by the documented formulas: arrival gaps -ln(1 - u) / rate
 * from the stream seeded seed ^ 0x5eed (cv 1 is exactly Poisson); lognormal
 * lengths round(exp(mu + sigma z)), z = sqrt(-2 ln(1 - u1)) cos(2 pi u2), from
 * the stream seeded seed, input before output. */
static void test_gen_first_values(void **state)
{
    (void)state;
    struct serve_scenario *s = load_ok("model: llama-3-8b\nrequests: 3\n"
                                       "lognormal: {input: {mu: 6, sigma: 0.5}, output: {mu: 4, "
                                       "sigma: 1}}\narrival_rate_per_s: 2\nseed: 7\n"
                                       "max_batch: 4\ntoken_budget: 64\n");
    struct serve_gen g;
    serve_gen_init(&g, s);
    struct serve_req_spec q[3];
    for (int i = 0; i < 3; i++) serve_gen_next(&g, &q[i]);
    serve_gen_free(&g);
    uint64_t as = 7 ^ 0x5eedULL, rs = 7;
    const double g1 = -log(1 - unit(&as)) / 2, g2 = -log(1 - unit(&as)) / 2;
    assert_exact(q[0].arrival_s, 0);
    assert_close(q[1].arrival_s, g1, 1e-15);
    assert_close(q[2].arrival_s, g1 + g2, 1e-15);
    const double pi = 3.14159265358979323846;
    double u1 = unit(&rs), u2 = unit(&rs);
    const double zin = sqrt(-2 * log(1 - u1)) * cos(2 * pi * u2);
    u1 = unit(&rs), u2 = unit(&rs);
    const double zout = sqrt(-2 * log(1 - u1)) * cos(2 * pi * u2);
    assert_exact(q[0].input, fmax(1, round(exp(6 + 0.5 * zin))));
    assert_exact(q[0].output, fmax(1, round(exp(4 + 1.0 * zout))));
    serve_free(s);
}

static void moments(const double *v, int n, double *mean, double *cv)
{
    double m = 0, m2 = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) m2 += (v[i] - m) * (v[i] - m);
    *mean = m;
    *cv = sqrt(m2 / (n - 1)) / m;
}

/* Gamma gaps with arrival_cv 2 at 4 requests/s over 200,000 requests: mean
 * gap 0.25 s (within 1.5%; its standard error is 2 / sqrt(2e5) = 0.45%) and
 * CV 2 (within 3%). A rate curve of 1/s then 3/s over halves of a 100 s
 * period: 3/4 of the arrivals in second halves (within 1%), and its inverse
 * by hand: Lambda(50) = 50, so u = 80 is 50 + 30 / 3 = 60 s; u = 250 is a
 * whole period (200) + 50: 150 s; with rates [0, 2], u = 10 is 50 + 10 / 2 =
 * 55 s. */
static void test_gen_arrivals_moments(void **state)
{
    (void)state;
    enum { N = 200000 };
    static double gap[N];
    struct serve_scenario *s = load_ok("model: llama-3-8b\nrequests: 10\n"
                                       "lengths: [{input: 1, output: 1}]\n"
                                       "arrival_rate_per_s: 4\narrival_cv: 2\n"
                                       "max_batch: 4\ntoken_budget: 64\n");
    struct serve_gen g;
    serve_gen_init(&g, s);
    struct serve_req_spec q;
    double last = 0;
    serve_gen_next(&g, &q);
    for (int i = 0; i < N; i++) {
        serve_gen_next(&g, &q);
        gap[i] = q.arrival_s - last;
        last = q.arrival_s;
    }
    serve_gen_free(&g);
    double mean, cv;
    moments(gap, N, &mean, &cv);
    assert_close(mean, 0.25, 0.015);
    assert_close(cv, 2, 0.03);
    serve_free(s);

    s = load_ok("model: llama-3-8b\nrequests: 10\nlengths: [{input: 1, output: 1}]\n"
                "arrival_curve: {period_s: 100, rates_per_s: [1, 3]}\n"
                "max_batch: 4\ntoken_budget: 64\n");
    assert_close(serve_curve_time(s, 80), 60, 1e-15);
    assert_close(serve_curve_time(s, 250), 150, 1e-15);
    assert_exact(serve_curve_time(s, 0), 0);
    serve_gen_init(&g, s);
    int high = 0;
    for (int i = 0; i < 40000; i++) {
        serve_gen_next(&g, &q);
        high += fmod(q.arrival_s, 100) >= 50;
    }
    serve_gen_free(&g);
    assert_close(high / 40000.0, 0.75, 0.01);
    s->rates_per_s[0] = 0, s->rates_per_s[1] = 2;
    assert_close(serve_curve_time(s, 10), 55, 1e-15);
    serve_free(s);
}

/* Lognormal by mean 500 and CV 0.5 (sigma^2 = ln 1.25, mu = ln 500 -
 * sigma^2 / 2): sample mean within 1% and CV within 2% over 100,000 (the
 * rounding to whole tokens moves them by far less). Histogram edges [1, 101,
 * 1001], weights [3, 1]: 3/4 of the lengths in 1..100 (mean 50.5), 1/4 in
 * 101..1000 (mean 550.5): mean 0.75 x 50.5 + 0.25 x 550.5 = 175.5. */
static void test_gen_lengths_moments(void **state)
{
    (void)state;
    enum { N = 100000 };
    static double v[N];
    struct serve_scenario *s = load_ok("model: llama-3-8b\nrequests: 10\n"
                                       "lognormal: {input: {mean: 500, cv: 0.5}, output: {mean: "
                                       "20, cv: 1}}\nmax_batch: 4\ntoken_budget: 64\n");
    assert_close(s->dist[0].sigma, sqrt(log(1.25)), 1e-15);
    assert_close(s->dist[0].mu, log(500) - log(1.25) / 2, 1e-15);
    struct serve_gen g;
    struct serve_req_spec q;
    serve_gen_init(&g, s);
    for (int i = 0; i < N; i++) serve_gen_next(&g, &q), v[i] = q.input;
    serve_gen_free(&g);
    double mean, cv;
    moments(v, N, &mean, &cv);
    assert_close(mean, 500, 0.01);
    assert_close(cv, 0.5, 0.02);
    serve_free(s);

    s = load_ok("model: llama-3-8b\nrequests: 10\n"
                "histogram:\n  input: {edges: [1, 101, 1001], weights: [3, 1]}\n"
                "  output: {edges: [5, 6], weights: [1]}\nmax_batch: 4\ntoken_budget: 64\n");
    serve_gen_init(&g, s);
    int low = 0;
    for (int i = 0; i < N; i++) {
        serve_gen_next(&g, &q);
        v[i] = q.input;
        low += q.input <= 100;
        assert_true(q.input >= 1 && q.input <= 1000);
        assert_exact(q.output, 5); /* one bin holding 5 only */
    }
    serve_gen_free(&g);
    moments(v, N, &mean, &cv);
    assert_close(low / (double)N, 0.75, 0.01);
    assert_close(mean, 175.5, 0.015);
    serve_free(s);
}

/* ---- prefix caching, by hand ---- */

/* Blocks of 16 tokens of 16 B: 256 B each. Requests of 100 + 1 tokens need
 * (100 + 1 - 1) x 16 = 1600 B. KV memory 2000 B.
 *  A (0 s, prefix P of 64 tokens): nothing cached; prefills 100 tokens, then
 *    caches floor(100 / 16) = 6 blocks (tokens 0-63 are P's, 64-95 its own);
 *    finishing frees its last 4 tokens' 64 B: 1536 B cached, none held.
 *  C (1 s, prefix Q): no hit; 1536 + 1600 = 3136 > 2000, but 1536 are
 *    evictable: evict ceil(1136 / 256) = 5 blocks, A's least recently used
 *    leaves from the deepest (A5 .. A1); A0 stays. Held: 256 + 1600 = 1856.
 *    C caches its 6 blocks.
 *  D (2 s, prefix P): A0 (tokens 0-15 of P) is cached, A1 is gone: hit 1
 *    block = 16 tokens (of floor(99 / 16) = 6 it may match); needs 1600 - 256
 *    = 1344 more: 256 + 1536 + 1344 = 3136 > 2000, evict 5 of C's 6 blocks;
 *    1856 B held again. D prefills 100 - 16 = 84 tokens.
 * Hits: 16 tokens over 300 prompt tokens, 1 request; 10 blocks evicted; peak
 * 1856 B. Each request alone: one 14 ms iteration; makespan 2.014 s. */
static void test_prefix_cache_by_hand(void **state)
{
    (void)state;
    const char *tr = tu_write_temp("arrival_s,input_tokens,output_tokens,prefix,prefix_tokens\n"
                                   "0,100,1,P,64\n1,100,1,Q,64\n2,100,1,P,64\n");
    char text[1024];
    snprintf(text, sizeof text,
             "model: %s\ntrace: %s\nmax_batch: 4\ntoken_budget: 256\nkv_memory_bytes: 2000\n"
             "prefix_cache: {block_tokens: 16}\n", TINY_MODEL, tr);
    struct serve_result r = tiny_run(text);
    assert_exact(r.prefix_block_tokens, 16);
    assert_exact(r.prefix_hit_tokens, 16);
    assert_exact(r.prefix_hit_requests, 1);
    assert_exact(r.prefix_hit_rate, 16.0 / 300);
    assert_exact(r.prefix_evicted_blocks, 10);
    assert_exact(r.kv_peak_bytes, 1856);
    assert_exact(r.iterations, 3);
    assert_close(r.makespan_s, 2.014, 1e-9);
    /* With room for everything (no eviction) D finds P's 4 blocks (64
     * tokens), and a whole cached prompt still computes its last token: a
     * repeat of A (same prefix, 64 tokens, but its own tokens 64-99 are
     * A's alone) matches only P's 4 blocks. */
    snprintf(text, sizeof text,
             "model: %s\ntrace: %s\nmax_batch: 4\ntoken_budget: 256\nkv_memory_bytes: 100000\n"
             "prefix_cache: {}\n", TINY_MODEL, tr);
    r = tiny_run(text);
    assert_exact(r.prefix_hit_tokens, 64);
    assert_exact(r.prefix_evicted_blocks, 0);
    /* peak before D's iteration: A's 6 and C's 6 cached blocks, 12 x 256 =
     * 3072 B, + D's 1600 - 4 x 256 = 576 B beyond its hit: 3648 B */
    assert_exact(r.kv_peak_bytes, 3648);
}


/* The tree's LRU order. Path a0-a1 is released first (tick 1), b0 second
 * (tick 2); then a0 alone is held and released (tick 3). Evictable leaves:
 * a1 (1), b0 (2); a0 has a child. Evicting one takes a1; a0 becomes a leaf
 * last used at tick 3, after b0: the next eviction takes b0, not a0 (which
 * a plain "parent goes first" rule would). Counts: 3 blocks, then 2, 1. */
static void test_prefix_tree_lru(void **state)
{
    (void)state;
    struct pcache c;
    pcache_init(&c);
    const uint64_t a[2] = {11, 12}, b[1] = {21};
    struct pcache_path p = {0};
    assert_int_equal(pcache_insert(&c, a, 2, &p), 2);
    pcache_release(&c, &p);
    assert_int_equal(pcache_insert(&c, b, 1, &p), 1);
    pcache_release(&c, &p);
    size_t unref = 0;
    assert_int_equal(pcache_peek(&c, a, 2, &unref), 2);
    assert_int_equal(unref, 2);
    pcache_match(&c, a, 1, &p);
    assert_int_equal(c.n_unref, 2); /* a1 and b0 */
    pcache_release(&c, &p);
    assert_int_equal(c.n_nodes, 3);
    assert_int_equal(pcache_evict(&c, 1), 1);
    assert_int_equal(pcache_peek(&c, a, 2, NULL), 1); /* a1 went */
    assert_int_equal(pcache_evict(&c, 1), 1);
    assert_int_equal(pcache_peek(&c, b, 1, NULL), 0); /* then b0 */
    assert_int_equal(pcache_peek(&c, a, 2, NULL), 1); /* a0 stays */
    assert_int_equal(c.n_nodes, 1);
    assert_int_equal(pcache_evict(&c, 5), 1);
    assert_int_equal(c.n_nodes, 0);
    /* held blocks are never evicted */
    pcache_insert(&c, a, 2, &p);
    assert_int_equal(pcache_evict(&c, 2), 0);
    pcache_release(&c, &p);
    pcache_path_free(&p);
    /* many blocks: the table grows and deletion keeps every key findable */
    uint64_t keys[5000];
    for (int i = 0; i < 5000; i++) keys[i] = (uint64_t)i * 7919u + 1;
    assert_int_equal(pcache_insert(&c, keys, 5000, &p), 5000);
    pcache_release(&c, &p);
    assert_int_equal(pcache_peek(&c, keys, 5000, NULL), 5000);
    /* a's two blocks (released earlier) go first, then the chain's deepest 2498 */
    assert_int_equal(pcache_evict(&c, 2500), 2500);
    assert_int_equal(pcache_peek(&c, a, 2, NULL), 0);
    assert_int_equal(pcache_peek(&c, keys, 5000, NULL), 2502);
    pcache_path_free(&p);
    pcache_free(&c);
}

/* Chat sessions (one session, turns 1000 s apart, so each meets an idle
 * system): messages of 20 tokens, outputs of 4. Turn prompts: 20, 20 + 4 +
 * 20 = 44, 44 + 4 + 20 = 68. Turn 1 leaves 20 + 4 - 1 = 23 tokens: 1 full
 * block cached. Turn 2 may match floor(43 / 16) = 2 blocks, finds 1 (16
 * tokens); it leaves 44 + 3 = 47 tokens: 2 blocks. Turn 3 may match
 * floor(67 / 16) = 4, finds 2 (32 tokens). Hits 48 of 132 prompt tokens, 2
 * requests. */
static void test_prefix_cache_chat(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text,
             "model: %s\nrequests: 3\nlengths: [{input: 20, output: 4}]\n"
             "arrival_rate_per_s: 1e-3\nchat: {sessions: 1}\nmax_batch: 4\ntoken_budget: 256\n"
             "prefix_cache: {block_tokens: 16}\n", TINY_MODEL);
    struct serve_scenario *s = load_ok(text);
    struct serve_gen g;
    serve_gen_init(&g, s);
    struct serve_req_spec q[3];
    for (int i = 0; i < 3; i++) serve_gen_next(&g, &q[i]);
    serve_gen_free(&g);
    assert_exact(q[0].input, 20);
    assert_exact(q[1].input, 44);
    assert_exact(q[2].input, 68);
    assert_true(q[0].session == q[2].session && q[0].session != 0);
    serve_free(s);
    struct serve_result r = tiny_run(text);
    assert_exact(r.input_tokens, 132);
    assert_exact(r.prefix_hit_tokens, 48);
    assert_exact(r.prefix_hit_requests, 2);
    /* a shared system prompt of 32 tokens in front: prompts 52, 76, 100;
     * turn 1 leaves 55 tokens (3 blocks), turn 2 matches floor(75 / 16) = 4
     * candidates, finds 3 (48); leaves 79 (4 blocks); turn 3 finds 4 of
     * floor(99 / 16) = 6 (64 tokens): 112 of 228 */
    snprintf(text, sizeof text,
             "model: %s\nrequests: 3\nlengths: [{input: 20, output: 4}]\n"
             "arrival_rate_per_s: 1e-3\nchat: {sessions: 1}\nshared_prompt: {tokens: 32}\n"
             "max_batch: 4\ntoken_budget: 256\nprefix_cache: {block_tokens: 16}\n", TINY_MODEL);
    r = tiny_run(text);
    assert_exact(r.input_tokens, 228);
    assert_exact(r.prefix_hit_tokens, 112);
}

/* A hit prefills only the uncached suffix while attention reads the cached
 * context: on the H100 roofline, the second of two identical-prefix requests
 * (512-token shared prompt, prompt 600, 1 output; 32 blocks of 16 cached)
 * has TTFT = the engine's cost of 600 - 512 = 88 new tokens at context 512. */
static void test_prefix_cache_prefill_saved(void **state)
{
    (void)state;
    struct device *h100 = tu_device_ideal();
    const char *tr = tu_write_temp("arrival_s,input_tokens,output_tokens,prefix,prefix_tokens\n"
                                   "0,600,1,sys,512\n1000,600,1,sys,512\n");
    char text[1024];
    snprintf(text, sizeof text,
             "model: llama-3-8b\ntrace: %s\nmax_batch: 4\ntoken_budget: 1024\n"
             "prefix_cache: {block_tokens: 16}\n", tr);
    struct serve_scenario *s = load_ok(text);
    struct serve_engine en;
    assert_int_equal(serve_engine_init(&en, s->m, h100, 1, s->m->dt_w, s->m->dt_act,
                                       s->m->dt_kv), 0);
    struct eval_totals tot;
    const struct serve_item full = {1, 600, 0, 1}, rest = {1, 88, 512, 1};
    const double t_full = serve_engine_eval(&en, &full, 1, &tot);
    const double t_rest = serve_engine_eval(&en, &rest, 1, &tot);
    serve_engine_free(&en);
    struct serve_result r;
    struct err e;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = h100}, 1, &r, &e), 0);
    assert_exact(r.prefix_hit_tokens, 512);
    assert_close(r.ttft_s.max, t_full, 1e-12);
    assert_close(r.ttft_s.p50, t_rest, 1e-12); /* nearest rank: the smaller */
    assert_true(t_rest < t_full);
    serve_free(s);
    device_free(h100);
}


/* ---- preemption and timeouts, by hand ---- */

/* Two requests at t = 0 of 10 + 5 tokens (tiny-gelu, 16 B per token; 14 ms
 * per iteration), KV memory 400 B: each final footprint is 14 x 16 = 224 B,
 * both together 448 B. Paged (preemption: recompute):
 *  it 1 [0, 14]: A and B admitted on their prompts (160 B each: 320 B), both
 *     prefilled: token 1 each.
 *  it 2 [14, 28]: both decode, holding 11 tokens: 352 B; token 2.
 *  it 3 [28, 42]: 12 tokens each: 384 B; token 3.
 *  it 4 [42, 56]: 13 tokens each would be 416 B > 400: B, the latest
 *     admitted, is preempted: its 12 tokens (192 B) dropped; A alone holds 13
 *     (208 B); token 4 of A.
 *  it 5 [56, 70]: B would need its prompt and 3 tokens again, 13 x 16 = 208
 *     B: 208 + 208 > 400, it waits; A holds 14 tokens (224 B), token 5: done.
 *  it 6 [70, 84]: B prefills 13 tokens, which gives its token 4 (gap 84 - 42
 *     = 42 ms).
 *  it 7 [84, 98]: B decodes token 5.
 * 7 iterations, makespan 98 ms, 1 preemption, 12 tokens recomputed; TBT max
 * 42 ms. By swap at 1e6 B/s: it 4 swaps B's 192 B out (0.192 ms); in it 5 B
 * would come back needing 13 tokens (208 + 208 > 400): waits; it 6 swaps
 * it in (0.192 ms) and decodes token 4 at 84.384 ms; token 5 at 98.384 ms.
 * Swapped 2 x 192 B, swap time 0.384 ms. Without preemption (reserving the
 * final footprint) B waits for A's 5 iterations, then runs its own 5: 10
 * iterations, 140 ms. */
static void test_preemption_by_hand(void **state)
{
    (void)state;
    char text[1024];
    const char *base = "model: %s\nrequests: 2\nlengths: [{input: 10, output: 5}]\n"
                       "max_batch: 4\ntoken_budget: 64\nkv_memory_bytes: 400\n%s";
    snprintf(text, sizeof text, base, TINY_MODEL, "preemption: {mode: recompute}\n");
    struct serve_result r = tiny_run(text);
    assert_exact(r.iterations, 7);
    assert_close(r.makespan_s, 98 * MS, 1e-9);
    assert_exact(r.preemptions, 1);
    assert_exact(r.recomputed_tokens, 12);
    assert_exact(r.swapped_bytes, 0);
    assert_close(r.tbt_s.max, 42 * MS, 1e-9);
    assert_close(r.ttft_s.max, 14 * MS, 1e-9);
    assert_exact(r.kv_peak_bytes, 384); /* it 3; it 4 holds 208 after the preemption */
    snprintf(text, sizeof text, base, TINY_MODEL,
             "preemption: {mode: swap, swap_bytes_per_s: 1e6}\n");
    r = tiny_run(text);
    assert_exact(r.iterations, 7);
    assert_exact(r.preemptions, 1);
    assert_exact(r.swapped_bytes, 384);
    assert_close(r.swap_time_s, 0.384 * MS, 1e-9);
    assert_close(r.makespan_s, 98.384 * MS, 1e-9);
    assert_exact(r.recomputed_tokens, 0);
    snprintf(text, sizeof text, base, TINY_MODEL, "");
    r = tiny_run(text);
    assert_exact(r.iterations, 10);
    assert_close(r.makespan_s, 140 * MS, 1e-9);
    assert_exact(r.preemptions, 0);
}

/* max_wait_s: two requests of 10 + 3 at t = 0 and room for one (192 B of
 * 200): B waits for A's 3 iterations (42 ms). With 30 ms it has waited too
 * long at the admission at 42 ms: dropped (timed out), 1 request served,
 * 3 output tokens, makespan 42 ms; SLO attainment counts it as missed. With
 * 50 ms it is admitted at 42 ms. */
static void test_max_wait_by_hand(void **state)
{
    (void)state;
    char text[1024];
    const char *base = "model: %s\nrequests: 2\nlengths: [{input: 10, output: 3}]\n"
                       "max_batch: 4\ntoken_budget: 64\nkv_memory_bytes: 200\nmax_wait_s: %s\n"
                       "slo: {ttft_s: 1}\n";
    snprintf(text, sizeof text, base, TINY_MODEL, "0.03");
    struct serve_result r = tiny_run(text);
    assert_exact(r.timed_out, 1);
    assert_exact(r.output_tokens, 3);
    assert_exact(r.iterations, 3);
    assert_close(r.makespan_s, 42 * MS, 1e-9);
    assert_exact(r.slo_attainment, 0.5);
    snprintf(text, sizeof text, base, TINY_MODEL, "0.05");
    r = tiny_run(text);
    assert_exact(r.timed_out, 0);
    assert_exact(r.iterations, 6);
    assert_exact(r.slo_attainment, 1);
}


/* Priority classes (lower first, then arrival; vLLM's priority policy): room
 * for one request of 10 + 3 at a time (192 of 200 B), A (class 1) at 0, B
 * (class 1) at 1 ms, C (class 0) at 2 ms. A runs [0, 42] ms; then C (class 0)
 * goes before B: C [42, 84], first token at 56 ms (TTFT 54 ms), B [84, 126],
 * first token at 98 ms (TTFT 97 ms; waited 83 ms). Without the column, B then
 * C: TTFTs 55 and 96 ms (C waited 82 ms). Synthetic classes with shares [3, 1]:
 * 3/4 of 100,000 requests in class 0 (within 1%). */
static void test_priority_by_hand(void **state)
{
    (void)state;
    const char *tp = tu_write_temp("arrival_s,input_tokens,output_tokens,priority\n"
                                   "0,10,3,1\n0.001,10,3,1\n0.002,10,3,0\n");
    const char *tn = tu_write_temp("arrival_s,input_tokens,output_tokens\n"
                                   "0,10,3\n0.001,10,3\n0.002,10,3\n");
    char text[1024];
    const char *base = "model: %s\ntrace: %s\nmax_batch: 4\ntoken_budget: 64\n"
                       "kv_memory_bytes: 200\n";
    snprintf(text, sizeof text, base, TINY_MODEL, tp);
    struct serve_result r = tiny_run(text);
    assert_exact(r.priority_classes, 2);
    assert_close(r.ttft_s.max, 97 * MS, 1e-9);
    assert_close(r.wait_max_s, 83 * MS, 1e-9);
    assert_close(r.makespan_s, 126 * MS, 1e-9);
    snprintf(text, sizeof text, base, TINY_MODEL, tn);
    r = tiny_run(text);
    assert_exact(r.priority_classes, 1);
    assert_close(r.ttft_s.max, 96 * MS, 1e-9);
    assert_close(r.wait_max_s, 82 * MS, 1e-9);

    struct serve_scenario *s = load_ok("model: llama-3-8b\nrequests: 10\n"
                                       "lengths: [{input: 1, output: 1}]\npriorities: [3, 1]\n"
                                       "max_batch: 4\ntoken_budget: 64\n");
    struct serve_gen g;
    struct serve_req_spec q;
    serve_gen_init(&g, s);
    int zero = 0;
    for (int i = 0; i < 100000; i++) {
        serve_gen_next(&g, &q);
        assert_true(q.priority == 0 || q.priority == 1);
        zero += q.priority == 0;
    }
    serve_gen_free(&g);
    assert_close(zero / 100000.0, 0.75, 0.01);
    serve_free(s);
}

/* ---- scenario errors ---- */

static void expect_error(const char *text, int line, int col, const char *msg)
{
    struct serve_scenario *s = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = serve_load(tu_write_temp(text), &s, &e);
    if (rc == 0) {
        struct device *d = tu_device_ideal();
        struct serve_result r;
        rc = serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e);
        device_free(d);
        serve_free(s);
    }
    if (rc == 0 || e.line != line || (col && e.col != col) || !strstr(e.msg, msg)) {
        print_error("want %d:%d '%s', got rc %d %d:%d '%s'\n", line, col, msg, rc, e.line,
                    e.col, e.msg);
        fail();
    }
}

#define HEAD "model: llama-3-8b\nmax_batch: 4\ntoken_budget: 64\n" /* lines 1-3 */

static void test_sched_errors(void **state)
{
    (void)state;
    expect_error(HEAD "requests: 2\nlognormal: {input: {mu: 1, mean: 3}, output: {mu: 1, "
                      "sigma: 1}}\n",
                 5, 20, "give either {mu, sigma} or {mean, cv}");
    expect_error(HEAD "requests: 2\nhistogram:\n  input: {edges: [1, 5, 5], weights: [1, 1]}\n"
                      "  output: {edges: [1, 2], weights: [1]}\n",
                 6, 25, "edges must increase (5 follows 5)");
    expect_error(HEAD "requests: 2\nhistogram:\n  input: {edges: [1, 5, 9], weights: [1]}\n"
                      "  output: {edges: [1, 2], weights: [1]}\n",
                 6, 38, "3 edges make 2 bins, but 1 weights");
    expect_error(HEAD "requests: 2\nhistogram:\n  input: {edges: [1, 5], weights: [0]}\n"
                      "  output: {edges: [1, 2], weights: [1]}\n",
                 6, 35, "the weights are all zero");
    expect_error(HEAD "requests: 2\nlengths: [{input: 1, output: 1}]\narrival_cv: 2\n", 6, 13,
                 "'arrival_cv' needs 'arrival_rate_per_s' or 'arrival_curve'");
    expect_error(HEAD "requests: 2\nlengths: [{input: 1, output: 1}]\narrival_cv: 0\n", 6, 13,
                 "'arrival_cv' must be at least");
    expect_error(HEAD "requests: 2\nlengths: [{input: 1, output: 1}]\n"
                      "arrival_curve: {period_s: 10, rates_per_s: [0, 0]}\n",
                 6, 44, "the rates are all zero");
    expect_error(HEAD "requests: 2\nlengths: [{input: 1, output: 1}]\n"
                      "arrival_curve: {period_s: 10, rates_per_s: [1, -1]}\n",
                 6, 48, "'rates_per_s item' must be at least 0");
    expect_error(HEAD "requests: 2\nlengths: [{input: 1, output: 1}]\ntrace_time_scale: 2\n", 6,
                 19, "'trace_time_scale' needs a 'trace'");
    expect_error(HEAD "lengths: [{input: 1, output: 1}]\n", 1, 1,
                 "missing required key 'requests'");
    expect_error(HEAD "trace: /nonexistent/t.csv\n", 4, 8, "cannot open the trace");
    expect_error(HEAD "requests: 2\nlengths: [{input: 1, output: 1}]\ntrace: x.csv\n", 6, 8,
                 "give one request mix: 'lengths' and 'trace' both given");
    const char *tr = tu_write_temp("arrival_s,input_tokens,output_tokens\n0,1,1\n");
    char text[512];
    snprintf(text, sizeof text, HEAD "trace: %s\narrival_rate_per_s: 3\n", tr);
    expect_error(text, 5, 21, "does not apply to a trace");
    /* a request that never fits points at its trace row */
    const char *big = tu_write_temp("arrival_s,input_tokens,output_tokens\n0,1,1\n0,5000,1\n");
    snprintf(text, sizeof text, HEAD "trace: %s\nkv_memory_bytes: 1e6\n", big);
    struct serve_scenario *s = load_ok(text);
    struct device *d = tu_device_ideal();
    struct serve_result r;
    struct err e;
    assert_int_equal(serve_run(s, &(struct serve_hw){.d = d}, 1, &r, &e), -1);
    assert_string_equal(e.file, big);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.col, 3);
    assert_non_null(strstr(e.msg, "can never be served"));
    serve_free(s);
    device_free(d);
    /* prefix caching needs whole-context KV in every layer */
    snprintf(text, sizeof text,
             "model: %s/examples/attn-swa.yaml\nmax_batch: 4\ntoken_budget: 64\nrequests: 1\n"
             "lengths: [{input: 1, output: 1}]\nprefix_cache: {block_tokens: 16}\n", OB_DATADIR);
    expect_error(text, 6, 15, "sliding-window or recurrent");
    expect_error(HEAD "requests: 2\nlengths: [{input: 1, output: 1}]\nslo: {}\n", 6, 6,
                 "'slo' needs ttft_s, tpot_s or both");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_azure),
        cmocka_unit_test(test_trace_burstgpt),
        cmocka_unit_test(test_trace_opbound),
        cmocka_unit_test(test_trace_errors),
        cmocka_unit_test(test_trace_replay_by_hand),
        cmocka_unit_test(test_trace_samples),
        cmocka_unit_test(test_gen_first_values),
        cmocka_unit_test(test_gen_arrivals_moments),
        cmocka_unit_test(test_gen_lengths_moments),
        cmocka_unit_test(test_prefix_cache_by_hand),
        cmocka_unit_test(test_prefix_tree_lru),
        cmocka_unit_test(test_prefix_cache_chat),
        cmocka_unit_test(test_prefix_cache_prefill_saved),
        cmocka_unit_test(test_preemption_by_hand),
        cmocka_unit_test(test_max_wait_by_hand),
        cmocka_unit_test(test_priority_by_hand),
        cmocka_unit_test(test_sched_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
