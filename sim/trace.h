/* trace.h - request traces for `opbound serve`: CSV files of arrival time,
 * prompt tokens, output tokens, and optionally a session (multi-turn chat) and
 * a shared prefix (system prompt) per request.
 *
 * The layout is read from the header line, by column name, so the public
 * LLM-inference traces load as they are published (docs/serving.md, "Request
 * traces"):
 *   - opbound:  arrival_s,input_tokens,output_tokens[,session][,prefix,prefix_tokens]
 *               [,priority]
 *   - Azure LLM inference trace (2023, 2024): TIMESTAMP,ContextTokens,GeneratedTokens
 *     (TIMESTAMP a date and time, "2023-11-16 18:15:46.6805900")
 *   - BurstGPT: Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
 *     (Timestamp in seconds; the later release's Session ID and Elapsed time
 *     columns are read and ignored respectively)
 * Arrivals are taken relative to the first row. Rows with no prompt or no
 * output tokens (BurstGPT's failed requests) are skipped and counted.
 *
 * Entry points: trace_load, trace_free. To accept another layout, add its
 * column names to COLS in trace.c. */
#ifndef OB_TRACE_H
#define OB_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum trace_layout { TRACE_OPBOUND, TRACE_AZURE, TRACE_BURSTGPT, TRACE_LAYOUT_COUNT };

/* One request of a trace. session and prefix are 64-bit hashes (FNV-1a) of
 * the id text; 0 = none. */
struct trace_req {
    double arrival_s, input, output;
    uint64_t session, prefix;
    double prefix_tokens; /* the first prefix_tokens prompt tokens are prefix's */
    double priority;      /* admission class: lower first (0 default) */
    int line, col;        /* 1-based line in the file and column of its prompt tokens */
};

struct trace {
    struct trace_req *r; /* n rows, arrivals non-decreasing, first at 0 */
    size_t n;
    size_t skipped; /* rows with 0 prompt or 0 output tokens */
    enum trace_layout layout;
    char file[512];
};

#define TRACE_MAX_ROWS 1000000
#define TRACE_MAX_TOKENS 16777216.0 /* 2^24, as the scenario's lengths */

/* Reads at most max_rows requests (0 = up to TRACE_MAX_ROWS, more is an
 * error) from the CSV file at path into *t (owned by the caller: trace_free).
 * 0, or -1 with e set at FILE:LINE:COL. */
int trace_load(const char *path, size_t max_rows, struct trace *t, struct err *e);
void trace_free(struct trace *t); /* accepts a zeroed trace */
const char *trace_layout_name(enum trace_layout l);

#endif
