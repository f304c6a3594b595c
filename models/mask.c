/* mask.c - mask programs: reading and exact counting; see mask.h and
 * docs/variants/flex.md. */
#include "mask.h"

#include <stdlib.h>
#include <string.h>

#define MASK_MAX_INTERVALS 64 /* kept-key intervals of one query, any node */

/* Sorted, disjoint, inclusive key intervals. */
struct iset {
    int n;
    int64_t lo[MASK_MAX_INTERVALS], hi[MASK_MAX_INTERVALS];
};

static const char *const PART_NAMES[] = {"causal", "window", "prefix", "chunk",
                                         "documents", "blocks", "all", "any"};

/* ---- reading ---- */

static int read_int(const struct yml_doc *d, yml_node n, int64_t min, int64_t max,
                    const char *what, int64_t *out, struct err *e)
{
    const char *s = yml_scalar(d, n);
    char *end = NULL;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (s && yml_is_quoted(d, n)) /* as every other number of a model file */
        return yml_fail(d, n, e, "%s must be a number, not a quoted string ('%s')", what, s);
    if (!s || !*s || *end || v < min || v > max)
        return yml_fail(d, n, e, "%s must be a whole number from %lld to %lld, got '%s'", what,
                        (long long)min, (long long)max, s ? s : "a list or mapping");
    *out = v;
    return 0;
}

static int push_item(struct mask_prog *p, const struct yml_doc *d, yml_node at, int64_t v,
                     struct err *e)
{
    if (p->n_items == MASK_MAX_ITEMS)
        return yml_fail(d, at, e, "the mask has more than %d list entries", MASK_MAX_ITEMS);
    p->items[p->n_items++] = v;
    return 0;
}

static int read_ints(struct mask_prog *p, const struct yml_doc *d, yml_node seq, int64_t min,
                     const char *what, int *first, int *n, struct err *e)
{
    if (yml_kind_of(d, seq) != YML_SEQ)
        return yml_fail(d, seq, e, "%s must be a list of whole numbers", what);
    *first = p->n_items;
    *n = yml_seq_len(d, seq);
    for (int i = 0; i < *n; i++) {
        int64_t v;
        if (read_int(d, yml_seq_at(d, seq, i), min, (int64_t)1 << 40, what, &v, e) ||
            push_item(p, d, yml_seq_at(d, seq, i), v, e))
            return -1;
    }
    return 0;
}

static int read_part(struct mask_prog *p, const struct yml_doc *d, yml_node n, int *out,
                     int *bound, struct err *e);

/* Children of all/any: a list of parts; returns the bound on intervals. */
static int read_children(struct mask_prog *p, const struct yml_doc *d, yml_node seq,
                         const char *what, struct mask_node *nd, int *bound, struct err *e)
{
    if (yml_kind_of(d, seq) != YML_SEQ || yml_seq_len(d, seq) == 0)
        return yml_fail(d, seq, e, "%s takes a non-empty list of mask parts", what);
    const int k = yml_seq_len(d, seq);
    int kids[MASK_MAX_NODES];
    if (k > MASK_MAX_NODES) return yml_fail(d, seq, e, "%s has more than %d parts", what, MASK_MAX_NODES);
    *bound = 0;
    for (int i = 0; i < k; i++) {
        int b;
        if (read_part(p, d, yml_seq_at(d, seq, i), &kids[i], &b, e)) return -1;
        *bound += b; /* intersection or union of sorted disjoint sets: at most the sum */
    }
    nd->first = p->n_items;
    nd->n = k;
    for (int i = 0; i < k; i++)
        if (push_item(p, d, seq, kids[i], e)) return -1;
    return 0;
}

static int read_part(struct mask_prog *p, const struct yml_doc *d, yml_node n, int *out,
                     int *bound, struct err *e)
{
    if (p->n_nodes == MASK_MAX_NODES)
        return yml_fail(d, n, e, "the mask has more than %d parts", MASK_MAX_NODES);
    struct mask_node nd = {0};
    *bound = 1;
    const char *word = NULL;
    yml_node val = 0;
    if (yml_kind_of(d, n) == YML_SCALAR) {
        word = yml_scalar(d, n);
    } else if (yml_kind_of(d, n) == YML_MAP && yml_map_len(d, n) == 1) {
        word = yml_scalar(d, yml_map_key_at(d, n, 0));
        val = yml_map_get(d, n, word);
    } else {
        return yml_fail(d, n, e, "a mask part is `causal` or a mapping of one key (window, "
                                 "prefix, chunk, documents, blocks, all, any)");
    }
    int op = -1;
    for (int i = 0; i < MASK_OP_COUNT; i++)
        if (word && strcmp(word, PART_NAMES[i]) == 0) op = i;
    if (op < 0)
        return yml_fail(d, val ? yml_map_key_at(d, n, 0) : n, e,
                        "unknown mask part '%s' (causal, window, prefix, chunk, documents, "
                        "blocks, all, any)",
                        word ? word : "");
    nd.op = (enum mask_op)op;
    if ((op == MASK_CAUSAL) != (val == 0))
        return yml_fail(d, n, e, op == MASK_CAUSAL ? "causal takes no value: write `causal`"
                                                   : "mask part '%s' needs a value",
                        word);
    const int64_t big = (int64_t)1 << 40;
    switch (nd.op) {
    case MASK_CAUSAL: break;
    case MASK_WINDOW:
        if (read_int(d, val, 1, big, "window", &nd.a, e)) return -1;
        break;
    case MASK_PREFIX:
        /* prefix 0 keeps no key: a mistake, not a mask */
        if (read_int(d, val, 1, big, "prefix", &nd.a, e)) return -1;
        break;
    case MASK_CHUNK:
        if (read_int(d, val, 1, big, "chunk", &nd.a, e)) return -1;
        break;
    case MASK_DOCUMENTS:
        if (read_ints(p, d, val, 1, "documents (token counts)", &nd.first, &nd.n, e)) return -1;
        if (nd.n == 0) return yml_fail(d, val, e, "documents needs at least one length");
        for (int i = 0; i < nd.n; i++) { /* lengths -> cumulative ends */
            nd.cycle += p->items[nd.first + i];
            p->items[nd.first + i] = nd.cycle;
        }
        break;
    case MASK_BLOCKS: {
        if (yml_kind_of(d, val) != YML_MAP)
            return yml_fail(d, val, e, "blocks takes {size: B, offsets: [...], global: [...]}");
        for (int i = 0; i < yml_map_len(d, val); i++) {
            yml_node key = yml_map_key_at(d, val, i);
            const char *k = yml_scalar(d, key);
            if (!k || (strcmp(k, "size") && strcmp(k, "offsets") && strcmp(k, "global")))
                return yml_fail(d, key, e, "unknown key '%s' in blocks (size, offsets, global)",
                                k ? k : "");
        }
        yml_node size = yml_map_get(d, val, "size"), offs = yml_map_get(d, val, "offsets"),
                 glob = yml_map_get(d, val, "global");
        if (!size) return yml_fail(d, val, e, "blocks needs size (tokens per block)");
        if (read_int(d, size, 1, big, "blocks size", &nd.a, e)) return -1;
        if (!offs && !glob) return yml_fail(d, val, e, "blocks needs offsets or global (or both)");
        if (offs && read_ints(p, d, offs, 0, "blocks offsets", &nd.first, &nd.n, e)) return -1;
        if (glob && read_ints(p, d, glob, 0, "blocks global", &nd.first2, &nd.n2, e)) return -1;
        if (nd.n + nd.n2 == 0)
            return yml_fail(d, val, e, "blocks with no offsets and no global blocks keeps no key");
        *bound = nd.n + nd.n2;
        break;
    }
    case MASK_ALL:
    case MASK_ANY:
        if (read_children(p, d, val, word, &nd, bound, e)) return -1;
        break;
    case MASK_OP_COUNT: break;
    }
    if (*bound > MASK_MAX_INTERVALS)
        return yml_fail(d, n, e,
                        "this part can keep up to %d separate key ranges per query; at most %d "
                        "are supported",
                        *bound, MASK_MAX_INTERVALS);
    /* checked again here: the children read above may have filled the table
     * (an `any` of exactly 64 parts wrote one node past it; found by fuzz_model) */
    if (p->n_nodes == MASK_MAX_NODES)
        return yml_fail(d, n, e, "the mask has more than %d parts", MASK_MAX_NODES);
    p->nodes[p->n_nodes] = nd;
    *out = p->n_nodes++;
    return 0;
}

int mask_read(const struct yml_doc *d, yml_node seq, struct mask_prog *p, struct err *e)
{
    memset(p, 0, sizeof *p);
    if (yml_kind_of(d, seq) != YML_SEQ || yml_seq_len(d, seq) == 0)
        return yml_fail(d, seq, e,
                        "mask must be a non-empty list of parts that all apply, e.g. "
                        "[causal, {window: 4096}]");
    /* The top-level list is an implicit `all`. */
    struct mask_node top = {.op = MASK_ALL};
    int bound;
    if (read_children(p, d, seq, "mask", &top, &bound, e)) return -1;
    if (bound > MASK_MAX_INTERVALS)
        return yml_fail(d, seq, e, "the mask can keep up to %d separate key ranges per query; at "
                                   "most %d are supported", bound, MASK_MAX_INTERVALS);
    if (p->n_nodes == MASK_MAX_NODES)
        return yml_fail(d, seq, e, "the mask has more than %d parts", MASK_MAX_NODES);
    p->nodes[p->n_nodes] = top;
    p->root = p->n_nodes++;
    return 0;
}

/* ---- evaluation ---- */

static void one(struct iset *s, int64_t lo, int64_t hi)
{
    s->n = 0;
    if (lo <= hi) s->lo[0] = lo, s->hi[0] = hi, s->n = 1;
}

static int cmp_lo(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Sorts and merges overlapping or touching intervals in place. */
static void normalize(struct iset *s)
{
    int64_t buf[2 * 2 * MASK_MAX_INTERVALS];
    for (int i = 0; i < s->n; i++) buf[2 * i] = s->lo[i], buf[2 * i + 1] = s->hi[i];
    qsort(buf, (size_t)s->n, 2 * sizeof buf[0], cmp_lo);
    int m = 0;
    for (int i = 0; i < s->n; i++) {
        const int64_t lo = buf[2 * i], hi = buf[2 * i + 1];
        if (m > 0 && lo <= s->hi[m - 1] + 1) {
            if (hi > s->hi[m - 1]) s->hi[m - 1] = hi;
        } else {
            s->lo[m] = lo, s->hi[m] = hi, m++;
        }
    }
    s->n = m;
}

static void intersect(struct iset *a, const struct iset *b)
{
    struct iset r = {0};
    int i = 0, j = 0;
    while (i < a->n && j < b->n) {
        const int64_t lo = a->lo[i] > b->lo[j] ? a->lo[i] : b->lo[j];
        const int64_t hi = a->hi[i] < b->hi[j] ? a->hi[i] : b->hi[j];
        if (lo <= hi) r.lo[r.n] = lo, r.hi[r.n] = hi, r.n++;
        if (a->hi[i] < b->hi[j]) i++;
        else j++;
    }
    *a = r;
}

static void eval_node(const struct mask_prog *p, int idx, int64_t q, struct iset *out)
{
    const struct mask_node *nd = &p->nodes[idx];
    switch (nd->op) {
    case MASK_CAUSAL: one(out, 0, q); break;
    case MASK_WINDOW: one(out, q - nd->a + 1, q + nd->a - 1); break;
    case MASK_PREFIX: one(out, 0, nd->a - 1); break;
    case MASK_CHUNK: {
        const int64_t c0 = q / nd->a * nd->a;
        one(out, c0, c0 + nd->a - 1);
        break;
    }
    case MASK_DOCUMENTS: {
        const int64_t base = q / nd->cycle * nd->cycle, r = q - base;
        int lo = 0, hi = nd->n - 1; /* first document whose end exceeds r */
        while (lo < hi) {
            const int mid = (lo + hi) / 2;
            if (p->items[nd->first + mid] > r) hi = mid;
            else lo = mid + 1;
        }
        const int64_t start = lo > 0 ? p->items[nd->first + lo - 1] : 0;
        one(out, base + start, base + p->items[nd->first + lo] - 1);
        break;
    }
    case MASK_BLOCKS: {
        const int64_t jq = q / nd->a;
        out->n = 0;
        for (int i = 0; i < nd->n; i++) {
            const int64_t j = jq - p->items[nd->first + i];
            if (j >= 0) out->lo[out->n] = j * nd->a, out->hi[out->n] = j * nd->a + nd->a - 1, out->n++;
        }
        for (int i = 0; i < nd->n2; i++) {
            const int64_t j = p->items[nd->first2 + i];
            out->lo[out->n] = j * nd->a, out->hi[out->n] = j * nd->a + nd->a - 1, out->n++;
        }
        normalize(out);
        break;
    }
    case MASK_ALL:
    case MASK_ANY: {
        eval_node(p, (int)p->items[nd->first], q, out);
        for (int i = 1; i < nd->n; i++) {
            struct iset b;
            eval_node(p, (int)p->items[nd->first + i], q, &b);
            if (nd->op == MASK_ALL) {
                intersect(out, &b);
            } else {
                for (int k = 0; k < b.n; k++)
                    out->lo[out->n] = b.lo[k], out->hi[out->n] = b.hi[k], out->n++;
                normalize(out);
            }
        }
        break;
    }
    case MASK_OP_COUNT: out->n = 0; break;
    }
}

/* FNV-1a over the program's bytes: the memo's key (a program freed and another
 * read at the same address must not hit). */
static uint64_t prog_hash(const struct mask_prog *p)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof *p; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void mask_count_eval(const struct mask_prog *p, double prior, double q, double tq,
                            double tk, struct mask_pairs *out);

/* The same step is often lowered many times (both phases of an analysis, the
 * largest-batch and smallest-fit searches, sweeps): the last few results are
 * kept per thread. */
void mask_count(const struct mask_prog *p, double prior, double q, double tq, double tk,
                struct mask_pairs *out)
{
    static _Thread_local struct {
        uint64_t h;
        double prior, q, tq, tk;
        struct mask_pairs r;
        int used;
    } memo[8];
    static _Thread_local int next;
    const uint64_t h = prog_hash(p);
    for (int i = 0; i < 8; i++)
        if (memo[i].used && memo[i].h == h && memo[i].prior == prior && memo[i].q == q &&
            memo[i].tq == tq && memo[i].tk == tk) {
            *out = memo[i].r;
            return;
        }
    mask_count_eval(p, prior, q, tq, tk, out);
    memo[next].h = h;
    memo[next].prior = prior;
    memo[next].q = q;
    memo[next].tq = tq;
    memo[next].tk = tk;
    memo[next].r = *out;
    memo[next].used = 1;
    next = (next + 1) % 8;
}

static void mask_count_eval(const struct mask_prog *p, double prior, double q, double tq,
                            double tk, struct mask_pairs *out)
{
    out->useful = out->computed = out->tiles = 0;
    const int64_t p0 = (int64_t)prior, end = (int64_t)(prior + q), TQ = (int64_t)tq,
                  TK = (int64_t)tk;
    /* tile ranges touched by the rows of one query tile */
    int64_t *r = malloc(sizeof *r * 2 * (size_t)TQ * MASK_MAX_INTERVALS);
    OB_ASSERT(r);
    for (int64_t qt = p0 / TQ; qt * TQ < end; qt++) {
        const int64_t r0 = qt * TQ > p0 ? qt * TQ : p0;
        const int64_t r1 = qt * TQ + TQ - 1 < end - 1 ? qt * TQ + TQ - 1 : end - 1;
        size_t nr = 0;
        for (int64_t row = r0; row <= r1; row++) {
            struct iset s;
            eval_node(p, p->root, row, &s);
            struct iset keys = {.n = 1, .lo = {0}, .hi = {end - 1}};
            intersect(&s, &keys); /* keys present in the step */
            for (int i = 0; i < s.n; i++) {
                out->useful += (double)(s.hi[i] - s.lo[i] + 1);
                r[2 * nr] = s.lo[i] / TK;
                r[2 * nr + 1] = s.hi[i] / TK;
                nr++;
            }
        }
        qsort(r, nr, 2 * sizeof r[0], cmp_lo);
        const double rows = (double)(r1 - r0 + 1);
        int64_t a = -1, b = -2;
        for (size_t i = 0; i <= nr; i++) {
            if (i < nr && r[2 * i] <= b + 1) { /* overlapping or adjacent tile range */
                if (r[2 * i + 1] > b) b = r[2 * i + 1];
                continue;
            }
            if (b >= a && a >= 0) { /* close [a, b]: keys of those tiles present */
                const int64_t kend = (b + 1) * TK < end ? (b + 1) * TK : end;
                out->computed += rows * (double)(kend - a * TK);
                out->tiles += (double)(b - a + 1);
            }
            if (i < nr) a = r[2 * i], b = r[2 * i + 1];
        }
    }
    free(r);
}
