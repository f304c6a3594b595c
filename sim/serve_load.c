/* serve_load.c - loading serving scenario files (`opbound serve SCENARIO.yaml`).
 *
 * Key tables below (also printed by `opbound schema`); every error is
 * FILE:LINE:COL. Paths (model, AFD devices) are relative to the scenario
 * file. Rules: docs/serving.md. To add a key: add a row to its table and read
 * it in serve_load. */
#include <math.h>
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
    double rate, reserve, kv_mem, cv, time_scale, max_wait;
    enum dtype wdt, kvdt;
    char profile[512], impl[256], trace[512];
};
#define TOFF(f) offsetof(struct top_in, f)
static const struct key_spec TOP_KEYS[] = {
    {"name", KEY_STR, TOFF(name), 0, 128, 0, NULL, "", "scenario title"},
    {"model", KEY_STR, TOFF(model), 0, 256, 1, NULL, "",
     "bundled model name or path (relative to this file)"},
    {"requests", KEY_INT, TOFF(requests), 1, 1000000, 0, NULL, "count",
     "requests to serve (at most 10^6; the simulation steps through every iteration, and "
     "a scenario needing more than 5e7 units of work is refused: docs/serving.md, Work "
     "bound); required unless `trace` is given (then: replay the first N rows, default all)"},
    {"lengths", KEY_SEQ, 0, 0, 0, 0, NULL, "",
     "fixed mix: a list of {input, output}, cycled over the requests (give one of lengths, "
     "uniform, lognormal, histogram, trace)"},
    {"uniform", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "random mix: lengths drawn uniformly from ranges (see uniform table)"},
    {"lognormal", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "random mix: lognormal lengths (see lognormal table)"},
    {"histogram", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "random mix: lengths from a histogram of bins and weights (see histogram table)"},
    {"trace", KEY_STR, TOFF(trace), 0, 512, 0, NULL, "",
     "replay a request trace: CSV file relative to this file (opbound, Azure LLM inference or "
     "BurstGPT layout; docs/serving.md, Request traces); its times are the arrivals"},
    {"trace_time_scale", KEY_NUM, TOFF(time_scale), 1e-9, 1e9, 0, NULL, "",
     "multiply the trace's arrival times by this (0.5 replays at twice the rate; default 1)"},
    {"arrival_rate_per_s", KEY_NUM, TOFF(rate), 1e-9, 1e9, 0, NULL, "requests/s",
     "arrivals at this mean rate (first at t = 0): Poisson, or gamma gaps with arrival_cv; "
     "default: all requests at t = 0"},
    {"arrival_cv", KEY_NUM, TOFF(cv), 0.01, 100, 0, NULL, "",
     "burstiness: coefficient of variation of the gaps between arrivals, gamma distributed "
     "(1 = Poisson, the default; > 1 bursty, < 1 regular)"},
    {"arrival_curve", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "a rate that varies over time (diurnal): piecewise-constant rates over a period (see "
     "arrival_curve table); instead of arrival_rate_per_s"},
    {"shared_prompt", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "every prompt starts with one of a few shared system prompts (see shared_prompt table)"},
    {"chat", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "multi-turn sessions: each prompt carries its session's history (see chat table)"},
    {"prefix_cache", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "automatic prefix caching over KV blocks (see prefix_cache table); default: off"},
    {"preemption", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "allocate KV as sequences grow and preempt under pressure, vLLM style (see preemption "
     "table); default: off (each request's final footprint is reserved at admission)"},
    {"priorities", KEY_SEQ, 0, 0, 0, 0, NULL, "",
     "priority classes 0, 1, ... (0 first) with these relative shares of the requests, drawn "
     "at random (at most 16); a trace gives them in its `priority` column instead"},
    {"max_wait_s", KEY_NUM, TOFF(max_wait), 1e-9, 1e12, 0, NULL, "s",
     "a request not admitted within this long of its arrival is dropped (timed out; "
     "default: it waits as long as it takes)"},
    {"slo", KEY_MAP, 0, 0, 0, 0, NULL, "",
     "latency targets for SLO attainment and goodput (see slo table)"},
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


struct logn_in {
    double mu, sigma, mean, cv;
};
#define LOFF(f) offsetof(struct logn_in, f)
static const struct key_spec LOGN_KEYS[] = {
    {"mu", KEY_NUM, LOFF(mu), -20, 20, 0, NULL, "", "mean of ln(length) (with sigma)"},
    {"sigma", KEY_NUM, LOFF(sigma), 0, 10, 0, NULL, "", "standard deviation of ln(length)"},
    {"mean", KEY_NUM, LOFF(mean), 1, MAX_TOKENS, 0, NULL, "tokens",
     "mean length (with cv, instead of mu and sigma)"},
    {"cv", KEY_NUM, LOFF(cv), 0, 100, 0, NULL, "", "coefficient of variation of the length"},
};
static const struct key_spec SIDES_KEYS[] = {
    {"input", KEY_MAP, 0, 0, 0, 1, NULL, "", "prompt lengths"},
    {"output", KEY_MAP, 0, 0, 0, 1, NULL, "", "output lengths"},
};
static const struct key_spec HIST_KEYS[] = {
    {"edges", KEY_SEQ, 0, 0, 0, 1, NULL, "tokens",
     "bin edges, increasing whole numbers >= 1: bin b holds lengths edges[b] .. edges[b+1] - 1 "
     "(at most 64 bins)"},
    {"weights", KEY_SEQ, 0, 0, 0, 1, NULL, "",
     "one weight >= 0 per bin (relative; not all zero): a bin's share of the requests"},
};
struct curve_in {
    double period;
};
static const struct key_spec CURVE_KEYS[] = {
    {"period_s", KEY_NUM, offsetof(struct curve_in, period), 1e-6, 1e12, 1, NULL, "s",
     "the curve's period (86400 for a day); it repeats"},
    {"rates_per_s", KEY_SEQ, 0, 0, 0, 1, NULL, "requests/s",
     "rates over equal slices of the period (at most 288; >= 0, not all zero)"},
};
struct shared_in {
    int64_t tokens, count;
};
static const struct key_spec SHARED_KEYS[] = {
    {"tokens", KEY_INT, offsetof(struct shared_in, tokens), 1, MAX_TOKENS, 1, NULL, "tokens",
     "length of each system prompt, added in front of every prompt"},
    {"count", KEY_INT, offsetof(struct shared_in, count), 1, 1000000, 0, NULL, "count",
     "distinct system prompts (request i, or session i, uses prompt i mod count; default 1)"},
};
struct chat_in {
    int64_t sessions;
};
static const struct key_spec CHAT_KEYS[] = {
    {"sessions", KEY_INT, offsetof(struct chat_in, sessions), 1, 1000000, 1, NULL, "count",
     "concurrent chat sessions: request i is the next turn of session i mod sessions, its "
     "prompt the session's history (earlier prompts' messages and outputs) + its own input"},
};
struct pc_in {
    int64_t block;
};
static const struct key_spec PC_KEYS[] = {
    {"block_tokens", KEY_INT, offsetof(struct pc_in, block), 1, 65536, 0, NULL, "tokens",
     "tokens per KV block, the unit cached and matched (default 16, vLLM's block size)"},
};
static const char *const PREEMPT_MODES[] = {"recompute", "swap", NULL};
struct preempt_in {
    int mode;
    double swap_bw;
};
static const struct key_spec PREEMPT_KEYS[] = {
    {"mode", KEY_ENUM, offsetof(struct preempt_in, mode), 0, 0, 1, PREEMPT_MODES, "",
     "recompute: drop the victim's KV, prefill it again on resume; swap: move it to host "
     "memory and back over the swap link"},
    {"swap_bytes_per_s", KEY_NUM, offsetof(struct preempt_in, swap_bw), 1e6, 1e14, 0, NULL,
     "bytes/s", "device <-> host bandwidth per device, each way (swap only, required there; "
     "e.g. 64e9 for PCIe 5.0 x16, 450e9 for NVLink-C2C)"},
};
struct slo_in {
    double ttft, tpot;
};
static const struct key_spec SLO_KEYS[] = {
    {"ttft_s", KEY_NUM, offsetof(struct slo_in, ttft), 1e-9, 1e9, 0, NULL, "s",
     "time to first token target"},
    {"tpot_s", KEY_NUM, offsetof(struct slo_in, tpot), 1e-9, 1e9, 0, NULL, "s",
     "time per output token target: (end-to-end - TTFT) / (output - 1)"},
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
    case 5: *title = "Serve scenario: `lognormal` and `histogram`"; *keys = SIDES_KEYS;
        *n = N(SIDES_KEYS); return 0;
    case 6: *title = "Serve scenario: `lognormal` input and output"; *keys = LOGN_KEYS;
        *n = N(LOGN_KEYS); return 0;
    case 7: *title = "Serve scenario: `histogram` input and output"; *keys = HIST_KEYS;
        *n = N(HIST_KEYS); return 0;
    case 8: *title = "Serve scenario: `arrival_curve`"; *keys = CURVE_KEYS; *n = N(CURVE_KEYS);
        return 0;
    case 9: *title = "Serve scenario: `shared_prompt`"; *keys = SHARED_KEYS;
        *n = N(SHARED_KEYS); return 0;
    case 10: *title = "Serve scenario: `chat`"; *keys = CHAT_KEYS; *n = N(CHAT_KEYS); return 0;
    case 11: *title = "Serve scenario: `prefix_cache`"; *keys = PC_KEYS; *n = N(PC_KEYS);
        return 0;
    case 12: *title = "Serve scenario: `slo`"; *keys = SLO_KEYS; *n = N(SLO_KEYS); return 0;
    case 13: *title = "Serve scenario: `preemption`"; *keys = PREEMPT_KEYS;
        *n = N(PREEMPT_KEYS); return 0;
    default: return fleet_schema_section(i - 14, title, keys, n);
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

/* A list of numbers (whole when `whole`) in [min, max], at most maxn. */
static int read_list(const struct yml_doc *d, yml_node n, const char *name, double min,
                     double max, bool whole, double *out, int maxn, int *count, struct err *e)
{
    const int len = yml_seq_len(d, n);
    if (len == 0) return yml_fail(d, n, e, "'%s' must list at least one number", name);
    if (len > maxn) return yml_fail(d, n, e, "'%s' lists more than %d numbers", name, maxn);
    char item[96];
    snprintf(item, sizeof item, "%s item", name);
    const struct key_spec k = {item, whole ? KEY_INT : KEY_NUM, 0, min, max, 0, NULL, "", ""};
    for (int i = 0; i < len; i++) {
        union {
            int64_t i;
            double d;
        } v;
        if (yml_value_read(d, yml_seq_at(d, n, i), &k, &v, e)) return -1;
        out[i] = whole ? (double)v.i : v.d;
    }
    *count = len;
    return 0;
}

/* lognormal: {input: {...}, output: {...}}, each {mu, sigma} or {mean, cv}:
 * sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2 (the lognormal's mean
 * exp(mu + sigma^2 / 2) and CV sqrt(exp(sigma^2) - 1)). */
static int load_lognormal(struct serve_scenario *s, const struct yml_doc *d, yml_node n,
                          struct err *e)
{
    uint64_t pr;
    if (yml_map_read(d, n, "lognormal", SIDES_KEYS, N(SIDES_KEYS), &(char){0}, &pr, e)) return -1;
    for (int k = 0; k < 2; k++) {
        yml_node sn = yml_map_get(d, n, SIDES_KEYS[k].name);
        struct logn_in in;
        if (yml_map_read(d, sn, SIDES_KEYS[k].name, LOGN_KEYS, N(LOGN_KEYS), &in, &pr, e))
            return -1;
        const bool ms = has(pr, LOGN_KEYS, N(LOGN_KEYS), "mu") && has(pr, LOGN_KEYS, N(LOGN_KEYS), "sigma");
        const bool mc = has(pr, LOGN_KEYS, N(LOGN_KEYS), "mean") && has(pr, LOGN_KEYS, N(LOGN_KEYS), "cv");
        const int given = __builtin_popcountll(pr);
        if (given != 2 || (!ms && !mc))
            return yml_fail(d, sn, e, "give either {mu, sigma} or {mean, cv}");
        if (ms) {
            s->dist[k].mu = in.mu, s->dist[k].sigma = in.sigma;
        } else {
            const double s2 = log1p(in.cv * in.cv);
            s->dist[k].sigma = sqrt(s2);
            s->dist[k].mu = log(in.mean) - s2 / 2;
        }
    }
    s->mix = MIX_LOGNORMAL;
    return 0;
}

static int load_histogram(struct serve_scenario *s, const struct yml_doc *d, yml_node n,
                          struct err *e)
{
    uint64_t pr;
    if (yml_map_read(d, n, "histogram", SIDES_KEYS, N(SIDES_KEYS), &(char){0}, &pr, e)) return -1;
    for (int k = 0; k < 2; k++) {
        yml_node sn = yml_map_get(d, n, SIDES_KEYS[k].name);
        if (yml_map_read(d, sn, SIDES_KEYS[k].name, HIST_KEYS, N(HIST_KEYS), &(char){0}, &pr, e))
            return -1;
        struct serve_dist *h = &s->dist[k];
        yml_node en = yml_map_get(d, sn, "edges"), wn = yml_map_get(d, sn, "weights");
        int ne = 0, nw = 0;
        if (read_list(d, en, "edges", 1, MAX_TOKENS + 1, true, h->edges, SERVE_MAX_BINS + 1, &ne,
                      e) ||
            read_list(d, wn, "weights", 0, 1e15, false, h->weights, SERVE_MAX_BINS, &nw, e))
            return -1;
        if (ne < 2) return yml_fail(d, en, e, "'edges' needs at least two edges (one bin)");
        for (int b = 1; b < ne; b++)
            if (h->edges[b] <= h->edges[b - 1])
                return yml_fail(d, yml_seq_at(d, en, b), e,
                                "edges must increase (%g follows %g)", h->edges[b],
                                h->edges[b - 1]);
        if (nw != ne - 1)
            return yml_fail(d, wn, e, "%d edges make %d bins, but %d weights are given", ne,
                            ne - 1, nw);
        double tot = 0;
        for (int b = 0; b < nw; b++) tot += h->weights[b];
        if (tot <= 0) return yml_fail(d, wn, e, "the weights are all zero");
        double cum = 0;
        for (int b = 0; b < nw; b++) cum += h->weights[b], h->weights[b] = cum / tot;
        h->weights[nw - 1] = 1;
        h->n_bins = nw;
    }
    s->mix = MIX_HISTOGRAM;
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
    static const char *const MIX_KEYS[] = {"lengths", "uniform", "lognormal", "histogram", "trace"};
    yml_node mn = 0;
    int which = -1;
    for (int k = 0; k < 5; k++) {
        yml_node n = yml_map_get(d, root, MIX_KEYS[k]);
        if (!n) continue;
        if (mn)
            return yml_fail(d, n, e, "give one request mix: '%s' and '%s' both given",
                            MIX_KEYS[which], MIX_KEYS[k]);
        mn = n, which = k;
    }
    if (!mn)
        return yml_fail(d, root, e,
                        "missing the request mix: give 'lengths', 'uniform', 'lognormal', "
                        "'histogram' or 'trace'");
    yml_mark(d, mn, &s->line_mix, &s->col_mix);
    if (which == 2) return load_lognormal(s, d, mn, e);
    if (which == 3) return load_histogram(s, d, mn, e);
    if (which == 4) { /* serve_load reads the trace once it knows `requests` */
        s->mix = MIX_TRACE;
        return 0;
    }
    if (which == 1) {
        yml_node un = mn;
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
        s->mix = MIX_UNIFORM;
        return 0;
    }
    yml_node ln = mn;
    if (yml_kind_of(d, ln) != YML_SEQ)
        return yml_fail(d, ln, e, "'lengths' must be a list of {input, output}");
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
    s->mix = MIX_CYCLE;
    return 0;
}

int serve_trace_set(struct serve_scenario *s, const char *path, bool limit_rows, struct err *e)
{
    trace_free(&s->trace);
    if (trace_load(path, limit_rows ? (size_t)s->requests : 0, &s->trace, e)) return -1;
    s->mix = MIX_TRACE;
    s->requests = (double)s->trace.n;
    /* the trace gives the arrivals and what prompts share */
    s->arrival_rate_per_s = 0;
    s->arrival_cv = 1;
    s->n_rates = 0;
    s->shared_prompt_tokens = 0;
    s->chat_sessions = 0;
    s->line_mix = s->col_mix = 0;
    s->n_priorities = 0;
    s->has_priority = false;
    for (size_t i = 0; i < s->trace.n; i++)
        if (s->trace.r[i].priority != 0) s->has_priority = true;
    return 0;
}

/* Arrival curve, sharing, prefix cache and SLO tables. */
static int load_extras(struct serve_scenario *s, const struct yml_doc *d, yml_node root,
                       struct err *e)
{
    uint64_t pr;
    yml_node n;
    if ((n = yml_map_get(d, root, "arrival_curve"))) {
        struct curve_in in;
        if (yml_map_read(d, n, "arrival_curve", CURVE_KEYS, N(CURVE_KEYS), &in, &pr, e)) return -1;
        yml_node rn = yml_map_get(d, n, "rates_per_s");
        if (read_list(d, rn, "rates_per_s", 0, 1e9, false, s->rates_per_s, SERVE_MAX_RATES,
                      &s->n_rates, e))
            return -1;
        double tot = 0;
        for (int j = 0; j < s->n_rates; j++) tot += s->rates_per_s[j];
        if (tot <= 0) return yml_fail(d, rn, e, "the rates are all zero: no request would arrive");
        s->rate_period_s = in.period;
    }
    if ((n = yml_map_get(d, root, "shared_prompt"))) {
        struct shared_in in = {.count = 1};
        if (yml_map_read(d, n, "shared_prompt", SHARED_KEYS, N(SHARED_KEYS), &in, &pr, e))
            return -1;
        s->shared_prompt_tokens = (double)in.tokens;
        s->shared_prompts = (double)in.count;
    }
    if ((n = yml_map_get(d, root, "chat"))) {
        struct chat_in in;
        if (yml_map_read(d, n, "chat", CHAT_KEYS, N(CHAT_KEYS), &in, &pr, e)) return -1;
        s->chat_sessions = (double)in.sessions;
    }
    if ((n = yml_map_get(d, root, "prefix_cache"))) {
        struct pc_in in = {.block = 16};
        if (yml_map_read(d, n, "prefix_cache", PC_KEYS, N(PC_KEYS), &in, &pr, e)) return -1;
        s->block_tokens = (double)in.block;
        yml_mark(d, n, &s->line_cache, &s->col_cache);
    }
    if ((n = yml_map_get(d, root, "preemption"))) {
        struct preempt_in in = {0, 0};
        if (yml_map_read(d, n, "preemption", PREEMPT_KEYS, N(PREEMPT_KEYS), &in, &pr, e))
            return -1;
        s->preempt = true;
        s->preempt_swap = in.mode == 1;
        const bool bw = has(pr, PREEMPT_KEYS, N(PREEMPT_KEYS), "swap_bytes_per_s");
        if (s->preempt_swap && !bw)
            return yml_fail(d, n, e, "preemption by swap needs 'swap_bytes_per_s' (the "
                                     "device-host link, e.g. 64e9 for PCIe 5.0 x16)");
        if (!s->preempt_swap && bw)
            return yml_fail(d, yml_map_get(d, n, "swap_bytes_per_s"), e,
                            "'swap_bytes_per_s' applies to mode: swap only");
        s->swap_bytes_per_s = in.swap_bw;
        if (yml_map_get(d, root, "prefix_cache"))
            return yml_fail(d, n, e, "preemption together with prefix_cache is not modelled");
    }
    if ((n = yml_map_get(d, root, "priorities"))) {
        double w[16];
        if (read_list(d, n, "priorities", 0, 1e15, false, w, 16, &s->n_priorities, e)) return -1;
        double tot = 0, cum = 0;
        for (int c = 0; c < s->n_priorities; c++) tot += w[c];
        if (tot <= 0) return yml_fail(d, n, e, "the priority shares are all zero");
        for (int c = 0; c < s->n_priorities; c++) cum += w[c], s->priority_cum[c] = cum / tot;
        s->priority_cum[s->n_priorities - 1] = 1;
        s->has_priority = s->n_priorities > 1;
    }
    if ((n = yml_map_get(d, root, "slo"))) {
        struct slo_in in = {0, 0};
        if (yml_map_read(d, n, "slo", SLO_KEYS, N(SLO_KEYS), &in, &pr, e)) return -1;
        if (!pr) return yml_fail(d, n, e, "'slo' needs ttft_s, tpot_s or both");
        s->slo_ttft_s = in.ttft;
        s->slo_tpot_s = in.tpot;
    }
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
    const bool has_req = has(pr, TOP_KEYS, N(TOP_KEYS), "requests");
    s->requests = (double)in.requests;
    s->has_requests = has_req;
    s->max_wait_s = has(pr, TOP_KEYS, N(TOP_KEYS), "max_wait_s") ? in.max_wait : 0;
    s->arrival_cv = has(pr, TOP_KEYS, N(TOP_KEYS), "arrival_cv") ? in.cv : 1;
    s->trace_time_scale = has(pr, TOP_KEYS, N(TOP_KEYS), "trace_time_scale") ? in.time_scale : 1;
    if (load_extras(s, d, root, e)) goto fail;
    if (s->mix == MIX_TRACE) {
        static const char *const NOT_WITH_TRACE[] = {"arrival_rate_per_s", "arrival_cv",
                                                     "arrival_curve", "shared_prompt", "chat",
                                                     "priorities"};
        for (size_t k = 0; k < N(NOT_WITH_TRACE); k++)
            if (yml_map_get(d, root, NOT_WITH_TRACE[k])) {
                yml_fail(d, yml_map_get(d, root, NOT_WITH_TRACE[k]), e,
                         "'%s' does not apply to a trace (its rows give the arrivals, sessions "
                         "and prefixes)", NOT_WITH_TRACE[k]);
                goto fail;
            }
        yml_node tn = yml_map_get(d, root, "trace");
        char tpath[1024];
        const char *slash = strrchr(path, '/');
        if (!in.trace[0]) {
            yml_fail(d, tn, e, "'trace' needs a file name");
            goto fail;
        }
        if (in.trace[0] == '/') snprintf(tpath, sizeof tpath, "%s", in.trace);
        else snprintf(tpath, sizeof tpath, "%.*s%s", slash ? (int)(slash - path + 1) : 0, path,
                      in.trace);
        if (serve_trace_set(s, tpath, has_req, e)) {
            if (!e->line) at_node(d, tn, e); /* cannot open it: at the key */
            goto fail;
        }
        yml_mark(d, tn, &s->line_mix, &s->col_mix);
    } else {
        if (has(pr, TOP_KEYS, N(TOP_KEYS), "trace_time_scale")) {
            yml_fail(d, yml_map_get(d, root, "trace_time_scale"), e,
                     "'trace_time_scale' needs a 'trace'");
            goto fail;
        }
        if (!has_req) {
            yml_fail(d, root, e, "missing required key 'requests'");
            goto fail;
        }
        if (s->n_rates && has(pr, TOP_KEYS, N(TOP_KEYS), "arrival_rate_per_s")) {
            yml_fail(d, yml_map_get(d, root, "arrival_curve"), e,
                     "give 'arrival_rate_per_s' or 'arrival_curve', not both");
            goto fail;
        }
        if (has(pr, TOP_KEYS, N(TOP_KEYS), "arrival_cv") && !s->n_rates &&
            !has(pr, TOP_KEYS, N(TOP_KEYS), "arrival_rate_per_s")) {
            yml_fail(d, yml_map_get(d, root, "arrival_cv"), e,
                     "'arrival_cv' needs 'arrival_rate_per_s' or 'arrival_curve' (without, all "
                     "requests arrive at t = 0)");
            goto fail;
        }
    }
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
    if (fln) { /* the fleet draws its requests itself (serve_requests_draw) */
        static const char *const NOT_IN_FLEET[] = {
            "lognormal", "histogram", "trace", "arrival_cv", "arrival_curve", "shared_prompt",
            "chat", "prefix_cache", "preemption", "priorities", "max_wait_s", "slo"};
        for (size_t k = 0; k < N(NOT_IN_FLEET); k++)
            if (yml_map_get(d, root, NOT_IN_FLEET[k])) {
                yml_fail(d, yml_map_get(d, root, NOT_IN_FLEET[k]), e,
                         "'%s' is not modelled in a fleet (fleet:) yet", NOT_IN_FLEET[k]);
                goto fail;
            }
    }
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
    trace_free(&s->trace);
    fleet_free(s->fleet);
    model_free(s->spec.draft);
    free(s);
}
