/* attn_mla.h - multi-head latent attention pieces shared by the kinds built on
 * MLA: `mla` itself (attn_mla.c) and DeepSeek Sparse Attention (`dsa`,
 * attn_dsa.c), whose core is MLA over a top-k subset of the cached tokens.
 *
 * Entry points: MLA_KEY_ROWS (the key table rows, for a struct that embeds
 * struct mla_cfg as its first member), mla_defaults, mla_check, mla_count,
 * mla_tp_check, mla_lower_core. */
#ifndef OB_ATTN_MLA_H
#define OB_ATTN_MLA_H

#include <stddef.h>

#include "model.h"

enum mla_exec { MLA_AUTO, MLA_NAIVE, MLA_ABSORBED };
enum mla_tp { MLA_TP_REPLICATE, MLA_TP_TPLA };
extern const char *const MLA_EXECS[];
extern const char *const MLA_TPS[];

struct mla_cfg {
    int64_t heads, q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
    int execution, tp_mode;
};

/* Key table rows of MLA; OFFM(f) is the offset of mla_cfg field f in the
 * caller's config struct. */
#define MLA_KEY_ROWS(OFFM)                                                                     \
    {"heads", KEY_INT, OFFM(heads), 1, 65536, 1, NULL, "count", "query heads H"},              \
    {"q_lora_rank", KEY_INT, OFFM(q_lora_rank), 1, 1048576, 0, NULL, "features",               \
     "query low-rank size; absent = a full-rank query projection"},                            \
    {"kv_lora_rank", KEY_INT, OFFM(kv_lora_rank), 1, 1048576, 1, NULL, "features",             \
     "latent size c cached per token"},                                                        \
    {"qk_nope_head_dim", KEY_INT, OFFM(qk_nope_head_dim), 1, 65536, 1, NULL, "features",       \
     "per-head query/key dim without RoPE d_nope"},                                            \
    {"qk_rope_head_dim", KEY_INT, OFFM(qk_rope_head_dim), 0, 65536, 1, NULL, "features",       \
     "decoupled RoPE dim d_rope (one key shared by all heads; cached)"},                       \
    {"v_head_dim", KEY_INT, OFFM(v_head_dim), 1, 65536, 1, NULL, "features",                   \
     "per-head value dim d_v"},                                                                \
    {"execution", KEY_ENUM, OFFM(execution), 0, 0, 0, MLA_EXECS, "",                           \
     "naive, absorbed, or auto = naive for prefill and absorbed for decode (default auto)"},   \
    {"tp_mode", KEY_ENUM, OFFM(tp_mode), 0, 0, 0, MLA_TPS, "",                                 \
     "under --tp: replicate the latent on every device, or tpla = split it (default "          \
     "replicate)"}

/* The block_kind callbacks of `mla`; p points at a struct mla_cfg (or a
 * struct whose first member is one). */
void mla_defaults(void *p);
int mla_check(void *p, uint64_t present, const struct model *m, const struct yml_doc *d,
              yml_node map, struct err *e);
void mla_count(const void *p, const struct model *m, double tp, struct block_counts *out);
int mla_tp_check(const void *p, double tp, char *msg, size_t n);

/* A sparse attention pattern over the cached tokens (NULL = dense causal):
 * pairs computed per head and sequence, and the cached tokens the absorbed
 * form reads per sequence (each at most once). */
struct mla_sparse {
    double pairs;
    double keys_read;
};

/* Appends MLA's ops for one step (see attn_mla.c); sp selects the keys. */
void mla_lower_core(const struct mla_cfg *c, const struct lower_ctx *x, struct graph *g,
                    const struct mla_sparse *sp);

#endif
