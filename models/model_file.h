/* model_file.h - a model from a file of either format: opbound's model YAML
 * (model.c) or a Hugging Face config.json (hf_import.c, chosen by the .json
 * suffix). Its own module so that the YAML loader and the importer (which
 * produces YAML and loads it with model_load_text) depend one way only. */
#ifndef OB_MODEL_FILE_H
#define OB_MODEL_FILE_H

#include "hf_import.h"
#include "model.h"

#include <stdbool.h>

/* Whether path names a config.json (ends in ".json"). */
bool model_file_is_json(const char *path);

/* Loads path: a config.json when it ends in ".json" (notes may be NULL),
 * else model YAML. 0 with *out owned by the caller (model_free), or -1 with e
 * set (FILE:LINE:COL). */
int model_file_load(const char *path, struct model **out, struct hf_notes *notes,
                    struct err *e);

#endif
