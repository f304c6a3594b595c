/* attn_common.h - small rules every attention kind shares, kept in one place
 * so the kinds agree: which (query, key) pairs a causal step computes, and how
 * KV heads are shared out under tensor parallelism. */
#ifndef OB_ATTN_COMMON_H
#define OB_ATTN_COMMON_H

#include <stdio.h>

#include "model.h"

/* Causal (query, key) pairs per head and sequence when a step adds q_len
 * tokens to ctx_prior cached ones: query i (1-based) sees ctx_prior + i keys,
 * so q*P + q(q+1)/2. Prefill of S: S(S+1)/2; decode at context L: L + 1
 * (docs/conventions.md). */
static inline double attn_causal_pairs(const struct step *st)
{
    const double s = st->q_len;
    return s * st->ctx_prior + s * (s + 1.0) / 2.0;
}

/* KV heads one of tp devices holds: Hkv/tp, or 1 (replicated) when tp > Hkv. */
static inline double attn_local_kv_heads(double hkv, double tp) { return hkv >= tp ? hkv / tp : 1.0; }

/* Query heads split evenly; KV heads split when tp divides them, else
 * replicated (tp must then be a multiple of Hkv, as in vLLM and Megatron-LM).
 * 0, or -1 with the reason in msg. */
static inline int attn_heads_tp_check(long long heads, long long kv_heads, double tp, char *msg,
                                      size_t n)
{
    const long long t = (long long)tp;
    if (heads % t) return snprintf(msg, n, "heads (%lld) not divisible by %lld", heads, t), -1;
    if (kv_heads % t && t % kv_heads)
        return snprintf(msg, n, "kv_heads (%lld) and %lld devices: neither divides the other",
                        kv_heads, t),
               -1;
    return 0;
}

/* The head rule of the GQA family: 1 <= kv_heads <= heads and heads a
 * multiple of kv_heads; an error points at the block's kv_heads key. */
static inline int attn_heads_check(long long heads, long long kv_heads, const struct yml_doc *d,
                                   yml_node map, struct err *e)
{
    if (kv_heads > heads)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "kv_heads (%lld) must not exceed heads (%lld)", kv_heads, heads);
    if (heads % kv_heads != 0)
        return yml_fail(d, yml_map_get(d, map, "kv_heads"), e,
                        "heads (%lld) must be divisible by kv_heads (%lld)", heads, kv_heads);
    return 0;
}

#endif
