/* plan_shard.c - a plan result as a CSV file, so that shards searched on
 * different machines (`opbound plan --shard K/N --csv F`) can be merged
 * (`opbound plan --merge F1 F2 ...`). docs/plan.md, "Shards".
 *
 * Layout: `meta,NAME,VALUE` lines (the request, the shard, the counters),
 * one header line, then one line per kept row. Numbers are written with 17
 * significant digits, so they read back to the same doubles and the merged
 * ranking equals the one of a single run exactly. */
#include "plan_shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_FIELDS 28
static const char *const HEADER =
    "key,mode,tp,ep,gpus,replicas,batch,dt_w,dt_kv,n_prefill,n_decode,tp_p,ep_p,dt_w_p,"
    "t_prefill_s,t_kv_s,ttft_s,t_decode_s,tpot_s,tok_s_user,tok_s_gpu,tok_s_total,"
    "usd_per_mtok,memory_bytes,meets,sample,dt_gemm,dt_gemm_p";

static const char *modes_name(const struct plan_req *q)
{
    return q->no_agg ? "disagg" : q->no_disagg ? "agg" : "both";
}

int plan_csv_write(FILE *f, const char *model, const char *hw, const struct plan_req *q,
                   const struct plan_result *r)
{
    fprintf(f, "meta,format,opbound-plan-1\nmeta,model,%s\nmeta,hw,%s\n", model, hw);
    fprintf(f, "meta,gpus,%.17g\nmeta,isl,%.17g\nmeta,osl,%.17g\nmeta,ttft_s,%.17g\n"
               "meta,tpot_s,%.17g\n",
            q->gpus, q->isl, q->osl, q->ttft_max_s, q->tpot_max_s);
    fprintf(f, "meta,objective,%s\nmeta,dtypes,%s\nmeta,modes,%s\nmeta,top,%d\n",
            plan_objective_name(q->objective), q->vary_dtypes ? "vary" : "model", modes_name(q),
            q->top > 0 ? q->top : 10);
    fprintf(f, "meta,shard,%d/%d\n", q->shard_n > 0 ? q->shard_k : 1,
            q->shard_n > 0 ? q->shard_n : 1);
    fprintf(f, "meta,configs,%.17g\nmeta,meets,%.17g\nmeta,analyses,%.17g\nmeta,wall_s,%.17g\n",
            r->configs, r->meets, r->analyses, r->wall_s);
    fprintf(f, "%s\n", HEADER);
    for (int i = 0; i < r->n; i++) {
        const struct plan_row *w = &r->rows[i];
        fprintf(f,
                "%llu,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%s,%.17g,%.17g,%.17g,%.17g,%s,"
                "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d,%d,%s,%s\n",
                (unsigned long long)w->key, plan_mode_name(w->mode), w->tp, w->ep, w->gpus,
                w->replicas, w->batch, dtype_name(w->dt_w), dtype_name(w->dt_kv), w->n_prefill,
                w->n_decode, w->tp_p, w->ep_p, dtype_name(w->dt_w_p), w->t_prefill_s, w->t_kv_s,
                w->ttft_s, w->t_decode_s, w->tpot_s, w->tok_s_user, w->tok_s_gpu,
                w->tok_s_total, w->usd_per_mtok, w->memory_bytes, w->meets, w->sample,
                dtype_name(w->dt_gemm), dtype_name(w->dt_gemm_p));
    }
    return ferror(f) ? -1 : 0;
}

static int num(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end == s || *end ? -1 : 0;
}

/* Splits line at commas in place: up to max fields; returns the count. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int meta_line(struct plan_meta *m, char *name, char *val, const char *path, int ln,
                     struct err *e)
{
    struct plan_req *q = &m->q;
    double v;
    const size_t vl = strlen(val);
    if (strcmp(name, "format") == 0) {
        if (strcmp(val, "opbound-plan-1") != 0)
            return err_set(e, path, ln, 13, "format '%s': expected opbound-plan-1", val);
        m->seen |= 1;
        return 0;
    }
    if (strcmp(name, "model") == 0 || strcmp(name, "hw") == 0) {
        char *dst = name[0] == 'm' ? m->model : m->hw;
        if (vl == 0 || vl >= sizeof m->model)
            return err_set(e, path, ln, 6 + (int)strlen(name) + 1, "%s: empty or too long", name);
        memcpy(dst, val, vl + 1);
        m->seen |= name[0] == 'm' ? 2 : 4;
        return 0;
    }
    if (strcmp(name, "objective") == 0) {
        if (strcmp(val, "tokens-per-gpu") == 0) q->objective = PLAN_TOKENS_PER_GPU;
        else if (strcmp(val, "usd-per-mtok") == 0) q->objective = PLAN_USD_PER_MTOK;
        else return err_set(e, path, ln, 16, "objective '%s': tokens-per-gpu or usd-per-mtok", val);
        return 0;
    }
    if (strcmp(name, "dtypes") == 0) {
        if (strcmp(val, "vary") != 0 && strcmp(val, "model") != 0)
            return err_set(e, path, ln, 13, "dtypes '%s': vary or model", val);
        q->vary_dtypes = val[0] == 'v';
        return 0;
    }
    if (strcmp(name, "modes") == 0) {
        q->no_agg = strcmp(val, "disagg") == 0;
        q->no_disagg = strcmp(val, "agg") == 0;
        if (!q->no_agg && !q->no_disagg && strcmp(val, "both") != 0)
            return err_set(e, path, ln, 12, "modes '%s': agg, disagg or both", val);
        return 0;
    }
    if (strcmp(name, "shard") == 0) {
        int k, n, used = 0;
        if (sscanf(val, "%d/%d%n", &k, &n, &used) != 2 || val[used] || n < 1 || k < 1 || k > n)
            return err_set(e, path, ln, 12, "shard '%s': expected K/N with 1 <= K <= N", val);
        q->shard_k = k;
        q->shard_n = n;
        m->seen |= 8;
        return 0;
    }
    if (num(val, &v)) return err_set(e, path, ln, 7 + (int)strlen(name), "%s '%s': not a number", name, val);
    if (strcmp(name, "gpus") == 0) q->gpus = v;
    else if (strcmp(name, "isl") == 0) q->isl = v;
    else if (strcmp(name, "osl") == 0) q->osl = v;
    else if (strcmp(name, "ttft_s") == 0) q->ttft_max_s = v;
    else if (strcmp(name, "tpot_s") == 0) q->tpot_max_s = v;
    else if (strcmp(name, "top") == 0) q->top = (int)v;
    else if (strcmp(name, "configs") == 0) m->r_configs = v;
    else if (strcmp(name, "meets") == 0) m->r_meets = v;
    else if (strcmp(name, "analyses") == 0) m->r_analyses = v;
    else if (strcmp(name, "wall_s") == 0) m->r_wall_s = v;
    else return err_set(e, path, ln, 6, "unknown meta field '%s'", name);
    return 0;
}

static int row_line(char **f, struct plan_row *w, const char *path, int ln, struct err *e)
{
    double v[ROW_FIELDS];
    int col[ROW_FIELDS];
    col[0] = 1;
    for (int i = 1; i < ROW_FIELDS; i++) col[i] = col[i - 1] + (int)strlen(f[i - 1]) + 1;
    for (int i = 1; i < ROW_FIELDS; i++) {
        const bool text = i == 1 || i == 7 || i == 8 || i == 13 || i >= 26;
        if (!text && num(f[i], &v[i]))
            return err_set(e, path, ln, col[i], "field %d '%s': not a number", i + 1, f[i]);
    }
    char *end;
    w->key = strtoull(f[0], &end, 10);
    if (end == f[0] || *end || f[0][0] == '-')
        return err_set(e, path, ln, 1, "key '%s': not a count", f[0]);
    if (strcmp(f[1], "agg") == 0) w->mode = PLAN_AGG;
    else if (strcmp(f[1], "disagg") == 0) w->mode = PLAN_DISAGG;
    else return err_set(e, path, ln, col[1], "mode '%s': agg or disagg", f[1]);
    static const int DT[5] = {7, 8, 13, 26, 27};
    enum dtype *dst[5] = {&w->dt_w, &w->dt_kv, &w->dt_w_p, &w->dt_gemm, &w->dt_gemm_p};
    for (int i = 0; i < 5; i++)
        if (dtype_parse(f[DT[i]], dst[i]))
            return err_set(e, path, ln, col[DT[i]], "unknown dtype '%s'", f[DT[i]]);
    for (int i = 24; i < 26; i++)
        if (v[i] != 0 && v[i] != 1)
            return err_set(e, path, ln, col[i], "field %d '%s': 0 or 1", i + 1, f[i]);
    w->tp = v[2], w->ep = v[3], w->gpus = v[4], w->replicas = v[5], w->batch = v[6];
    w->n_prefill = v[9], w->n_decode = v[10], w->tp_p = v[11], w->ep_p = v[12];
    w->t_prefill_s = v[14], w->t_kv_s = v[15], w->ttft_s = v[16], w->t_decode_s = v[17];
    w->tpot_s = v[18], w->tok_s_user = v[19], w->tok_s_gpu = v[20], w->tok_s_total = v[21];
    w->usd_per_mtok = v[22], w->memory_bytes = v[23];
    w->meets = v[24] == 1;
    w->sample = v[25] == 1;
    return 0;
}

int plan_csv_read(const char *path, struct plan_meta *meta, struct plan_result *r,
                  struct err *e)
{
    memset(meta, 0, sizeof *meta);
    memset(r, 0, sizeof *r);
    r->best = r->best_mode[PLAN_AGG] = r->best_mode[PLAN_DISAGG] = -1;
    FILE *f = fopen(path, "r");
    if (!f) return err_set(e, path, 0, 0, "cannot open");
    char line[4096];
    int ln = 0, rc = 0;
    bool header = false;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        ln++;
        size_t l = strlen(line);
        if (l == sizeof line - 1 && line[l - 1] != '\n') {
            rc = err_set(e, path, ln, 1, "line too long");
            break;
        }
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = '\0';
        if (l == 0) continue;
        char *fl[ROW_FIELDS + 1];
        if (!header && strncmp(line, "meta,", 5) == 0) {
            char *c = strchr(line + 5, ',');
            if (!c) {
                rc = err_set(e, path, ln, 6, "expected meta,NAME,VALUE");
                break;
            }
            *c = '\0';
            rc = meta_line(meta, line + 5, c + 1, path, ln, e);
            continue;
        }
        if (!header) {
            if (strcmp(line, HEADER) != 0) {
                rc = err_set(e, path, ln, 1, "expected the header line '%.40s...'", HEADER);
                break;
            }
            if ((meta->seen & 15) != 15) {
                rc = err_set(e, path, ln, 1, "missing meta lines (format, model, hw, shard)");
                break;
            }
            header = true;
            continue;
        }
        if (split(line, fl, ROW_FIELDS + 1) != ROW_FIELDS) {
            rc = err_set(e, path, ln, 1, "expected %d fields", ROW_FIELDS);
            break;
        }
        if (r->n == r->cap) {
            const int cap = r->cap ? 2 * r->cap : 256;
            struct plan_row *p = realloc(r->rows, sizeof *p * (size_t)cap);
            if (!p) {
                rc = err_set(e, path, ln, 0, "out of memory");
                break;
            }
            r->rows = p;
            r->cap = cap;
        }
        struct plan_row *w = &r->rows[r->n];
        memset(w, 0, sizeof *w);
        rc = row_line(fl, w, path, ln, e);
        if (rc == 0) {
            if (r->n > 0 && r->rows[r->n - 1].key >= w->key)
                rc = err_set(e, path, ln, 1, "rows out of key order");
            else
                r->n++;
        }
    }
    if (rc == 0 && ferror(f)) rc = err_set(e, path, ln, 0, "read error");
    if (rc == 0 && !header) rc = err_set(e, path, ln + 1, 1, "no header line: not a plan CSV");
    fclose(f);
    if (rc) {
        plan_free(r);
        return -1;
    }
    r->configs = meta->r_configs;
    r->meets = meta->r_meets;
    r->analyses = meta->r_analyses;
    r->wall_s = meta->r_wall_s;
    return 0;
}

int plan_meta_same(const struct plan_meta *a, const struct plan_meta *b)
{
    const struct plan_req *x = &a->q, *y = &b->q;
    return strcmp(a->model, b->model) == 0 && strcmp(a->hw, b->hw) == 0 && x->gpus == y->gpus &&
           x->isl == y->isl && x->osl == y->osl && x->ttft_max_s == y->ttft_max_s &&
           x->tpot_max_s == y->tpot_max_s && x->objective == y->objective &&
           x->vary_dtypes == y->vary_dtypes && x->no_agg == y->no_agg &&
           x->no_disagg == y->no_disagg && x->top == y->top && x->shard_n == y->shard_n;
}
