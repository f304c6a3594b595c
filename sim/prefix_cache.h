/* prefix_cache.h - automatic prefix caching for `opbound serve`: a prefix
 * tree over fixed-size blocks of KV cache (a radix tree of blocks, as SGLang's
 * RadixAttention and vLLM's automatic prefix caching keep), with
 * least-recently-used eviction of unreferenced leaves.
 *
 * Token content is abstract: a block is named by a 64-bit key computed from
 * what its tokens are (a shared prompt's, a session's, or one request's own;
 * docs/serving.md, "Prefix caching"), and a node by its parent and key, so
 * two prompts share a node exactly when they agree on every block up to it.
 * A request holds (references) the path of nodes it uses; a node no request
 * holds stays cached until evicted. Counts are in blocks; the caller turns
 * them into bytes.
 *
 * Entry points: pcache_init/_free, pcache_peek, pcache_match, pcache_insert,
 * pcache_release, pcache_evict. */
#ifndef OB_PREFIX_CACHE_H
#define OB_PREFIX_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcache_node {
    uint64_t key;
    int32_t parent;         /* -1: a child of the root */
    int32_t ref, children;  /* requests holding it; cached children */
    int32_t prev, next;     /* LRU list of evictable leaves (-1 ends) */
    uint64_t stamp;         /* when last released (the cache's tick) */
    bool in_lru, used;
};

struct pcache {
    struct pcache_node *nodes;
    int32_t n_alloc, n_cap, free_head; /* nodes used, allocated; free list (through next) */
    int32_t *table;              /* open addressing: (parent, key) -> node, -1 empty */
    size_t table_cap, n_nodes;   /* cached blocks */
    size_t n_unref;              /* cached blocks no request holds (all evictable) */
    int32_t lru_head, lru_tail;  /* head: least recently used */
    double evicted;              /* blocks evicted so far */
    uint64_t tick;               /* releases so far */
};

/* A request's held path: node indices from the root down. */
struct pcache_path {
    int32_t *node;
    size_t n, cap;
};

void pcache_init(struct pcache *c);
void pcache_free(struct pcache *c); /* accepts a zeroed cache */
void pcache_path_free(struct pcache_path *p);

/* How many of the n blocks keys[0..n) are cached as one path from the root,
 * and (*unref) how many of those no request holds. Changes nothing. */
size_t pcache_peek(const struct pcache *c, const uint64_t *keys, size_t n, size_t *unref);
/* Takes hold of the first h blocks (h from pcache_peek): appended to p. */
void pcache_match(struct pcache *c, const uint64_t *keys, size_t h, struct pcache_path *p);
/* Extends p (which holds keys[0..p->n)) to keys[0..n): blocks already cached
 * are held, the others created and held. Returns the number created. */
size_t pcache_insert(struct pcache *c, const uint64_t *keys, size_t n, struct pcache_path *p);
/* Lets go of every node of p (deepest first); p is emptied. Leaves no request
 * holds become evictable, most recently used last. */
void pcache_release(struct pcache *c, struct pcache_path *p);
/* Evicts up to want unreferenced blocks, least recently used leaf first
 * (a parent whose last child goes becomes a leaf). Returns the number evicted. */
size_t pcache_evict(struct pcache *c, size_t want);

#endif
