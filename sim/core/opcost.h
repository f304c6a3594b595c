/* opcost.h - the cost model's FLOP and byte counts behind a plain C interface
 * that C++/CUDA code can include (graph.h and dtype.h use C-only syntax).
 *
 * kernels/bench.cu calls these to fill the flops and bytes columns of its
 * measurement file, so the bench and `opbound predict/validate/calibrate`
 * count with the same functions (sim/core/graph.c, OP_KINDS[]); sim/measure.c
 * recomputes the columns on load and rejects a file that disagrees.
 * Dtypes are passed by name ("bf16"). Entry points: opcost_attention,
 * opcost_gemm. Implemented in sim/measure.c. */
#ifndef OB_OPCOST_H
#define OB_OPCOST_H

#ifdef __cplusplus
extern "C" {
#endif

struct opcost {
    double flops_mm, flops_vec; /* matmul and vector FLOPs */
    double bytes;               /* all bytes read and written */
};

/* Decode/prefill attention core from the KV cache (docs/conventions.md):
 * b sequences, hq query heads, dqk/dv head dims, sq queries and skv keys per
 * sequence, pairs computed (query, key) pairs per head and sequence, kv_width
 * elements read per key token (K and V of every KV head). Returns 0, or -1
 * for an unknown dtype or a shape the cost model refuses. */
int opcost_attention(const char *dtype, const char *kv_dtype, double b, double hq, double dqk,
                     double dv, double sq, double skv, double pairs, double kv_width,
                     struct opcost *out);
/* `count` GEMMs (m x k)·(k x n), weights and activations in dtype; count 1 is
 * a plain GEMM (op kind gemm), more is batched_gemm. Returns 0 or -1. */
int opcost_gemm(const char *dtype, double count, double m, double n, double k,
                struct opcost *out);

#ifdef __cplusplus
}
#endif

#endif
