/* test_units.c - outputs that mean what they say: memory held in binary units
 * (GiB) and traffic/bandwidth in decimal; TTFT of one request beside the batch
 * prefill; fp32 peaks labelled as CUDA cores; tokens/s labelled per group or
 * per device under --tp/--ep; a model that does not fit is warned about, its
 * throughput is n/a and the smallest --tp/--ep that fits is hinted; the
 * README's analyze examples fit. Every number is derived by hand below. */
#include "testutil.h"

#include "../reports/fmt.h"

static char out[1 << 17], err[1 << 14];

static void test_fmt_bin_by_hand(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(fmt_bin(b, sizeof b, 85899345920.0), "80.0 GiB"); /* 80 x 2^30 */
    assert_string_equal(fmt_bin(b, sizeof b, 131072.0), "128 KiB");       /* 2^17 */
    assert_string_equal(fmt_bin(b, sizeof b, 512.0), "512 B");
    assert_string_equal(fmt_bin(b, sizeof b, 0.0), "0 B");
    assert_string_equal(fmt_bin(b, sizeof b, 1610612736.0), "1.50 GiB"); /* 1.5 x 2^30 */
    assert_string_equal(fmt_bin(b, sizeof b, 1000.0), "0.98 KiB");       /* 1000/1024 = 0.977 */
    assert_string_equal(fmt_bin(b, sizeof b, 151397597184.0), "141 GiB"); /* H200: 141 x 2^30 */
}

/* list hw: capacity in GiB, bandwidth in decimal TB/s. */
static void test_list_hw_units(void **state)
{
    (void)state;
    assert_int_equal(tu_run("list hw", out, sizeof out, err, sizeof err), 0);
    const char *h100 = strstr(out, "\nh100-sxm5-80gb ");
    assert_non_null(h100);
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(h100 + 1, "\n"), h100 + 1);
    /* 85,899,345,920 B = 80 GiB; 3.35e12 B/s = 3.35 TB/s (NVIDIA's H100 SXM5 figure) */
    assert_non_null(strstr(line, "80.0 GiB"));
    assert_non_null(strstr(line, "3.35 TB/s"));
    assert_null(strstr(out, "85.9 GB"));
}

/* analyze Llama-3-8B on H100, decode, B = 32, L = 8192:
 *   weights 8,030,261,248 x 2 = 16,060,522,496 B = 14.96 GiB -> "15.0 GiB"
 *   KV per token 32 x 2 x 8 x 128 x 2 = 131,072 B -> "128 KiB"
 *   KV cache 32 x 8,193 x 131,072 = 34,363,932,672 B = 32.004 GiB -> "32.0 GiB"
 *   capacity 80 GiB -> "of 80.0 GiB"
 *   step bytes stay decimal: the KV read alone is 34.4e9 B -> a "GB" figure. */
static void test_analyze_memory_in_gib(void **state)
{
    (void)state;
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase decode --batch 32 --context 8192",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "  weights             15.0 GiB\n"));
    assert_non_null(strstr(out, "  KV cache per token  128 KiB"));
    assert_non_null(strstr(out, "  KV cache            32.0 GiB (32 x 8193 tokens)"));
    assert_non_null(strstr(out, " of 80.0 GiB: fits"));
    assert_non_null(strstr(out, "KV cache 34.4 GB")); /* bytes moved: decimal */
    assert_string_equal(err, "");
}

static double json_num(const char *text, const char *key)
{
    char k[96];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = strstr(text, k);
    if (!p) return NAN;
    p += strlen(k);
    if (strncmp(p, "null", 4) == 0) return INFINITY; /* marks null */
    return atof(p);
}

/* One request's TTFT is the batch-1 prefill; the batch prefill is B prompts. */
static void test_ttft_request_beside_batch_prefill(void **state)
{
    (void)state;
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase prefill --batch 8 --seq 2048 "
                            "--format json",
                            out, sizeof out, err, sizeof err),
                     0);
    const double req = json_num(out, "ttft_request_s"), batch = json_num(out, "ttft_s");
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase prefill --batch 1 --seq 2048 "
                            "--format json",
                            out, sizeof out, err, sizeof err),
                     0);
    const double one = json_num(out, "ttft_s");
    assert_close(req, one, 1e-15);
    /* 8 prompts cost more than one (prefill at 2048 tokens is compute-bound: ~8x) */
    assert_true(batch > 6 * one);
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase prefill --batch 8 --seq 2048",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "  time to first token "));
    assert_non_null(strstr(out, "(one request of 2048 tokens, prefilled alone)"));
    assert_non_null(strstr(out, "  batch prefill       "));
    assert_non_null(strstr(out, "(8 x 2048 tokens together"));
    /* at batch 1 the two are one figure: printed once */
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase prefill --seq 2048", out,
                            sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "(one request of 2048 tokens, prefilled alone)"));
    assert_null(strstr(out, "batch prefill"));
}

/* H100's fp32 matmul peak (66.9 TFLOP/s without TF32) runs on CUDA cores. */
static void test_roofline_fp32_label(void **state)
{
    (void)state;
    char dir[] = "/tmp/opbound-units-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char args[256];
    snprintf(args, sizeof args, "roofline llama-3-8b --hw h100 --phase decode --context 1k -o %s/r.png",
             dir);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/r.gp", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char gp[1 << 16];
    gp[fread(gp, 1, sizeof gp - 1, f)] = 0;
    fclose(f);
    assert_non_null(strstr(gp, "'fp32 (CUDA cores) 66.9 TFLOP/s'"));
    assert_null(strstr(gp, "fp32 tensor"));
    assert_non_null(strstr(gp, "bf16/fp16 tensor 989 TFLOP/s")); /* 989.4 dense bf16 */
    snprintf(args, sizeof args, "rm -rf %s", dir);
    assert_int_equal(system(args), 0);
}

/* Under --tp the batch is split over the group; under --ep each device has its own. */
static void test_throughput_labels_under_tp_and_ep(void **state)
{
    (void)state;
    assert_int_equal(tu_run("analyze llama-3-70b --hw h100 --phase decode --batch 8 --context 4k "
                            "--tp 8",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "(tokens generated by the group of 8 devices; "));
    assert_non_null(strstr(out, " per device)\n"));
    assert_int_equal(tu_run("analyze mixtral --hw h100 --phase decode --batch 8 --context 4k --ep 2",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "(tokens generated per device, each with its own batch; "));
    assert_non_null(strstr(out, " by the group of 2)\n"));
}

/* Llama-3-70B decode, B = 64, L = 8192 on H100 (80 GiB = 85.9e9 B):
 *   weights 70,553,706,496 x 2 B = 141.1e9 B; KV per token 80 layers x 2 x 8 x 128 x 2 B
 *   = 327,680 B, x 64 x 8,193 tokens = 171.8e9 B; total 312.9e9 B on one device.
 *   --tp N divides both (64 heads and 8 KV heads split for N <= 8): N = 2 gives
 *   156.5e9 B > 85.9e9; N = 3 does not divide 64 heads; N = 4 gives 78.2e9 B plus a few
 *   MB of activations: fits. So the hint is --tp 4. A dense model gets no --ep hint. */
static void test_does_not_fit_warns_and_hints_tp(void **state)
{
    (void)state;
    int rc = tu_run("analyze llama-3-70b --hw h100 --phase decode --batch 64 --context 8192",
                    out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "warning: llama-3-70b does not fit on H100-SXM5-80GB"));
    assert_non_null(strstr(err, "hint: --tp 4 is the smallest tensor parallelism that fits\n"));
    assert_null(strstr(err, "--ep"));
    assert_non_null(strstr(out, "  tokens per second   n/a (does not fit in memory)\n"));
    assert_non_null(strstr(out, "DOES NOT FIT"));
    rc = tu_run("analyze llama-3-70b --hw h100 --phase decode --batch 64 --context 8192 --format json",
                out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_true(isinf(json_num(out, "tokens_per_s"))); /* null */
    /* and the hinted --tp indeed fits: no warning */
    rc = tu_run("analyze llama-3-70b --hw h100 --phase decode --batch 64 --context 8192 --tp 4",
                out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
}

/* DeepSeek-V3 (fp8 weights, 1 B each) decode, B = 8, L = 8192 on H200 (141 GiB =
 * 151.4e9 B). Routed experts: 58 MoE layers x 256 x 3 x 7,168 x 2,048 = 653.9e9
 * parameters; the rest of the 671e9 is about 17e9. KV (MLA, bf16): 61 x 576 x 2 B
 * = 70,272 B per token, x 8 x 8,193 = 4.6e9 B. Under --ep N a device holds 17e9 +
 * 653.9e9 / N + 4.6e9 B: N = 4 gives 185e9 (too big); 5, 6 and 7 do not divide 256
 * experts; N = 8 gives 103e9: fits. */
static void test_does_not_fit_hints_ep_for_moe(void **state)
{
    (void)state;
    int rc = tu_run("analyze deepseek-v3 --hw h200 --phase decode --batch 8 --context 8192",
                    out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "hint: --ep 8 is the smallest expert parallelism that fits\n"));
}

/* Every `build/opbound analyze` line of the README runs and fits. */
static void test_readme_analyze_examples_fit(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", OB_DATADIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "build/opbound analyze ", 22) != 0) continue;
        line[strcspn(line, "#\n")] = 0;
        if (strstr(line, "my-design.yaml") || strstr(line, "path/to/")) continue; /* user files */
        char args[1024];
        snprintf(args, sizeof args, "%s", line + 14);
        int rc = tu_run(args, out, sizeof out, err, sizeof err);
        if (rc != 0 || strstr(err, "does not fit")) fail_msg("README: %s\n%s", line, err);
        n++;
    }
    fclose(f);
    assert_true(n >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_bin_by_hand),
        cmocka_unit_test(test_list_hw_units),
        cmocka_unit_test(test_analyze_memory_in_gib),
        cmocka_unit_test(test_ttft_request_beside_batch_prefill),
        cmocka_unit_test(test_roofline_fp32_label),
        cmocka_unit_test(test_throughput_labels_under_tp_and_ep),
        cmocka_unit_test(test_does_not_fit_warns_and_hints_tp),
        cmocka_unit_test(test_does_not_fit_hints_ep_for_moe),
        cmocka_unit_test(test_readme_analyze_examples_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
