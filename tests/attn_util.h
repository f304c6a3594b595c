/* attn_util.h - helpers shared by the attention-kind tests (test_attn_*.c):
 * loading an example file, lowering one step, summing one layer group's
 * costs, and checking that a bad description fails at FILE:LINE:COL. */
#ifndef OB_ATTN_UTIL_H
#define OB_ATTN_UTIL_H

#include "testutil.h"

/* Loads examples/<name>.yaml (NULL and a printed error on failure). */
static inline struct model *au_example(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/%s.yaml", OB_DATADIR, name);
    struct model *m = NULL;
    struct err e;
    if (model_load(path, &m, &e)) {
        err_print(&e, stderr);
        return NULL;
    }
    return m;
}

/* Loads a description from text (asserting success). */
static inline struct model *au_text(const char *yaml)
{
    struct model *m = NULL;
    struct err e;
    if (model_load(tu_write_temp(yaml), &m, &e)) err_print(&e, stderr);
    assert_non_null(m);
    return m;
}

/* Per-layer cost sums over the ops of one layer group. */
struct au_sums {
    double mm, vec, w, act, kv, out;
};
static inline struct au_sums au_layer(const struct graph *g, int group)
{
    struct au_sums s = {0};
    for (int i = 0; i < g->n; i++) {
        const struct op *op = &g->ops[i];
        if (op->group != group) continue;
        s.mm += op->cost.flops_mm;
        s.vec += op->cost.flops_vec;
        s.w += op->cost.bytes_w;
        s.act += op->cost.bytes_act;
        s.kv += op->cost.bytes_kv;
        s.out += op->cost.bytes_out;
    }
    return s;
}

/* The first op named `name` in layer group `group` (asserts it exists). */
static inline const struct op *au_op(const struct graph *g, int group, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (g->ops[i].group == group && strcmp(g->ops[i].name, name) == 0) return &g->ops[i];
    fail_msg("no op '%s' in group %d", name, group);
    return NULL;
}

/* Lowers prefill of B x len (decode: B sequences at context len) with the
 * model's dtypes except the KV cache in dt_kv, over tp devices. */
static inline void au_lower(const struct model *m, struct graph *g, enum phase ph, double b,
                            double len, enum dtype dt_kv, double tp)
{
    struct step st = {.phase = ph, .batch = b, .q_len = ph == PHASE_PREFILL ? len : 1,
                      .ctx_prior = ph == PHASE_PREFILL ? 0 : len, .tp = tp, .dt_w = m->dt_w,
                      .dt_act = m->dt_act, .dt_kv = dt_kv};
    assert_int_equal(graph_init(g, model_max_ops(m)), 0);
    model_lower(m, &st, g);
}

/* 1-based column of `needle` on 1-based line `line` of text. */
static inline int au_col(const char *text, int line, const char *needle)
{
    const char *p = text;
    for (int l = 1; l < line; l++) p = strchr(p, '\n') + 1;
    const char *q = strstr(p, needle);
    assert_non_null(q);
    return (int)(q - p) + 1;
}

/* The description must fail at line:col (col of `at` on that line) with msg. */
static inline void au_expect_error(const char *text, int line, const char *at, const char *msg)
{
    const char *path = tu_write_temp(text);
    const int col = au_col(text, line, at);
    struct model *m = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = model_load(path, &m, &e);
    if (rc == 0 || !strstr(e.msg, msg) || e.line != line || e.col != col) {
        print_error("want %d:%d '%s'\n got rc %d, %d:%d '%s'\n", line, col, msg, rc, e.line,
                    e.col, e.msg);
        model_free(m);
        fail();
    }
    assert_string_equal(e.file, path);
    assert_null(m);
    unlink(path);
}

/* A one-group model of h = 4096, 2 layers, SwiGLU 14336, V = 1000, whose
 * attention block (line 10) is `attn`; fills buf. */
static inline const char *au_base(char *buf, size_t n, const char *attn)
{
    snprintf(buf, n,
             "name: t\n"                                             /* 1 */
             "hidden: 4096\n"                                        /* 2 */
             "layers: 2\n"                                           /* 3 */
             "vocab: 1000\n"                                         /* 4 */
             "tied_embeddings: false\n"                              /* 5 */
             "norm: rmsnorm\n"                                       /* 6 */
             "dtypes: {weight: bf16, activation: bf16, kv: bf16}\n"  /* 7 */
             "groups:\n"                                             /* 8 */
             "  - repeat: 2\n"                                       /* 9 */
             "    attention: %s\n"                                   /* 10 */
             "    ffn: {kind: swiglu, intermediate: 14336}\n",       /* 11 */
             attn);
    return buf;
}

#endif
