/* opbound.h - the public C API of opbound: load a model and a device (bundled
 * name or path), describe a scenario, evaluate it, read the totals and the
 * per-op figures, free. The only header installed (PREFIX/include/opbound.h);
 * everything else in the source tree is internal and hidden in libopbound.so
 * and the installed libopbound.a. Reference: docs/api.md; example:
 * examples/api_example.c; build with `pkg-config --cflags --libs opbound`.
 *
 * Conventions:
 *  - every name starts with ob_ / OB_; handles are opaque and freed by their
 *    *_free function, which accepts NULL;
 *  - functions that can fail return an ob_status and fill the caller's
 *    ob_error (which may be NULL): an error is a value, never printed by the
 *    library, never a process exit;
 *  - units are in the names: _s seconds, _bytes bytes, flops counts; numbers
 *    are per device of a tensor- or expert-parallel group unless the field
 *    says otherwise (docs/api.md lists each);
 *  - not thread-safe across calls that share a handle; separate handles may be
 *    used from separate threads after the first ob_model_load/ob_device_load
 *    (which searches for the bundled data once). */
#ifndef OPBOUND_H
#define OPBOUND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OB_API __attribute__((visibility("default")))
#else
#define OB_API
#endif

#define OB_API_VERSION 1

typedef enum ob_status {
    OB_OK = 0,
    OB_ENOMEM = 1, /* out of memory */
    OB_EINPUT = 2  /* bad input: a file, a name or a scenario value */
} ob_status;

/* An error as a value. file/line/col: where in an input file (line and column
 * 1-based; "" and 0 when not tied to a position). */
typedef struct ob_error {
    char file[512];
    int line, col;
    char msg[768];
} ob_error;

/* Writes "FILE:LINE:COL: msg" (leaving out the parts that are unknown) into
 * buf; returns buf. */
OB_API const char *ob_error_format(const ob_error *e, char *buf, size_t n);

/* "0.1.0". */
OB_API const char *ob_version(void);
/* The folder the bundled models/ and hw/ are read from, or NULL when none was
 * found (then loading a bundled name fails with the places tried). */
OB_API const char *ob_data_dir(void);

typedef struct ob_model ob_model;
typedef struct ob_device ob_device;
typedef struct ob_scenario ob_scenario;
typedef struct ob_result ob_result;

/* Loads a model: a path (opbound YAML or a Hugging Face config.json), else a
 * bundled name or a unique prefix of one, any case ("llama-3-8b",
 * "Mixtral"). OB_OK with *out owned by the caller, or an error (*out NULL). */
OB_API ob_status ob_model_load(const char *name_or_path, ob_model **out, ob_error *err);
OB_API void ob_model_free(ob_model *m);
/* The model's name as its file gives it. */
OB_API const char *ob_model_name(const ob_model *m);

/* Loads a device the same way ("h100", "hw/b200.yaml"). */
OB_API ob_status ob_device_load(const char *name_or_path, ob_device **out, ob_error *err);
OB_API void ob_device_free(ob_device *d);
OB_API const char *ob_device_name(const ob_device *d);

typedef enum ob_phase { OB_PREFILL, OB_DECODE } ob_phase;

/* A scenario: phase, batch 1, tensor and expert parallelism 1, the model's
 * dtypes. Prefill needs ob_scenario_set_seq, decode ob_scenario_set_context;
 * values are checked by ob_evaluate. NULL when out of memory. */
OB_API ob_scenario *ob_scenario_new(ob_phase phase);
OB_API void ob_scenario_free(ob_scenario *sc);
OB_API void ob_scenario_set_batch(ob_scenario *sc, double sequences);
OB_API void ob_scenario_set_seq(ob_scenario *sc, double prompt_tokens);    /* prefill */
OB_API void ob_scenario_set_context(ob_scenario *sc, double cached_tokens); /* decode */
OB_API void ob_scenario_set_tp(ob_scenario *sc, double devices);
OB_API void ob_scenario_set_ep(ob_scenario *sc, double devices);
/* "fp32", "bf16", "fp16", "fp8", "int8", "int4", "int4_g128", "nvfp4", "mxfp4";
 * NULL keeps the model's. An
 * unknown name is reported by ob_evaluate. */
OB_API void ob_scenario_set_weight_dtype(ob_scenario *sc, const char *dtype);
OB_API void ob_scenario_set_kv_dtype(ob_scenario *sc, const char *dtype);

/* Evaluates the scenario for model m on device d (the same engine as
 * `opbound analyze`). OB_OK with *out owned by the caller, or an error. */
OB_API ob_status ob_evaluate(const ob_model *m, const ob_device *d, const ob_scenario *sc,
                             ob_result **out, ob_error *err);
OB_API void ob_result_free(ob_result *r);

/* Totals of one step (docs/api.md; the JSON field of `opbound analyze` each
 * one equals is named there). */
typedef enum ob_total {
    OB_STEP_TIME_S,          /* the scenario's step on one device */
    OB_STEP_FLOPS,           /* every layer, one device */
    OB_STEP_BYTES,           /* read and written, one device */
    OB_TTFT_S,               /* batch prefill: the B prompts together (docs/output.md) */
    OB_TPOT_S,               /* one decode step: the time per output token */
    OB_TOKENS_PER_S,         /* this phase's tokens/s: the group's under tp, one device's
                              * under ep; meaningful only when OB_FITS is 1 */
    OB_PARAMS,               /* whole model */
    OB_ACTIVE_PARAMS,        /* per token, whole model */
    OB_WEIGHT_BYTES,         /* whole model */
    OB_KV_BYTES_PER_TOKEN,   /* whole model, all layers */
    OB_MEMORY_BYTES,         /* one device: weights + KV cache + activations */
    OB_CAPACITY_BYTES,       /* one device's memory */
    OB_FITS,                 /* 1 or 0 */
    OB_MAX_BATCH,            /* largest batch that fits at this length */
    OB_TOTAL_COUNT
} ob_total;
/* The value, or NaN for an out-of-range which. */
OB_API double ob_result_total(const ob_result *r, ob_total which);

/* Per-op figures. Ops are the nodes of the step's graph; a node inside the
 * layer stack stands for ob_result_op_layers() identical layers and its
 * figures are per layer. */
typedef enum ob_op_field {
    OB_OP_FLOPS,      /* per layer */
    OB_OP_BYTES,      /* read and written, per layer */
    OB_OP_INTENSITY,  /* FLOPs per byte */
    OB_OP_TIME_S,     /* per layer, overhead included */
    OB_OP_LAYERS,     /* layers the node stands for (1 outside the stack) */
    OB_OP_FIELD_COUNT
} ob_op_field;
OB_API int ob_result_op_count(const ob_result *r);
/* Name ("qkv_proj"), kind ("gemm") and bound ("memory", "compute",
 * "network") of op i; NULL when i is out of range. */
OB_API const char *ob_result_op_name(const ob_result *r, int i);
OB_API const char *ob_result_op_kind(const ob_result *r, int i);
OB_API const char *ob_result_op_bound(const ob_result *r, int i);
/* First layer op i stands for, or -1 outside the layer stack (or i out of range). */
OB_API int ob_result_op_layer(const ob_result *r, int i);
/* The value, or NaN when i or which is out of range. */
OB_API double ob_result_op(const ob_result *r, int i, ob_op_field which);

#ifdef __cplusplus
}
#endif

#endif
