/* fmt.h - number formatting for reports: SI prefixes for tables, exact
 * numbers for csv/json, and an aligned text table.
 *
 * Tables: 3 significant digits with decimal SI prefixes (k = 1e3, G = 1e9),
 * seconds shown as s/ms/us/ns. csv/json: integers below 2^53 in full, other
 * values with 17 significant digits (round-trips a double exactly). */
#ifndef OB_FMT_H
#define OB_FMT_H

#include <stdio.h>

/* Writes v with an SI prefix and unit into buf ("1.23 TFLOP", "80.0 GB"). */
const char *fmt_si(char *buf, size_t n, double v, const char *unit);
/* Sizes held in memory (capacity, weights, KV cache, footprint) with binary
 * prefixes, 3 significant digits: "80.0 GiB" (80 x 2^30 B), "128 KiB", "512 B"
 * (docs/conventions.md, "Units"). Bytes moved and bandwidths use fmt_si. */
const char *fmt_bin(char *buf, size_t n, double bytes);
/* Seconds with ms/us/ns ("12.3 ms"). */
const char *fmt_time(char *buf, size_t n, double s);
/* Exact form for csv/json. */
const char *fmt_exact(char *buf, size_t n, double v);
/* Writes a JSON string literal with escapes. */
void fmt_json_str(FILE *out, const char *s);

/* Aligned text table: columns are left-aligned when align[i] == 'l', else right. */
#define TABLE_MAX_COLS 16
#define TABLE_CELL 48
struct table {
    int ncols, nrows, cap;
    const char *hdr[TABLE_MAX_COLS];
    char align[TABLE_MAX_COLS];
    char (*cells)[TABLE_MAX_COLS][TABLE_CELL];
    int *rule_before; /* per row: print a separator line before it */
};
void table_init(struct table *t, int ncols, const char *const *hdr, const char *align);
/* Starts a new row; cells are filled with table_cell. */
void table_row(struct table *t);
void table_rule(struct table *t); /* a separator before the next row */
void table_cell(struct table *t, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

#endif
