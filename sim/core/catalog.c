/* catalog.c - bundled file lookup; see catalog.h. */
#define _GNU_SOURCE /* dladdr, realpath */
#include "catalog.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A data folder holds the bundled models/ and hw/ folders. */
static bool is_data_dir(const char *dir)
{
    char p[PATH_MAX + 16];
    struct stat sb;
    if ((size_t)snprintf(p, sizeof p, "%s/models", dir) >= sizeof p) return false;
    if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) return false;
    if ((size_t)snprintf(p, sizeof p, "%s/hw", dir) >= sizeof p) return false;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static char g_dir[PATH_MAX];
static char g_tried[2048];
static int g_state; /* 0 not searched, 1 found, -1 none */

/* The folder of the running program (or of libopbound.so when the code runs
 * from it) into out; false when it cannot be found. */
static bool code_dir(bool shared_lib, char *out, size_t n)
{
    char path[PATH_MAX];
    if (shared_lib) {
        Dl_info info;
        if (!dladdr((void *)&g_state, &info) || !info.dli_fname) return false;
        if (!realpath(info.dli_fname, path)) return false;
    } else {
        ssize_t l = readlink("/proc/self/exe", path, sizeof path - 1);
        if (l <= 0) return false;
        path[l] = 0;
    }
    char *slash = strrchr(path, '/');
    if (!slash) return false;
    *slash = 0;
    return (size_t)snprintf(out, n, "%s", path[0] ? path : "/") < n;
}


/* Candidate c: the folder if it is a data folder; else noted in g_tried. */
static bool try_dir(const char *c)
{
    char real[PATH_MAX];
    const char *use = realpath(c, real) ? real : c;
    if (is_data_dir(use)) {
        if ((size_t)snprintf(g_dir, sizeof g_dir, "%s", use) >= sizeof g_dir) return false;
        return true;
    }
    size_t l = strlen(g_tried), u = strlen(use);
    if (l + u + 3 < sizeof g_tried) { /* fits: copied whole, never truncated */
        if (l) memcpy(g_tried + l, ", ", 2), l += 2;
        memcpy(g_tried + l, use, u + 1);
    }
    return false;
}

/* The folder above dir ("/" stays "/"). */
static void parent(const char *dir, char *out, size_t n)
{
    const char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) snprintf(out, n, "/");
    else snprintf(out, n, "%.*s", (int)(slash - dir), dir);
}

static void search(void)
{
    g_tried[0] = 0;
    const char *env = getenv("OPBOUND_DATA");
    if (env && *env) {
        /* An explicit choice is never overridden, nor silently skipped. */
        g_state = try_dir(env) ? 1 : -1;
        if (g_state < 0)
            snprintf(g_tried, sizeof g_tried, "OPBOUND_DATA=%.1900s (no models/ and hw/ folders there)",
                     env);
        return;
    }
    /* Installed (PREFIX/bin/opbound -> PREFIX/share/opbound), build tree
     * (build/opbound -> the clone), a test program (build/tests/x -> the clone). */
    char prev[PATH_MAX - 32] = "";
    for (int lib = 0; lib < 2; lib++) {
        char base[PATH_MAX - 32];
        if (!code_dir(lib == 1, base, sizeof base) || strcmp(base, prev) == 0) continue;
        snprintf(prev, sizeof prev, "%s", base);
        /* base/.. holds share/opbound (installed) or is the clone (build/opbound);
         * base/../.. is the clone for build/tests/x. */
        char up1[PATH_MAX - 32], up2[PATH_MAX - 32], c[PATH_MAX];
        parent(base, up1, sizeof up1);
        parent(up1, up2, sizeof up2);
        snprintf(c, sizeof c, "%s/share/opbound", strcmp(up1, "/") ? up1 : "");
        if (try_dir(c) || try_dir(up1) || try_dir(up2)) {
            g_state = 1;
            return;
        }
    }
    size_t l = strlen(g_tried);
    snprintf(g_tried + l, sizeof g_tried - l, "%sOPBOUND_DATA (not set)", l ? ", " : "");
    g_state = -1;
}

const char *catalog_dir(void)
{
    if (g_state == 0) search();
    return g_state > 0 ? g_dir : NULL;
}

int catalog_dir_err(struct err *e)
{
    if (catalog_dir()) return 0;
    return err_set(e, NULL, 0, 0,
                   "no bundled models and devices found; tried %s. Set OPBOUND_DATA to a folder "
                   "holding models/ and hw/ (an installed tree has PREFIX/share/opbound)",
                   g_tried);
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

int catalog_list(const char *subdir, char names[][64], int max, struct err *e)
{
    if (catalog_dir_err(e)) return -1;
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/%s", catalog_dir(), subdir);
    DIR *dp = opendir(dir);
    if (!dp) return err_set(e, dir, 0, 0, "cannot open the folder of bundled files");
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
        if (prefix && strncasecmp(names[i], prefix, strlen(prefix)) != 0) continue;
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
    int cnt = catalog_list(subdir, names, 256, e), hit = -1, hits = 0;
    if (cnt < 0) return -1;
    /* Bundled names are matched without regard to case (--hw H100). */
    for (int i = 0; i < cnt; i++) {
        if (strcasecmp(names[i], arg) == 0) {
            hit = i;
            hits = 1;
            break;
        }
        if (strncasecmp(names[i], arg, strlen(arg)) == 0) hit = i, hits++;
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
