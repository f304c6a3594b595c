/* catalog.c - bundled file lookup; see catalog.h. */
#define _DEFAULT_SOURCE
#include "catalog.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef OB_DATADIR
#define OB_DATADIR "."
#endif

const char *catalog_dir(void)
{
    const char *env = getenv("OPBOUND_DATA");
    return env && *env ? env : OB_DATADIR;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

int catalog_list(const char *subdir, char names[][64], int max)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", catalog_dir(), subdir);
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && n < max) {
        size_t l = strlen(de->d_name);
        if (l > 5 && l < 64 && strcmp(de->d_name + l - 5, ".yaml") == 0) {
            memcpy(names[n], de->d_name, l - 5);
            names[n][l - 5] = 0;
            n++;
        }
    }
    closedir(dp);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    return n;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int catalog_resolve(const char *subdir, const char *arg, char *path, size_t n, struct err *e)
{
    struct stat sb;
    if (strchr(arg, '/') || ends_with(arg, ".yaml") || ends_with(arg, ".yml") ||
        ends_with(arg, ".json")) {
        if (stat(arg, &sb) != 0) return err_set(e, arg, 0, 0, "no such file");
        snprintf(path, n, "%s", arg);
        return 0;
    }
    static char names[256][64];
    int cnt = catalog_list(subdir, names, 256), hit = -1, hits = 0;
    for (int i = 0; i < cnt; i++) {
        if (strcmp(names[i], arg) == 0) {
            hit = i;
            hits = 1;
            break;
        }
        if (strncmp(names[i], arg, strlen(arg)) == 0) hit = i, hits++;
    }
    char list[1024] = "";
    for (int i = 0; i < cnt; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    const char *what = strcmp(subdir, "hw") == 0 ? "device" : "model";
    if (hits == 0)
        return err_set(e, NULL, 0, 0, "unknown %s '%s' (bundled: %s; or give a path)", what, arg,
                       list);
    if (hits > 1)
        return err_set(e, NULL, 0, 0, "ambiguous %s '%s' (bundled: %s)", what, arg, list);
    snprintf(path, n, "%s/%s/%s.yaml", catalog_dir(), subdir, names[hit]);
    return 0;
}
