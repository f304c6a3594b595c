/* serve_cache.h - the iteration engine's memo of whole iterations, keyed by
 * batch composition (private to sim/serve.c and sim/fleet.c).
 *
 * An iteration's cost depends only on its merged groups (n, q, ctx), sorted,
 * and on how many sequences sample a token (docs/serving.md, "Iteration
 * cost"); the key is exactly that list of doubles, compared in full on a hit,
 * so a hit returns the very totals that evaluating would (no quantisation).
 * Memory is bounded: at SERVE_CACHE_ENTRIES entries or SERVE_CACHE_KEY_WORDS
 * key words the table is emptied and fills again.
 *
 * Entry points: serve_cache_new/_free/_find/_put. */
#ifndef OB_SERVE_CACHE_H
#define OB_SERVE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "eval.h"

#define SERVE_CACHE_ENTRIES ((size_t)1 << 16)   /* iterations remembered (at most) */
#define SERVE_CACHE_KEY_WORDS ((size_t)1 << 21) /* doubles of keys (16 MiB) */

struct serve_cache;

/* A new, empty cache, or NULL if out of memory. */
struct serve_cache *serve_cache_new(void);
void serve_cache_free(struct serve_cache *c); /* accepts NULL */
/* The hash of a key of n doubles. */
uint64_t serve_cache_hash(const double *key, size_t n);
/* The totals stored for key (n doubles, hash h), or NULL. */
const struct eval_totals *serve_cache_find(const struct serve_cache *c, const double *key,
                                           size_t n, uint64_t h);
/* Stores tot for key (copied); empties the cache first when it is full. */
void serve_cache_put(struct serve_cache *c, const double *key, size_t n, uint64_t h,
                     const struct eval_totals *tot);
/* Lookups answered and missed since serve_cache_new, and times emptied. */
void serve_cache_counts(const struct serve_cache *c, double *hits, double *misses,
                        double *flushes);

#endif
