/* serve_load.c - loading serving scenario files (`opbound serve SCENARIO.yaml`).
 *
 * Key tables below (also printed by `opbound schema`); every error is
 * FILE:LINE:COL. Paths (model, AFD devices) are relative to the scenario
 * file. Rules: docs/serving.md. To add a key: add a row to its table and read
 * it in serve_load. */
#include <stdlib.h>
#include <string.h>

#include "../models/model_file.h"
#include "core/catalog.h"
#include "fleet.h"
#include "serve.h"

#include "../models/profile.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_TOKENS 16777216.0 /* 2^24 tokens per prompt or output */

struct top_in {
    char name[128], model[256];
    int64_t requests, seed, max_batch, token_budget, prefill_chunk, tp;
    double rate, reserve, kv_mem;
    enum dtype wdt, kvdt;
    char profile[512], impl[256];
};
#define TOFF(f) offsetof(struct top_in, f)
static const struct key_spec TOP_KEYS[] = {
    {"name", KEY_STR, TOFF(name), 0, 128, 0, NULL, "", "scenario title"},
    {"model", KEY_STR, TOFF(model), 0, 256, 1, NULL, "",
     "bundled model name or path (relative to this file)"},
    {"requests", KEY_INT, TOFF(requests), 1, 1000000, 1, NULL, "count",
     "requests to serve (at most 10^6; the simulation steps through every iteration, and "
     "a scenario needing more than 5e7 units of work is refused: docs/serving.md, Work "
     "bound)"},
    {"lengths", KEY_SEQ, 0, 0, 0, 0, NULL, "",
     "fixed mix: a list of {input, output}, cycled over the requests (give this or `uniform`)"},
    {"uniform", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "random mix: lengths drawn uniformly from ranges (see uniform table)"},
    {"arrival_rate_per_s", KEY_NUM, TOFF(rate), 1e-9, 1e9, 0, NULL, "requests/s",
     "Poisson arrivals at this rate (first at t = 0); default: all requests at t = 0"},
    {"seed", KEY_INT, TOFF(seed), 0, 9007199254740992.0, 0, NULL, "",
     "seed of the random lengths and arrivals (default 1)"},
    {"max_batch", KEY_INT, TOFF(max_batch), 1, 1048576, 1, NULL, "sequences",
     "most requests running at once"},
    {"token_budget", KEY_INT, TOFF(token_budget), 1, MAX_TOKENS, 1, NULL, "tokens",
     "most tokens in one iteration, decodes and prefill chunks together"},
    {"prefill_chunk", KEY_INT, TOFF(prefill_chunk), 1, MAX_TOKENS, 0, NULL, "tokens",
     "most prompt tokens of one request per iteration (default token_budget)"},
    {"activation_reserve_bytes", KEY_NUM, TOFF(reserve), 0, 1e15, 0, NULL, "bytes",
     "memory kept for activations per device (default: the largest op's activations in an "
     "iteration of token_budget prompt tokens)"},
    {"kv_memory_bytes", KEY_NUM, TOFF(kv_mem), 0, 1e15, 0, NULL, "bytes",
     "KV-cache memory per device (default: capacity - weights - activation reserve)"},
    {"tp", KEY_INT, TOFF(tp), 1, 65536, 0, NULL, "devices",
     "tensor-parallel devices (default 1; --tp overrides)"},
    {"weight_dtype", KEY_DTYPE, TOFF(wdt), 0, 0, 0, NULL, "", "override the model's weight dtype"},
    {"kv_dtype", KEY_DTYPE, TOFF(kvdt), 0, 0, 0, NULL, "", "override the model's KV-cache dtype"},
    {"profile", KEY_STR, TOFF(profile), 0, 512, 0, NULL, "",
     "implementation profile: engine, hf, or a profile file relative to this file "
     "(docs/profiles.md; default: none, one fused op per role); --profile overrides"},
    {"impl", KEY_STR, TOFF(impl), 0, 256, 0, NULL, "",
     "implementation choices KEY=IMPL,... as --impl (e.g. attention=cudnn)"},
    {"afd", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "attention-FFN disaggregation (see afd table); default: off"},
    {"speculative", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "speculative decoding: a draft model or MTP module proposes k tokens, one verify "
     "checks k + 1 (see speculative table); default: off"},
    {"fleet", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "replicas behind a router, optionally prefill / decode pools (see fleet tables); "
     "default: one replica (--hw, tp)"},
};

struct len_in {
    int64_t input, output;
};
static const struct key_spec LEN_KEYS[] = {
    {"input", KEY_INT, offsetof(struct len_in, input), 1, MAX_TOKENS, 1, NULL, "tokens",
     "prompt length"},
    {"output", KEY_INT, offsetof(struct len_in, output), 1, MAX_TOKENS, 1, NULL, "tokens",
     "generated tokens (the first comes with the last prefill chunk)"},
};

struct uni_in {
    int64_t in_min, in_max, out_min, out_max;
};
#define UOFF(f) offsetof(struct uni_in, f)
static const struct key_spec UNI_KEYS[] = {
    {"input_min", KEY_INT, UOFF(in_min), 1, MAX_TOKENS, 1, NULL, "tokens", "shortest prompt"},
    {"input_max", KEY_INT, UOFF(in_max), 1, MAX_TOKENS, 1, NULL, "tokens", "longest prompt"},
    {"output_min", KEY_INT, UOFF(out_min), 1, MAX_TOKENS, 1, NULL, "tokens", "shortest output"},
    {"output_max", KEY_INT, UOFF(out_max), 1, MAX_TOKENS, 1, NULL, "tokens", "longest output"},
};

struct afd_in {
    int64_t attn, ffn, mbs;
    char attn_hw[256], ffn_hw[256];
    double link;
    bool attn_dp;
};
#define AOFF(f) offsetof(struct afd_in, f)
static const struct key_spec AFD_KEYS[] = {
    {"attention_devices", KEY_INT, AOFF(attn), 1, 65536, 1, NULL, "devices",
     "attention pool: tensor-parallel devices holding attention, embedding, lm_head, KV cache"},
    {"ffn_devices", KEY_INT, AOFF(ffn), 1, 65536, 1, NULL, "devices",
     "FFN pool: tensor-parallel devices holding the FFN / MoE weights"},
    {"attention_hw", KEY_STR, AOFF(attn_hw), 0, 256, 0, NULL, "",
     "attention pool device (bundled name or path; default --hw)"},
    {"ffn_hw", KEY_STR, AOFF(ffn_hw), 0, 256, 0, NULL, "",
     "FFN pool device (bundled name or path; default --hw)"},
    {"micro_batches", KEY_INT, AOFF(mbs), 1, 1024, 0, NULL, "count",
     "micro-batches in the attention/FFN pipeline (default 1)"},
    {"link_bytes_per_s", KEY_NUM, AOFF(link), 1e6, 1e16, 0, NULL, "bytes/s",
     "bandwidth between the pools, one direction (default: min over pools of devices x "
     "interconnect_bytes_per_s)"},
    {"attention_dp", KEY_BOOL, AOFF(attn_dp), 0, 0, 0, NULL, "",
     "data-parallel attention pool: each device its own sequences, attention weights "
     "whole, KV cache neither split nor replicated (default false: tensor-parallel pool)"},
};

struct spec_in {
    char draft[256];
    int64_t k;
    double accept;
};
#define SOFF(f) offsetof(struct spec_in, f)
static const struct key_spec SPEC_KEYS[] = {
    {"draft", KEY_STR, SOFF(draft), 0, 256, 1, NULL, "",
     "draft model or MTP module (bundled name or path relative to this file), run on the "
     "same devices at the same tp"},
    {"k", KEY_INT, SOFF(k), 1, 16, 1, NULL, "tokens", "draft tokens proposed per verify"},
    {"accept", KEY_NUM, SOFF(accept), 0, 1, 1, NULL, "probability",
     "per-token acceptance rate a (independent positions; expected tokens per verify "
     "(1 - a^(k+1)) / (1 - a))"},
};

int serve_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n)
{
    switch (i) {
    case 0: *title = "Serve scenario: top level"; *keys = TOP_KEYS; *n = N(TOP_KEYS); return 0;
    case 1: *title = "Serve scenario: each item of `lengths`"; *keys = LEN_KEYS; *n = N(LEN_KEYS);
        return 0;
    case 2: *title = "Serve scenario: `uniform`"; *keys = UNI_KEYS; *n = N(UNI_KEYS); return 0;
    case 3: *title = "Serve scenario: `afd`"; *keys = AFD_KEYS; *n = N(AFD_KEYS); return 0;
    case 4: *title = "Serve scenario: `speculative`"; *keys = SPEC_KEYS; *n = N(SPEC_KEYS);
        return 0;
    default: return fleet_schema_section(i - 5, title, keys, n);
    }
}

/* A file named inside the scenario: paths are relative to its folder. */
static int resolve(const char *file, const char *arg, const char *subdir, char *out, size_t n,
                   struct err *e)
{
    return catalog_resolve_in(subdir, file, arg, out, n, e);
}

/* A resolution or load error without a position is reported at node n. */
static int at_node(const struct yml_doc *d, yml_node n, struct err *e)
{
    char msg[sizeof e->msg + sizeof e->file + 4];
    if (e->file[0] && e->line > 0) return -1;
    if (e->file[0])
        snprintf(msg, sizeof msg, "%s: %s", e->file, e->msg);
    else
        snprintf(msg, sizeof msg, "%s", e->msg);
    return yml_fail(d, n, e, "%s", msg);
}

static bool has(uint64_t present, const struct key_spec *keys, size_t n, const char *name)
{
    return present & (UINT64_C(1) << yml_key_index(keys, n, name));
}

static int load_afd(struct serve_scenario *s, const struct yml_doc *d, yml_node an,
                    struct err *e)
{
    struct afd_in in = {.mbs = 1};
    uint64_t pr;
    if (yml_map_read(d, an, "afd", AFD_KEYS, N(AFD_KEYS), &in, &pr, e)) return -1;
    s->afd.on = true;
    s->afd.attn_devices = (double)in.attn;
    s->afd.ffn_devices = (double)in.ffn;
    s->afd.micro_batches = (double)in.mbs;
    s->afd.link_bytes_per_s = has(pr, AFD_KEYS, N(AFD_KEYS), "link_bytes_per_s") ? in.link : 0;
    s->afd.attn_dp = in.attn_dp;
    if (in.attn_hw[0] && resolve(s->file, in.attn_hw, "hw", s->afd.attn_hw,
                                 sizeof s->afd.attn_hw, e))
        return at_node(d, yml_map_get(d, an, "attention_hw"), e);
    if (in.ffn_hw[0] &&
        resolve(s->file, in.ffn_hw, "hw", s->afd.ffn_hw, sizeof s->afd.ffn_hw, e))
        return at_node(d, yml_map_get(d, an, "ffn_hw"), e);
    struct err te;
    if (!s->afd.attn_dp && model_tp_check(s->m, s->afd.attn_devices, &te))
        return yml_fail(d, yml_map_get(d, an, "attention_devices"), e, "%s", te.msg);
    if (model_tp_check(s->m, s->afd.ffn_devices, &te))
        return yml_fail(d, yml_map_get(d, an, "ffn_devices"), e, "%s", te.msg);
    return 0;
}

static int load_spec(struct serve_scenario *s, const struct yml_doc *d, yml_node sn,
                     struct err *e)
{
    struct spec_in in;
    uint64_t pr;
    if (yml_map_read(d, sn, "speculative", SPEC_KEYS, N(SPEC_KEYS), &in, &pr, e)) return -1;
    if (s->afd.on)
        return yml_fail(d, sn, e, "speculative decoding with AFD is not modelled: give "
                                  "`speculative` or `afd`, not both");
    char mpath[1024];
    yml_node dn = yml_map_get(d, sn, "draft");
    if (resolve(s->file, in.draft, "models", mpath, sizeof mpath, e) ||
        model_file_load(mpath, &s->spec.draft, NULL, e))
        return at_node(d, dn, e);
    struct err te;
    if (model_tp_check(s->spec.draft, s->tp, &te)) return yml_fail(d, dn, e, "%s", te.msg);
    s->spec.on = true;
    s->spec.k = (double)in.k;
    s->spec.accept = in.accept;
    if (s->spec.k + 1 > s->token_budget)
        return yml_fail(d, yml_map_get(d, sn, "k"), e,
                        "a verify of k + 1 = %g tokens does not fit the token budget (%g)",
                        s->spec.k + 1, s->token_budget);
    return 0;
}

static int load_mix(struct serve_scenario *s, const struct yml_doc *d, yml_node root,
                    struct err *e)
{
    yml_node ln = yml_map_get(d, root, "lengths"), un = yml_map_get(d, root, "uniform");
    if (ln && un) return yml_fail(d, un, e, "give either 'lengths' or 'uniform', not both");
    if (!ln && !un)
        return yml_fail(d, root, e, "missing the request mix: give 'lengths' or 'uniform'");
    yml_mark(d, ln ? ln : un, &s->line_mix, &s->col_mix);
    if (un) {
        struct uni_in in;
        uint64_t pr;
        if (yml_map_read(d, un, "uniform", UNI_KEYS, N(UNI_KEYS), &in, &pr, e)) return -1;
        if (in.in_min > in.in_max)
            return yml_fail(d, yml_map_get(d, un, "input_max"), e,
                            "input_max (%lld) is below input_min (%lld)", (long long)in.in_max,
                            (long long)in.in_min);
        if (in.out_min > in.out_max)
            return yml_fail(d, yml_map_get(d, un, "output_max"), e,
                            "output_max (%lld) is below output_min (%lld)",
                            (long long)in.out_max, (long long)in.out_min);
        s->in_min = (double)in.in_min, s->in_max = (double)in.in_max;
        s->out_min = (double)in.out_min, s->out_max = (double)in.out_max;
        return 0;
    }
    const int n = yml_seq_len(d, ln);
    if (n == 0) return yml_fail(d, ln, e, "'lengths' must list at least one {input, output}");
    if (n > SERVE_MAX_LENGTHS)
        return yml_fail(d, ln, e, "'lengths' lists more than %d items", SERVE_MAX_LENGTHS);
    for (int i = 0; i < n; i++) {
        struct len_in in;
        uint64_t pr;
        if (yml_map_read(d, yml_seq_at(d, ln, i), "lengths item", LEN_KEYS, N(LEN_KEYS), &in,
                         &pr, e))
            return -1;
        s->input[i] = (double)in.input;
        s->output[i] = (double)in.output;
    }
    s->n_lengths = n;
    return 0;
}

int serve_load(const char *path, struct serve_scenario **out, struct err *e)
{
    struct yml_doc *d = NULL;
    if (yml_load(path, &d, e)) return -1;
    struct serve_scenario *s = calloc(1, sizeof *s);
    OB_ASSERT(s);
    snprintf(s->file, sizeof s->file, "%s", path);
    struct top_in in = {.seed = 1, .tp = 1};
    uint64_t pr;
    yml_node root = yml_root(d);
    if (yml_map_read(d, root, "serve scenario", TOP_KEYS, N(TOP_KEYS), &in, &pr, e)) goto fail;
    snprintf(s->name, sizeof s->name, "%s", in.name);
    yml_mark(d, yml_map_get(d, root, "requests"), &s->line_requests, &s->col_requests);
    yml_node mn = yml_map_get(d, root, "model");
    yml_mark(d, mn, &s->line_model, &s->col_model);
    char mpath[1024];
    if (resolve(path, in.model, "models", mpath, sizeof mpath, e) ||
        model_file_load(mpath, &s->m, NULL, e)) {
        at_node(d, mn, e);
        goto fail;
    }
    if (load_mix(s, d, root, e)) goto fail;
    s->requests = (double)in.requests;
    s->max_work = SERVE_MAX_WORK;
    s->exact_samples = SERVE_EXACT_SAMPLES;
    s->seed = (uint64_t)in.seed;
    s->arrival_rate_per_s = has(pr, TOP_KEYS, N(TOP_KEYS), "arrival_rate_per_s") ? in.rate : 0;
    s->max_batch = (double)in.max_batch;
    s->token_budget = (double)in.token_budget;
    s->prefill_chunk = has(pr, TOP_KEYS, N(TOP_KEYS), "prefill_chunk") ? (double)in.prefill_chunk
                                                                       : s->token_budget;
    if (s->token_budget < s->prefill_chunk) {
        yml_fail(d, yml_map_get(d, root, "token_budget"), e,
                 "token_budget (%g) is smaller than one prefill chunk (prefill_chunk %g)",
                 s->token_budget, s->prefill_chunk);
        goto fail;
    }
    s->act_reserve_bytes = has(pr, TOP_KEYS, N(TOP_KEYS), "activation_reserve_bytes") ? in.reserve
                                                                                      : -1;
    s->kv_memory_bytes = has(pr, TOP_KEYS, N(TOP_KEYS), "kv_memory_bytes") ? in.kv_mem : -1;
    s->tp = (double)in.tp;
    s->has_dt_w = has(pr, TOP_KEYS, N(TOP_KEYS), "weight_dtype");
    s->dt_w = in.wdt;
    s->has_dt_kv = has(pr, TOP_KEYS, N(TOP_KEYS), "kv_dtype");
    s->dt_kv = in.kvdt;
    if (in.profile[0] || in.impl[0]) {
        char ppath[1024];
        struct err pe;
        if (catalog_resolve_in("models/profiles", path, in.profile[0] ? in.profile : "default",
                               ppath, sizeof ppath, &pe)) {
            yml_fail(d, yml_map_get(d, root, in.profile[0] ? "profile" : "impl"), e, "%s",
                     pe.msg);
            goto fail;
        }
        if (profile_load(ppath, &s->profile, e)) goto fail; /* its own FILE:LINE:COL */
        struct err ie;
        if (in.impl[0] && profile_set_impl(s->profile, in.impl, "impl", &ie)) {
            yml_fail(d, yml_map_get(d, root, "impl"), e, "%s", ie.msg);
            goto fail;
        }
    }
    struct err te;
    if (model_tp_check(s->m, s->tp, &te)) {
        yml_fail(d, yml_map_get(d, root, "tp"), e, "%s", te.msg);
        goto fail;
    }
    yml_node an = yml_map_get(d, root, "afd");
    if (an && load_afd(s, d, an, e)) goto fail;
    yml_node sn = yml_map_get(d, root, "speculative");
    if (sn && load_spec(s, d, sn, e)) goto fail;
    yml_node fln = yml_map_get(d, root, "fleet");
    if (fln && fleet_load(s, d, fln, e)) goto fail;
    yml_free(d);
    *out = s;
    return 0;
fail:
    yml_free(d);
    serve_free(s);
    return -1;
}

void serve_free(struct serve_scenario *s)
{
    if (!s) return;
    model_free(s->m);
    profile_free(s->profile);
    fleet_free(s->fleet);
    model_free(s->spec.draft);
    free(s);
}
