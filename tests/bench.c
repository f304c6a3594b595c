/* bench.c - engine speed: full-model scenario evaluations per second after
 * parsing once (`make bench`; results in BENCHMARKS.md).
 *
 * Workload: qwen3-235b-a22b on H100, decode, a grid of batch x context points;
 * each evaluation is analysis_run: lowering and roofline of the decode step and
 * of the matching prefill (for TTFT), memory footprint, fit and largest batch,
 * i.e. every figure `opbound analyze` prints. Single thread.
 *
 * Second section: the serving simulator (sim/serve.h), qwen3-235b-a22b on 8 x H100
 * (tp 8), a uniform request mix run for 10,000 iterations; reports seconds per
 * 10,000 iterations (target: well under 1 s on one core).
 *
 * Third section (issue 23 item 4): 10^6 requests of the llama-3-8b fixed mix
 * (tests/bench-serve-1m.yaml) on one H100, with the engine's iteration cache
 * (best of 2) and without it (once), in the same process: seconds, ratio,
 * cache hits, peak memory; the two runs' results must be equal. Target: the
 * cached run under 10 s. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "../sim/analyze.h"
#include "../sim/serve.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int load(struct model **m, struct device **d)
{
    struct err e;
    if (model_load(OB_DATADIR "/models/qwen3-235b-a22b.yaml", m, &e) ||
        device_load(OB_DATADIR "/hw/h100-sxm5-80gb.yaml", d, &e)) {
        err_print(&e, stderr);
        return -1;
    }
    return 0;
}

int main(void)
{
    struct model *m = NULL;
    struct device *d = NULL;
    if (load(&m, &d)) return 2;
    struct analysis a;
    if (analysis_init(&a, m)) return 1;
    static const double batches[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
    static const double contexts[] = {128, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
                                      131072};
    const int points = 100;
    double sink = 0;
    long evals = 0;
    /* Repeat the grid until at least 1 s has passed; report the best of 5 runs. */
    double best = 0;
    for (int run = 0; run < 5; run++) {
        long n = 0;
        const double t0 = now_s();
        double t1;
        do {
            for (int i = 0; i < 10; i++)
                for (int j = 0; j < 10; j++) {
                    struct scenario sc = {.phase = PHASE_DECODE, .batch = batches[i],
                                          .context = contexts[j]};
                    analysis_run(&a, m, d, &sc);
                    sink += a.tot.time_s + a.ttft_s + a.max_batch;
                }
            n += points;
            t1 = now_s();
        } while (t1 - t0 < 1.0);
        const double rate = (double)n / (t1 - t0);
        if (rate > best) best = rate;
        evals += n;
    }
    printf("engine: qwen3-235b-a22b decode on H100, %d-point batch x context grid\n", points);
    printf("  ops per evaluation: %d (decode step) + %d (prefill for TTFT)\n", a.graph.n,
           a.other.n);
    printf("  %.0f evaluations/s on one core (best of 5 runs; %.3f us each; %ld total)\n", best,
           1e6 / best, evals);
    printf("  target: >= 1,000,000/s -> %s\n", best >= 1e6 ? "met" : "NOT met");
    if (sink == 42) puts(""); /* keeps the loop from being optimised away */

    /* serving simulator: 10,000 iterations (best of 3 runs) */
    struct serve_scenario *s = NULL;
    struct err e;
    if (serve_load(OB_DATADIR "/tests/bench-serve.yaml", &s, &e)) {
        err_print(&e, stderr);
        return 2;
    }
    double best_s = 1e30;
    struct serve_result r;
    for (int run = 0; run < 3; run++) {
        const double t0 = now_s();
        if (serve_run(s, &(struct serve_hw){.d = d}, 8, &r, &e)) {
            err_print(&e, stderr);
            return 2;
        }
        const double dt = now_s() - t0;
        if (dt < best_s) best_s = dt;
    }
    const double per_10k = best_s / r.iterations * 10000.0;
    printf("serve: qwen3-235b-a22b on 8 x H100 (tp 8), tests/bench-serve.yaml\n");
    printf("  %.0f iterations, %.0f requests, up to %.0f running; %.3f s per 10,000 iterations "
           "(%.1f us each; best of 3)\n",
           r.iterations, r.requests, s->max_batch, per_10k, 1e6 * best_s / r.iterations);
    printf("  target: 10,000 iterations well under 1 s -> %s\n", per_10k < 0.5 ? "met" : "NOT met");
    serve_free(s);

    /* 10^6 requests, cached and uncached */
    struct device *h100 = NULL;
    if (serve_load(OB_DATADIR "/tests/bench-serve-1m.yaml", &s, &e) ||
        device_load(OB_DATADIR "/hw/h100-sxm5-80gb.yaml", &h100, &e)) {
        err_print(&e, stderr);
        return 2;
    }
    struct serve_result rc, ru;
    double t_cached = 1e30, c_cached = 1e30;
    for (int run = 0; run < 2; run++) {
        const double t0 = now_s(), c0 = cpu_s();
        if (serve_run(s, &(struct serve_hw){.d = h100}, 1, &rc, &e)) {
            err_print(&e, stderr);
            return 2;
        }
        const double dt = now_s() - t0, dc = cpu_s() - c0;
        if (dt < t_cached) t_cached = dt;
        if (dc < c_cached) c_cached = dc;
    }
    struct rusage ru_self;
    getrusage(RUSAGE_SELF, &ru_self);
    s->no_cache = true;
    s->max_work = 1e12; /* the uncached run's own work is over the bound */
    const double t0 = now_s(), c0 = cpu_s();
    if (serve_run(s, &(struct serve_hw){.d = h100}, 1, &ru, &e)) {
        err_print(&e, stderr);
        return 2;
    }
    const double t_uncached = now_s() - t0, c_uncached = cpu_s() - c0;
    const bool same = rc.iterations == ru.iterations && rc.makespan_s == ru.makespan_s &&
                      rc.ttft_s.p99 == ru.ttft_s.p99 && rc.tbt_s.mean == ru.tbt_s.mean &&
                      rc.e2e_s.mean == ru.e2e_s.mean && rc.kv_mean_bytes == ru.kv_mean_bytes &&
                      rc.time_attn_s == ru.time_attn_s && rc.time_ffn_s == ru.time_ffn_s;
    printf("serve: llama-3-8b fixed mix, 10^6 requests on 1 x H100, tests/bench-serve-1m.yaml\n");
    printf("  %.0f iterations, %.2f%% of them from the cache; results equal: %s; peak RSS %.0f "
           "MiB\n",
           rc.iterations, 100.0 * rc.cache_hits / (rc.cache_hits + rc.cache_misses),
           same ? "yes" : "NO", ru_self.ru_maxrss / 1024.0);
    printf("  cached:   %.2f s wall, %.2f s CPU (best of 2)\n", t_cached, c_cached);
    printf("  uncached: %.2f s wall, %.2f s CPU: %.1fx the cached CPU time\n", t_uncached,
           c_uncached, c_uncached / c_cached);
    printf("  target: 10^6 requests under 10 s -> %s (wall), %s (CPU)\n",
           t_cached < 10 ? "met" : "NOT met", c_cached < 10 ? "met" : "NOT met");
    serve_free(s);
    device_free(h100);
    analysis_free(&a);
    device_free(d);
    model_free(m);
    return 0;
}
