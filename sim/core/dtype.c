/* dtype.c - dtype table; see dtype.h. */
#include "dtype.h"

#include <string.h>

static const char *const DTYPE_NAMES[DT_COUNT] = {
    [DT_FP32] = "fp32", [DT_BF16] = "bf16", [DT_FP16] = "fp16",
    [DT_FP8] = "fp8",   [DT_INT8] = "int8", [DT_INT4] = "int4",
    [DT_INT4_G128] = "int4_g128", [DT_NVFP4] = "nvfp4", [DT_MXFP4] = "mxfp4",
};
_Static_assert(sizeof DTYPE_NAMES / sizeof DTYPE_NAMES[0] == DT_COUNT, "dtype table out of date");

const char *dtype_name(enum dtype d) { return DTYPE_NAMES[d]; }

int dtype_parse(const char *s, enum dtype *out)
{
    for (int i = 0; i < DT_COUNT; i++)
        if (strcmp(s, DTYPE_NAMES[i]) == 0) {
            *out = (enum dtype)i;
            return 0;
        }
    return -1;
}
