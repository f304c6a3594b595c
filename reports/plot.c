/* plot.c - atomic output files and running gnuplot; see plot.h. */
#define _DEFAULT_SOURCE /* mkstemp, fchmod */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const PLOT_COLORS[PLOT_NCOLORS] = {
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#000000",
};

int plot_out_open(struct plot_out *o, const char *path, struct err *e)
{
    memset(o, 0, sizeof *o);
    if (strlen(path) >= sizeof o->path) return err_set(e, path, 0, 0, "path too long");
    snprintf(o->path, sizeof o->path, "%s", path);
    /* ".NAME.XXXXXX" beside the final name: same folder, so rename is atomic */
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.XXXXXX", dirlen, path, path + dirlen);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        o->tmp[0] = 0;
        return err_set(e, path, 0, 0, "cannot create: %s", strerror(errno));
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "w"))) {
        int er = errno;
        close(fd);
        unlink(o->tmp);
        o->tmp[0] = 0;
        return err_set(e, path, 0, 0, "cannot create: %s", strerror(er));
    }
    return 0;
}

int plot_out_commit(struct plot_out *o, struct err *e)
{
    if (!o->f) return err_set(e, o->path, 0, 0, "not open");
    int bad = fflush(o->f) != 0 || ferror(o->f);
    int er = errno;
    if (fclose(o->f) != 0 && !bad) bad = 1, er = errno;
    o->f = NULL;
    if (!bad && rename(o->tmp, o->path) != 0) bad = 1, er = errno;
    if (bad) {
        unlink(o->tmp);
        o->tmp[0] = 0;
        return err_set(e, o->path, 0, 0, "cannot write: %s", strerror(er));
    }
    o->tmp[0] = 0;
    return 0;
}

void plot_out_discard(struct plot_out *o)
{
    if (o->f) fclose(o->f);
    o->f = NULL;
    if (o->tmp[0]) unlink(o->tmp);
    o->tmp[0] = 0;
}

int plot_path(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

int plot_mkdirs(const char *dir, struct err *e)
{
    char p[PLOT_PATH_MAX];
    if (!*dir) return 0;
    if (strlen(dir) >= sizeof p) return err_set(e, dir, 0, 0, "path too long");
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            struct stat st;
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return err_set(e, p, 0, 0, "cannot create folder: %s", strerror(errno));
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
                return err_set(e, p, 0, 0, "not a folder");
            *s = c;
            if (!c) break;
        }
    }
    return 0;
}

bool plot_gnuplot_find(const char **prog)
{
    const char *env = getenv("OPBOUND_GNUPLOT");
    *prog = env && *env ? env : "gnuplot";
    if (strchr(*prog, '/')) return access(*prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char buf[PLOT_PATH_MAX];
    for (const char *s = path; *s;) {
        size_t n = strcspn(s, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)(n ? n : 1), n ? s : ".", *prog);
        struct stat st;
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) return true;
        s += n;
        if (*s == ':') s++;
    }
    return false;
}

void plot_gp_yformat(FILE *f, const char *unit)
{
    if (strcmp(unit, "B") == 0)
        fprintf(f, "set logscale y 2\nset format y '%%.0b %%BB'\n");
    else
        fprintf(f, "set format y '%%.0s %%c%s'\n", unit);
}

void plot_gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("''", f);
        else if (*s == '\n' || *s == '\r') fputc(' ', f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

#define PLOT_MAX_OUT 8

static void unlink_in(const char *dir, const char *name)
{
    char p[PLOT_PATH_MAX * 2];
    if (plot_path(p, sizeof p, dir, name) == 0) unlink(p);
}

/* gnuplot's SVG writes a hypertext label as
 *   <g onmousemove="gnuplot_svg.showHypertext(evt,'TEXT')" onmouseout="..."><title> </title>
 * which needs its gnuplot_svg.js (not shipped: the page must stand alone).
 * Rewritten as <g><title>TEXT</title>: the browser's own hover text, no script.
 * TEXT is already XML-escaped by gnuplot. Returns 0, or -1 if the file cannot
 * be read or written. */
static int svg_plain_titles(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            char *nb = realloc(buf, cap = 2 * cap + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) break;
    }
    fclose(f);
    buf[n] = 0;
    static const char OPEN[] = "<g onmousemove=\"gnuplot_svg.showHypertext(evt,'";
    static const char CLOSE[] = "')\" onmouseout=\"gnuplot_svg.hideHypertext()\"><title> </title>";
    if (!strstr(buf, OPEN)) {
        free(buf);
        return 0;
    }
    char tmp[PLOT_PATH_MAX * 2 + 8];
    snprintf(tmp, sizeof tmp, "%s.t", path);
    FILE *o = fopen(tmp, "wb");
    if (!o) {
        free(buf);
        return -1;
    }
    const char *p = buf;
    for (const char *g; (g = strstr(p, OPEN));) {
        const char *text = g + sizeof OPEN - 1, *end = strstr(text, CLOSE);
        if (!end) break;
        fwrite(p, 1, (size_t)(g - p), o);
        fputs("<g><title>", o);
        fwrite(text, 1, (size_t)(end - text), o);
        fputs("</title>", o);
        p = end + sizeof CLOSE - 1;
    }
    fputs(p, o);
    free(buf);
    if (fclose(o) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

enum plot_status plot_render(const char *dir, const char *script, const char *const *vars,
                             const char *const *files, int n, struct err *e)
{
    const char *prog;
    if (!plot_gnuplot_find(&prog)) return PLOT_NO_GNUPLOT;
    OB_ASSERT(n >= 1 && n <= PLOT_MAX_OUT);
    char tmp[PLOT_MAX_OUT][PLOT_PATH_MAX], assign[PLOT_MAX_OUT * (PLOT_PATH_MAX + 64)];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        /* names opbound made itself: no quote to escape */
        snprintf(tmp[i], sizeof tmp[i], ".%s.%ld.tmp", files[i], (long)getpid());
        len += (size_t)snprintf(assign + len, sizeof assign - len, "%s%s='", i ? "; " : "",
                                vars[i]);
        for (const char *c = tmp[i]; *c && len + 4 < sizeof assign; c++) {
            if (*c == '\'') assign[len++] = '\'';
            assign[len++] = *c;
        }
        len += (size_t)snprintf(assign + len, sizeof assign - len, "'");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        err_set(e, script, 0, 0, "cannot run %s: %s", prog, strerror(errno));
        return PLOT_FAILED;
    }
    if (pid == 0) {
        /* child: gnuplot's messages go to our stderr; stdout is not ours to use */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO);
        if (chdir(dir) != 0) _exit(126);
        execlp(prog, prog, "-e", assign, script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            st = -1;
            break;
        }
    bool ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    char path[PLOT_PATH_MAX * 2], dst[PLOT_PATH_MAX * 2];
    for (int i = 0; ok && i < n; i++) {
        struct stat sb;
        if (plot_path(path, sizeof path, dir, tmp[i]) || stat(path, &sb) != 0 ||
            sb.st_size == 0)
            ok = false;
    }
    if (!ok) {
        for (int i = 0; i < n; i++) unlink_in(dir, tmp[i]);
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
            err_set(e, script, 0, 0, "gnuplot failed (exit status %d); data and script are in %s",
                    WEXITSTATUS(st), dir);
        else if (st != -1 && WIFSIGNALED(st))
            err_set(e, script, 0, 0, "gnuplot was killed by signal %d", WTERMSIG(st));
        else
            err_set(e, script, 0, 0, "gnuplot wrote no image");
        return PLOT_FAILED;
    }
    for (int i = 0; i < n; i++) {
        const size_t fl = strlen(files[i]);
        const bool svg = fl > 4 && strcmp(files[i] + fl - 4, ".svg") == 0;
        if (plot_path(path, sizeof path, dir, tmp[i]) || (svg && svg_plain_titles(path)) ||
            plot_path(dst, sizeof dst, dir, files[i]) || rename(path, dst) != 0) {
            err_set(e, dst, 0, 0, "cannot write: %s", strerror(errno));
            for (int k = i; k < n; k++) unlink_in(dir, tmp[k]);
            return PLOT_FAILED;
        }
    }
    return PLOT_RENDERED;
}
