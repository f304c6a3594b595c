/* model.h - architecture descriptions: a model is global dims, dtypes and a
 * list of layer groups, each group `repeat` identical layers made of one
 * attention (token-mixing) block and one FFN block.
 *
 * Blocks are pluggable: each kind (gqa, swiglu, moe, ...) is a struct
 * block_kind defined in its own file and listed in models/registry.c. The
 * loader reads the block's `kind`, finds it in the registry and lets the kind's
 * key table read the rest.
 *
 * Entry points: model_load, model_free, model_count, model_lower (lower.c).
 * To add an attention or FFN kind: write models/<kind>.c defining a
 * struct block_kind, and add it to the table in models/registry.c. */
#ifndef OB_MODEL_H
#define OB_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../sim/core/dtype.h"
#include "../sim/core/err.h"
#include "../sim/core/graph.h"
#include "../sim/core/yml.h"

enum norm_kind { NORM_RMS, NORM_LAYER, NORM_COUNT };
enum block_slot { SLOT_ATTN, SLOT_FFN, SLOT_COUNT };
enum phase { PHASE_PREFILL, PHASE_DECODE };

struct model;
struct profile;

/* One step to lower: B sequences, each adding q_len new tokens on top of
 * ctx_prior tokens already in its KV cache. Prefill of S: q_len = S,
 * ctx_prior = 0. Decode at context L: q_len = 1, ctx_prior = L. */
struct step {
    enum phase phase;
    double batch;     /* B */
    double q_len;     /* new tokens per sequence */
    double ctx_prior; /* cached tokens per sequence before the step */
    double tp;        /* tensor-parallel devices (1 = none); ops are per device */
    double ep;        /* expert-parallel devices (1 = none; 0 read as 1): MoE blocks
                       * hold E/ep experts and exchange tokens by all-to-all */
    enum dtype dt_w, dt_act, dt_kv;
    /* Implementation profile (models/profile.h); NULL lowers one op per role
     * with no implementation chosen (the outputs before profiles existed). */
    const struct profile *profile;
    /* Steps of at most this many new tokens per sequence run the decode
     * kernels (0 read as 1). Speculative decoding's verify step (k + 1 tokens
     * over the cache) sets k + 1, as vLLM does for its decode path; MLA's
     * `auto` then stays absorbed (sim/spec.c). */
    double decode_q_max;
    /* Data-parallel attention (0 or 1 = none): attention, embedding and head
     * whole on each of attn_dp devices with its own sequences (tp must be 1);
     * the FFN tensor-parallel over the attn_dp devices on all their rows. */
    double attn_dp;
};

/* Per-layer counts of one block. The first three are for the whole model;
 * the _dev ones are what one device holds under tensor parallelism over tp
 * devices (equal to the whole when tp = 1). */
struct block_counts {
    double params;        /* weights held */
    double active_params; /* weights one token touches */
    double kv_elems;      /* cached elements per token (K and V) */
    double params_dev;    /* weights one of tp devices holds */
    double kv_elems_dev;  /* cached elements per token one device holds */
    double state_elems;   /* per-sequence state that does not grow with context
                           * (convolution history, recurrent state); 0 for most */
    double state_elems_dev;
    double ep_params_dev; /* part of params_dev split over expert-parallel devices
                           * (routed experts); 0 for most */
    double kv_window;     /* most tokens cached per sequence (sliding window: older
                           * keys are never read again); 0 = unbounded */
};

struct lower_ctx {
    const struct model *m;
    const struct step *st;
    double tokens; /* T = B * q_len */
};

struct block_kind {
    const char *name;    /* `kind:` value in YAML */
    enum block_slot slot;
    const char *summary; /* one line for docs and `opbound list kinds` */
    const struct key_spec *keys;
    size_t n_keys;
    size_t cfg_size;
    /* Sets defaults in a zeroed cfg before the keys are read (may be NULL). */
    void (*defaults)(void *cfg);
    /* Cross-key checks and derived fields after reading; on error fills e at
     * the block's mapping (or the offending key) and returns -1. */
    int (*check)(void *cfg, uint64_t present, const struct model *m, const struct yml_doc *d,
                 yml_node map, struct err *e);
    void (*count)(const void *cfg, const struct model *m, double tp, struct block_counts *out);
    /* Whether the block can be split over tp devices; if not, writes why into
     * msg and returns -1. */
    int (*tp_check)(const void *cfg, double tp, char *msg, size_t n);
    /* Appends the block's ops for one device (norms, residuals and the
     * tensor-parallel all-reduce after the block are the model's). */
    void (*lower)(const void *cfg, const struct lower_ctx *c, struct graph *g);
    int max_ops; /* upper bound on ops appended by lower() */
    /* Whether the block can be split over ep expert-parallel devices (may be
     * NULL: nothing to split); like tp_check. */
    int (*ep_check)(const void *cfg, double ep, char *msg, size_t n);
    /* Longest sequence (tokens) the kind's lowering handles in bounded time;
     * 0 = no limit (model_len_check). */
    double max_len;
};

/* KV-cache budget of a layer group (`kv_budget`, docs/kv-budgets.md): each
 * sequence keeps at most budget(ctx) tokens of KV per layer; decode attention
 * reads those; `method` adds the selection work as ops. */
enum kv_method { KVB_NONE, KVB_SNAPKV, KVB_H2O, KVB_STREAMING, KVB_COUNT };
struct kv_budget {
    int method;      /* enum kv_method; KVB_NONE = no budget */
    int64_t tokens;  /* fixed budget (0 = not given) */
    double ratio;    /* budget as a fraction of the context (0 = not given) */
    int64_t sinks, recent; /* StreamingLLM: first sinks + last recent tokens */
    int64_t window;  /* SnapKV observation window (queries at the end of the prompt) */
};
/* Tokens a sequence with ctx tokens holds in a layer with budget b (ctx when
 * there is no budget). */
double kv_budget_held(const struct kv_budget *b, double ctx);

struct layer_group {
    int64_t repeat;
    struct kv_budget budget;
    /* Layer routing (docs/layer-routing.md); costs are expectations. */
    double mod_capacity;            /* mixture-of-depths: fraction of tokens through the
                                     * layer (0 = every token) */
    const struct block_kind *alt_kind; /* alternative attention block (NULL = none) */
    void *alt_cfg;                  /* owned */
    double alt_fraction;            /* share of sequences routed to the alternative */
    int first_layer;
    const struct block_kind *kind[SLOT_COUNT];
    void *cfg[SLOT_COUNT]; /* owned */
};

struct model {
    char name[64];
    char family[64];
    char source[512];
    char file[512];
    int64_t hidden, layers, vocab;
    bool tied_embeddings;
    bool post_norms; /* a second norm after each block (Gemma 2/3 "sandwich" norms) */
    int norm; /* enum norm_kind */
    enum dtype dt_w, dt_act, dt_kv;
    double published_params; /* 0 if not given */
    int64_t reading_repeat;  /* while loading: `repeat` of the group whose blocks are read */
    int n_groups;
    struct layer_group *groups;
};

/* Whole-model counts at the model's own dtypes. */
struct model_counts {
    double params;
    double active_params;
    double kv_elems_per_token;  /* summed over layers */
    double params_dev;          /* per device under tensor parallelism */
    double kv_elems_per_token_dev;
    double state_elems_per_seq; /* summed over layers; stored in the KV dtype */
    double state_elems_per_seq_dev;
    double ep_params_dev;       /* part of params_dev split over expert-parallel devices */
    double ep_block_params_dev; /* part of params_dev in blocks that expert parallelism
                                 * splits (router, shared and routed experts) */
    double ffn_params_dev;      /* part of params_dev in the FFN slot */
};

/* Loads a model description from an opbound YAML file (model_file_load in
 * model_file.h also takes a Hugging Face config.json). Returns 0 with *out
 * owned by the caller (model_free), or -1 with e set. */
int model_load(const char *path, struct model **out, struct err *e);
/* Same, from YAML text in memory; name is used in messages. */
int model_load_text(const char *name, const char *text, size_t len, struct model **out,
                    struct err *e);
void model_free(struct model *m); /* accepts NULL */

/* Counts for the whole model and for one of tp tensor-parallel devices. */
void model_count(const struct model *m, double tp, struct model_counts *out);
/* Counts of layers [lo, hi) only (a pipeline stage), with the ends the stage
 * holds: MODEL_ENDS_EMBED the embedding table, MODEL_ENDS_HEAD lm_head and the
 * final norm (a tied table is counted once when both are held, else once by
 * each end). model_count is [0, layers) with both ends. */
enum { MODEL_ENDS_EMBED = 1, MODEL_ENDS_HEAD = 2 };
void model_count_layers(const struct model *m, double tp, int lo, int hi, int ends,
                        struct model_counts *out);
/* KV-cache elements one of tp devices holds per sequence with ctx tokens in
 * context: sum over layers of min(ctx, kv_window) x cached elements per token
 * (ctx where kv_window is 0). State elements are not included. */
double model_kv_elems_per_seq(const struct model *m, double tp, double ctx);
/* The same for layers [lo, hi) only (a pipeline stage). */
double model_kv_elems_per_seq_layers(const struct model *m, double tp, double ctx, int lo, int hi);
/* Whether every block can be split over tp devices; -1 with e set if not. */
int model_tp_check(const struct model *m, double tp, struct err *e);
/* Whether every block handles sequences of len tokens (struct block_kind's
 * max_len); -1 with e set if not. */
int model_len_check(const struct model *m, double len, struct err *e);
/* Whether every block can be split over ep expert-parallel devices; -1 with
 * e set if not. */
int model_ep_check(const struct model *m, double ep, struct err *e);
/* Parameters of one norm over `width` features (RMSNorm: weight; LayerNorm:
 * weight and bias). */
double model_norm_params(const struct model *m, double width);
double model_norm_flops(const struct model *m);

/* Replaces the `slot` block of every layer group with the block described by
 * mapping `block` of document d (read with that kind's table, checked against
 * m). Used by study files to place designs in a skeleton. 0, or -1 with e set
 * (m is unchanged on error). */
int model_set_block(struct model *m, enum block_slot slot, const struct yml_doc *d,
                    yml_node block, struct err *e);

/* Puts the budget described by mapping `map` (a group's kv_budget table) on
 * every layer group whose attention block keeps a KV cache (study designs).
 * 0, or -1 with e set (m unchanged on error). */
int model_set_budget(struct model *m, const struct yml_doc *d, yml_node map, struct err *e);

/* Upper bound on the ops model_lower appends, under any profile (each role
 * site may become up to PROF_MAX_KERNELS kernels). */
int model_max_ops(const struct model *m);
/* Lowers one step of the whole model into g (reset first). */
void model_lower(const struct model *m, const struct step *st, struct graph *g);

/* Registry (registry.c). */
const struct block_kind *block_kind_find(enum block_slot slot, const char *name);
const struct block_kind *block_kind_at(int i); /* NULL past the end */

/* Schema sections for docs/schema.md (model top level and layer group). */
int model_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n);

#endif
