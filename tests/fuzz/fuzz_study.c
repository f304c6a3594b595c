/* fuzz_study.c - libFuzzer harness: study files (study_load: skeleton,
 * designs, devices, scenarios). Loading only; the analyses are covered by
 * fuzz_model. */
#include "fuzz_util.h"

#include "../../sim/study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "yaml");
    struct study *s = NULL;
    struct err e;
    if (study_load(path, &s, &e)) FUZZ_CHECK(e.msg[0]);
    study_free(s);
    return 0;
}
