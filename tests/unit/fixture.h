/*
 * fixture.h - what the unit tests share to build their fixtures: a fresh temporary
 * folder, and small files written into it. Every test file that builds a store from CSV
 * text includes it (after harness.h) and keeps its folder in fx_dir.
 */
#ifndef RI_FIXTURE_H
#define RI_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fx_dir[64];

/* Makes a new empty folder /tmp/ri-<tag>-XXXXXX in fx_dir; aborts if it cannot. */
static void fx_fresh_dir(const char *tag)
{
    snprintf(fx_dir, sizeof(fx_dir), "/tmp/ri-%s-XXXXXX", tag);
    if (!mkdtemp(fx_dir))
        abort();
}

/* Writes text to fx_dir/name; aborts if it cannot. */
static void fx_write(const char *name, const char *text)
{
    char p[256];
    FILE *f;
    snprintf(p, sizeof(p), "%s/%s", fx_dir, name);
    f = fopen(p, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

#endif /* RI_FIXTURE_H */
