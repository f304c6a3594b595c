/* measure.c - loading measurement files and the plain-C cost interface;
 * see measure.h and opcost.h. */
#include "measure.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "core/catalog.h"
#include "core/dtype.h"
#include "core/opcost.h"

enum { F_KIND, F_CLASS, F_NAME, F_DTYPE, F_KVDT, F_B, F_HQ, F_DQK, F_DV, F_SQ, F_SKV, F_PAIRS,
       F_KVW, F_COUNT, F_M, F_N, F_K, F_FLOPS, F_BYTES, F_MEDIAN, F_MIN, F_IMPL, F_NFIELDS };
/* Fields of a file with the first (21-column) header: every field but impl. */
#define F_NFIELDS_V1 F_IMPL

/* Largest size a measurement row may give for one dimension (b, hq, dqk,
 * dv, sq, skv, kv_width, count, m, n, k): 2^31, the index range of a 32-bit
 * kernel. With every factor at most 2^31 (and pairs at most sq x skv), no
 * FLOP or byte count can leave the range of a double (the largest product,
 * attention's b hq pairs 2 (dqk + dv), stays below 2^160); beyond it a row is
 * a typo, not a kernel. */
#define MEAS_MAX_DIM 2147483648.0
/* Times outside [1 ns, 1 h] are not kernel timings; their 1/t^2 fit weights
 * would overflow or vanish. */
#define MEAS_MIN_TIME_S 1e-9
#define MEAS_MAX_TIME_S 3600.0
/* Rows per file (keeps the row array's int arithmetic far from overflow). */
#define MEAS_MAX_ROWS (1 << 20)

enum pw_kind { PW_ELEMENTWISE, PW_COPY, PW_NORM, PW_SOFTMAX };

/* A `step` row: the model and scenario it times. */
struct meas_step {
    struct model *m;
    struct scenario sc;
    int first, count; /* layer range [first, first + count); count 0 = the whole step */
    int launch;       /* enum launch_mode */
};
/* Largest batch and token counts of a step row (the analysis of a bigger step
 * is not a measurement anyone took). */
#define MEAS_STEP_MAX_BATCH 65536.0
#define MEAS_STEP_MAX_TOKENS 16777216.0

double meas_step_predict(const struct meas_row *r, const struct device *d)
{
    const struct meas_step *st = r->step;
    if (!st) return 0;
    struct device *dc = malloc(sizeof *dc);
    OB_ASSERT(dc);
    *dc = *d;
    dc->launch = st->launch;
    device_derive(dc);
    struct analysis a;
    OB_ASSERT(analysis_init(&a, st->m) == 0);
    analysis_run(&a, st->m, dc, &st->sc);
    double t = 0;
    for (int i = 0; i < a.graph.n; i++) {
        const struct op *op = &a.graph.ops[i];
        if (st->count == 0) {
            t += op->layer_count * a.per_op[i].time_s;
            continue;
        }
        if (op->layer_first < 0) continue;
        const int lo = op->layer_first > st->first ? op->layer_first : st->first;
        const int hi1 = op->layer_first + op->layer_count, hi2 = st->first + st->count;
        const int hi = hi1 < hi2 ? hi1 : hi2;
        if (hi > lo) t += (hi - lo) * a.per_op[i].time_s;
    }
    analysis_free(&a);
    free(dc);
    return t;
}

void meas_set_profile(struct meas_file *m, const struct profile *p)
{
    for (int i = 0; i < m->n; i++)
        if (m->rows[i].step) m->rows[i].step->sc.profile = p;
}

static void step_free(struct meas_step *st)
{
    if (!st) return;
    model_free(st->m);
    free(st);
}

/* Parses the step-specific fields of a `step` row into r->step. */
static int parse_step(const char *path, int line, const char *buf, char **f, const double *v,
                      const bool *has, struct meas_row *r, struct err *e)
{
#define COL(i) ((int)(f[i] - buf) + 1)
    if (has[F_FLOPS] || has[F_BYTES])
        return err_set(e, path, line, COL(has[F_FLOPS] ? F_FLOPS : F_BYTES), "a step row "
                       "takes no flops or bytes (its ops are counted from the model)");
    if (!has[F_B] || !(v[F_B] >= 1 && v[F_B] <= MEAS_STEP_MAX_BATCH) || floor(v[F_B]) != v[F_B])
        return err_set(e, path, line, COL(F_B), "a step row needs b: the batch, a whole number "
                       "from 1 to %.0f", MEAS_STEP_MAX_BATCH);
    if (!has[F_SQ] || !(v[F_SQ] >= 1 && v[F_SQ] <= MEAS_STEP_MAX_TOKENS) ||
        floor(v[F_SQ]) != v[F_SQ])
        return err_set(e, path, line, COL(F_SQ), "a step row needs sq: new tokens per "
                       "sequence (prefill S, decode 1), a whole number from 1 to %.0f",
                       MEAS_STEP_MAX_TOKENS);
    /* skv: keys after the step, as on attention rows (decode at context L:
     * L + 1); sq 1 with skv > 1 is a decode step, else a prefill of sq tokens */
    if (has[F_SKV] && (v[F_SKV] > MEAS_STEP_MAX_TOKENS || floor(v[F_SKV]) != v[F_SKV] ||
                       v[F_SKV] < v[F_SQ]))
        return err_set(e, path, line, COL(F_SKV), "skv (keys after the step) must be a whole "
                       "number from sq to %.0f", MEAS_STEP_MAX_TOKENS);
    const bool decode = v[F_SQ] == 1 && has[F_SKV] && v[F_SKV] > 1;
    if (!decode && has[F_SKV] && v[F_SKV] != v[F_SQ])
        return err_set(e, path, line, COL(F_SKV), "a prefill step row (sq > 1) starts from an "
                       "empty cache: skv must be empty or sq (chunked prefill is not modelled)");
    if (has[F_M] != has[F_N])
        return err_set(e, path, line, COL(has[F_M] ? F_N : F_M), "a layer range needs both m "
                       "(first layer, from 0) and n (layers); both empty = the whole step");
    if (has[F_COUNT] && has[F_M])
        return err_set(e, path, line, COL(F_COUNT), "give the layers as m and n, or as count "
                       "(the first count layers), not both");
    struct meas_step *st = calloc(1, sizeof *st);
    OB_ASSERT(st);
    char mp[1024];
    if (catalog_resolve_in("models", path, f[F_NAME], mp, sizeof mp, e) ||
        model_load(mp, &st->m, e)) {
        const struct err inner = *e;
        free(st);
        return err_set(e, path, line, COL(F_NAME), "model '%s': %s", f[F_NAME], inner.msg);
    }
    st->sc = (struct scenario){.phase = decode ? PHASE_DECODE : PHASE_PREFILL,
                               .batch = v[F_B], .seq = decode ? 0 : v[F_SQ],
                               .context = decode ? v[F_SKV] - 1 : 0, .tp = 1};
    enum dtype dt;
    if (*f[F_DTYPE]) {
        if (dtype_parse(f[F_DTYPE], &dt)) {
            step_free(st);
            return err_set(e, path, line, COL(F_DTYPE), "unknown dtype '%s'", f[F_DTYPE]);
        }
        st->sc.has_dt_w = true, st->sc.dt_w = dt;
    }
    if (*f[F_KVDT]) {
        if (dtype_parse(f[F_KVDT], &dt)) {
            step_free(st);
            return err_set(e, path, line, COL(F_KVDT), "unknown kv_dtype '%s'", f[F_KVDT]);
        }
        st->sc.has_dt_kv = true, st->sc.dt_kv = dt;
    }
    const double layers = (double)st->m->layers;
    if (has[F_M] && !(v[F_N] >= 1 && floor(v[F_M]) == v[F_M] && floor(v[F_N]) == v[F_N] &&
                      v[F_M] + v[F_N] <= layers)) {
        step_free(st);
        return err_set(e, path, line, COL(F_N), "layers m = %g .. m + n = %g outside the "
                       "model's %.0f layers", v[F_M], v[F_M] + v[F_N], layers);
    }
    if (has[F_COUNT] && !(v[F_COUNT] >= 1 && v[F_COUNT] <= layers && floor(v[F_COUNT]) == v[F_COUNT])) {
        step_free(st);
        return err_set(e, path, line, COL(F_COUNT), "count %g: the first count layers of "
                       "the model's %.0f", v[F_COUNT], layers);
    }
    st->first = has[F_M] ? (int)v[F_M] : 0;
    st->count = has[F_M] ? (int)v[F_N] : has[F_COUNT] ? (int)v[F_COUNT] : 0;
    st->launch = r->launch_eager ? LAUNCH_EAGER : LAUNCH_GRAPH;
    r->step = st;
    return 0;
#undef COL
}

/* The first attention field the cost model's builder would refuse (so that it
 * never asserts on input), or -1 when the shape is valid. */
static int attention_bad_field(const double *v)
{
    static const int positive[] = {F_B, F_HQ, F_DQK, F_DV, F_SQ, F_SKV, F_PAIRS, F_KVW};
    for (size_t i = 0; i < sizeof positive / sizeof *positive; i++)
        if (!(v[positive[i]] > 0)) return positive[i];
    if (!(v[F_SKV] >= v[F_SQ])) return F_SKV;
    if (!(v[F_PAIRS] <= v[F_SQ] * v[F_SKV])) return F_PAIRS;
    return -1;
}

/* Builds one op of the given kind from a shape; -1 if the cost model's
 * builders would refuse it. */
static int build_attention(enum dtype dt, enum dtype kv, const double *v, struct op *out)
{
    const double b = v[F_B], hq = v[F_HQ], dqk = v[F_DQK], dv = v[F_DV], sq = v[F_SQ],
                 skv = v[F_SKV], pairs = v[F_PAIRS], kvw = v[F_KVW];
    if (attention_bad_field(v) >= 0) return -1;
    struct graph g;
    OB_ASSERT(graph_init(&g, 1) == 0);
    g.dt_w = g.dt_act = dt;
    g.dt_kv = kv;
    g.block = BLK_ATTN;
    struct attn_shape s = {.b = b, .hq = hq, .dqk = dqk, .dv = dv, .sq = sq, .skv = skv,
                           .pairs = pairs, .kv_width = kvw, .kv_cached = true};
    *out = *op_attention(&g, "measured", &s);
    graph_free(&g);
    return 0;
}

static int build_gemm(enum dtype dt, double count, double m, double n, double k, struct op *out)
{
    if (!(count >= 1 && m > 0 && n > 0 && k > 0)) return -1;
    struct graph g;
    OB_ASSERT(graph_init(&g, 1) == 0);
    g.dt_w = g.dt_act = g.dt_kv = dt;
    *out = count == 1 ? *op_gemm(&g, "measured", m, n, k, false)
                      : *op_batched_gemm(&g, "measured", count, m, n, k, false);
    graph_free(&g);
    return 0;
}

/* Pointwise kinds (elementwise, copy, norm, softmax) over rows m x cols n.
 * elementwise: count inputs (default 1), k FLOPs per element (default 1);
 * copy: one input, no FLOPs; norm: k FLOPs per element (default 4: square,
 * sum, scale, weight), n weights; softmax: FLOPS_SOFTMAX per element. The
 * output is written in kv_dtype when it differs from dtype (a cast). */
static int build_pointwise(enum pw_kind pk, enum dtype dt, enum dtype out, const double *v,
                           const bool *has, struct op *out_op)
{
    const double rows = v[F_M], cols = v[F_N];
    if (!(rows > 0 && cols > 0)) return -1;
    struct graph g;
    OB_ASSERT(graph_init(&g, 1) == 0);
    g.dt_w = g.dt_act = dt;
    g.dt_kv = out;
    switch (pk) {
    case PW_ELEMENTWISE:
        *out_op = *op_elementwise(&g, "measured", rows, cols, has[F_COUNT] ? v[F_COUNT] : 1,
                                  has[F_K] ? v[F_K] : 1, out != dt);
        break;
    case PW_COPY: *out_op = *op_elementwise(&g, "measured", rows, cols, 1, 0, out != dt); break;
    case PW_NORM:
        *out_op = *op_norm(&g, "measured", rows, cols, cols, has[F_K] ? v[F_K] : 4);
        break;
    case PW_SOFTMAX: *out_op = *op_softmax(&g, "measured", rows, cols); break;
    }
    graph_free(&g);
    return 0;
}

static double total_bytes(const struct op_cost *c)
{
    return c->bytes_w + c->bytes_act + c->bytes_kv + c->bytes_out;
}

static void fill(const struct op *op, struct opcost *out)
{
    out->flops_mm = op->cost.flops_mm;
    out->flops_vec = op->cost.flops_vec;
    out->bytes = total_bytes(&op->cost);
}

int opcost_attention(const char *dtype, const char *kv_dtype, double b, double hq, double dqk,
                     double dv, double sq, double skv, double pairs, double kv_width,
                     struct opcost *out)
{
    enum dtype dt, kv;
    if (dtype_parse(dtype, &dt) || dtype_parse(kv_dtype, &kv)) return -1;
    double v[F_NFIELDS] = {0};
    v[F_B] = b, v[F_HQ] = hq, v[F_DQK] = dqk, v[F_DV] = dv, v[F_SQ] = sq, v[F_SKV] = skv;
    v[F_PAIRS] = pairs, v[F_KVW] = kv_width;
    struct op op;
    if (build_attention(dt, kv, v, &op)) return -1;
    fill(&op, out);
    return 0;
}

int opcost_gemm(const char *dtype, double count, double m, double n, double k,
                struct opcost *out)
{
    enum dtype dt;
    struct op op;
    if (dtype_parse(dtype, &dt) || build_gemm(dt, count, m, n, k, &op)) return -1;
    fill(&op, out);
    return 0;
}

static const char *const FIELD_NAMES[F_NFIELDS] = {
    "kind", "class", "name", "dtype", "kv_dtype", "b", "hq", "dqk", "dv", "sq", "skv",
    "pairs", "kv_width", "count", "m", "n", "k", "flops", "bytes", "median_s", "min_s", "impl"};

/* Splits line (modified in place) at commas; returns the field count, or
 * max + 1 when there are more, with f[max] at the first extra field. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) {
            f[max] = p;
            return max + 1;
        }
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
}

static bool ident_ok(const char *s, size_t max)
{
    if (!*s || strlen(s) >= max) return false;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || *s == '.' || *s == '+' || (*s >= '0' && *s <= '9') ||
              (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

/* Sizes bounded by MEAS_MAX_DIM (pairs is bounded by sq x skv instead). */
static bool is_dim(int i) { return i >= F_B && i <= F_K && i != F_PAIRS; }

/* Parses one data row into r; buf is the start of the line, so that field i
 * sits at column f[i] - buf + 1. Returns 0 or -1 with e set. */
static int parse_row(const char *path, int line, const char *buf, char **f, bool need_times,
                     struct meas_row *row, struct meas_row *prev, struct meas_row *scratch,
                     struct err *e)
{
    const bool cont = f[F_KIND][0] == '+';
#define COL(i) ((int)(f[i] - buf) + 1)
    double v[F_NFIELDS] = {0};
    bool has[F_NFIELDS] = {0};
    for (int i = F_B; i < F_IMPL; i++) {
        if (!*f[i]) continue;
        char *end;
        errno = 0;
        v[i] = strtod(f[i], &end);
        if (*end || errno || !isfinite(v[i]) || v[i] < 0)
            return err_set(e, path, line, COL(i), "%s must be a finite number >= 0, got '%s'",
                           FIELD_NAMES[i], f[i]);
        if (is_dim(i) && v[i] > MEAS_MAX_DIM)
            return err_set(e, path, line, COL(i), "%s %s is out of range: a size must be at "
                           "most 2^31 (%.0f)", FIELD_NAMES[i], f[i], MEAS_MAX_DIM);
        /* a time, when given, is one (0 is not: found by tests/fuzz/fuzz_meas.c) */
        if ((i == F_MEDIAN || i == F_MIN) &&
            !(v[i] >= MEAS_MIN_TIME_S && v[i] <= MEAS_MAX_TIME_S))
            return err_set(e, path, line, COL(i), "%s %s is not a kernel time: it must lie "
                           "between %g and %g seconds", FIELD_NAMES[i], f[i], MEAS_MIN_TIME_S,
                           MEAS_MAX_TIME_S);
        has[i] = true;
    }
    struct meas_row *r = cont ? scratch : row;
    memset(r, 0, sizeof *r);
    r->line = line;
    if (!ident_ok(f[F_CLASS], sizeof r->cls))
        return err_set(e, path, line, COL(F_CLASS), "class must be a name of letters, digits, "
                       "_ - . + (under 48 characters), got '%s'", f[F_CLASS]);
    if (!ident_ok(f[F_NAME], sizeof r->name))
        return err_set(e, path, line, COL(F_NAME), "name must be a name of letters, digits, "
                       "_ - . + (under 64 characters), got '%s'", f[F_NAME]);
    snprintf(r->cls, sizeof r->cls, "%s", f[F_CLASS]);
    snprintf(r->name, sizeof r->name, "%s", f[F_NAME]);
    const char *kind = f[F_KIND] + (cont ? 1 : 0);
    const bool launch = strcmp(kind, "launch") == 0, step = strcmp(kind, "step") == 0;
    /* impl: an op implementation (sim/core/graph.h), or graph/eager for launch rows */
    r->impl = IMPL_DEFAULT;
    r->launch_eager = 1; /* a launch row without impl: the eager per-kernel overhead */
    if (f[F_IMPL] && *f[F_IMPL]) {
        if (launch || step) {
            if (strcmp(f[F_IMPL], "graph") == 0) r->launch_eager = 0;
            else if (strcmp(f[F_IMPL], "eager") == 0) r->launch_eager = 1;
            else
                return err_set(e, path, line, COL(F_IMPL), "impl of a %s row must be graph "
                               "or eager, got '%s'", kind, f[F_IMPL]);
        } else if ((r->impl = op_impl_parse(f[F_IMPL])) == IMPL_COUNT) {
            return err_set(e, path, line, COL(F_IMPL), "unknown impl '%s' (" OP_IMPL_LIST ")",
                           f[F_IMPL]);
        }
    }
    if (cont) {
        if (!prev || prev->launch)
            return err_set(e, path, line, COL(F_KIND), "a '+' row continues the op list of the "
                           "timed row before it, and there is none");
        if (has[F_MEDIAN] || has[F_MIN])
            return err_set(e, path, line, COL(has[F_MEDIAN] ? F_MEDIAN : F_MIN), "a '+' row "
                           "carries no time: the row it continues times all its ops together");
        if (strcmp(r->cls, prev->cls) != 0)
            return err_set(e, path, line, COL(F_CLASS), "a '+' row must have the class of the "
                           "row it continues ('%s')", prev->cls);
        if (prev->nmore == MEAS_MAX_PARTS - 1)
            return err_set(e, path, line, COL(F_KIND), "more than %d ops in one timed row",
                           MEAS_MAX_PARTS);
        if (launch || step)
            return err_set(e, path, line, COL(F_KIND), "a %s row cannot continue an op list",
                           kind);
    }
    r->timed = has[F_MEDIAN];
    r->median_s = v[F_MEDIAN];
    r->min_s = has[F_MIN] ? v[F_MIN] : v[F_MEDIAN];
    if (!cont && need_times && !(has[F_MEDIAN] && v[F_MEDIAN] > 0))
        return err_set(e, path, line, COL(F_MEDIAN), "median_s must be a time > 0 in seconds");
    if (has[F_MIN] && has[F_MEDIAN] && v[F_MIN] > v[F_MEDIAN])
        return err_set(e, path, line, COL(F_MIN), "min_s %g is larger than median_s %g",
                       v[F_MIN], v[F_MEDIAN]);
    if (launch) {
        r->launch = true;
        return 0;
    }
    if (step) {
        if (cont) return err_set(e, path, line, COL(F_KIND), "a step row cannot continue an op list");
        return parse_step(path, line, buf, f, v, has, r, e);
    }
    enum dtype dt, kv;
    if (dtype_parse(f[F_DTYPE], &dt))
        return err_set(e, path, line, COL(F_DTYPE), "unknown dtype '%s' (fp32, bf16, fp16, fp8, "
                       "int8, int4)", f[F_DTYPE]);
    kv = dt;
    if (*f[F_KVDT] && dtype_parse(f[F_KVDT], &kv))
        return err_set(e, path, line, COL(F_KVDT), "unknown kv_dtype '%s'", f[F_KVDT]);
    const double count = has[F_COUNT] ? v[F_COUNT] : 1;
    static const char *const PW[] = {"elementwise", "copy", "norm", "softmax"};
    int pw = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(kind, PW[i]) == 0) pw = i;
    if (strcmp(kind, "attention") == 0) {
        const int bad = attention_bad_field(v);
        if (bad >= 0 || build_attention(dt, kv, v, &r->op))
            return err_set(e, path, line, COL(bad >= 0 ? bad : F_KIND),
                           "attention needs b, hq, dqk, dv, sq, kv_width, pairs > 0, skv >= sq "
                           "and pairs <= sq*skv (%s)", FIELD_NAMES[bad >= 0 ? bad : F_KIND]);
    } else if (strcmp(kind, "gemm") == 0 || strcmp(kind, "batched_gemm") == 0) {
        const bool batched = kind[0] == 'b';
        if (batched ? count < 1 : count != 1)
            return err_set(e, path, line, COL(F_COUNT), "%s needs count %s", kind,
                           batched ? ">= 1" : "= 1 (or empty)");
        if (floor(count) != count)
            return err_set(e, path, line, COL(F_COUNT), "%s needs a whole count", kind);
        const int bad = !(v[F_M] > 0) ? F_M : !(v[F_N] > 0) ? F_N : !(v[F_K] > 0) ? F_K : -1;
        if (bad >= 0 || build_gemm(dt, count, v[F_M], v[F_N], v[F_K], &r->op))
            return err_set(e, path, line, COL(bad >= 0 ? bad : F_KIND), "%s needs m, n, k > 0",
                           kind);
        if (batched && count == 1) r->op.kind = OP_BATCHED_GEMM;
    } else if (pw >= 0) {
        const int bad = !(v[F_M] > 0) ? F_M : !(v[F_N] > 0) ? F_N : -1;
        if (bad >= 0)
            return err_set(e, path, line, COL(bad), "%s needs m (rows) and n (cols) > 0", kind);
        if ((pw == PW_NORM || pw == PW_SOFTMAX) && kv != dt)
            return err_set(e, path, line, COL(F_KVDT), "%s reads and writes dtype: kv_dtype "
                           "must be empty or '%s'", kind, f[F_DTYPE]);
        if (pw == PW_ELEMENTWISE && has[F_COUNT] && (floor(count) != count || count > 64))
            return err_set(e, path, line, COL(F_COUNT), "elementwise count (inputs read) must "
                           "be a whole number from 0 to 64");
        if (has[F_K] && v[F_K] > 1e6)
            return err_set(e, path, line, COL(F_K), "k (FLOPs per element) must be at most 1e6");
        OB_ASSERT(build_pointwise((enum pw_kind)pw, dt, kv, v, has, &r->op) == 0);
    } else {
        return err_set(e, path, line, COL(F_KIND), "unknown kind '%s' (attention, gemm, "
                       "batched_gemm, elementwise, copy, norm, softmax, launch, step; '+KIND' "
                       "continues the row before)", f[F_KIND]);
    }
    r->op.impl = r->impl;
    const double flops = r->op.cost.flops_mm + r->op.cost.flops_vec;
    const double bytes = total_bytes(&r->op.cost);
    if (has[F_FLOPS] && fabs(v[F_FLOPS] - flops) > 1e-9 * flops)
        return err_set(e, path, line, COL(F_FLOPS), "flops %.17g disagrees with the cost "
                       "model's %.17g for this shape", v[F_FLOPS], flops);
    if (has[F_BYTES] && fabs(v[F_BYTES] - bytes) > 1e-9 * bytes)
        return err_set(e, path, line, COL(F_BYTES), "bytes %.17g disagrees with the cost "
                       "model's %.17g for this shape", v[F_BYTES], bytes);
    if (cont) prev->more[prev->nmore++] = r->op;
    return 0;
#undef COL
}

int meas_load(const char *path, bool need_times, struct meas_file *m, struct err *e)
{
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    FILE *fp = fopen(path, "r");
    if (!fp) return err_set(e, path, 0, 0, "cannot open: %s", strerror(errno));
    char buf[4096];
    int line = 0, cap = 0, nfields = 0;
    bool header = false;
    struct meas_row *scratch = malloc(sizeof *scratch);
    OB_ASSERT(scratch);
    while (fgets(buf, sizeof buf, fp)) {
        line++;
        if (!strchr(buf, '\n') && !feof(fp)) {
            err_set(e, path, line, (int)sizeof buf - 1, "line longer than %d characters",
                    (int)sizeof buf - 2);
            goto fail;
        }
        trim(buf);
        if (buf[0] == '#') {
            if (strncmp(buf, "# device:", 9) == 0)
                snprintf(m->device, sizeof m->device, "%s", buf + 9 + (buf[9] == ' '));
            continue;
        }
        if (!buf[0]) continue;
        if (!header) {
            if (strcmp(buf, MEAS_HEADER) == 0) {
                nfields = F_NFIELDS_V1;
            } else if (strcmp(buf, MEAS_HEADER_IMPL) == 0) {
                nfields = F_NFIELDS;
            } else {
                int col = 1; /* the first character that differs */
                while (buf[col - 1] && buf[col - 1] == MEAS_HEADER_IMPL[col - 1]) col++;
                err_set(e, path, line, col, "expected the header row '%s' (or without "
                        "',impl')", MEAS_HEADER_IMPL);
                goto fail;
            }
            header = true;
            continue;
        }
        char *f[F_NFIELDS + 1];
        const int len = (int)strlen(buf);
        int nf = split(buf, f, nfields);
        if (nf != nfields) {
            /* too many: at the first extra field; too few: just past the end */
            err_set(e, path, line, nf > nfields ? (int)(f[nfields] - buf) + 1 : len + 1,
                    "expected %d comma-separated fields, got %s%d", nfields,
                    nf > nfields ? "more than " : "", nf > nfields ? nfields : nf);
            goto fail;
        }
        if (nfields == F_NFIELDS_V1) f[F_IMPL] = NULL;
        if (f[F_KIND][0] == '+') {
            if (parse_row(path, line, buf, f, need_times, NULL, m->n ? &m->rows[m->n - 1] : NULL,
                          scratch, e))
                goto fail;
            continue;
        }
        if (m->n == MEAS_MAX_ROWS) {
            err_set(e, path, line, 1, "more than %d measurement rows", MEAS_MAX_ROWS);
            goto fail;
        }
        if (m->n == cap) {
            cap = cap ? 2 * cap : 64;
            struct meas_row *nr = realloc(m->rows, (size_t)cap * sizeof *nr);
            OB_ASSERT(nr);
            m->rows = nr;
        }
        if (parse_row(path, line, buf, f, need_times, &m->rows[m->n], NULL, scratch, e))
            goto fail;
        m->n++;
    }
    if (ferror(fp)) {
        err_set(e, path, line, 0, "read error");
        goto fail;
    }
    fclose(fp);
    free(scratch);
    if (!header) {
        meas_free(m);
        return err_set(e, path, line ? line : 1, 1, "no header row '%s'", MEAS_HEADER);
    }
    if (m->n == 0) {
        meas_free(m);
        return err_set(e, path, line ? line : 1, 1, "no measurement rows");
    }
    return 0;
fail:
    fclose(fp);
    free(scratch);
    meas_free(m);
    return -1;
}

void meas_free(struct meas_file *m)
{
    if (!m) return;
    for (int i = 0; i < m->n; i++) step_free(m->rows[i].step);
    free(m->rows);
    m->rows = NULL;
    m->n = 0;
}
