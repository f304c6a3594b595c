/* fuzz_meas.c - libFuzzer harness: measurement CSV (meas_load, with and
 * without required times). Every loaded row must hold a finite, non-negative
 * cost. */
#include "fuzz_util.h"

#include <math.h>

#include "../../sim/measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "csv");
    for (int need = 0; need < 2; need++) {
        struct meas_file m;
        struct err e;
        memset(&m, 0, sizeof m);
        if (meas_load(path, need, &m, &e)) {
            FUZZ_CHECK(e.msg[0]);
            continue;
        }
        for (int i = 0; i < m.n; i++) {
            const struct meas_row *r = &m.rows[i];
            FUZZ_CHECK(!r->timed || (isfinite(r->median_s) && r->median_s > 0));
            if (r->launch) continue;
            const struct op_cost *c = &r->op.cost;
            const double v[] = {c->flops_mm, c->flops_vec, c->bytes_w, c->bytes_act,
                                c->bytes_kv, c->bytes_out, c->bytes_net, c->flops_wasted};
            for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
                FUZZ_CHECK(isfinite(v[j]) && v[j] >= 0);
        }
        meas_free(&m);
    }
    return 0;
}
