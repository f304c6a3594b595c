/* study.c - loading study files; see study.h. */
#include "study.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../models/model_file.h"
#include "../models/profile.h"
#include "core/catalog.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct study_top {
    char name[128], skeleton[256], description[512];
};
static const struct key_spec TOP_KEYS[] = {
    {"name", KEY_STR, offsetof(struct study_top, name), 0, 128, 1, NULL, "", "study title"},
    {"description", KEY_STR, offsetof(struct study_top, description), 0, 512, 0, NULL, "",
     "free text"},
    {"skeleton", KEY_STR, offsetof(struct study_top, skeleton), 0, 256, 0, NULL, "",
     "model (bundled name or path) whose blocks designs replace; needed by designs without "
     "`model`"},
    {"hw", KEY_SEQ, 0, 0, 0, 1, NULL, "", "devices: a list of bundled names or paths"},
    {"scenarios", KEY_SEQ, 0, 0, 0, 1, NULL, "", "a list of scenarios (see scenario table)"},
    {"designs", KEY_SEQ, 0, 0, 0, 1, NULL, "", "a list of designs (see design table)"},
};

struct design_in {
    char name[64], model[256];
};
static const struct key_spec DESIGN_KEYS[] = {
    {"name", KEY_STR, offsetof(struct design_in, name), 0, 64, 1, NULL, "",
     "row label in reports"},
    {"model", KEY_STR, offsetof(struct design_in, model), 0, 256, 0, NULL, "",
     "a whole model (bundled name or path) instead of the skeleton"},
    {"attention", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "attention block placed in every layer group (as in a model file)"},
    {"ffn", KEY_MAP, 0, 0, 0, 0, NULL, "", "FFN block placed in every layer group"},
    {"kv_budget", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "KV-cache budget put on every layer group with a KV cache (as a group's kv_budget)"},
};

static const char *const PHASES[] = {"prefill", "decode", NULL};
struct scen_in {
    int phase;
    int64_t batch, seq, context, tp, ep;
    enum dtype wdt, kvdt;
    char profile[512], impl[256];
};
static const struct key_spec SCEN_KEYS[] = {
    {"phase", KEY_ENUM, offsetof(struct scen_in, phase), 0, 0, 1, PHASES, "",
     "prefill or decode; both phases are reported, this one sets the lengths' meaning"},
    {"batch", KEY_INT, offsetof(struct scen_in, batch), 1, 1073741824, 1, NULL, "sequences",
     "batch B"},
    {"seq", KEY_INT, offsetof(struct scen_in, seq), 1, 1099511627776.0, 0, NULL, "tokens",
     "prefill: prompt length S (required for prefill)"},
    {"context", KEY_INT, offsetof(struct scen_in, context), 0, 1099511627776.0, 0, NULL,
     "tokens", "decode: cached tokens L (required for decode)"},
    {"tp", KEY_INT, offsetof(struct scen_in, tp), 1, 65536, 0, NULL, "devices",
     "tensor-parallel devices (default 1)"},
    {"ep", KEY_INT, offsetof(struct scen_in, ep), 1, 65536, 0, NULL, "devices",
     "expert-parallel devices (default 1; not with tp > 1)"},
    {"weight_dtype", KEY_DTYPE, offsetof(struct scen_in, wdt), 0, 0, 0, NULL, "",
     "override the designs' weight dtype"},
    {"profile", KEY_STR, offsetof(struct scen_in, profile), 0, 512, 0, NULL, "",
     "implementation profile: engine, hf, or a profile file relative to this file "
     "(docs/profiles.md; default: none, one fused op per role)"},
    {"impl", KEY_STR, offsetof(struct scen_in, impl), 0, 256, 0, NULL, "",
     "implementation choices KEY=IMPL,... as --impl (e.g. attention=cudnn)"},
    {"kv_dtype", KEY_DTYPE, offsetof(struct scen_in, kvdt), 0, 0, 0, NULL, "",
     "override the designs' KV-cache dtype"},
};

int study_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n)
{
    switch (i) {
    case 0: *title = "Study: top level"; *keys = TOP_KEYS; *n = N(TOP_KEYS); return 0;
    case 1: *title = "Study: each item of `designs`"; *keys = DESIGN_KEYS; *n = N(DESIGN_KEYS);
        return 0;
    case 2: *title = "Study: each item of `scenarios`"; *keys = SCEN_KEYS; *n = N(SCEN_KEYS);
        return 0;
    default: return -1;
    }
}

int study_sniff(const char *path, struct err *e)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISDIR(st.st_mode)) return 0; /* a bundled name, or not there */
    struct yml_doc *d = NULL;
    if (yml_load(path, &d, e)) return -1;
    /* keys only a study has (a misspelt `designs` still leaves the others) */
    static const char *const ONLY[] = {"designs", "skeleton", "scenarios", "hw"};
    const yml_node root = yml_root(d);
    int is = 0;
    for (size_t i = 0; i < N(ONLY) && !is; i++) is = yml_map_get(d, root, ONLY[i]) != 0;
    yml_free(d);
    return is;
}

/* A model argument inside a study: paths are relative to the study's folder. */
static int resolve(const char *study_path, const char *arg, const char *subdir, char *out,
                   size_t n, struct err *e)
{
    return catalog_resolve_in(subdir, study_path, arg, out, n, e);
}

/* Resolution and loading errors are reported at the node that named the file. */
static int at_node(const struct yml_doc *d, yml_node n, struct err *e)
{
    char msg[sizeof e->msg + sizeof e->file + 4];
    if (e->file[0] && e->line > 0) /* an error inside the named file: keep it */
        return -1;
    if (e->file[0])
        snprintf(msg, sizeof msg, "%s: %s", e->file, e->msg);
    else
        snprintf(msg, sizeof msg, "%s", e->msg);
    return yml_fail(d, n, e, "%s", msg);
}

static int load_design(struct study *s, const struct yml_doc *d, yml_node dn,
                       const char *skeleton, yml_node skel_node, struct err *e)
{
    struct design_in in = {{0}, {0}};
    uint64_t present;
    if (yml_map_read(d, dn, "design", DESIGN_KEYS, N(DESIGN_KEYS), &in, &present, e)) return -1;
    yml_node attn = yml_map_get(d, dn, "attention"), ffn = yml_map_get(d, dn, "ffn");
    const char *base = in.model[0] ? in.model : skeleton;
    yml_node base_node = in.model[0] ? yml_map_get(d, dn, "model") : skel_node;
    if (!base[0])
        return yml_fail(d, dn, e, "design '%s' has no 'model' and the study has no 'skeleton'",
                        in.name);
    if (!in.model[0] && !attn && !ffn)
        return yml_fail(d, dn, e,
                        "design '%s' changes nothing: give 'attention', 'ffn' or 'model'",
                        in.name);
    for (int i = 0; i < s->n_designs; i++)
        if (strcmp(s->designs[i].name, in.name) == 0)
            return yml_fail(d, yml_map_get(d, dn, "name"), e, "duplicate design name '%s'",
                            in.name);
    char path[1024];
    if (resolve(s->file, base, "models", path, sizeof path, e)) return at_node(d, base_node, e);
    struct model *m = NULL;
    if (model_file_load(path, &m, NULL, e)) return at_node(d, base_node, e);
    yml_node budget = yml_map_get(d, dn, "kv_budget");
    if ((attn && model_set_block(m, SLOT_ATTN, d, attn, e)) ||
        (ffn && model_set_block(m, SLOT_FFN, d, ffn, e)) ||
        (budget && model_set_budget(m, d, budget, e))) {
        model_free(m);
        return -1;
    }
    struct study_design *sd = &s->designs[s->n_designs++];
    snprintf(sd->name, sizeof sd->name, "%s", in.name);
    sd->m = m;
    return 0;
}

static int load_scenario(struct study *s, const struct yml_doc *d, yml_node n, struct err *e)
{
    struct scen_in in = {.tp = 1, .ep = 1};
    uint64_t present;
    if (yml_map_read(d, n, "scenario", SCEN_KEYS, N(SCEN_KEYS), &in, &present, e)) return -1;
    const bool has_seq = present & (UINT64_C(1) << yml_key_index(SCEN_KEYS, N(SCEN_KEYS), "seq"));
    const bool has_ctx =
        present & (UINT64_C(1) << yml_key_index(SCEN_KEYS, N(SCEN_KEYS), "context"));
    struct scenario *sc = &s->scenarios[s->n_scenarios];
    memset(sc, 0, sizeof *sc);
    sc->phase = in.phase == 0 ? PHASE_PREFILL : PHASE_DECODE;
    if (sc->phase == PHASE_PREFILL) {
        if (!has_seq) return yml_fail(d, n, e, "a prefill scenario needs 'seq'");
        if (has_ctx)
            return yml_fail(d, yml_map_get(d, n, "context"), e,
                            "'context' is for decode scenarios; prefill takes 'seq'");
    } else {
        if (!has_ctx) return yml_fail(d, n, e, "a decode scenario needs 'context'");
        if (has_seq)
            return yml_fail(d, yml_map_get(d, n, "seq"), e,
                            "'seq' is for prefill scenarios; decode takes 'context'");
    }
    sc->batch = (double)in.batch;
    sc->seq = (double)in.seq;
    sc->context = (double)in.context;
    sc->tp = (double)in.tp;
    sc->ep = (double)in.ep;
    if (sc->ep > 1 && sc->tp > 1 && (long long)sc->ep % (long long)sc->tp)
        return yml_fail(d, yml_map_get(d, n, "ep"), e,
                        "'ep' %.0f with 'tp' %.0f: the expert group must hold whole attention "
                        "groups (ep a multiple of tp; docs/moe.md)", sc->ep, sc->tp);
    sc->has_dt_w = present & (UINT64_C(1) << yml_key_index(SCEN_KEYS, N(SCEN_KEYS), "weight_dtype"));
    sc->dt_w = in.wdt;
    sc->has_dt_kv = present & (UINT64_C(1) << yml_key_index(SCEN_KEYS, N(SCEN_KEYS), "kv_dtype"));
    sc->dt_kv = in.kvdt;
    if (in.profile[0] || in.impl[0]) {
        char path[1024];
        struct profile *p = NULL;
        struct err pe;
        if (catalog_resolve_in("models/profiles", s->file, in.profile[0] ? in.profile : "default",
                               path, sizeof path, &pe))
            return yml_fail(d, yml_map_get(d, n, in.profile[0] ? "profile" : "impl"), e, "%s",
                            pe.msg);
        if (profile_load(path, &p, e)) return -1; /* its own FILE:LINE:COL */
        s->profiles[s->n_scenarios] = p; /* owned by the study from here */
        struct err ie;
        if (in.impl[0] && profile_set_impl(p, in.impl, "impl", &ie))
            return yml_fail(d, yml_map_get(d, n, "impl"), e, "%s", ie.msg);
        sc->profile = p;
    }
    for (int i = 0; i < s->n_designs; i++) {
        struct err te;
        if (model_tp_check(s->designs[i].m, sc->tp, &te))
            return yml_fail(d, yml_map_get(d, n, "tp"), e, "design '%s': %s",
                            s->designs[i].name, te.msg);
        if (sc->ep > 1 && model_ep_check(s->designs[i].m, sc->ep, &te))
            return yml_fail(d, yml_map_get(d, n, "ep"), e, "design '%s': %s",
                            s->designs[i].name, te.msg);
    }
    s->n_scenarios++;
    return 0;
}

static int list_len(const struct yml_doc *d, yml_node n, const char *key, struct err *e)
{
    int len = yml_seq_len(d, n);
    if (len == 0) return yml_fail(d, n, e, "'%s' must list at least one item", key);
    if (len > STUDY_MAX) return yml_fail(d, n, e, "'%s' lists more than %d items", key, STUDY_MAX);
    return len;
}

int study_load(const char *path, struct study **out, struct err *e)
{
    struct yml_doc *d = NULL;
    if (yml_load(path, &d, e)) return -1;
    struct study *s = calloc(1, sizeof *s);
    OB_ASSERT(s);
    snprintf(s->file, sizeof s->file, "%s", path);
    struct study_top top = {{0}, {0}, {0}};
    uint64_t present;
    yml_node root = yml_root(d);
    if (yml_map_read(d, root, "study", TOP_KEYS, N(TOP_KEYS), &top, &present, e)) goto fail;
    snprintf(s->name, sizeof s->name, "%s", top.name);
    yml_node designs = yml_map_get(d, root, "designs"), hw = yml_map_get(d, root, "hw"),
             scen = yml_map_get(d, root, "scenarios");
    int n;
    if ((n = list_len(d, designs, "designs", e)) < 0) goto fail;
    for (int i = 0; i < n; i++)
        if (load_design(s, d, yml_seq_at(d, designs, i), top.skeleton,
                        yml_map_get(d, root, "skeleton"), e))
            goto fail;
    if ((n = list_len(d, hw, "hw", e)) < 0) goto fail;
    for (int i = 0; i < n; i++) {
        yml_node hn = yml_seq_at(d, hw, i);
        const char *v = yml_scalar(d, hn);
        if (!v) {
            yml_fail(d, hn, e, "'hw' items must be device names or paths");
            goto fail;
        }
        if (resolve(s->file, v, "hw", s->hw[i], sizeof s->hw[i], e)) {
            at_node(d, hn, e);
            goto fail;
        }
        s->n_hw++;
    }
    if ((n = list_len(d, scen, "scenarios", e)) < 0) goto fail;
    for (int i = 0; i < n; i++)
        if (load_scenario(s, d, yml_seq_at(d, scen, i), e)) goto fail;
    yml_free(d);
    *out = s;
    return 0;
fail:
    yml_free(d);
    study_free(s);
    return -1;
}

void study_free(struct study *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_designs; i++) model_free(s->designs[i].m);
    for (int i = 0; i < STUDY_MAX; i++) profile_free(s->profiles[i]);
    free(s);
}
