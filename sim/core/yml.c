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

/* Line and column (1-based, columns in characters as libyaml counts them)
 * of byte `off` of text: for reader errors, which carry only an offset. */
static void offset_position(const char *text, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        const unsigned char ch = (unsigned char)text[i];
        if (ch == '\n' || (ch == '\r' && (i + 1 >= len || text[i + 1] != '\n')))
            l++, c = 1;
        else if (ch != '\r' && (ch & 0xC0) != 0x80) /* not a UTF-8 continuation byte */
            c++;
    }
    *line = l, *col = c;
}

static bool json_name(const char *name)
{
    const size_t l = strlen(name);
    return l > 5 && strcmp(name + l - 5, ".json") == 0;
}

/* Fills e from a failed libyaml parser. */
static int parser_fail(const yaml_parser_t *p, const char *name, const char *text, size_t len,
                       struct err *e)
{
    const char *lang = json_name(name) ? "JSON" : "YAML";
    const char *what = p->problem ? p->problem : "malformed document";
    int line, col;
    if (p->error == YAML_READER_ERROR) { /* bad UTF-8, control characters: an offset only */
        size_t off = p->problem_offset;
        /* a bad trailing byte (libyaml gives its offset): point at the
         * character's lead byte */
        for (int k = 0; k < 3 && off > 0 && off <= len && p->problem &&
                        strstr(p->problem, "trailing") &&
                        ((unsigned char)text[off - 1] & 0xC0) >= 0x80;
             k++) {
            off--;
            if (((unsigned char)text[off] & 0xC0) == 0xC0) break;
        }
        offset_position(text, len, off, &line, &col);
        if (p->problem_value >= 0 && p->problem_value <= 0xFF)
            return err_set(e, name, line, col, "%s: %s (byte 0x%02X)", lang, what,
                           (unsigned)p->problem_value);
        return err_set(e, name, line, col, "%s: %s", lang, what);
    }
    yaml_mark_t m = p->problem_mark;
    /* an unterminated quoted scalar or flow collection: where it starts */
    if (p->context && p->problem && strstr(p->problem, "end of stream")) m = p->context_mark;
    line = (int)m.line + 1, col = (int)m.column + 1;
    if (p->context)
        return err_set(e, name, line, col, "%s syntax error: %s %s", lang, p->context, what);
    return err_set(e, name, line, col, "%s syntax error: %s", lang, what);
}

/* Flow nesting ([ and {) at which a description is refused before libyaml
 * reads it: libyaml has no limit and its scanner slows down quadratically
 * with depth (200 kB of '[' took over 20 s). Descriptions need 3 or 4. */
#define YML_MAX_DEPTH 64

/* Scans text for flow collections nested deeper than YML_MAX_DEPTH and for
 * more than YML_MAX_TOKENS structure marks, skipping comments and quoted
 * scalars; '[' or '{' opens a collection inside another one or where a token
 * starts (after white space or at a line's start), so a plain scalar such as
 * a[1] is not counted. Returns 0, or -1 with e set at the mark that goes over
 * a limit. */
static int check_shape(const char *name, const char *text, size_t len, struct err *e)
{
    long tokens = 0; /* structure marks outside quotes and comments: bounds the nodes */
    int depth = 0;
    bool dq = false, sq = false, comment = false;
    unsigned char prev = '\n';
    for (size_t i = 0; i < len; prev = (unsigned char)text[i], i++) {
        const unsigned char c = (unsigned char)text[i];
        const bool blank_before = prev == ' ' || prev == '\t' || prev == '\n' || prev == '\r';
        const bool token_start = blank_before || (depth > 0 && strchr("[{,:", prev) && prev);
        if (!dq && !sq && !comment && (c == ',' || c == ':' || c == '-' || c == '[' ||
                                       c == '{' || c == '\n') &&
            ++tokens > YML_MAX_TOKENS) {
            int line, col;
            offset_position(text, len, i, &line, &col);
            return err_set(e, name, line, col,
                           "more than %d items (lines, keys, list entries): larger than any "
                           "description opbound reads",
                           YML_MAX_TOKENS);
        }
        if (comment) {
            if (c == '\n' || c == '\r') comment = false;
        } else if (dq) {
            if (c == '\\' && i + 1 < len) i++;
            else if (c == '"') dq = false;
        } else if (sq) {
            if (c == '\'' && i + 1 < len && text[i + 1] == '\'') i++;
            else if (c == '\'') sq = false;
        } else if (c == '#' && blank_before) {
            comment = true;
        } else if (c == '"' && token_start) {
            dq = true;
        } else if (c == '\'' && token_start) {
            sq = true;
        } else if ((c == '[' || c == '{') && (depth > 0 || token_start)) {
            if (++depth > YML_MAX_DEPTH) {
                int line, col;
                offset_position(text, len, i, &line, &col);
                return err_set(e, name, line, col,
                               "nesting deeper than %d levels of [ ] or { }: not a description "
                               "opbound can read",
                               YML_MAX_DEPTH);
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* Parses text (checked for size and depth first): exactly one document. */
static int load_text(const char *name, const char *text, size_t len, struct yml_doc **out,
                     struct err *e)
{
    if (len > YML_MAX_BYTES)
        return err_set(e, name, 0, 0, "%zu bytes: larger than the %d MiB opbound reads", len,
                       YML_MAX_BYTES >> 20);
    if (check_shape(name, text, len, e)) return -1;
    yaml_parser_t p;
    OB_ASSERT(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct yml_doc *d = calloc(1, sizeof *d);
    OB_ASSERT(d);
    snprintf(d->file, sizeof d->file, "%s", name);
    int rc = 0;
    if (!yaml_parser_load(&p, &d->doc)) {
        parser_fail(&p, name, text, len, e);
        free(d);
        yaml_parser_delete(&p);
        return -1;
    }
    if (!yaml_document_get_root_node(&d->doc)) {
        rc = err_set(e, name, 1, 1, "empty document: expected a %s mapping",
                     json_name(name) ? "JSON" : "YAML");
    } else { /* a second document (after --- or ...), or text after a JSON value */
        yaml_document_t more;
        if (!yaml_parser_load(&p, &more)) {
            if (p.error == YAML_PARSER_ERROR && p.problem &&
                strstr(p.problem, "<document start>"))
                rc = err_set(e, name, (int)p.problem_mark.line + 1,
                             (int)p.problem_mark.column + 1, "%s",
                             json_name(name)
                                 ? "JSON syntax error: text after the end of the top-level value"
                                 : "YAML syntax error: text after the end of the document "
                                   "(a description file holds one document)");
            else
                rc = parser_fail(&p, name, text, len, e);
        } else {
            yaml_node_t *r = yaml_document_get_root_node(&more);
            if (r)
                rc = err_set(e, name, (int)r->start_mark.line + 1, (int)r->start_mark.column + 1,
                             "a second %s starts here: a description file holds one",
                             json_name(name) ? "JSON value" : "YAML document");
            yaml_document_delete(&more);
        }
    }
    yaml_parser_delete(&p);
    if (rc) {
        yaml_document_delete(&d->doc);
        free(d);
        return -1;
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
    /* read whole (pipes and devices too), refusing more than the limit before
     * any of it is parsed */
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    OB_ASSERT(buf);
    for (;;) {
        if (n == cap) {
            if (cap > YML_MAX_BYTES) break;
            cap *= 2;
            buf = realloc(buf, cap);
            OB_ASSERT(buf);
        }
        const size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    const bool bad = ferror(f) != 0;
    fclose(f);
    int rc;
    if (bad)
        rc = err_set(e, path, 0, 0, "cannot read: %s", strerror(errno));
    else if (n > YML_MAX_BYTES)
        rc = err_set(e, path, 0, 0, "larger than the %d MiB opbound reads",
                     YML_MAX_BYTES >> 20);
    else
        rc = load_text(path, buf, n, out, e);
    free(buf);
    return rc;
}

int yml_load_string(const char *name, const char *text, size_t len, struct yml_doc **out,
                    struct err *e)
{
    return load_text(name, text, len, out, e);
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

/* For yml_check_duplicates: pairs of one mapping sorted by key, then by
 * position in the mapping. */
struct key_ref {
    const char *key;
    int i;
};

static int cmp_key_ref(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    const int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

int yml_check_duplicates(const struct yml_doc *d, struct err *e)
{
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    for (yaml_node_t *x = doc->nodes.start; x < doc->nodes.top; x++) {
        if (x->type != YAML_MAPPING_NODE) continue;
        const int n = (int)(x->data.mapping.pairs.top - x->data.mapping.pairs.start);
        if (n < 2) continue;
        struct key_ref *r = malloc((size_t)n * sizeof *r);
        OB_ASSERT(r);
        int m = 0;
        for (int i = 0; i < n; i++) {
            const char *k = yml_scalar(d, x->data.mapping.pairs.start[i].key);
            if (k) r[m++] = (struct key_ref){k, i};
        }
        qsort(r, (size_t)m, sizeof *r, cmp_key_ref); /* O(n log n): 100k keys stay fast */
        int dup = -1, first = -1; /* the earliest repeated key in the mapping */
        for (int i = 1; i < m; i++)
            if (strcmp(r[i].key, r[i - 1].key) == 0 && (dup < 0 || r[i].i < dup))
                dup = r[i].i, first = r[i - 1].i;
        free(r);
        if (dup >= 0) {
            yaml_node_pair_t *p = x->data.mapping.pairs.start;
            int l0, c0;
            yml_mark(d, p[first].key, &l0, &c0);
            return yml_fail(d, p[dup].key, e,
                            "duplicate key '%s' (first at line %d, column %d): which value "
                            "is meant is ambiguous",
                            yml_scalar(d, p[dup].key), l0, c0);
        }
    }
    return 0;
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

int yml_value_read(const struct yml_doc *d, yml_node v, const struct key_spec *k, void *out,
                   struct err *e)
{
    return read_value(d, v, k, out, e);
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
