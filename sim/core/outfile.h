/* outfile.h - writing a file so that an error or an interrupt never leaves a
 * half-written file: the text goes to a fresh temporary name beside the
 * target (same folder, so the final rename is atomic), which is renamed into
 * place only by outfile_commit.
 *
 * Names are allocated to their exact length (no fixed buffer to overflow or
 * truncate: a truncated temporary name could name, and then overwrite, an
 * unrelated file). The temporary name is ".NAME.tmp-XXXXXX" made by mkstemp,
 * so it never replaces an existing file.
 *
 * Entry points: outfile_open / outfile_commit / outfile_discard;
 * outfile_cleanup_on_signals (main: SIGINT, SIGTERM, SIGHUP remove every
 * temporary file still open, then the signal ends the process as usual). */
#ifndef OB_OUTFILE_H
#define OB_OUTFILE_H

#include <stdio.h>
#include <sys/types.h>

#include "err.h"

struct outfile {
    FILE *f;    /* write here between open and commit */
    char *path; /* final name (owned) */
    char *tmp;  /* temporary name beside it (owned); NULL once committed or discarded */
};

/* Creates the temporary file beside `path` (mode 0666 less the umask).
 * Returns 0, or -1 with e set (nothing is left behind). */
int outfile_open(struct outfile *o, const char *path, struct err *e);
/* Flushes, checks for write errors, closes and renames the temporary file to
 * its final name; frees the names. Returns 0, or -1 with e set (the temporary
 * file is removed, the target untouched). */
int outfile_commit(struct outfile *o, struct err *e);
/* Closes and removes the temporary file and frees the names. Accepts an
 * outfile that was never opened, or was already committed or discarded. */
void outfile_discard(struct outfile *o);

/* Adds (removes) a temporary file made some other way, e.g. by a child
 * process, to the names the signal handlers remove. path must stay valid
 * until outfile_unguard. */
void outfile_guard(const char *path);
void outfile_unguard(const char *path);
/* The child process writing guarded files (0: none): the handlers kill it
 * and wait for it before removing them. */
void outfile_guard_child(pid_t pid);

/* A temporary folder (report's hidden `.NAME.tmp-XXXXXX`) the handlers
 * remove with everything in it (NULL: none). dir must stay valid until it
 * is unguarded. On Linux the tree is emptied with async-signal-safe calls
 * (getdents64, unlinkat); elsewhere only an empty folder is removed. */
void outfile_guard_dir(const char *dir);

/* Installs handlers for SIGINT, SIGTERM and SIGHUP that remove the temporary
 * files of every outfile still open, then re-raise the signal. */
void outfile_cleanup_on_signals(void);

#endif
