/* measure_import.c - converts the JSON of the library-kernel benchmark
 * (the format of kernels/measurements/library/h100-library-2026-11-22.json: sections
 * props, ceilings, gemms, prefill, decode, mla_decode_bmm; see
 * kernels/measurements/library/CSV.md) into the measurement CSV (measure.h).
 *
 * JSON is read with libyaml (sim/core/yml.c): a JSON text is a YAML 1.2 flow
 * document, so every value keeps its line and column for errors.
 *
 * Mapping (docs/measurements.md, "Importing the library benchmark"):
 *   gemms          -> gemm rows, impl cublas (F.linear = cuBLAS)
 *   prefill        -> attention rows, class prefill.<impl>, sq = skv = S,
 *                     pairs = S(S+1)/2 when causal, else S^2
 *   decode         -> attention rows, class decode.<impl>, sq = 1, skv = pairs = L;
 *                     grouped_bmm -> its six kernels (class decode.eager, impl eager)
 *   mla_decode_bmm -> its five kernels (class mla_decode.eager, impl eager)
 * SDPA backends: flash -> fa2, cudnn -> cudnn, efficient -> mem_efficient.
 * Rows the backend refused (an `error` key) become comments.
 *
 * Entry point: meas_import_json (measure.h). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/yml.h"
#include "measure.h"

struct sbuf {
    char *s;
    size_t n, cap;
    /* where in the JSON each CSV line came from (o[i]: line i + 1), so an
     * error meas_load finds in the converted text points at the JSON */
    struct meas_origin *o;
    int no, capo;
    struct meas_origin cur;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    OB_ASSERT(need >= 0);
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2;
        b->s = realloc(b->s, b->cap);
        OB_ASSERT(b->s);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    for (const char *c = b->s + b->n; *c; c++) {
        if (*c != '\n') continue;
        if (b->no == b->capo) {
            b->capo = b->capo ? 2 * b->capo : 256;
            b->o = realloc(b->o, (size_t)b->capo * sizeof *b->o);
            OB_ASSERT(b->o);
        }
        b->o[b->no++] = b->cur;
    }
    b->n += (size_t)need;
}

/* The CSV lines written next come from node n. */
static void sb_from(struct sbuf *b, const struct yml_doc *d, yml_node n)
{
    yml_mark(d, n, &b->cur.line, &b->cur.col);
}

/* A number at key of map: 0 or -1 with e set (missing, not a number, out of
 * [lo, hi]). */
static int num(const struct yml_doc *d, yml_node map, const char *key, double lo, double hi,
               double *out, struct err *e)
{
    yml_node n = yml_map_get(d, map, key);
    if (!n) return yml_fail(d, map, e, "missing '%s'", key);
    const char *s = yml_scalar(d, n);
    char *end;
    const double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || !(v >= lo && v <= hi))
        return yml_fail(d, n, e, "'%s' must be a number from %g to %g", key, lo, hi);
    *out = v;
    return 0;
}

/* A string that becomes a CSV field (or a comment line): no comma, quote,
 * line break or other control character, which would split or end it. */
static int str(const struct yml_doc *d, yml_node map, const char *key, const char **out,
               struct err *e)
{
    yml_node n = yml_map_get(d, map, key);
    *out = n ? yml_scalar(d, n) : NULL;
    if (!*out) return yml_fail(d, n ? n : map, e, "'%s' must be a string", key);
    if (strlen(*out) > 256) /* a measurement CSV line holds at most 4094 characters */
        return yml_fail(d, n, e, "'%s' is longer than 256 characters", key);
    for (const unsigned char *c = (const unsigned char *)*out; *c; c++)
        if (*c == ',' || *c == '"' || *c < 0x20 || *c == 0x7f)
            return yml_fail(d, n, e, "'%s' must not hold a comma, a quote or a control "
                            "character (it becomes a field of the measurement CSV)", key);
    return 0;
}

/* A dtype name the measurement CSV knows. */
static int dtype_str(const struct yml_doc *d, yml_node map, const char *key, const char **out,
                     struct err *e)
{
    if (str(d, map, key, out, e)) return -1;
    enum dtype dt;
    if (dtype_parse(*out, &dt))
        return yml_fail(d, yml_map_get(d, map, key), e, "unknown dtype '%s' (fp32, bf16, fp16, "
                        "fp8, int8, int4)", *out);
    return 0;
}

/* A size (whole, 1 .. 2^31). */
static int dim(const struct yml_doc *d, yml_node map, const char *key, double *out, struct err *e)
{
    if (num(d, map, key, 1, 2147483648.0, out, e)) return -1;
    if (*out != (double)(long long)*out) return yml_fail(d, yml_map_get(d, map, key), e,
                                                         "'%s' must be a whole number", key);
    return 0;
}

/* Median and min in ms -> seconds. */
static int times(const struct yml_doc *d, yml_node r, double *med, double *mn, struct err *e)
{
    if (num(d, r, "ms", 1e-6, 3.6e6, med, e) || num(d, r, "ms_min", 1e-6, 3.6e6, mn, e))
        return -1;
    if (*mn > *med) return yml_fail(d, yml_map_get(d, r, "ms_min"), e, "ms_min above ms");
    *med *= 1e-3, *mn *= 1e-3;
    return 0;
}

static yml_node section(const struct yml_doc *d, const char *key, struct err *e)
{
    yml_node s = yml_map_get(d, yml_root(d), key);
    if (!s || yml_kind_of(d, s) != YML_SEQ) {
        yml_fail(d, s ? s : yml_root(d), e, "'%s' must be a list of rows", key);
        return 0;
    }
    return s;
}

static int sdpa_impl(const struct yml_doc *d, yml_node r, const char **impl, struct err *e)
{
    const char *b;
    if (str(d, r, "backend", &b, e)) return -1;
    static const char *const MAP[][2] = {{"flash", "fa2"}, {"cudnn", "cudnn"},
                                         {"efficient", "mem_efficient"},
                                         {"grouped_bmm", "eager"}};
    for (size_t i = 0; i < sizeof MAP / sizeof *MAP; i++)
        if (strcmp(b, MAP[i][0]) == 0) return *impl = MAP[i][1], 0;
    return yml_fail(d, yml_map_get(d, r, "backend"), e, "unknown backend '%s' (flash, cudnn, "
                    "efficient, grouped_bmm)", b);
}

/* Columns after kind,class,name: dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,
 * kv_width,count,m,n,k,flops,bytes,median_s,min_s,impl. */
static void row_mm(struct sbuf *b, const char *kind, const char *cls, const char *name,
                   const char *dt, double count, double m, double n, double k, const char *tail,
                   const char *impl)
{
    sb_printf(b, "%s,%s,%s,%s,,,,,,,,,,%.17g,%.17g,%.17g,%.17g,%s,%s\n", kind, cls, name, dt,
              count, m, n, k, tail, impl);
}
static void row_pw(struct sbuf *b, const char *kind, const char *cls, const char *name,
                   const char *dt, const char *out_dt, double rows, double cols, double flops_el)
{
    char k[32] = "";
    if (flops_el >= 0) snprintf(k, sizeof k, "%.17g", flops_el);
    sb_printf(b, "%s,%s,%s,%s,%s,,,,,,,,,,%.17g,%.17g,%s,,,,,eager\n", kind, cls, name, dt,
              out_dt, rows, cols, k);
}

int meas_import_json(const char *path, char **csv, struct err *e)
{
    struct meas_origin *o = NULL;
    int n = 0;
    const int rc = meas_import_json_at(path, csv, &o, &n, e);
    free(o);
    return rc;
}

int meas_import_json_at(const char *path, char **csv, struct meas_origin **origin, int *n_origin,
                        struct err *e)
{
    *origin = NULL;
    *n_origin = 0;
    struct yml_doc *d = NULL;
    if (yml_load(path, &d, e)) return -1;
    struct sbuf b = {.cur = {1, 1}};
    /* Python's json keeps the last of a repeated key; rather than guess, ask */
    if (yml_check_duplicates(d, e)) goto fail;
    yml_node root = yml_root(d), props = yml_map_get(d, root, "props"),
             ceil = yml_map_get(d, root, "ceilings");
    const char *dev, *torch;
    double sms, l2, copy, gemm;
    if (yml_kind_of(d, root) != YML_MAP) {
        yml_fail(d, root, e, "expected a JSON object with props, ceilings, gemms, prefill, "
                 "decode, mla_decode_bmm");
        goto fail;
    }
    if (!props || !ceil) {
        yml_fail(d, root, e, "missing '%s'", props ? "ceilings" : "props");
        goto fail;
    }
    if (str(d, root, "device", &dev, e) || str(d, root, "torch", &torch, e) ||
        num(d, props, "sms", 1, 1e6, &sms, e) || num(d, props, "l2_bytes", 0, 1e12, &l2, e) ||
        num(d, ceil, "copy_GBps", 1e-3, 1e7, &copy, e) ||
        num(d, ceil, "gemm8192_bf16_TFLOPs", 1e-3, 1e7, &gemm, e))
        goto fail;
    /* the path goes into a comment line: a line break in it would end the
     * comment, so control characters are written as '?' */
    char *shown = strdup(path);
    OB_ASSERT(shown);
    for (char *c = shown; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    sb_printf(&b, "# converted by `opbound measure import` from %s (kernels/measurements/"
              "README.md)\n# device: %s\n# torch %s\n# sm_count %.0f\n# l2_bytes %.0f\n"
              "# ceiling_copy_bytes_per_s %.6g\n# ceiling_gemm_bf16_flops_per_s %.6g\n%s\n",
              shown, dev, torch, sms, l2, copy * 1e9, gemm * 1e12, MEAS_HEADER_IMPL);
    free(shown);
    yml_node s;
    if (!(s = section(d, "gemms", e))) goto fail;
    for (int i = 0; i < yml_seq_len(d, s); i++) {
        yml_node r = yml_seq_at(d, s, i);
        sb_from(&b, d, r);
        const char *op, *dt;
        double M, N, K, med, mn, fl, by;
        if (str(d, r, "op", &op, e) || dtype_str(d, r, "dtype", &dt, e) || dim(d, r, "M", &M, e) ||
            dim(d, r, "N", &N, e) || dim(d, r, "K", &K, e) || times(d, r, &med, &mn, e) ||
            num(d, r, "flops", 0, 1e30, &fl, e) || num(d, r, "bytes", 0, 1e30, &by, e))
            goto fail;
        /* the benchmark's flops and bytes go in: meas_load checks them against
         * the cost model's counts */
        char tail[160];
        snprintf(tail, sizeof tail, "%.17g,%.17g,%.17g,%.17g", fl, by, med, mn);
        char name[64];
        snprintf(name, sizeof name, "%.40s.m%g", op, M);
        row_mm(&b, "gemm", "gemm", name, dt, 1, M, N, K, tail, "cublas");
    }
    if (!(s = section(d, "prefill", e))) goto fail;
    for (int i = 0; i < yml_seq_len(d, s); i++) {
        yml_node r = yml_seq_at(d, s, i);
        sb_from(&b, d, r);
        double B, H, Hkv, D, S, med, mn;
        const char *impl, *causal;
        if (dim(d, r, "B", &B, e) || dim(d, r, "H", &H, e) || dim(d, r, "Hkv", &Hkv, e) ||
            dim(d, r, "D", &D, e) || dim(d, r, "S", &S, e) || sdpa_impl(d, r, &impl, e) ||
            str(d, r, "causal", &causal, e))
            goto fail;
        if (yml_map_get(d, r, "error")) {
            sb_printf(&b, "# prefill %s B=%g H=%g Hkv=%g D=%g S=%g: the backend refused it\n",
                      impl, B, H, Hkv, D, S);
            continue;
        }
        yml_node cn = yml_map_get(d, r, "causal");
        if (yml_is_quoted(d, cn) || (strcmp(causal, "true") && strcmp(causal, "false"))) {
            yml_fail(d, cn, e, "'causal' must be true or false, got '%s'", causal);
            goto fail;
        }
        if (times(d, r, &med, &mn, e)) goto fail;
        const int c = strcmp(causal, "true") == 0;
        sb_printf(&b, "attention,prefill.%s,b%g.h%g.kv%g.d%g.s%g%s,bf16,bf16,%g,%g,%g,%g,%g,%g,"
                  "%.17g,%g,,,,,,,%.17g,%.17g,%s\n",
                  impl, B, H, Hkv, D, S, c ? ".causal" : "", B, H, D, D, S, S,
                  c ? S * (S + 1) / 2 : S * S, 2 * Hkv * D, med, mn, impl);
    }
    if (!(s = section(d, "decode", e))) goto fail;
    for (int i = 0; i < yml_seq_len(d, s); i++) {
        yml_node r = yml_seq_at(d, s, i);
        sb_from(&b, d, r);
        double B, H, Hkv, D, L, med, mn;
        const char *impl;
        if (dim(d, r, "B", &B, e) || dim(d, r, "H", &H, e) || dim(d, r, "Hkv", &Hkv, e) ||
            dim(d, r, "D", &D, e) || dim(d, r, "L", &L, e) || sdpa_impl(d, r, &impl, e))
            goto fail;
        if (yml_map_get(d, r, "error")) {
            sb_printf(&b, "# decode %s B=%g H=%g Hkv=%g D=%g L=%g: the backend refused it\n",
                      impl, B, H, Hkv, D, L);
            continue;
        }
        if (times(d, r, &med, &mn, e)) goto fail;
        char name[160];
        snprintf(name, sizeof name, "b%g.h%g.kv%g.d%g.l%g", B, H, Hkv, D, L);
        if (strcmp(impl, "eager") != 0) {
            sb_printf(&b, "attention,decode.%s,%s,bf16,bf16,%g,%g,%g,%g,1,%g,%g,%g,,,,,,,%.17g,"
                      "%.17g,%s\n", impl, name, B, H, D, D, L, L, 2 * Hkv * D, med, mn, impl);
            continue;
        }
        /* matmul(q as [B, Hkv, G, D], k^T) -> * scale -> .float() -> softmax ->
         * .to(bf16) -> matmul(., v): six kernels, scores materialised */
        const double G = H / Hkv;
        if (G != (double)(long long)G) {
            yml_fail(d, yml_map_get(d, r, "Hkv"), e, "H must be a multiple of Hkv");
            goto fail;
        }
        char tail[96];
        snprintf(tail, sizeof tail, ",,%.17g,%.17g", med, mn);
        const char *cls = "decode.eager";
        row_mm(&b, "batched_gemm", cls, name, "bf16", B * Hkv, G, L, D, tail, "eager");
        row_pw(&b, "+elementwise", cls, name, "bf16", "bf16", B * H, L, 1);
        row_pw(&b, "+copy", cls, name, "bf16", "fp32", B * H, L, -1);
        row_pw(&b, "+softmax", cls, name, "fp32", "", B * H, L, -1);
        row_pw(&b, "+copy", cls, name, "fp32", "bf16", B * H, L, -1);
        row_mm(&b, "+batched_gemm", cls, name, "bf16", B * Hkv, G, D, L, ",,,", "eager");
    }
    if (!(s = section(d, "mla_decode_bmm", e))) goto fail;
    for (int i = 0; i < yml_seq_len(d, s); i++) {
        yml_node r = yml_seq_at(d, s, i);
        sb_from(&b, d, r);
        double B, L, H, R, P, med, mn;
        if (dim(d, r, "B", &B, e) || dim(d, r, "L", &L, e) || dim(d, r, "heads", &H, e) ||
            dim(d, r, "kv_lora_rank", &R, e) || dim(d, r, "rope_dim", &P, e) ||
            times(d, r, &med, &mn, e))
            goto fail;
        /* bmm(q [B, H, R+P], latent^T [B, R+P, L]) -> .float() -> softmax ->
         * .to(bf16) -> bmm(., latent[:, :, :R]): five kernels */
        char name[160], tail[96];
        snprintf(name, sizeof name, "b%g.h%g.r%g.p%g.l%g", B, H, R, P, L);
        snprintf(tail, sizeof tail, ",,%.17g,%.17g", med, mn);
        const char *cls = "mla_decode.eager";
        row_mm(&b, "batched_gemm", cls, name, "bf16", B, H, L, R + P, tail, "eager");
        row_pw(&b, "+copy", cls, name, "bf16", "fp32", B * H, L, -1);
        row_pw(&b, "+softmax", cls, name, "fp32", "", B * H, L, -1);
        row_pw(&b, "+copy", cls, name, "fp32", "bf16", B * H, L, -1);
        row_mm(&b, "+batched_gemm", cls, name, "bf16", B, H, R, L, ",,,", "eager");
    }
    yml_free(d);
    *csv = b.s;
    *origin = b.o;
    *n_origin = b.no;
    return 0;
fail:
    yml_free(d);
    free(b.s);
    free(b.o);
    return -1;
}
