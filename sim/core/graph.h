/* graph.h - the op graph: op kinds, op nodes, builders and their FLOP/byte counts.
 *
 * A lowering (models/lower.c) turns a model and a step (phase, batch, tokens)
 * into a flat list of op nodes. Each node has a kind, dtypes, a shape and the
 * layers it stands for (identical consecutive layers share one node:
 * layer_count > 1, every figure on the node is per layer). Builders (op_gemm,
 * op_attention, ...) check shapes, fill the node and count its FLOPs and bytes
 * with the kind's function from OP_KINDS[]; evaluation against a device is
 * separate (eval.h).
 *
 * Shape letters used everywhere: T tokens in the step, B sequences, H query
 * heads, Hkv key/value heads, D head dim, E experts, k top-k, h hidden size.
 * All counts are doubles: exact up to 2^53, correctly rounded above (see
 * docs/conventions.md, "Precision").
 *
 * To add an op kind: add OP_X before OP_COUNT, a row in OP_KINDS (graph.c) with
 * its count function and every property below (marker, class, weights,
 * placement), a shape struct in union op_shape and a builder here. */
#ifndef OB_GRAPH_H
#define OB_GRAPH_H

#include <stdbool.h>

#include "dtype.h"

enum op_kind {
    OP_GEMM,         /* (m x k) activations @ (k x n) weights */
    OP_BATCHED_GEMM, /* `count` GEMMs of the same shape in one launch (experts) */
    OP_ATTENTION,    /* fused attention core: QK^T, softmax, PV */
    OP_ELEMENTWISE,  /* pointwise over rows x cols (rope, residual, activations, copies) */
    OP_NORM,         /* RMSNorm / LayerNorm over rows of cols */
    OP_SOFTMAX,      /* standalone softmax over rows of cols */
    OP_ROUTER,       /* MoE router: softmax over E logits and top-k selection */
    OP_GATHER,       /* row gather from a weight table (embedding) */
    OP_ALLREDUCE,    /* sum across tensor-parallel devices over the interconnect */
    OP_SCAN,         /* linear recurrence with a per-sequence state (SSD, linear attention) */
    OP_ALLTOALL,     /* expert-parallel dispatch or combine of token rows */
    OP_ALLGATHER,    /* concatenation across tensor-parallel devices (vocabulary-split logits) */
    OP_COUNT
};

/* Which implementation runs an op: the same op kind runs at different speeds
 * (and, for eager forms, with different kernels) in different libraries, so
 * a device holds calibrated parameters per (op kind, implementation) and a
 * scenario chooses the implementations (docs/measurements.md). IMPL_DEFAULT
 * means "the device's default for this kind". */
enum op_impl {
    IMPL_DEFAULT,
    IMPL_FA2,           /* FlashAttention-2 (PyTorch SDPA flash backend) */
    IMPL_CUDNN,         /* cuDNN fused attention */
    IMPL_MEM_EFFICIENT, /* memory-efficient attention (xformers-style) */
    IMPL_EAGER,         /* composed of separate library kernels, intermediates materialised */
    IMPL_OPBOUND,       /* this project's kernels (kernels/) */
    IMPL_CUBLAS,        /* cuBLAS GEMMs */
    IMPL_FUSED,         /* fused elementwise/norm kernels (serving engines) */
    IMPL_FLEX_TRITON,   /* FlexAttention, its default Triton backend (a prior until measured) */
    IMPL_FLEX_FA4,      /* FlexAttention, BACKEND "FLASH": FlashAttention-4 (CuTeDSL; a prior) */
    IMPL_COUNT
};

/* ---- Op kind properties: one row per kind in OP_KINDS (graph.c) ---- */

/* How a kind is drawn on a roofline chart: gnuplot point types (cairo
 * terminals) for decode (open) and prefill (filled), or, when glyph is not 0,
 * that character for both. */
struct op_marker {
    int open, filled;
    char glyph;
};

/* What kind of work an op is: the breakdown part and colour group of the
 * reports (with the op's block), and whether it is a collective. 0 is no
 * class, so a row that forgot one is found by tests/test_opkinds.c. */
enum op_class {
    OPC_MATMUL = 1, /* GEMMs on the tensor units (projections, experts, lm_head) */
    OPC_CORE,       /* the attention core, or a linear mixer's recurrent scan */
    OPC_COLLECTIVE, /* traffic between devices (all-reduce, all-to-all, all-gather) */
    OPC_VECTOR,     /* the rest: pointwise, norms, softmax, router, gather */
    OPC_COUNT
};

/* Whose the weight operand is when per-sequence lowerings of one op are
 * merged into one kernel (serve, docs/serving.md "Iteration cost"): a
 * property of the kind, so ops carry no flag for it (op_kind_weights). */
enum op_weights {
    OPW_NONE = 1, /* no weight operand */
    OPW_SHARED,   /* model weights: one kernel over every sequence reads them once */
    OPW_PER_SEQ,  /* an operand of each sequence or token: merged ops add them up */
    OPW_COUNT
};

/* Where an op may run on a device with processing in memory (placement.c,
 * docs/logic-pim.md). */
enum op_place_class {
    OPP_WHOLE = 1,     /* all on the xPU or all in PIM, whichever is faster */
    OPP_SPLIT_EXPERTS, /* routed experts of an FFN block split between the sides (Duplex) */
    OPP_SPLIT_SEQS,    /* sequences split between the sides (attention co-processing) */
    OPP_XPU_ONLY,      /* PIM cannot run it (collectives) */
    OPP_COUNT
};

/* Which part of a layer an op belongs to (for per-layer summaries). */
enum op_block { BLK_MODEL, BLK_ATTN, BLK_FFN, BLK_COUNT };

struct op_cost {
    double flops_mm;  /* matmul FLOPs (tensor units): 2*M*N*K */
    double flops_vec; /* everything else (vector units) */
    double bytes_w;   /* weights read */
    double bytes_act; /* activations read */
    double bytes_kv;  /* KV cache read */
    double bytes_out; /* bytes written (activations or KV cache) */
    double bytes_net; /* bytes sent over the device interconnect (collectives) */
    double flops_wasted; /* matmul FLOPs computed on pairs the mask discards (tiles);
                          * included in flops_mm */
};

/* Attention core shape (per device). pairs counts the (query, key) pairs per
 * head and sequence that are computed; kv_width is the elements read per key
 * token for all KV heads, K and V together: 2*Hkv*D for the GQA family,
 * kv_lora_rank + rope dim for MLA's absorbed form (K and V share the latent). */
struct attn_shape {
    double b;        /* sequences B */
    double hq;       /* query heads */
    double dqk, dv;  /* per-head dims of QK^T and of PV */
    double sq, skv;  /* queries and keys per sequence */
    double pairs;    /* computed (query, key) pairs per head and sequence */
    double pairs_useful; /* pairs the mask keeps, <= pairs; 0 = all computed pairs */
    double kv_width; /* elements read per key token */
    bool kv_cached;  /* K/V read from the KV cache (KV dtype), else activations */
};

/* Linear-recurrence core (per device): each of `heads` heads keeps a dk x dv
 * state h, updated per token as h = a*h + k^T v and read out as y = q h
 * (Mamba-2's SSD: q = C, k = B, v = x, dk = N, dv = P; linear attention:
 * dk = dv = D). q and k may be shared by heads/groups heads (Mamba-2's B/C
 * groups; groups = heads otherwise). A step of s = 1 token runs the recurrent
 * form; s > 1 runs the chunked algorithm with chunks of `chunk` tokens. */
struct scan_shape {
    double b;         /* sequences B */
    double heads;     /* heads, each with its own dk x dv state */
    double groups;    /* q/k groups (divides heads) */
    double s;         /* new tokens per sequence */
    double chunk;     /* chunk length Q of the chunked (prefill) form */
    double dk, dv;    /* state dims */
    bool decay;       /* the state decays (a != 1): Mamba-2, lightning attention */
    bool decay_input; /* the decay is a per-token, per-head input (Mamba-2's dt) */
    bool state_in;    /* a carried state is read from the cache (prior context) */
};

union op_shape {
    /* per instance; a_kv: the (m x k) input is read from the KV cache (KV dtype) */
    struct { double count, m, n, k; bool bias, a_kv; } gemm;
    struct attn_shape attn;
    struct { double rows, cols, inputs, flops_per_elem; bool out_kv; } ew;
    struct { double rows, cols, params, flops_per_elem; } norm;
    struct { double rows, cols; } softmax;
    struct { double rows, experts, k; } router;
    struct { double rows, cols; } gather;
    /* devices in the group, `stride` device numbers apart (sim/net.h) */
    struct { double rows, cols, devices, stride; } allreduce;
    struct scan_shape scan;
    struct { double sent, received, cols, devices, stride; } alltoall; /* rows leaving / arriving */
};

struct op {
    enum op_kind kind;
    enum op_block block;
    const char *name; /* static string, e.g. "qkv_proj" */
    int group;        /* layer group index; -1 outside the layer stack */
    int layer_first;  /* first layer this node stands for; -1 outside the stack */
    int layer_count;  /* identical layers this node stands for (figures are per layer) */
    enum dtype dt_w, dt_act, dt_kv;
    union op_shape shape;
    struct op_cost cost; /* per layer; filled by the builder */
    /* The op's counts depend on each sequence's own new-token count and
     * context (not only on the step's T tokens and B sequences): the serving
     * engine lowers it per group of equal sequences (docs/serving.md,
     * "Iteration cost"). Set by op_attention, op_gemm_from_cache and op_scan;
     * builders of other context-dependent ops (a sparse-attention indexer's
     * top-k, a block router) set it on the op they get back. */
    bool per_seq;
    /* Part of the model-level head that runs only for the sequences that
     * sample a token this step (lm_head and its logits all-gather): serve
     * sets its rows to the sampling sequences (op_set_rows). Set by the
     * lowering (models/lower.c). */
    bool head;
    enum op_impl impl; /* set from the graph's current implementation (add()) */
    /* The cost was given by an implementation profile's kernel description
     * (models/profile.h: bytes and FLOPs stated per kernel), not counted from
     * the shape: op_count leaves it as it is. */
    bool cost_fixed;
};

struct graph {
    struct op *ops;
    int n, cap;
    /* Where the next op goes; set by the lowering before each block. */
    enum op_block block;
    int group, layer_first, layer_count;
    enum dtype dt_w, dt_act, dt_kv;
    enum op_impl impl; /* implementation given to the ops added next (IMPL_DEFAULT) */
    /* Implementation per op kind, used where impl is IMPL_DEFAULT (an
     * implementation profile's `impl` map; all IMPL_DEFAULT unless set). */
    enum op_impl kind_impl[OP_COUNT];
    /* Names made while lowering ("attn_norm.pow"): cap slots of
     * GRAPH_NAME_MAX bytes, valid until the next graph_reset. */
    char *names;
    int n_names;
};

#define GRAPH_NAME_MAX 48

/* Allocates room for cap ops. Returns 0, or -1 if out of memory. */
int graph_init(struct graph *g, int cap);
void graph_free(struct graph *g); /* accepts NULL */
void graph_reset(struct graph *g);
/* "a.b" (or a alone when b is NULL) kept in the graph's name store until the
 * next graph_reset; for op names made while lowering. Truncated to
 * GRAPH_NAME_MAX - 1 bytes; asserts when the store (cap names) is full. */
const char *graph_name(struct graph *g, const char *a, const char *b);

const char *op_kind_name(enum op_kind k);
/* The kind's properties (OP_KINDS in graph.c). */
struct op_marker op_kind_marker(enum op_kind k);
enum op_class op_kind_class(enum op_kind k);
bool op_kind_collective(enum op_kind k); /* class OPC_COLLECTIVE */
enum op_weights op_kind_weights(enum op_kind k);
enum op_place_class op_kind_place_class(enum op_kind k);
bool op_kind_counted(enum op_kind k); /* has a count function */
const char *op_block_name(enum op_block b);
/* "default", "fa2", "cudnn", "mem_efficient", "eager", "opbound", "cublas", "fused". */
const char *op_impl_name(enum op_impl i);
/* Every implementation name, comma-separated, for error messages. */
#define OP_IMPL_LIST "default, fa2, cudnn, mem_efficient, eager, opbound, cublas, fused, " \
                     "flex_triton, flex_fa4 (flex = flex_triton)"
/* Parses an implementation name (`flex` is flex_triton, FlexAttention's
 * default backend); returns IMPL_COUNT when unknown. */
enum op_impl op_impl_parse(const char *name);
/* Recomputes op->cost from its shape with the kind's count function. */
void op_count(struct op *op);
/* Sets the token rows of a row-wise op (a GEMM's m, a collective's rows) and
 * recounts it: serve's head ops run on the sampling sequences only. Asserts
 * on kinds without token rows. */
void op_set_rows(struct op *op, double rows);
/* Activation bytes of a counted op, read + written, without what it writes
 * into the KV cache or a recurrent state (those are held in the KV/state
 * memory already): the "activations" term of the memory footprint. */
double op_act_bytes(const struct op *op);

/* Builders: append one op with the graph's current placement and dtypes, fill
 * its shape and count it. They assert on programming errors (negative sizes). */
struct op *op_gemm(struct graph *g, const char *name, double m, double n, double k, bool bias);
struct op *op_batched_gemm(struct graph *g, const char *name, double count, double m, double n,
                           double k, bool bias);
/* A GEMM whose (m x k) input is read from the KV cache (e.g. MLA's naive
 * up-projection of the cached latent at decode). */
struct op *op_gemm_from_cache(struct graph *g, const char *name, double m, double n, double k);
struct op *op_attention(struct graph *g, const char *name, const struct attn_shape *s);
struct op *op_elementwise(struct graph *g, const char *name, double rows, double cols,
                          double inputs, double flops_per_elem, bool out_kv);
struct op *op_norm(struct graph *g, const char *name, double rows, double cols, double params,
                   double flops_per_elem);
struct op *op_softmax(struct graph *g, const char *name, double rows, double cols);
struct op *op_router(struct graph *g, const char *name, double rows, double experts, double k);
struct op *op_gather(struct graph *g, const char *name, double rows, double cols);
/* Ring all-reduce of rows x cols activations over `devices` devices. */
struct op *op_allreduce(struct graph *g, const char *name, double rows, double cols,
                        double devices);
/* Ring all-gather over `devices` devices that assembles a rows x cols tensor
 * of which each device holds cols / devices columns. */
struct op *op_allgather(struct graph *g, const char *name, double rows, double cols,
                        double devices);

/* Linear-recurrence core; the state is read (when state_in) and written in
 * the KV dtype. */
struct op *op_scan(struct graph *g, const char *name, const struct scan_shape *s);
/* All-to-all (expert parallelism) among `devices` (>= 2): this device sends
 * `sent` rows of cols activations to other devices and receives `received`
 * rows; the link time is set by the larger of the two (sim/net.h splits it
 * over the network tiers). */
struct op *op_alltoall(struct graph *g, const char *name, double sent, double received,
                       double cols, double devices);

/* FLOP-per-element conventions (docs/conventions.md). */
#define FLOPS_RMSNORM 4.0   /* square, accumulate, scale by 1/rms, scale by weight */
#define FLOPS_LAYERNORM 8.0 /* mean, centre, square, accumulate, scale, weight, bias */
#define FLOPS_ROPE 3.0      /* x*cos + rot(x)*sin */
#define FLOPS_RESIDUAL 1.0
#define FLOPS_SILU_MUL 5.0  /* x / (1 + exp(-x)) then * up: neg, exp, add, div, mul */
#define FLOPS_GELU 8.0      /* tanh approximation */
#define FLOPS_SOFTMAX 5.0   /* per score: scale, max, subtract, exp, sum */
#define FLOPS_SILU 4.0      /* x / (1 + exp(-x)): neg, exp, add, div */
#define FLOPS_DECAY_MASK 3.0 /* per chunk score: segment-sum difference, exp, multiply */

#endif
