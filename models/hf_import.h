/* hf_import.h - Hugging Face config.json -> opbound model description.
 *
 * A config.json is parsed with libyaml (JSON is YAML's flow subset, so every
 * error keeps its line and column) and converted, family by family
 * (`model_type`), into opbound YAML text, which the ordinary model loader then
 * reads. Fields that do not change cost are accepted and listed in the notes;
 * fields or values that change cost in a way opbound cannot model, and unknown
 * families, are refused with the field's position.
 *
 * Entry points: hf_to_yaml (the text, for `opbound import`), hf_load (a model,
 * for everything that takes MODEL). To add a family: write conv_<family>() in
 * hf_import.c and add it to FAMILIES. */
#ifndef OB_HF_IMPORT_H
#define OB_HF_IMPORT_H

#include "../sim/core/err.h"

struct model;

#define HF_MAX_NOTES 96

/* What the conversion did with the fields it did not map. */
struct hf_notes {
    int n_ignored;                   /* fields ignored, or read with an assumption */
    char ignored[HF_MAX_NOTES][192]; /* "name: what was done and why" */
    int n_unknown;                   /* fields opbound does not know at all */
    char unknown[HF_MAX_NOTES][64];
    char family[64];
};

/* Converts config.json at path into opbound YAML. *yaml is malloc'd (caller
 * frees). notes may be NULL. 0, or -1 with e set (FILE:LINE:COL of the field). */
int hf_to_yaml(const char *path, char **yaml, struct hf_notes *notes, struct err *e);

/* Converts and loads. 0 with *out owned by the caller (model_free), or -1. */
int hf_load(const char *path, struct model **out, struct hf_notes *notes, struct err *e);

#endif
