/* test_pim.c - Logic-PIM / bank-PIM placement (sim/placement.c): the Op/B
 * threshold, pinned ops, co-processing balance, energy by hand, a Duplex
 * device without PIM compute, and physically impossible device files. */
#include "testutil.h"

#include "../sim/placement.h"

/* xPU: 1 PFLOP/s bf16 tensor, 100 TFLOP/s vector, 1 TB/s, 5 us per kernel.
 * PIM: 4 stacks x 1000 MACs x 1 GHz x 2 = 8 TFLOP/s; internal 4 x 1 TB/s.
 * Energy: xPU 0.5 pJ/FLOP, PIM 1 pJ/FLOP, 4 pJ/bit external, 2 pJ/bit PIM. */
static struct device pim_device(bool coprocess)
{
    struct device d;
    memset(&d, 0, sizeof d);
    d.mem_capacity_bytes = 80e9;
    d.mem_bw_bytes_per_s = 1e12;
    d.kernel_overhead_s = 5e-6;
    d.tensor_flops_per_s[DT_FP32] = 50e12;
    d.tensor_flops_per_s[DT_BF16] = 1e15;
    d.vector_flops_per_s[DT_FP32] = 50e12;
    d.vector_flops_per_s[DT_BF16] = 100e12;
    d.eff_tensor = d.eff_vector = d.eff_memory = 1;
    d.interconnect_bytes_per_s = 1e11;
    d.has_pim = d.has_energy = true;
    d.pim = (struct pim_spec){.kind = PIM_LOGIC, .stacks = 4, .bw_multiplier = 4,
                              .macs_per_stack = 1000, .clock_hz = 1e9, .overhead_s = 5e-6,
                              .coprocess = coprocess};
    d.energy = (struct energy_spec){.xpu_pj_per_flop = 0.5, .pim_pj_per_flop = 1,
                                    .ext_pj_per_bit = 4, .pim_pj_per_bit = 2, .static_w = 0};
    device_derive(&d);
    return d;
}

/* A matmul op with given FLOPs and weight bytes only (cost set by hand). */
static struct op raw_op(double flops, double bytes)
{
    struct op op;
    memset(&op, 0, sizeof op);
    op.kind = OP_GEMM;
    op.block = BLK_ATTN;
    op.name = "raw";
    op.layer_count = 1;
    op.dt_w = op.dt_act = op.dt_kv = DT_BF16;
    op.cost.flops_mm = flops;
    op.cost.bytes_w = bytes;
    return op;
}

/* I* = PIM FLOP/s / xPU bytes/s = 8e12 / 1e12 = 8 FLOP/B. At 1 GB: below 8
 * the xPU takes 1 ms (memory) and PIM I x 1e9 / 8e12 < 1 ms; above 8 the
 * xPU still takes 1 ms and PIM more. */
static void test_pim_threshold(void **state)
{
    (void)state;
    struct device d = pim_device(false);
    assert_exact(placement_threshold(&d), 8.0);
    assert_exact(d.pim.flops_per_s, 8e12);
    assert_exact(d.pim.bw_bytes_per_s, 4e12);
    struct op_place pl;
    struct op below = raw_op(7.9e9, 1e9), above = raw_op(8.1e9, 1e9), at = raw_op(8e9, 1e9);
    placement_op(&below, &d, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_PIM);
    assert_close(pl.time_s, 7.9e9 / 8e12 + 5e-6, 1e-15);
    placement_op(&above, &d, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_XPU);
    assert_close(pl.time_s, 1e9 / 1e12 + 5e-6, 1e-15);
    placement_op(&at, &d, PLACE_AUTO, &pl);
    assert_close(pl.t_xpu_s, pl.t_pim_s, 1e-15); /* the two sides tie at I* */
    /* A purely memory-bound op (I = 1) goes to PIM: 4x the bandwidth. */
    struct op low = raw_op(1e9, 1e9);
    placement_op(&low, &d, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_PIM);
    assert_close(pl.time_s, 1e9 / 4e12 + 5e-6, 1e-15);
}

/* Pinned ops equal that side's roofline, by hand: xPU = max(FLOPs / 1e15,
 * bytes / 1e12) + 5 us; PIM = max(FLOPs / 8e12, bytes / 4e12) + 5 us. */
static void test_pim_pinned(void **state)
{
    (void)state;
    struct device d = pim_device(true);
    struct graph g;
    assert_int_equal(graph_init(&g, 4), 0);
    g.dt_w = g.dt_act = g.dt_kv = DT_BF16;
    struct op *op = op_gemm(&g, "x", 16, 4096, 4096, false);
    struct op_place pl;
    /* FLOPs 2*16*4096*4096 = 536,870,912; bytes (4096*4096 + 2*16*4096) * 2 = 33,816,576 */
    const double flops = 536870912.0, bytes = 33816576.0;
    const double tx = fmax(flops / 1e15, bytes / 1e12) + 5e-6; /* 38.816576 us, memory-bound */
    assert_close(tx, 38.816576e-6, 1e-12);
    assert_close(placement_op(op, &d, PLACE_XPU, &pl), tx, 1e-12);
    assert_int_equal(pl.side, SIDE_XPU);
    const double tp = fmax(flops / 8e12, bytes / 4e12) + 5e-6;
    assert_close(placement_op(op, &d, PLACE_PIM, &pl), tp, 1e-15);
    assert_int_equal(pl.side, SIDE_PIM);
    assert_close(pl.t_xpu_s, tx, 1e-12);
    graph_free(&g);
}

/* Co-processing: the x units on the xPU and n - x on PIM finish within one
 * unit's time of each other, and the op is no slower than either side alone. */
static void check_balance(const struct op *op, const struct device *d, double n)
{
    struct op_place pl;
    placement_op(op, d, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_CO);
    assert_exact(pl.units, n);
    const double wx = pl.t_xpu_s - d->kernel_overhead_s, wp = pl.t_pim_s - d->pim.overhead_s;
    const double x = pl.units_xpu;
    const double xs = n * wp / (wx + wp);
    assert_true(x == floor(xs) || x == ceil(xs));
    const double ax = x / n * wx, ap = (n - x) / n * wp;
    assert_true(fabs(ax - ap) <= fmax(wx, wp) / n * (1 + 1e-12));
    assert_true(pl.time_s <= pl.t_xpu_s && pl.time_s <= pl.t_pim_s);
    assert_close(pl.time_s, fmax(ax, ap) + 5e-6, 1e-12);
}

static void test_pim_coprocess_balance(void **state)
{
    (void)state;
    struct device d = pim_device(true);
    struct graph g;
    assert_int_equal(graph_init(&g, 4), 0);
    g.dt_w = g.dt_act = g.dt_kv = DT_BF16;
    g.block = BLK_FFN;
    /* 8 experts of 32 tokens each, 4096 x 14336: Op/B ~ 32, xPU and PIM comparable */
    const struct op *e = op_batched_gemm(&g, "experts", 8, 32, 14336, 4096, false);
    check_balance(e, &d, 8);
    /* attention of 16 requests at 4096 keys, GQA 32/8 heads: split by request */
    g.block = BLK_ATTN;
    struct attn_shape s = {.b = 16, .hq = 32, .dqk = 128, .dv = 128, .sq = 1, .skv = 4097,
                           .pairs = 4097, .kv_width = 2 * 8 * 128, .kv_cached = true};
    const struct op *a = op_attention(&g, "attention", &s);
    /* Op/B ~ 4 < I* = 8: PIM alone wins, but adding the xPU still helps */
    check_balance(a, &d, 16);
    /* Without co-processing the same op goes wholly to PIM. */
    struct device d2 = pim_device(false);
    struct op_place pl;
    placement_op(a, &d2, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_PIM);
    graph_free(&g);
}

/* Co-processing on a device whose calibration gives batched GEMMs their own
 * kernel overhead (25 us instead of kernel_overhead_s 5 us): the xPU's work
 * without overhead is the roofline minus that 25 us, and the split op pays
 * max(25 us, PIM 5 us). 8 experts of 32 x 4096 -> 14336 (bf16):
 *   FLOPs 8 x 2 x 32 x 14336 x 4096 = 30,064,771,072
 *   bytes 8 x (4096 x 14336 + 32 x 4096 + 32 x 14336) x 2 = 948,961,280
 *   W_xpu = max(30.06e9 / 1e15, 948.96e6 / 1e12) = 948.96128 us (memory)
 *   W_pim = max(30.06e9 / 8e12, 948.96e6 / 4e12) = 3758.096384 us (compute)
 *   balance 8 W_pim / (W_xpu + W_pim) = 6.39: x = 6 gives max(711.7, 939.5),
 *   x = 7 gives max(830.3, 469.8) us, so 7 experts on the xPU and
 *   t = 7/8 W_xpu + 25 us (above the banks' 237 us). */
static void test_pim_coprocess_calibrated_overhead(void **state)
{
    (void)state;
    struct device d = pim_device(true);
    d.cal[OP_BATCHED_GEMM][IMPL_DEFAULT][PH_ANY].present = 1;
    d.cal[OP_BATCHED_GEMM][IMPL_DEFAULT][PH_ANY].overhead_s = 25e-6;
    device_derive(&d);
    struct graph g;
    assert_int_equal(graph_init(&g, 1), 0);
    g.dt_w = g.dt_act = g.dt_kv = DT_BF16;
    g.block = BLK_FFN;
    const struct op *e = op_batched_gemm(&g, "experts", 8, 32, 14336, 4096, false);
    struct op_place pl;
    placement_op(e, &d, PLACE_AUTO, &pl);
    const double wx = 948961280.0 / 1e12;
    assert_close(pl.t_xpu_s, wx + 25e-6, 1e-15);
    assert_int_equal(pl.side, SIDE_CO);
    assert_exact(pl.units_xpu, 7);
    assert_close(pl.time_s, 7.0 / 8 * wx + 25e-6, 1e-14);
    graph_free(&g);
}

/* A pure read of 1 GB: 8e9 bits x 4 pJ = 0.032 J through the external path,
 * x 2 pJ = 0.016 J through the PIM path (no FLOPs, static power 0). Static
 * power adds W x time. */
static void test_pim_energy_read(void **state)
{
    (void)state;
    struct device d = pim_device(false);
    struct op op = raw_op(0, 1e9);
    struct op_place pl;
    placement_op(&op, &d, PLACE_XPU, &pl);
    assert_close(pl.energy_j, 1e9 * 8 * 4e-12, 1e-15);
    placement_op(&op, &d, PLACE_PIM, &pl);
    assert_close(pl.energy_j, 1e9 * 8 * 2e-12, 1e-15);
    d.energy.static_w = 50;
    device_derive(&d);
    placement_op(&op, &d, PLACE_PIM, &pl);
    assert_close(pl.energy_j, 1e9 * 8 * 2e-12 + 50 * (1e9 / 4e12 + 5e-6), 1e-15);
    /* 1 GFLOP on the xPU with the same bytes: + 1e9 x 0.5 pJ */
    struct op op2 = raw_op(1e9, 1e9);
    d.energy.static_w = 0;
    placement_op(&op2, &d, PLACE_XPU, &pl);
    assert_close(pl.energy_j, 1e9 * 8 * 4e-12 + 1e9 * 0.5e-12, 1e-15);
}

/* pim.ops: attention (AttAcc-style PIM): a GEMM of Op/B 1, which the
 * default (`all`) sends to PIM (1e9 / 4e12 + 5 us), stays on the xPU
 * (1e9 / 1e12 + 5 us); an attention core of the same cost goes to PIM. */
static void test_pim_ops_attention_only(void **state)
{
    (void)state;
    struct device d = pim_device(false);
    struct op_place pl;
    struct op gemm = raw_op(1e9, 1e9), attn = raw_op(1e9, 1e9);
    attn.kind = OP_ATTENTION;
    placement_op(&gemm, &d, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_PIM);
    d.pim.ops = PIM_OPS_ATTENTION;
    placement_op(&gemm, &d, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_XPU);
    assert_close(pl.time_s, 1e9 / 1e12 + 5e-6, 1e-15);
    placement_op(&attn, &d, PLACE_AUTO, &pl);
    assert_int_equal(pl.side, SIDE_PIM);
    assert_close(pl.time_s, 1e9 / 4e12 + 5e-6, 1e-15);
    /* the bundled bank-PIM file states `ops: all` (the Duplex paper's baseline
     * takes FC work too: docs/papers.md); a bad value: test_pim_bad_files */
    struct device *b = tu_device("bankpim-h100");
    assert_non_null(b);
    assert_int_equal(b->pim.ops, PIM_OPS_ALL);
    device_free(b);
}

/* The bundled Duplex device with no PIM compute times exactly like its GPU
 * baseline file (hw/gpu-duplex-baseline.yaml: the same xPU rows; not the
 * bundled h100, whose efficiencies may be calibrated), in both phases. */
static void test_pim_zero_compute_is_xpu(void **state)
{
    (void)state;
    struct model *m = tu_model("mixtral-8x7b");
    struct device *dx = tu_device("duplex-h100"), *h = tu_device("gpu-duplex-baseline");
    assert_non_null(m);
    assert_non_null(dx);
    assert_non_null(h);
    assert_exact(dx->pim.flops_per_s, 2.0 * 5 * 8192 * 1.3e9);
    assert_close(dx->pim.bw_bytes_per_s, 4 * 3.35e12, 1e-15);
    dx->pim.macs_per_stack = 0;
    device_derive(dx);
    struct analysis a, b;
    assert_int_equal(analysis_init(&a, m), 0);
    assert_int_equal(analysis_init(&b, m), 0);
    for (int ph = 0; ph < 2; ph++) {
        struct scenario sc = {.phase = ph ? PHASE_DECODE : PHASE_PREFILL, .batch = 32,
                              .seq = 512, .context = 512, .tp = 1};
        analysis_run(&a, m, dx, &sc);
        analysis_run(&b, m, h, &sc);
        assert_true(a.placed);
        assert_exact(a.tot.time_s, b.tot.time_s);
        assert_exact(a.ttft_s, b.ttft_s);
        assert_exact(a.tpot_s, b.tpot_s);
        assert_exact(a.place_tot.time_xpu_s, b.tot.time_s);
        assert_exact(a.place_tot.ops_side[SIDE_PIM] + a.place_tot.ops_side[SIDE_CO], 0);
        assert_exact(a.place_tot.energy_j, a.place_tot.energy_xpu_j);
    }
    analysis_free(&a);
    analysis_free(&b);
    device_free(dx);
    device_free(h);
    model_free(m);
}

/* Device files: a bad value fails at its own line and column. */
static void expect_bad(const char *pim_and_energy, int line, int col, const char *msg)
{
    char text[4096];
    snprintf(text, sizeof text,
             "name: bad\nvendor: x\nmemory: {capacity_bytes: 80e9, bandwidth_bytes_per_s: 1e12}\n"
             "l2_bytes: 0\nsm_count: 1\nkernel_overhead_s: 0\ninterconnect_bytes_per_s: 1e9\n"
             "tensor_flops_per_s: {fp32: 1e12}\nvector_flops_per_s: {fp32: 1e12}\n%s",
             pim_and_energy);
    struct device *d = NULL;
    struct err e;
    const int rc = device_load(tu_write_temp(text), &d, &e);
    if (rc == 0 || !strstr(e.msg, msg) || e.line != line || e.col != col) {
        print_error("want %d:%d '%s'\n got rc %d, %d:%d '%s'\n", line, col, msg, rc, e.line,
                    e.col, rc ? e.msg : "");
        fail();
    }
    device_free(d);
}

#define PIM_OK "pim:\n  kind: logic\n  stacks: 5\n  macs_per_stack: 8\n  clock_hz: 1e9\n"
#define EN_OK "energy:\n  xpu_pj_per_flop: 1\n  pim_pj_per_flop: 1\n  dram_pj_per_bit: 4\n"

static void test_pim_bad_files(void **state)
{
    (void)state;
    /* internal bandwidth below the external one (line 15 = bandwidth_multiplier) */
    expect_bad(PIM_OK "  bandwidth_multiplier: 0.5\n", 15, 25, "below the external");
    expect_bad("pim:\n  kind: logic\n  stacks: 0\n  macs_per_stack: 8\n  clock_hz: 1e9\n"
               "  bandwidth_multiplier: 4\n",
               12, 11, "'stacks' must be at least 1");
    expect_bad(PIM_OK "  bandwidth_multiplier: 4\n" EN_OK "  pim_pj_per_bit: 2\n"
               "  static_w: -1\n",
               21, 13, "'static_w'");
    expect_bad(PIM_OK "  bandwidth_multiplier: 4\n" EN_OK "  pim_pj_per_bit: -2\n"
               "  static_w: 1\n",
               20, 19, "'pim_pj_per_bit'");
    expect_bad(PIM_OK "  bandwidth_multiplier: 4\n" EN_OK "  pim_pj_per_bit: 5\n"
               "  static_w: 1\n",
               20, 19, "cannot cost more");
    expect_bad(PIM_OK "  bandwidth_multiplier: 4\n  kind2: bank\n", 16, 3, "unknown");
    expect_bad(PIM_OK "  bandwidth_multiplier: 4\n  ops: weights\n", 16, 8, "ops");
    /* The command line reports FILE:LINE:COL and exits 2. */
    char text[2048], out[4096], err[4096], args[1024];
    snprintf(text, sizeof text,
             "name: bad\nvendor: x\nmemory: {capacity_bytes: 80e9, bandwidth_bytes_per_s: 1e12}\n"
             "l2_bytes: 0\nsm_count: 1\nkernel_overhead_s: 0\ninterconnect_bytes_per_s: 1e9\n"
             "tensor_flops_per_s: {fp32: 1e12}\nvector_flops_per_s: {fp32: 1e12}\n"
             PIM_OK "  bandwidth_multiplier: 0.5\n");
    const char *path = tu_write_temp(text);
    snprintf(args, sizeof args, "analyze llama-3-8b --hw %s --phase decode --context 16", path);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 2);
    char want[600];
    snprintf(want, sizeof want, "%s:15:25:", path);
    assert_non_null(strstr(err, want));
}

/* Why Mixtral's experts print "co 4/8" on duplex-h100 (decode, B = 64,
 * context 2048, fp8 weights, bf16 activations). 64 tokens x top-2 = 128 picks
 * over 8 experts: all c = 8 (1 - (6/8)^64) ~ 8 experts are touched, 16 tokens
 * each. experts_gate_up (4096 -> 2 x 14336 = 28672):
 *   FLOPs 2 x 128 x 28672 x 4096 = 30,064,771,072
 *   bytes c x 4096 x 28672 x 1 (fp8) + 128 x 4096 x 2 + 128 x 28672 x 2
 *         = c x 117,440,512 + 8,388,608 ~ 947.9 MB
 *   W_xpu = max(30.06e9 / 989.4e12 = 30.4 us, 947.9e6 / 3.35e12 = 283.0 us)
 *   W_pim = max(30.06e9 / (2 x 5 x 8192 x 1.3e9 = 106.5e12) = 282.3 us,
 *               947.9e6 / (4 x 3.35e12) = 70.7 us)
 *   balance 8 x 282.3 / (283.0 + 282.3) = 3.995: x = 3 gives
 *   max(3/8 x 283.0, 5/8 x 282.3) = 176.4 us, x = 4 gives
 *   max(141.5, 141.2) = 141.5 us, so 4 of the 8 experts run on the xPU and
 *   the op takes 4/c x W_xpu + 4 us (either side's overhead), against 287 us
 *   (xPU alone) and 286 us (PIM alone). experts_down (14336 -> 4096) is half
 *   of each figure (weights c x 58,720,256 B; activations 4,718,592 B) and
 *   splits 4/8 too. */
static void test_pim_mixtral_split_by_hand(void **state)
{
    (void)state;
    struct model *m = tu_model("mixtral-8x7b");
    struct device *dx = tu_device("duplex-h100");
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 64, .context = 2048, .tp = 1,
                          .has_dt_w = true, .dt_w = DT_FP8};
    analysis_run(&a, m, dx, &sc);
    assert_true(a.placed);
    const double c = 8 * (1 - pow(0.75, 64));
    const char *names[2] = {"experts_gate_up", "experts_down"};
    const double wbytes[2] = {117440512.0, 58720256.0}, abytes[2] = {8388608.0, 4718592.0};
    for (int k = 0; k < 2; k++) {
        int i = 0;
        while (i < a.graph.n && strcmp(a.graph.ops[i].name, names[k]) != 0) i++;
        assert_true(i < a.graph.n);
        const struct op_place *pl = &a.place[i];
        const double wx = (c * wbytes[k] + abytes[k]) / 3.35e12;
        assert_int_equal(pl->side, SIDE_CO);
        assert_close(pl->units, c, 1e-15);
        assert_exact(pl->units_xpu, 4);
        assert_close(pl->time_s, 4 / c * wx + 4e-6, 1e-13);
    }
    analysis_free(&a);
    device_free(dx);
    model_free(m);
}

/* analyze on the Duplex device: placement column ("co 4/8": the split worked
 * out in test_pim_mixtral_split_by_hand), speedups, energy in json. */
static void test_pim_analyze_output(void **state)
{
    (void)state;
    static char out[1 << 20], err[4096];
    assert_int_equal(tu_run("analyze mixtral --hw duplex-h100 --phase decode --batch 64 "
                            "--context 2048 --weight-dtype fp8 --per-op",
                            out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "t PIM"));
    assert_non_null(strstr(out, "co 4/8"));
    assert_non_null(strstr(out, "BankPIM-H100"));
    assert_non_null(strstr(out, "mJ per token"));
    assert_int_equal(tu_run("analyze mixtral --hw duplex-h100 --phase decode --batch 64 "
                            "--context 2048 --weight-dtype fp8 --format json",
                            out, sizeof out, err, sizeof err),
                     0);
    struct yml_doc *doc = NULL;
    struct err e;
    assert_int_equal(yml_load_string("json", out, strlen(out), &doc, &e), 0);
    yml_node tot = yml_map_get(doc, yml_root(doc), "totals");
    const double ej = strtod(yml_scalar(doc, yml_map_get(doc, tot, "energy_j")), NULL);
    const double ept = strtod(yml_scalar(doc, yml_map_get(doc, tot, "energy_per_token_j")), NULL);
    assert_close(ej / 64, ept, 1e-12);
    assert_true(strtod(yml_scalar(doc, yml_map_get(doc, tot, "speedup_over_xpu")), NULL) > 1);
    assert_true(yml_map_get(doc, tot, "speedup_over_baseline") != 0);
    /* per-op energies add up to the total */
    yml_node ops = yml_map_get(doc, yml_root(doc), "ops");
    double sum = 0;
    for (int i = 0; i < yml_seq_len(doc, ops); i++) {
        yml_node op = yml_seq_at(doc, ops, i);
        sum += strtod(yml_scalar(doc, yml_map_get(doc, op, "energy_j")), NULL) *
               strtod(yml_scalar(doc, yml_map_get(doc, op, "layer_count")), NULL);
    }
    assert_close(sum, ej, 1e-12);
    yml_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pim_threshold),
        cmocka_unit_test(test_pim_pinned),
        cmocka_unit_test(test_pim_coprocess_balance),
        cmocka_unit_test(test_pim_coprocess_calibrated_overhead),
        cmocka_unit_test(test_pim_energy_read),
        cmocka_unit_test(test_pim_ops_attention_only),
        cmocka_unit_test(test_pim_zero_compute_is_xpu),
        cmocka_unit_test(test_pim_bad_files),
        cmocka_unit_test(test_pim_mixtral_split_by_hand),
        cmocka_unit_test(test_pim_analyze_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
