/* attn_decode.h - decode attention kernels (one new query token per sequence
 * attending to its KV cache), bf16 inputs, fp32 accumulation.
 *
 * One kernel covers the decode family; the arguments select the variant:
 *   GQA (MHA/MQA as G = Hq/Hkv = 1 / Hq): the query heads of a group share
 *       each K/V tile loaded into shared memory (up to 16 heads per block;
 *       larger groups run in chunks of 16 that each load the tile).
 *   sliding window: win > 0 keeps the last `win` keys.
 *   block-sparse (MoBA-style): blk != NULL lists, per (sequence, KV head),
 *       the nsel selected blocks of blk_size keys (top-k gating is a separate op).
 *   MLA absorbed: Hkv = 1, Dqk = 512 + 64 (latent + rope), Dv = 512, v_in_k:
 *       V is the first Dv columns of the cached latent row, loaded once.
 *   CCA: attention inside the compressed latent is GQA on latent heads.
 * Split-KV (flash-decoding): the keys of a (sequence, head group) are cut
 * into `splits` chunks run by separate blocks; a reduction kernel merges the
 * partial softmax results. Entry points: dec_attention, dec_workspace_floats. */
#ifndef OB_ATTN_DECODE_H
#define OB_ATTN_DECODE_H

#include <cuda_bf16.h>
#include <cuda_runtime.h>

struct dec_args {
    const __nv_bfloat16 *q;  /* (B, Hq, Dqk) */
    const __nv_bfloat16 *k;  /* element (b, t, h, d) at k[b*k_bs + t*k_ts + h*k_hs + d] */
    const __nv_bfloat16 *v;  /* same with v_*; ignored when v_in_k */
    long long k_bs, k_ts, k_hs, v_bs, v_ts, v_hs;
    int b, hq, hkv, dqk, dv; /* dqk, dv even, <= 576 */
    int n_ctx;               /* keys cached per sequence (the new token included) */
    int win;                 /* > 0: sliding window of the last win keys */
    const int *blk;          /* (B, Hkv, nsel) selected block indices, or NULL */
    int nsel, blk_size;
    int v_in_k;              /* MLA: V = first dv columns of the K row */
    float scale;             /* softmax scale, e.g. 1/sqrt(dqk) */
    int splits;              /* split-KV chunks; 0 = choose from sm_count */
    int sm_count;
    __nv_bfloat16 *o;        /* (B, Hq, Dv) */
    float *ws;               /* workspace, dec_workspace_floats() floats (splits > 1) */
};

/* Keys attended per (sequence, KV head). */
int dec_keys(const struct dec_args *a);
/* Splits the launch will use (resolves splits == 0). */
int dec_splits(const struct dec_args *a);
size_t dec_workspace_floats(const struct dec_args *a);
/* Launches the attention (and the reduction when splits > 1) on stream s;
 * checks every launch. */
void dec_attention(const struct dec_args *a, cudaStream_t s);

#endif
