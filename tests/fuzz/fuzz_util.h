/* fuzz_util.h - shared by the libFuzzer harnesses in tests/fuzz (`make fuzz`,
 * docs/reliability.md): the loaders under test take a path, so each input is
 * written to one per-process temporary file first. */
#ifndef OB_FUZZ_UTIL_H
#define OB_FUZZ_UTIL_H

#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes data to $TMPDIR (or /tmp)/opbound-fuzz-PID.EXT and returns that
 * path (static buffer). Aborts if it cannot: a broken harness must not look
 * like a clean run. */
static inline const char *fuzz_file(const uint8_t *data, size_t n, const char *ext)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/opbound-fuzz-%d.%s", dir && *dir ? dir : "/tmp",
             (int)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* A library call that must never report a non-finite or negative number. */
#define FUZZ_CHECK(x)                                                                     \
    do {                                                                                  \
        if (!(x)) {                                                                       \
            fprintf(stderr, "fuzz check failed: %s at %s:%d\n", #x, __FILE__, __LINE__); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#endif
