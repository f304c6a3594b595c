/* profile.h - implementation profiles: which code runs each part of a layer.
 *
 * The same model costs different amounts in different code: a serving engine
 * runs RMSNorm and the residual add as one fused kernel, the Hugging Face
 * reference code runs RMSNorm as eight fp32 kernels. A profile is a YAML file
 * (docs/profiles.md; keys in docs/schema.md) that says, per lowering *role*
 * (norm, qk_norm, residual, rope, qkv_proj, kv_write, attention, gate_up_proj,
 * silu_mul, gelu_mul, gelu), which implementation runs it and which kernels it
 * launches, each with the elements and dtypes it reads and writes and the
 * FLOPs it computes, as expressions over the role's shape symbols (T, h, H,
 * Hkv, D, S, L, rows, cols, ...). A role may list several variants (one per
 * implementation); the first is the default, `--impl role=IMPL` picks
 * another. The profile's `impl` map tags the ops no role rewrites (gemm ->
 * cublas, attention -> fa2, ...), which the device's per-(kind,
 * implementation) parameters then use.
 *
 * No profile (NULL) lowers exactly as before profiles existed: one op per
 * role, every op IMPL_DEFAULT. The loader lives in models/ beside the model
 * loader because a profile is a description of how a model is lowered: it is
 * read with the same key tables, and only the lowering (models/lower.c and
 * the block kinds) consumes it.
 *
 * Entry points: profile_load, profile_free, profile_set_impl, profile_site.
 * To add a role: a ROLE_ row and its ROLES[] entry (name, symbols) in
 * profile.c, and a profile_site call where the lowering emits it. */
#ifndef OB_PROFILE_H
#define OB_PROFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "../sim/core/err.h"
#include "../sim/core/graph.h"

enum prof_role {
    ROLE_NORM,         /* the model's RMSNorm/LayerNorm over h (pre-, post-, final norms) */
    ROLE_QK_NORM,      /* per-head norms of q and k (Qwen3's qk_norm) */
    ROLE_RESIDUAL,     /* the residual add after each block */
    ROLE_ROPE,         /* rotary embedding of q and k */
    ROLE_QKV_PROJ,     /* the q, k, v projections (one fused GEMM by default) */
    ROLE_KV_WRITE,     /* storing the step's K and V into the cache */
    ROLE_ATTENTION,    /* the attention core (QK^T, softmax, PV) */
    ROLE_GATE_UP_PROJ, /* a gated FFN's gate and up projections (one GEMM by default) */
    ROLE_SILU_MUL,     /* SwiGLU's silu(gate) * up */
    ROLE_GELU_MUL,     /* GeGLU's gelu(gate) * up */
    ROLE_GELU,         /* the GELU MLP's activation */
    ROLE_COUNT
};

/* Shape symbols an expression may name; which ones a role provides is listed
 * in docs/profiles.md (and checked when the file is read). */
enum prof_sym {
    SYM_T,      /* tokens in the step, B*S */
    SYM_B,      /* sequences */
    SYM_S,      /* new tokens per sequence (queries) */
    SYM_P,      /* tokens cached per sequence before the step */
    SYM_L,      /* keys per sequence, P + S */
    SYM_HID,    /* h, hidden size */
    SYM_TP,     /* tensor-parallel devices */
    SYM_ROWS,   /* rows of the role's tensor */
    SYM_COLS,   /* columns of the role's tensor */
    SYM_PARAMS, /* a norm's weights */
    SYM_H,      /* query heads on this device */
    SYM_HKV,    /* key/value heads on this device */
    SYM_D,      /* head dim (QK) */
    SYM_DV,     /* head dim (PV) */
    SYM_PAIRS,  /* computed (query, key) pairs per head and sequence */
    SYM_I,      /* FFN intermediate size on this device */
    SYM_COUNT
};

#define PROF_MAX_KERNELS 24 /* kernels one variant may launch */

struct profile; /* opaque */

/* The op a role lowers to when no profile rewrites it (models call this
 * through profile_site). */
struct prof_default {
    enum op_kind kind; /* OP_NORM, OP_ELEMENTWISE, OP_GEMM or OP_ATTENTION */
    double rows, cols, inputs, flops_per_elem, params; /* norm / elementwise */
    bool out_kv;
    double m, n, k; /* gemm */
    bool bias;
    const struct attn_shape *attn;
};

/* Loads a profile file. Returns 0 with *out owned by the caller
 * (profile_free), or -1 with e set (FILE:LINE:COL for bad content). */
int profile_load(const char *path, struct profile **out, struct err *e);
int profile_load_text(const char *name, const char *text, size_t len, struct profile **out,
                      struct err *e);
void profile_free(struct profile *p); /* accepts NULL */

const char *profile_name(const struct profile *p); /* "default" for NULL */
const char *profile_file(const struct profile *p); /* "" for NULL */
const char *profile_summary(const struct profile *p); /* "" for NULL */
/* The profile's launch mode ("graph", "eager", or "" when not given). */
const char *profile_launch(const struct profile *p);
/* Role names, "norm", ...; role_parse returns ROLE_COUNT when unknown. */
const char *prof_role_name(enum prof_role r);
enum prof_role prof_role_parse(const char *s);

/* Applies "--impl" choices "key=impl,key=impl": key is a role (picks the
 * role's variant with that implementation; a fused implementation with no
 * listed variant runs the role's default op tagged with it; `eager` needs
 * kernels in the profile) and/or an op kind (tags the ops of that kind no
 * role rewrites). `what` names the source in messages ("--impl").
 * 0, or -1 with e naming the bad token. */
int profile_set_impl(struct profile *p, const char *spec, const char *what, struct err *e);

/* One line saying what the profile chose, for output headers:
 * "hf (eager; attention=fa2, norm=eager, ...)". */
void profile_describe(const struct profile *p, char *buf, size_t n);

/* Sets g->kind_impl from the profile (all IMPL_DEFAULT for NULL). */
void profile_apply_kinds(const struct profile *p, struct graph *g);

/* Lowers one role site named `site` ("attn_norm") into g: the profile's
 * chosen kernels for the role, evaluated with vars (indexed by enum
 * prof_sym), or the default op def when the profile (or NULL) leaves the
 * role alone. Kernel ops are named "site.kernel" and tagged with the
 * variant's implementation. */
void profile_site(const struct profile *p, struct graph *g, enum prof_role r, const char *site,
                  const double *vars, const struct prof_default *def);

/* Writes the profile key tables as markdown (docs/schema.md). */
void profile_schema(FILE *out);

#endif
