/* err.c - error record helpers; see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int err_set(struct err *e, const char *file, int line, int col, const char *fmt, ...)
{
    if (!e) return -1;
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    e->line = line;
    e->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void err_print(const struct err *e, FILE *out)
{
    if (e->file[0] && e->line > 0 && e->col > 0)
        fprintf(out, "%s:%d:%d: %s\n", e->file, e->line, e->col, e->msg);
    else if (e->file[0] && e->line > 0)
        fprintf(out, "%s:%d: %s\n", e->file, e->line, e->msg);
    else if (e->file[0])
        fprintf(out, "%s: %s\n", e->file, e->msg);
    else
        fprintf(out, "%s\n", e->msg);
}

void ob_assert_fail(const char *expr, const char *func, const char *file, int line)
{
    fprintf(stderr, "opbound: internal error: assertion '%s' failed in %s at %s:%d\n", expr, func,
            file, line);
    abort();
}
