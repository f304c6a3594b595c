/* catalog.h - finding bundled models and devices.
 *
 * A MODEL or HW argument that names an existing file is that file (with or
 * without a '/': `cd models && opbound analyze llama-3-8b.yaml`). Otherwise it
 * is a bundled name: the stem of a file in <data>/models or <data>/hw, or a
 * prefix that starts exactly one ("h100" -> hw/h100-sxm5-80gb.yaml); an
 * argument containing '/' or ending in .yaml/.yml/.json is never a bundled name
 * (missing: "no such file"). A folder is refused ("is a directory"). Bundled
 * names match without regard to case ("H100").
 *
 * <data> is the first folder holding both models/ and hw/ of: $OPBOUND_DATA
 * when set (then nothing else is tried); else, from the folder of the running
 * program and then of libopbound.so, ../share/opbound (installed tree), ..
 * (build/opbound in a clone) and ../.. (build/tests/x). */
#ifndef OB_CATALOG_H
#define OB_CATALOG_H

#include <stddef.h>

#include "err.h"

/* The data folder, or NULL when none was found (searched once). */
const char *catalog_dir(void);
/* 0 when a data folder exists, else -1 with e listing every place tried. */
int catalog_dir_err(struct err *e);
/* Resolves arg within subdir ("models" or "hw") into path. Returns 0, or -1
 * with e set (no such file, a directory, an unknown name listing the bundled
 * ones, or an ambiguous prefix listing the names it starts). */
int catalog_resolve(const char *subdir, const char *arg, char *path, size_t n, struct err *e);
/* The same for an argument written inside base_file (a study or a serving
 * scenario): a relative path is relative to base_file's folder. */
int catalog_resolve_in(const char *subdir, const char *base_file, const char *arg, char *path,
                       size_t n, struct err *e);
/* Sorted bundled file stems of subdir; returns the count (at most max), or -1
 * with e set when there is no data folder. */
int catalog_list(const char *subdir, char names[][64], int max, struct err *e);

#endif
