/* yml.h - YAML documents (libyaml) and table-driven reading of mappings.
 *
 * A description file is loaded whole with libyaml's document API (so anchors
 * and aliases work), then read through key tables: each table row names a key,
 * its type, where the value goes in a C struct, its bounds and whether it is
 * required. Unknown keys (with the nearest valid one suggested), duplicate
 * keys, wrong types, out-of-range values and missing required keys all fail
 * with FILE:LINE:COL. The same tables generate docs/schema.md (see
 * yml_spec_markdown), so the loader and the document cannot drift apart.
 *
 * Entry points: yml_load / yml_load_string, yml_free, yml_map_read.
 * To add a key: add a row to the owning table; the docs follow. */
#ifndef OB_YML_H
#define OB_YML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

struct yml_doc; /* opaque */
typedef int yml_node; /* libyaml node index (1-based); 0 means "none" */

enum yml_kind { YML_NONE, YML_SCALAR, YML_SEQ, YML_MAP };

/* Largest file read (bytes), and most structure marks (lines, ':', ',', '-',
 * '[', '{' outside quotes and comments; they bound the nodes libyaml would
 * build, about 160 bytes each): both checked before libyaml sees the text, as
 * is a flow nesting ([ ], { }) deeper than 64 levels. A model of 100,000
 * one-layer groups uses about 2.3 million marks. */
#define YML_MAX_BYTES (16 << 20)
#define YML_MAX_TOKENS 3000000

/* Loads a file holding exactly one document (a second YAML document, or text
 * after a JSON value, is an error). On success *out owns the document (free
 * with yml_free). Returns 0, or -1 with e set (syntax errors, invalid UTF-8
 * and control characters carry their position). */
int yml_load(const char *path, struct yml_doc **out, struct err *e);
/* Same, from memory; name is used in messages. */
int yml_load_string(const char *name, const char *text, size_t len, struct yml_doc **out,
                    struct err *e);
void yml_free(struct yml_doc *d); /* accepts NULL */

yml_node yml_root(const struct yml_doc *d);
const char *yml_file(const struct yml_doc *d);
enum yml_kind yml_kind_of(const struct yml_doc *d, yml_node n);
/* 1-based line and column of a node's start. */
void yml_mark(const struct yml_doc *d, yml_node n, int *line, int *col);
const char *yml_scalar(const struct yml_doc *d, yml_node n); /* NULL if not a scalar */
/* True for a quoted scalar ("4096" in JSON is a string, not a number). */
bool yml_is_quoted(const struct yml_doc *d, yml_node n);
int yml_seq_len(const struct yml_doc *d, yml_node n);
yml_node yml_seq_at(const struct yml_doc *d, yml_node n, int i);
/* Number of key/value pairs of a mapping (0 if n is not one), and the i-th key
 * node. */
int yml_map_len(const struct yml_doc *d, yml_node n);
yml_node yml_map_key_at(const struct yml_doc *d, yml_node n, int i);
/* Value of key in a mapping, 0 if absent (or n is not a mapping). */
yml_node yml_map_get(const struct yml_doc *d, yml_node n, const char *key);
/* Fails at the second occurrence of a key repeated in any mapping of the
 * document (with the first's position in the message). For files not read
 * through key tables (config.json), whose readers take the first match. */
int yml_check_duplicates(const struct yml_doc *d, struct err *e);
/* Sets e to "FILE:LINE:COL: <fmt>" at node n; returns -1. */
int yml_fail(const struct yml_doc *d, yml_node n, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum key_type {
    KEY_INT,   /* int64_t at offset; plain decimal integer (underscores allowed) */
    KEY_NUM,   /* double at offset; decimal or e-notation, finite */
    KEY_BOOL,  /* bool at offset; true or false */
    KEY_STR,   /* char[max] at offset */
    KEY_DTYPE, /* enum dtype at offset */
    KEY_ENUM,  /* int at offset: index into choices */
    KEY_MAP,   /* not stored; must be a mapping (its owner reads it with its own table) */
    KEY_SEQ,   /* not stored; must be a sequence */
    KEY_TAG,   /* accepted and not stored: the `kind` selector of a block */
};

struct key_spec {
    const char *name;
    enum key_type type;
    size_t offset;
    double min, max;           /* inclusive bounds (KEY_INT, KEY_NUM); buffer size (KEY_STR) */
    int required;              /* 1 = must be present */
    const char *const *choices; /* KEY_ENUM: NULL-terminated */
    const char *unit;          /* for the docs: "count", "bytes/s", ... */
    const char *doc;           /* one line for docs/schema.md; defaults are stated here */
};

/* Reads mapping `map` into struct `out` by the table keys[0..n). `what` names
 * the mapping in messages ("attention block"). *present gets bit i set for each
 * key i found (n <= 64). Returns 0 or -1 with e set. */
int yml_map_read(const struct yml_doc *d, yml_node map, const char *what,
                 const struct key_spec *keys, size_t n, void *out, uint64_t *present,
                 struct err *e);

/* Reads the single node v as key k's value would be read (type, range) into
 * out (at k->offset): for the items of a list of numbers. 0 or -1 with e set. */
int yml_value_read(const struct yml_doc *d, yml_node v, const struct key_spec *k, void *out,
                   struct err *e);

/* Index of key `name` in the table, -1 if absent (for checking presence bits). */
int yml_key_index(const struct key_spec *keys, size_t n, const char *name);

/* Writes a markdown table documenting keys[0..n) (for docs/schema.md). */
void yml_spec_markdown(FILE *out, const struct key_spec *keys, size_t n);

/* Levenshtein edit distance (used for "did you mean" suggestions). */
int yml_edit_distance(const char *a, const char *b);

#endif
