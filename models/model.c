/* model.c - loading model descriptions and whole-model counts; see model.h. */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct model, f)
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const NORM_NAMES[] = {"rmsnorm", "layernorm", NULL};

static const struct key_spec TOP_KEYS[] = {
    {"name", KEY_STR, OFF(name), 0, 64, 1, NULL, "", "model name shown in reports"},
    {"family", KEY_STR, OFF(family), 0, 64, 0, NULL, "", "architecture family (informational)"},
    {"source", KEY_STR, OFF(source), 0, 512, 0, NULL, "",
     "where the numbers come from (published config); bundled models must give it"},
    {"hidden", KEY_INT, OFF(hidden), 1, 1048576, 1, NULL, "features", "model width h"},
    {"layers", KEY_INT, OFF(layers), 1, 100000, 1, NULL, "count",
     "number of layers; must equal the sum of the groups' repeats"},
    {"vocab", KEY_INT, OFF(vocab), 1, 1 << 30, 1, NULL, "tokens", "vocabulary size V"},
    {"tied_embeddings", KEY_BOOL, OFF(tied_embeddings), 0, 0, 1, NULL, "",
     "lm_head shares the embedding matrix"},
    {"norm", KEY_ENUM, OFF(norm), 0, 0, 1, NORM_NAMES, "",
     "normalisation used before each block and at the end"},
    {"post_norms", KEY_BOOL, OFF(post_norms), 0, 0, 0, NULL, "",
     "also normalise each block's output before the residual add, as Gemma 2/3 do (default "
     "false)"},
    {"published_params", KEY_NUM, OFF(published_params), 1, 1e16, 0, NULL, "count",
     "parameter count the publisher reports (informational; tests compare)"},
    {"dtypes", KEY_MAP, 0, 0, 0, 1, NULL, "", "storage formats (see dtypes table)"},
    {"groups", KEY_SEQ, 0, 0, 0, 1, NULL, "",
     "layer groups in order (see layer group table)"},
};

static const struct key_spec DTYPE_KEYS[] = {
    {"weight", KEY_DTYPE, OFF(dt_w), 0, 0, 1, NULL, "", "weights (--weight-dtype overrides)"},
    {"activation", KEY_DTYPE, OFF(dt_act), 0, 0, 1, NULL, "",
     "activations; also the compute dtype of matmuls"},
    {"kv", KEY_DTYPE, OFF(dt_kv), 0, 0, 1, NULL, "", "KV cache (--kv-dtype overrides)"},
};

struct group_in {
    int64_t repeat;
    double mod_capacity, alt_fraction;
};

static const char *const KVB_NAMES[] = {"none", "snapkv", "h2o", "streaming", NULL};
#define BOFF(f) offsetof(struct kv_budget, f)
static const struct key_spec BUDGET_KEYS[] = {
    {"method", KEY_ENUM, BOFF(method), 0, 0, 1, KVB_NAMES, "",
     "how tokens are chosen: snapkv (scores of the prompt's last queries, once after prefill), "
     "h2o (accumulated attention, evict the lowest each step), streaming (sinks + recent)"},
    {"tokens", KEY_INT, BOFF(tokens), 1, (double)(1LL << 40), 0, NULL, "tokens",
     "tokens kept per sequence and layer (snapkv, h2o)"},
    {"ratio", KEY_NUM, BOFF(ratio), 1e-6, 1, 0, NULL, "fraction",
     "tokens kept as a fraction of the context, rounded up (snapkv, h2o; not with tokens)"},
    {"sinks", KEY_INT, BOFF(sinks), 0, (double)(1LL << 40), 0, NULL, "tokens",
     "streaming: first tokens always kept (attention sinks)"},
    {"recent", KEY_INT, BOFF(recent), 1, (double)(1LL << 40), 0, NULL, "tokens",
     "streaming: most recent tokens kept"},
    {"window", KEY_INT, BOFF(window), 1, 1 << 20, 0, NULL, "tokens",
     "snapkv: observation window, the prompt's last queries that score the keys (default 32)"},
};

double kv_budget_held(const struct kv_budget *b, double ctx)
{
    double keep = ctx;
    switch ((enum kv_method)b->method) {
    case KVB_NONE: break;
    case KVB_SNAPKV:
    case KVB_H2O: keep = b->tokens > 0 ? (double)b->tokens : ceil(b->ratio * ctx); break;
    case KVB_STREAMING: keep = (double)(b->sinks + b->recent); break;
    case KVB_COUNT: break;
    }
    return keep < ctx ? keep : ctx;
}

/* Reads a group's optional kv_budget mapping; checks the combination. */
static int read_budget(const struct yml_doc *d, yml_node map, const struct layer_group *g,
                       const struct model *m, struct kv_budget *b, struct err *e)
{
    uint64_t present;
    memset(b, 0, sizeof *b);
    b->window = 32;
    if (yml_map_read(d, map, "kv_budget", BUDGET_KEYS, N(BUDGET_KEYS), b, &present, e)) return -1;
#define HAS(k) ((present >> yml_key_index(BUDGET_KEYS, N(BUDGET_KEYS), k)) & 1)
    const bool stream = b->method == KVB_STREAMING;
    if (b->method == KVB_NONE)
        return yml_fail(d, yml_map_get(d, map, "method"), e,
                        "method none: leave kv_budget out instead");
    if (stream && (!HAS("recent") || HAS("tokens") || HAS("ratio")))
        return yml_fail(d, map, e, "streaming keeps sinks + recent tokens: give recent (and "
                                   "sinks), not tokens or ratio");
    if (!stream && HAS("tokens") == HAS("ratio"))
        return yml_fail(d, map, e, "%s needs exactly one of tokens and ratio",
                        KVB_NAMES[b->method]);
    if (!stream && (HAS("sinks") || HAS("recent")))
        return yml_fail(d, yml_map_get(d, map, HAS("sinks") ? "sinks" : "recent"), e,
                        "sinks and recent belong to method streaming");
    if (HAS("window") && b->method != KVB_SNAPKV)
        return yml_fail(d, yml_map_get(d, map, "window"), e,
                        "window is SnapKV's observation window (method snapkv)");
#undef HAS
    struct block_counts bc = {0};
    g->kind[SLOT_ATTN]->count(g->cfg[SLOT_ATTN], m, 1, &bc);
    if (bc.kv_elems <= 0)
        return yml_fail(d, map, e, "kv_budget needs an attention block with a KV cache; '%s' "
                                   "keeps none",
                        g->kind[SLOT_ATTN]->name);
    return 0;
}
static const struct key_spec GROUP_KEYS[] = {
    {"repeat", KEY_INT, offsetof(struct group_in, repeat), 1, 100000, 1, NULL, "count",
     "identical consecutive layers in this group"},
    {"attention", KEY_MAP, 0, 0, 0, 1, NULL, "",
     "token-mixing block; `kind` selects its table below"},
    {"ffn", KEY_MAP, 0, 0, 0, 1, NULL, "", "feed-forward block; `kind` selects its table below"},
    {"mod_capacity", KEY_NUM, offsetof(struct group_in, mod_capacity), 1e-6, 1, 0, NULL,
     "fraction",
     "mixture-of-depths: a router sends this fraction of tokens through the layers, the rest "
     "skip them (docs/layer-routing.md)"},
    {"alt_attention", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "a second attention block the layer can route to (e.g. sparse beside full); needs "
     "alt_fraction"},
    {"alt_fraction", KEY_NUM, offsetof(struct group_in, alt_fraction), 0, 1, 0, NULL,
     "fraction", "share of sequences whose step takes alt_attention (an expectation)"},
    {"kv_budget", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "keep at most a budget of KV tokens per sequence in these layers (see kv_budget table; "
     "docs/kv-budgets.md)"},
};

int model_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n)
{
    switch (i) {
    case 0: *title = "Model: top level"; *keys = TOP_KEYS; *n = N(TOP_KEYS); return 0;
    case 1: *title = "Model: `dtypes`"; *keys = DTYPE_KEYS; *n = N(DTYPE_KEYS); return 0;
    case 2: *title = "Model: each item of `groups`"; *keys = GROUP_KEYS; *n = N(GROUP_KEYS);
        return 0;
    case 3: *title = "Model: a group's `kv_budget`"; *keys = BUDGET_KEYS; *n = N(BUDGET_KEYS);
        return 0;
    default: return -1;
    }
}

static const char *const SLOT_WORD[SLOT_COUNT] = {"attention", "ffn"};

static int read_block(const struct yml_doc *d, yml_node map, enum block_slot slot,
                      const struct model *m, struct layer_group *g, struct err *e)
{
    char what[64];
    snprintf(what, sizeof what, "%s block", SLOT_WORD[slot]);
    if (yml_kind_of(d, map) != YML_MAP)
        return yml_fail(d, map, e, "'%s' must be a mapping", SLOT_WORD[slot]);
    yml_node kn = yml_map_get(d, map, "kind");
    char choices[256] = "";
    for (int i = 0; block_kind_at(i); i++)
        if (block_kind_at(i)->slot == slot) {
            if (choices[0]) strncat(choices, ", ", sizeof choices - strlen(choices) - 1);
            strncat(choices, block_kind_at(i)->name, sizeof choices - strlen(choices) - 1);
        }
    if (!kn)
        return yml_fail(d, map, e, "missing required key 'kind' in %s (one of: %s)", what,
                        choices);
    const char *kname = yml_scalar(d, kn);
    if (!kname) return yml_fail(d, kn, e, "'kind' must be a name (one of: %s)", choices);
    const struct block_kind *k = block_kind_find(slot, kname);
    if (!k) {
        const char *best = NULL;
        int bestd = 1 << 30;
        for (int i = 0; block_kind_at(i); i++) {
            const struct block_kind *c = block_kind_at(i);
            int dist = yml_edit_distance(kname, c->name);
            if (c->slot == slot && dist < bestd) bestd = dist, best = c->name;
        }
        if (best && bestd <= 2)
            return yml_fail(d, kn, e, "unknown %s kind '%s' (did you mean '%s'? one of: %s)",
                            SLOT_WORD[slot], kname, best, choices);
        return yml_fail(d, kn, e, "unknown %s kind '%s' (one of: %s)", SLOT_WORD[slot], kname,
                        choices);
    }
    void *cfg = calloc(1, k->cfg_size);
    OB_ASSERT(cfg);
    g->kind[slot] = k;
    g->cfg[slot] = cfg;
    if (k->defaults) k->defaults(cfg);
    snprintf(what, sizeof what, "%s block '%s'", SLOT_WORD[slot], k->name);
    uint64_t present;
    if (yml_map_read(d, map, what, k->keys, k->n_keys, cfg, &present, e)) return -1;
    if (k->check && k->check(cfg, present, m, d, map, e)) return -1;
    return 0;
}

int model_set_block(struct model *m, enum block_slot slot, const struct yml_doc *d,
                    yml_node block, struct err *e)
{
    struct layer_group *tmp = calloc((size_t)m->n_groups, sizeof *tmp);
    OB_ASSERT(tmp);
    int rc = 0;
    for (int i = 0; i < m->n_groups && rc == 0; i++)
        m->reading_repeat = m->groups[i].repeat, rc = read_block(d, block, slot, m, &tmp[i], e);
    for (int i = 0; i < m->n_groups; i++) {
        if (rc == 0) {
            free(m->groups[i].cfg[slot]);
            m->groups[i].cfg[slot] = tmp[i].cfg[slot];
            m->groups[i].kind[slot] = tmp[i].kind[slot];
        } else {
            free(tmp[i].cfg[slot]);
        }
    }
    free(tmp);
    return rc;
}

static int model_from_doc(struct yml_doc *d, const char *path, struct model **out,
                          struct err *e);

int model_set_budget(struct model *m, const struct yml_doc *d, yml_node map, struct err *e)
{
    struct kv_budget b[1];
    for (int i = 0; i < m->n_groups; i++) { /* check every group first: m unchanged on error */
        struct block_counts bc = {0};
        m->groups[i].kind[SLOT_ATTN]->count(m->groups[i].cfg[SLOT_ATTN], m, 1, &bc);
        if (bc.kv_elems > 0 && read_budget(d, map, &m->groups[i], m, b, e)) return -1;
    }
    for (int i = 0; i < m->n_groups; i++) {
        struct block_counts bc = {0};
        m->groups[i].kind[SLOT_ATTN]->count(m->groups[i].cfg[SLOT_ATTN], m, 1, &bc);
        if (bc.kv_elems > 0) read_budget(d, map, &m->groups[i], m, &m->groups[i].budget, e);
    }
    return 0;
}

int model_load(const char *path, struct model **out, struct err *e)
{
    struct yml_doc *d = NULL;
    if (yml_load(path, &d, e)) return -1;
    return model_from_doc(d, path, out, e);
}

int model_load_text(const char *name, const char *text, size_t len, struct model **out,
                    struct err *e)
{
    struct yml_doc *d = NULL;
    if (yml_load_string(name, text, len, &d, e)) return -1;
    return model_from_doc(d, name, out, e);
}

/* Reads a loaded document into a model; frees d. */
static int model_from_doc(struct yml_doc *d, const char *path, struct model **out,
                          struct err *e)
{
    struct model *m = calloc(1, sizeof *m);
    OB_ASSERT(m);
    snprintf(m->file, sizeof m->file, "%s", path);
    yml_node root = yml_root(d);
    uint64_t present;
    if (yml_map_read(d, root, "model description", TOP_KEYS, N(TOP_KEYS), m, &present, e))
        goto fail;
    if (yml_map_read(d, yml_map_get(d, root, "dtypes"), "dtypes", DTYPE_KEYS, N(DTYPE_KEYS), m,
                     &present, e))
        goto fail;
    yml_node groups = yml_map_get(d, root, "groups");
    int ng = yml_seq_len(d, groups);
    if (ng == 0) {
        yml_fail(d, groups, e, "'groups' must list at least one layer group");
        goto fail;
    }
    m->groups = calloc((size_t)ng, sizeof *m->groups);
    OB_ASSERT(m->groups);
    int64_t layer = 0;
    for (int i = 0; i < ng; i++) {
        yml_node gn = yml_seq_at(d, groups, i);
        struct group_in gi = {0};
        if (yml_map_read(d, gn, "layer group", GROUP_KEYS, N(GROUP_KEYS), &gi, &present, e))
            goto fail;
        struct layer_group *g = &m->groups[i];
        m->n_groups = i + 1;
        g->repeat = gi.repeat;
        g->first_layer = (int)layer;
        layer += gi.repeat;
        m->reading_repeat = gi.repeat;
        if (read_block(d, yml_map_get(d, gn, "attention"), SLOT_ATTN, m, g, e)) goto fail;
        if (read_block(d, yml_map_get(d, gn, "ffn"), SLOT_FFN, m, g, e)) goto fail;
        yml_node bn = yml_map_get(d, gn, "kv_budget");
        if (bn && read_budget(d, bn, g, m, &g->budget, e)) goto fail;
        g->mod_capacity = gi.mod_capacity;
        yml_node alt = yml_map_get(d, gn, "alt_attention");
        const yml_node frac = yml_map_get(d, gn, "alt_fraction");
        if (!alt != !frac) {
            yml_fail(d, alt ? alt : frac, e, "alt_attention and alt_fraction go together");
            goto fail;
        }
        if (alt) {
            struct layer_group tmp = {0};
            if (read_block(d, alt, SLOT_ATTN, m, &tmp, e)) {
                free(tmp.cfg[SLOT_ATTN]);
                goto fail;
            }
            g->alt_kind = tmp.kind[SLOT_ATTN];
            g->alt_cfg = tmp.cfg[SLOT_ATTN];
            g->alt_fraction = gi.alt_fraction;
        }
    }
    if (layer != m->layers) {
        /* at 'layers': the one number the sum is compared with */
        const yml_node ln = yml_map_get(d, yml_root(d), "layers");
        yml_fail(d, ln ? ln : groups, e,
                 "the groups' repeats add up to %lld layers, but 'layers' is %lld",
                 (long long)layer, (long long)m->layers);
        goto fail;
    }
    struct model_counts c;
    model_count(m, 1, &c);
    if (c.params > 9007199254740992.0) { /* 2^53: beyond exact double integers */
        yml_fail(d, root, e,
                 "the model has %.3g parameters, beyond 2^53 (9.0e15) where counts stop being "
                 "exact; check the sizes",
                 c.params);
        goto fail;
    }
    yml_free(d);
    *out = m;
    return 0;
fail:
    yml_free(d);
    model_free(m);
    return -1;
}

void model_free(struct model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_groups; i++) {
        for (int s = 0; s < SLOT_COUNT; s++) free(m->groups[i].cfg[s]);
        free(m->groups[i].alt_cfg);
    }
    free(m->groups);
    free(m);
}

double model_norm_params(const struct model *m, double width)
{
    return m->norm == NORM_LAYER ? 2.0 * width : width;
}

double model_norm_flops(const struct model *m)
{
    return m->norm == NORM_LAYER ? FLOPS_LAYERNORM : FLOPS_RMSNORM;
}

/* Params: embedding V*h, lm_head V*h unless tied, final norm, and per layer
 * two norms plus the two blocks. Active params (what one token touches): one
 * embedding row, the full lm_head (the full shared matrix when tied), every
 * norm, and each block's active part. Per device under tensor parallelism:
 * embedding and lm_head are split by vocabulary (V*h/tp each), norms are
 * replicated, blocks report their own share. */
void model_count(const struct model *m, double tp, struct model_counts *out)
{
    model_count_layers(m, tp, 0, (int)m->layers, MODEL_ENDS_EMBED | MODEL_ENDS_HEAD, out);
}

/* Layers of group g inside [lo, hi). */
static double group_overlap(const struct layer_group *g, int lo, int hi)
{
    const double a = g->first_layer > lo ? g->first_layer : lo;
    const double e = (double)g->first_layer + (double)g->repeat;
    const double b = e < hi ? e : hi;
    return b > a ? b - a : 0;
}

void model_count_layers(const struct model *m, double tp, int lo, int hi, int ends,
                        struct model_counts *out)
{
    const double h = (double)m->hidden, v = (double)m->vocab;
    const double emb = v * h;
    const double norm = model_norm_params(m, h);
    const bool em = ends & MODEL_ENDS_EMBED, hd = ends & MODEL_ENDS_HEAD;
    /* the embedding table where tokens enter, lm_head (and the final norm)
     * where they leave; a tied table is held once where both are, else by each */
    const double tables = (em ? 1.0 : 0.0) + (hd ? 1.0 : 0.0) - (m->tied_embeddings && em && hd ? 1.0 : 0.0);
    const double fnorm = hd ? norm : 0;
    out->params = tables * emb + fnorm;
    out->active_params = (em ? h : 0) + (hd ? emb : 0) + fnorm;
    out->params_dev = tables * emb / tp + fnorm;
    out->kv_elems_per_token = 0;
    out->kv_elems_per_token_dev = 0;
    out->state_elems_per_seq = 0;
    out->state_elems_per_seq_dev = 0;
    out->ep_params_dev = 0;
    out->ep_block_params_dev = 0;
    out->ffn_params_dev = 0;
    for (int i = 0; i < m->n_groups; i++) {
        const struct layer_group *g = &m->groups[i];
        const double layer_norms = (m->post_norms ? 4.0 : 2.0) * norm;
        double p = layer_norms, a = layer_norms, kv = 0, pd = layer_norms, kvd = 0, st = 0, std = 0,
               epd = 0, epb = 0, ffd = 0;
        for (int s = 0; s < SLOT_COUNT; s++) {
            struct block_counts bc = {0};
            g->kind[s]->count(g->cfg[s], m, tp, &bc);
            p += bc.params;
            a += bc.active_params;
            kv += bc.kv_elems;
            pd += bc.params_dev;
            kvd += bc.kv_elems_dev;
            st += bc.state_elems;
            std += bc.state_elems_dev;
            epd += bc.ep_params_dev;
            if (g->kind[s]->ep_check) epb += bc.params_dev;
            if (s == SLOT_FFN) ffd += bc.params_dev;
        }
        /* routing (expectations): the alternative block's weights exist beside
         * the main one; a token touches the main block's (1 - f) of the time and
         * the alternative's f; the cache holds what either form needs. MoD: a
         * token touches the layer with probability c (plus the router, h
         * weights); only routed tokens are cached. */
        if (g->alt_kind) {
            struct block_counts main = {0}, alt = {0};
            g->kind[SLOT_ATTN]->count(g->cfg[SLOT_ATTN], m, tp, &main);
            g->alt_kind->count(g->alt_cfg, m, tp, &alt);
            const double f = g->alt_fraction;
            p += alt.params;
            pd += alt.params_dev;
            a += f * (alt.active_params - main.active_params);
            if (alt.kv_elems > main.kv_elems) kv += alt.kv_elems - main.kv_elems;
            if (alt.kv_elems_dev > main.kv_elems_dev) kvd += alt.kv_elems_dev - main.kv_elems_dev;
            if (alt.state_elems > main.state_elems) st += alt.state_elems - main.state_elems;
            if (alt.state_elems_dev > main.state_elems_dev)
                std += alt.state_elems_dev - main.state_elems_dev;
        }
        if (g->mod_capacity > 0) {
            p += h, pd += h;
            a = g->mod_capacity * a + h;
            kv *= g->mod_capacity;
            kvd *= g->mod_capacity;
        }
        const double r = group_overlap(g, lo, hi);
        out->params += r * p;
        out->active_params += r * a;
        out->kv_elems_per_token += r * kv;
        out->params_dev += r * pd;
        out->kv_elems_per_token_dev += r * kvd;
        out->state_elems_per_seq += r * st;
        out->state_elems_per_seq_dev += r * std;
        out->ep_params_dev += r * epd;
        out->ep_block_params_dev += r * epb;
        out->ffn_params_dev += r * ffd;
    }
}

double model_kv_elems_per_seq(const struct model *m, double tp, double ctx)
{
    return model_kv_elems_per_seq_layers(m, tp, ctx, 0, (int)m->layers);
}

double model_kv_elems_per_seq_layers(const struct model *m, double tp, double ctx, int lo, int hi)
{
    double kv = 0;
    for (int i = 0; i < m->n_groups; i++) {
        const struct layer_group *g = &m->groups[i];
        const double r = group_overlap(g, lo, hi);
        if (r <= 0) continue;
        for (int s = 0; s < SLOT_COUNT; s++) {
            struct block_counts bc = {0};
            g->kind[s]->count(g->cfg[s], m, tp, &bc);
            if (s == SLOT_ATTN && g->alt_kind) { /* the larger of the two caches */
                struct block_counts alt = {0};
                g->alt_kind->count(g->alt_cfg, m, tp, &alt);
                if (alt.kv_elems_dev > bc.kv_elems_dev) bc = alt;
            }
            double held = bc.kv_window > 0 && bc.kv_window < ctx ? bc.kv_window : ctx;
            if (s == SLOT_ATTN) held = kv_budget_held(&g->budget, held);
            if (g->mod_capacity > 0) held *= g->mod_capacity; /* routed tokens only */
            kv += r * held * bc.kv_elems_dev;
        }
    }
    return kv;
}

int model_tp_check(const struct model *m, double tp, struct err *e)
{
    for (int i = 0; i < m->n_groups; i++)
        for (int s = 0; s < SLOT_COUNT; s++) {
            char why[256];
            const struct layer_group *g = &m->groups[i];
            if (g->kind[s]->tp_check(g->cfg[s], tp, why, sizeof why))
                return err_set(e, m->file, 0, 0,
                               "cannot split layer group %d (layers %d-%lld) over %.0f devices: %s",
                               i, g->first_layer, (long long)(g->first_layer + g->repeat - 1), tp,
                               why);
        }
    return 0;
}

int model_len_check(const struct model *m, double len, struct err *e)
{
    for (int i = 0; i < m->n_groups; i++)
        for (int s = 0; s < SLOT_COUNT; s++) {
            const struct layer_group *g = &m->groups[i];
            const double lim = g->kind[s]->max_len;
            if (lim > 0 && len > lim)
                return err_set(e, m->file, 0, 0,
                               "layer group %d (layers %d-%lld): kind %s evaluates its mask per "
                               "query and handles sequences of at most %.0f tokens, not %.0f "
                               "(docs/variants/flex.md)",
                               i, g->first_layer, (long long)(g->first_layer + g->repeat - 1),
                               g->kind[s]->name, lim, len);
        }
    return 0;
}

int model_ep_check(const struct model *m, double ep, struct err *e)
{
    for (int i = 0; i < m->n_groups; i++)
        for (int s = 0; s < SLOT_COUNT; s++) {
            char why[256];
            const struct layer_group *g = &m->groups[i];
            if (g->kind[s]->ep_check && g->kind[s]->ep_check(g->cfg[s], ep, why, sizeof why))
                return err_set(e, m->file, 0, 0,
                               "cannot split layer group %d (layers %d-%lld) over %.0f "
                               "expert-parallel devices: %s",
                               i, g->first_layer, (long long)(g->first_layer + g->repeat - 1), ep,
                               why);
        }
    return 0;
}
