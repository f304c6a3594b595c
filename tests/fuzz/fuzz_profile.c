/* fuzz_profile.c - libFuzzer harness: implementation profile files
 * (models/profile.c: key tables, the expression compiler, roles and
 * variants). A profile that loads is applied to Llama-3-8B on H100 for a
 * prefill and a decode step, with and without a few --impl choices, and
 * every total must be finite and >= 0 (docs/reliability.md). */
#include "fuzz_util.h"

#include <math.h>

#include "../../hw/device.h"
#include "../../models/model.h"
#include "../../models/model_file.h"
#include "../../models/profile.h"
#include "../../sim/analyze.h"

static struct device *g_dev;
static struct model *g_model;

static void run(const struct profile *p)
{
    static const struct scenario SC[] = {
        {.phase = PHASE_PREFILL, .batch = 2, .seq = 4096, .tp = 1},
        {.phase = PHASE_DECODE, .batch = 32, .context = 8192, .tp = 2},
    };
    for (size_t i = 0; i < sizeof SC / sizeof SC[0]; i++) {
        struct scenario sc = SC[i];
        sc.profile = p;
        struct analysis a;
        if (analysis_init(&a, g_model)) abort();
        analysis_run(&a, g_model, g_dev, &sc);
        const double v[] = {a.tot.flops, a.tot.bytes, a.tot.time_s, a.tot.kernels,
                            a.memory_bytes, a.ttft_s, a.tpot_s, a.tokens_per_s};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            FUZZ_CHECK(isfinite(v[k]) && v[k] >= 0);
        analysis_free(&a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    struct err e;
    if (!g_dev) {
        if (device_load(OB_DATADIR "/hw/h100-sxm5-80gb.yaml", &g_dev, &e) ||
            model_file_load(OB_DATADIR "/models/llama-3-8b.yaml", &g_model, NULL, &e))
            abort();
    }
    struct profile *p = NULL;
    if (profile_load_text("fuzz.yaml", (const char *)data, n, &p, &e)) {
        FUZZ_CHECK(e.msg[0]); /* a refusal must say why */
        return 0;
    }
    char desc[512];
    profile_describe(p, desc, sizeof desc);
    run(p);
    static const char *const IMPL[] = {"attention=eager", "norm=fused,gemm=cublas",
                                       "residual=eager", "attention=fa2,rope=eager"};
    for (size_t i = 0; i < sizeof IMPL / sizeof IMPL[0]; i++) {
        if (profile_set_impl(p, IMPL[i], "--impl", &e)) {
            FUZZ_CHECK(e.msg[0]);
            continue;
        }
        run(p);
    }
    profile_free(p);
    return 0;
}
