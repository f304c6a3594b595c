/* catalog.c - bundled file lookup; see catalog.h. */
#define _DEFAULT_SOURCE
#include "catalog.h"

#include <dirent.h>
#include <stdbool.h>
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

static const char *what_of(const char *subdir)
{
    return strcmp(subdir, "hw") == 0 ? "device" : strcmp(subdir, "models/profiles") == 0 ? "profile" : "model";
}

/* Names containing '/' or ending in .yaml, .yml or .json can only be paths. */
static int path_like(const char *arg)
{
    return strchr(arg, '/') || ends_with(arg, ".yaml") || ends_with(arg, ".yml") ||
           ends_with(arg, ".json");
}

/* The names (those starting with prefix, when given) into list, comma-separated. */
static void join_names(char *list, size_t n, char names[][64], int cnt, const char *prefix)
{
    list[0] = 0;
    for (int i = 0; i < cnt; i++) {
        if (prefix && strncmp(names[i], prefix, strlen(prefix)) != 0) continue;
        if (list[0]) strncat(list, ", ", n - strlen(list) - 1);
        strncat(list, names[i], n - strlen(list) - 1);
    }
}

/* The bundled file whose stem is arg or starts with it. is_dir: arg also names
 * a folder (said when no bundled name matches). */
static int bundled(const char *subdir, const char *arg, bool is_dir, char *path, size_t n,
                   struct err *e)
{
    if (!*arg) return err_set(e, NULL, 0, 0, "empty %s name", what_of(subdir));
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
    char list[1024];
    const char *what = what_of(subdir);
    if (hits == 0) {
        join_names(list, sizeof list, names, cnt, NULL);
        if (is_dir)
            return err_set(e, arg, 0, 0, "is a directory, not a %s file (bundled %ss: %s)", what,
                           what, list);
        return err_set(e, NULL, 0, 0, "unknown %s '%s' (bundled: %s; or give a path)", what, arg,
                       list);
    }
    if (hits > 1) {
        join_names(list, sizeof list, names, cnt, arg);
        return err_set(e, NULL, 0, 0, "ambiguous %s '%s': %d bundled names start with it (%s)", what,
                       arg, hits, list);
    }
    snprintf(path, n, "%s/%s/%s.yaml", catalog_dir(), subdir, names[hit]);
    return 0;
}

/* arg: what the user wrote; cand: the path it names (arg, or arg relative to
 * another file's folder). */
static int resolve_at(const char *subdir, const char *arg, const char *cand, char *path,
                      size_t n, struct err *e)
{
    struct stat sb;
    const bool exists = stat(cand, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode)) {
        if (strlen(cand) >= n) return err_set(e, arg, 0, 0, "path too long");
        snprintf(path, n, "%s", cand);
        return 0;
    }
    if (path_like(arg)) {
        if (exists)
            return err_set(e, cand, 0, 0, "is a directory, not a %s file", what_of(subdir));
        return err_set(e, cand, 0, 0, "no such file");
    }
    return bundled(subdir, arg, exists, path, n, e);
}

int catalog_resolve(const char *subdir, const char *arg, char *path, size_t n, struct err *e)
{
    return resolve_at(subdir, arg, arg, path, n, e);
}

int catalog_resolve_in(const char *subdir, const char *base_file, const char *arg, char *path,
                       size_t n, struct err *e)
{
    if (arg[0] == '/') return catalog_resolve(subdir, arg, path, n, e);
    const char *slash = strrchr(base_file, '/');
    char rel[1024];
    if ((size_t)snprintf(rel, sizeof rel, "%.*s%s", slash ? (int)(slash - base_file + 1) : 0,
                         base_file, arg) >= sizeof rel)
        return err_set(e, arg, 0, 0, "path too long");
    return resolve_at(subdir, arg, rel, path, n, e);
}
