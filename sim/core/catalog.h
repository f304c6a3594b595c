/* catalog.h - finding bundled models and devices.
 *
 * A MODEL or HW argument that names an existing file is that file (with or
 * without a '/': `cd models && opbound analyze llama-3-8b.yaml`). Otherwise it
 * is a bundled name: the stem of a file in <data>/models or <data>/hw, or a
 * prefix that starts exactly one ("h100" -> hw/h100-sxm5-80gb.yaml); an
 * argument containing '/' or ending in .yaml/.yml/.json is never a bundled name
 * (missing: "no such file"). A folder is refused ("is a directory"). <data> is
 * $OPBOUND_DATA if set, else the source tree opbound was built from
 * (OB_DATADIR). */
#ifndef OB_CATALOG_H
#define OB_CATALOG_H

#include <stddef.h>

#include "err.h"

const char *catalog_dir(void);
/* Resolves arg within subdir ("models" or "hw") into path. Returns 0, or -1
 * with e set (no such file, a directory, an unknown name listing the bundled
 * ones, or an ambiguous prefix listing the names it starts). */
int catalog_resolve(const char *subdir, const char *arg, char *path, size_t n, struct err *e);
/* The same for an argument written inside base_file (a study or a serving
 * scenario): a relative path is relative to base_file's folder. */
int catalog_resolve_in(const char *subdir, const char *base_file, const char *arg, char *path,
                       size_t n, struct err *e);
/* Sorted bundled file stems of subdir; returns the count (at most max). */
int catalog_list(const char *subdir, char names[][64], int max);

#endif
