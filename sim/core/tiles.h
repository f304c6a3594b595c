/* tiles.h - tile model of a 1-D attention mask: what a fused (FlashAttention-
 * style) kernel computes for a causal / sliding-window / neighborhood mask.
 *
 * A step has q_len queries at positions [prior, prior + q_len) and keys at
 * [0, prior + q_len). Dilation d splits the sequence into d interleaved
 * sub-sequences (positions with equal residue mod d) that are attended
 * separately, as NATTEN runs dilated neighborhood attention (Hassani and Shi
 * 2022); inside a sub-sequence of n tokens, query p (sub-sequence index) sees
 *   keys [lo(p), hi(p)]  and the sinks [0, sinks)   (causal: only keys <= p)
 *   rep(p) = min(n-1, s*floor(p/s) + off)   (stride s groups; off = s-1 causal,
 *                                             floor((s-1)/2) otherwise; GNA 2025)
 *   lo(p)  = max(0, rep(p) - left),  hi(p) = causal ? p : min(n-1, rep(p) + right)
 * Query tiles of tile_q rows start at the step's first query, key tiles of
 * tile_k columns at key 0. A tile is visited when it holds a visible pair.
 * Closed forms: docs/variants/swa.md; cost O(d + rows near the sequence
 * edges), independent of the length in the steady state.
 *
 * Entry point: tiles_count. */
#ifndef OB_TILES_H
#define OB_TILES_H

#include <stdbool.h>

#define TILES_FULL (-1.0) /* left/right extent: unbounded */

struct tile_mask {
    double q_len, prior; /* queries in the step; keys = prior + q_len */
    bool causal;
    double left, right;  /* window extents in sub-sequence steps, or TILES_FULL */
    double stride;       /* >= 1 */
    double dilation;     /* >= 1 */
    double sinks;        /* always-visible initial keys of each sub-sequence (causal only) */
    double tile_q, tile_k;
};

struct tile_stats {
    double tiles_visited, tiles_full, tiles_partial;
    double pairs_useful;   /* (query, key) pairs the mask keeps */
    double pairs_computed; /* pairs in visited tiles, clipped at the sequence edges */
    double keys_read;      /* keys in the key tiles visited by some query tile */
    double dense_computed; /* pairs_computed of the same shape with a full window */
    double dense_useful;   /* pairs_useful of that full window */
    double speedup_bound;  /* dense_computed / pairs_computed */
};

/* Counts the tiles and pairs of mask m (all sizes whole numbers >= 0, q_len,
 * tile sizes, stride and dilation >= 1; asserts otherwise). */
void tiles_count(const struct tile_mask *m, struct tile_stats *out);

#endif
