/* device.c - loading device files and deriving effective rates; see device.h. */
#include "device.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
     "fixed time added to every kernel (launch and tail)"},
    {"interconnect_bytes_per_s", KEY_NUM, OFF(interconnect_bytes_per_s), 1e6, 1e16, 1, NULL,
     "bytes/s", "device-to-device bandwidth, one direction"},
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
     "fitted per-op-kind efficiencies, falloff and overhead (see calibration table)"},
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
     "per-kernel overhead for this op kind (default: kernel_overhead_s)"},
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
        *title = "Device: `calibration` (optional; one map per op kind: gemm, batched_gemm, "
                 "attention, ...; written by `opbound calibrate`)";
        *keys = CAL_KEYS;
        *n = N(CAL_KEYS);
        return 0;
    default: return -1;
    }
}

void device_derive(struct device *d)
{
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
    for (int k = 0; k < OP_COUNT; k++) {
        struct device_cal *c = &d->cal[k];
        const double et = c->eff_tensor > 0 ? c->eff_tensor : d->eff_tensor;
        const double em = c->eff_memory > 0 ? c->eff_memory : d->eff_memory;
        c->tensor_scale = d->eff_tensor / et;
        c->inv_mem_rate = 1.0 / (d->mem_bw_bytes_per_s * em);
        c->t_overhead_s = c->overhead_s >= 0 && c->present ? c->overhead_s : d->kernel_overhead_s;
    }
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

/* Reads the optional `calibration:` map: op kind -> CAL_KEYS. */
static int read_calibration(const struct yml_doc *doc, yml_node cal, struct device *d,
                            struct err *e)
{
    if (yml_kind_of(doc, cal) != YML_MAP)
        return yml_fail(doc, cal, e, "'calibration' must be a mapping of op kinds");
    for (int i = 0; i < yml_map_len(doc, cal); i++) {
        yml_node key = yml_map_key_at(doc, cal, i);
        const char *name = yml_scalar(doc, key);
        const int k = name ? device_kind_index(name) : -1;
        if (k < 0) {
            char kinds[256] = "";
            for (int j = 0; j < OP_COUNT; j++) /* every kind, from the op table */
                snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s",
                         j ? ", " : "", op_kind_name((enum op_kind)j));
            return yml_fail(doc, key, e, "unknown op kind '%s' in calibration (%s)",
                            name ? name : "?", kinds);
        }
        struct device_cal *c = &d->cal[k];
        if (c->present) return yml_fail(doc, key, e, "duplicate calibration for '%s'", name);
        uint64_t present;
        c->overhead_s = -1;
        if (yml_map_read(doc, yml_map_get(doc, cal, name), "calibration entry", CAL_KEYS,
                         N(CAL_KEYS), c, &present, e))
            return -1;
        c->present = 1;
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
    for (int k = 0; k < OP_COUNT; k++) d->cal[k].overhead_s = -1;
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
    yml_node cal = yml_map_get(doc, root, "calibration");
    if (cal && read_calibration(doc, cal, d, e)) goto fail;
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
