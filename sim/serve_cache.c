/* serve_cache.c - bounded memo of iteration costs by batch composition; see
 * serve_cache.h. Open addressing (linear probing) over a power-of-two slot
 * table twice the entry capacity; keys live in one pool of doubles. */
#include "serve_cache.h"

#include <stdlib.h>
#include <string.h>

#define SLOTS (2 * SERVE_CACHE_ENTRIES)

struct entry {
    uint64_t h;
    size_t off, n; /* key: pool[off .. off + n) */
    struct eval_totals tot;
};

struct serve_cache {
    uint32_t *slot; /* entry index + 1; 0 = empty */
    struct entry *ent;
    size_t n_ent;
    double *pool;
    size_t n_pool;
    double hits, misses, flushes;
};

struct serve_cache *serve_cache_new(void)
{
    struct serve_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->slot = calloc(SLOTS, sizeof *c->slot);
    c->ent = malloc(SERVE_CACHE_ENTRIES * sizeof *c->ent);
    c->pool = malloc(SERVE_CACHE_KEY_WORDS * sizeof *c->pool);
    if (!c->slot || !c->ent || !c->pool) {
        serve_cache_free(c);
        return NULL;
    }
    return c;
}

void serve_cache_free(struct serve_cache *c)
{
    if (!c) return;
    free(c->slot);
    free(c->ent);
    free(c->pool);
    free(c);
}

/* Four independent multiply-rotate lanes over the words' bits (one multiply
 * per word, so the lanes run in parallel), folded by splitmix64's finaliser.
 * Equal keys hash equal; a collision only costs a key comparison. */
static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
uint64_t serve_cache_hash(const double *key, size_t n)
{
    const uint64_t k1 = 0x9e3779b97f4a7c15ULL, k2 = 0xc2b2ae3d27d4eb4fULL;
    uint64_t l[4] = {k1, k2, k1 ^ n, k2 ^ n};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy(&w, &key[i + j], sizeof w);
            l[j] = rotl(l[j] ^ w, 29) * k2;
        }
    }
    for (; i < n; i++) {
        uint64_t w;
        memcpy(&w, &key[i], sizeof w);
        l[0] = rotl(l[0] ^ w, 29) * k2;
    }
    uint64_t h = l[0] ^ rotl(l[1], 17) ^ rotl(l[2], 31) ^ rotl(l[3], 47);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

const struct eval_totals *serve_cache_find(const struct serve_cache *c, const double *key,
                                           size_t n, uint64_t h)
{
    struct serve_cache *mc = (struct serve_cache *)c; /* counters only */
    for (size_t s = h & (SLOTS - 1);; s = (s + 1) & (SLOTS - 1)) {
        const uint32_t k = c->slot[s];
        if (k == 0) break;
        const struct entry *en = &c->ent[k - 1];
        if (en->h == h && en->n == n && memcmp(c->pool + en->off, key, n * sizeof *key) == 0) {
            mc->hits += 1;
            return &en->tot;
        }
    }
    mc->misses += 1;
    return NULL;
}

void serve_cache_put(struct serve_cache *c, const double *key, size_t n, uint64_t h,
                     const struct eval_totals *tot)
{
    if (n > SERVE_CACHE_KEY_WORDS) return; /* never fits: not remembered */
    if (c->n_ent == SERVE_CACHE_ENTRIES || c->n_pool + n > SERVE_CACHE_KEY_WORDS) {
        memset(c->slot, 0, SLOTS * sizeof *c->slot);
        c->n_ent = c->n_pool = 0;
        c->flushes += 1;
    }
    size_t s = h & (SLOTS - 1);
    while (c->slot[s]) s = (s + 1) & (SLOTS - 1);
    struct entry *en = &c->ent[c->n_ent];
    en->h = h;
    en->off = c->n_pool;
    en->n = n;
    en->tot = *tot;
    memcpy(c->pool + c->n_pool, key, n * sizeof *key);
    c->n_pool += n;
    c->slot[s] = (uint32_t)++c->n_ent;
}

void serve_cache_counts(const struct serve_cache *c, double *hits, double *misses,
                        double *flushes)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
    *flushes = c ? c->flushes : 0;
}
