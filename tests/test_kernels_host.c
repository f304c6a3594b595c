/* test_kernels_host.c - the CPU-side logic of the CUDA kernels and their bench
 * (kernels/bench_host.c), without a GPU: the decode split plan, napkin bytes
 * and floors, datasheet bandwidths, the timed shape lists and the rows of the
 * measurement file (loaded back through the real loader). Every expected
 * value is worked out by hand in the comment beside it. */
#include "testutil.h"

#include <dirent.h>

#include "../kernels/bench_host.h"
#include "../sim/measure.h"
#include "../sim/core/opcost.h"

/* Tile of the v2 decode kernel for head dim d: (32 / (d / 8)) keys per pass
 * x 4 passes (kernels/attn_decode.cu, dec_tk). */
static int tile_keys(int d) { return 256 / d * 4; }

static void test_split_plan_by_hand(void **state)
{
    (void)state;
    int s, c;
    /* B 1 x Hkv 8 = 8 blocks, 3 per SM x 132 SMs = 396 slots: 396 / 8 = 49 wanted;
     * at least 256 keys each: 4096 / 256 = 16; chunk 4096 / 16 = 256 (a multiple
     * of 8); 16 splits */
    assert_int_equal(bh_split_plan(4096, 8, 3, 132, 8, 256, 0, &s, &c), 0);
    assert_int_equal(s, 16);
    assert_int_equal(c, 256);
    /* 132 slots for 1 block: 132 wanted, 1000 / 100 = 10 at most; chunk
     * ceil(1000 / 10) = 100 -> 128 (multiple of 32); ceil(1000 / 128) = 8 splits,
     * not 10: the last split starts at 7 * 128 = 896 < 1000, none is empty */
    assert_int_equal(bh_split_plan(1000, 1, 1, 132, 32, 100, 0, &s, &c), 0);
    assert_int_equal(s, 8);
    assert_int_equal(c, 128);
    assert_true((long long)(s - 1) * c < 1000);
    /* a full wave already (1024 blocks >= 396 slots): one split of all keys,
     * 16385 rounded up to a multiple of 8 = 16392 */
    assert_int_equal(bh_split_plan(16385, 1024, 3, 132, 8, 256, 0, &s, &c), 0);
    assert_int_equal(s, 1);
    assert_int_equal(c, 16392);
    /* forced 3 over 55 keys in tiles of 4: chunk ceil(55 / 3) = 19 -> 20, 3 splits */
    assert_int_equal(bh_split_plan(55, 4, 3, 132, 4, 256, 3, &s, &c), 0);
    assert_int_equal(s, 3);
    assert_int_equal(c, 20);
    /* forced 1000 over 20011 keys, tiles of 8 (2502 tiles, so 1000 allowed):
     * chunk ceil(20011 / 1000) = 21 -> 24; ceil(20011 / 24) = 834 splits */
    assert_int_equal(bh_split_plan(20011, 8, 3, 132, 8, 256, 1000, &s, &c), 0);
    assert_int_equal(s, 834);
    assert_int_equal(c, 24);
    /* forced more than the tiles: 10 keys in tiles of 8 are 2 tiles -> 2 splits of 8 */
    assert_int_equal(bh_split_plan(10, 1, 1, 1, 8, 1, 50, &s, &c), 0);
    assert_int_equal(s, 2);
    assert_int_equal(c, 8);
    /* fewer keys than min_keys: one split */
    assert_int_equal(bh_split_plan(100, 1, 4, 132, 8, 256, 0, &s, &c), 0);
    assert_int_equal(s, 1);
    assert_int_equal(c, 104);
    /* no keys: one split of one tile */
    assert_int_equal(bh_split_plan(0, 1, 1, 1, 16, 1, 0, &s, &c), 0);
    assert_int_equal(s, 1);
    assert_int_equal(c, 16);
    /* refused arguments */
    assert_int_equal(bh_split_plan(10, 0, 1, 1, 8, 1, 0, &s, &c), -1);
    assert_int_equal(bh_split_plan(10, 1, 0, 1, 8, 1, 0, &s, &c), -1);
    assert_int_equal(bh_split_plan(10, 1, 1, 1, 0, 1, 0, &s, &c), -1);
    assert_int_equal(bh_split_plan(-1, 1, 1, 1, 8, 1, 0, &s, &c), -1);
}

/* No split is ever empty and the keys are covered, over a sweep of shapes. */
static void test_split_plan_never_empty(void **state)
{
    (void)state;
    for (long long n = 1; n < 5000; n += 37)
        for (int base = 1; base <= 1024; base *= 4)
            for (int forced = 0; forced <= 9; forced += 3) {
                int s, c;
                assert_int_equal(bh_split_plan(n, base, 3, 132, 8, 256, forced, &s, &c), 0);
                assert_true(s >= 1 && c % 8 == 0);
                assert_true((long long)(s - 1) * c < n); /* the last split has keys */
                assert_true((long long)s * c >= n);      /* every key is in a split */
            }
}

static void test_dec_keys_by_hand(void **state)
{
    (void)state;
    assert_int_equal(bh_dec_keys(4097, 0, 0, 0, 0), 4097);       /* all keys */
    assert_int_equal(bh_dec_keys(65536, 4096, 0, 0, 0), 4096);   /* the window */
    assert_int_equal(bh_dec_keys(1000, 5000, 0, 0, 0), 1000);    /* window past the start */
    assert_int_equal(bh_dec_keys(1000, 1000, 0, 0, 0), 1000);
    assert_int_equal(bh_dec_keys(65536, 0, 1, 8, 512), 4096);    /* 8 blocks of 512 */
}

static void test_dec_bytes_and_floor_by_hand(void **state)
{
    (void)state;
    /* GQA B 32, Hq 32, Hkv 8, D 128, 4096 keys: K+V 32*8*4096*256 = 268,435,456
     * elements, q + o 32*32*256 = 262,144; x 2 bytes = 537,395,200 */
    const double gqa = bh_dec_bytes(32, 32, 8, 128, 128, 4096, 0);
    assert_exact(gqa, 537395200.0);
    /* MLA absorbed, B 1, 128 heads, 1000 keys of 576: 576,000 + 128 * (576 + 512)
     * = 139,264 -> 715,264 elements, 1,430,528 bytes */
    assert_exact(bh_dec_bytes(1, 128, 1, 576, 512, 1000, 1), 1430528.0);
    /* the cost model counts the same bytes (kv_width = 2 Hkv D = 2048; MLA 576) */
    struct opcost c;
    assert_int_equal(opcost_attention("bf16", "bf16", 32, 32, 128, 128, 1, 4096, 4096, 2048, &c), 0);
    assert_exact(c.bytes, 537395200.0);
    assert_int_equal(opcost_attention("bf16", "bf16", 1, 128, 576, 512, 1, 1000, 1000, 576, &c), 0);
    assert_exact(c.bytes, 1430528.0);
    /* 537,395,200 B / 3.35e12 B/s = 160.416 us */
    assert_close(bh_floor_s(gqa, 3.35e12), 1.6041647761194030e-4, 1e-12);
    assert_close(bh_pct_of_floor(1e-4, 2e-4), 50.0, 1e-12);
    assert_exact(bh_pct_of_floor(1e-4, 0), 0.0);
    assert_exact(bh_floor_s(1e9, 0), 0.0);
}

static void test_datasheet_bw(void **state)
{
    (void)state;
    assert_exact(bh_datasheet_bw("NVIDIA H100 80GB HBM3"), 3.35e12);
    assert_exact(bh_datasheet_bw("NVIDIA H100 PCIe"), 2.0e12);
    assert_exact(bh_datasheet_bw("NVIDIA H100 NVL"), 3.9e12);
    assert_exact(bh_datasheet_bw("NVIDIA H200"), 4.8e12);
    assert_exact(bh_datasheet_bw("NVIDIA A100-SXM4-80GB"), 2.039e12);
    assert_exact(bh_datasheet_bw("NVIDIA GeForce RTX 4090"), 0.0);
    assert_exact(bh_datasheet_bw(NULL), 0.0);
}

static void test_dec_shapes_by_hand(void **state)
{
    (void)state;
    /* (B, L) pairs with B * L <= 2.2e6: B 1, 8, 32 x all four contexts, B 128 x
     * 1k/4k/16k (128 * 64k = 8.4e6 is out): 15 pairs. GQA, SWA, CCA and MLA
     * on each (60), MoBA where L >= 4k: 3 + 3 + 3 + 2 = 11; 71 in the grid; then
     * the library's 8 GQA-family and 4 MLA shapes: 83. */
    struct bh_dec_shape s[128];
    const int n = bh_dec_shapes(s, 128);
    assert_int_equal(n, 83);
    assert_int_equal(bh_dec_shapes(s, 3), 83); /* the count does not depend on max */
    int per[BH_DEC_COUNT] = {0};
    for (int i = 0; i < n; i++) {
        per[s[i].variant]++;
        assert_true((double)s[i].b * s[i].n_ctx <= 2.2e6 || i >= 71);
        if (s[i].variant == BH_DEC_MOBA) {
            assert_true(s[i].n_ctx >= 4096);
            assert_int_equal(s[i].blk_size % tile_keys(s[i].d), 0); /* one table read per tile */
        }
        if (s[i].variant != BH_DEC_MLA) { /* v2 head dims; the cost model agrees on bytes */
            assert_true(s[i].d == 32 || s[i].d == 64 || s[i].d == 128 || s[i].d == 256);
            const long long keys = bh_dec_keys(s[i].n_ctx, s[i].variant == BH_DEC_SWA ? s[i].win : 0,
                                               s[i].variant == BH_DEC_MOBA, s[i].nsel, s[i].blk_size);
            struct opcost c;
            assert_int_equal(opcost_attention("bf16", "bf16", s[i].b, s[i].hq, s[i].d, s[i].d, 1,
                                              (double)keys, (double)keys, 2.0 * s[i].hkv * s[i].d,
                                              &c), 0);
            assert_exact(c.bytes, bh_dec_bytes(s[i].b, s[i].hq, s[i].hkv, s[i].d, s[i].d, keys, 0));
        }
    }
    assert_int_equal(per[BH_DEC_GQA], 15 + 8);
    assert_int_equal(per[BH_DEC_SWA], 15);
    assert_int_equal(per[BH_DEC_CCA], 15);
    assert_int_equal(per[BH_DEC_MLA], 15 + 4);
    /* the library's B 16, 32/8, L 8192 row is there (index 71 + 3) */
    assert_int_equal(s[74].b, 16);
    assert_int_equal(s[74].hkv, 8);
    assert_int_equal(s[74].n_ctx, 8192);
    assert_int_equal(per[BH_DEC_MOBA], 11);
    /* the first shape: GQA, B 1, 32/8 heads, D 128, 1024 keys */
    assert_int_equal(s[0].variant, BH_DEC_GQA);
    assert_int_equal(s[0].b, 1);
    assert_int_equal(s[0].hq, 32);
    assert_int_equal(s[0].hkv, 8);
    assert_int_equal(s[0].d, 128);
    assert_int_equal(s[0].n_ctx, 1024);
    assert_string_equal(BH_DEC_CLASS[BH_DEC_MOBA], "moba_decode");
    /* GEMMs: 2 per m in {1, 16, 64, 256, 1024, 4096} = 12, batched for m <= 1024: 5 */
    int g[32][4];
    assert_int_equal(bh_gemm_shapes(g, 32), 17);
    assert_int_equal(g[0][0], 1);
    assert_int_equal(g[0][1], 1);
    assert_int_equal(g[0][2], 4096);
    assert_int_equal(g[0][3], 4096);
    assert_int_equal(g[2][0], 8);
    assert_int_equal(g[2][2], 2048);
    assert_int_equal(g[2][3], 7168);
}

static void test_prefill_pairs_by_hand(void **state)
{
    (void)state;
    assert_exact(bh_pf_pairs(BH_PF_CAUSAL, 4, 0, 0, 0), 10.0);  /* 1 + 2 + 3 + 4 */
    /* window 3 over 10 queries: 1 + 2 + 3, then 7 queries of 3 = 27 */
    assert_exact(bh_pf_pairs(BH_PF_SWA, 10, 3, 0, 0), 27.0);
    assert_exact(bh_pf_pairs(BH_PF_SWA, 4, 10, 0, 0), 10.0);    /* window past S: causal */
    /* MoBA, S 6, blocks of 2, top 2: queries 0..5 see 1, 2, 1+2, 2+2, 1+2, 2+2 = 17 */
    assert_exact(bh_pf_pairs(BH_PF_MOBA, 6, 0, 2, 2), 17.0);
    /* every block selected is causal: 21 = 6 * 7 / 2 */
    assert_exact(bh_pf_pairs(BH_PF_MOBA, 6, 0, 10, 2), 21.0);
    assert_exact(bh_pf_pairs(BH_PF_CAUSAL, 0, 0, 0, 0), 0.0);
    /* the cost model takes a causal prefill row: pairs 4096 * 4097 / 2 = 8,390,656;
     * matmul FLOPs 2 B Hq pairs (Dqk + Dv) = 2 * 32 * 8,390,656 * 256 = 137,472,507,904 */
    struct opcost c;
    const double pairs = bh_pf_pairs(BH_PF_CAUSAL, 4096, 0, 0, 0);
    assert_exact(pairs, 8390656.0);
    assert_int_equal(opcost_attention("bf16", "bf16", 1, 32, 128, 128, 4096, 4096, pairs, 2048, &c), 0);
    assert_exact(c.flops_mm, 137472507904.0);
    /* shapes: 9, the first the library's causal B 1, 32/8, D 128, S 4096 */
    struct bh_pf_shape s[16];
    assert_int_equal(bh_pf_shapes(s, 16), 9);
    assert_int_equal(s[0].variant, BH_PF_CAUSAL);
    assert_int_equal(s[0].s, 4096);
    assert_int_equal(s[0].hkv, 8);
    assert_string_equal(BH_PF_CLASS[BH_PF_SWA], "swa_prefill");
    for (int i = 0; i < 9; i++) {
        assert_true(s[i].d == 64 || s[i].d == 128);
        if (s[i].variant == BH_PF_MOBA) assert_int_equal(s[i].blk_size % 64, 0);
    }
}

/* The measurement set fits its budget: the floors of all timed decode rows at
 * the datasheet bandwidth, x 33 runs (3 warm-up + 30), stay far under the
 * 3 minutes the issue allows (bound by hand: the largest shape moves
 * 128 * 16384 * 8 * 256 * 2 = 8.6 GB = 2.6 ms; 83 * 33 * 2.6 ms = 7.1 s). */
static void test_measurement_budget(void **state)
{
    (void)state;
    struct bh_dec_shape s[128];
    const int n = bh_dec_shapes(s, 128);
    double total = 0, largest = 0;
    for (int i = 0; i < n; i++) {
        const int mla = s[i].variant == BH_DEC_MLA;
        const long long keys = bh_dec_keys(s[i].n_ctx, s[i].variant == BH_DEC_SWA ? s[i].win : 0,
                                           s[i].variant == BH_DEC_MOBA, s[i].nsel, s[i].blk_size);
        const double b = bh_dec_bytes(s[i].b, s[i].hq, s[i].hkv, mla ? 576 : s[i].d,
                                      mla ? 512 : s[i].d, keys, mla);
        total += 33 * bh_floor_s(b, 3.35e12);
        if (b > largest) largest = b;
    }
    assert_true(largest <= 128.0 * 16384 * 8 * 256 * 2 + 1e7);
    assert_true(total < 7.2);
}

static void test_csv_rows_by_hand(void **state)
{
    (void)state;
    assert_string_equal(BH_CSV_HEADER, MEAS_HEADER);
    char buf[512];
    /* FLOPs: matmul 2 B Hq n (Dqk + Dv) = 2 * 32 * 32 * 4096 * 256 = 2,147,483,648
     * plus softmax 5 per (head, key) = 5 * 32 * 32 * 4096 = 20,971,520:
     * 2,168,455,168 (the cost model's count, docs/conventions.md) */
    const double attn[8] = {32, 32, 128, 128, 1, 4096, 4096, 2048};
    int n = bh_csv_row(buf, sizeof buf, "attention", "gqa_decode", "gqa_decode_v2_s1", attn, NULL,
                       1, 2168455168.0, 537395200.0, 1.25e-4, 1.2e-4);
    const char *want = "attention,gqa_decode,gqa_decode_v2_s1,bf16,bf16,32,32,128,128,1,4096,4096,"
                       "2048,,,,,2168455168,537395200,1.250000e-04,1.200000e-04\n";
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
    /* launch: 14 empty columns between kv_dtype and median_s */
    n = bh_csv_row(buf, sizeof buf, "launch", "launch", "empty_kernel", NULL, NULL, 0, 0, 0,
                   2.5e-6, 2.4e-6);
    assert_string_equal(buf, "launch,launch,empty_kernel,bf16,bf16,,,,,,,,,,,,,,,2.500000e-06,"
                             "2.400000e-06\n");
    const double gemm[4] = {1, 16, 4096, 4096};
    /* 2 m n k = 2 * 16 * 4096 * 4096 = 536,870,912; bytes 2 (mk + kn + mn) =
     * 2 (65,536 + 16,777,216 + 65,536) = 33,816,576 */
    bh_csv_row(buf, sizeof buf, "gemm", "gemm", "cublas_1x16x4096x4096", NULL, gemm, 1,
               536870912.0, 33816576.0, 3e-5, 2.9e-5);
    assert_string_equal(buf, "gemm,gemm,cublas_1x16x4096x4096,bf16,bf16,,,,,,,,,1,16,4096,4096,"
                             "536870912,33816576,3.000000e-05,2.900000e-05\n");
    /* refused: a space in a name, an empty class, a buffer too small */
    assert_int_equal(bh_csv_row(buf, sizeof buf, "attention", "gqa decode", "x", attn, NULL, 0, 0,
                                0, 1e-5, 1e-5), -1);
    assert_int_equal(bh_csv_row(buf, sizeof buf, "attention", "", "x", attn, NULL, 0, 0, 0, 1e-5,
                                1e-5), -1);
    assert_int_equal(bh_csv_row(buf, 40, "attention", "gqa_decode", "x", attn, NULL, 0, 0, 0,
                                1e-5, 1e-5), -1);
}

/* Rows written by bh_csv_row load through the real loader, which recomputes
 * flops and bytes with the cost model and refuses a file that disagrees. */
static void test_csv_rows_load(void **state)
{
    (void)state;
    char text[2048], row[512];
    int len = snprintf(text, sizeof text, "# device: test\n%s\n", BH_CSV_HEADER);
    const double attn[8] = {32, 32, 128, 128, 1, 4096, 4096, 2048};
    bh_csv_row(row, sizeof row, "attention", "gqa_decode", "gqa_decode_v2_s1", attn, NULL, 1,
               2168455168.0, 537395200.0, 1.25e-4, 1.2e-4);
    len += snprintf(text + len, sizeof text - len, "%s", row);
    const double gemm[4] = {1, 16, 4096, 4096};
    bh_csv_row(row, sizeof row, "gemm", "gemm", "cublas_1x16x4096x4096", NULL, gemm, 1,
               536870912.0, 33816576.0, 3e-5, 2.9e-5);
    len += snprintf(text + len, sizeof text - len, "%s", row);
    bh_csv_row(row, sizeof row, "launch", "launch", "empty_kernel", NULL, NULL, 0, 0, 0, 2.5e-6,
               2.4e-6);
    snprintf(text + len, sizeof text - len, "%s", row);
    const char *path = tu_write_temp(text);
    assert_non_null(path);
    struct meas_file m;
    struct err e;
    memset(&m, 0, sizeof m);
    const int rc = meas_load(path, true, &m, &e);
    if (rc) print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.rows[0].cls, "gqa_decode");
    assert_true(m.rows[2].launch);
    assert_exact(m.rows[0].median_s, 1.25e-4);
    meas_free(&m);
    unlink(path);
}

/* Every measurement file committed under kernels/measurements/ (*.csv; none
 * yet: the GPU run is still to come) loads with times through the real loader
 * (the flops and bytes columns must equal the cost model's), names its
 * device, and holds at least one attention row and one launch row. */
static void test_committed_measurements_load(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/kernels/measurements", OB_DATADIR);
    DIR *d = opendir(dir);
    assert_non_null(d); /* holds library/ at least */
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".csv")) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct meas_file m;
        struct err er;
        memset(&m, 0, sizeof m);
        const int rc = meas_load(path, true, &m, &er);
        if (rc) print_error("%s: %s\n", path, er.msg);
        assert_int_equal(rc, 0);
        assert_true(m.device[0] != 0);
        int attn = 0, launch = 0;
        for (int i = 0; i < m.n; i++) {
            attn += !m.rows[i].launch && strstr(m.rows[i].cls, "decode") != NULL;
            launch += m.rows[i].launch;
        }
        assert_true(attn > 0 && launch > 0);
        meas_free(&m);
        files++;
    }
    closedir(d);
    if (!files) print_message("kernels/measurements: no committed GPU measurements yet\n");
}

/* Runs cmd and returns its output (static buffer). */
static const char *run_capture(const char *cmd)
{
    static char buf[1 << 18];
    FILE *f = popen(cmd, "r");
    if (!f) return "";
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    pclose(f);
    return buf;
}

/* `make kernels` (dry run, a fake nvcc on PATH) builds machine code for sm_80,
 * sm_90 and sm_90a plus compute_90 PTX, and links the bench without libyaml;
 * `make kernels-sanitize` without compute-sanitizer prints one skip line. */
static void test_make_kernels_targets(void **state)
{
    (void)state;
    char dir[64], cmd[2048];
    snprintf(dir, sizeof dir, "/tmp/opbound-fakenvcc-kh-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "mkdir -p %s && printf '#!/bin/sh\\nexit 0\\n' > %s/nvcc && "
             "chmod +x %s/nvcc", dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH=%s:/usr/bin:/bin "
             "/usr/bin/make --no-print-directory -n kernels BUILD=/tmp/opbound-nobuild-kh-%d 2>&1",
             OB_DATADIR, dir, (int)getpid());
    const char *out = run_capture(cmd);
    assert_non_null(strstr(out, "arch=compute_80,code=sm_80"));
    assert_non_null(strstr(out, "arch=compute_90,code=sm_90"));
    assert_non_null(strstr(out, "arch=compute_90a,code=sm_90a"));
    assert_non_null(strstr(out, "arch=compute_90,code=compute_90"));
    assert_non_null(strstr(out, "libopbound-noyaml.a -lcublas -lm -o"));
    assert_null(strstr(out, "-lcublas -lyaml"));
    snprintf(cmd, sizeof cmd, "cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH=%s:/usr/bin:/bin "
             "/usr/bin/make --no-print-directory kernels-sanitize SANITIZER= 2>&1", OB_DATADIR, dir);
    assert_string_equal(run_capture(cmd),
                        "make kernels-sanitize: compute-sanitizer or nvcc not found; skipping\n");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_plan_by_hand),
        cmocka_unit_test(test_split_plan_never_empty),
        cmocka_unit_test(test_dec_keys_by_hand),
        cmocka_unit_test(test_dec_bytes_and_floor_by_hand),
        cmocka_unit_test(test_datasheet_bw),
        cmocka_unit_test(test_dec_shapes_by_hand),
        cmocka_unit_test(test_prefill_pairs_by_hand),
        cmocka_unit_test(test_measurement_budget),
        cmocka_unit_test(test_csv_rows_by_hand),
        cmocka_unit_test(test_csv_rows_load),
        cmocka_unit_test(test_committed_measurements_load),
        cmocka_unit_test(test_make_kernels_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
