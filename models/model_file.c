/* model_file.c - a model from either file format; see model_file.h. */
#include "model_file.h"

#include <string.h>

bool model_file_is_json(const char *path)
{
    const size_t l = strlen(path);
    return l > 5 && strcmp(path + l - 5, ".json") == 0;
}

int model_file_load(const char *path, struct model **out, struct hf_notes *notes,
                    struct err *e)
{
    if (model_file_is_json(path)) return hf_load(path, out, notes, e);
    return model_load(path, out, e);
}
