/* fuzz_serve.c - libFuzzer harness: serve scenario files (serve_load). The
 * loader only: the simulation's work bound is a separate issue (#18 items 5
 * and 6). */
#include "fuzz_util.h"

#include "../../sim/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "yaml");
    struct serve_scenario *s = NULL;
    struct err e;
    if (serve_load(path, &s, &e)) FUZZ_CHECK(e.msg[0]);
    serve_free(s);
    return 0;
}
