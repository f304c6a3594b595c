/* study.h - study files: a named set of designs, devices and scenarios, for
 * `opbound compare STUDY.yaml` (and reports).
 *
 * A design is either a whole model (`model: NAME-or-PATH`) or the study's
 * `skeleton` model with its attention and/or FFN block replaced by the blocks
 * the design gives; every group of the skeleton gets the new block. Relative
 * paths are relative to the study file. Keys: docs/schema.md ("Study files").
 *
 * Entry points: study_load, study_free, study_sniff. */
#ifndef OB_STUDY_H
#define OB_STUDY_H

#include <stdbool.h>

#include "../models/model.h"
#include "analyze.h"

#define STUDY_MAX 64

struct study_design {
    char name[64];
    struct model *m; /* owned */
};

struct study {
    char name[128];
    char file[512];
    struct study_design designs[STUDY_MAX];
    int n_designs;
    char hw[STUDY_MAX][1024]; /* resolved device file paths */
    int n_hw;
    struct scenario scenarios[STUDY_MAX];
    int n_scenarios;
    struct profile *profiles[STUDY_MAX]; /* owned; scenarios[i].profile (NULL: none) */
};

/* Loads and checks a study (designs loaded, scenarios validated against every
 * design). *out owned by the caller (study_free). 0, or -1 with e set. */
int study_load(const char *path, struct study **out, struct err *e);
void study_free(struct study *s); /* accepts NULL */
/* Whether the file at path is a study rather than a model: 1 if it is a YAML
 * mapping with a key only a study has (designs, skeleton, scenarios, hw); 0 if
 * it is not, or path names no file (a bundled name); -1 with e set if the file
 * cannot be read or parsed (its error is the one to report, whatever it was
 * meant to be). */
int study_sniff(const char *path, struct err *e);
/* Schema sections for docs/schema.md. */
int study_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n);

#endif
