/* report_doc.c - Markdown and HTML writers for `opbound report`; see
 * report_doc.h. */
#include "report_doc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/core/err.h"
#include "fmt.h"

/* Text with the characters that mean something in the format escaped. */
static void put_text(struct doc *d, const char *s, bool cell)
{
    for (; *s; s++) {
        if (d->fmt == DOC_HTML) {
            switch (*s) {
            case '&': fputs("&amp;", d->f); break;
            case '<': fputs("&lt;", d->f); break;
            case '>': fputs("&gt;", d->f); break;
            case '"': fputs("&quot;", d->f); break;
            default: fputc(*s, d->f);
            }
        } else {
            if ((cell && *s == '|') || *s == '<' || *s == '*' || *s == '_' || *s == '`' ||
                *s == '[' || *s == ']' || *s == '\\')
                fputc('\\', d->f);
            fputc(*s == '\n' ? ' ' : *s, d->f);
        }
    }
}

/* A relative file name in a link: spaces and HTML specials escaped. */
static void put_href(struct doc *d, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ') fputs("%20", d->f);
        else if (*s == '"' || *s == '<' || *s == '>' || *s == '(' || *s == ')' || *s == '&')
            fprintf(d->f, "%%%02X", (unsigned char)*s);
        else fputc(*s, d->f);
    }
}

static const char STYLE[] =
    "body{font-family:sans-serif;max-width:1500px;margin:2em auto;padding:0 1em;color:#222}\n"
    "table{border-collapse:collapse;margin:0.5em 0 1em}\n"
    "th,td{border:1px solid #ccc;padding:0.25em 0.6em}\n"
    "th{background:#f0f0f0}td.r{text-align:right;font-variant-numeric:tabular-nums}\n"
    "img,figure svg{max-width:100%;height:auto;border:1px solid #ddd;margin:0.5em 0}\n"
    "figure{margin:0}\n"
    ".scroll{overflow-x:auto;max-width:100%}\n"
    "pre{background:#f6f6f6;padding:0.6em;overflow-x:auto}\n"
    ".missing{color:#a33}\n";

void doc_begin(struct doc *d, FILE *f, enum doc_fmt fmt, const char *title)
{
    memset(d, 0, sizeof *d);
    d->f = f;
    d->fmt = fmt;
    if (fmt == DOC_HTML) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
              f);
        put_text(d, title, false);
        fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", STYLE);
    }
    doc_heading(d, 1, title);
}

void doc_end(struct doc *d)
{
    if (d->fmt == DOC_HTML) fputs("</body>\n</html>\n", d->f);
}

void doc_heading(struct doc *d, int level, const char *text)
{
    OB_ASSERT(level >= 1 && level <= 3);
    if (d->fmt == DOC_HTML) {
        fprintf(d->f, "<h%d>", level);
        put_text(d, text, false);
        fprintf(d->f, "</h%d>\n", level);
    } else {
        fprintf(d->f, "%.*s ", level, "###");
        put_text(d, text, false);
        fputs("\n\n", d->f);
    }
}

void doc_para(struct doc *d, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (d->fmt == DOC_HTML) fputs("<p>", d->f);
    put_text(d, buf, false);
    fputs(d->fmt == DOC_HTML ? "</p>\n" : "\n\n", d->f);
}

void doc_code(struct doc *d, const char *text)
{
    if (d->fmt == DOC_HTML) {
        fputs("<pre>", d->f);
        put_text(d, text, false);
        fputs("</pre>\n", d->f);
    } else {
        fprintf(d->f, "```\n%s\n```\n\n", text);
    }
}

void doc_table_begin(struct doc *d, int ncols, const char *const *hdr, const char *align)
{
    OB_ASSERT(ncols >= 1 && ncols <= 16);
    d->ncols = ncols;
    snprintf(d->align, sizeof d->align, "%s", align);
    if (d->fmt == DOC_HTML) {
        fputs("<div class=\"scroll\"><table>\n<tr>", d->f);
        for (int i = 0; i < ncols; i++) {
            fputs("<th>", d->f);
            put_text(d, hdr[i], true);
            fputs("</th>", d->f);
        }
        fputs("</tr>\n", d->f);
        return;
    }
    fputc('|', d->f);
    for (int i = 0; i < ncols; i++) {
        fputc(' ', d->f);
        put_text(d, hdr[i], true);
        fputs(" |", d->f);
    }
    fputs("\n|", d->f);
    for (int i = 0; i < ncols; i++) fputs(d->align[i] == 'l' ? ":---|" : "---:|", d->f);
    fputc('\n', d->f);
}

void doc_table_row(struct doc *d, const char *const *cells)
{
    if (d->fmt == DOC_HTML) {
        fputs("<tr>", d->f);
        for (int i = 0; i < d->ncols; i++) {
            fputs(d->align[i] == 'l' ? "<td>" : "<td class=\"r\">", d->f);
            put_text(d, cells[i], true);
            fputs("</td>", d->f);
        }
        fputs("</tr>\n", d->f);
        return;
    }
    fputc('|', d->f);
    for (int i = 0; i < d->ncols; i++) {
        fputc(' ', d->f);
        put_text(d, cells[i], true);
        fputs(" |", d->f);
    }
    fputc('\n', d->f);
}

void doc_table_end(struct doc *d)
{
    fputs(d->fmt == DOC_HTML ? "</table></div>\n" : "\n", d->f);
    d->ncols = 0;
}

/* The whole of DIR/name (NUL-terminated, *len bytes), or NULL. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            char *nb = realloc(buf, cap = 2 * cap + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* STEM.svg of file STEM.png, inlined from its <svg ...> on (the XML prolog
 * dropped). Ids and references to them get a per-figure prefix, since every
 * gnuplot SVG defines the same ids (gpPt0, ...). Returns 0, or -1 when there is
 * no SVG to inline. */
static int inline_svg(struct doc *d, const char *file, const char *alt)
{
    char name[512];
    const char *dot = strrchr(file, '.');
    snprintf(name, sizeof name, "%.*s.svg", dot ? (int)(dot - file) : (int)strlen(file), file);
    size_t n;
    char *buf = slurp(d->dir, name, &n);
    if (!buf) return -1;
    const char *p = strstr(buf, "<svg");
    if (!p) {
        free(buf);
        return -1;
    }
    char pre[16];
    snprintf(pre, sizeof pre, "f%d-", ++d->n_inlined);
    fputs("<figure>\n", d->f);
    static const char *const KEYS[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#"};
    while (*p) {
        size_t best = strlen(p), klen = 0;
        for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
            const char *q = strstr(p, KEYS[k]);
            if (q && (size_t)(q - p) < best) best = (size_t)(q - p), klen = strlen(KEYS[k]);
        }
        fwrite(p, 1, best + klen, d->f);
        p += best + klen;
        if (klen) fputs(pre, d->f);
    }
    fputs("<figcaption>", d->f);
    put_text(d, alt, false);
    fputs("</figcaption>\n</figure>\n", d->f);
    free(buf);
    return 0;
}

/* The PNG as a data: URI (RFC 2397, base64 of RFC 4648). Returns 0 or -1. */
static int inline_png(struct doc *d, const char *file, const char *alt)
{
    size_t n;
    unsigned char *buf = (unsigned char *)slurp(d->dir, file, &n);
    if (!buf) return -1;
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fputs("<p><img src=\"data:image/png;base64,", d->f);
    for (size_t i = 0; i < n; i += 3) {
        const unsigned v = (unsigned)buf[i] << 16 | (i + 1 < n ? (unsigned)buf[i + 1] << 8 : 0) |
                           (i + 2 < n ? buf[i + 2] : 0);
        fputc(B64[v >> 18 & 63], d->f);
        fputc(B64[v >> 12 & 63], d->f);
        fputc(i + 1 < n ? B64[v >> 6 & 63] : '=', d->f);
        fputc(i + 2 < n ? B64[v & 63] : '=', d->f);
    }
    fputs("\" alt=\"", d->f);
    put_text(d, alt, false);
    fputs("\"></p>\n", d->f);
    free(buf);
    return 0;
}

void doc_image(struct doc *d, const char *file, const char *alt, bool present,
               const char *script)
{
    if (!present) {
        if (d->fmt == DOC_HTML) {
            fputs("<p class=\"missing\">[missing image] <code>", d->f);
            put_text(d, file, false);
            fputs("</code> was not drawn (gnuplot was not found); its data and script are in "
                  "this folder: install gnuplot and run <code>gnuplot ", d->f);
            put_text(d, script, false);
            fputs("</code> here.</p>\n", d->f);
        } else {
            fprintf(d->f, "[missing image] `%s` was not drawn (gnuplot was not found); its "
                          "data and script are in this folder: install gnuplot and run "
                          "`gnuplot %s` here.\n\n", file, script);
        }
        return;
    }
    if (d->fmt == DOC_HTML) {
        if (inline_svg(d, file, alt) == 0 || inline_png(d, file, alt) == 0) return;
        fputs("<p class=\"missing\">[missing image] <code>", d->f);
        put_text(d, file, false);
        fputs("</code> could not be read to inline it.</p>\n", d->f);
    } else {
        fputs("![", d->f);
        put_text(d, alt, true);
        fputs("](", d->f);
        put_href(d, file);
        fputs(")\n\n", d->f);
    }
}

void doc_list_begin(struct doc *d)
{
    if (d->fmt == DOC_HTML) fputs("<ul>\n", d->f);
}

void doc_link(struct doc *d, const char *file, const char *text)
{
    if (d->fmt == DOC_HTML) {
        fputs("<li><a href=\"", d->f);
        put_href(d, file);
        fputs("\">", d->f);
        put_text(d, file, false);
        fputs("</a>", d->f);
        if (*text) fputs(" ", d->f);
        put_text(d, text, false);
        fputs("</li>\n", d->f);
    } else {
        fputs("- [", d->f);
        put_text(d, file, true);
        fputs("](", d->f);
        put_href(d, file);
        fputs(")", d->f);
        if (*text) fputs(" ", d->f);
        put_text(d, text, false);
        fputc('\n', d->f);
    }
}

void doc_list_end(struct doc *d)
{
    fputs(d->fmt == DOC_HTML ? "</ul>\n" : "\n", d->f);
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

void doc_compare_table(struct doc *d, const struct compare_block *b)
{
    static const char *const HDR[] = {"design",       "params",    "KV/token", "prefill FLOPs",
                                      "decode FLOPs", "dec Op/B",  "TTFT",     "TPOT",
                                      "memory",       "max batch", "KV x",     "TTFT x",
                                      "TPOT x",       "train FLOP/tok", "train step",
                                      "train mem"};
    enum { NC = sizeof HDR / sizeof HDR[0] };
    struct train_cfg tc;
    compare_train_cfg(b->sc, &tc);
    doc_para(d,
             "Training columns: one step on %g x %s, ZeRO-%d data parallel (dp %g), %g "
             "sequences of %.0f tokens (micro-batch 1), %s recompute, %s, %s: model FLOPs per "
             "token (matmul, forward + backward), step time, memory per device "
             "(docs/training.md).",
             tc.gpus, b->d->name, tc.zero, tc.dp, tc.gpus, tc.seq, recompute_name(tc.recompute),
             optimizer_name(tc.opt), dtype_name(tc.dt));
    char c[NC][64];
    const char *cells[NC];
    for (int i = 0; i < NC; i++) cells[i] = c[i];
    doc_table_begin(d, NC, HDR, "lrrrrrrrrrrrrrrr");
    const struct compare_row *f = &b->rows[0];
    for (int i = 0; i < b->n; i++) {
        const struct compare_row *r = &b->rows[i];
        snprintf(c[0], 64, "%s", r->design);
        fmt_si(c[1], 64, r->params, "");
        fmt_bin(c[2], 64, r->kv_bytes_per_token);
        fmt_si(c[3], 64, r->prefill_flops, "");
        fmt_si(c[4], 64, r->decode_flops, "");
        snprintf(c[5], 64, r->decode_intensity >= 100 ? "%.0f" : "%.3g", r->decode_intensity);
        fmt_time(c[6], 64, r->ttft_s);
        fmt_time(c[7], 64, r->tpot_s);
        fmt_bin(c[8], 48, r->memory_bytes);
        if (!r->fits) strcat(c[8], " !");
        snprintf(c[9], 64, "%.0f", r->max_batch);
        snprintf(c[10], 64, "%.3g", ratio(r->kv_bytes_per_token, f->kv_bytes_per_token));
        snprintf(c[11], 64, "%.3g", ratio(r->ttft_s, f->ttft_s));
        snprintf(c[12], 64, "%.3g", ratio(r->tpot_s, f->tpot_s));
        if (r->has_train) {
            fmt_si(c[13], 64, r->train_flops_per_token, "");
            fmt_time(c[14], 64, r->train_step_s);
            fmt_bin(c[15], 48, r->train_memory_bytes);
            if (!r->train_fits) strcat(c[15], " !");
        } else {
            for (int k = 13; k < 16; k++) snprintf(c[k], 64, "n/a");
        }
        doc_table_row(d, cells);
    }
    doc_table_end(d);
}
