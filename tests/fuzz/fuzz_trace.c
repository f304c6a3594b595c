/* fuzz_trace.c - libFuzzer harness: request traces (trace_load, the CSV
 * reader of `serve --trace`): any input loads or fails with a message. */
#include "fuzz_util.h"

#include "../../sim/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "csv");
    struct trace t;
    struct err e;
    if (trace_load(path, 0, &t, &e)) FUZZ_CHECK(e.msg[0]);
    else FUZZ_CHECK(t.n > 0 && t.r[0].arrival_s == 0);
    trace_free(&t);
    return 0;
}
