/* device.c - loading device files and deriving effective rates; see device.h. */
#define _POSIX_C_SOURCE 200809L
#include "device.h"

#include <math.h>
#include <stdio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/core/catalog.h"

#define OFF(f) offsetof(struct device, f)

static const struct key_spec TOP_KEYS[] = {
    {"name", KEY_STR, OFF(name), 0, 64, 1, NULL, "", "display name"},
    {"vendor", KEY_STR, OFF(vendor), 0, 64, 1, NULL, "", "manufacturer"},
    {"memory", KEY_MAP, 0, 0, 0, 1, NULL, "", "device memory (see memory table)"},
    {"l2_bytes", KEY_NUM, OFF(l2_bytes), 0, 1e12, 1, NULL, "bytes", "last-level cache size"},
    {"sm_count", KEY_NUM, OFF(sm_count), 1, 1e6, 1, NULL, "count",
     "streaming multiprocessors (or compute units)"},
    {"clock_hz", KEY_NUM, OFF(clock_hz), 1e6, 1e11, 0, NULL, "Hz",
     "clock the peak figures assume (informational)"},
    {"kernel_overhead_s", KEY_NUM, OFF(kernel_overhead_s), 0, 1, 1, NULL, "s",
     "fixed time added to every kernel (launch and tail); with graph_overhead_s: the host's "
     "time per eager launch, the least time of a kernel under --launch eager"},
    {"interconnect_bytes_per_s", KEY_NUM, OFF(interconnect_bytes_per_s), 1e6, 1e16, 1, NULL,
     "bytes/s", "device-to-device bandwidth within a node (NVLink), one direction"},
    {"network", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "two-tier network: GPUs per node, latencies, the inter-node bandwidth (see network "
     "table; docs/network.md); absent = one tier at interconnect_bytes_per_s, no latency"},
    {"tensor_flops_per_s", KEY_MAP, 0, 0, 0, 1, NULL, "",
     "dense matmul peaks per dtype (see peak table); fp32 required"},
    {"vector_flops_per_s", KEY_MAP, 0, 0, 0, 1, NULL, "",
     "non-matmul peaks per dtype (see peak table); fp32 required"},
    {"efficiency", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "achieved fraction of each peak (see efficiency table); each defaults to 1"},
    {"price_usd_per_hour", KEY_NUM, OFF(price_usd_per_hour), 1e-6, 1e6, 0, NULL, "USD/h",
     "rental price of one device, with its source; no default: without it `serve` prints "
     "cost as n/a"},
    {"pim", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "processing in memory sharing the stacks (see pim table); absent = none"},
    {"energy", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "energy constants (see energy table); absent = energy not reported"},
    {"calibration", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "fitted entries KIND[.IMPL][.PHASE] -> efficiencies, falloff, overlap, overhead (see "
     "calibration table; docs/measurements.md)"},
    {"calibration_note", KEY_STR, OFF(cal_note), 0, 160, 0, NULL, "",
     "where the calibration comes from (shown in output headers)"},
    {"calibration_source", KEY_STR, OFF(cal_source), 0, 128, 0, NULL, "",
     "file name of the measurements the calibration was fitted to (validate labels its rows "
     "fitted / held out only on that file)"},
    {"calibration_holdout", KEY_STR, OFF(cal_holdout), 0, 64, 0, NULL, "",
     "rows held out of that fit: none, every:N, class:NAME (calibrate --holdout)"},
    {"graph_overhead_s", KEY_NUM, OFF(graph_overhead_s), 0, 1, 0, NULL, "s",
     "gap added to every kernel (CUDA-graph replay); with it, an eager kernel costs max(time "
     "+ this, kernel_overhead_s) (default: none, every kernel + kernel_overhead_s)"},
    {"default_impl", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "op kind -> implementation an op without one uses (e.g. attention: fa2); default: default"},
    {"impl_priors", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "implementations not measured on this device, derived from measured ones (docs/measurements.md, \"Priors\")"},
};

static const char *const PIM_KINDS[] = {"logic", "bank", NULL};
static const char *const PIM_OPS[] = {"all", "attention", NULL};
#define POFF(f) offsetof(struct device, pim.f)
#define EOFF(f) offsetof(struct device, energy.f)
static const struct key_spec PIM_KEYS[] = {
    {"kind", KEY_ENUM, POFF(kind), 0, 0, 1, PIM_KINDS, "",
     "logic: units on the HBM logic die (Duplex Logic-PIM); bank: units beside the DRAM banks "
     "(HBM-PIM, AttAcc)"},
    {"stacks", KEY_NUM, POFF(stacks), 1, 64, 1, NULL, "count", "HBM stacks with PIM units"},
    {"bandwidth_multiplier", KEY_NUM, POFF(bw_multiplier), 1e-3, 1024, 1, NULL, "ratio",
     "internal (DRAM-to-PIM) bandwidth / external bandwidth, all stacks; >= 1 (more TSVs or "
     "bank parallelism)"},
    {"macs_per_stack", KEY_NUM, POFF(macs_per_stack), 1, 1e9, 1, NULL, "count",
     "multiply-accumulate units per stack (2 FLOP per cycle each)"},
    {"clock_hz", KEY_NUM, POFF(clock_hz), 1e6, 1e11, 1, NULL, "Hz", "PIM unit clock"},
    {"buffer_bytes_per_stack", KEY_NUM, POFF(buffer_bytes_per_stack), 0, 1e12, 0, NULL, "bytes",
     "PIM-side SRAM per stack (informational; default 0)"},
    {"overhead_s", KEY_NUM, POFF(overhead_s), 0, 1, 0, NULL, "s",
     "fixed time per PIM kernel (default: the device's kernel_overhead_s)"},
    {"ops", KEY_ENUM, POFF(ops), 0, 0, 0, PIM_OPS, "",
     "ops PIM may run: all (every op but collectives; default) or attention (the attention "
     "core only, as AttAcc: Park et al., ASPLOS 2024)"},
    {"coprocess", KEY_BOOL, POFF(coprocess), 0, 0, 0, NULL, "",
     "xPU and PIM may split one MoE or attention op (experts / requests); default false"},
    {"baseline", KEY_STR, POFF(baseline), 0, 64, 0, NULL, "",
     "bundled device that `analyze` also runs for a speedup line (default none)"},
};
static const struct key_spec ENERGY_KEYS[] = {
    {"xpu_pj_per_flop", KEY_NUM, EOFF(xpu_pj_per_flop), 0, 1e4, 1, NULL, "pJ/FLOP",
     "xPU arithmetic (tensor and vector alike)"},
    {"pim_pj_per_flop", KEY_NUM, EOFF(pim_pj_per_flop), 0, 1e4, 0, NULL, "pJ/FLOP",
     "PIM arithmetic (required with `pim`)"},
    {"dram_pj_per_bit", KEY_NUM, EOFF(ext_pj_per_bit), 0, 1e4, 1, NULL, "pJ/bit",
     "DRAM access through the external path (cell, TSV, logic die, PHY, interposer)"},
    {"pim_pj_per_bit", KEY_NUM, EOFF(pim_pj_per_bit), 0, 1e4, 0, NULL, "pJ/bit",
     "DRAM access through the PIM path; <= dram_pj_per_bit (required with `pim`)"},
    {"static_w", KEY_NUM, EOFF(static_w), 0, 1e5, 1, NULL, "W",
     "static power of the whole device, charged for the step time"},
};

static const struct key_spec NET_KEYS[] = {
    {"gpus_per_node", KEY_NUM, OFF(gpus_per_node), 1, 1e6, 1, NULL, "count",
     "devices in one node, joined by the intra-node link (interconnect_bytes_per_s)"},
    {"intra_latency_s", KEY_NUM, OFF(intra_latency_s), 0, 1, 1, NULL, "s",
     "latency of one message step within a node"},
    {"inter_bytes_per_s", KEY_NUM, OFF(inter_bytes_per_s), 1e6, 1e16, 1, NULL, "bytes/s",
     "bandwidth across nodes per device, one direction (its own NIC: InfiniBand/RoCE)"},
    {"inter_latency_s", KEY_NUM, OFF(inter_latency_s), 0, 1, 1, NULL, "s",
     "latency of one message step across nodes"},
};

static const struct key_spec MEM_KEYS[] = {
    {"capacity_bytes", KEY_NUM, OFF(mem_capacity_bytes), 1e6, 1e15, 1, NULL, "bytes",
     "memory capacity"},
    {"bandwidth_bytes_per_s", KEY_NUM, OFF(mem_bw_bytes_per_s), 1e6, 1e16, 1, NULL, "bytes/s",
     "peak memory bandwidth"},
};

static const struct key_spec TENSOR_KEYS[] = {
    {"fp32", KEY_NUM, OFF(tensor_flops_per_s[DT_FP32]), 1e6, 1e19, 1, NULL, "FLOP/s",
     "fp32 matmul (without TF32)"},
    {"bf16", KEY_NUM, OFF(tensor_flops_per_s[DT_BF16]), 1e6, 1e19, 0, NULL, "FLOP/s", "bf16"},
    {"fp16", KEY_NUM, OFF(tensor_flops_per_s[DT_FP16]), 1e6, 1e19, 0, NULL, "FLOP/s", "fp16"},
    {"fp8", KEY_NUM, OFF(tensor_flops_per_s[DT_FP8]), 1e6, 1e19, 0, NULL, "FLOP/s", "fp8"},
    {"int8", KEY_NUM, OFF(tensor_flops_per_s[DT_INT8]), 1e6, 1e19, 0, NULL, "OP/s", "int8"},
    {"int4", KEY_NUM, OFF(tensor_flops_per_s[DT_INT4]), 1e6, 1e19, 0, NULL, "OP/s", "int4"},
    {"nvfp4", KEY_NUM, OFF(tensor_flops_per_s[DT_NVFP4]), 1e6, 1e19, 0, NULL, "FLOP/s",
     "nvfp4 (Blackwell)"},
    {"mxfp4", KEY_NUM, OFF(tensor_flops_per_s[DT_MXFP4]), 1e6, 1e19, 0, NULL, "FLOP/s",
     "mxfp4 (Blackwell)"},
};
static const struct key_spec VECTOR_KEYS[] = {
    {"fp32", KEY_NUM, OFF(vector_flops_per_s[DT_FP32]), 1e6, 1e19, 1, NULL, "FLOP/s", "fp32"},
    {"bf16", KEY_NUM, OFF(vector_flops_per_s[DT_BF16]), 1e6, 1e19, 0, NULL, "FLOP/s", "bf16"},
    {"fp16", KEY_NUM, OFF(vector_flops_per_s[DT_FP16]), 1e6, 1e19, 0, NULL, "FLOP/s", "fp16"},
};
static const struct key_spec EFF_KEYS[] = {
    {"tensor", KEY_NUM, OFF(eff_tensor), 1e-6, 1, 0, NULL, "fraction",
     "of the tensor peaks (default 1)"},
    {"vector", KEY_NUM, OFF(eff_vector), 1e-6, 1, 0, NULL, "fraction",
     "of the vector peaks (default 1)"},
    {"memory", KEY_NUM, OFF(eff_memory), 1e-6, 1, 0, NULL, "fraction",
     "of the memory bandwidth (default 1)"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

#define COFF(f) offsetof(struct device_cal, f)
static const struct key_spec CAL_KEYS[] = {
    {"tensor", KEY_NUM, COFF(eff_tensor), 1e-6, 1, 0, NULL, "fraction",
     "of the tensor peaks for this op kind (default: efficiency.tensor)"},
    {"memory", KEY_NUM, COFF(eff_memory), 1e-6, 1, 0, NULL, "fraction",
     "of the memory bandwidth for this op kind (default: efficiency.memory)"},
    {"bytes_half", KEY_NUM, COFF(bytes_half), 0, 1e15, 0, NULL, "bytes",
     "falloff: memory efficiency x bytes/(bytes + bytes_half) (default 0: none)"},
    {"flops_half", KEY_NUM, COFF(flops_half), 0, 1e18, 0, NULL, "FLOP",
     "falloff: tensor efficiency x flops/(flops + flops_half) (default 0: none)"},
    {"overhead_s", KEY_NUM, COFF(overhead_s), 0, 1, 0, NULL, "s",
     "per-kernel overhead for this entry, eager launch (default: kernel_overhead_s)"},
    {"vector", KEY_NUM, COFF(eff_vector), 1e-6, 1, 0, NULL, "fraction",
     "of the vector peaks for this entry (default: efficiency.vector)"},
    {"serial", KEY_NUM, COFF(serial), 0, 1, 0, NULL, "fraction",
     "of the output write NOT overlapped with the compute (GEMM epilogue): t = max(compute, "
     "memory) + serial x min(compute, bytes written / bandwidth) (default 0: max())"},
    {"tile_q", KEY_NUM, COFF(tile_q), 1, 4096, 0, NULL, "queries",
     "prefill attention: query rows per CTA of the kernel; with ctas_per_sm, the compute time "
     "is stretched by the CTA schedule's tail (docs/measurements.md; default 0: none)"},
    {"ctas_per_sm", KEY_NUM, COFF(ctas_per_sm), 1, 64, 0, NULL, "count",
     "prefill attention: CTAs of the kernel resident per SM (needs tile_q and sm_count)"},
};

/* impl_priors entries: read into a scratch struct, then checked and stored. */
struct prior_cfg {
    char from[32];
    double compute, memory;
    char source[240];
};
#define PRIOFF(f) offsetof(struct prior_cfg, f)
static const struct key_spec PRIOR_KEYS[] = {
    {"from", KEY_STR, PRIOFF(from), 0, 32, 1, NULL, "",
     "the measured implementation whose entry (same kind and phase) it scales: fa2, cudnn, ..."},
    {"compute", KEY_NUM, PRIOFF(compute), 1e-3, 1e3, 0, NULL, "ratio",
     "x its tensor and vector efficiencies (its speed on compute-bound work; default 1; "
     "capped at efficiency 1)"},
    {"memory", KEY_NUM, PRIOFF(memory), 1e-3, 1e3, 0, NULL, "ratio",
     "x its memory efficiency (default 1; capped at 1)"},
    {"source", KEY_STR, PRIOFF(source), 0, 240, 1, NULL, "",
     "where the ratios come from (shown by `opbound list hw`)"},
};

int device_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n)
{
    switch (i) {
    case 0: *title = "Device: top level"; *keys = TOP_KEYS; *n = N(TOP_KEYS); return 0;
    case 1: *title = "Device: `memory`"; *keys = MEM_KEYS; *n = N(MEM_KEYS); return 0;
    case 2:
        *title = "Device: `tensor_flops_per_s` (dense, no 2:4 sparsity)";
        *keys = TENSOR_KEYS;
        *n = N(TENSOR_KEYS);
        return 0;
    case 3:
        *title = "Device: `vector_flops_per_s`";
        *keys = VECTOR_KEYS;
        *n = N(VECTOR_KEYS);
        return 0;
    case 4: *title = "Device: `efficiency`"; *keys = EFF_KEYS; *n = N(EFF_KEYS); return 0;
    case 5:
        *title = "Device: `pim` (docs/logic-pim.md)";
        *keys = PIM_KEYS;
        *n = N(PIM_KEYS);
        return 0;
    case 6: *title = "Device: `energy`"; *keys = ENERGY_KEYS; *n = N(ENERGY_KEYS); return 0;
    case 7:
        *title = "Device: `calibration` (optional; one map per entry KIND[.IMPL][.PHASE]: "
                 "gemm, gemm.cublas, attention.fa2.decode, elementwise.eager, ...; written by "
                 "`opbound calibrate`)";
        *keys = CAL_KEYS;
        *n = N(CAL_KEYS);
        return 0;
    case 8:
        *title = "Device: `impl_priors` (optional; one map per entry KIND.IMPL[.PHASE], e.g. "
                 "attention.flex_triton.prefill: an implementation not measured on this "
                 "device, derived from a measured one; docs/measurements.md, \"Priors\")";
        *keys = PRIOR_KEYS;
        *n = N(PRIOR_KEYS);
        return 0;
    case 9:
        *title = "Device: `network` (optional; docs/network.md)";
        *keys = NET_KEYS;
        *n = N(NET_KEYS);
        return 0;
    default: return -1;
    }
}

int device_cal_parent(int kind)
{
    switch ((enum op_kind)kind) {
    case OP_BATCHED_GEMM: return OP_GEMM;
    case OP_NORM:
    case OP_SOFTMAX:
    case OP_ROUTER: /* softmax + top-k over the experts: a pointwise/reduction kernel */
    case OP_GATHER: /* an embedding lookup: a copy */
        return OP_ELEMENTWISE;
    case OP_GEMM:
    case OP_ATTENTION:
    case OP_ELEMENTWISE:
    case OP_ALLREDUCE:
    case OP_SCAN:
    case OP_ALLTOALL:
    case OP_ALLGATHER:
    case OP_COUNT: break;
    }
    return -1;
}

static const char *const PHASE_NAMES[PH_COUNT] = {"", "decode", "prefill"};

void device_cal_name(int kind, int impl, int phase, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s", op_kind_name((enum op_kind)kind), impl ? "." : "",
             impl ? op_impl_name((enum op_impl)impl) : "", phase ? "." : "", PHASE_NAMES[phase]);
}

int device_cal_count(const struct device *d)
{
    int n = 0;
    for (int k = 0; k < OP_COUNT; k++)
        for (int i = 0; i < IMPL_COUNT; i++)
            for (int p = 0; p < PH_COUNT; p++)
                n += d->cal[k][i][p].present && !d->cal[k][i][p].prior;
    return n;
}

int device_priors_describe(const struct device *d, char *buf, size_t n)
{
    int w = 0, any = 0;
    buf[0] = 0;
    for (int q = 0; q < d->n_priors && w >= 0 && (size_t)w < n; q++) {
        const struct impl_prior *pr = &d->priors[q];
        if (!d->cal[pr->kind][pr->impl][pr->phase].prior) continue; /* measured, or no base */
        char name[96];
        device_cal_name(pr->kind, pr->impl, pr->phase, name, sizeof name);
        w += snprintf(buf + w, n - (size_t)w, "%s%s", any++ ? ", " : "", name);
    }
    return any;
}

const char *launch_mode_name(int mode) { return mode == LAUNCH_GRAPH ? "graph" : "eager"; }

void device_describe(const struct device *d, char *buf, size_t n)
{
    int w = snprintf(buf, n, "launch %s; default impl", launch_mode_name(d->launch));
    int any = 0;
    for (int k = 0; k < OP_COUNT && w >= 0 && (size_t)w < n; k++)
        if (d->default_impl[k] != IMPL_DEFAULT)
            w += snprintf(buf + w, n - (size_t)w, "%s%s=%s", any++ ? "," : " ",
                          op_kind_name((enum op_kind)k), op_impl_name((enum op_impl)d->default_impl[k]));
    if (w >= 0 && (size_t)w < n && !any) w += snprintf(buf + w, n - (size_t)w, " none");
    if (w >= 0 && (size_t)w < n)
        w += snprintf(buf + w, n - (size_t)w, "; %s", d->cal_note[0] ? d->cal_note : "not calibrated");
    char pri[256];
    if (w >= 0 && (size_t)w < n && device_priors_describe(d, pri, sizeof pri))
        snprintf(buf + w, n - (size_t)w, "; priors, not measured: %s", pri);
}

/* Resolves entry (k, i, p) along the chain of struct device_cal. */
static void resolve(struct device *d, int k, int i, int p)
{
    struct device_cal *out = &d->cal[k][i][p];
    const struct device_cal *src = NULL;
    int sk = -1, si = 0, sp = 0;
    for (int kind = k; kind >= 0 && !src; kind = device_cal_parent(kind)) {
        const int want = i != IMPL_DEFAULT ? i : d->default_impl[kind];
        const int impls[3] = {want, d->default_impl[kind], IMPL_DEFAULT};
        for (int a = 0; a < 3 && !src; a++)
            for (int b = 0; b < 2 && !src; b++) {
                const int ph = b == 0 ? p : PH_ANY;
                if (d->cal[kind][impls[a]][ph].present)
                    src = &d->cal[kind][impls[a]][ph], sk = kind, si = impls[a], sp = ph;
            }
    }
    const double et = src && src->eff_tensor > 0 ? src->eff_tensor : d->eff_tensor;
    const double em = src && src->eff_memory > 0 ? src->eff_memory : d->eff_memory;
    const double ev = src && src->eff_vector > 0 ? src->eff_vector : d->eff_vector;
    out->tensor_scale = d->eff_tensor / et;
    out->vector_scale = d->eff_vector / ev;
    out->inv_mem_rate = 1.0 / (d->mem_bw_bytes_per_s * em);
    out->r_bytes_half = src ? src->bytes_half : 0;
    out->r_flops_half = src ? src->flops_half : 0;
    out->r_serial = src ? src->serial : 0;
    const bool tail = src && src->tile_q > 0 && src->ctas_per_sm > 0 && d->sm_count > 0;
    out->r_tile_q = tail ? src->tile_q : 0;
    out->r_slots = tail ? src->ctas_per_sm * d->sm_count : 0;
    const double eager = src && src->overhead_s >= 0 ? src->overhead_s : d->kernel_overhead_s;
    if (!d->has_graph_overhead) { /* no graph figure: additive, both modes */
        out->t_overhead_s = eager;
        out->t_floor_s = 0;
    } else {
        out->t_overhead_s = d->graph_overhead_s;
        out->t_floor_s = d->launch == LAUNCH_EAGER ? eager : 0;
    }
    out->src_kind = (signed char)sk, out->src_impl = (signed char)si, out->src_phase = (signed char)sp;
}

/* Makes the impl_priors entries (struct impl_prior): earlier ones are
 * dropped first, so a refit base is followed. In file order, so a prior may
 * scale an earlier prior (flex_fa4 from flex_triton). */
static void priors_apply(struct device *d)
{
    for (int k = 0; k < OP_COUNT; k++)
        for (int i = 0; i < IMPL_COUNT; i++)
            for (int p = 0; p < PH_COUNT; p++)
                if (d->cal[k][i][p].prior) d->cal[k][i][p] = (struct device_cal){.overhead_s = -1};
    for (int q = 0; q < d->n_priors; q++) {
        const struct impl_prior *pr = &d->priors[q];
        struct device_cal *dst = &d->cal[pr->kind][pr->impl][pr->phase];
        if (dst->present) continue; /* measured: the measurement wins */
        const struct device_cal *base = NULL;
        if (d->cal[pr->kind][pr->from][pr->phase].present)
            base = &d->cal[pr->kind][pr->from][pr->phase];
        else if (d->cal[pr->kind][pr->from][PH_ANY].present)
            base = &d->cal[pr->kind][pr->from][PH_ANY];
        if (!base) continue; /* nothing to scale: the op takes the chain */
        const double et = base->eff_tensor > 0 ? base->eff_tensor : d->eff_tensor;
        const double ev = base->eff_vector > 0 ? base->eff_vector : d->eff_vector;
        const double em = base->eff_memory > 0 ? base->eff_memory : d->eff_memory;
        *dst = *base;
        dst->eff_tensor = fmin(1.0, et * pr->compute);
        dst->eff_vector = fmin(1.0, ev * pr->compute);
        dst->eff_memory = fmin(1.0, em * pr->memory);
        dst->tile_q = dst->ctas_per_sm = 0; /* the base kernel's tiles are not the prior's */
        dst->present = 1;
        dst->prior = 1;
    }
}

void device_derive(struct device *d)
{
    priors_apply(d);
    OB_ASSERT(d->tensor_flops_per_s[DT_FP32] > 0 && d->vector_flops_per_s[DT_FP32] > 0);
    /* Widest first, so a missing dtype inherits the next wider listed rate. */
    for (int i = 0; i < DT_COUNT; i++) {
        double t = d->tensor_flops_per_s[i], v = d->vector_flops_per_s[i];
        d->tensor_rate[i] = (t > 0 ? t : d->tensor_rate[i - 1] / d->eff_tensor) * d->eff_tensor;
        d->vector_rate[i] = (v > 0 ? v : d->vector_rate[i - 1] / d->eff_vector) * d->eff_vector;
        d->inv_tensor_rate[i] = 1.0 / d->tensor_rate[i];
        d->inv_vector_rate[i] = 1.0 / d->vector_rate[i];
    }
    d->mem_rate = d->mem_bw_bytes_per_s * d->eff_memory;
    d->inv_mem_rate = 1.0 / d->mem_rate;
    d->inv_net_rate = 1.0 / d->interconnect_bytes_per_s;
    d->inv_inter_rate = d->has_network ? 1.0 / d->inter_bytes_per_s : 0;
    if (d->has_pim) {
        struct pim_spec *p = &d->pim;
        p->flops_per_s = 2.0 * p->stacks * p->macs_per_stack * p->clock_hz;
        p->bw_bytes_per_s = p->bw_multiplier * d->mem_rate;
        p->inv_flops = 1.0 / p->flops_per_s;
        p->inv_bw = 1.0 / p->bw_bytes_per_s;
    }
    if (d->has_energy) {
        struct energy_spec *en = &d->energy;
        en->j_flop_xpu = en->xpu_pj_per_flop * 1e-12;
        en->j_flop_pim = en->pim_pj_per_flop * 1e-12;
        en->j_byte_ext = en->ext_pj_per_bit * 8e-12;
        en->j_byte_pim = en->pim_pj_per_bit * 8e-12;
    }
    for (int k = 0; k < OP_COUNT; k++)
        for (int i = 0; i < IMPL_COUNT; i++)
            for (int p = 0; p < PH_COUNT; p++) resolve(d, k, i, p);
}

const char *pim_kind_name(int kind)
{
    return kind >= 0 && kind < PIM_KIND_COUNT ? PIM_KINDS[kind] : "?";
}

/* The optional `pim` and `energy` maps, and the checks between them that no
 * single key's range can express. */
static int load_pim_energy(const struct yml_doc *doc, yml_node root, struct device *d,
                           struct err *e)
{
    uint64_t present = 0;
    yml_node pim = yml_map_get(doc, root, "pim"), en = yml_map_get(doc, root, "energy");
    if (pim) {
        d->pim.overhead_s = -1;
        if (yml_map_read(doc, pim, "pim", PIM_KEYS, N(PIM_KEYS), d, &present, e)) return -1;
        if (d->pim.overhead_s < 0) d->pim.overhead_s = d->kernel_overhead_s;
        if (d->pim.baseline[0]) { /* resolved as `analyze` will, so a bad name fails here, at its place */
            char where[1024];
            struct err e2;
            if (catalog_resolve("hw", d->pim.baseline, where, sizeof where, &e2))
                return yml_fail(doc, yml_map_get(doc, pim, "baseline"), e, "baseline: %s%s%s",
                                e2.file[0] ? e2.file : "", e2.file[0] ? ": " : "", e2.msg);
        }
        if (d->pim.bw_multiplier < 1)
            return yml_fail(doc, yml_map_get(doc, pim, "bandwidth_multiplier"), e,
                            "bandwidth_multiplier %g: the internal bandwidth (%g B/s) would be "
                            "below the external one (%g B/s); PIM reads the same DRAM through "
                            "at least as many wires",
                            d->pim.bw_multiplier, d->pim.bw_multiplier * d->mem_bw_bytes_per_s,
                            d->mem_bw_bytes_per_s);
        d->has_pim = true;
    }
    if (en) {
        present = 0;
        if (yml_map_read(doc, en, "energy", ENERGY_KEYS, N(ENERGY_KEYS), d, &present, e))
            return -1;
        d->has_energy = true;
        const int ip = yml_key_index(ENERGY_KEYS, N(ENERGY_KEYS), "pim_pj_per_bit");
        const int iflop = yml_key_index(ENERGY_KEYS, N(ENERGY_KEYS), "pim_pj_per_flop");
        if (pim && !(present >> ip & 1))
            return yml_fail(doc, en, e, "energy: pim_pj_per_bit is required when the device has pim");
        if (pim && !(present >> iflop & 1))
            return yml_fail(doc, en, e, "energy: pim_pj_per_flop is required when the device has pim");
        /* The PIM path is a subset of the external one (no PHY, no interposer). */
        if (d->energy.pim_pj_per_bit > d->energy.ext_pj_per_bit)
            return yml_fail(doc, yml_map_get(doc, en, "pim_pj_per_bit"), e,
                            "pim_pj_per_bit (%g) above dram_pj_per_bit (%g): the PIM path skips "
                            "the external I/O, it cannot cost more",
                            d->energy.pim_pj_per_bit, d->energy.ext_pj_per_bit);
    }
    return 0;
}


int device_kind_index(const char *name)
{
    for (int k = 0; k < OP_COUNT; k++)
        if (strcmp(name, op_kind_name((enum op_kind)k)) == 0) return k;
    return -1;
}

/* Parses an entry name KIND[.IMPL][.PHASE]; 0, or -1 when it names no entry. */
static int parse_entry(const char *name, int *k, int *impl, int *ph)
{
    char buf[96];
    if (strlen(name) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", name);
    char *save = NULL, *tok = strtok_r(buf, ".", &save);
    if (!tok || (*k = device_kind_index(tok)) < 0) return -1;
    *impl = IMPL_DEFAULT, *ph = PH_ANY;
    int stage = 0;
    while ((tok = strtok_r(NULL, ".", &save))) {
        const enum op_impl im = op_impl_parse(tok);
        if (stage == 0 && im != IMPL_COUNT) {
            *impl = (int)im, stage = 1;
            continue;
        }
        int p = -1;
        for (int j = 1; j < PH_COUNT; j++)
            if (strcmp(tok, PHASE_NAMES[j]) == 0) p = j;
        if (p < 0 || stage == 2 || *k != OP_ATTENTION) return -1;
        *ph = p, stage = 2;
    }
    return 0;
}

/* Reads the optional `calibration:` map: entry -> CAL_KEYS. */
static int read_calibration(const struct yml_doc *doc, yml_node cal, struct device *d,
                            struct err *e)
{
    if (yml_kind_of(doc, cal) != YML_MAP)
        return yml_fail(doc, cal, e, "'calibration' must be a mapping of op kinds");
    for (int i = 0; i < yml_map_len(doc, cal); i++) {
        yml_node key = yml_map_key_at(doc, cal, i);
        const char *name = yml_scalar(doc, key);
        int k, im, ph;
        if (!name || parse_entry(name, &k, &im, &ph)) {
            char kinds[256] = "";
            for (int j = 0; j < OP_COUNT; j++) /* every kind, from the op table */
                snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s",
                         j ? ", " : "", op_kind_name((enum op_kind)j));
            return yml_fail(doc, key, e, "unknown op kind '%s' in calibration: an entry is "
                            "KIND[.IMPL][.PHASE] with KIND one of %s, IMPL an implementation "
                            "(" OP_IMPL_LIST ") and "
                            "PHASE decode or prefill (attention only)", name ? name : "?", kinds);
        }
        struct device_cal *c = &d->cal[k][im][ph];
        if (c->present) return yml_fail(doc, key, e, "duplicate calibration for '%s'", name);
        uint64_t present;
        c->overhead_s = -1;
        if (yml_map_read(doc, yml_map_get(doc, cal, name), "calibration entry", CAL_KEYS,
                         N(CAL_KEYS), c, &present, e))
            return -1;
        if ((c->tile_q > 0) != (c->ctas_per_sm > 0))
            return yml_fail(doc, key, e, "calibration '%s': tile_q and ctas_per_sm go together",
                            name);
        c->present = 1;
    }
    return 0;
}

/* Reads the optional `impl_priors:` map: entry -> PRIOR_KEYS. */
static int read_priors(const struct yml_doc *doc, yml_node m, struct device *d, struct err *e)
{
    if (yml_kind_of(doc, m) != YML_MAP)
        return yml_fail(doc, m, e, "'impl_priors' must be a mapping of calibration entries");
    for (int i = 0; i < yml_map_len(doc, m); i++) {
        yml_node key = yml_map_key_at(doc, m, i);
        const char *name = yml_scalar(doc, key);
        int k, im, ph;
        if (!name || parse_entry(name, &k, &im, &ph) || im == IMPL_DEFAULT)
            return yml_fail(doc, key, e, "impl_priors: '%s' is not an entry KIND.IMPL[.PHASE] "
                            "(IMPL one of " OP_IMPL_LIST ")", name ? name : "?");
        if (d->n_priors == DEVICE_MAX_PRIORS)
            return yml_fail(doc, key, e, "impl_priors: at most %d entries", DEVICE_MAX_PRIORS);
        for (int q = 0; q < d->n_priors; q++)
            if (d->priors[q].kind == k && d->priors[q].impl == im && d->priors[q].phase == ph)
                return yml_fail(doc, key, e, "duplicate impl_priors entry '%s'", name);
        struct prior_cfg c = {.compute = 1, .memory = 1};
        uint64_t present;
        yml_node v = yml_map_get(doc, m, name);
        if (yml_map_read(doc, v, "impl_priors entry", PRIOR_KEYS, N(PRIOR_KEYS), &c, &present, e))
            return -1;
        const enum op_impl from = op_impl_parse(c.from);
        if (from == IMPL_COUNT || from == IMPL_DEFAULT || (int)from == im)
            return yml_fail(doc, yml_map_get(doc, v, "from"), e, "impl_priors: from '%s' must "
                            "name another implementation (one of " OP_IMPL_LIST ")", c.from);
        struct impl_prior *pr = &d->priors[d->n_priors++];
        *pr = (struct impl_prior){.kind = k, .impl = im, .phase = ph, .from = (int)from,
                                  .compute = c.compute, .memory = c.memory};
        snprintf(pr->source, sizeof pr->source, "%s", c.source);
    }
    return 0;
}

/* Reads the optional `default_impl:` map: op kind -> implementation. */
static int read_default_impl(const struct yml_doc *doc, yml_node m, struct device *d,
                             struct err *e)
{
    if (yml_kind_of(doc, m) != YML_MAP)
        return yml_fail(doc, m, e, "'default_impl' must be a mapping of op kind to implementation");
    for (int i = 0; i < yml_map_len(doc, m); i++) {
        yml_node key = yml_map_key_at(doc, m, i);
        const char *name = yml_scalar(doc, key);
        const int k = name ? device_kind_index(name) : -1;
        if (k < 0) return yml_fail(doc, key, e, "unknown op kind '%s' in default_impl", name ? name : "?");
        yml_node v = yml_map_get(doc, m, name);
        const char *iv = yml_scalar(doc, v);
        const enum op_impl im = iv ? op_impl_parse(iv) : IMPL_COUNT;
        if (im == IMPL_COUNT)
            return yml_fail(doc, v, e, "unknown implementation '%s' (" OP_IMPL_LIST ")",
                            iv ? iv : "?");
        d->default_impl[k] = (int)im;
    }
    return 0;
}

double device_ridge(const struct device *d, enum dtype dt)
{
    return d->tensor_rate[dt] / d->mem_rate;
}

int device_load(const char *path, struct device **out, struct err *e)
{
    struct yml_doc *doc = NULL;
    if (yml_load(path, &doc, e)) return -1;
    struct device *d = calloc(1, sizeof *d);
    OB_ASSERT(d);
    snprintf(d->file, sizeof d->file, "%s", path);
    d->eff_tensor = d->eff_vector = d->eff_memory = 1.0;
    d->graph_overhead_s = -1;
    for (int k = 0; k < OP_COUNT; k++)
        for (int i = 0; i < IMPL_COUNT; i++)
            for (int p = 0; p < PH_COUNT; p++) d->cal[k][i][p].overhead_s = -1;
    uint64_t present;
    yml_node root = yml_root(doc);
    if (yml_map_read(doc, root, "device file", TOP_KEYS, N(TOP_KEYS), d, &present, e)) goto fail;
    if (yml_map_read(doc, yml_map_get(doc, root, "memory"), "memory", MEM_KEYS, N(MEM_KEYS), d,
                     &present, e))
        goto fail;
    if (yml_map_read(doc, yml_map_get(doc, root, "tensor_flops_per_s"), "tensor_flops_per_s",
                     TENSOR_KEYS, N(TENSOR_KEYS), d, &present, e))
        goto fail;
    if (yml_map_read(doc, yml_map_get(doc, root, "vector_flops_per_s"), "vector_flops_per_s",
                     VECTOR_KEYS, N(VECTOR_KEYS), d, &present, e))
        goto fail;
    yml_node eff = yml_map_get(doc, root, "efficiency");
    if (eff && yml_map_read(doc, eff, "efficiency", EFF_KEYS, N(EFF_KEYS), d, &present, e))
        goto fail;
    if (load_pim_energy(doc, root, d, e)) goto fail;
    yml_node net = yml_map_get(doc, root, "network");
    if (net) {
        if (yml_map_read(doc, net, "network", NET_KEYS, N(NET_KEYS), d, &present, e)) goto fail;
        if (d->gpus_per_node != (double)(long long)d->gpus_per_node) {
            yml_fail(doc, yml_map_get(doc, net, "gpus_per_node"), e,
                     "gpus_per_node %g: a whole number of devices", d->gpus_per_node);
            goto fail;
        }
        if (d->inter_bytes_per_s > d->interconnect_bytes_per_s) {
            yml_fail(doc, yml_map_get(doc, net, "inter_bytes_per_s"), e,
                     "inter_bytes_per_s (%g) above interconnect_bytes_per_s (%g): the link "
                     "between nodes cannot be faster than the one inside a node",
                     d->inter_bytes_per_s, d->interconnect_bytes_per_s);
            goto fail;
        }
        d->has_network = true;
    }
    yml_node cal = yml_map_get(doc, root, "calibration");
    if (cal && read_calibration(doc, cal, d, e)) goto fail;
    d->has_graph_overhead = d->graph_overhead_s >= 0;
    yml_node di = yml_map_get(doc, root, "default_impl");
    if (di && read_default_impl(doc, di, d, e)) goto fail;
    yml_node ip = yml_map_get(doc, root, "impl_priors");
    if (ip && read_priors(doc, ip, d, e)) goto fail;
    if (!d->cal_note[0] && device_cal_count(d))
        snprintf(d->cal_note, sizeof d->cal_note, "calibrated (%d entries)", device_cal_count(d));
    device_derive(d);
    yml_free(doc);
    *out = d;
    return 0;
fail:
    yml_free(doc);
    free(d);
    return -1;
}

void device_free(struct device *d) { free(d); }
