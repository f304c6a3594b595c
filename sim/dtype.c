/* dtype.c - dtype table; see dtype.h. */
#include "dtype.h"

#include <string.h>

static const struct {
    const char *name;
    double bytes;
} DTYPES[DT_COUNT] = {
    [DT_FP32] = {"fp32", 4.0}, [DT_BF16] = {"bf16", 2.0}, [DT_FP16] = {"fp16", 2.0},
    [DT_FP8] = {"fp8", 1.0},   [DT_INT8] = {"int8", 1.0}, [DT_INT4] = {"int4", 0.5},
};
_Static_assert(sizeof DTYPES / sizeof DTYPES[0] == DT_COUNT, "dtype table out of date");

double dtype_bytes(enum dtype d) { return DTYPES[d].bytes; }
const char *dtype_name(enum dtype d) { return DTYPES[d].name; }

int dtype_parse(const char *s, enum dtype *out)
{
    for (int i = 0; i < DT_COUNT; i++)
        if (strcmp(s, DTYPES[i].name) == 0) {
            *out = (enum dtype)i;
            return 0;
        }
    return -1;
}
