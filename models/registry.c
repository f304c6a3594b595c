/* registry.c - every attention and FFN block kind opbound knows.
 * To add a kind: define its struct block_kind in its own file and list it here. */
#include <string.h>

#include "model.h"

extern const struct block_kind BLOCK_MHA, BLOCK_MQA, BLOCK_GQA;
extern const struct block_kind BLOCK_SQA, BLOCK_MFA, BLOCK_DIFFQKV;
extern const struct block_kind BLOCK_SWIGLU, BLOCK_GELU, BLOCK_MOE;

static const struct block_kind *const KINDS[] = {
    &BLOCK_MHA, &BLOCK_MQA, &BLOCK_GQA, &BLOCK_SQA, &BLOCK_MFA, &BLOCK_DIFFQKV,
    &BLOCK_SWIGLU, &BLOCK_GELU, &BLOCK_MOE,
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
