/* spec.h - speculative decoding of one decode step (docs/speculative.md): a
 * draft model proposes k tokens one at a time, the target model verifies the
 * k + 1 positions in one step, and with a per-token acceptance rate a the
 * iteration yields (1 - a^(k+1)) / (1 - a) tokens on average (Leviathan,
 * Kalman and Matias 2023, "Fast Inference from Transformers via Speculative
 * Decoding", eq. 1). DeepSeek-V3's multi-token prediction is the same with
 * its MTP module as the draft.
 *
 * Entry point: spec_run. */
#ifndef OB_SPEC_H
#define OB_SPEC_H

#include "../hw/device.h"
#include "../models/model.h"

struct spec_cfg {
    double k;      /* draft tokens proposed per iteration (>= 1) */
    double accept; /* probability that the target accepts a draft token, 0..1 */
};

struct spec_result {
    double tokens_per_iter; /* expected tokens per iteration, per sequence */
    double t_draft_s;       /* one draft decode step (batch B, context L) */
    double t_verify_s;      /* the target's step over k + 1 new tokens per sequence */
    double t_iter_s;        /* k x t_draft + t_verify */
    double tpot_s;          /* t_iter / tokens_per_iter */
    double t_plain_s;       /* the target's plain decode step, for the speedup */
    double speedup;         /* t_plain / tpot */
    double tokens_per_s;    /* B x tokens_per_iter / t_iter */
    double draft_weight_bytes; /* the draft's weights (per device under tp) */
};

/* Expected tokens per iteration: (1 - a^(k+1)) / (1 - a); k + 1 at a = 1. */
double spec_expected_tokens(double k, double accept);

/* Decode at batch B and context L (sc: phase decode) of target m with
 * draft on device d. 0, or -1 if out of memory. */
int spec_run(const struct model *m, const struct model *draft, const struct device *d,
             const struct step *st, const struct spec_cfg *c, struct spec_result *out);

#endif
