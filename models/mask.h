/* mask.h - attention mask programs: the masks FlexAttention users write
 * (causal, sliding window, prefix-LM, document masking, chunked local,
 * block-sparse patterns, and their intersections and unions), read from YAML
 * and evaluated exactly: the (query, key) pairs the mask keeps and the pairs a
 * tiled kernel computes (every tile_q x tile_k tile holding at least one kept
 * pair is computed whole; empty tiles are skipped, as FlexAttention's block
 * mask does).
 *
 * For each query the kept keys are a short union of intervals, so a step of
 * S queries costs O(S x intervals x log) time and no allocation, never
 * O(S^2). Grammar and semantics: docs/variants/flex.md.
 *
 * Entry points: mask_read (YAML -> program), mask_count (a step's pairs). */
#ifndef OB_MASK_H
#define OB_MASK_H

#include <stdint.h>

#include "../sim/core/err.h"
#include "../sim/core/yml.h"

#define MASK_MAX_NODES 64
#define MASK_MAX_ITEMS 512
/* Longest step a mask is evaluated over in bounded time (model_len_check):
 * 2^21 tokens, O(S) work within about a second. */
#define MASK_MAX_LEN 2097152.0 /* document lengths and block offsets, all nodes together */

enum mask_op {
    MASK_CAUSAL,    /* k <= q */
    MASK_WINDOW,    /* |q - k| < a */
    MASK_PREFIX,    /* k < a (keys every query sees) */
    MASK_CHUNK,     /* floor(q / a) == floor(k / a) */
    MASK_DOCUMENTS, /* same document; lengths items[first..first+n), repeated */
    MASK_BLOCKS,    /* key block jq - o for each offset o, and global blocks; block a */
    MASK_ALL,       /* intersection of children */
    MASK_ANY,       /* union of children */
    MASK_OP_COUNT
};

struct mask_node {
    enum mask_op op;
    int64_t a;         /* window, prefix length, chunk, block size */
    int first, n;      /* items (documents, offsets) or children (all, any) */
    int first2, n2;    /* blocks: global block items */
    int64_t cycle;     /* documents: sum of the lengths */
};

struct mask_prog {
    int n_nodes, root;
    struct mask_node nodes[MASK_MAX_NODES];
    int n_items;
    int64_t items[MASK_MAX_ITEMS]; /* lengths, offsets, global blocks, child indices */
};

/* A mask program on an attention block of any softmax kind (the block's
 * `mask:` key, read by the model loader, models/model.c; applied to the
 * block's attention ops by the lowering, models/lower.c): the program and
 * the kernel's tile shape. */
struct block_mask {
    struct mask_prog prog;
    int64_t tile_q, tile_k;
};

/* Reads a mask: a sequence of parts that all apply (docs/variants/flex.md).
 * 0, or -1 with e set at the offending node. */
int mask_read(const struct yml_doc *d, yml_node seq, struct mask_prog *p, struct err *e);

struct mask_pairs {
    double useful;   /* kept (query, key) pairs of the step */
    double computed; /* pairs in the tiles a kernel computes */
    double tiles;    /* (query tile, key tile) blocks computed */
};
/* Pairs of a step whose queries sit at positions prior .. prior + q - 1 and
 * see keys 0 .. prior + q - 1, with tiles of tq queries x tk keys aligned to
 * multiples of tq and tk. */
void mask_count(const struct mask_prog *p, double prior, double q, double tq, double tk,
                struct mask_pairs *out);

#endif
