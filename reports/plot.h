/* plot.h - gnuplot output: data files, scripts and running gnuplot.
 *
 * Every image opbound draws comes with the gnuplot script (.gp) and the data
 * (.dat, .csv) that made it, so a user can restyle it without opbound:
 * `cd DIR && gnuplot NAME.gp`. Every file is written atomically: to a hidden
 * temp name in the same folder, then renamed, so an error never leaves a
 * half-written file behind.
 *
 * Entry points: plot_out_open / plot_out_commit / plot_out_discard (one file),
 * plot_mkdirs, plot_gnuplot_find, plot_render (runs a script), plot_gp_str
 * (a gnuplot string literal), PLOT_COLORS.
 * The gnuplot program is `gnuplot` on PATH, or $OPBOUND_GNUPLOT when set. */
#ifndef OB_PLOT_H
#define OB_PLOT_H

#include <stdbool.h>
#include <stdio.h>

#include "../sim/core/err.h"

#define PLOT_PATH_MAX 1024

/* One output file being written under a temp name. */
struct plot_out {
    FILE *f;
    char path[PLOT_PATH_MAX];      /* final name */
    char tmp[PLOT_PATH_MAX + 32]; /* temp name in the same folder */
};

/* Opens a temp file next to `path` for writing (mode 0666 less the umask).
 * Returns 0, or -1 with e set. */
int plot_out_open(struct plot_out *o, const char *path, struct err *e);
/* Flushes, checks for write errors, closes and renames the temp file to its
 * final name. Returns 0, or -1 with e set (the temp file is removed). */
int plot_out_commit(struct plot_out *o, struct err *e);
/* Closes and removes the temp file (after an error elsewhere). Accepts an
 * output that was never opened or already committed. */
void plot_out_discard(struct plot_out *o);

/* buf = "dir/name". Returns 0, or -1 if it does not fit in n bytes. */
int plot_path(char *buf, size_t n, const char *dir, const char *name);

/* Creates folder `dir` and its missing parents (like mkdir -p). Returns 0, or
 * -1 with e set. */
int plot_mkdirs(const char *dir, struct err *e);

/* The gnuplot program to run: $OPBOUND_GNUPLOT or "gnuplot". Returns true
 * when it is an executable file (found on PATH when it has no '/'). */
bool plot_gnuplot_find(const char **prog);

enum plot_status { PLOT_RENDERED, PLOT_NO_GNUPLOT, PLOT_FAILED };

/* Runs `gnuplot -e "VAR='TMP'; ..." SCRIPT` in folder dir. The script names
 * its outputs through gnuplot variables vars[i] (with a default for users who
 * run it by hand); each is set to a temp name and, when gnuplot exits 0 and
 * wrote it, renamed to files[i] (relative to dir). PLOT_NO_GNUPLOT when
 * gnuplot is not installed (nothing is run); PLOT_FAILED with e set when it
 * failed (no image is left behind). */
enum plot_status plot_render(const char *dir, const char *script, const char *const *vars,
                             const char *const *files, int n, struct err *e);

/* Writes s as a single-quoted gnuplot string ('' for a quote; newlines become
 * spaces). */
void plot_gp_str(FILE *f, const char *s);
/* Tick labels of a log y axis in unit: bytes held in memory in binary steps on
 * a base-2 axis ("8 GiB", docs/conventions.md "Units"), anything else with
 * decimal SI prefixes ("10 ms"). */
void plot_gp_yformat(FILE *f, const char *unit);

/* Colours told apart by most readers, colour-blind ones included (Okabe and
 * Ito 2008, plus black and grey); series cycle through them. */
#define PLOT_NCOLORS 8
extern const char *const PLOT_COLORS[PLOT_NCOLORS];

#endif
