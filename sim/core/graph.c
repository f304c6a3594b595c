/* graph.c - op kind table, builders and FLOP/byte counting; see graph.h.
 * Every formula here is stated, with its source, in docs/conventions.md. */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* GEMM, per instance: A (m x k) activations read once, B (k x n) weights read
 * once, C (m x n) written once (ideal tiling); 2*m*n*k FLOPs; a bias adds n
 * weights and m*n vector adds. A batched GEMM is `count` such instances. */
static void count_gemm(const struct op *op, struct op_cost *c)
{
    c->bytes_net = 0;
    c->flops_wasted = 0;
    const double cnt = op->shape.gemm.count, m = op->shape.gemm.m, n = op->shape.gemm.n,
                 k = op->shape.gemm.k;
    const double wb = dtype_bytes(op->dt_w), ab = dtype_bytes(op->dt_act);
    const double bias = op->shape.gemm.bias ? 1.0 : 0.0;
    c->flops_mm = cnt * 2.0 * m * n * k;
    c->flops_vec = cnt * bias * m * n;
    c->bytes_w = cnt * (k * n + bias * n) * wb;
    c->bytes_act = op->shape.gemm.a_kv ? 0 : cnt * m * k * ab;
    c->bytes_kv = op->shape.gemm.a_kv ? cnt * m * k * dtype_bytes(op->dt_kv) : 0;
    c->bytes_out = cnt * m * n * ab;
}

/* Fused attention core (FlashAttention-style): per head and (query, key) pair,
 * 2*Dqk FLOPs for QK^T and 2*Dv for PV, and FLOPS_SOFTMAX vector FLOPs. Q is
 * read once, K and V once per KV head (query heads of a group share the load),
 * O written once. K/V come from the KV cache (kv dtype) when kv_cached, else
 * from the activations just computed (activation dtype). */
static void count_attention(const struct op *op, struct op_cost *c)
{
    const struct attn_shape *s = &op->shape.attn;
    const double b = s->b, hq = s->hq, dqk = s->dqk, dv = s->dv, sq = s->sq, pairs = s->pairs;
    const double ab = dtype_bytes(op->dt_act);
    const double kv_elems = b * s->skv * s->kv_width;
    c->flops_mm = b * hq * pairs * 2.0 * (dqk + dv);
    c->flops_wasted = s->pairs_useful > 0 ? b * hq * (pairs - s->pairs_useful) * 2.0 * (dqk + dv) : 0;
    c->flops_vec = b * hq * pairs * FLOPS_SOFTMAX;
    c->bytes_w = 0;
    c->bytes_act = b * sq * hq * dqk * ab;
    c->bytes_kv = 0;
    c->bytes_net = 0;
    if (s->kv_cached)
        c->bytes_kv = kv_elems * dtype_bytes(op->dt_kv);
    else
        c->bytes_act += kv_elems * ab;
    c->bytes_out = b * sq * hq * dv * ab;
}

/* Pointwise: `inputs` tensors of rows x cols read, one written (in the KV
 * dtype when out_kv: the KV-cache store). inputs = 0: written only (a
 * per-sequence state stored when there is no earlier state to read). */
static void count_elementwise(const struct op *op, struct op_cost *c)
{
    c->bytes_net = 0;
    c->flops_wasted = 0;
    const double e = op->shape.ew.rows * op->shape.ew.cols;
    c->flops_mm = 0;
    c->flops_vec = e * op->shape.ew.flops_per_elem;
    c->bytes_w = 0;
    c->bytes_act = e * op->shape.ew.inputs * dtype_bytes(op->dt_act);
    c->bytes_kv = 0;
    c->bytes_out = e * dtype_bytes(op->shape.ew.out_kv ? op->dt_kv : op->dt_act);
}

/* Norm: rows x cols read and written, `params` weights read. */
static void count_norm(const struct op *op, struct op_cost *c)
{
    c->bytes_net = 0;
    c->flops_wasted = 0;
    const double e = op->shape.norm.rows * op->shape.norm.cols;
    const double ab = dtype_bytes(op->dt_act);
    c->flops_mm = 0;
    c->flops_vec = e * op->shape.norm.flops_per_elem;
    c->bytes_w = op->shape.norm.params * dtype_bytes(op->dt_w);
    c->bytes_act = e * ab;
    c->bytes_kv = 0;
    c->bytes_out = e * ab;
}

static void count_softmax(const struct op *op, struct op_cost *c)
{
    c->bytes_net = 0;
    c->flops_wasted = 0;
    const double e = op->shape.softmax.rows * op->shape.softmax.cols;
    const double ab = dtype_bytes(op->dt_act);
    c->flops_mm = 0;
    c->flops_vec = e * FLOPS_SOFTMAX;
    c->bytes_w = 0;
    c->bytes_act = e * ab;
    c->bytes_kv = 0;
    c->bytes_out = e * ab;
}

/* Router: per token, a softmax over E logits (FLOPS_SOFTMAX each) and a top-k
 * selection with a k-entry heap: each logit is compared with the heap minimum
 * and, at worst, sifted through log2(k) levels: 1 + log2(k) comparisons per
 * logit (k = 8: 4; DSA's k = 2048: 12). Writes k weights (activation dtype)
 * and k int32 indices per token. */
static void count_router(const struct op *op, struct op_cost *c)
{
    c->bytes_net = 0;
    c->flops_wasted = 0;
    const double t = op->shape.router.rows, e = op->shape.router.experts,
                 k = op->shape.router.k;
    const double ab = dtype_bytes(op->dt_act);
    c->flops_mm = 0;
    c->flops_vec = t * e * (FLOPS_SOFTMAX + 1.0 + log2(k));
    c->bytes_w = 0;
    c->bytes_act = t * e * ab;
    c->bytes_kv = 0;
    c->bytes_out = t * k * (ab + 4.0);
}

/* Gather: one table row of cols weights per token, written as activations. */
static void count_gather(const struct op *op, struct op_cost *c)
{
    c->bytes_net = 0;
    c->flops_wasted = 0;
    const double e = op->shape.gather.rows * op->shape.gather.cols;
    c->flops_mm = 0;
    c->flops_vec = 0;
    c->bytes_w = e * dtype_bytes(op->dt_w);
    c->bytes_act = 0;
    c->bytes_kv = 0;
    c->bytes_out = e * dtype_bytes(op->dt_act);
}

/* Ring all-reduce of an E-element buffer over N devices (Patarasuk and Yuan
 * 2009; NCCL's "bus bandwidth"): the buffer is cut into N chunks of E/N. In
 * the reduce-scatter phase (N-1 steps) each device receives a chunk, adds it
 * to its own copy of that chunk and passes the sum on; in the all-gather phase
 * (N-1 steps) it forwards finished chunks. Per device: sent = received =
 * 2*(N-1)/N * E elements; additions = (N-1) chunks * E/N = (N-1)/N * E (vector
 * FLOPs; the N-1 additions behind each output element are spread over the N
 * devices); it reads its buffer and writes the result locally (E each). */
static void count_allreduce(const struct op *op, struct op_cost *c)
{
    const double e = op->shape.allreduce.rows * op->shape.allreduce.cols;
    const double n = op->shape.allreduce.devices, ab = dtype_bytes(op->dt_act);
    c->flops_mm = 0;
    c->flops_vec = e * (n - 1.0) / n;
    c->bytes_w = 0;
    c->bytes_act = e * ab;
    c->bytes_kv = 0;
    c->bytes_out = e * ab;
    c->bytes_net = 2.0 * (n - 1.0) / n * e * ab;
}

/* Linear-recurrence core (Dao and Gu 2024, "Transformers are SSMs", Sec. 6;
 * Qin et al. 2024, "Lightning Attention-2"), per sequence and head:
 * - s = 1 (recurrent form): k^T v accumulated into h (2*dk*dv) and y = q h
 *   (2*dk*dv) as matmul FLOPs; the decay a*h adds dk*dv vector FLOPs.
 * - s > 1 (chunked form, chunks of Q, the last one r = s mod Q long): intra-
 *   chunk scores q k^T over whole Q x Q tiles (2*dk per pair and group; the
 *   pairs above the diagonal are computed and masked: flops_wasted), the
 *   masked scores times v (2*dv per pair and head), chunk states k^T v
 *   (2*dk*dv per token), outputs from the carried state q h (2*dk*dv per
 *   token); vector: the decay mask FLOPS_DECAY_MASK per pair, and the
 *   inter-chunk state passing h = a*h + state (2*dk*dv per chunk; dk*dv
 *   without decay).
 * Bytes: q, k (groups*dk each), v (heads*dv) and the per-token decay input
 * (heads) read once, y written once (fused kernel, chunk states on chip); the
 * carried state read from the cache when state_in and the final state written
 * (KV dtype). */
static void count_scan(const struct op *op, struct op_cost *c)
{
    const struct scan_shape *x = &op->shape.scan;
    const double b = x->b, hh = x->heads, gg = x->groups, s = x->s, q = x->chunk;
    const double st = x->dk * x->dv, ab = dtype_bytes(op->dt_act), kvb = dtype_bytes(op->dt_kv);
    c->bytes_net = 0;
    c->flops_wasted = 0;
    if (s == 1) {
        c->flops_mm = b * hh * 4.0 * st;
        c->flops_vec = x->decay ? b * hh * st : 0;
    } else {
        const double nf = floor(s / q), r = s - nf * q, nc = nf + (r > 0 ? 1.0 : 0.0);
        const double pairs = nf * q * q + r * r;
        const double useful = nf * q * (q + 1.0) / 2.0 + r * (r + 1.0) / 2.0;
        const double per_pair = gg * 2.0 * x->dk + hh * 2.0 * x->dv;
        c->flops_mm = b * (per_pair * pairs + hh * s * 4.0 * st);
        c->flops_wasted = b * per_pair * (pairs - useful);
        c->flops_vec = b * hh * ((x->decay ? FLOPS_DECAY_MASK : 0) * pairs +
                                 nc * (x->decay ? 2.0 : 1.0) * st);
    }
    c->bytes_w = 0;
    c->bytes_act = b * s * (2.0 * gg * x->dk + hh * x->dv + (x->decay_input ? hh : 0)) * ab;
    c->bytes_kv = x->state_in ? b * hh * st * kvb : 0;
    c->bytes_out = b * s * hh * x->dv * ab + b * hh * st * kvb;
}

/* All-to-all (expert-parallel dispatch / combine): reads the rows it sends,
 * writes the rows it receives; the interconnect carries max(sent, received)
 * rows in each direction (full-duplex links). No FLOPs. */
/* Ring all-gather (Patarasuk and Yuan 2009; the second half of a ring
 * all-reduce): N - 1 steps, each sending one 1/N slice to the next device, so
 * every device sends (N-1)/N of the assembled e elements; it reads its own
 * slice (e/N) and writes the assembled tensor (e). No arithmetic. */
static void count_allgather(const struct op *op, struct op_cost *c)
{
    const double e = op->shape.allreduce.rows * op->shape.allreduce.cols;
    const double n = op->shape.allreduce.devices, ab = dtype_bytes(op->dt_act);
    c->flops_mm = 0;
    c->flops_vec = 0;
    c->flops_wasted = 0;
    c->bytes_w = 0;
    c->bytes_act = e / n * ab;
    c->bytes_kv = 0;
    c->bytes_out = e * ab;
    c->bytes_net = (n - 1.0) / n * e * ab;
}

static void count_alltoall(const struct op *op, struct op_cost *c)
{
    const double ab = dtype_bytes(op->dt_act), cols = op->shape.alltoall.cols;
    const double s = op->shape.alltoall.sent, r = op->shape.alltoall.received;
    c->flops_mm = 0;
    c->flops_vec = 0;
    c->flops_wasted = 0;
    c->bytes_w = 0;
    c->bytes_act = s * cols * ab;
    c->bytes_kv = 0;
    c->bytes_out = r * cols * ab;
    c->bytes_net = (s > r ? s : r) * cols * ab;
}

/* The op kind table: every per-kind property in one row (graph.h, "Op kind
 * properties"). KIND() takes each property positionally, so a row that
 * leaves one out does not compile; tests/test_opkinds.c checks that every
 * kind has a row and every property a valid value.
 *   marker:  gnuplot point types (cairo terminals) for decode (open) and
 *            prefill (filled); line symbols (+ x *) have one form; the six
 *            closed shapes and three line symbols are taken, so the last
 *            three kinds draw as a letter.
 *   class:   breakdown part / colour group; OPC_COLLECTIVE = a collective.
 *   weights: OPW_SHARED: a model weight that one kernel over many sequences
 *            reads once (serve's merge keeps the largest group's); OPW_PER_SEQ:
 *            the weight operand belongs to each sequence (MoBA's gate holds the
 *            queries there) or each token (gather), so merged ops add them;
 *            OPW_NONE: no weight operand.
 *   place:   how the op may be placed on a device with processing in memory. */
#define KIND(nm, fn, pt_open, pt_filled, glyph, cl, w, pl)                                   \
    {.name = nm, .count = fn, .marker = {pt_open, pt_filled, glyph}, .cls = cl, .weights = w, \
     .place = pl}
static const struct {
    const char *name;
    void (*count)(const struct op *, struct op_cost *);
    struct op_marker marker;
    enum op_class cls;
    enum op_weights weights;
    enum op_place_class place;
} OP_KINDS[] = {
    [OP_GEMM] = KIND("gemm", count_gemm, 6, 7, 0, OPC_MATMUL, OPW_SHARED, OPP_WHOLE),
    [OP_BATCHED_GEMM] = KIND("batched_gemm", count_gemm, 4, 5, 0, OPC_MATMUL, OPW_PER_SEQ,
                             OPP_SPLIT_EXPERTS),
    [OP_ATTENTION] = KIND("attention", count_attention, 8, 9, 0, OPC_CORE, OPW_NONE,
                          OPP_SPLIT_SEQS),
    [OP_ELEMENTWISE] = KIND("elementwise", count_elementwise, 12, 13, 0, OPC_VECTOR, OPW_NONE,
                            OPP_WHOLE),
    [OP_NORM] = KIND("norm", count_norm, 10, 11, 0, OPC_VECTOR, OPW_SHARED, OPP_WHOLE),
    [OP_SOFTMAX] = KIND("softmax", count_softmax, 14, 15, 0, OPC_VECTOR, OPW_NONE, OPP_WHOLE),
    [OP_ROUTER] = KIND("router", count_router, 1, 1, 0, OPC_VECTOR, OPW_NONE, OPP_WHOLE),
    [OP_GATHER] = KIND("gather", count_gather, 2, 2, 0, OPC_VECTOR, OPW_PER_SEQ, OPP_WHOLE),
    [OP_ALLREDUCE] = KIND("allreduce", count_allreduce, 3, 3, 0, OPC_COLLECTIVE, OPW_NONE,
                          OPP_XPU_ONLY),
    /* a recurrent scan runs whole on one side */
    [OP_SCAN] = KIND("scan", count_scan, 0, 0, 'S', OPC_CORE, OPW_NONE, OPP_WHOLE),
    [OP_ALLTOALL] = KIND("alltoall", count_alltoall, 0, 0, 'A', OPC_COLLECTIVE, OPW_NONE,
                         OPP_XPU_ONLY),
    [OP_ALLGATHER] = KIND("allgather", count_allgather, 0, 0, 'G', OPC_COLLECTIVE, OPW_NONE,
                          OPP_XPU_ONLY),
};
#undef KIND
_Static_assert(sizeof OP_KINDS / sizeof OP_KINDS[0] == OP_COUNT,
               "OP_KINDS needs one row per op kind, the last one included");

static const char *const BLOCK_NAMES[BLK_COUNT] = {
    [BLK_MODEL] = "model", [BLK_ATTN] = "attention", [BLK_FFN] = "ffn"};

static const char *const IMPL_NAMES[IMPL_COUNT] = {
    [IMPL_DEFAULT] = "default", [IMPL_FA2] = "fa2",       [IMPL_CUDNN] = "cudnn",
    [IMPL_MEM_EFFICIENT] = "mem_efficient", [IMPL_EAGER] = "eager",
    [IMPL_OPBOUND] = "opbound", [IMPL_CUBLAS] = "cublas", [IMPL_FUSED] = "fused",
    [IMPL_FLEX_TRITON] = "flex_triton", [IMPL_FLEX_FA4] = "flex_fa4"};
_Static_assert(sizeof IMPL_NAMES / sizeof IMPL_NAMES[0] == IMPL_COUNT, "one name per op_impl");

const char *op_impl_name(enum op_impl i) { return IMPL_NAMES[i]; }

enum op_impl op_impl_parse(const char *name)
{
    for (int i = 0; i < IMPL_COUNT; i++)
        if (strcmp(IMPL_NAMES[i], name) == 0) return (enum op_impl)i;
    if (strcmp(name, "flex") == 0) return IMPL_FLEX_TRITON; /* FlexAttention's default backend */
    return IMPL_COUNT;
}

const char *op_kind_name(enum op_kind k) { return OP_KINDS[k].name; }
struct op_marker op_kind_marker(enum op_kind k) { return OP_KINDS[k].marker; }
enum op_class op_kind_class(enum op_kind k) { return OP_KINDS[k].cls; }
bool op_kind_collective(enum op_kind k) { return OP_KINDS[k].cls == OPC_COLLECTIVE; }
enum op_weights op_kind_weights(enum op_kind k) { return OP_KINDS[k].weights; }
enum op_place_class op_kind_place_class(enum op_kind k) { return OP_KINDS[k].place; }
bool op_kind_counted(enum op_kind k) { return OP_KINDS[k].count != NULL; }
const char *op_block_name(enum op_block b) { return BLOCK_NAMES[b]; }
void op_count(struct op *op)
{
    if (!op->cost_fixed) OP_KINDS[op->kind].count(op, &op->cost);
}

void op_set_rows(struct op *op, double rows)
{
    OB_ASSERT(rows >= 0);
    switch (op->kind) {
    case OP_GEMM: op->shape.gemm.m = rows; break;
    case OP_ALLREDUCE:
    case OP_ALLGATHER: op->shape.allreduce.rows = rows; break;
    case OP_BATCHED_GEMM:
    case OP_ATTENTION:
    case OP_ELEMENTWISE:
    case OP_NORM:
    case OP_SOFTMAX:
    case OP_ROUTER:
    case OP_GATHER:
    case OP_SCAN:
    case OP_ALLTOALL:
    case OP_COUNT: OB_ASSERT(!"op_set_rows: a kind without token rows"); break;
    }
    op_count(op);
}

double op_act_bytes(const struct op *op)
{
    double out = op->cost.bytes_out;
    if (op->kind == OP_ELEMENTWISE && op->shape.ew.out_kv) {
        out = 0; /* the KV-cache / state store */
    } else if (op->kind == OP_SCAN) {
        const struct scan_shape *x = &op->shape.scan; /* minus the final state (count_scan) */
        out -= x->b * x->heads * x->dk * x->dv * dtype_bytes(op->dt_kv);
    }
    return op->cost.bytes_act + out;
}

int graph_init(struct graph *g, int cap)
{
    memset(g, 0, sizeof *g);
    g->ops = calloc((size_t)cap, sizeof *g->ops);
    g->names = malloc((size_t)cap * GRAPH_NAME_MAX);
    if (!g->ops || !g->names) {
        free(g->ops);
        free(g->names);
        g->ops = NULL;
        g->names = NULL;
        return -1;
    }
    g->cap = cap;
    g->group = -1;
    g->layer_first = -1;
    g->layer_count = 1;
    return 0;
}

void graph_free(struct graph *g)
{
    if (!g) return;
    free(g->ops);
    free(g->names);
    g->ops = NULL;
    g->names = NULL;
    g->n = g->cap = g->n_names = 0;
}

void graph_reset(struct graph *g)
{
    g->n = 0;
    g->n_names = 0;
}

const char *graph_name(struct graph *g, const char *a, const char *b)
{
    OB_ASSERT(g->n_names < g->cap);
    char *s = g->names + (size_t)g->n_names++ * GRAPH_NAME_MAX;
    if (b) snprintf(s, GRAPH_NAME_MAX, "%s.%s", a, b);
    else snprintf(s, GRAPH_NAME_MAX, "%s", a);
    return s;
}

static struct op *add(struct graph *g, enum op_kind kind, const char *name)
{
    OB_ASSERT(g->n < g->cap);
    struct op *op = &g->ops[g->n++];
    op->kind = kind;
    op->block = g->block;
    op->name = name;
    op->group = g->group;
    op->layer_first = g->layer_first;
    op->layer_count = g->layer_count;
    op->dt_w = g->dt_w;
    op->dt_act = g->dt_act;
    op->dt_kv = g->dt_kv;
    op->per_seq = false;
    op->head = false;
    op->impl = g->impl != IMPL_DEFAULT ? g->impl : g->kind_impl[kind];
    op->cost_fixed = false;
    return op;
}

static struct op *gemm(struct graph *g, enum op_kind kind, const char *name, double count,
                       double m, double n, double k, bool bias)
{
    OB_ASSERT(count >= 0 && m >= 0 && n > 0 && k > 0);
    struct op *op = add(g, kind, name);
    op->shape.gemm.count = count;
    op->shape.gemm.m = m;
    op->shape.gemm.n = n;
    op->shape.gemm.k = k;
    op->shape.gemm.bias = bias;
    op->shape.gemm.a_kv = false;
    op_count(op);
    return op;
}

struct op *op_gemm(struct graph *g, const char *name, double m, double n, double k, bool bias)
{
    return gemm(g, OP_GEMM, name, 1.0, m, n, k, bias);
}

struct op *op_batched_gemm(struct graph *g, const char *name, double count, double m, double n,
                           double k, bool bias)
{
    return gemm(g, OP_BATCHED_GEMM, name, count, m, n, k, bias);
}

struct op *op_attention(struct graph *g, const char *name, const struct attn_shape *s)
{
    OB_ASSERT(s->b > 0 && s->hq > 0 && s->dqk > 0 && s->dv > 0 && s->sq > 0 && s->skv > 0);
    OB_ASSERT(s->kv_width > 0 && s->pairs > 0 && s->pairs <= s->sq * s->skv);
    OB_ASSERT(s->pairs_useful >= 0 && s->pairs_useful <= s->pairs);
    struct op *op = add(g, OP_ATTENTION, name);
    op->per_seq = true; /* pairs and keys read follow each sequence's context */
    op->shape.attn = *s;
    op_count(op);
    return op;
}

struct op *op_elementwise(struct graph *g, const char *name, double rows, double cols,
                          double inputs, double flops_per_elem, bool out_kv)
{
    OB_ASSERT(rows >= 0 && cols > 0 && inputs >= 0 && flops_per_elem >= 0);
    struct op *op = add(g, OP_ELEMENTWISE, name);
    op->shape.ew.rows = rows;
    op->shape.ew.cols = cols;
    op->shape.ew.inputs = inputs;
    op->shape.ew.flops_per_elem = flops_per_elem;
    op->shape.ew.out_kv = out_kv;
    op_count(op);
    return op;
}

struct op *op_norm(struct graph *g, const char *name, double rows, double cols, double params,
                   double flops_per_elem)
{
    OB_ASSERT(rows >= 0 && cols > 0 && params >= 0);
    struct op *op = add(g, OP_NORM, name);
    op->shape.norm.rows = rows;
    op->shape.norm.cols = cols;
    op->shape.norm.params = params;
    op->shape.norm.flops_per_elem = flops_per_elem;
    op_count(op);
    return op;
}

struct op *op_softmax(struct graph *g, const char *name, double rows, double cols)
{
    OB_ASSERT(rows >= 0 && cols > 0);
    struct op *op = add(g, OP_SOFTMAX, name);
    op->shape.softmax.rows = rows;
    op->shape.softmax.cols = cols;
    op_count(op);
    return op;
}

struct op *op_router(struct graph *g, const char *name, double rows, double experts, double k)
{
    OB_ASSERT(rows >= 0 && experts > 0 && k > 0 && k <= experts);
    struct op *op = add(g, OP_ROUTER, name);
    op->shape.router.rows = rows;
    op->shape.router.experts = experts;
    op->shape.router.k = k;
    op_count(op);
    return op;
}

struct op *op_gather(struct graph *g, const char *name, double rows, double cols)
{
    OB_ASSERT(rows >= 0 && cols > 0);
    struct op *op = add(g, OP_GATHER, name);
    op->shape.gather.rows = rows;
    op->shape.gather.cols = cols;
    op_count(op);
    return op;
}

/* The tensor-parallel collectives share one shape: rows x cols over devices. */
static struct op *collective(struct graph *g, enum op_kind kind, const char *name, double rows,
                             double cols, double devices)
{
    OB_ASSERT(rows >= 0 && cols > 0 && devices >= 2);
    struct op *op = add(g, kind, name);
    op->shape.allreduce.rows = rows;
    op->shape.allreduce.cols = cols;
    op->shape.allreduce.devices = devices;
    op->shape.allreduce.stride = 1; /* contiguous (tensor parallelism); callers may widen it */
    op_count(op);
    return op;
}

struct op *op_allreduce(struct graph *g, const char *name, double rows, double cols,
                        double devices)
{
    return collective(g, OP_ALLREDUCE, name, rows, cols, devices);
}

struct op *op_allgather(struct graph *g, const char *name, double rows, double cols,
                        double devices)
{
    return collective(g, OP_ALLGATHER, name, rows, cols, devices);
}

struct op *op_alltoall(struct graph *g, const char *name, double sent, double received,
                       double cols, double devices)
{
    OB_ASSERT(sent >= 0 && received >= 0 && cols > 0 && devices >= 2);
    struct op *op = add(g, OP_ALLTOALL, name);
    op->shape.alltoall.sent = sent;
    op->shape.alltoall.received = received;
    op->shape.alltoall.cols = cols;
    op->shape.alltoall.devices = devices;
    op->shape.alltoall.stride = 1;
    op_count(op);
    return op;
}

struct op *op_gemm_from_cache(struct graph *g, const char *name, double m, double n, double k)
{
    struct op *op = gemm(g, OP_GEMM, name, 1.0, m, n, k, false);
    op->shape.gemm.a_kv = true;
    op->per_seq = true; /* rows = the cached tokens of each sequence */
    op_count(op);
    return op;
}

struct op *op_scan(struct graph *g, const char *name, const struct scan_shape *s)
{
    OB_ASSERT(s->b > 0 && s->heads > 0 && s->groups > 0 && s->groups <= s->heads);
    OB_ASSERT(s->s >= 1 && s->chunk >= 1 && s->dk > 0 && s->dv > 0);
    struct op *op = add(g, OP_SCAN, name);
    op->per_seq = true; /* chunking and the carried state follow each sequence */
    op->shape.scan = *s;
    op_count(op);
    return op;
}
