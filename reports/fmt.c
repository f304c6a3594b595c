/* fmt.c - report number formatting and aligned tables; see fmt.h. */
#include "fmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/core/err.h"

const char *fmt_si(char *buf, size_t n, double v, const char *unit)
{
    static const char *const P[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
    double a = fabs(v);
    int i = 0;
    while (a >= 999.5 && i < 8) a /= 1000.0, i++;
    const double s = v < 0 ? -a : a;
    const char *sp = (*P[i] || *unit) ? " " : "";
    if (v == 0)
        snprintf(buf, n, "0%s%s", *unit ? " " : "", unit);
    else if (a >= 99.95 || (i == 0 && a == floor(a)))
        snprintf(buf, n, "%.0f%s%s%s", s, sp, P[i], unit);
    else if (a >= 9.995)
        snprintf(buf, n, "%.1f%s%s%s", s, sp, P[i], unit);
    else
        snprintf(buf, n, "%.2f%s%s%s", s, sp, P[i], unit);
    return buf;
}

const char *fmt_bin(char *buf, size_t n, double v)
{
    static const char *const P[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    double a = fabs(v);
    int i = 0;
    while (a >= 999.5 && i < 6) a /= 1024.0, i++;
    const double s = v < 0 ? -a : a;
    if (v == 0)
        snprintf(buf, n, "0 B");
    else if (a >= 99.95 || (i == 0 && a == floor(a)))
        snprintf(buf, n, "%.0f %sB", s, P[i]);
    else if (a >= 9.995)
        snprintf(buf, n, "%.1f %sB", s, P[i]);
    else
        snprintf(buf, n, "%.2f %sB", s, P[i]);
    return buf;
}

const char *fmt_time(char *buf, size_t n, double s)
{
    const double a = fabs(s);
    if (a >= 1.0 || s == 0) snprintf(buf, n, "%.3g s", s);
    else if (a >= 1e-3) snprintf(buf, n, "%.3g ms", s * 1e3);
    else if (a >= 1e-6) snprintf(buf, n, "%.3g us", s * 1e6);
    else snprintf(buf, n, "%.3g ns", s * 1e9);
    return buf;
}

const char *fmt_exact(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.17g", v);
    return buf;
}

void fmt_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

void table_init(struct table *t, int ncols, const char *const *hdr, const char *align)
{
    OB_ASSERT(ncols > 0 && ncols <= TABLE_MAX_COLS);
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        t->hdr[i] = hdr[i];
        t->align[i] = align[i];
    }
}

void table_row(struct table *t)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->cells = realloc(t->cells, (size_t)t->cap * sizeof *t->cells);
        t->rule_before = realloc(t->rule_before, (size_t)t->cap * sizeof *t->rule_before);
        OB_ASSERT(t->cells && t->rule_before);
    }
    memset(t->cells[t->nrows], 0, sizeof t->cells[t->nrows]);
    t->rule_before[t->nrows] = 0;
    t->nrows++;
}

void table_rule(struct table *t)
{
    table_row(t);
    t->nrows--;
    t->rule_before[t->nrows] = 1;
}

void table_cell(struct table *t, int col, const char *fmt, ...)
{
    OB_ASSERT(t->nrows > 0 && col >= 0 && col < t->ncols);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->cells[t->nrows - 1][col], TABLE_CELL, fmt, ap);
    va_end(ap);
}

static void print_rule(const struct table *t, const int *w, FILE *out)
{
    for (int c = 0; c < t->ncols; c++) {
        for (int i = 0; i < w[c]; i++) fputc('-', out);
        fputs(c + 1 < t->ncols ? "  " : "\n", out);
    }
}

void table_print(const struct table *t, FILE *out)
{
    int w[TABLE_MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        w[c] = (int)strlen(t->hdr[c]);
        for (int r = 0; r < t->nrows; r++) {
            int l = (int)strlen(t->cells[r][c]);
            if (l > w[c]) w[c] = l;
        }
    }
    for (int c = 0; c < t->ncols; c++)
        fprintf(out, t->align[c] == 'l' ? "%-*s%s" : "%*s%s", w[c], t->hdr[c],
                c + 1 < t->ncols ? "  " : "\n");
    print_rule(t, w, out);
    for (int r = 0; r < t->nrows; r++) {
        if (t->rule_before[r]) print_rule(t, w, out);
        for (int c = 0; c < t->ncols; c++) {
            if (c + 1 == t->ncols && t->align[c] == 'l')
                fprintf(out, "%s\n", t->cells[r][c]);
            else
                fprintf(out, t->align[c] == 'l' ? "%-*s%s" : "%*s%s", w[c], t->cells[r][c],
                        c + 1 < t->ncols ? "  " : "\n");
        }
    }
}

void table_free(struct table *t)
{
    free(t->cells);
    free(t->rule_before);
    t->cells = NULL;
    t->rule_before = NULL;
}
