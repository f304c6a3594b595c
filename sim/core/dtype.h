/* dtype.h - the numeric formats opbound knows: storage size and names.
 *
 * Order matters: from widest to narrowest, so "the next wider dtype" of d is
 * d-1 (used when a device has no native rate for a format). To add a dtype,
 * add it to the enum in width order and to the table in dtype.c. */
#ifndef OB_DTYPE_H
#define OB_DTYPE_H

enum dtype {
    DT_FP32,
    DT_BF16,
    DT_FP16,
    DT_FP8,
    DT_INT8,
    DT_INT4,
    DT_COUNT
};

/* Bytes per element (0.5 for int4; scales and zero points are not counted).
 * Inline: it sits in the inner loop of every FLOP/byte count. */
static inline double dtype_bytes(enum dtype d)
{
    static const double BYTES[DT_COUNT] = {
        [DT_FP32] = 4.0, [DT_BF16] = 2.0, [DT_FP16] = 2.0,
        [DT_FP8] = 1.0,  [DT_INT8] = 1.0, [DT_INT4] = 0.5,
    };
    return BYTES[d];
}
/* Lower-case name as written in YAML and on the command line ("bf16"). */
const char *dtype_name(enum dtype d);
/* Parses a name; returns 0 and sets *out, or -1 if unknown. */
int dtype_parse(const char *s, enum dtype *out);

#endif
