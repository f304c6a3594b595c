/* fuzz_model.c - libFuzzer harness: model YAML -> loader -> analysis of a few
 * scenarios on H100 (prefill, decode, a huge context, tensor parallel 2),
 * and the terminal table, CSV and JSON writers. Any crash, sanitizer report,
 * assertion, or a total that is not finite and >= 0 is a finding. */
#include "fuzz_util.h"

#include <math.h>
#include <stdbool.h>

#include "../../hw/device.h"
#include "../../models/model.h"
#include "../../reports/analysis_report.h"
#include "../../sim/analyze.h"

static struct device *g_dev;

static void check_totals(const struct analysis *a)
{
    const double v[] = {a->tot.flops, a->tot.bytes, a->tot.time_s, a->tot.kernels,
                        a->tot.act_peak_bytes, a->other_tot.time_s, a->memory_bytes,
                        a->kv_cache_bytes, a->weight_bytes, a->ttft_s, a->tpot_s,
                        a->tokens_per_s, a->counts.params};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) FUZZ_CHECK(isfinite(v[i]) && v[i] >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    struct err e;
    if (!g_dev) {
        if (device_load(OB_DATADIR "/hw/h100-sxm5-80gb.yaml", &g_dev, &e)) abort();
    }
    struct model *m = NULL;
    if (model_load_text("fuzz.yaml", (const char *)data, n, &m, &e)) {
        FUZZ_CHECK(e.msg[0]); /* a refusal must say why */
        return 0;
    }
    static const struct scenario SC[] = {
        {.phase = PHASE_PREFILL, .batch = 1, .seq = 4096, .tp = 1},
        {.phase = PHASE_DECODE, .batch = 32, .context = 8192, .tp = 1},
        {.phase = PHASE_DECODE, .batch = 1, .context = 1099511627776.0, .tp = 1},
        {.phase = PHASE_PREFILL, .batch = 3, .seq = 1500000001, .tp = 2},
    };
    /* Every scenario passes the length check the commands make first
     * (model_len_check: the flex kind is bounded at 2^21 tokens), so a
     * length the CLI would refuse is not analyzed here either. */
    FILE *null = fopen("/dev/null", "w");
    for (size_t i = 0; i < sizeof SC / sizeof SC[0]; i++) {
        const double len = SC[i].phase == PHASE_PREFILL ? SC[i].seq : SC[i].context + 1;
        if (model_len_check(m, len, &e)) {
            FUZZ_CHECK(e.msg[0]);
            continue;
        }
        if (model_tp_check(m, SC[i].tp, &e)) continue;
        struct analysis a;
        if (analysis_init(&a, m)) abort();
        analysis_run(&a, m, g_dev, &SC[i]);
        check_totals(&a);
        struct analysis_view v = {.m = m, .d = g_dev, .sc = &SC[i], .a = &a};
        report_analysis_table(null, &v, i == 0);
        if (i == 1) report_analysis_json(null, &v);
        if (i == 2) report_analysis_csv(null, &v, true);
        analysis_free(&a);
    }
    fclose(null);
    model_free(m);
    return 0;
}
