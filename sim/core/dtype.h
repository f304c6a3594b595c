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
    DT_INT4_G128, /* int4 with an fp16 scale and a 4-bit zero point per 128 (AWQ, GPTQ) */
    DT_NVFP4,     /* fp4 e2m1, an fp8 e4m3 scale per 16 elements (+ one fp32 per tensor) */
    DT_MXFP4,     /* fp4 e2m1, an 8-bit power-of-two scale per 32 elements (OCP MX) */
    DT_COUNT
};

/* Bytes per element, block scales included: int4 0.5 (no scales: a bare
 * format); int4_g128 0.5 + (2 + 0.5)/128 (fp16 scale and 4-bit zero per group
 * of 128, AWQ/GPTQ); nvfp4 0.5 + 1/16 (NVIDIA NVFP4: e4m3 scale per 16; the
 * per-tensor fp32 scale is not counted); mxfp4 0.5 + 1/32 (OCP Microscaling
 * MXFP4: E8M0 scale per 32). docs/conventions.md, "Precision formats".
 * Inline: it sits in the inner loop of every FLOP/byte count. */
static inline double dtype_bytes(enum dtype d)
{
    static const double BYTES[DT_COUNT] = {
        [DT_FP32] = 4.0, [DT_BF16] = 2.0, [DT_FP16] = 2.0,
        [DT_FP8] = 1.0,  [DT_INT8] = 1.0, [DT_INT4] = 0.5,
        [DT_INT4_G128] = 0.5 + 2.5 / 128.0, [DT_NVFP4] = 0.5 + 1.0 / 16.0,
        [DT_MXFP4] = 0.5 + 1.0 / 32.0,
    };
    return BYTES[d];
}
/* Lower-case name as written in YAML and on the command line ("bf16"). */
const char *dtype_name(enum dtype d);
/* Parses a name; returns 0 and sets *out, or -1 if unknown. */
int dtype_parse(const char *s, enum dtype *out);

#endif
