/* plan_shard.h - a plan result as CSV, written by one shard of a search and
 * read back to merge (sim/plan_shard.c, docs/plan.md "Shards").
 * Entry points: plan_csv_write, plan_csv_read, plan_meta_same. */
#ifndef OB_PLAN_SHARD_H
#define OB_PLAN_SHARD_H

#include <stdio.h>

#include "plan.h"

/* What a CSV says about its search. */
struct plan_meta {
    char model[1024], hw[1024]; /* as given on the command line */
    struct plan_req q;          /* the request, shard_k/shard_n included */
    double r_configs, r_meets, r_analyses, r_wall_s;
    unsigned seen;              /* meta lines read (format, model, hw, shard) */
};

/* Writes the request and r's rows. 0, or -1 on a write error. */
int plan_csv_write(FILE *f, const char *model, const char *hw, const struct plan_req *q,
                   const struct plan_result *r);
/* Reads a file plan_csv_write wrote: meta and rows (top, front and best are
 * left for plan_merge to recompute). 0, or -1 with e set (FILE:LINE:COL). */
int plan_csv_read(const char *path, struct plan_meta *meta, struct plan_result *r,
                  struct err *e);
/* Whether two shards come from the same search (everything but the shard
 * number and the counters). */
int plan_meta_same(const struct plan_meta *a, const struct plan_meta *b);

#endif
