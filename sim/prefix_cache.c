/* prefix_cache.c - a prefix tree of KV blocks with LRU eviction; see
 * prefix_cache.h. Rules: docs/serving.md, "Prefix caching". */
#include "prefix_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static uint64_t slot_hash(int32_t parent, uint64_t key)
{
    uint64_t z = key ^ ((uint64_t)(uint32_t)parent * 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void pcache_init(struct pcache *c)
{
    memset(c, 0, sizeof *c);
    c->free_head = c->lru_head = c->lru_tail = -1;
}

void pcache_free(struct pcache *c)
{
    free(c->nodes);
    free(c->table);
    pcache_init(c);
}

void pcache_path_free(struct pcache_path *p)
{
    free(p->node);
    memset(p, 0, sizeof *p);
}

/* The table slot of (parent, key): its node's, or the empty one where it goes. */
static size_t find_slot(const struct pcache *c, int32_t parent, uint64_t key)
{
    const size_t mask = c->table_cap - 1;
    size_t i = slot_hash(parent, key) & mask;
    for (;;) {
        const int32_t k = c->table[i];
        if (k < 0) return i;
        if (c->nodes[k].key == key && c->nodes[k].parent == parent) return i;
        i = (i + 1) & mask;
    }
}

static int32_t find(const struct pcache *c, int32_t parent, uint64_t key)
{
    if (!c->table_cap) return -1;
    return c->table[find_slot(c, parent, key)];
}

static void table_grow(struct pcache *c)
{
    const size_t old = c->table_cap;
    int32_t *ot = c->table;
    c->table_cap = old ? 2 * old : 1024;
    c->table = malloc(c->table_cap * sizeof *c->table);
    OB_ASSERT(c->table);
    for (size_t i = 0; i < c->table_cap; i++) c->table[i] = -1;
    for (size_t i = 0; i < old; i++)
        if (ot[i] >= 0) {
            const struct pcache_node *nd = &c->nodes[ot[i]];
            c->table[find_slot(c, nd->parent, nd->key)] = ot[i];
        }
    free(ot);
}

/* Backward-shift deletion for linear probing (Knuth, TAOCP vol. 3, 6.4,
 * Algorithm R). */
static void table_remove(struct pcache *c, int32_t node)
{
    const size_t mask = c->table_cap - 1;
    size_t i = find_slot(c, c->nodes[node].parent, c->nodes[node].key);
    OB_ASSERT(c->table[i] == node);
    c->table[i] = -1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        const int32_t k = c->table[j];
        if (k < 0) return;
        const size_t h = slot_hash(c->nodes[k].parent, c->nodes[k].key) & mask;
        /* move k back to i unless its home h lies cyclically in (i, j] */
        const bool stay = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (!stay) {
            c->table[i] = k;
            c->table[j] = -1;
            i = j;
        }
    }
}

static void lru_unlink(struct pcache *c, int32_t k)
{
    struct pcache_node *nd = &c->nodes[k];
    if (!nd->in_lru) return;
    if (nd->prev >= 0) c->nodes[nd->prev].next = nd->next;
    else c->lru_head = nd->next;
    if (nd->next >= 0) c->nodes[nd->next].prev = nd->prev;
    else c->lru_tail = nd->prev;
    nd->in_lru = false;
}

static void lru_push_tail(struct pcache *c, int32_t k)
{
    struct pcache_node *nd = &c->nodes[k];
    nd->prev = c->lru_tail;
    nd->next = -1;
    if (c->lru_tail >= 0) c->nodes[c->lru_tail].next = k;
    else c->lru_head = k;
    c->lru_tail = k;
    nd->in_lru = true;
}

/* A node that became an unheld leaf when its last child was evicted goes in
 * the order of its last release (stamp): after every leaf released no later. */
static void lru_insert_sorted(struct pcache *c, int32_t k)
{
    int32_t after = -1, at = c->lru_head;
    while (at >= 0 && c->nodes[at].stamp <= c->nodes[k].stamp) after = at, at = c->nodes[at].next;
    struct pcache_node *nd = &c->nodes[k];
    nd->prev = after;
    nd->next = at;
    if (after >= 0) c->nodes[after].next = k;
    else c->lru_head = k;
    if (at >= 0) c->nodes[at].prev = k;
    else c->lru_tail = k;
    nd->in_lru = true;
}

size_t pcache_peek(const struct pcache *c, const uint64_t *keys, size_t n, size_t *unref)
{
    int32_t parent = -1;
    size_t h = 0, u = 0;
    for (; h < n; h++) {
        const int32_t k = find(c, parent, keys[h]);
        if (k < 0) break;
        if (c->nodes[k].ref == 0) u++;
        parent = k;
    }
    if (unref) *unref = u;
    return h;
}

static void path_push(struct pcache_path *p, int32_t k)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->node = realloc(p->node, p->cap * sizeof *p->node);
        OB_ASSERT(p->node);
    }
    p->node[p->n++] = k;
}

static void hold(struct pcache *c, int32_t k, struct pcache_path *p)
{
    struct pcache_node *nd = &c->nodes[k];
    if (nd->ref++ == 0) c->n_unref--;
    lru_unlink(c, k);
    path_push(p, k);
}

void pcache_match(struct pcache *c, const uint64_t *keys, size_t h, struct pcache_path *p)
{
    int32_t parent = p->n ? p->node[p->n - 1] : -1;
    for (size_t b = 0; b < h; b++) {
        const int32_t k = find(c, parent, keys[b]);
        OB_ASSERT(k >= 0);
        hold(c, k, p);
        parent = k;
    }
}

size_t pcache_insert(struct pcache *c, const uint64_t *keys, size_t n, struct pcache_path *p)
{
    size_t created = 0;
    for (size_t b = p->n; b < n; b++) {
        const int32_t parent = p->n ? p->node[p->n - 1] : -1;
        int32_t k = find(c, parent, keys[b]);
        if (k < 0) {
            if ((c->n_nodes + 1) * 2 > c->table_cap) table_grow(c);
            if (c->free_head >= 0) {
                k = c->free_head;
                c->free_head = c->nodes[k].next;
            } else {
                if (c->n_alloc == c->n_cap) {
                    OB_ASSERT(c->n_cap < INT32_MAX / 2);
                    c->n_cap = c->n_cap ? 2 * c->n_cap : 1024;
                    c->nodes = realloc(c->nodes, (size_t)c->n_cap * sizeof *c->nodes);
                    OB_ASSERT(c->nodes);
                }
                k = c->n_alloc++;
            }
            c->nodes[k] = (struct pcache_node){.key = keys[b], .parent = parent, .prev = -1,
                                               .next = -1, .used = true};
            c->table[find_slot(c, parent, keys[b])] = k;
            if (parent >= 0) c->nodes[parent].children++;
            c->n_nodes++;
            c->n_unref++; /* held just below */
            created++;
        }
        hold(c, k, p);
    }
    return created;
}

void pcache_release(struct pcache *c, struct pcache_path *p)
{
    const uint64_t now = ++c->tick;
    for (size_t i = p->n; i-- > 0;) {
        const int32_t k = p->node[i];
        struct pcache_node *nd = &c->nodes[k];
        OB_ASSERT(nd->ref > 0);
        nd->stamp = now;
        if (--nd->ref == 0) {
            c->n_unref++;
            if (nd->children == 0) lru_push_tail(c, k);
        }
    }
    p->n = 0;
}

size_t pcache_evict(struct pcache *c, size_t want)
{
    size_t done = 0;
    while (done < want && c->lru_head >= 0) {
        const int32_t k = c->lru_head;
        struct pcache_node *nd = &c->nodes[k];
        OB_ASSERT(nd->ref == 0 && nd->children == 0);
        lru_unlink(c, k);
        table_remove(c, k);
        const int32_t parent = nd->parent;
        nd->used = false;
        nd->next = c->free_head;
        c->free_head = k;
        c->n_nodes--;
        c->n_unref--;
        done++;
        /* the parent, now a leaf no request holds, joins in its use order */
        if (parent >= 0 && --c->nodes[parent].children == 0 && c->nodes[parent].ref == 0)
            lru_insert_sorted(c, parent);
    }
    c->evicted += (double)done;
    return done;
}
