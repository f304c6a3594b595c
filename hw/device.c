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
    {"calibration", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "fitted per-op-kind efficiencies, falloff and overhead (see calibration table)"},
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
    for (int k = 0; k < OP_COUNT; k++) {
        struct device_cal *c = &d->cal[k];
        const double et = c->eff_tensor > 0 ? c->eff_tensor : d->eff_tensor;
        const double em = c->eff_memory > 0 ? c->eff_memory : d->eff_memory;
        c->tensor_scale = d->eff_tensor / et;
        c->inv_mem_rate = 1.0 / (d->mem_bw_bytes_per_s * em);
        c->t_overhead_s = c->overhead_s >= 0 && c->present ? c->overhead_s : d->kernel_overhead_s;
    }
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
        if (k < 0)
            return yml_fail(doc, key, e, "unknown op kind '%s' in calibration (gemm, "
                            "batched_gemm, attention, elementwise, norm, softmax, router, "
                            "gather, allreduce)", name ? name : "?");
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
