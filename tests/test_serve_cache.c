/* test_serve_cache.c - the serve engine's iteration cache (sim/serve_cache.h):
 * a run answered from the cache equals the run that evaluates every
 * iteration, field for field and bit for bit, on real device files (whose
 * iteration times differ by composition, so a wrong hit would show); the
 * engine answers a repeated composition, in any order, without evaluating;
 * the cache stays bounded when it fills. */
#include "testutil.h"

#include <string.h>

#include "../sim/serve.h"
#include "../sim/serve_cache.h"

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

/* Runs s with and without the cache; every field but the cache counters
 * must be identical (memcmp: serve_run zeroes the result first, so padding
 * is equal too). Returns the cached run's hits. */
static double cached_equals_uncached(struct serve_scenario *s, const struct serve_hw *hw,
                                     double tp)
{
    struct serve_result rc, ru;
    struct err e;
    s->no_cache = false;
    if (serve_run(s, hw, tp, &rc, &e)) err_print(&e, stderr), fail();
    s->no_cache = true;
    if (serve_run(s, hw, tp, &ru, &e)) err_print(&e, stderr), fail();
    const double hits = rc.cache_hits;
    print_message("%s: %g of %g evaluations from the cache\n", s->name, hits, hits + rc.cache_misses);
    assert_true(hits > 0);          /* the comparison means something */
    assert_true(ru.cache_hits == 0); /* and the uncached run evaluated everything */
    assert_true(ru.cache_misses >= ru.iterations);
    rc.cache_hits = rc.cache_misses = ru.cache_hits = ru.cache_misses = 0;
    assert_true(rc.iterations == ru.iterations);
    assert_true(rc.makespan_s == ru.makespan_s);
    assert_true(rc.ttft_s.p99 == ru.ttft_s.p99);
    assert_memory_equal(&rc, &ru, sizeof rc);
    return hits;
}

/* Three mixes: the fixed llama-3-8b mix (all at t = 0: compositions repeat),
 * a uniform mix of short requests with Poisson arrivals (small batches, so
 * some compositions repeat), and an AFD scenario
 * (two engines, micro-batches). */
static void test_serve_cache_run_equals_uncached(void **state)
{
    (void)state;
    struct device *h100 = tu_device("h100-sxm5-80gb");
    assert_non_null(h100);
    const struct serve_hw hw = {.d = h100};
    struct serve_scenario *s = load_ok("name: fixed\nmodel: llama-3-8b\nrequests: 600\n"
                                       "lengths:\n  - {input: 512, output: 128}\n"
                                       "  - {input: 2048, output: 512}\n"
                                       "  - {input: 8192, output: 64}\n"
                                       "max_batch: 64\ntoken_budget: 1024\n");
    cached_equals_uncached(s, &hw, 1);
    serve_free(s);
    s = load_ok("name: uniform\nmodel: llama-3-8b\nrequests: 400\n"
                "uniform: {input_min: 3, input_max: 5, output_min: 2, output_max: 4}\n"
                "arrival_rate_per_s: 2000\nmax_batch: 4\ntoken_budget: 8\n"
                "prefill_chunk: 2\n");
    cached_equals_uncached(s, &hw, 1);
    serve_free(s);
    s = load_ok("name: afd\nmodel: qwen3-30b-a3b\nrequests: 200\n"
                "lengths:\n  - {input: 300, output: 50}\n  - {input: 40, output: 90}\n"
                "max_batch: 32\ntoken_budget: 512\n"
                "afd: {attention_devices: 2, ffn_devices: 2, micro_batches: 3}\n");
    cached_equals_uncached(s, &hw, 2);
    serve_free(s);
    device_free(h100);
}

/* The engine: decodes at contexts 7, 3, 7 and a 5-token chunk at 0 are
 * evaluated once; the same items in another order hit the merged key (the
 * two decodes at 7 merge into one group of n = 2 either way); a group given
 * as one item of n = 2 hits it too; a different context is evaluated. Each
 * answer equals a no-cache engine's evaluation of the same items. */
static void test_serve_cache_engine(void **state)
{
    (void)state;
    struct device *h100 = tu_device("h100-sxm5-80gb");
    struct model *m = tu_model("llama-3-8b");
    assert_non_null(h100);
    assert_non_null(m);
    struct serve_engine c, u;
    assert_int_equal(serve_engine_init(&c, m, h100, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    assert_int_equal(serve_engine_init(&u, m, h100, 1, m->dt_w, m->dt_act, m->dt_kv), 0);
    u.no_cache = true;
    const struct serve_item a[] = {{1, 1, 7, 1}, {1, 1, 3, 1}, {1, 1, 7, 1}, {1, 5, 0, 1}};
    const struct serve_item b[] = {{1, 5, 0, 1}, {1, 1, 7, 1}, {1, 1, 3, 1}, {1, 1, 7, 1}};
    const struct serve_item g[] = {{2, 1, 7, 2}, {1, 5, 0, 1}, {1, 1, 3, 1}};
    const struct serve_item d[] = {{1, 1, 8, 1}, {1, 1, 3, 1}, {1, 1, 7, 1}, {1, 5, 0, 1}};
    struct eval_totals tc, tu;
    const double ta = serve_engine_eval(&u, a, 4, &tu);
    assert_true(serve_engine_eval(&c, a, 4, &tc) == ta);
    assert_memory_equal(&tc, &tu, sizeof tc);
    assert_true(c.calls == 1 && c.evaluated == 1);
    assert_true(serve_engine_eval(&c, b, 4, &tc) == ta);
    assert_memory_equal(&tc, &tu, sizeof tc);
    assert_true(serve_engine_eval(&c, g, 3, &tc) == ta);
    assert_true(serve_engine_eval(&c, a, 4, &tc) == ta); /* as given, again */
    assert_true(c.calls == 4 && c.evaluated == 1);
    const double td = serve_engine_eval(&u, d, 4, &tu);
    assert_true(td != ta); /* context 8 instead of 7 reads more KV */
    assert_true(serve_engine_eval(&c, d, 4, &tc) == td);
    assert_memory_equal(&tc, &tu, sizeof tc);
    assert_true(c.calls == 5 && c.evaluated == 2);
    serve_engine_free(&c);
    serve_engine_free(&u);
    model_free(m);
    device_free(h100);
}

/* Bounded: SERVE_CACHE_ENTRIES + 1 distinct keys of one word empty the
 * table once; the last key is found, the first is gone. */
static void test_serve_cache_bounded(void **state)
{
    (void)state;
    struct serve_cache *c = serve_cache_new();
    assert_non_null(c);
    struct eval_totals t;
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i <= SERVE_CACHE_ENTRIES; i++) {
        const double k = (double)i;
        t.time_s = k;
        serve_cache_put(c, &k, 1, serve_cache_hash(&k, 1), &t);
    }
    double hits, misses, flushes;
    serve_cache_counts(c, &hits, &misses, &flushes);
    assert_true(flushes == 1);
    const double last = (double)SERVE_CACHE_ENTRIES, first = 0;
    const struct eval_totals *f = serve_cache_find(c, &last, 1, serve_cache_hash(&last, 1));
    assert_non_null(f);
    assert_true(f->time_s == last);
    assert_null(serve_cache_find(c, &first, 1, serve_cache_hash(&first, 1)));
    serve_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_cache_engine),
        cmocka_unit_test(test_serve_cache_bounded),
        cmocka_unit_test(test_serve_cache_run_equals_uncached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
