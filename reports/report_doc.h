/* report_doc.h - the text of `opbound report`: one set of calls writes either
 * Markdown (report.md) or a self-contained HTML page (report.html: inline
 * style; every chart inlined, as its SVG (text stays sharp, points keep their
 * hover text) or else its PNG as a data: URI; no external assets, so the page
 * can be copied alone).
 *
 * Entry points: doc_begin / doc_end, doc_heading, doc_para, doc_code,
 * doc_table_begin / doc_table_row / doc_table_end, doc_image, doc_list_begin /
 * doc_link / doc_list_end, and doc_compare_table (a block of compare rows). */
#ifndef OB_REPORT_DOC_H
#define OB_REPORT_DOC_H

#include <stdbool.h>
#include <stdio.h>

#include "compare_report.h"

enum doc_fmt { DOC_MD, DOC_HTML };

struct doc {
    FILE *f;
    enum doc_fmt fmt;
    int ncols;          /* of the open table */
    char align[16];
    const char *dir;    /* HTML: the folder the images are read from to inline them */
    int n_inlined;      /* SVGs inlined so far (their ids are prefixed per figure) */
};

/* Starts the document (HTML: head with the page's style). */
void doc_begin(struct doc *d, FILE *f, enum doc_fmt fmt, const char *title);
void doc_end(struct doc *d);
/* level 1..3; text is escaped. */
void doc_heading(struct doc *d, int level, const char *text);
/* One paragraph of plain text (escaped). */
void doc_para(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A preformatted block (a command line). */
void doc_code(struct doc *d, const char *text);
/* Table with ncols (<= 16) columns; align[i] 'l' or 'r'. Cells are escaped. */
void doc_table_begin(struct doc *d, int ncols, const char *const *hdr, const char *align);
void doc_table_row(struct doc *d, const char *const *cells);
void doc_table_end(struct doc *d);
/* An image file (relative path; HTML inlines d->dir/STEM.svg, else the PNG).
 * When !present, a note says it was not drawn and how to draw it (script = its
 * gnuplot script). */
void doc_image(struct doc *d, const char *file, const char *alt, bool present,
               const char *script);
void doc_list_begin(struct doc *d);
/* A list item: link to file (relative path), then plain text (may be ""). */
void doc_link(struct doc *d, const char *file, const char *text);
void doc_list_end(struct doc *d);

/* The compare table of one (device, scenario) block, as `opbound compare`
 * prints it (ratios against the block's first row). */
void doc_compare_table(struct doc *d, const struct compare_block *b);

#endif
