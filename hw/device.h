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

/* Calibration entries (optional `calibration:` map, written by `opbound
 * calibrate`; docs/measurements.md, "The model"). An entry is keyed by op
 * kind, implementation (graph.h's enum op_impl; IMPL_DEFAULT = any) and
 * phase (attention only: decode = at most CAL_DECODE_SQ queries per sequence,
 * prefill = more; PH_ANY = either): `attention.fa2.decode`, `gemm.cublas`,
 * `elementwise.eager`, `gemm`. An op uses the first entry present along
 *   (kind, impl, phase) (kind, impl) (kind, default impl, phase) (kind, default impl)
 *   (kind, phase) (kind), then the same for the parent kind
 * (batched_gemm -> gemm; norm, softmax -> elementwise; with the op's impl),
 * where impl = the op's impl, or the device's default_impl for its kind when
 * the op says IMPL_DEFAULT; with no entry, the device-wide efficiencies and
 * kernel_overhead_s (so files without the map are unchanged).
 *   t_compute = (F_mm + flops_half)/(R_tensor e_t) + F_vec/(R_vector e_v)
 *   t_memory  = (bytes + bytes_half)/(BW e_m)
 *   t_out     = bytes written/(BW e_m)
 *   t         = max(t_compute, t_memory) + serial min(t_compute, t_out)
 * bytes_half / flops_half: small-problem falloff (efficiency x size/(size +
 * half)); serial: the share of the output write not overlapped with the
 * compute (a GEMM epilogue after its main loop; 0 = the roofline's max()). */
enum cal_phase { PH_ANY, PH_DECODE, PH_PREFILL, PH_COUNT };
#define CAL_DECODE_SQ 16 /* attention with at most this many queries per sequence is decode */

struct device_cal {
    double eff_tensor, eff_memory, eff_vector; /* fractions; 0 = device-wide value */
    double bytes_half, flops_half; /* falloff half sizes (bytes, FLOPs); 0 = none */
    double serial;                 /* unoverlapped share of the output write; 0 = max() */
    double overhead_s;             /* per kernel (eager launch); < 0 = kernel_overhead_s */
    double tile_q, ctas_per_sm;    /* prefill attention: queries per CTA and resident CTAs
                                    * per SM of the kernel (the causal tail); 0 = none */
    int present;                   /* 1 when the file has this entry */
    /* derived by device_derive() from the entry the chain resolves to */
    double tensor_scale, vector_scale; /* multiply inv_tensor_rate[], inv_vector_rate[] */
    double inv_mem_rate;               /* 1 / (bandwidth * memory eff) */
    double r_bytes_half, r_flops_half, r_serial;
    double r_tile_q, r_slots;          /* tile_q; ctas_per_sm x sm_count (0: no tail term) */
    double t_overhead_s;               /* time added to every kernel (the launch gap) */
    double t_floor_s;                  /* least time of a kernel (eager: the host launch rate) */
    signed char src_kind, src_impl, src_phase; /* the entry used; src_kind -1: device-wide */
    signed char prior; /* 1: made from an impl_priors entry (not measured; device_derive) */
};

/* An implementation not measured on this device, derived from a measured one
 * (optional `impl_priors:` map; docs/measurements.md, "Priors"): entry
 * KIND.IMPL[.PHASE] = the entry (KIND, from, PHASE) with its tensor and
 * vector efficiencies x compute and its memory efficiency x memory (each
 * capped at 1), the rest (falloff, serial, overhead) unchanged. A measured
 * entry of the same name wins; a prior whose `from` has no entry is not made
 * (its ops take the chain). calibrate copies the map, so priors follow a
 * refit of their base. */
#define DEVICE_MAX_PRIORS 16
struct impl_prior {
    int kind, impl, phase; /* the entry it provides */
    int from;              /* enum op_impl whose entry it scales */
    double compute;        /* x tensor and vector efficiency (speed on compute-bound work) */
    double memory;         /* x memory efficiency */
    char source[240];      /* where the ratio comes from */
};

/* Launch modes (--launch). graph: replayed from a CUDA graph, every kernel
 * costs its time + graph_overhead_s (the gap between kernels). eager: the host
 * launches each kernel, at most one per kernel_overhead_s, while the GPU runs
 * the ones before: a kernel costs max(its time + graph_overhead_s,
 * kernel_overhead_s) (the GPU waits for the host only on short kernels).
 * A device without graph_overhead_s keeps the older additive model in both
 * modes: time + kernel_overhead_s. */
enum launch_mode { LAUNCH_EAGER, LAUNCH_GRAPH, LAUNCH_COUNT };

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
    double interconnect_bytes_per_s; /* within a node (NVLink), one direction */
    /* Two-tier network (optional `network` map; docs/network.md). Without it
     * every device is one hop away at interconnect_bytes_per_s, no latency. */
    bool has_network;
    double gpus_per_node;       /* devices joined by the intra-node link */
    double intra_latency_s;     /* per message step within a node */
    double inter_bytes_per_s;   /* across nodes, per device, one direction (its NIC) */
    double inter_latency_s;     /* per message step across nodes */
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
    double inv_inter_rate; /* 1 / inter_bytes_per_s (0 without a network map) */
    /* optional extensions (hw/duplex-h100.yaml); has_* false on plain devices */
    bool has_pim, has_energy;
    struct pim_spec pim;
    struct energy_spec energy;
    struct device_cal cal[OP_COUNT][IMPL_COUNT][PH_COUNT]; /* see struct device_cal */
    int default_impl[OP_COUNT];   /* enum op_impl an IMPL_DEFAULT op of each kind uses */
    double graph_overhead_s;      /* per kernel under CUDA-graph replay (see enum launch_mode) */
    bool has_graph_overhead;      /* the file gives graph_overhead_s (false: additive model) */
    int launch;                   /* enum launch_mode; LAUNCH_EAGER unless the CLI says */
    char cal_note[160];           /* "not calibrated" or where the calibration comes from */
    char cal_source[128];         /* measurement file the entries were fitted to ("" unknown) */
    char cal_holdout[64];         /* its held-out rows (calibrate --holdout syntax) */
    struct impl_prior priors[DEVICE_MAX_PRIORS]; /* impl_priors, in file order */
    int n_priors;
};

/* Index of an op kind by name ("attention"), -1 if none. */
int device_kind_index(const char *name);

/* Phase of op for calibration lookup (PH_DECODE / PH_PREFILL for attention,
 * PH_ANY otherwise). */
static inline int device_op_phase(const struct op *op)
{
    if (op->kind != OP_ATTENTION) return PH_ANY;
    return op->shape.attn.sq <= CAL_DECODE_SQ ? PH_DECODE : PH_PREFILL;
}
/* The resolved calibration an op uses (see struct device_cal). */
static inline const struct device_cal *device_cal_of(const struct device *d, const struct op *op)
{
    return &d->cal[op->kind][op->impl][device_op_phase(op)];
}
/* Parent kind in the calibration chain, or -1. */
int device_cal_parent(int kind);
/* Writes "attention.fa2.decode"-style entry names. */
void device_cal_name(int kind, int impl, int phase, char *buf, size_t n);
/* Number of calibration entries present (0: not calibrated). */
int device_cal_count(const struct device *d);
/* "launch eager|graph; default impl attention=fa2, ...; calibration ..." for
 * output headers. */
void device_describe(const struct device *d, char *buf, size_t n);
const char *launch_mode_name(int mode);
/* Writes the impl_priors entries in use (made, not measured) as "a, b";
 * returns how many (0: none, buf ""). */
int device_priors_describe(const struct device *d, char *buf, size_t n);

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
