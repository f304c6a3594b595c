/* attn_prefill.h - prefill attention, FlashAttention-2 style on tensor cores
 * (mma.sync m16n8k16 bf16 -> fp32, sm_80 and later), one kernel family for
 * the variants the cost model prices with tile counts:
 *   causal GQA (MHA/MQA as G = 1 / Hq), head dim 64 or 128;
 *   sliding window (win > 0: query i sees keys (i - win, i]): key tiles wholly
 *       outside the window are skipped, partial ones masked;
 *   block-sparse (MoBA / NSA selection): blk lists, per (sequence, KV head,
 *       query block of blk_size), nsel selected key blocks (-1 = none);
 *       only their tiles are visited, causally masked.
 * Layout: q, o (B, S, Hq, D); k, v (B, S, Hkv, D); bf16.
 * Entry points: pf_attention, pf_refusal, pf_pairs. */
#ifndef OB_ATTN_PREFILL_H
#define OB_ATTN_PREFILL_H

#include <cuda_bf16.h>
#include <cuda_runtime.h>

struct pf_args {
    const __nv_bfloat16 *q, *k, *v; /* see above */
    __nv_bfloat16 *o;
    int b, s, hq, hkv, d;
    int win;                        /* > 0: sliding window */
    const int *blk;                 /* (B, Hkv, ceil(S / blk_size), nsel) or NULL */
    int nsel, blk_size;             /* blk_size a multiple of 64 */
    float scale;
};

/* Why the kernel cannot run these arguments, or NULL. */
const char *pf_refusal(const struct pf_args *a);
/* Launches on stream s (exits with a message when pf_refusal says no). */
void pf_attention(const struct pf_args *a, cudaStream_t s);

#endif
