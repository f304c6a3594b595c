/* fuzz_import.c - libFuzzer harness: Hugging Face config.json -> opbound YAML
 * (hf_to_yaml); the YAML it generates must then load (hf_load), since the
 * importer promises only descriptions that load or a positioned refusal. */
#include "fuzz_util.h"

#include "../../models/hf_import.h"
#include "../../models/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "json");
    struct err e;
    char *yaml = NULL;
    struct hf_notes notes;
    if (hf_to_yaml(path, &yaml, &notes, &e)) {
        FUZZ_CHECK(e.msg[0]);
        return 0;
    }
    FUZZ_CHECK(yaml != NULL);
    free(yaml);
    struct model *m = NULL;
    if (hf_load(path, &m, NULL, &e) == 0) model_free(m);
    else FUZZ_CHECK(e.msg[0] && e.line > 0); /* errors in generated text map back */
    return 0;
}
