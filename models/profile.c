/* profile.c - implementation profiles: loading, --impl choices and lowering
 * one role site; see profile.h and docs/profiles.md.
 *
 * A file is read through key tables (PROFILE_KEYS, VARIANT_KEYS,
 * KERNEL_KEYS, TENSOR_KEYS), so its errors carry FILE:LINE:COL and
 * docs/schema.md documents it. Element counts and FLOPs are small arithmetic
 * expressions ("T*h", "B*H*S*L", "(H+Hkv)*D/2") over the role's shape
 * symbols, compiled once at load time into postfix form; an unknown symbol,
 * or one the role does not provide, is an error at its column. */
#include "profile.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/core/dtype.h"
#include "../sim/core/yml.h"

/* ---- roles and symbols ---- */

#define BIT(s) (1u << (s))
#define COMMON_SYMS                                                                            \
    (BIT(SYM_T) | BIT(SYM_B) | BIT(SYM_S) | BIT(SYM_P) | BIT(SYM_L) | BIT(SYM_HID) | BIT(SYM_TP))

static const struct {
    const char *name;
    unsigned syms; /* symbols the role provides besides COMMON_SYMS */
} ROLES[ROLE_COUNT] = {
    [ROLE_NORM] = {"norm", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_PARAMS)},
    [ROLE_QK_NORM] = {"qk_norm", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_PARAMS) | BIT(SYM_H) |
                                     BIT(SYM_HKV) | BIT(SYM_D)},
    [ROLE_RESIDUAL] = {"residual", BIT(SYM_ROWS) | BIT(SYM_COLS)},
    [ROLE_ROPE] = {"rope", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_H) | BIT(SYM_HKV) | BIT(SYM_D)},
    [ROLE_QKV_PROJ] = {"qkv_proj", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_H) | BIT(SYM_HKV) |
                                       BIT(SYM_D)},
    [ROLE_KV_WRITE] = {"kv_write", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_HKV) | BIT(SYM_D)},
    [ROLE_ATTENTION] = {"attention", BIT(SYM_H) | BIT(SYM_HKV) | BIT(SYM_D) | BIT(SYM_DV) |
                                         BIT(SYM_PAIRS)},
    [ROLE_GATE_UP_PROJ] = {"gate_up_proj", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_I)},
    [ROLE_SILU_MUL] = {"silu_mul", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_I)},
    [ROLE_GELU_MUL] = {"gelu_mul", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_I)},
    [ROLE_GELU] = {"gelu", BIT(SYM_ROWS) | BIT(SYM_COLS) | BIT(SYM_I)},
};
_Static_assert(sizeof ROLES / sizeof ROLES[0] == ROLE_COUNT, "ROLES out of date");

static const char *const SYM_NAMES[SYM_COUNT] = {
    [SYM_T] = "T",         [SYM_B] = "B",       [SYM_S] = "S",     [SYM_P] = "P",
    [SYM_L] = "L",         [SYM_HID] = "h",     [SYM_TP] = "tp",   [SYM_ROWS] = "rows",
    [SYM_COLS] = "cols",   [SYM_PARAMS] = "params", [SYM_H] = "H", [SYM_HKV] = "Hkv",
    [SYM_D] = "D",         [SYM_DV] = "Dv",     [SYM_PAIRS] = "pairs", [SYM_I] = "I",
};
_Static_assert(sizeof SYM_NAMES / sizeof SYM_NAMES[0] == SYM_COUNT, "SYM_NAMES out of date");

const char *prof_role_name(enum prof_role r) { return ROLES[r].name; }

enum prof_role prof_role_parse(const char *s)
{
    for (int r = 0; r < ROLE_COUNT; r++)
        if (strcmp(ROLES[r].name, s) == 0) return (enum prof_role)r;
    return ROLE_COUNT;
}

/* ---- expressions ---- */

#define EXPR_MAX 48

struct expr {
    int n;
    struct {
        char op; /* 'n' number, 's' symbol, '+', '-', '*', '/', '~' negate, 'm' min, 'M' max */
        unsigned char sym;
        double v;
    } t[EXPR_MAX];
};

struct parser {
    const char *s, *p;
    unsigned allowed;
    struct expr *x;
    const char *err; /* static message or NULL */
    char errbuf[160];
    const char *err_at;
};

static void skip_ws(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t') ps->p++;
}

static int emit(struct parser *ps, char op, unsigned char sym, double v)
{
    if (ps->x->n == EXPR_MAX) { /* the whole expression is at fault: point at its start */
        ps->err = "expression too long";
        ps->err_at = ps->s;
        return -1;
    }
    ps->x->t[ps->x->n].op = op;
    ps->x->t[ps->x->n].sym = sym;
    ps->x->t[ps->x->n].v = v;
    ps->x->n++;
    return 0;
}

static int parse_sum(struct parser *ps);

static int parse_atom(struct parser *ps)
{
    skip_ws(ps);
    const char *at = ps->p;
    if (*ps->p == '(') {
        ps->p++;
        if (parse_sum(ps)) return -1;
        skip_ws(ps);
        if (*ps->p != ')') {
            ps->err = "expected ')'";
            ps->err_at = ps->p;
            return -1;
        }
        ps->p++;
        return 0;
    }
    if (*ps->p == '-') {
        ps->p++;
        if (parse_atom(ps)) return -1;
        return emit(ps, '~', 0, 0);
    }
    if (isdigit((unsigned char)*ps->p) || *ps->p == '.') {
        char *end;
        double v = strtod(ps->p, &end);
        if (end == ps->p || !isfinite(v)) {
            ps->err = "bad number";
            ps->err_at = at;
            return -1;
        }
        ps->p = end;
        return emit(ps, 'n', 0, v);
    }
    if (isalpha((unsigned char)*ps->p) || *ps->p == '_') {
        const char *b = ps->p;
        while (isalnum((unsigned char)*ps->p) || *ps->p == '_') ps->p++;
        const size_t len = (size_t)(ps->p - b);
        const char *q = ps->p;
        while (*q == ' ' || *q == '\t') q++;
        if (*q == '(' && len == 3 && (!strncmp(b, "min", 3) || !strncmp(b, "max", 3))) {
            ps->p = q + 1; /* min(a, b), max(a, b) */
            if (parse_sum(ps)) return -1;
            skip_ws(ps);
            if (*ps->p != ',') {
                ps->err = "expected ',' (min and max take two arguments)";
                ps->err_at = ps->p;
                return -1;
            }
            ps->p++;
            if (parse_sum(ps)) return -1;
            skip_ws(ps);
            if (*ps->p != ')') {
                ps->err = "expected ')'";
                ps->err_at = ps->p;
                return -1;
            }
            ps->p++;
            return emit(ps, b[1] == 'i' ? 'm' : 'M', 0, 0);
        }
        for (int i = 0; i < SYM_COUNT; i++) {
            if (strlen(SYM_NAMES[i]) != len || strncmp(SYM_NAMES[i], b, len) != 0) continue;
            if (!(ps->allowed & BIT(i))) {
                snprintf(ps->errbuf, sizeof ps->errbuf,
                         "symbol '%s' is not defined for this role", SYM_NAMES[i]);
                ps->err = ps->errbuf;
                ps->err_at = b;
                return -1;
            }
            return emit(ps, 's', (unsigned char)i, 0);
        }
        snprintf(ps->errbuf, sizeof ps->errbuf, "unknown symbol '%.*s'", (int)(len > 40 ? 40 : len),
                 b);
        ps->err = ps->errbuf;
        ps->err_at = b;
        return -1;
    }
    ps->err = *ps->p ? "expected a number, a symbol or '('" : "expression ends early";
    ps->err_at = at;
    return -1;
}

static int parse_product(struct parser *ps)
{
    if (parse_atom(ps)) return -1;
    for (;;) {
        skip_ws(ps);
        const char c = *ps->p;
        if (c != '*' && c != '/') return 0;
        ps->p++;
        if (parse_atom(ps) || emit(ps, c, 0, 0)) return -1;
    }
}

static int parse_sum(struct parser *ps)
{
    if (parse_product(ps)) return -1;
    for (;;) {
        skip_ws(ps);
        const char c = *ps->p;
        if (c != '+' && c != '-') return 0;
        ps->p++;
        if (parse_product(ps) || emit(ps, c, 0, 0)) return -1;
    }
}

/* Compiles the scalar at node n into x; symbols outside `allowed` fail. */
static int expr_compile(const struct yml_doc *d, yml_node n, const char *key, unsigned allowed,
                        struct expr *x, struct err *e)
{
    const char *s = yml_scalar(d, n);
    if (!s) return yml_fail(d, n, e, "'%s' must be an expression such as T*h", key);
    struct parser ps = {.s = s, .p = s, .allowed = allowed, .x = x};
    x->n = 0;
    int rc = parse_sum(&ps);
    if (!rc) {
        skip_ws(&ps);
        if (*ps.p) {
            ps.err = "unexpected character";
            ps.err_at = ps.p;
            rc = -1;
        }
    }
    if (!rc) return 0;
    int line, col;
    yml_mark(d, n, &line, &col);
    /* plain scalars start at the node's column; quoted ones one later */
    const int off = (int)(ps.err_at - s) + (yml_is_quoted(d, n) ? 1 : 0);
    return err_set(e, yml_file(d), line, col + off, "'%s': %s in '%s'", key, ps.err, s);
}

static double expr_eval_raw(const struct expr *x, const double *vars)
{
    double st[EXPR_MAX];
    int sp = 0;
    for (int i = 0; i < x->n; i++) {
        const char op = x->t[i].op;
        if (op == 'n') {
            st[sp++] = x->t[i].v;
        } else if (op == 's') {
            st[sp++] = vars[x->t[i].sym];
        } else if (op == '~') {
            st[sp - 1] = -st[sp - 1];
        } else {
            const double b = st[--sp], a = st[sp - 1];
            st[sp - 1] = op == '+'   ? a + b
                         : op == '-' ? a - b
                         : op == '*' ? a * b
                         : op == '/' ? a / b
                         : op == 'm' ? fmin(a, b)
                                     : fmax(a, b);
        }
    }
    OB_ASSERT(sp == 1);
    return st[0];
}

/* A count: negative or not finite (a division by zero) reads as 0, so a
 * kernel whose counts vanish is not launched (docs/profiles.md). */
static double expr_eval(const struct expr *x, const double *vars)
{
    const double v = expr_eval_raw(x, vars);
    return isfinite(v) && v > 0 ? v : 0;
}

static void expr_const(struct expr *x, double v)
{
    x->n = 1;
    x->t[0].op = 'n';
    x->t[0].v = v;
}

/* ---- the profile in memory ---- */

enum kern_kind { KK_ELEMENTWISE, KK_COPY, KK_NORM, KK_SOFTMAX, KK_GEMM, KK_BATCHED_GEMM,
                 KK_DEFAULT, KK_COUNT };
static const char *const KK_NAMES[] = {"elementwise", "copy", "norm", "softmax", "gemm",
                                       "batched_gemm", "default", NULL};
_Static_assert(sizeof KK_NAMES / sizeof KK_NAMES[0] == KK_COUNT + 1, "KK_NAMES out of date");

/* `dtype:` of a tensor: the step's activation, weight or KV dtype, or fixed. */
enum dt_ref { DT_ACT, DT_W, DT_KV, DT_FIXED };
enum tensor_as { AS_ACT, AS_WEIGHTS, AS_KV, AS_COUNT };
static const char *const AS_NAMES[] = {"act", "weights", "kv", NULL};

#define TENSORS_MAX 6

struct tensor {
    struct expr elems;
    enum dt_ref dt;
    enum dtype fixed;
    int as; /* enum tensor_as */
};

struct kernel {
    char name[32];
    int kind; /* enum kern_kind */
    enum op_impl impl; /* IMPL_DEFAULT: the variant's */
    struct tensor reads[TENSORS_MAX], writes[TENSORS_MAX];
    int n_reads, n_writes;
    struct expr flops, count, m, n, k;
    struct expr rows; /* softmax: rows (one CTA each); not given: 0 */
};

struct variant {
    enum op_impl impl;
    bool none;     /* `kernels: []`: the role launches nothing (fused into another role) */
    int n_kernels; /* 0 (and not none): the role's default op */
    struct kernel *kernels;
};

#define VARIANTS_MAX 8

struct role_entry {
    int n_variants; /* 0: the profile leaves the role alone */
    struct variant variants[VARIANTS_MAX];
    int chosen;            /* variant index; -1 with forced_impl: the default op */
    enum op_impl forced_impl;
};

struct profile {
    char name[64];
    char summary[256];
    char source[512];
    char file[512];
    int launch; /* -1 not given, 0 graph, 1 eager (LAUNCH_NAMES) */
    enum op_impl kind_impl[OP_COUNT];
    struct role_entry roles[ROLE_COUNT];
};

/* ---- key tables ---- */

struct top_cfg {
    char name[64], summary[256], source[512];
    int launch;
};
static const char *const LAUNCH_NAMES[] = {"graph", "eager", NULL};

#define TOFF(f) offsetof(struct top_cfg, f)
static const struct key_spec PROFILE_KEYS[] = {
    {"name", KEY_STR, TOFF(name), 0, 64, 1, NULL, "", "profile name shown in output headers"},
    {"summary", KEY_STR, TOFF(summary), 0, 256, 1, NULL, "", "one line: what code this describes"},
    {"source", KEY_STR, TOFF(source), 0, 512, 0, NULL, "",
     "where the decomposition comes from (file, version)"},
    {"launch", KEY_ENUM, TOFF(launch), 0, 0, 0, LAUNCH_NAMES, "",
     "graph (CUDA-graph replay) or eager kernel launches the code uses (informational "
     "until the device model reads it)"},
    {"impl", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "op kind -> implementation for ops no role rewrites (gemm: cublas, attention: fa2, ...)"},
    {"roles", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "role -> one variant (mapping) or a list of variants, the first the default"},
};

struct variant_cfg {
    char impl[32], note[256];
};
#define VOFF(f) offsetof(struct variant_cfg, f)
static const struct key_spec VARIANT_KEYS[] = {
    {"impl", KEY_STR, VOFF(impl), 0, 32, 1, NULL, "",
     "implementation: " OP_IMPL_LIST},
    {"kernels", KEY_SEQ, 0, 0, 0, 0, NULL, "",
     "kernels launched, in order (absent: the role's default op, tagged with impl; []: "
     "none, the work is done in another role's kernel)"},
    {"note", KEY_STR, VOFF(note), 0, 256, 0, NULL, "", "free text (the source lines described)"},
};

struct kernel_cfg {
    char name[32], impl[32], note[256];
    char flops[128], count[128], m[128], n[128], k[128], rows[128]; /* compiled by read_expr_key */
    int kind;
};
#define KOFF(f) offsetof(struct kernel_cfg, f)
static const struct key_spec KERNEL_KEYS[] = {
    {"name", KEY_STR, KOFF(name), 0, 32, 1, NULL, "", "kernel name; the op is named SITE.NAME"},
    {"kind", KEY_ENUM, KOFF(kind), 0, 0, 1, KK_NAMES, "",
     "elementwise, copy (an elementwise op), norm, softmax, gemm, batched_gemm, or default "
     "(the role's own op, e.g. the fused attention core)"},
    {"impl", KEY_STR, KOFF(impl), 0, 32, 0, NULL, "", "implementation of this kernel (default: the variant's)"},
    {"reads", KEY_SEQ, 0, 0, 0, 0, NULL, "", "tensors read: list of {elems, dtype, as}"},
    {"writes", KEY_SEQ, 0, 0, 0, 0, NULL, "", "tensors written: list of {elems, dtype, as}"},
    {"flops", KEY_STR, KOFF(flops), 0, 128, 0, NULL, "FLOPs",
     "vector FLOPs of the whole kernel, an expression (default 0)"},
    {"count", KEY_STR, KOFF(count), 0, 128, 0, NULL, "",
     "batched_gemm: instances, an expression (gemm: 1)"},
    {"m", KEY_STR, KOFF(m), 0, 128, 0, NULL, "", "gemm, batched_gemm: rows of A and C (required there)"},
    {"n", KEY_STR, KOFF(n), 0, 128, 0, NULL, "", "gemm, batched_gemm: columns of B and C (required there)"},
    {"k", KEY_STR, KOFF(k), 0, 128, 0, NULL, "", "gemm, batched_gemm: inner dimension (required there)"},
    {"rows", KEY_STR, KOFF(rows), 0, 128, 0, NULL, "",
     "softmax: rows it normalises, an expression (PyTorch runs one CTA per row when a row is "
     "longer than 1024: fewer rows than SMs leave SMs idle; default: not modelled)"},
    {"note", KEY_STR, KOFF(note), 0, 256, 0, NULL, "", "free text (the source line described)"},
};

struct tensor_cfg {
    char elems[128]; /* compiled by read_expr_key */
    char dtype[16];
    int as;
};
#define XOFF(f) offsetof(struct tensor_cfg, f)
static const struct key_spec TENSOR_KEYS[] = {
    {"elems", KEY_STR, XOFF(elems), 0, 128, 1, NULL, "elements", "elements, an expression over the role's symbols"},
    {"dtype", KEY_STR, XOFF(dtype), 0, 16, 1, NULL, "",
     "act, w or kv (the step's activation, weight, KV dtype) or a dtype (fp32, bf16, ...)"},
    {"as", KEY_ENUM, XOFF(as), 0, 0, 0, AS_NAMES, "",
     "which byte count it adds to: act (default), weights, kv"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Compiles expression key `key` of map (yml_map_read has checked it is a
 * short string); absent: the constant dflt. */
static int read_expr_key(const struct yml_doc *d, yml_node map, const char *key, unsigned allowed,
                         struct expr *x, double dflt, bool *present, struct err *e)
{
    yml_node v = yml_map_get(d, map, key);
    if (present) *present = v != 0;
    if (!v) {
        expr_const(x, dflt);
        return 0;
    }
    return expr_compile(d, v, key, allowed, x, e);
}

static int read_tensors(const struct yml_doc *d, yml_node seq, const char *what, unsigned allowed,
                        struct tensor *out, int *n, struct err *e)
{
    uint64_t present = 0;
    *n = 0;
    if (!seq) return 0;
    const int len = yml_seq_len(d, seq);
    if (len > TENSORS_MAX)
        return yml_fail(d, seq, e, "'%s': at most %d tensors", what, TENSORS_MAX);
    for (int i = 0; i < len; i++) {
        yml_node t = yml_seq_at(d, seq, i);
        if (yml_kind_of(d, t) != YML_MAP)
            return yml_fail(d, t, e, "'%s' entries must be mappings {elems, dtype, as}", what);
        struct tensor_cfg c = {0};
        if (yml_map_read(d, t, what, TENSOR_KEYS, N(TENSOR_KEYS), &c, &present, e)) return -1;
        struct tensor *x = &out[i];
        if (read_expr_key(d, t, "elems", allowed, &x->elems, 0, NULL, e)) return -1;
        x->as = c.as;
        if (strcmp(c.dtype, "act") == 0) x->dt = DT_ACT;
        else if (strcmp(c.dtype, "w") == 0) x->dt = DT_W;
        else if (strcmp(c.dtype, "kv") == 0) x->dt = DT_KV;
        else if (dtype_parse(c.dtype, &x->fixed) == 0) x->dt = DT_FIXED;
        else
            return yml_fail(d, yml_map_get(d, t, "dtype"), e,
                            "unknown dtype '%s' (act, w, kv, fp32, bf16, fp16, fp8, int8, int4)",
                            c.dtype);
        if (!strcmp(what, "writes") && x->as == AS_WEIGHTS)
            return yml_fail(d, yml_map_get(d, t, "as"), e, "a kernel does not write weights");
    }
    *n = len;
    return 0;
}

static int parse_impl(const struct yml_doc *d, yml_node at, const char *s, enum op_impl *out,
                      struct err *e)
{
    *out = op_impl_parse(s);
    if (*out == IMPL_COUNT)
        return yml_fail(d, at, e,
                        "unknown implementation '%s' (" OP_IMPL_LIST ")",
                        s);
    return 0;
}

static int read_kernel(const struct yml_doc *d, yml_node map, enum prof_role r, struct kernel *k,
                       struct err *e)
{
    uint64_t present = 0;
    if (yml_kind_of(d, map) != YML_MAP)
        return yml_fail(d, map, e, "a kernel must be a mapping with name and kind");
    struct kernel_cfg c = {0};
    if (yml_map_read(d, map, "kernel", KERNEL_KEYS, N(KERNEL_KEYS), &c, &present, e)) return -1;
    const unsigned allowed = COMMON_SYMS | ROLES[r].syms;
    memcpy(k->name, c.name, sizeof k->name);
    k->kind = c.kind;
    k->impl = IMPL_DEFAULT;
    if (c.impl[0] && parse_impl(d, yml_map_get(d, map, "impl"), c.impl, &k->impl, e)) return -1;
    if (read_tensors(d, yml_map_get(d, map, "reads"), "reads", allowed, k->reads, &k->n_reads, e) ||
        read_tensors(d, yml_map_get(d, map, "writes"), "writes", allowed, k->writes, &k->n_writes,
                     e))
        return -1;
    bool has_count, has_m, has_n, has_k, has_rows;
    if (read_expr_key(d, map, "flops", allowed, &k->flops, 0, NULL, e) ||
        read_expr_key(d, map, "count", allowed, &k->count, 1, &has_count, e) ||
        read_expr_key(d, map, "m", allowed, &k->m, 0, &has_m, e) ||
        read_expr_key(d, map, "n", allowed, &k->n, 0, &has_n, e) ||
        read_expr_key(d, map, "k", allowed, &k->k, 0, &has_k, e) ||
        read_expr_key(d, map, "rows", allowed, &k->rows, 0, &has_rows, e))
        return -1;
    if (has_rows && k->kind != KK_SOFTMAX)
        return yml_fail(d, yml_map_get(d, map, "rows"), e,
                        "kernel '%s': rows is for softmax kernels", k->name);
    const bool mm = k->kind == KK_GEMM || k->kind == KK_BATCHED_GEMM;
    if (mm && !(has_m && has_n && has_k))
        return yml_fail(d, map, e, "kernel '%s': a %s needs m, n and k", k->name, KK_NAMES[k->kind]);
    if (!mm && (has_m || has_n || has_k))
        return yml_fail(d, yml_map_get(d, map, has_m ? "m" : has_n ? "n" : "k"), e,
                        "kernel '%s': m, n, k are for gemm and batched_gemm kernels", k->name);
    if (has_count && k->kind != KK_BATCHED_GEMM)
        return yml_fail(d, yml_map_get(d, map, "count"), e,
                        "kernel '%s': count is for batched_gemm kernels", k->name);
    if (k->kind == KK_DEFAULT) {
        if (k->n_reads || k->n_writes || yml_map_get(d, map, "flops"))
            return yml_fail(d, map, e,
                            "kernel '%s': a default kernel is the role's own op; it takes no "
                            "reads, writes or flops",
                            k->name);
    } else if (k->n_writes == 0) {
        return yml_fail(d, map, e, "kernel '%s': missing 'writes' (what the kernel stores)",
                        k->name);
    }
    return 0;
}

static int read_variant(const struct yml_doc *d, yml_node map, enum prof_role r, struct variant *v,
                        struct err *e)
{
    uint64_t present = 0;
    if (yml_kind_of(d, map) != YML_MAP)
        return yml_fail(d, map, e, "a role variant must be a mapping with impl and kernels");
    struct variant_cfg c = {0};
    if (yml_map_read(d, map, "role variant", VARIANT_KEYS, N(VARIANT_KEYS), &c, &present, e))
        return -1;
    if (parse_impl(d, yml_map_get(d, map, "impl"), c.impl, &v->impl, e)) return -1;
    yml_node ks = yml_map_get(d, map, "kernels");
    const int n = ks ? yml_seq_len(d, ks) : 0;
    v->none = ks && n == 0;
    if (n > PROF_MAX_KERNELS)
        return yml_fail(d, ks, e, "at most %d kernels per variant", PROF_MAX_KERNELS);
    if (v->impl == IMPL_EAGER && n == 0 && !v->none)
        return yml_fail(d, map, e, "an eager variant must list its kernels");
    v->n_kernels = n;
    v->kernels = n ? calloc((size_t)n, sizeof *v->kernels) : NULL;
    if (n && !v->kernels) return err_set(e, yml_file(d), 0, 0, "out of memory");
    int defaults = 0;
    for (int i = 0; i < n; i++) {
        if (read_kernel(d, yml_seq_at(d, ks, i), r, &v->kernels[i], e)) return -1;
        defaults += v->kernels[i].kind == KK_DEFAULT;
    }
    if (defaults > 1) return yml_fail(d, ks, e, "at most one kernel of kind default per variant");
    return 0;
}

static int read_roles(const struct yml_doc *d, yml_node roles, struct profile *p, struct err *e)
{
    for (int i = 0; i < yml_map_len(d, roles); i++) {
        yml_node key = yml_map_key_at(d, roles, i);
        const char *name = yml_scalar(d, key);
        const enum prof_role r = name ? prof_role_parse(name) : ROLE_COUNT;
        if (r == ROLE_COUNT) {
            char list[256] = "";
            for (int j = 0; j < ROLE_COUNT; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                         ROLES[j].name);
            return yml_fail(d, key, e, "unknown role '%s' (roles: %s)", name ? name : "?", list);
        }
        struct role_entry *re = &p->roles[r];
        if (re->n_variants) return yml_fail(d, key, e, "duplicate role '%s'", name);
        yml_node v = yml_map_get(d, roles, name);
        if (yml_kind_of(d, v) == YML_SEQ) {
            const int n = yml_seq_len(d, v);
            if (n == 0 || n > VARIANTS_MAX)
                return yml_fail(d, v, e, "role '%s': 1 to %d variants", name, VARIANTS_MAX);
            for (int j = 0; j < n; j++) {
                if (read_variant(d, yml_seq_at(d, v, j), r, &re->variants[j], e)) return -1;
                re->n_variants = j + 1;
                for (int q = 0; q < j; q++)
                    if (re->variants[q].impl == re->variants[j].impl)
                        return yml_fail(d, yml_seq_at(d, v, j), e,
                                        "role '%s': two variants with impl %s", name,
                                        op_impl_name(re->variants[j].impl));
            }
        } else {
            if (read_variant(d, v, r, &re->variants[0], e)) return -1;
            re->n_variants = 1;
        }
        re->chosen = 0;
    }
    return 0;
}

static int read_kind_impl(const struct yml_doc *d, yml_node map, struct profile *p, struct err *e)
{
    for (int i = 0; i < yml_map_len(d, map); i++) {
        yml_node key = yml_map_key_at(d, map, i);
        const char *kn = yml_scalar(d, key);
        int kind = -1;
        for (int k = 0; kn && k < OP_COUNT; k++)
            if (strcmp(op_kind_name((enum op_kind)k), kn) == 0) kind = k;
        if (kind < 0) return yml_fail(d, key, e, "unknown op kind '%s'", kn ? kn : "?");
        yml_node v = yml_map_get(d, map, kn);
        const char *s = yml_scalar(d, v);
        if (!s) return yml_fail(d, v, e, "'%s' must be an implementation name", kn);
        if (parse_impl(d, v, s, &p->kind_impl[kind], e)) return -1;
    }
    return 0;
}

void profile_free(struct profile *p)
{
    if (!p) return;
    /* every slot: a variant that failed while being read is not counted in
     * n_variants but may own its kernels */
    for (int r = 0; r < ROLE_COUNT; r++)
        for (int v = 0; v < VARIANTS_MAX; v++) free(p->roles[r].variants[v].kernels);
    free(p);
}

static int profile_read(const struct yml_doc *d, struct profile **out, struct err *e)
{
    uint64_t present = 0;
    yml_node root = yml_root(d);
    if (yml_kind_of(d, root) != YML_MAP)
        return yml_fail(d, root, e, "a profile file must be a mapping (name, summary, roles)");
    struct profile *p = calloc(1, sizeof *p);
    if (!p) return err_set(e, yml_file(d), 0, 0, "out of memory");
    struct top_cfg c = {.launch = -1};
    if (yml_map_read(d, root, "profile", PROFILE_KEYS, N(PROFILE_KEYS), &c, &present, e)) goto fail;
    memcpy(p->name, c.name, sizeof p->name);
    memcpy(p->summary, c.summary, sizeof p->summary);
    memcpy(p->source, c.source, sizeof p->source);
    snprintf(p->file, sizeof p->file, "%s", yml_file(d));
    p->launch = c.launch;
    yml_node impl = yml_map_get(d, root, "impl"), roles = yml_map_get(d, root, "roles");
    if (impl && read_kind_impl(d, impl, p, e)) goto fail;
    if (roles && read_roles(d, roles, p, e)) goto fail;
    *out = p;
    return 0;
fail:
    profile_free(p);
    return -1;
}

int profile_load(const char *path, struct profile **out, struct err *e)
{
    struct yml_doc *d;
    if (yml_load(path, &d, e)) return -1;
    const int rc = profile_read(d, out, e);
    yml_free(d);
    return rc;
}

int profile_load_text(const char *name, const char *text, size_t len, struct profile **out,
                      struct err *e)
{
    struct yml_doc *d;
    if (yml_load_string(name, text, len, &d, e)) return -1;
    const int rc = profile_read(d, out, e);
    yml_free(d);
    return rc;
}

const char *profile_name(const struct profile *p) { return p ? p->name : "default"; }
const char *profile_file(const struct profile *p) { return p ? p->file : ""; }
const char *profile_summary(const struct profile *p) { return p ? p->summary : ""; }
const char *profile_launch(const struct profile *p)
{
    return p && p->launch >= 0 ? LAUNCH_NAMES[p->launch] : "";
}

/* ---- --impl ---- */

static int set_one(struct profile *p, const char *key, const char *val, const char *what,
                   struct err *e)
{
    const enum op_impl im = op_impl_parse(val);
    if (im == IMPL_COUNT)
        return err_set(e, "", 0, 0,
                       "%s: unknown implementation '%s' in '%s=%s' (" OP_IMPL_LIST ")",
                       what, val, key, val);
    const enum prof_role r = prof_role_parse(key);
    int kind = -1;
    for (int k = 0; k < OP_COUNT; k++)
        if (strcmp(op_kind_name((enum op_kind)k), key) == 0) kind = k;
    if (r == ROLE_COUNT && kind < 0)
        return err_set(e, "", 0, 0,
                       "%s: unknown key '%s' in '%s=%s' (a role: norm, qk_norm, residual, rope, qkv_proj, "
                       "kv_write, attention, gate_up_proj, silu_mul, gelu_mul, gelu; or an op "
                       "kind: gemm, batched_gemm, elementwise, softmax, ...)",
                       what, key, key, val);
    if (kind >= 0) p->kind_impl[kind] = im;
    if (r != ROLE_COUNT) {
        struct role_entry *re = &p->roles[r];
        int found = -1;
        for (int v = 0; v < re->n_variants; v++)
            if (re->variants[v].impl == im) found = v;
        if (found >= 0) {
            re->chosen = found;
        } else if (im == IMPL_EAGER) {
            return err_set(e, "", 0, 0,
                           "%s: '%s=eager': profile %s lists no eager kernels for role %s (an "
                           "eager variant must say which kernels run; try --profile hf or write "
                           "them in a profile file, docs/profiles.md)",
                           what, key, p->name, key);
        } else {
            re->chosen = -1;
            re->forced_impl = im;
        }
    }
    return 0;
}

int profile_set_impl(struct profile *p, const char *spec, const char *what, struct err *e)
{
    char buf[512];
    if (strlen(spec) >= sizeof buf) return err_set(e, "", 0, 0, "%s: too long", what);
    snprintf(buf, sizeof buf, "%s", spec);
    int n = 0;
    const char *keys[256]; /* a key given twice is a mistake, not "the last wins" */
    for (char *tok = buf; tok; n++) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1])
            return err_set(e, "", 0, 0, "%s: '%s' is not KEY=IMPL (e.g. attention=cudnn)", what,
                           tok);
        *eq = 0;
        for (int i = 0; i < n; i++)
            if (strcmp(keys[i], tok) == 0)
                return err_set(e, "", 0, 0, "%s: '%s' is given twice", what, tok);
        keys[n] = tok;
        if (set_one(p, tok, eq + 1, what, e)) return -1;
        tok = comma ? comma + 1 : NULL;
    }
    if (n == 0) return err_set(e, "", 0, 0, "%s: empty (e.g. attention=cudnn,gemm=cublas)", what);
    return 0;
}

static enum op_impl role_impl(const struct profile *p, enum prof_role r)
{
    const struct role_entry *re = &p->roles[r];
    if (re->chosen < 0) return re->forced_impl;
    if (re->n_variants) return re->variants[re->chosen].impl;
    return IMPL_DEFAULT;
}

void profile_describe(const struct profile *p, char *buf, size_t n)
{
    if (!p) {
        snprintf(buf, n, "default (one fused op per role; no implementation chosen)");
        return;
    }
    size_t len = (size_t)snprintf(buf, n, "%s", p->name);
    const char *sep = " (";
    if (p->launch >= 0 && len < n) len += (size_t)snprintf(buf + len, n - len, "%slaunch %s", sep, LAUNCH_NAMES[p->launch]), sep = "; ";
    for (int r = 0; r < ROLE_COUNT && len < n; r++) {
        const enum op_impl im = role_impl(p, (enum prof_role)r);
        if (im == IMPL_DEFAULT) continue;
        len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", sep, ROLES[r].name, op_impl_name(im));
        sep = ", ";
    }
    for (int k = 0; k < OP_COUNT && len < n; k++) {
        if (p->kind_impl[k] == IMPL_DEFAULT || prof_role_parse(op_kind_name((enum op_kind)k)) != ROLE_COUNT)
            continue;
        len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", sep, op_kind_name((enum op_kind)k),
                                op_impl_name(p->kind_impl[k]));
        sep = ", ";
    }
    if (len < n && sep[0] != ' ') snprintf(buf + len, n - len, ")");
}

void profile_apply_kinds(const struct profile *p, struct graph *g)
{
    for (int k = 0; k < OP_COUNT; k++) g->kind_impl[k] = p ? p->kind_impl[k] : IMPL_DEFAULT;
    g->impl = IMPL_DEFAULT;
}

/* ---- lowering ---- */

static struct op *emit_default(struct graph *g, const char *name, const struct prof_default *def)
{
    switch (def->kind) {
    case OP_NORM:
        return op_norm(g, name, def->rows, def->cols, def->params, def->flops_per_elem);
    case OP_ELEMENTWISE:
        return op_elementwise(g, name, def->rows, def->cols, def->inputs, def->flops_per_elem,
                              def->out_kv);
    case OP_GEMM: return op_gemm(g, name, def->m, def->n, def->k, def->bias);
    case OP_ATTENTION: return op_attention(g, name, def->attn);
    case OP_BATCHED_GEMM:
    case OP_SOFTMAX:
    case OP_ROUTER:
    case OP_GATHER:
    case OP_ALLREDUCE:
    case OP_SCAN:
    case OP_ALLTOALL:
    case OP_ALLGATHER:
    case OP_COUNT: break;
    }
    OB_ASSERT(!"profile_site: unsupported default op kind");
    return NULL;
}

static enum dtype tensor_dtype(const struct tensor *t, const struct graph *g)
{
    switch (t->dt) {
    case DT_ACT: return g->dt_act;
    case DT_W: return g->dt_w;
    case DT_KV: return g->dt_kv;
    case DT_FIXED: return t->fixed;
    }
    return g->dt_act;
}

static void emit_kernel(struct graph *g, const char *site, const struct kernel *k,
                        const double *vars, enum op_impl vimpl, const struct prof_default *def)
{
    const enum op_impl saved = g->impl;
    g->impl = k->impl != IMPL_DEFAULT ? k->impl : vimpl;
    if (k->kind == KK_DEFAULT) {
        emit_default(g, site, def);
        g->impl = saved;
        return;
    }
    const char *name = graph_name(g, site, k->name);
    struct op_cost c = {0};
    for (int i = 0; i < k->n_reads; i++) {
        const double b = expr_eval(&k->reads[i].elems, vars) * dtype_bytes(tensor_dtype(&k->reads[i], g));
        if (k->reads[i].as == AS_WEIGHTS) c.bytes_w += b;
        else if (k->reads[i].as == AS_KV) c.bytes_kv += b;
        else c.bytes_act += b;
    }
    for (int i = 0; i < k->n_writes; i++)
        c.bytes_out += expr_eval(&k->writes[i].elems, vars) * dtype_bytes(tensor_dtype(&k->writes[i], g));
    c.flops_vec = expr_eval(&k->flops, vars);
    const double out_elems = expr_eval(&k->writes[0].elems, vars);
    const bool mm = k->kind == KK_GEMM || k->kind == KK_BATCHED_GEMM;
    const bool empty = mm ? expr_eval(&k->count, vars) * expr_eval(&k->m, vars) *
                                    expr_eval(&k->n, vars) * expr_eval(&k->k, vars) <= 0
                          : out_elems <= 0;
    if (empty) {
        /* nothing to write or multiply (e.g. repeat_kv with H = Hkv returns
         * its input): no kernel is launched */
        g->impl = saved;
        return;
    }
    struct op *op = NULL;
    switch ((enum kern_kind)k->kind) {
    case KK_ELEMENTWISE:
    case KK_COPY: op = op_elementwise(g, name, 1, out_elems, 1, 0, false); break;
    case KK_NORM: op = op_norm(g, name, 1, out_elems, 0, 0); break;
    case KK_SOFTMAX: {
        const double rows = expr_eval(&k->rows, vars); /* 0 when not given */
        op = rows >= 1 ? op_softmax(g, name, rows, out_elems / rows)
                       : op_softmax(g, name, 0, out_elems);
        break;
    }
    case KK_GEMM:
    case KK_BATCHED_GEMM: {
        const double cnt = expr_eval(&k->count, vars), m = expr_eval(&k->m, vars),
                     n = expr_eval(&k->n, vars), kk = expr_eval(&k->k, vars);
        op = k->kind == KK_GEMM ? op_gemm(g, name, m, n, kk, false)
                                : op_batched_gemm(g, name, cnt, m, n, kk, false);
        c.flops_mm = 2.0 * cnt * m * n * kk; /* 2*M*N*K per instance */
        break;
    }
    case KK_DEFAULT:
    case KK_COUNT: OB_ASSERT(!"unreachable"); break;
    }
    /* compute dtype: the dtype of what the kernel writes first */
    op->dt_act = tensor_dtype(&k->writes[0], g);
    op->cost = c;
    op->cost_fixed = true;
    g->impl = saved;
}

void profile_site(const struct profile *p, struct graph *g, enum prof_role r, const char *site,
                  const double *vars, const struct prof_default *def)
{
    const struct role_entry *re = p ? &p->roles[r] : NULL;
    if (!re || (re->n_variants == 0 && re->chosen >= 0)) {
        emit_default(g, site, def);
        return;
    }
    const enum op_impl saved = g->impl;
    if (re->chosen >= 0 && re->variants[re->chosen].none) return;
    if (re->chosen < 0 || re->variants[re->chosen].n_kernels == 0) {
        g->impl = role_impl(p, r);
        emit_default(g, site, def);
        g->impl = saved;
        return;
    }
    const struct variant *v = &re->variants[re->chosen];
    for (int i = 0; i < v->n_kernels; i++) emit_kernel(g, site, &v->kernels[i], vars, v->impl, def);
}

/* ---- schema ---- */

void profile_schema(FILE *out)
{
    static const struct {
        const char *title;
        const struct key_spec *keys;
        size_t n;
    } S[] = {
        {"Profile top level", PROFILE_KEYS, N(PROFILE_KEYS)},
        {"Role variant (`roles: ROLE:`)", VARIANT_KEYS, N(VARIANT_KEYS)},
        {"Kernel (`kernels:` entry)", KERNEL_KEYS, N(KERNEL_KEYS)},
        {"Tensor (`reads:` / `writes:` entry)", TENSOR_KEYS, N(TENSOR_KEYS)},
    };
    for (size_t i = 0; i < N(S); i++) {
        fprintf(out, "### %s\n\n", S[i].title);
        yml_spec_markdown(out, S[i].keys, S[i].n);
        fprintf(out, "\n");
    }
    fprintf(out, "Roles and the symbols their expressions may use (every role also has T, B, "
                 "S, P, L, h, tp; docs/profiles.md):\n\n");
    for (int r = 0; r < ROLE_COUNT; r++) {
        fprintf(out, "- `%s`:", ROLES[r].name);
        for (int s = 0; s < SYM_COUNT; s++)
            if (ROLES[r].syms & BIT(s)) fprintf(out, " %s", SYM_NAMES[s]);
        fprintf(out, "\n");
    }
    fprintf(out, "\n");
}
