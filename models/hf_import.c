/* hf_import.c - Hugging Face config.json families -> opbound YAML; see
 * hf_import.h. Field meanings follow the transformers configuration classes
 * (LlamaConfig, MistralConfig, MixtralConfig, Qwen2Config, Qwen3Config,
 * Qwen3MoeConfig, DeepseekV2Config, DeepseekV3Config, Phi3Config). */
#include "hf_import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/core/yml.h"
#include "model.h"

/* ---- growing string ---- */

struct sb {
    char *buf;
    size_t n, cap;
};

static void sb_printf(struct sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(s->buf ? s->buf + s->n : NULL, s->buf ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        OB_ASSERT(k >= 0);
        if (s->buf && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        s->cap = (s->cap + (size_t)k + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
        OB_ASSERT(s->buf);
    }
}

/* ---- reading fields ---- */

#define MAX_USED 96

struct conv {
    const struct yml_doc *d;
    yml_node root;
    const char *path;
    struct sb out;  /* the description: header, then body */
    struct sb body; /* layer groups, written by the family's converter */
    struct err *e;
    struct hf_notes *notes;
    const char *used[MAX_USED];
    int n_used;
    /* the description being built */
    int64_t hidden, layers, vocab;
    bool tied;
    bool post_norms; /* Gemma's sandwich norms */
    const char *wdt, *adt;
    const char *edt; /* dtypes.embedding, or NULL (the weight dtype) */
};

static void use(struct conv *c, const char *name)
{
    for (int i = 0; i < c->n_used; i++)
        if (strcmp(c->used[i], name) == 0) return;
    OB_ASSERT(c->n_used < MAX_USED);
    c->used[c->n_used++] = name;
}

static void note(struct conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct conv *c, const char *fmt, ...)
{
    if (!c->notes || c->notes->n_ignored == HF_MAX_NOTES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->notes->ignored[c->notes->n_ignored++], sizeof c->notes->ignored[0], fmt, ap);
    va_end(ap);
}

/* The field's node, or 0 if absent or JSON null. Marks it used. */
static yml_node field(struct conv *c, const char *name)
{
    use(c, name);
    yml_node n = yml_map_get(c->d, c->root, name);
    const char *s = n ? yml_scalar(c->d, n) : NULL;
    if (s && strcmp(s, "null") == 0) return 0;
    return n;
}

static int fail_at(struct conv *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct conv *c, const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    yml_node n = yml_map_get(c->d, c->root, name);
    return yml_fail(c->d, n ? n : c->root, c->e, "%s", msg);
}

/* Integer field in [min, max]; required unless *out holds a default and
 * required == false. */
static int get_int(struct conv *c, const char *name, bool required, int64_t min, int64_t max,
                   int64_t *out)
{
    yml_node n = field(c, name);
    if (!n) {
        if (required) return fail_at(c, name, "missing required field '%s'", name);
        return 0;
    }
    const char *s = yml_scalar(c->d, n);
    if (s && yml_is_quoted(c->d, n))
        return yml_fail(c->d, n, c->e, "'%s' must be an integer, got the string \"%s\"", name, s);
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || end == s || *end)
        return yml_fail(c->d, n, c->e, "'%s' must be an integer, got %s", name,
                        s ? s : "a list or object");
    /* the text as written: strtoll saturates what does not fit 64 bits */
    if (errno == ERANGE || v < min || v > max)
        return yml_fail(c->d, n, c->e, "'%s' must be between %lld and %lld, got %s", name,
                        (long long)min, (long long)max, s);
    *out = v;
    return 0;
}

/* Number field in [min, max] (decimal or e-notation); absent leaves *out. */
static int get_num(struct conv *c, const char *name, double min, double max, double *out)
{
    yml_node n = field(c, name);
    if (!n) return 0;
    const char *s = yml_scalar(c->d, n);
    if (s && yml_is_quoted(c->d, n))
        return yml_fail(c->d, n, c->e, "'%s' must be a number, got the string \"%s\"", name, s);
    char *end = NULL;
    errno = 0;
    const double v = s ? strtod(s, &end) : 0;
    bool ok = s && end != s && !*end;
    for (const char *p = s; ok && *p; p++) /* strtod also takes inf, nan and hex */
        ok = strchr("0123456789+-.eE", *p) != NULL;
    if (!ok)
        return yml_fail(c->d, n, c->e, "'%s' must be a number, got %s", name,
                        s ? s : "a list or object");
    if (errno == ERANGE || !(v >= min && v <= max))
        return yml_fail(c->d, n, c->e, "'%s' must be between %g and %g, got %s", name, min, max,
                        s);
    *out = v;
    return 0;
}

static int get_bool(struct conv *c, const char *name, bool *out)
{
    yml_node n = field(c, name);
    if (!n) return 0;
    const char *s = yml_scalar(c->d, n);
    if (s && strcmp(s, "true") == 0) *out = true;
    else if (s && strcmp(s, "false") == 0) *out = false;
    else return yml_fail(c->d, n, c->e, "'%s' must be true or false", name);
    return 0;
}

static const char *get_str(struct conv *c, const char *name)
{
    yml_node n = field(c, name);
    return n ? yml_scalar(c->d, n) : NULL;
}

/* ---- shared pieces of the families ---- */

static const char *torch_dtype(const char *s)
{
    if (!s) return NULL;
    if (strcmp(s, "bfloat16") == 0) return "bf16";
    if (strcmp(s, "float16") == 0) return "fp16";
    if (strcmp(s, "float32") == 0) return "fp32";
    return NULL;
}

/* Whether sequence node `list` (modules_to_not_convert, ignore) names the
 * lm_head (an entry "lm_head", or one ending in ".lm_head"). */
static bool names_lm_head(struct conv *c, yml_node list)
{
    for (int i = 0; i < yml_seq_len(c->d, list); i++) {
        const char *s = yml_scalar(c->d, yml_seq_at(c->d, list, i));
        const size_t n = s ? strlen(s) : 0;
        if (n >= 7 && strcmp(s + n - 7, "lm_head") == 0 && (n == 7 || s[n - 8] == '.'))
            return true;
    }
    return false;
}

/* quantization_config: the format of the quantised weights (dtypes.weight)
 * and the one the embedding table and lm_head keep (dtypes.embedding), which
 * the formats leave unquantised (docs/import.md, "Quantised checkpoints"):
 *   awq, gptq  4-bit groups of group_size (128: int4_g128) or 8-bit; only the
 *              decoder's linear layers; lm_head only with "lm_head": true
 *   fp8        e4m3 weights (DeepSeek-V3's 128 x 128 blocks); linear layers
 *   compressed-tensors  config_groups' weights (num_bits, type, group_size);
 *              targets Linear; lm_head unless in "ignore"
 *   mxfp4      gpt-oss: the experts only; attention, router, embed, lm_head in
 *              modules_to_not_convert (every weight but those is taken as mxfp4)
 * The embedding table is never quantised by these formats. */
static int read_quant(struct conv *c, yml_node q)
{
    const char *m = yml_scalar(c->d, yml_map_get(c->d, q, "quant_method"));
    const char *bits = yml_scalar(c->d, yml_map_get(c->d, q, "bits"));
    const char *gs = yml_scalar(c->d, yml_map_get(c->d, q, "group_size"));
    const char *keep = c->wdt; /* the checkpoint's dtype (torch_dtype) */
    bool head_q = false;       /* lm_head quantised too */
    if (m && strcmp(m, "fp8") == 0) {
        c->wdt = "fp8";
    } else if (m && strcmp(m, "mxfp4") == 0) {
        c->wdt = "mxfp4";
        note(c, "quantization_config: mxfp4 (4 bits + an 8-bit scale per 32) taken for every "
                "weight but the embedding and lm_head; the attention and router weights it "
                "leaves in %s are counted at mxfp4 too", keep);
    } else if (m && (strcmp(m, "gptq") == 0 || strcmp(m, "awq") == 0) && bits &&
               (strcmp(bits, "4") == 0 || strcmp(bits, "8") == 0)) {
        if (strcmp(bits, "8") == 0) c->wdt = "int8";
        else if (gs && strcmp(gs, "128") == 0) c->wdt = "int4_g128";
        else {
            c->wdt = "int4";
            note(c, "quantization_config: group_size %s: int4 counted without group scales "
                    "(int4_g128 is the format with scales, for groups of 128)", gs ? gs : "absent");
        }
        const char *lh = yml_scalar(c->d, yml_map_get(c->d, q, "lm_head"));
        head_q = lh && strcmp(lh, "true") == 0;
    } else if (m && strcmp(m, "compressed-tensors") == 0) {
        yml_node groups = yml_map_get(c->d, q, "config_groups");
        yml_node g1 = yml_map_len(c->d, groups) > 0
                          ? yml_map_get(c->d, groups,
                                        yml_scalar(c->d, yml_map_key_at(c->d, groups, 0)))
                          : 0;
        yml_node w = yml_map_get(c->d, g1, "weights");
        const char *nb = yml_scalar(c->d, yml_map_get(c->d, w, "num_bits"));
        const char *ty = yml_scalar(c->d, yml_map_get(c->d, w, "type"));
        const char *wg = yml_scalar(c->d, yml_map_get(c->d, w, "group_size"));
        if (!nb || !ty)
            return yml_fail(c->d, w ? w : q, c->e,
                            "quantization_config: compressed-tensors without config_groups.*."
                            "weights num_bits and type");
        if (strcmp(nb, "8") == 0 && strcmp(ty, "float") == 0) c->wdt = "fp8";
        else if (strcmp(nb, "8") == 0 && strcmp(ty, "int") == 0) c->wdt = "int8";
        else if (strcmp(nb, "4") == 0 && strcmp(ty, "int") == 0)
            c->wdt = wg && strcmp(wg, "128") == 0 ? "int4_g128" : "int4";
        else if (strcmp(nb, "4") == 0 && strcmp(ty, "float") == 0)
            c->wdt = wg && strcmp(wg, "32") == 0 ? "mxfp4" : "nvfp4";
        else
            return yml_fail(c->d, w, c->e,
                            "quantization_config: compressed-tensors weights of %s-bit %s are "
                            "not modelled (8-bit float/int, 4-bit int/float are)", nb, ty);
        if (yml_map_len(c->d, groups) > 1)
            note(c, "quantization_config: %d config_groups; the first one's weight format is "
                    "taken for every quantised layer", yml_map_len(c->d, groups));
        head_q = !names_lm_head(c, yml_map_get(c->d, q, "ignore"));
    } else {
        return yml_fail(c->d, q, c->e,
                        "quantization_config: method '%s' is not modelled (fp8, awq, gptq, "
                        "compressed-tensors, mxfp4 are)",
                        m ? m : "?");
    }
    if (head_q) {
        c->edt = NULL; /* both tables at one format: the lm_head's */
        note(c, "quantization_config: lm_head quantised (%s); the embedding table is counted "
                "at %s too", c->wdt, c->wdt);
    } else {
        c->edt = keep;
        note(c, "quantization_config: %s weights; embedding and lm_head kept at %s "
                "(dtypes.embedding), as the %s format leaves them", c->wdt, keep, m);
    }
    return 0;
}

/* hidden_size, num_hidden_layers, vocab_size, tie_word_embeddings, dtypes,
 * quantization. tied_default is the family's configuration-class default. */
static int read_common(struct conv *c, bool tied_default)
{
    if (get_int(c, "hidden_size", true, 1, 1048576, &c->hidden) ||
        get_int(c, "num_hidden_layers", true, 1, 100000, &c->layers) ||
        get_int(c, "vocab_size", true, 1, 1 << 30, &c->vocab))
        return -1;
    c->tied = tied_default;
    if (!yml_map_get(c->d, c->root, "tie_word_embeddings"))
        note(c, "tie_word_embeddings: absent, the family default (%s) applies",
             tied_default ? "true" : "false");
    if (get_bool(c, "tie_word_embeddings", &c->tied)) return -1;
    const char *dt = get_str(c, "torch_dtype");
    const char *dt2 = get_str(c, "dtype"); /* newer transformers name */
    const char *name = dt ? "torch_dtype" : "dtype";
    if (!dt) dt = dt2;
    c->wdt = c->adt = "bf16";
    if (dt) {
        if (!torch_dtype(dt)) return fail_at(c, name, "unsupported %s '%s'", name, dt);
        c->wdt = c->adt = torch_dtype(dt);
    } else {
        note(c, "torch_dtype: absent, weights and activations taken as bf16");
    }
    yml_node q = field(c, "quantization_config");
    return q ? read_quant(c, q) : 0;
}

static int require_act(struct conv *c, const char *field_name, const char *want)
{
    const char *a = get_str(c, field_name);
    if (a && strcmp(a, want) != 0)
        return fail_at(c, field_name, "%s '%s' is not modelled for this family (expected '%s')",
                       field_name, a, want);
    return 0;
}

/* A model name from the path: the file's stem, or the folder's name for a
 * file called config.json (".../Meta-Llama-3-8B/config.json"). */
static void model_name(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, "config.json") == 0 && base != path) {
        const char *end = base - 1, *start = end;
        while (start > path && start[-1] != '/') start--;
        snprintf(out, n, "%.*s", (int)(end - start), start);
    } else {
        const char *dot = strrchr(base, '.');
        snprintf(out, n, "%.*s", dot ? (int)(dot - base) : (int)strlen(base), base);
    }
    if (!out[0]) snprintf(out, n, "imported");
}

/* Length of the longest prefix of s (at most max bytes) that ends on a
 * UTF-8 character boundary. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

static bool utf8_valid(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int k = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (k < 0 || (k == 1 && *p < 0xC2)) return false;
        for (int i = 1; i <= k; i++)
            if ((p[i] & 0xC0) != 0x80) return false;
        p += k + 1;
    }
    return true;
}

/* Appends the first n bytes of s as a YAML double-quoted scalar: '"' and
 * '\' escaped, control characters as \xNN, and, when s is not valid UTF-8,
 * every byte above 0x7F as \xNN too (so the generated text always loads;
 * issue 18: a path holding '"' or '\' made invalid YAML). */
static void sb_quoted(struct sb *o, const char *s, size_t n)
{
    const bool utf8 = utf8_valid(s);
    sb_printf(o, "\"");
    for (size_t i = 0; i < n; i++) {
        const unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') sb_printf(o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7F || (ch >= 0x80 && !utf8)) sb_printf(o, "\\x%02X", ch);
        else sb_printf(o, "%c", ch);
    }
    sb_printf(o, "\"");
}

/* Writes the header of the description (after the converter ran). The name
 * (at most 63 bytes) and source (at most 511) are cut to the model file's
 * limits at a character boundary; a long source keeps its end. */
static void emit_header(struct conv *c, const char *family)
{
    char name[256];
    model_name(c->path, name, sizeof name);
    sb_printf(&c->out,
              "# Imported by opbound from a Hugging Face config.json (model_type %s).\nname: ",
              family);
    sb_quoted(&c->out, name, utf8_prefix(name, 63));
    sb_printf(&c->out, "\nfamily: %s\nsource: ", family);
    const size_t plen = strlen(c->path);
    if (plen <= 511) {
        sb_quoted(&c->out, c->path, plen);
    } else { /* "..." and the last characters */
        const char *tail = c->path + plen - 500;
        while (((unsigned char)*tail & 0xC0) == 0x80) tail++;
        char buf[512];
        snprintf(buf, sizeof buf, "...%s", tail);
        sb_quoted(&c->out, buf, strlen(buf));
    }
    sb_printf(&c->out,
              "\nhidden: %lld\nlayers: %lld\n"
              "vocab: %lld\ntied_embeddings: %s\nnorm: rmsnorm\n%s"
              "dtypes: {weight: %s, activation: %s, kv: %s%s%s}\ngroups:\n",
              (long long)c->hidden, (long long)c->layers,
              (long long)c->vocab, c->tied ? "true" : "false",
              c->post_norms ? "post_norms: true\n" : "", c->wdt,
              strcmp(c->adt, "fp32") == 0 ? "fp32" : c->adt, c->adt,
              c->edt ? ", embedding: " : "", c->edt ? c->edt : "");
}

/* Emits layer groups from per-layer block texts, merging consecutive equal
 * layers. attn[i] and ffn[i] are flow mappings. */
static void emit_groups(struct conv *c, char (*attn)[256], char (*ffn)[256])
{
    int64_t i = 0;
    while (i < c->layers) {
        int64_t j = i + 1;
        while (j < c->layers && strcmp(attn[j], attn[i]) == 0 && strcmp(ffn[j], ffn[i]) == 0) j++;
        sb_printf(&c->body, "  - repeat: %lld\n    attention: %s\n    ffn: %s\n",
                  (long long)(j - i), attn[i], ffn[i]);
        i = j;
    }
}

/* Heads of the GQA family: num_attention_heads, num_key_value_heads (default:
 * heads), head_dim (default hidden / heads, which must divide). */
static int read_heads(struct conv *c, int64_t *h, int64_t *kv, int64_t *d)
{
    if (get_int(c, "num_attention_heads", true, 1, 65536, h)) return -1;
    *kv = *h;
    if (get_int(c, "num_key_value_heads", false, 1, 65536, kv)) return -1;
    if (*h % *kv)
        return fail_at(c, "num_key_value_heads",
                       "num_attention_heads (%lld) is not a multiple of num_key_value_heads "
                       "(%lld)",
                       (long long)*h, (long long)*kv);
    *d = 0;
    if (get_int(c, "head_dim", false, 1, 65536, d)) return -1;
    if (*d == 0) {
        if (c->hidden % *h)
            return fail_at(c, "num_attention_heads",
                           "hidden_size (%lld) is not divisible by num_attention_heads (%lld) and "
                           "head_dim is not given",
                           (long long)c->hidden, (long long)*h);
        *d = c->hidden / *h;
    }
    return 0;
}

/* How a family's transformers implementation treats `sliding_window`:
 * - SWA_IGNORED (llama): LlamaConfig has no window and LlamaAttention masks
 *   nothing; the field, and use_sliding_window, are listed as ignored.
 * - SWA_ALWAYS (mistral, mixtral, phi3, gemma2/3, gpt_oss): the attention
 *   passes config.sliding_window (null = none) to its kernel; a
 *   use_sliding_window field is ignored.
 * - SWA_IF_ENABLED (qwen2, qwen3, qwen3_moe): the configuration sets
 *   sliding_window to None unless use_sliding_window is true.
 * dflt is the configuration class's default when the field is absent (0 =
 * None): MistralConfig, Qwen2/Qwen3Config, Gemma2/Gemma3TextConfig 4096,
 * GptOssConfig 128, MixtralConfig and Phi3Config None. */
enum swa_rule { SWA_IGNORED, SWA_ALWAYS, SWA_IF_ENABLED };

/* The sliding window in force: 0 when ignored, none, disabled, or not shorter
 * than max_position_embeddings (then it never masks anything). */
static int window_of(struct conv *c, const char *family, enum swa_rule rule, int64_t dflt,
                     int64_t *window)
{
    static const char *const FIELDS[] = {"sliding_window", "use_sliding_window"};
    *window = 0;
    if (rule == SWA_IGNORED) {
        for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
            if (yml_map_get(c->d, c->root, FIELDS[i])) {
                use(c, FIELDS[i]);
                note(c, "%s: ignored, transformers' %s has no sliding window (every layer "
                        "attends to the whole context)",
                     FIELDS[i], family);
            }
        return 0;
    }
    bool enabled = rule == SWA_ALWAYS;
    if (rule == SWA_IF_ENABLED) {
        if (get_bool(c, "use_sliding_window", &enabled)) return -1;
    } else if (yml_map_get(c->d, c->root, "use_sliding_window")) {
        use(c, "use_sliding_window");
        note(c, "use_sliding_window: ignored, transformers' %s applies sliding_window "
                "whenever it is set",
             family);
    }
    int64_t w = 0, maxpos = 0;
    const bool given = yml_map_get(c->d, c->root, "sliding_window") != 0; /* null counts */
    if (get_int(c, "sliding_window", false, 0, INT64_MAX, &w) ||
        get_int(c, "max_position_embeddings", false, 0, INT64_MAX, &maxpos))
        return -1;
    if (!given && dflt > 0 && enabled) {
        w = dflt;
        note(c, "sliding_window: absent, the family default (%lld) applies", (long long)dflt);
    }
    if (!enabled) {
        if (w) note(c, "sliding_window: %lld not in force (use_sliding_window is false)", (long long)w);
        return 0;
    }
    if (w == 0 || (maxpos > 0 && w >= maxpos)) {
        if (w)
            note(c, "sliding_window: %lld covers max_position_embeddings: full attention",
                 (long long)w);
        return 0;
    }
    *window = w;
    return 0;
}

/* `layer_types` (optional): a list with one "sliding_attention" or
 * "full_attention" per layer; anything else is refused at its position. */
static int get_layer_types(struct conv *c, yml_node *out)
{
    *out = 0;
    const yml_node t = field(c, "layer_types");
    if (!t) return 0;
    if (yml_kind_of(c->d, t) != YML_SEQ)
        return yml_fail(c->d, t, c->e, "'layer_types' must be a list, one entry per layer");
    if (yml_seq_len(c->d, t) != c->layers)
        return yml_fail(c->d, t, c->e, "'layer_types' has %d entries, num_hidden_layers is %lld",
                        yml_seq_len(c->d, t), (long long)c->layers);
    for (int i = 0; i < yml_seq_len(c->d, t); i++) {
        const yml_node x = yml_seq_at(c->d, t, i);
        const char *v = yml_scalar(c->d, x);
        if (!v || (strcmp(v, "sliding_attention") != 0 && strcmp(v, "full_attention") != 0))
            return yml_fail(c->d, x, c->e,
                            "layer_types[%d] must be \"sliding_attention\" or \"full_attention\"",
                            i);
    }
    *out = t;
    return 0;
}

/* Whether layer i is a sliding-window layer: `layer_types` when the config
 * lists it ("sliding_attention"), else dflt. */
static bool layer_sliding(struct conv *c, yml_node types, int64_t i, bool dflt)
{
    if (!types || i >= yml_seq_len(c->d, types)) return dflt;
    const char *s = yml_scalar(c->d, yml_seq_at(c->d, types, (int)i));
    return s && strcmp(s, "sliding_attention") == 0;
}

/* Attention text for a GQA-family layer: kind swa when windowed (window > 0)
 * or when swa-only keys follow (force_swa, e.g. sink_logits), else gqa. */
static void gqa_text(char *out, size_t n, int64_t h, int64_t kv, int64_t d, int64_t window,
                     const char *extra, bool force_swa)
{
    if (window <= 0 && force_swa)
        snprintf(out, n, "{kind: swa, heads: %lld, kv_heads: %lld, head_dim: %lld%s}", (long long)h,
                 (long long)kv, (long long)d, extra);
    else if (window > 0)
        snprintf(out, n, "{kind: swa, heads: %lld, kv_heads: %lld, head_dim: %lld, window: %lld%s}",
                 (long long)h, (long long)kv, (long long)d, (long long)window, extra);
    else
        snprintf(out, n, "{kind: gqa, heads: %lld, kv_heads: %lld, head_dim: %lld%s}", (long long)h,
                 (long long)kv, (long long)d, extra);
}

/* llama, mistral, phi3 and qwen2: GQA + SwiGLU, optional biases; the
 * window as the family's transformers implementation applies it (swa_rule).
 * Qwen2 windows the layers from max_window_layers on (Qwen2Config's default
 * layer_types), or those layer_types names "sliding_attention". */
static int conv_llama(struct conv *c, const char *family, enum swa_rule rule, int64_t dflt,
                      bool qkv_bias_default)
{
    int64_t h, kv, d, inter;
    bool attn_bias = qkv_bias_default, mlp_bias = false;
    if (read_common(c, false) || read_heads(c, &h, &kv, &d) ||
        get_int(c, "intermediate_size", true, 1, 1 << 24, &inter) ||
        get_bool(c, "attention_bias", &attn_bias) || get_bool(c, "mlp_bias", &mlp_bias) ||
        require_act(c, "hidden_act", "silu"))
        return -1;
    const bool qwen2 = strcmp(family, "qwen2") == 0;
    /* max_window_layers: Qwen2Config's default 28; any value >= the layer
     * count leaves no sliding layer (Qwen2.5-14B/32B ship 70 with 48/64). */
    int64_t window = 0, window_from = qwen2 ? 28 : 0; /* other families: every layer */
    if (window_of(c, family, rule, dflt, &window)) return -1;
    if (qwen2 && get_int(c, "max_window_layers", false, 0, INT64_C(1) << 40, &window_from))
        return -1;
    yml_node types = 0;
    if (qwen2 && get_layer_types(c, &types)) return -1;
    char(*attn)[256] = calloc((size_t)c->layers, 256), (*ffn)[256] = calloc((size_t)c->layers, 256);
    OB_ASSERT(attn && ffn);
    char extra[64];
    snprintf(extra, sizeof extra, "%s%s", attn_bias ? ", qkv_bias: true" : "",
             attn_bias && !qkv_bias_default ? ", o_bias: true" : "");
    for (int64_t i = 0; i < c->layers; i++) {
        const bool sliding = layer_sliding(c, types, i, i >= window_from);
        gqa_text(attn[i], 256, h, kv, d, sliding ? window : 0, extra, false);
        snprintf(ffn[i], 256, "{kind: swiglu, intermediate: %lld%s}", (long long)inter,
                 mlp_bias ? ", bias: true" : "");
    }
    emit_groups(c, attn, ffn);
    free(attn);
    free(ffn);
    return 0;
}

static int conv_llama_only(struct conv *c) { return conv_llama(c, "llama", SWA_IGNORED, 0, false); }
static int conv_mistral(struct conv *c) { return conv_llama(c, "mistral", SWA_ALWAYS, 4096, false); }
static int conv_phi3(struct conv *c) { return conv_llama(c, "phi3", SWA_ALWAYS, 0, false); }

/* Qwen2 puts biases on q, k, v (not o). */
static int conv_qwen2(struct conv *c) { return conv_llama(c, "qwen2", SWA_IF_ENABLED, 4096, true); }

static int conv_mixtral(struct conv *c)
{
    int64_t h, kv, d, inter, e, k;
    if (read_common(c, false) || read_heads(c, &h, &kv, &d) ||
        get_int(c, "intermediate_size", true, 1, 1 << 24, &inter) ||
        get_int(c, "num_local_experts", true, 1, 1048576, &e) ||
        get_int(c, "num_experts_per_tok", true, 1, e, &k) ||
        require_act(c, "hidden_act", "silu"))
        return -1;
    int64_t window = 0;
    if (window_of(c, "mixtral", SWA_ALWAYS, 0, &window)) return -1;
    char attn[1][256], ffn[1][256];
    gqa_text(attn[0], 256, h, kv, d, window, "", false);
    snprintf(ffn[0], 256, "{kind: moe, experts: %lld, top_k: %lld, expert_intermediate: %lld}",
             (long long)e, (long long)k, (long long)inter);
    sb_printf(&c->body, "  - repeat: %lld\n    attention: %s\n    ffn: %s\n",
              (long long)c->layers, attn[0], ffn[0]);
    return 0;
}

/* Qwen3 and Qwen3-MoE: GQA with per-head q/k RMSNorm; MoE on layer i when
 * num_experts > 0, (i + 1) % decoder_sparse_step == 0 and i is not in
 * mlp_only_layers (Qwen3MoeDecoderLayer). The window only with
 * use_sliding_window, on the layers from max_window_layers on (Qwen3Config's
 * default layer_types; Qwen3-MoE as released) or those a Qwen3 layer_types
 * names "sliding_attention". */
static int conv_qwen3_any(struct conv *c, bool moe)
{
    int64_t h, kv, d, inter = 0, e = 0, k = 0, ie = 0, step = 1;
    bool attn_bias = false;
    if (read_common(c, false) || read_heads(c, &h, &kv, &d) ||
        get_bool(c, "attention_bias", &attn_bias) || require_act(c, "hidden_act", "silu"))
        return -1;
    int64_t window = 0, window_from = 28; /* Qwen3(Moe)Config's default max_window_layers */
    if (window_of(c, moe ? "qwen3_moe" : "qwen3", SWA_IF_ENABLED, 4096, &window) ||
        get_int(c, "max_window_layers", false, 0, INT64_C(1) << 40, &window_from))
        return -1;
    yml_node types = 0;
    if (!moe && get_layer_types(c, &types)) return -1;
    if (get_int(c, "intermediate_size", !moe, 1, 1 << 24, &inter)) return -1;
    yml_node only = 0;
    if (moe) {
        if (get_int(c, "num_experts", true, 0, 1048576, &e) ||
            get_int(c, "num_experts_per_tok", e > 0, 1, e > 0 ? e : 1, &k) ||
            get_int(c, "moe_intermediate_size", e > 0, 1, 1 << 24, &ie) ||
            get_int(c, "decoder_sparse_step", false, 1, 100000, &step))
            return -1;
        only = field(c, "mlp_only_layers");
        if (only && yml_kind_of(c->d, only) != YML_SEQ)
            return fail_at(c, "mlp_only_layers", "'mlp_only_layers' must be a list of layer indices");
    }
    char(*attn)[256] = calloc((size_t)c->layers, 256), (*ffn)[256] = calloc((size_t)c->layers, 256);
    OB_ASSERT(attn && ffn);
    int rc = 0;
    for (int64_t i = 0; i < c->layers; i++) {
        gqa_text(attn[i], 256, h, kv, d, layer_sliding(c, types, i, i >= window_from) ? window : 0,
                 attn_bias ? ", qk_norm: true, qkv_bias: true, o_bias: true" : ", qk_norm: true",
                 false);
        bool dense = !moe || e == 0 || (i + 1) % step != 0;
        for (int j = 0; only && j < yml_seq_len(c->d, only); j++) {
            const char *s = yml_scalar(c->d, yml_seq_at(c->d, only, j));
            if (s && strtoll(s, NULL, 10) == i) dense = true;
        }
        if (dense && inter == 0) {
            rc = fail_at(c, "intermediate_size", "layer %lld is dense but intermediate_size is missing",
                         (long long)i);
            break;
        }
        if (dense)
            snprintf(ffn[i], 256, "{kind: swiglu, intermediate: %lld}", (long long)inter);
        else
            snprintf(ffn[i], 256, "{kind: moe, experts: %lld, top_k: %lld, expert_intermediate: %lld}",
                     (long long)e, (long long)k, (long long)ie);
    }
    if (rc == 0) emit_groups(c, attn, ffn);
    free(attn);
    free(ffn);
    return rc;
}

static int conv_qwen3(struct conv *c) { return conv_qwen3_any(c, false); }
static int conv_qwen3_moe(struct conv *c) { return conv_qwen3_any(c, true); }

/* DeepSeek-V2/V3 (and Kimi-K2, which uses the V3 architecture): MLA; the first
 * first_k_dense_replace layers dense, then MoE on layers with
 * i % moe_layer_freq == 0; the noaux_tc router adds a per-expert bias. The
 * multi-token-prediction layers (num_nextn_predict_layers) are not counted. */
static int conv_deepseek(struct conv *c)
{
    int64_t h, qr = 0, kvr, dn, dr, dv, inter, e, k, ie, shared = 0, first = 0, freq = 1, mtp = 0;
    if (read_common(c, false) || get_int(c, "num_attention_heads", true, 1, 65536, &h) ||
        get_int(c, "q_lora_rank", false, 1, 1048576, &qr) ||
        get_int(c, "kv_lora_rank", true, 1, 1048576, &kvr) ||
        get_int(c, "qk_nope_head_dim", true, 1, 65536, &dn) ||
        get_int(c, "qk_rope_head_dim", true, 0, 65536, &dr) ||
        get_int(c, "v_head_dim", true, 1, 65536, &dv) ||
        get_int(c, "intermediate_size", true, 1, 1 << 24, &inter) ||
        get_int(c, "n_routed_experts", true, 1, 1048576, &e) ||
        get_int(c, "num_experts_per_tok", true, 1, e, &k) ||
        get_int(c, "moe_intermediate_size", true, 1, 1 << 24, &ie) ||
        get_int(c, "n_shared_experts", false, 0, 1024, &shared) ||
        get_int(c, "first_k_dense_replace", false, 0, c->layers, &first) ||
        get_int(c, "moe_layer_freq", false, 1, 100000, &freq) ||
        get_int(c, "num_nextn_predict_layers", false, 0, 100, &mtp) ||
        require_act(c, "hidden_act", "silu"))
        return -1;
    use(c, "num_key_value_heads"); /* equals the heads; MLA has no KV heads */
    bool attn_bias = false;
    if (get_bool(c, "attention_bias", &attn_bias)) return -1;
    if (attn_bias) return fail_at(c, "attention_bias", "attention_bias true is not modelled for MLA");
    if (mtp) note(c, "num_nextn_predict_layers: %lld multi-token-prediction layer(s) not counted", (long long)mtp);
    const char *method = get_str(c, "topk_method");
    const bool bias = method && strcmp(method, "noaux_tc") == 0;
    char mla[256];
    snprintf(mla, sizeof mla,
             "{kind: mla, heads: %lld, %skv_lora_rank: %lld, qk_nope_head_dim: %lld, "
             "qk_rope_head_dim: %lld, v_head_dim: %lld}",
             (long long)h, "", (long long)kvr, (long long)dn, (long long)dr, (long long)dv);
    if (qr)
        snprintf(mla, sizeof mla,
                 "{kind: mla, heads: %lld, q_lora_rank: %lld, kv_lora_rank: %lld, "
                 "qk_nope_head_dim: %lld, qk_rope_head_dim: %lld, v_head_dim: %lld}",
                 (long long)h, (long long)qr, (long long)kvr, (long long)dn, (long long)dr,
                 (long long)dv);
    char(*attn)[256] = calloc((size_t)c->layers, 256), (*ffn)[256] = calloc((size_t)c->layers, 256);
    OB_ASSERT(attn && ffn);
    for (int64_t i = 0; i < c->layers; i++) {
        snprintf(attn[i], 256, "%s", mla);
        if (i >= first && i % freq == 0) {
            char sh[96] = "";
            if (shared)
                snprintf(sh, sizeof sh, ", shared_experts: %lld, shared_intermediate: %lld",
                         (long long)shared, (long long)ie);
            snprintf(ffn[i], 256,
                     "{kind: moe, experts: %lld, top_k: %lld, expert_intermediate: %lld%s%s}",
                     (long long)e, (long long)k, (long long)ie, sh,
                     bias ? ", router_bias: true" : "");
        } else {
            snprintf(ffn[i], 256, "{kind: swiglu, intermediate: %lld}", (long long)inter);
        }
    }
    emit_groups(c, attn, ffn);
    free(attn);
    free(ffn);
    return 0;
}

/* LFM2 (Liquid AI; transformers Lfm2Config/Lfm2MLP): gated short-convolution
 * layers and GQA layers with q/k norms (full_attn_idxs, or layer_types), each
 * followed by a SwiGLU whose width is block_ff_dim, auto-adjusted when
 * block_auto_adjust_ff_dim: int(2*ff/3), times block_ffn_dim_multiplier,
 * rounded up to a multiple of block_multiple_of. */
static int conv_lfm2(struct conv *c)
{
    int64_t h, kv, d, kernel = 3, ff = 0, mult_of = 256;
    bool adjust = false, conv_bias = false;
    if (read_common(c, true)) return -1;
    bool tied = c->tied;
    if (get_bool(c, "tie_embedding", &tied)) return -1; /* LFM2's own name */
    c->tied = tied;
    if (read_heads(c, &h, &kv, &d) || get_int(c, "conv_L_cache", true, 1, 1024, &kernel) ||
        get_bool(c, "conv_bias", &conv_bias) ||
        get_int(c, "block_multiple_of", false, 1, 1 << 20, &mult_of) ||
        get_bool(c, "block_auto_adjust_ff_dim", &adjust))
        return -1;
    if (yml_map_get(c->d, c->root, "block_ff_dim")) {
        if (get_int(c, "block_ff_dim", true, 1, 1 << 24, &ff)) return -1;
    } else if (get_int(c, "intermediate_size", true, 1, 1 << 24, &ff)) {
        return -1;
    }
    use(c, "intermediate_size");
    if (adjust) {
        ff = 2 * ff / 3;
        double mult = 1;
        if (get_num(c, "block_ffn_dim_multiplier", 1e-3, 1e3, &mult)) return -1;
        ff = (int64_t)(mult * (double)ff); /* int() in Lfm2MLP; below 2^24 * 1e3 */
        ff = mult_of * ((ff + mult_of - 1) / mult_of);
        if (ff < 1 || ff > (1 << 24))
            return fail_at(c, "block_ffn_dim_multiplier",
                           "the adjusted FFN width %lld is outside 1 .. 16777216", (long long)ff);
    }
    use(c, "block_ffn_dim_multiplier");
    /* Widths that must equal hidden_size, and the FFN form, as modelled. */
    static const char *const SAME_AS_HIDDEN[] = {"block_dim", "conv_dim", "conv_dim_out"};
    for (size_t i = 0; i < sizeof SAME_AS_HIDDEN / sizeof SAME_AS_HIDDEN[0]; i++) {
        int64_t w = c->hidden;
        if (get_int(c, SAME_AS_HIDDEN[i], false, 1, 1 << 24, &w)) return -1;
        if (w != c->hidden)
            return fail_at(c, SAME_AS_HIDDEN[i], "%s %lld differs from hidden_size %lld: not modelled",
                           SAME_AS_HIDDEN[i], (long long)w, (long long)c->hidden);
    }
    bool swiglu = true;
    if (get_bool(c, "block_use_swiglu", &swiglu)) return -1;
    if (!swiglu) return fail_at(c, "block_use_swiglu", "block_use_swiglu false is not modelled");
    bool *is_attn = calloc((size_t)c->layers, sizeof *is_attn);
    OB_ASSERT(is_attn);
    yml_node idx = field(c, "full_attn_idxs"), types = field(c, "layer_types");
    int rc = 0;
    for (int i = 0; idx && i < yml_seq_len(c->d, idx) && rc == 0; i++) {
        const char *s = yml_scalar(c->d, yml_seq_at(c->d, idx, i));
        long long v = s ? strtoll(s, NULL, 10) : -1;
        if (v < 0 || v >= c->layers)
            rc = yml_fail(c->d, yml_seq_at(c->d, idx, i), c->e, "full_attn_idxs: %s is not a layer index", s ? s : "?");
        else
            is_attn[v] = true;
    }
    for (int i = 0; !idx && types && i < yml_seq_len(c->d, types) && i < c->layers; i++) {
        const char *s = yml_scalar(c->d, yml_seq_at(c->d, types, i));
        is_attn[i] = s && strcmp(s, "full_attention") == 0;
    }
    if (rc == 0 && !idx && !types)
        rc = fail_at(c, "full_attn_idxs", "missing 'full_attn_idxs' (or 'layer_types'): which layers attend?");
    char(*attn)[256] = calloc((size_t)c->layers, 256), (*ffn)[256] = calloc((size_t)c->layers, 256);
    OB_ASSERT(attn && ffn);
    for (int64_t i = 0; i < c->layers && rc == 0; i++) {
        if (is_attn[i])
            snprintf(attn[i], 256, "{kind: gqa, heads: %lld, kv_heads: %lld, head_dim: %lld, qk_norm: true}",
                     (long long)h, (long long)kv, (long long)d);
        else
            snprintf(attn[i], 256, "{kind: shortconv, kernel: %lld%s}", (long long)kernel,
                     conv_bias ? ", bias: true" : "");
        snprintf(ffn[i], 256, "{kind: swiglu, intermediate: %lld}", (long long)ff);
    }
    if (rc == 0) emit_groups(c, attn, ffn);
    free(attn);
    free(ffn);
    free(is_attn);
    return rc;
}

/* gpt-oss (OpenAI; transformers GptOssConfig): GQA with biases and one learned
 * sink logit per head, sliding-window and full layers as `layer_types` says
 * (alternating, sliding first, when absent), every layer a MoE with biased
 * experts and a biased router. */
static int conv_gpt_oss(struct conv *c)
{
    int64_t h, kv, d, inter, e, k = 0, window = 0;
    if (read_common(c, false) || read_heads(c, &h, &kv, &d) ||
        get_int(c, "intermediate_size", true, 1, 1 << 24, &inter) ||
        get_int(c, "num_local_experts", true, 1, 1048576, &e))
        return -1;
    if (yml_map_get(c->d, c->root, "num_experts_per_tok")) {
        if (get_int(c, "num_experts_per_tok", true, 1, e, &k)) return -1;
    } else if (get_int(c, "experts_per_token", true, 1, e, &k)) {
        return -1;
    }
    use(c, "experts_per_token");
    use(c, "swiglu_limit"); /* clamping does not change cost */
    if (require_act(c, "hidden_act", "silu")) return -1;
    use(c, "attention_bias");
    if (window_of(c, "gpt_oss", SWA_ALWAYS, 128, &window)) return -1;
    yml_node types;
    if (get_layer_types(c, &types)) return -1;
    char(*attn)[256] = calloc((size_t)c->layers, 256), (*ffn)[256] = calloc((size_t)c->layers, 256);
    OB_ASSERT(attn && ffn);
    for (int64_t i = 0; i < c->layers; i++) {
        const bool sliding = layer_sliding(c, types, i, i % 2 == 0);
        gqa_text(attn[i], 256, h, kv, d, sliding ? window : 0,
                 ", qkv_bias: true, o_bias: true, sink_logits: true", true);
        snprintf(ffn[i], 256, "{kind: moe, experts: %lld, top_k: %lld, expert_intermediate: %lld, "
                 "router_bias: true, expert_bias: true}",
                 (long long)e, (long long)k, (long long)inter);
    }
    emit_groups(c, attn, ffn);
    free(attn);
    free(ffn);
    return 0;
}

/* Gemma 2 and 3 (transformers Gemma2Config, Gemma3TextConfig): GQA (head_dim
 * given), GeGLU FFN, sandwich norms, tied embeddings; local (sliding) and
 * global layers from `layer_types`, else Gemma 2 alternates (even layers
 * local) and Gemma 3 makes every sliding_window_pattern-th layer global.
 * Gemma 3 adds q/k norms. A multimodal "gemma3" config is read from its
 * text_config (the vision tower is not modelled). Soft-capping and the
 * embedding scale do not change cost. */
static int conv_gemma(struct conv *c, int version)
{
    int64_t h, kv, d, inter, window = 0, pattern = version == 2 ? 2 : 6;
    c->post_norms = true;
    /* multimodal Gemma 3: the language model's fields are under text_config */
    yml_node text = yml_map_get(c->d, c->root, "text_config");
    if (text && yml_kind_of(c->d, text) == YML_MAP) {
        use(c, "text_config");
        use(c, "vision_config");
        note(c, "vision_config: the vision tower is not modelled; text_config read");
        c->root = text;
    }
    if (read_common(c, true) || read_heads(c, &h, &kv, &d) ||
        get_int(c, "intermediate_size", true, 1, 1 << 24, &inter) ||
        get_int(c, "sliding_window_pattern", false, 1, 1 << 20, &pattern) ||
        window_of(c, version == 2 ? "gemma2" : "gemma3", SWA_ALWAYS, 4096, &window))
        return -1;
    const char *act = get_str(c, "hidden_activation");
    if (!act) act = get_str(c, "hidden_act");
    use(c, "hidden_act");
    if (act && strncmp(act, "gelu", 4) != 0)
        return fail_at(c, "hidden_activation", "activation '%s' is not modelled for Gemma", act);
    bool attn_bias = false;
    if (get_bool(c, "attention_bias", &attn_bias)) return -1;
    if (attn_bias) return fail_at(c, "attention_bias", "attention_bias true is not modelled for Gemma");
    use(c, "sliding_window_size"); /* Gemma 2's duplicate of sliding_window */
    use(c, "query_pre_attn_scalar");
    use(c, "attn_logit_softcapping");
    use(c, "final_logit_softcapping");
    use(c, "rope_local_base_freq");
    use(c, "cache_implementation");
    yml_node types;
    if (get_layer_types(c, &types)) return -1;
    char(*attn)[256] = calloc((size_t)c->layers, 256), (*ffn)[256] = calloc((size_t)c->layers, 256);
    OB_ASSERT(attn && ffn);
    for (int64_t i = 0; i < c->layers; i++) {
        const bool local =
            layer_sliding(c, types, i, version == 2 ? i % 2 == 0 : (i + 1) % pattern != 0);
        gqa_text(attn[i], 256, h, kv, d, local ? window : 0, version == 3 ? ", qk_norm: true" : "",
                 false);
        snprintf(ffn[i], 256, "{kind: geglu, intermediate: %lld}", (long long)inter);
    }
    emit_groups(c, attn, ffn);
    free(attn);
    free(ffn);
    return 0;
}

static int conv_gemma2(struct conv *c) { return conv_gemma(c, 2); }
static int conv_gemma3(struct conv *c) { return conv_gemma(c, 3); }

/* Fields known not to change cost (tokenizer ids, initialisation, training
 * losses, RoPE details, generation settings). */
static const char *const HARMLESS[] = {
    "architectures", "auto_map", "bos_token_id", "eos_token_id", "pad_token_id",
    "initializer_range", "max_position_embeddings", "rms_norm_eps", "layer_norm_epsilon",
    "rope_theta", "rope_scaling", "rope_parameters", "transformers_version", "use_cache",
    "model_type", "attention_dropout", "hidden_dropout", "pretraining_tp", "router_aux_loss_coef",
    "router_jitter_noise", "output_router_logits", "norm_topk_prob", "routed_scaling_factor",
    "scoring_func", "aux_loss_alpha", "seq_aux", "n_group", "topk_group", "ep_size",
    "use_mla", "bos_token", "eos_token", "partial_rotary_factor", "original_max_position_embeddings",
    "embd_pdrop", "resid_pdrop", "tie_word_embeddings", "_name_or_path", "sliding_window_pattern",
    "is_decoder", "max_window_layers", "qk_layernorm", "attention_chunk_size", "moe_router_dtype",
    "block_mlp_init_scale", "block_norm_eps", "block_out_init_scale", "block_use_xavier_init",
    "conv_use_xavier_init", "norm_eps", "theta", "use_pos_enc", "num_heads",
    "initial_context_length", NULL};

static const struct {
    const char *type;
    int (*convert)(struct conv *c);
    const char *why_not; /* set for families recognised but not modelled yet */
} FAMILIES[] = {
    {"llama", conv_llama_only, NULL},
    {"mistral", conv_mistral, NULL},
    {"phi3", conv_phi3, NULL},
    {"mixtral", conv_mixtral, NULL},
    {"qwen2", conv_qwen2, NULL},
    {"qwen3", conv_qwen3, NULL},
    {"qwen3_moe", conv_qwen3_moe, NULL},
    {"deepseek_v2", conv_deepseek, NULL},
    {"deepseek_v3", conv_deepseek, NULL},
    {"kimi_k2", conv_deepseek, NULL},
    {"gemma2", conv_gemma2, NULL},
    {"gemma3", conv_gemma3, NULL},
    {"gemma3_text", conv_gemma3, NULL},
    {"gpt_oss", conv_gpt_oss, NULL},
    {"lfm2", conv_lfm2, NULL},
    {"nemotron_h", NULL, "its Mamba-2 layers"},
    {"granitemoehybrid", NULL, "its Mamba-2 layers"},
};

int hf_to_yaml(const char *path, char **yaml, struct hf_notes *notes, struct err *e)
{
    struct yml_doc *d = NULL;
    if (yml_load(path, &d, e)) return -1;
    struct conv c = {.d = d, .root = yml_root(d), .path = path, .e = e, .notes = notes};
    if (notes) memset(notes, 0, sizeof *notes);
    int rc = -1;
    if (yml_kind_of(d, c.root) != YML_MAP) {
        yml_fail(d, c.root, e, "a config.json must be a JSON object");
        goto out;
    }
    /* Python's json keeps the last of repeated keys and yml_map_get the
     * first: refuse rather than pick one */
    if (yml_check_duplicates(d, e)) goto out;
    const char *type = get_str(&c, "model_type");
    if (!type) {
        fail_at(&c, "model_type", "missing 'model_type': cannot tell the architecture family");
        goto out;
    }
    if (notes) snprintf(notes->family, sizeof notes->family, "%s", type);
    size_t f = 0;
    for (; f < sizeof FAMILIES / sizeof FAMILIES[0]; f++)
        if (strcmp(FAMILIES[f].type, type) == 0) break;
    if (f == sizeof FAMILIES / sizeof FAMILIES[0]) {
        char list[512] = "";
        for (size_t i = 0; i < sizeof FAMILIES / sizeof FAMILIES[0]; i++)
            if (FAMILIES[i].convert) {
                if (list[0]) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, FAMILIES[i].type, sizeof list - strlen(list) - 1);
            }
        fail_at(&c, "model_type", "unknown model_type '%s' (imported families: %s)", type, list);
        goto out;
    }
    if (!FAMILIES[f].convert) {
        fail_at(&c, "model_type", "model_type '%s' is recognised but not imported yet: opbound "
                "cannot model %s from a config.json",
                type, FAMILIES[f].why_not);
        goto out;
    }
    if (FAMILIES[f].convert(&c)) goto out;
    emit_header(&c, type);
    sb_printf(&c.out, "%s", c.body.buf ? c.body.buf : "");
    /* Whatever was not read: known not to change cost, or unknown to opbound
     * (accepted, and listed so the user can judge). */
    for (int i = 0; i < yml_map_len(d, c.root); i++) {
        const char *key = yml_scalar(d, yml_map_key_at(d, c.root, i));
        if (!key) continue;
        bool done = false;
        for (int j = 0; j < c.n_used && !done; j++) done = strcmp(c.used[j], key) == 0;
        if (done) continue;
        for (int j = 0; HARMLESS[j] && !done; j++) done = strcmp(HARMLESS[j], key) == 0;
        if (done) {
            note(&c, "%s: ignored, no effect on cost", key);
        } else if (notes && notes->n_unknown < HF_MAX_NOTES) {
            snprintf(notes->unknown[notes->n_unknown++], sizeof notes->unknown[0], "%s", key);
        }
    }
    rc = 0;
out:
    if (rc == 0) {
        *yaml = c.out.buf;
    } else {
        free(c.out.buf);
    }
    free(c.body.buf);
    yml_free(d);
    return rc;
}

/* Keys of the generated description and the config.json fields they come
 * from, most specific first: an error the model loader finds in the generated
 * text is reported at the user's field (issue 18: 'window' at no position
 * for a sliding_window out of range). */
static const struct {
    const char *gen;
    const char *user[4];
} ORIGIN[] = {
    {"hidden", {"hidden_size"}},
    {"layers", {"num_hidden_layers"}},
    {"vocab", {"vocab_size"}},
    {"groups", {"num_hidden_layers"}},
    {"repeat", {"num_hidden_layers"}},
    {"heads", {"num_attention_heads"}},
    {"kv_heads", {"num_key_value_heads", "num_attention_heads"}},
    {"head_dim", {"head_dim", "hidden_size", "num_attention_heads"}},
    {"window", {"sliding_window"}},
    {"intermediate", {"intermediate_size", "block_ff_dim"}},
    {"expert_intermediate", {"moe_intermediate_size", "intermediate_size"}},
    {"shared_intermediate", {"moe_intermediate_size", "n_shared_experts"}},
    {"shared_experts", {"n_shared_experts"}},
    {"experts", {"num_local_experts", "n_routed_experts", "num_experts"}},
    {"top_k", {"num_experts_per_tok", "experts_per_token"}},
    {"kv_lora_rank", {"kv_lora_rank"}},
    {"q_lora_rank", {"q_lora_rank"}},
    {"qk_nope_head_dim", {"qk_nope_head_dim"}},
    {"qk_rope_head_dim", {"qk_rope_head_dim"}},
    {"v_head_dim", {"v_head_dim"}},
    {"kernel", {"conv_L_cache"}},
};

static bool ident_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* The generated key at or before (line, col) of text: the key itself when
 * the position is on one, else the nearest "key:" to its left on that line.
 * Writes "" when there is none. */
static void key_at(const char *text, int line, int col, char *key, size_t n)
{
    key[0] = 0;
    const char *p = text;
    for (int l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || col < 1) return;
    const char *eol = strchr(p, '\n');
    const size_t len = eol ? (size_t)(eol - p) : strlen(p);
    size_t i = (size_t)col - 1 < len ? (size_t)col - 1 : len;
    size_t k = i; /* on a key: it runs to a ':' */
    while (k < len && ident_char(p[k])) k++;
    if (!(k > i && k < len && p[k] == ':')) { /* else the nearest "key:" to the left */
        while (i > 0 && p[i - 1] != ':') i--;
        if (i == 0) return;
        k = i - 1;
        i = k;
        while (i > 0 && ident_char(p[i - 1])) i--;
    }
    snprintf(key, n, "%.*s", (int)(k - i), p + i);
}

/* Rewrites e (an error in the generated text) to the config.json field the
 * faulty key came from, at that field's position. */
static void map_back(const char *path, const char *yaml, struct err *e)
{
    char gen[64], msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    key_at(yaml, e->line, e->col, gen, sizeof gen);
    struct yml_doc *d = NULL;
    struct err e2;
    if (yml_load(path, &d, &e2)) { /* cannot happen: it was just read */
        err_set(e, path, 0, 0, "the configuration maps to an invalid model: %s", msg);
        return;
    }
    yml_node at = 0;
    const char *user = NULL;
    for (size_t i = 0; i < sizeof ORIGIN / sizeof ORIGIN[0] && !at; i++)
        if (strcmp(ORIGIN[i].gen, gen) == 0)
            for (int j = 0; j < 4 && ORIGIN[i].user[j] && !at; j++)
                if ((at = yml_map_get(d, yml_root(d), ORIGIN[i].user[j]))) user = ORIGIN[i].user[j];
    if (at) {
        /* name the user's field in the message: 'window' -> 'sliding_window' */
        char quoted[80], out[2 * sizeof e->msg];
        snprintf(quoted, sizeof quoted, "'%s'", gen);
        const char *hit = strstr(msg, quoted);
        if (hit)
            snprintf(out, sizeof out, "%.*s'%s'%s (opbound's '%s')", (int)(hit - msg), msg, user,
                     hit + strlen(quoted), gen);
        else
            snprintf(out, sizeof out, "%s: %s (opbound's '%s')", user, msg, gen);
        yml_fail(d, at, e, "%s", out);
    } else {
        yml_fail(d, yml_root(d), e,
                 "the configuration maps to an invalid model: %s (see 'opbound import %s')", msg,
                 path);
    }
    yml_free(d);
}

int hf_load(const char *path, struct model **out, struct hf_notes *notes, struct err *e)
{
    char *yaml = NULL;
    if (hf_to_yaml(path, &yaml, notes, e)) return -1;
    int rc = model_load_text(path, yaml, strlen(yaml), out, e);
    if (rc) map_back(path, yaml, e);
    free(yaml);
    return rc;
}
