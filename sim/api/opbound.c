/* opbound.c - the public C API (opbound.h) over the engine: catalog lookup,
 * model/device loading, analysis_run. Nothing here prints or exits; every
 * failure is returned as an ob_status with an ob_error filled. */
#include "opbound.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../hw/device.h"
#include "../../models/hf_import.h"
#include "../../models/model.h"
#include "../analyze.h"
#include "../core/catalog.h"
#include "../core/dtype.h"
#include "../core/err.h"

#ifndef OB_VERSION
#define OB_VERSION "0.1.0"
#endif

_Static_assert(sizeof(((ob_error *)0)->file) == sizeof(((struct err *)0)->file), "err.file");
_Static_assert(sizeof(((ob_error *)0)->msg) == sizeof(((struct err *)0)->msg), "err.msg");

struct ob_model {
    struct model *m;
};
struct ob_device {
    struct device *d;
};
struct ob_scenario {
    struct scenario sc;
    bool has_seq, has_ctx;
    char wdt[16], kvdt[16]; /* "" = the model's */
};
struct ob_result {
    struct analysis a;
    const struct device *d; /* for the capacity; the caller keeps d alive */
    double capacity_bytes;
};

static ob_status fail(ob_error *out, const struct err *e, ob_status st)
{
    if (out) {
        memcpy(out->file, e->file, sizeof out->file);
        out->line = e->line;
        out->col = e->col;
        memcpy(out->msg, e->msg, sizeof out->msg);
    }
    return st;
}

static ob_status fail_msg(ob_error *out, ob_status st, const char *msg)
{
    struct err e;
    err_set(&e, NULL, 0, 0, "%s", msg);
    return fail(out, &e, st);
}

const char *ob_error_format(const ob_error *e, char *buf, size_t n)
{
    if (!buf || n == 0) return buf;
    if (e->file[0] && e->line > 0 && e->col > 0)
        snprintf(buf, n, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
    else if (e->file[0] && e->line > 0)
        snprintf(buf, n, "%s:%d: %s", e->file, e->line, e->msg);
    else if (e->file[0])
        snprintf(buf, n, "%s: %s", e->file, e->msg);
    else
        snprintf(buf, n, "%s", e->msg);
    return buf;
}

const char *ob_version(void) { return OB_VERSION; }

const char *ob_data_dir(void) { return catalog_dir(); }

ob_status ob_model_load(const char *name_or_path, ob_model **out, ob_error *err)
{
    struct err e;
    *out = NULL;
    if (!name_or_path) return fail_msg(err, OB_EINPUT, "no model given");
    char path[1024];
    if (catalog_resolve("models", name_or_path, path, sizeof path, &e)) return fail(err, &e, OB_EINPUT);
    ob_model *h = calloc(1, sizeof *h);
    if (!h) return fail_msg(err, OB_ENOMEM, "out of memory");
    const size_t l = strlen(path);
    int rc;
    if (l > 5 && strcmp(path + l - 5, ".json") == 0) {
        struct hf_notes notes;
        rc = hf_load(path, &h->m, &notes, &e);
    } else {
        rc = model_load(path, &h->m, &e);
    }
    if (rc) {
        free(h);
        return fail(err, &e, strcmp(e.msg, "out of memory") == 0 ? OB_ENOMEM : OB_EINPUT);
    }
    *out = h;
    return OB_OK;
}

void ob_model_free(ob_model *m)
{
    if (!m) return;
    model_free(m->m);
    free(m);
}

const char *ob_model_name(const ob_model *m) { return m->m->name; }

ob_status ob_device_load(const char *name_or_path, ob_device **out, ob_error *err)
{
    struct err e;
    *out = NULL;
    if (!name_or_path) return fail_msg(err, OB_EINPUT, "no device given");
    char path[1024];
    if (catalog_resolve("hw", name_or_path, path, sizeof path, &e)) return fail(err, &e, OB_EINPUT);
    ob_device *h = calloc(1, sizeof *h);
    if (!h) return fail_msg(err, OB_ENOMEM, "out of memory");
    if (device_load(path, &h->d, &e)) {
        free(h);
        return fail(err, &e, strcmp(e.msg, "out of memory") == 0 ? OB_ENOMEM : OB_EINPUT);
    }
    *out = h;
    return OB_OK;
}

void ob_device_free(ob_device *d)
{
    if (!d) return;
    device_free(d->d);
    free(d);
}

const char *ob_device_name(const ob_device *d) { return d->d->name; }

ob_scenario *ob_scenario_new(ob_phase phase)
{
    ob_scenario *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->sc.phase = phase == OB_DECODE ? PHASE_DECODE : PHASE_PREFILL;
    s->sc.batch = 1;
    s->sc.tp = 1;
    s->sc.ep = 1;
    return s;
}

void ob_scenario_free(ob_scenario *sc) { free(sc); }
void ob_scenario_set_batch(ob_scenario *sc, double v) { sc->sc.batch = v; }
void ob_scenario_set_tp(ob_scenario *sc, double v) { sc->sc.tp = v; }
void ob_scenario_set_ep(ob_scenario *sc, double v) { sc->sc.ep = v; }

void ob_scenario_set_seq(ob_scenario *sc, double v)
{
    sc->sc.seq = v;
    sc->has_seq = true;
}

void ob_scenario_set_context(ob_scenario *sc, double v)
{
    sc->sc.context = v;
    sc->has_ctx = true;
}

static void set_dt(char *slot, size_t n, const char *dt)
{
    snprintf(slot, n, "%s", dt ? dt : "");
}
void ob_scenario_set_weight_dtype(ob_scenario *sc, const char *dt) { set_dt(sc->wdt, sizeof sc->wdt, dt); }
void ob_scenario_set_kv_dtype(ob_scenario *sc, const char *dt) { set_dt(sc->kvdt, sizeof sc->kvdt, dt); }

static bool whole(double v, double lo, double hi) { return v >= lo && v <= hi && v == floor(v); }

/* The same limits as the command line's scenario options (sim/cli/cli.c). */
static int check(const ob_scenario *in, struct scenario *sc, struct err *e)
{
    *sc = in->sc;
    if (sc->phase == PHASE_PREFILL) {
        if (in->has_ctx) return err_set(e, NULL, 0, 0, "context is for decode; prefill takes seq");
        if (!in->has_seq) return err_set(e, NULL, 0, 0, "prefill needs seq (prompt tokens)");
        if (!whole(sc->seq, 1, 1099511627776.0))
            return err_set(e, NULL, 0, 0, "seq must be a whole number from 1 to 2^40, got %g", sc->seq);
    } else {
        if (in->has_seq) return err_set(e, NULL, 0, 0, "seq is for prefill; decode takes context");
        if (!in->has_ctx) return err_set(e, NULL, 0, 0, "decode needs context (cached tokens)");
        if (!whole(sc->context, 0, 1099511627776.0))
            return err_set(e, NULL, 0, 0, "context must be a whole number from 0 to 2^40, got %g",
                           sc->context);
    }
    if (!whole(sc->batch, 1, 1073741824.0))
        return err_set(e, NULL, 0, 0, "batch must be a whole number from 1 to 2^30, got %g", sc->batch);
    if (!whole(sc->tp, 1, 65536))
        return err_set(e, NULL, 0, 0, "tp must be a whole number from 1 to 65536, got %g", sc->tp);
    if (!whole(sc->ep, 1, 65536))
        return err_set(e, NULL, 0, 0, "ep must be a whole number from 1 to 65536, got %g", sc->ep);
    if (sc->ep > 1 && sc->tp > 1 && (long long)sc->ep % (long long)sc->tp)
        return err_set(e, NULL, 0, 0, "ep %g with tp %g: ep must be a multiple of tp (the expert "
                                      "group holds whole attention groups)", sc->ep, sc->tp);
    if (in->wdt[0]) {
        if (dtype_parse(in->wdt, &sc->dt_w))
            return err_set(e, NULL, 0, 0, "weight dtype: unknown dtype '%s'", in->wdt);
        sc->has_dt_w = true;
    }
    if (in->kvdt[0]) {
        if (dtype_parse(in->kvdt, &sc->dt_kv))
            return err_set(e, NULL, 0, 0, "kv dtype: unknown dtype '%s'", in->kvdt);
        sc->has_dt_kv = true;
    }
    return 0;
}

ob_status ob_evaluate(const ob_model *m, const ob_device *d, const ob_scenario *sc,
                      ob_result **out, ob_error *err)
{
    struct err e;
    *out = NULL;
    if (!m || !d || !sc) return fail_msg(err, OB_EINPUT, "model, device and scenario are needed");
    struct scenario s;
    /* the length bound of the CLI too (the flex kind handles at most 2^21
     * tokens): without it a long prefill ran for minutes */
    if (check(sc, &s, &e) || model_tp_check(m->m, s.tp, &e) ||
        (s.ep > 1 && model_ep_check(m->m, s.ep, &e)) ||
        model_len_check(m->m, s.phase == PHASE_PREFILL ? s.seq : s.context + 1.0, &e))
        return fail(err, &e, OB_EINPUT);
    ob_result *r = calloc(1, sizeof *r);
    if (!r || analysis_init(&r->a, m->m)) {
        free(r);
        return fail_msg(err, OB_ENOMEM, "out of memory");
    }
    analysis_run(&r->a, m->m, d->d, &s);
    r->capacity_bytes = d->d->mem_capacity_bytes;
    *out = r;
    return OB_OK;
}

void ob_result_free(ob_result *r)
{
    if (!r) return;
    analysis_free(&r->a);
    free(r);
}

double ob_result_total(const ob_result *r, ob_total which)
{
    const struct analysis *a = &r->a;
    switch (which) {
    case OB_STEP_TIME_S: return a->tot.time_s;
    case OB_STEP_FLOPS: return a->tot.flops;
    case OB_STEP_BYTES: return a->tot.bytes;
    case OB_TTFT_S: return a->ttft_s;
    case OB_TPOT_S: return a->tpot_s;
    case OB_TOKENS_PER_S: return a->tokens_per_s;
    case OB_PARAMS: return a->counts.params;
    case OB_ACTIVE_PARAMS: return a->counts.active_params;
    case OB_WEIGHT_BYTES: return a->weight_bytes;
    case OB_KV_BYTES_PER_TOKEN: return a->kv_bytes_per_token;
    case OB_MEMORY_BYTES: return a->memory_bytes;
    case OB_CAPACITY_BYTES: return r->capacity_bytes;
    case OB_FITS: return a->fits ? 1 : 0;
    case OB_MAX_BATCH: return a->max_batch;
    case OB_TOTAL_COUNT: break;
    }
    return NAN;
}

int ob_result_op_count(const ob_result *r) { return r->a.graph.n; }

static const struct op *op_at(const ob_result *r, int i)
{
    return i >= 0 && i < r->a.graph.n ? &r->a.graph.ops[i] : NULL;
}

const char *ob_result_op_name(const ob_result *r, int i)
{
    const struct op *o = op_at(r, i);
    return o ? o->name : NULL;
}

const char *ob_result_op_kind(const ob_result *r, int i)
{
    const struct op *o = op_at(r, i);
    return o ? op_kind_name(o->kind) : NULL;
}

const char *ob_result_op_bound(const ob_result *r, int i)
{
    return op_at(r, i) ? bound_name(r->a.per_op[i].bound) : NULL;
}

int ob_result_op_layer(const ob_result *r, int i)
{
    const struct op *o = op_at(r, i);
    return o ? o->layer_first : -1;
}

double ob_result_op(const ob_result *r, int i, ob_op_field which)
{
    const struct op *o = op_at(r, i);
    if (!o) return NAN;
    const struct op_eval *v = &r->a.per_op[i];
    switch (which) {
    case OB_OP_FLOPS: return v->flops;
    case OB_OP_BYTES: return v->bytes;
    case OB_OP_INTENSITY: return v->intensity;
    case OB_OP_TIME_S: return v->time_s;
    case OB_OP_LAYERS: return o->layer_count > 0 ? o->layer_count : 1;
    case OB_OP_FIELD_COUNT: break;
    }
    return NAN;
}
