/* catalog.h - finding bundled models and devices.
 *
 * A MODEL or HW argument is a path (contains '/' or ends in .yaml/.yml/.json) or a
 * bundled name: the stem of a file in <data>/models or <data>/hw, or a unique
 * prefix of one ("h100" -> hw/h100-sxm5-80gb.yaml). <data> is $OPBOUND_DATA if
 * set, else the source tree opbound was built from (OB_DATADIR). */
#ifndef OB_CATALOG_H
#define OB_CATALOG_H

#include <stddef.h>

#include "err.h"

const char *catalog_dir(void);
/* Resolves arg within subdir ("models" or "hw") into path. Returns 0, or -1
 * with e set (unknown or ambiguous name, listing the candidates). */
int catalog_resolve(const char *subdir, const char *arg, char *path, size_t n, struct err *e);
/* Sorted bundled file stems of subdir; returns the count (at most max). */
int catalog_list(const char *subdir, char names[][64], int max);

#endif
