/* yml.c - libyaml documents and table-driven mapping reader; see yml.h. */
#include "yml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "dtype.h"

struct yml_doc {
    yaml_document_t doc;
    char file[512];
};

static int load_parser(yaml_parser_t *p, const char *name, struct yml_doc **out, struct err *e)
{
    struct yml_doc *d = calloc(1, sizeof *d);
    OB_ASSERT(d);
    snprintf(d->file, sizeof d->file, "%s", name);
    if (!yaml_parser_load(p, &d->doc)) {
        yaml_mark_t m = p->problem_mark;
        const char *what = p->problem ? p->problem : "malformed document";
        const size_t l = strlen(name);
        const char *lang = l > 5 && strcmp(name + l - 5, ".json") == 0 ? "JSON" : "YAML";
        if (p->context)
            err_set(e, name, (int)m.line + 1, (int)m.column + 1, "%s syntax error: %s %s", lang,
                    p->context, what);
        else
            err_set(e, name, (int)m.line + 1, (int)m.column + 1, "%s syntax error: %s", lang,
                    what);
        free(d);
        return -1;
    }
    if (!yaml_document_get_root_node(&d->doc)) {
        yaml_document_delete(&d->doc);
        free(d);
        return err_set(e, name, 0, 0, "empty document: expected a YAML mapping");
    }
    *out = d;
    return 0;
}

int yml_load(const char *path, struct yml_doc **out, struct err *e)
{
    struct stat st; /* fopen opens a folder for reading; libyaml then fails to read */
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return err_set(e, path, 0, 0, "is a directory, not a file");
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(e, path, 0, 0, "cannot open: %s", strerror(errno));
    yaml_parser_t p;
    OB_ASSERT(yaml_parser_initialize(&p));
    yaml_parser_set_input_file(&p, f);
    int rc = load_parser(&p, path, out, e);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

int yml_load_string(const char *name, const char *text, size_t len, struct yml_doc **out,
                    struct err *e)
{
    yaml_parser_t p;
    OB_ASSERT(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = load_parser(&p, name, out, e);
    yaml_parser_delete(&p);
    return rc;
}

void yml_free(struct yml_doc *d)
{
    if (!d) return;
    yaml_document_delete(&d->doc);
    free(d);
}

yml_node yml_root(const struct yml_doc *d) { return d ? 1 : 0; }
const char *yml_file(const struct yml_doc *d) { return d->file; }

static yaml_node_t *node(const struct yml_doc *d, yml_node n)
{
    if (n <= 0) return NULL;
    return yaml_document_get_node((yaml_document_t *)&d->doc, n);
}

enum yml_kind yml_kind_of(const struct yml_doc *d, yml_node n)
{
    yaml_node_t *x = node(d, n);
    if (!x) return YML_NONE;
    switch (x->type) {
    case YAML_SCALAR_NODE: return YML_SCALAR;
    case YAML_SEQUENCE_NODE: return YML_SEQ;
    case YAML_MAPPING_NODE: return YML_MAP;
    case YAML_NO_NODE: return YML_NONE;
    }
    return YML_NONE;
}

void yml_mark(const struct yml_doc *d, yml_node n, int *line, int *col)
{
    yaml_node_t *x = node(d, n);
    *line = x ? (int)x->start_mark.line + 1 : 0;
    *col = x ? (int)x->start_mark.column + 1 : 0;
}

const char *yml_scalar(const struct yml_doc *d, yml_node n)
{
    yaml_node_t *x = node(d, n);
    return x && x->type == YAML_SCALAR_NODE ? (const char *)x->data.scalar.value : NULL;
}

int yml_seq_len(const struct yml_doc *d, yml_node n)
{
    yaml_node_t *x = node(d, n);
    if (!x || x->type != YAML_SEQUENCE_NODE) return 0;
    return (int)(x->data.sequence.items.top - x->data.sequence.items.start);
}

yml_node yml_seq_at(const struct yml_doc *d, yml_node n, int i)
{
    yaml_node_t *x = node(d, n);
    OB_ASSERT(x && x->type == YAML_SEQUENCE_NODE && i >= 0 && i < yml_seq_len(d, n));
    return x->data.sequence.items.start[i];
}

int yml_map_len(const struct yml_doc *d, yml_node n)
{
    yaml_node_t *x = node(d, n);
    if (!x || x->type != YAML_MAPPING_NODE) return 0;
    return (int)(x->data.mapping.pairs.top - x->data.mapping.pairs.start);
}

yml_node yml_map_key_at(const struct yml_doc *d, yml_node n, int i)
{
    yaml_node_t *x = node(d, n);
    OB_ASSERT(x && x->type == YAML_MAPPING_NODE && i >= 0 && i < yml_map_len(d, n));
    return x->data.mapping.pairs.start[i].key;
}

yml_node yml_map_get(const struct yml_doc *d, yml_node n, const char *key)
{
    yaml_node_t *x = node(d, n);
    if (!x || x->type != YAML_MAPPING_NODE) return 0;
    for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top; p++) {
        const char *k = yml_scalar(d, p->key);
        if (k && strcmp(k, key) == 0) return p->value;
    }
    return 0;
}

int yml_fail(const struct yml_doc *d, yml_node n, struct err *e, const char *fmt, ...)
{
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    yml_mark(d, n, &line, &col);
    return err_set(e, d->file, line, col, "%s", msg);
}

int yml_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

int yml_key_index(const struct key_spec *keys, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0) return (int)i;
    return -1;
}

bool yml_is_quoted(const struct yml_doc *d, yml_node n)
{
    yaml_node_t *x = node(d, n);
    return x && x->type == YAML_SCALAR_NODE &&
           (x->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
            x->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static bool is_plain(const struct yml_doc *d, yml_node n)
{
    yaml_node_t *x = node(d, n);
    return x->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
           x->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

static const char *kind_word(enum yml_kind k)
{
    switch (k) {
    case YML_SCALAR: return "a scalar";
    case YML_SEQ: return "a list";
    case YML_MAP: return "a mapping";
    case YML_NONE: return "nothing";
    }
    return "?";
}

/* Formats a bound for messages: integers without a fraction, others %g. */
static void fmt_bound(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%g", v);
}

static int check_range(const struct yml_doc *d, yml_node v, const struct key_spec *k, double x,
                       struct err *e)
{
    char lo[32], hi[32];
    fmt_bound(lo, sizeof lo, k->min);
    fmt_bound(hi, sizeof hi, k->max);
    if (x < k->min)
        return yml_fail(d, v, e, "'%s' must be at least %s, got %s", k->name, lo,
                        yml_scalar(d, v));
    if (x > k->max)
        return yml_fail(d, v, e, "'%s' must be at most %s, got %s", k->name, hi,
                        yml_scalar(d, v));
    return 0;
}

static int read_int(const struct yml_doc *d, yml_node v, const struct key_spec *k, int64_t *out,
                    struct err *e)
{
    const char *s = yml_scalar(d, v);
    if (!is_plain(d, v))
        return yml_fail(d, v, e, "'%s' must be an integer, got a quoted string", k->name);
    char digits[64];
    size_t n = 0;
    const char *p = s;
    if (*p == '+' || *p == '-') digits[n++] = *p++;
    if (!*p) return yml_fail(d, v, e, "'%s' must be an integer, got '%s'", k->name, s);
    for (; *p; p++) {
        if (*p == '_') continue;
        if (*p < '0' || *p > '9' || n >= sizeof digits - 1)
            return yml_fail(d, v, e, "'%s' must be an integer, got '%s'", k->name, s);
        digits[n++] = *p;
    }
    digits[n] = 0;
    errno = 0;
    long long x = strtoll(digits, NULL, 10);
    if (errno == ERANGE)
        return yml_fail(d, v, e, "'%s' is too large: %s does not fit a 64-bit integer", k->name,
                        s);
    if (check_range(d, v, k, (double)x, e)) return -1;
    *out = (int64_t)x;
    return 0;
}

static int read_num(const struct yml_doc *d, yml_node v, const struct key_spec *k, double *out,
                    struct err *e)
{
    const char *s = yml_scalar(d, v);
    if (!is_plain(d, v))
        return yml_fail(d, v, e, "'%s' must be a number, got a quoted string", k->name);
    char *end = NULL;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || !*s)
        return yml_fail(d, v, e, "'%s' must be a number, got '%s'", k->name, s);
    for (const char *p = s; *p; p++) /* strtod also takes "inf", "nan", hex */
        if (!strchr("0123456789+-.eE", *p))
            return yml_fail(d, v, e, "'%s' must be a decimal number, got '%s'", k->name, s);
    if (errno == ERANGE || !isfinite(x))
        return yml_fail(d, v, e, "'%s' is out of range: %s", k->name, s);
    if (check_range(d, v, k, x, e)) return -1;
    *out = x;
    return 0;
}

static int read_value(const struct yml_doc *d, yml_node v, const struct key_spec *k, void *out,
                      struct err *e)
{
    char *slot = (char *)out + k->offset;
    enum yml_kind kind = yml_kind_of(d, v);
    /* Mappings and lists are only type-checked here; their owners read them
     * with yml_map_get and their own tables. */
    if (k->type == KEY_MAP) {
        if (kind != YML_MAP)
            return yml_fail(d, v, e, "'%s' must be a mapping, got %s", k->name, kind_word(kind));
        return 0;
    }
    if (k->type == KEY_SEQ) {
        if (kind != YML_SEQ)
            return yml_fail(d, v, e, "'%s' must be a list, got %s", k->name, kind_word(kind));
        return 0;
    }
    if (kind != YML_SCALAR)
        return yml_fail(d, v, e, "'%s' must be a single value, got %s", k->name,
                        kind_word(kind));
    const char *s = yml_scalar(d, v);
    switch (k->type) {
    case KEY_INT: {
        int64_t x = 0;
        if (read_int(d, v, k, &x, e)) return -1;
        memcpy(slot, &x, sizeof x);
        return 0;
    }
    case KEY_NUM: {
        double x = 0;
        if (read_num(d, v, k, &x, e)) return -1;
        memcpy(slot, &x, sizeof x);
        return 0;
    }
    case KEY_BOOL: {
        bool x;
        if (strcmp(s, "true") == 0)
            x = true;
        else if (strcmp(s, "false") == 0)
            x = false;
        else
            return yml_fail(d, v, e, "'%s' must be true or false, got '%s'", k->name, s);
        memcpy(slot, &x, sizeof x);
        return 0;
    }
    case KEY_STR:
        if (!*s) return yml_fail(d, v, e, "'%s' must not be empty", k->name);
        if (strlen(s) >= (size_t)k->max)
            return yml_fail(d, v, e, "'%s' is too long (at most %.0f characters)", k->name,
                            k->max - 1);
        memcpy(slot, s, strlen(s) + 1);
        return 0;
    case KEY_DTYPE: {
        enum dtype x;
        if (dtype_parse(s, &x))
            return yml_fail(d, v, e,
                            "'%s': unknown dtype '%s' (expected fp32, bf16, fp16, fp8, int8 "
                            "or int4)",
                            k->name, s);
        memcpy(slot, &x, sizeof x);
        return 0;
    }
    case KEY_ENUM: {
        for (int i = 0; k->choices[i]; i++)
            if (strcmp(s, k->choices[i]) == 0) {
                memcpy(slot, &i, sizeof i);
                return 0;
            }
        char list[256] = "";
        for (int i = 0; k->choices[i]; i++) {
            if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, k->choices[i], sizeof list - strlen(list) - 1);
        }
        return yml_fail(d, v, e, "'%s': unknown value '%s' (expected one of: %s)", k->name, s,
                        list);
    }
    case KEY_TAG: return 0;
    case KEY_MAP:
    case KEY_SEQ: break;
    }
    OB_ASSERT(0 && "unhandled key type");
}

int yml_map_read(const struct yml_doc *d, yml_node map, const char *what,
                 const struct key_spec *keys, size_t n, void *out, uint64_t *present,
                 struct err *e)
{
    OB_ASSERT(n <= 64);
    *present = 0;
    yaml_node_t *x = node(d, map);
    if (!x || x->type != YAML_MAPPING_NODE)
        return yml_fail(d, map, e, "%s must be a mapping, got %s", what,
                        kind_word(yml_kind_of(d, map)));
    for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top; p++) {
        const char *key = yml_scalar(d, p->key);
        if (!key) return yml_fail(d, p->key, e, "keys in %s must be plain names", what);
        int i = yml_key_index(keys, n, key);
        if (i < 0) {
            int best = -1, bestd = 1 << 30;
            for (size_t j = 0; j < n; j++) {
                int dist = yml_edit_distance(key, keys[j].name);
                if (dist < bestd) bestd = dist, best = (int)j;
            }
            int limit = (int)strlen(key) / 3 + 1;
            if (best >= 0 && bestd <= (limit > 3 ? 3 : limit))
                return yml_fail(d, p->key, e, "unknown key '%s' in %s (did you mean '%s'?)", key,
                                what, keys[best].name);
            return yml_fail(d, p->key, e, "unknown key '%s' in %s", key, what);
        }
        if (*present & (UINT64_C(1) << i))
            return yml_fail(d, p->key, e, "duplicate key '%s' in %s", key, what);
        *present |= UINT64_C(1) << i;
        if (read_value(d, p->value, &keys[i], out, e)) return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (keys[i].required && !(*present & (UINT64_C(1) << i)))
            return yml_fail(d, map, e, "missing required key '%s' in %s", keys[i].name, what);
    return 0;
}

static const char *type_word(const struct key_spec *k)
{
    switch (k->type) {
    case KEY_INT: return "integer";
    case KEY_NUM: return "number";
    case KEY_BOOL: return "bool";
    case KEY_STR: return "string";
    case KEY_DTYPE: return "dtype";
    case KEY_ENUM: return "enum";
    case KEY_MAP: return "mapping";
    case KEY_SEQ: return "list";
    case KEY_TAG: return "name";
    }
    return "?";
}

void yml_spec_markdown(FILE *out, const struct key_spec *keys, size_t n)
{
    fprintf(out, "| key | type | unit | range | required | meaning |\n");
    fprintf(out, "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const struct key_spec *k = &keys[i];
        char range[128] = "";
        if (k->type == KEY_INT || k->type == KEY_NUM) {
            char lo[32], hi[32];
            fmt_bound(lo, sizeof lo, k->min);
            fmt_bound(hi, sizeof hi, k->max);
            snprintf(range, sizeof range, "%s .. %s", lo, hi);
        } else if (k->type == KEY_ENUM) {
            for (int j = 0; k->choices[j]; j++) {
                if (j) strncat(range, ", ", sizeof range - strlen(range) - 1);
                strncat(range, k->choices[j], sizeof range - strlen(range) - 1);
            }
        } else if (k->type == KEY_DTYPE) {
            snprintf(range, sizeof range, "fp32, bf16, fp16, fp8, int8, int4");
        } else if (k->type == KEY_STR) {
            snprintf(range, sizeof range, "up to %.0f chars", k->max - 1);
        }
        fprintf(out, "| `%s` | %s | %s | %s | %s | %s |\n", k->name, type_word(k),
                k->unit ? k->unit : "", range, k->required ? "yes" : "no", k->doc ? k->doc : "");
    }
}
