/* device.h - device descriptions (YAML files in hw/) and their derived rates.
 *
 * A device file holds datasheet primitives, each with its source in a comment:
 * memory capacity and bandwidth, tensor and vector peaks per dtype, L2, SM
 * count, per-kernel overhead, interconnect bandwidth and efficiency factors.
 * device_derive() computes every derived value in one ordered place: the
 * effective rate per dtype (a dtype the device lacks runs at the rate of the
 * next wider dtype it lists), efficiencies applied, the ridge point.
 *
 * Entry points: device_load, device_free, device_keys (schema tables).
 * To add a device: drop a YAML file in hw/ (see docs/schema.md). */
#ifndef OB_DEVICE_H
#define OB_DEVICE_H

#include <stddef.h>

#include "../sim/core/dtype.h"
#include "../sim/core/err.h"
#include "../sim/core/graph.h"
#include "../sim/core/yml.h"

/* Processing-in-memory beside the xPU (optional `pim` map; docs/logic-pim.md).
 * Logic-PIM (Duplex, Yun et al. MICRO 2024): processing units on the HBM logic
 * die, fed by extra TSVs; bank PIM (Samsung HBM-PIM, AttAcc): units beside the
 * DRAM banks. Both share the stacks with the xPU: weights and KV live once. */
enum pim_kind { PIM_LOGIC, PIM_BANK, PIM_KIND_COUNT };
/* Which ops PIM may run (`pim.ops`). */
enum pim_ops { PIM_OPS_ALL, PIM_OPS_ATTENTION, PIM_OPS_COUNT };

struct pim_spec {
    int kind;                      /* enum pim_kind (device.has_pim says whether there is one) */
    double stacks;                 /* HBM stacks holding PIM units */
    double bw_multiplier;          /* internal / external bandwidth (>= 1) */
    double macs_per_stack;         /* multiply-accumulate units per stack */
    double clock_hz;               /* PIM unit clock */
    double buffer_bytes_per_stack; /* PIM-side SRAM (informational) */
    double overhead_s;             /* fixed time per PIM kernel (command issue, sync) */
    bool coprocess;                /* xPU and PIM may work on one op at once */
    int ops;                       /* enum pim_ops: every op but collectives, or the attention core only */
    char baseline[64];             /* device to compare with (bundled name), "" if none */
    /* derived by device_derive() */
    double flops_per_s;            /* 2 x stacks x MACs x clock */
    double bw_bytes_per_s;         /* bw_multiplier x external bandwidth x eff_memory */
    double inv_flops, inv_bw;
};

/* Energy constants (optional `energy` map); all per unit of work. */
struct energy_spec {
    double xpu_pj_per_flop;        /* xPU arithmetic */
    double pim_pj_per_flop;        /* PIM arithmetic */
    double ext_pj_per_bit;         /* DRAM read/write through the external path (to the xPU) */
    double pim_pj_per_bit;         /* DRAM read/write through the PIM path */
    double static_w;               /* whole-device static power */
    /* derived: joules per FLOP / per byte */
    double j_flop_xpu, j_flop_pim, j_byte_ext, j_byte_pim;
};

/* Per-op-kind calibration (optional `calibration:` map, written by `opbound
 * calibrate`). A kind without an entry uses the device-wide efficiencies, no
 * falloff and kernel_overhead_s, so files without the map are unchanged.
 * Small-problem falloff: efficiency(bytes) = memory * bytes / (bytes +
 * bytes_half), which is the same as adding bytes_half to the bytes moved:
 * t_memory = (bytes + bytes_half) / (bandwidth * memory); likewise flops_half
 * for the tensor term (applied to ops with matmul FLOPs). */
struct device_cal {
    double eff_tensor, eff_memory; /* fractions; 0 in the file = device-wide value */
    double bytes_half, flops_half; /* falloff half sizes (bytes, FLOPs); 0 = none */
    double overhead_s;             /* per kernel; < 0 = kernel_overhead_s */
    int present;                   /* 1 when the file has an entry for this kind */
    /* derived by device_derive() */
    double tensor_scale; /* multiplies inv_tensor_rate[] (device eff / kind eff) */
    double inv_mem_rate; /* 1 / (bandwidth * memory eff of this kind) */
    double t_overhead_s; /* overhead used for this kind */
};

struct device {
    char name[64];
    char vendor[64];
    char file[512];
    /* primitives, as written in the file */
    double mem_capacity_bytes;
    double mem_bw_bytes_per_s;
    double l2_bytes;
    double sm_count;
    double clock_hz; /* 0 if not given */
    double kernel_overhead_s;
    double interconnect_bytes_per_s;
    double tensor_flops_per_s[DT_COUNT]; /* 0 where the file lists none */
    double vector_flops_per_s[DT_COUNT];
    double eff_tensor, eff_vector, eff_memory;
    double price_usd_per_hour; /* 0 = not given (cost figures are then n/a) */
    /* derived by device_derive() */
    double tensor_rate[DT_COUNT]; /* FLOP/s used for matmul in dtype d, efficiency applied */
    double vector_rate[DT_COUNT];
    double mem_rate;              /* bytes/s, efficiency applied */
    double inv_tensor_rate[DT_COUNT], inv_vector_rate[DT_COUNT], inv_mem_rate;
    double inv_net_rate; /* 1 / interconnect bytes/s */
    /* optional extensions (hw/duplex-h100.yaml); has_* false on plain devices */
    bool has_pim, has_energy;
    struct pim_spec pim;
    struct energy_spec energy;
    struct device_cal cal[OP_COUNT]; /* per op kind; see struct device_cal */
};

/* Index of an op kind by name ("attention"), -1 if none. */
int device_kind_index(const char *name);

/* Loads a device file. *out is owned by the caller (device_free). Returns 0,
 * or -1 with e set (FILE:LINE:COL for bad content). */
int device_load(const char *path, struct device **out, struct err *e);
void device_free(struct device *d); /* accepts NULL */

/* Fills the derived fields from the primitives. Requires fp32 in both peak
 * tables (device_load checks it). */
void device_derive(struct device *d);

/* "logic" or "bank". */
const char *pim_kind_name(int kind);

/* Ridge point (FLOP per byte) of the tensor roof for dtype dt. */
double device_ridge(const struct device *d, enum dtype dt);

/* Schema tables for docs/schema.md: section i of n (title, keys, count);
 * returns 0 while i is in range. */
int device_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n);

#endif
