/* testutil.h - small helpers shared by the cmocka tests: a relative-tolerance
 * double check (Debian's cmocka 1.1.5 has no assert_double_equal), temp files
 * and loading bundled descriptions. */
#ifndef OB_TESTUTIL_H
#define OB_TESTUTIL_H

#define _DEFAULT_SOURCE /* mkstemps, fdopen */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../hw/device.h"
#include "../models/model.h"
#include "../sim/analyze.h"

/* |a - b| <= rel * max(|a|, |b|) (and exact when rel == 0). */
#define assert_close(a, b, rel) assert_close_((double)(a), (double)(b), (rel), #a, __FILE__, __LINE__)
static inline void assert_close_(double a, double b, double rel, const char *what,
                                 const char *file, int line)
{
    double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    if (!(fabs(a - b) <= rel * scale) && a != b) {
        print_error("%s: got %.17g, expected %.17g (rel tol %g)\n", what, a, b, rel);
        _fail(file, line);
    }
}
#define assert_exact(a, b) assert_close(a, b, 0.0)

/* Writes text to a fresh temp file; returns its path (static buffer per call slot). */
static inline const char *tu_write_temp(const char *text)
{
    static char paths[8][64];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 64, "/tmp/opbound-test-XXXXXX.yaml");
    int fd = mkstemps(p, 5);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

/* Runs `opbound ARGS` (the binary under test) with stdout and stderr captured
 * into out and err (per-process temp files, so concurrent runs do not
 * collide); returns the exit status, or -1 if it did not exit normally. */
static inline int tu_run(const char *args, char *out, size_t out_n, char *err, size_t err_n)
{
    char o[64], e[64], cmd[4096];
    snprintf(o, sizeof o, "/tmp/opbound-run-%d.out", (int)getpid());
    snprintf(e, sizeof e, "/tmp/opbound-run-%d.err", (int)getpid());
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s </dev/null", OB_BIN, args, o, e);
    int st = system(cmd);
    const char *paths[2] = {o, e};
    char *bufs[2] = {out, err};
    size_t sizes[2] = {out_n, err_n};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "rb");
        size_t k = f ? fread(bufs[i], 1, sizes[i] - 1, f) : 0;
        bufs[i][k] = 0;
        if (f) fclose(f);
        unlink(paths[i]);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline struct model *tu_model(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s.yaml", OB_DATADIR, name);
    struct model *m = NULL;
    struct err e;
    if (model_load(path, &m, &e)) {
        err_print(&e, stderr);
        return NULL;
    }
    return m;
}

/* The H100 datasheet with every efficiency 1.0 and no calibration, for times
 * derived by hand (the bundled h100 carries a fit to measurements). */
#define TU_IDEAL_H100 OB_DATADIR "/tests/data/h100-ideal.yaml"
static inline struct device *tu_device_ideal(void)
{
    struct device *d = NULL;
    struct err e;
    if (device_load(TU_IDEAL_H100, &d, &e)) {
        err_print(&e, stderr);
        return NULL;
    }
    return d;
}

static inline struct device *tu_device(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/hw/%s.yaml", OB_DATADIR, name);
    struct device *d = NULL;
    struct err e;
    if (device_load(path, &d, &e)) {
        err_print(&e, stderr);
        return NULL;
    }
    return d;
}

/* The test device of hand-derived times (tests/data/test-overhead.yaml):
 * every op costs its 1 ms kernel overhead, roofline terms of the tiny test
 * models stay below 1e-12 s. */
static inline struct device *tu_test_device(void)
{
    struct device *d = NULL;
    struct err e;
    if (device_load(OB_DATADIR "/tests/data/test-overhead.yaml", &d, &e)) {
        err_print(&e, stderr);
        return NULL;
    }
    return d;
}

#endif
