/* err.h - the error record that library code fills and only main() prints.
 *
 * Every user-facing failure is reported as "FILE:LINE:COL: message" (line and
 * column 1-based) or, when no position applies, "FILE: message" / "message".
 * Library functions return a nonzero status and fill a struct err; they never
 * print or exit. */
#ifndef OB_ERR_H
#define OB_ERR_H

#include <stdio.h>

struct err {
    char file[512]; /* "" when the error is not tied to a file */
    int line;       /* 1-based; 0 when unknown */
    int col;        /* 1-based; 0 when unknown */
    char msg[768];
};

/* Fills e (if non-NULL) with a position and a printf-style message; returns -1
 * so callers can write `return err_set(...)`. */
int err_set(struct err *e, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Writes "FILE:LINE:COL: msg\n" (omitting the parts that are unknown). */
void err_print(const struct err *e, FILE *out);

/* Always-on assertion for programming errors: prints expression, function and
 * file:line, then aborts. Not for user input. */
#define OB_ASSERT(x)                                                                    \
    do {                                                                                \
        if (!(x)) ob_assert_fail(#x, __func__, __FILE__, __LINE__);                     \
    } while (0)
_Noreturn void ob_assert_fail(const char *expr, const char *func, const char *file, int line);

#endif
