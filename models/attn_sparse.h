/* attn_sparse.h - counting helpers shared by the block- and token-sparse
 * attention kinds (moba, nsa, dsa): pairs computed and kept by a block-sparse
 * causal pattern, sliding-window pairs, NSA's compressed-token counts, and the
 * routing signal-to-noise ratio of MoBA's block router (FlashMoBA paper).
 *
 * Positions are 0-based; a step holds the q queries at positions P..P+q-1 of a
 * sequence and query p sees keys 0..p (causal). Every count is per head and
 * per sequence, summed over the step's queries. Formulas: docs/variants/moba.md,
 * nsa.md, dsa.md. */
#ifndef OB_ATTN_SPARSE_H
#define OB_ATTN_SPARSE_H

/* Block-sparse causal pattern: keys in blocks of `block` tokens; each query
 * attends its own (current) block causally and up to k_total - 1 earlier
 * blocks (all of them when fewer exist). `useful` counts the (query, key)
 * pairs the mask keeps; `computed` counts the pairs a tile kernel computes:
 * earlier blocks whole, and the own block as one tile holding every key of
 * that block present at the end of the step (the causal mask discards the
 * rest). A decode step (q = 1) computes exactly its useful pairs. */
struct sparse_pairs {
    double useful, computed;
};
void sparse_block_pairs(double prior, double q, double block, double k_total,
                        struct sparse_pairs *out);

/* Sum over the step's queries of min(w, p + 1): pairs of a causal sliding
 * window of w keys (also DSA's top-k of w tokens). */
double sparse_window_pairs(double prior, double q, double w);

/* NSA compressed tokens of a prefix of n tokens (block l, stride d): one per
 * start i*d with i*d + l <= n, i.e. floor((n - l)/d) + 1 for n >= l, else 0. */
double sparse_cmp_tokens(double n, double l, double d);
/* Sum over the step's queries of sparse_cmp_tokens(p + 1, l, d). */
double sparse_cmp_pairs(double prior, double q, double l, double d);
/* Sum over the step's queries of ceil((p + 1)/block): blocks a query can see. */
double sparse_blocks_seen(double prior, double q, double block);

/* Routing signal-to-noise ratio of a MoBA router (Xiao, Guo, Mazaheri and
 * Han 2025, "Optimizing Mixture of Block Attention", arXiv:2511.11571, sec. 3):
 * SNR = delta_mu_eff * sqrt(d / (2 B)) for head dimension d, block size B and
 * effective signal gap delta_mu_eff between relevant and irrelevant keys. */
double moba_routing_snr(double head_dim, double block, double delta_mu_eff);

#endif
