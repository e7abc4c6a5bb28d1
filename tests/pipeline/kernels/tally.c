/* A test kernel with one side effect the tests can count: every call appends "<i>\n" to the file named by
   $TALLY_FILE (one write(2) on an O_APPEND descriptor, so concurrent calls never interleave). */
#include "tally.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tally(int i, double x, int ms) {
    const char *path = getenv("TALLY_FILE");
    if (path != NULL) {
        char line[32];
        int n = snprintf(line, sizeof line, "%d\n", i);
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            if (write(fd, line, (size_t)n) != n) { /* nothing to do: the tests will see the line missing */ }
            close(fd);
        }
    }
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return x + i;
}

int scale(int n, const double *a, double factor, double *out) {
    if (factor != factor) return 1; /* NaN */
    for (int k = 0; k < n; k++) out[k] = a[k] * factor;
    return 0;
}
