/* registry.c - every attention and FFN block kind opbound knows.
 * To add a kind: define its struct block_kind in its own file and add one
 * extern line and one table line here (keep one kind per line). */
#include <string.h>

#include "model.h"

/* attention (token-mixing) kinds */
extern const struct block_kind BLOCK_MHA;
extern const struct block_kind BLOCK_MQA;
extern const struct block_kind BLOCK_GQA;
extern const struct block_kind BLOCK_MLA;
extern const struct block_kind BLOCK_CCA;
extern const struct block_kind BLOCK_CCGQA;
extern const struct block_kind BLOCK_KDGQA;
extern const struct block_kind BLOCK_MOH;
extern const struct block_kind BLOCK_MASA;
extern const struct block_kind BLOCK_SQA;
extern const struct block_kind BLOCK_MFA;
extern const struct block_kind BLOCK_DIFFQKV;
/* linear-time token mixers (attention slot, per-sequence state) */
extern const struct block_kind BLOCK_MAMBA2;
extern const struct block_kind BLOCK_SHORTCONV;
extern const struct block_kind BLOCK_LINATTN;
extern const struct block_kind BLOCK_MOBA;
extern const struct block_kind BLOCK_NSA;
extern const struct block_kind BLOCK_DSA;
extern const struct block_kind BLOCK_SWA;
extern const struct block_kind BLOCK_ROUTING;
extern const struct block_kind BLOCK_BIFORMER;
extern const struct block_kind BLOCK_FLEX;
/* FFN kinds */
extern const struct block_kind BLOCK_SWIGLU;
extern const struct block_kind BLOCK_GELU;
extern const struct block_kind BLOCK_GEGLU;
extern const struct block_kind BLOCK_MOE;

static const struct block_kind *const KINDS[] = {
    &BLOCK_MHA,
    &BLOCK_MQA,
    &BLOCK_GQA,
    &BLOCK_MLA,
    &BLOCK_CCA,
    &BLOCK_CCGQA,
    &BLOCK_KDGQA,
    &BLOCK_MOH,
    &BLOCK_MASA,
    &BLOCK_SQA,
    &BLOCK_MFA,
    &BLOCK_DIFFQKV,
    &BLOCK_MAMBA2,
    &BLOCK_SHORTCONV,
    &BLOCK_LINATTN,
    &BLOCK_MOBA,
    &BLOCK_NSA,
    &BLOCK_DSA,
    &BLOCK_SWA,
    &BLOCK_ROUTING,
    &BLOCK_BIFORMER,
    &BLOCK_FLEX,
    &BLOCK_SWIGLU,
    &BLOCK_GELU,
    &BLOCK_GEGLU,
    &BLOCK_MOE,
};

const struct block_kind *block_kind_at(int i)
{
    return i >= 0 && i < (int)(sizeof KINDS / sizeof KINDS[0]) ? KINDS[i] : NULL;
}

const struct block_kind *block_kind_find(enum block_slot slot, const char *name)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (KINDS[i]->slot == slot && strcmp(KINDS[i]->name, name) == 0) return KINDS[i];
    return NULL;
}
