/*
 * replay.c - a plain main() for the fuzz targets (SQLite's fuzzcheck idea): feeds every
 * file named on the command line, and every file inside a directory named there, to
 * LLVMFuzzerTestOneInput once. Built with any compiler, so `make fuzz-replay` runs the
 * corpus under the sanitizers without libFuzzer. A crash fails by itself; an unreadable
 * file counts as failed. Ends with "replay: N passed, N failed".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int passed, failed;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t len = 0, cap = 0, got;

    if (!f) {
        fprintf(stderr, "replay: cannot open '%s'\n", path);
        failed++;
        return;
    }
    do {
        if (len == cap) {
            unsigned char *p;
            cap = cap ? cap * 2 : 65536;
            p = realloc(data, cap);
            if (!p) {
                fprintf(stderr, "replay: out of memory reading '%s'\n", path);
                free(data);
                fclose(f);
                failed++;
                return;
            }
            data = p;
        }
        got = fread(data + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        failed++;
    } else {
        /* an exact-size copy, so that ASan sees reads past the end */
        unsigned char *exact = malloc(len ? len : 1);
        if (exact) {
            if (len)
                memcpy(exact, data, len);
            LLVMFuzzerTestOneInput(exact, len);
            free(exact);
            passed++;
        } else {
            failed++;
        }
    }
    free(data);
    fclose(f);
}

static void run_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: cannot open folder '%s'\n", path);
        failed++;
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4096];
        int n;
        if (e->d_name[0] == '.')
            continue;
        n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(sub)) {
            failed++;
            continue;
        }
        run_path(sub);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    printf("replay: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
