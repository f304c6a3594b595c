/* attn_decode.h - decode attention kernels (one new query token per sequence
 * attending to its KV cache), bf16 inputs, fp32 accumulation.
 *
 * One family; the arguments select the variant (which keys are visited), the
 * way keys are read is the same for all:
 *   GQA (MHA/MQA as G = Hq/Hkv = 1 / Hq): the query heads of a group share
 *       every K/V element loaded (up to 8 heads per block; larger groups run
 *       in chunks of 8).
 *   sliding window: win > 0 keeps the last `win` keys.
 *   block-sparse (MoBA / NSA selection): blk != NULL lists, per (sequence, KV
 *       head), the nsel selected blocks of blk_size keys; keys at or past n_ctx
 *       (a partial last block) are masked. Top-k gating is a separate op.
 *   CCA: attention inside the compressed latent is GQA on latent heads (d 32).
 *   MLA absorbed: Hkv = 1, Dqk = 512 + 64, Dv = 512, v_in_k (V = the first Dv
 *       columns of the cached latent row): version 3 (tensor cores) or 1.
 * Versions: 2 (bandwidth kernel, dec_v2 in attn_decode.cu: head dim 32, 64,
 * 128 or 256 with dqk == dv, 16-byte cp.async pipeline, fused split merge);
 * 3 (MLA absorbed on tensor cores, mla_mma in attn_mla.cu: mma.sync
 * m16n8k16 bf16, 64 heads per block); 1 (the first generic kernel, any even
 * dims <= 576; kept as baseline); 0 picks 2, else 3, else 1.
 * Split-KV (flash-decoding): the keys of a (sequence, head group) are cut
 * into `splits` chunks run by separate blocks, merged by the last block to
 * finish (v2) or a reduction kernel (v1).
 * Entry points: dec_attention, dec_plan, dec_workspace_floats. */
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
    int splits;              /* split-KV chunks; 0 = choose from occupancy */
    int version;             /* 0 auto, 1, 2, 3 (see above) */
    int sm_count;            /* 0: read from the current device */
    __nv_bfloat16 *o;        /* (B, Hq, Dv) */
    float *ws;               /* workspace of dec_workspace_floats() floats, zeroed once
                                before first use (v2 keeps its counters zero) */
};

/* How a launch will run: the version, splits, keys per split, heads per
 * block and grid. Fails (returns -1 with a message in why) when the version
 * asked for cannot run the shape. */
struct dec_launch {
    int version, splits, chunk, heads_per_block, nchunks;
    long long n_keys;
};
int dec_plan(const struct dec_args *a, struct dec_launch *p, char *why, size_t why_n);
/* Keys attended per (sequence, KV head). */
int dec_keys(const struct dec_args *a);
/* Splits the launch will use (resolves splits == 0). */
int dec_splits(const struct dec_args *a);
size_t dec_workspace_floats(const struct dec_args *a);
/* Launches the attention (and the v1 reduction when splits > 1) on stream s;
 * checks every launch; exits with a message when dec_plan fails. */
void dec_attention(const struct dec_args *a, cudaStream_t s);

#endif
