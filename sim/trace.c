/* trace.c - reading request traces (CSV) for `opbound serve`; see trace.h.
 * Layouts and rules: docs/serving.md, "Request traces". */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_CHARS 4096
#define MAX_COLS 16

/* What a column holds. */
enum role {
    R_ARRIVAL_S,   /* seconds (any origin) */
    R_ARRIVAL_DT,  /* date and time: YYYY-MM-DD HH:MM:SS[.fraction] */
    R_INPUT,
    R_OUTPUT,
    R_SESSION,
    R_PREFIX,
    R_PREFIX_TOKENS,
    R_PRIORITY,
    R_IGNORED,     /* read and not used (BurstGPT's Model, Total tokens, Log Type, ...) */
};

/* Column names of every layout (exact, case-sensitive, as published). */
static const struct col {
    const char *name;
    enum role role;
    enum trace_layout layout;
} COLS[] = {
    {"arrival_s", R_ARRIVAL_S, TRACE_OPBOUND},
    {"input_tokens", R_INPUT, TRACE_OPBOUND},
    {"output_tokens", R_OUTPUT, TRACE_OPBOUND},
    {"session", R_SESSION, TRACE_OPBOUND},
    {"prefix", R_PREFIX, TRACE_OPBOUND},
    {"prefix_tokens", R_PREFIX_TOKENS, TRACE_OPBOUND},
    {"priority", R_PRIORITY, TRACE_OPBOUND},
    /* Azure LLM inference traces 2023 (Patel et al., Splitwise, ISCA 2024) and
     * 2024 (Stojkovic et al., DynamoLLM): github.com/Azure/AzurePublicDataset */
    {"TIMESTAMP", R_ARRIVAL_DT, TRACE_AZURE},
    {"ContextTokens", R_INPUT, TRACE_AZURE},
    {"GeneratedTokens", R_OUTPUT, TRACE_AZURE},
    /* BurstGPT (Wang et al., arXiv:2401.17644): github.com/HPMLL/BurstGPT */
    {"Timestamp", R_ARRIVAL_S, TRACE_BURSTGPT},
    {"Request tokens", R_INPUT, TRACE_BURSTGPT},
    {"Response tokens", R_OUTPUT, TRACE_BURSTGPT},
    {"Session ID", R_SESSION, TRACE_BURSTGPT},
    {"Model", R_IGNORED, TRACE_BURSTGPT},
    {"Total tokens", R_IGNORED, TRACE_BURSTGPT},
    {"Log Type", R_IGNORED, TRACE_BURSTGPT},
    {"Elapsed time", R_IGNORED, TRACE_BURSTGPT},
};
#define NCOLS (sizeof COLS / sizeof COLS[0])

static const char *const LAYOUT_NAMES[TRACE_LAYOUT_COUNT] = {
    [TRACE_OPBOUND] = "opbound", [TRACE_AZURE] = "Azure LLM inference",
    [TRACE_BURSTGPT] = "BurstGPT"};
_Static_assert(sizeof LAYOUT_NAMES / sizeof LAYOUT_NAMES[0] == TRACE_LAYOUT_COUNT,
               "a name per layout");

const char *trace_layout_name(enum trace_layout l) { return LAYOUT_NAMES[l]; }

void trace_free(struct trace *t)
{
    free(t->r);
    t->r = NULL;
    t->n = 0;
}

/* FNV-1a, 64 bits (Fowler, Noll, Vo): an id's text to a number; never 0. */
static uint64_t id_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ? h : 1;
}

/* Splits a line into fields at commas; a field may be quoted ("a,b", with ""
 * for a quote). Fields are unquoted in place; col[i] is field i's 1-based
 * column. Returns the number of fields, or -1 with *bad the column of an
 * unterminated quote. */
static int split(char *s, char **f, int *col, int max, int *bad)
{
    int n = 0;
    char *p = s;
    for (;;) {
        if (n == max) return max + 1;
        col[n] = (int)(p - s) + 1;
        if (*p == '"') {
            char *w = p, *r = p + 1;
            f[n++] = w;
            for (;;) {
                if (!*r) {
                    *bad = col[n - 1];
                    return -1;
                }
                if (*r == '"') {
                    if (r[1] == '"') *w++ = '"', r += 2;
                    else break;
                } else {
                    *w++ = *r++;
                }
            }
            r++; /* the closing quote */
            if (*r != ',' && *r) {
                *bad = (int)(r - s) + 1;
                return -1;
            }
            const bool more = *r == ',';
            *w = 0;
            if (!more) return n;
            p = r + 1;
            continue;
        }
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) return n;
        *c = 0;
        p = c + 1;
    }
}

/* A whole number of tokens from 0 to TRACE_MAX_TOKENS. */
static int parse_tokens(const char *s, double *out)
{
    if (!*s) return -1;
    double v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
        if (v > TRACE_MAX_TOKENS) return -2;
    }
    *out = v;
    return 0;
}

/* Seconds, a decimal from 0 to 1e12 (31,700 years). */
static int parse_seconds(const char *s, double *out)
{
    if (!*s) return -1;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789.eE+-", *p)) return -1;
    char *end;
    errno = 0;
    const double v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || v < 0 || v > 1e12) return -1;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (the
 * days-from-civil algorithm: H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms"). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}
static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* "YYYY-MM-DD HH:MM:SS[.f{1,9}][Z|+00:00]" (the Azure traces; a 'T' may
 * separate date and time) to whole seconds since 1970 (UTC; an offset other
 * than +00:00 is refused) and nanoseconds. Returns 0, or -1. */
static int parse_datetime(const char *s, int64_t *sec, int64_t *ns)
{
    if (strlen(s) < 19 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2) ||
        s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return -1;
    const int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = num(s + 11, 2),
              mi = num(s + 14, 2), se = num(s + 17, 2);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || se > 60)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int nd = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 9) frac = frac * 10 + (*p - '0');
        if (nd == 0) return -1;
        for (; nd < 9; nd++) frac *= 10;
    }
    if (*p && strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0) return -1;
    *sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    *ns = frac;
    return 0;
}

static void trim_eol(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
}

int trace_load(const char *path, size_t max_rows, struct trace *t, struct err *e)
{
    memset(t, 0, sizeof *t);
    snprintf(t->file, sizeof t->file, "%s", path);
    FILE *fp = fopen(path, "r");
    if (!fp) return err_set(e, path, 0, 0, "cannot open the trace: %s", strerror(errno));
    const size_t limit = max_rows ? max_rows : TRACE_MAX_ROWS;
    char buf[LINE_MAX_CHARS + 2];
    char *f[MAX_COLS + 1];
    int fc[MAX_COLS + 1], role_col[R_IGNORED + 1];
    enum role roles[MAX_COLS];
    int ncols = 0, line = 0, bad = 0;
    size_t cap = 0;
    bool have_t0 = false;
    double t0 = 0, last = 0;
    int64_t sec0 = 0, ns0 = 0;
    for (int i = 0; i <= R_IGNORED; i++) role_col[i] = -1;
    while (fgets(buf, sizeof buf, fp)) {
        line++;
        if (!strchr(buf, '\n') && !feof(fp)) {
            err_set(e, path, line, LINE_MAX_CHARS + 1, "line longer than %d characters",
                    LINE_MAX_CHARS);
            goto fail;
        }
        trim_eol(buf);
        char *s = buf;
        if (line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
            (unsigned char)s[2] == 0xBF)
            s += 3; /* a UTF-8 byte-order mark */
        for (char *p = s; *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\t') {
                err_set(e, path, line, (int)(p - buf) + 1,
                        "control character (byte 0x%02x) in the trace", (unsigned char)*p);
                goto fail;
            }
        if (!*s) continue; /* blank lines (a trailing newline) */
        const int off = (int)(s - buf), len = (int)strlen(buf);
        const int nf = split(s, f, fc, MAX_COLS, &bad);
        if (nf < 0) {
            err_set(e, path, line, bad + off, "unterminated or misplaced quote");
            goto fail;
        }
        if (ncols == 0) { /* the header: every column a known name of one layout */
            if (nf > MAX_COLS) {
                err_set(e, path, line, 1, "more than %d columns in the header", MAX_COLS);
                goto fail;
            }
            int lay = -1;
            for (int i = 0; i < nf; i++) {
                size_t k = 0;
                while (k < NCOLS && strcmp(COLS[k].name, f[i]) != 0) k++;
                if (k == NCOLS) {
                    err_set(e, path, line, fc[i] + off,
                            "unknown trace column '%s' (expected a header of the opbound "
                            "layout arrival_s,input_tokens,output_tokens[,session][,prefix,"
                            "prefix_tokens], the Azure LLM inference trace's TIMESTAMP,"
                            "ContextTokens,GeneratedTokens, or BurstGPT's Timestamp,Model,"
                            "Request tokens,Response tokens,Total tokens,Log Type)",
                            f[i]);
                    goto fail;
                }
                if (lay >= 0 && (int)COLS[k].layout != lay) {
                    err_set(e, path, line, fc[i] + off,
                            "column '%s' belongs to the %s layout, the header began as %s",
                            f[i], LAYOUT_NAMES[COLS[k].layout], LAYOUT_NAMES[lay]);
                    goto fail;
                }
                lay = (int)COLS[k].layout;
                const enum role r = COLS[k].role;
                const int slot = r == R_ARRIVAL_DT ? R_ARRIVAL_S : (int)r;
                if (r != R_IGNORED && role_col[slot] >= 0) {
                    err_set(e, path, line, fc[i] + off, "column '%s' appears twice", f[i]);
                    goto fail;
                }
                if (r != R_IGNORED) role_col[slot] = i;
                roles[i] = r;
            }
            static const char *const need[TRACE_LAYOUT_COUNT][3] = {
                [TRACE_OPBOUND] = {"arrival_s", "input_tokens", "output_tokens"},
                [TRACE_AZURE] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"},
                [TRACE_BURSTGPT] = {"Timestamp", "Request tokens", "Response tokens"}};
            const int req[3] = {R_ARRIVAL_S, R_INPUT, R_OUTPUT};
            for (int j = 0; j < 3; j++)
                if (role_col[req[j]] < 0) {
                    err_set(e, path, line, 1, "the %s header has no '%s' column",
                            LAYOUT_NAMES[lay], need[lay][j]);
                    goto fail;
                }
            if ((role_col[R_PREFIX] < 0) != (role_col[R_PREFIX_TOKENS] < 0)) {
                err_set(e, path, line, 1, "give both 'prefix' and 'prefix_tokens' or neither");
                goto fail;
            }
            t->layout = (enum trace_layout)lay;
            ncols = nf;
            continue;
        }
        if (nf != ncols) {
            err_set(e, path, line, nf > ncols ? fc[ncols] + off : len + 1,
                    "expected %d comma-separated fields as in the header, got %s%d", ncols,
                    nf > ncols ? "more than " : "", nf > ncols ? ncols : nf);
            goto fail;
        }
        if (t->n == limit) {
            if (max_rows) break; /* the requests asked for */
            err_set(e, path, line, 1,
                    "the trace has more than %d requests (serve's limit): give `requests: N` "
                    "to replay the first N",
                    TRACE_MAX_ROWS);
            goto fail;
        }
        struct trace_req q = {.line = line, .col = fc[role_col[R_INPUT]] + off};
        for (int i = 0; i < ncols; i++) {
            const char *v = f[i];
            const int col = fc[i] + off;
            switch (roles[i]) {
            case R_ARRIVAL_S: {
                double x;
                if (parse_seconds(v, &x)) {
                    err_set(e, path, line, col,
                            "arrival time '%s' is not a number of seconds from 0 to 1e12", v);
                    goto fail;
                }
                if (!have_t0) t0 = x, have_t0 = true;
                q.arrival_s = x - t0;
                break;
            }
            case R_ARRIVAL_DT: {
                int64_t sec, ns;
                if (parse_datetime(v, &sec, &ns)) {
                    err_set(e, path, line, col,
                            "time '%s' is not a date and time YYYY-MM-DD HH:MM:SS[.fraction] "
                            "(UTC)", v);
                    goto fail;
                }
                if (!have_t0) sec0 = sec, ns0 = ns, have_t0 = true;
                /* years 0000-9999: |sec - sec0| < 2^39, exact in a double */
                q.arrival_s = (double)(sec - sec0) + (double)(ns - ns0) * 1e-9;
                break;
            }
            case R_INPUT:
            case R_OUTPUT:
            case R_PREFIX_TOKENS: {
                double x = 0;
                const int rc = parse_tokens(v, &x);
                if (rc) {
                    err_set(e, path, line, col,
                            rc == -2 ? "token count '%s' is over 2^24 (16777216)"
                                     : "token count '%s' is not a whole number >= 0", v);
                    goto fail;
                }
                if (roles[i] == R_INPUT) q.input = x;
                else if (roles[i] == R_OUTPUT) q.output = x;
                else q.prefix_tokens = x;
                break;
            }
            case R_PRIORITY: {
                double x = 0;
                if (parse_tokens(v, &x) || x > 1000000) {
                    err_set(e, path, line, col,
                            "priority '%s' is not a whole number from 0 to 1000000", v);
                    goto fail;
                }
                q.priority = x;
                break;
            }
            case R_SESSION: q.session = *v ? id_hash(v) : 0; break;
            case R_PREFIX: q.prefix = *v ? id_hash(v) : 0; break;
            case R_IGNORED: break;
            }
        }
        if (t->n > 0 && q.arrival_s < last) {
            err_set(e, path, line, fc[role_col[R_ARRIVAL_S]] + off,
                    "arrival goes back in time (%.17g s after the first request, the row "
                    "before was at %.17g s): sort the trace by time",
                    q.arrival_s, last);
            goto fail;
        }
        last = q.arrival_s;
        if (role_col[R_PREFIX] >= 0) {
            const int pc = fc[role_col[R_PREFIX_TOKENS]] + off;
            if (q.prefix && q.prefix_tokens == 0) {
                err_set(e, path, line, pc, "a prefix needs prefix_tokens >= 1");
                goto fail;
            }
            if (!q.prefix && q.prefix_tokens > 0) {
                err_set(e, path, line, pc, "prefix_tokens without a prefix id");
                goto fail;
            }
            if (q.prefix_tokens > q.input && q.input > 0) {
                err_set(e, path, line, pc,
                        "prefix_tokens (%g) is more than the prompt (input_tokens %g)",
                        q.prefix_tokens, q.input);
                goto fail;
            }
        }
        if (q.input == 0 || q.output == 0) { /* failed or empty requests */
            t->skipped++;
            continue;
        }
        if (t->n == cap) {
            cap = cap ? 2 * cap : 1024;
            struct trace_req *nr = realloc(t->r, cap * sizeof *nr);
            OB_ASSERT(nr);
            t->r = nr;
        }
        t->r[t->n++] = q;
    }
    if (ferror(fp)) {
        err_set(e, path, line, 0, "read error: %s", strerror(errno));
        goto fail;
    }
    if (ncols == 0) {
        err_set(e, path, 1, 1, "empty trace: expected a header line");
        goto fail;
    }
    if (t->n == 0) {
        err_set(e, path, line ? line : 1, 1,
                "the trace holds no request with prompt and output tokens (%zu rows skipped)",
                t->skipped);
        goto fail;
    }
    /* arrivals relative to the first request kept */
    const double a0 = t->r[0].arrival_s;
    for (size_t i = 0; i < t->n; i++) t->r[i].arrival_s -= a0;
    fclose(fp);
    return 0;
fail:
    fclose(fp);
    trace_free(t);
    return -1;
}
