/*
 * fixture.h - what the unit tests share to build their fixtures: a fresh temporary
 * folder, and small files written into it. Every test file that builds a store from CSV
 * text includes it (after harness.h) and keeps its folder in fx_dir.
 */
#ifndef RI_FIXTURE_H
#define RI_FIXTURE_H

#include "revintel.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fx_dir[64] __attribute__((unused));

/* Makes a new empty folder /tmp/ri-<tag>-XXXXXX in fx_dir; aborts if it cannot. */
static inline void fx_fresh_dir(const char *tag)
{
    snprintf(fx_dir, sizeof(fx_dir), "/tmp/ri-%s-XXXXXX", tag);
    if (!mkdtemp(fx_dir))
        abort();
}

/* Writes text to fx_dir/name; aborts if it cannot. */
static inline void fx_write(const char *name, const char *text)
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

/* Removes a folder a test made, with everything in it. */
static inline void fx_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char p[512];
    if (!d)
        return;
    for (e = readdir(d); e; e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(p, sizeof(p), "%s/%s", path, e->d_name) >= (int)sizeof(p))
            continue; /* a name too long to be one of ours */
        if (unlink(p) != 0)
            fx_remove_tree(p);
    }
    closedir(d);
    rmdir(path);
}

/* Simulates a pipeline of `deals` deals (seed; as of the simulator's default date) into a
 * new folder /tmp/ri-<tag>-XXXXXX, whose name goes to dir (64 bytes); aborts if it cannot. */
static inline void fx_simulate(char *dir, const char *tag, uint64_t deals, uint64_t seed)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    snprintf(dir, 64, "/tmp/ri-%s-XXXXXX", tag);
    if (!mkdtemp(dir))
        abort();
    so.outdir = dir;
    so.deals = deals;
    so.seed = seed;
    if (ri_simulate(c, &so, &sr) != RI_OK) {
        fprintf(stderr, "simulate: %s\n", ri_errmsg(c));
        abort();
    }
    ri_ctx_free(c);
}

/* Ingests path as kind (with a mapping or preset, or NULL) into c's store; aborts on a
 * failure or a quarantined row, so that a fixture is what its text says. */
static inline void fx_ingest(struct ri_ctx *c, const char *kind, const char *path, const char *map)
{
    struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    o.kind = (enum ri_ingest_kind)ri_ingest_kind_parse(kind);
    o.path = path;
    o.map = map;
    if (ri_ingest(c, &o, &rep) != RI_OK || rep.rows_quarantined) {
        fprintf(stderr, "ingest %s: %s\n", path, ri_errmsg(c));
        abort();
    }
}

#endif /* RI_FIXTURE_H */
