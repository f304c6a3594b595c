/* outfile.c - atomic output files; see outfile.h. */
#define _DEFAULT_SOURCE /* mkstemp, fchmod */
#include "outfile.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

/* Temporary names still open, for the signal handler (which may only call
 * async-signal-safe functions: it reads this table and calls unlink). */
#define OUTFILE_MAX_OPEN 64
static const char *volatile open_tmp[OUTFILE_MAX_OPEN];

static void track(const char *tmp, const char *old)
{
    for (int i = 0; i < OUTFILE_MAX_OPEN; i++)
        if (open_tmp[i] == old) {
            open_tmp[i] = tmp;
            return;
        }
}

/* A child writing guarded files (gnuplot), stopped before they are removed. */
static volatile pid_t guarded_child;

void outfile_guard_child(pid_t pid) { guarded_child = pid; }

/* A temporary folder being built (report), removed whole by the handlers. */
static const char *volatile guarded_dir;

#ifdef __linux__
/* Removes everything inside the open folder dfd, async-signal-safely: the
 * entries are read with the getdents64 system call (readdir is not
 * async-signal-safe) and removed with unlinkat; sub-folders (at most 8
 * levels, more than any report has) are emptied first. Entries removed
 * while reading can make a pass skip others, so passes repeat until one
 * finds nothing (at most 16). */
struct ob_dirent64 {
    unsigned long long ino;
    long long off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static void empty_dir_at(int dfd, int depth)
{
    char buf[4096] __attribute__((aligned(8)));
    for (int pass = 0; pass < 16; pass++) {
        bool any = false;
        if (lseek(dfd, 0, SEEK_SET) < 0) return;
        long n;
        while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                const struct ob_dirent64 *de = (const struct ob_dirent64 *)(void *)(buf + off);
                off += de->reclen;
                const char *nm = de->name;
                if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
                any = true;
                if (unlinkat(dfd, nm, 0) == 0 || depth >= 8) continue;
                const int sub = openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
                if (sub >= 0) {
                    empty_dir_at(sub, depth + 1);
                    close(sub);
                }
                unlinkat(dfd, nm, AT_REMOVEDIR);
            }
        }
        if (!any) return;
    }
}
#endif

static void remove_guarded_dir(void)
{
    const char *dir = guarded_dir;
    if (!dir) return;
#ifdef __linux__
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd >= 0) {
        empty_dir_at(fd, 0);
        close(fd);
    }
#endif
    rmdir(dir);
}

static void on_signal(int sig)
{
    const int saved = errno;
    const pid_t child = guarded_child;
    if (child > 0) {
        kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    for (int i = 0; i < OUTFILE_MAX_OPEN; i++)
        if (open_tmp[i]) unlink(open_tmp[i]);
    remove_guarded_dir();
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved;
}

void outfile_guard_dir(const char *dir) { guarded_dir = dir; }

void outfile_guard(const char *path) { track(path, NULL); }
void outfile_unguard(const char *path) { track(NULL, path); }

void outfile_cleanup_on_signals(void)
{
    static const int SIGS[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof SIGS / sizeof SIGS[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGS[i], &sa, NULL);
    }
}

static void free_names(struct outfile *o)
{
    if (o->tmp) track(NULL, o->tmp);
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
}

int outfile_open(struct outfile *o, const char *path, struct err *e)
{
    memset(o, 0, sizeof *o);
    if (!*path) return err_set(e, "", 0, 0, "empty output file name");
    const char *slash = strrchr(path, '/');
    const size_t dirlen = slash ? (size_t)(slash - path + 1) : 0, len = strlen(path);
    if (!path[dirlen]) return err_set(e, path, 0, 0, "is a folder name, not a file name");
    /* dir + "." + name + ".tmp-XXXXXX" + NUL */
    static const char SUFFIX[] = ".tmp-XXXXXX";
    const size_t n = len + 1 + sizeof SUFFIX;
    o->path = malloc(len + 1);
    o->tmp = malloc(n);
    OB_ASSERT(o->path && o->tmp);
    memcpy(o->path, path, len + 1);
    memcpy(o->tmp, path, dirlen);
    o->tmp[dirlen] = '.';
    memcpy(o->tmp + dirlen + 1, path + dirlen, len - dirlen);
    memcpy(o->tmp + len + 1, SUFFIX, sizeof SUFFIX);
    OB_ASSERT(strlen(o->tmp) == n - 1);
    /* record the name before the file exists, so an interrupt between the two
     * still removes it */
    track(o->tmp, NULL);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        const int er = errno;
        free_names(o);
        return err_set(e, path, 0, 0, "cannot create: %s", strerror(er));
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "w"))) {
        const int er = errno;
        close(fd);
        unlink(o->tmp);
        free_names(o);
        return err_set(e, path, 0, 0, "cannot create: %s", strerror(er));
    }
    return 0;
}

int outfile_commit(struct outfile *o, struct err *e)
{
    if (!o->f) return err_set(e, o->path ? o->path : "", 0, 0, "not open");
    int bad = fflush(o->f) != 0 || ferror(o->f);
    int er = errno;
    if (fclose(o->f) != 0 && !bad) bad = 1, er = errno;
    o->f = NULL;
    if (!bad && rename(o->tmp, o->path) != 0) bad = 1, er = errno;
    if (bad) {
        unlink(o->tmp);
        err_set(e, o->path, 0, 0, "cannot write: %s", strerror(er ? er : EIO));
        free_names(o);
        return -1;
    }
    free_names(o);
    return 0;
}

void outfile_discard(struct outfile *o)
{
    if (o->f) fclose(o->f);
    o->f = NULL;
    if (o->tmp) unlink(o->tmp);
    free_names(o);
}
