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

#include "../sim/dtype.h"
#include "../sim/err.h"
#include "../sim/graph.h"
#include "../sim/yml.h"

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
    /* derived by device_derive() */
    double tensor_rate[DT_COUNT]; /* FLOP/s used for matmul in dtype d, efficiency applied */
    double vector_rate[DT_COUNT];
    double mem_rate;              /* bytes/s, efficiency applied */
    double inv_tensor_rate[DT_COUNT], inv_vector_rate[DT_COUNT], inv_mem_rate;
    double inv_net_rate; /* 1 / interconnect bytes/s */
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

/* Ridge point (FLOP per byte) of the tensor roof for dtype dt. */
double device_ridge(const struct device *d, enum dtype dt);

/* Schema tables for docs/schema.md: section i of n (title, keys, count);
 * returns 0 while i is in range. */
int device_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n);

#endif
