/*
 * test_run.c - the daily job (ri_run): every step on a simulated drop folder, a
 * second run that changes nothing, a bad file that fails its step without
 * harming the store, a new export that makes the derived steps run again, and
 * one run at a time.
 */
#include "harness.h"

#include "fixture.h"
#include "revintel.h"
#include "ri_internal.h"
#include "store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

static int64_t q(struct ri_ctx *c, const char *sql)
{
    int64_t v = -1;
    if (ri_store_query_i64(c, ri_ctx_store(c), sql, &v) != RI_OK)
        fprintf(stderr, "query %s: %s\n", sql, ri_errmsg(c));
    return v;
}

static const char *status_of(const struct ri_run_report *r, int step)
{
    return r->steps[step].status;
}

/* fx_dir/drop holds a simulated export of 1,000 deals (no truth folder),
 * fx_dir/revintel.conf points at it; the store is fx_dir/t.db. */
static struct ri_config *setup(struct ri_ctx *c)
{
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    struct ri_config *conf = NULL;
    char drop[128], path[160];
    fx_fresh_dir("run");
    snprintf(drop, sizeof(drop), "%s/drop", fx_dir);
    so.outdir = drop;
    so.deals = 1000;
    so.seed = 5;
    if (ri_simulate(c, &so, &sr) != RI_OK)
        abort();
    snprintf(path, sizeof(path), "%s/truth", drop);
    fx_remove_tree(path);
    fx_write("revintel.conf", "[store]\ndb = t.db\n[sources]\ndrop_dir = drop\n"
                              "[model]\ntrees = 20\n");
    snprintf(path, sizeof(path), "%s/revintel.conf", fx_dir);
    if (ri_config_load(c, path, &conf) != RI_OK) {
        fprintf(stderr, "config: %s\n", ri_errmsg(c));
        abort();
    }
    snprintf(path, sizeof(path), "%s/t.db", fx_dir);
    if (ri_store_open(c, path, RI_OPEN_CREATE) != RI_OK)
        abort();
    return conf;
}

static struct ri_run_opts opts_for(const struct ri_config *conf)
{
    struct ri_run_opts o;
    memset(&o, 0, sizeof(o));
    o.config = conf;
    o.now = RI_TIME_NONE;
    o.no_deliver = 1;
    return o;
}

/* First run: the four files go in (opportunities before history, whatever their
 * names' order), the diagnosis, a model, scores and a forecast are written,
 * each step in run_steps. Second run on the same folder: nothing ingested, the
 * derived steps skipped, and the tables hold exactly what they held. */
TEST(run_twice_changes_nothing)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_config *conf = setup(c);
    struct ri_run_opts o = opts_for(conf);
    struct ri_run_report *r = NULL;
    int64_t snaps, diags, scores, fruns, models;
    REQUIRE(ri_run(c, &o, &r) == RI_OK);
    CHECK_STR(status_of(r, RI_STEP_INGEST), "ok");
    CHECK_EQ_INT(r->steps[RI_STEP_INGEST].count, 4);
    CHECK_STR(status_of(r, RI_STEP_DIAGNOSE), "ok");
    CHECK_STR(status_of(r, RI_STEP_TRAIN), "ok");
    CHECK_STR(status_of(r, RI_STEP_SCORE), "ok");
    CHECK_STR(status_of(r, RI_STEP_FORECAST), "ok");
    CHECK_STR(status_of(r, RI_STEP_DELIVER), "skipped");
    /* every simulated deal and history row is in (the simulator's quarantine is
     * empty) */
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM deals"), 1000);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM drop_files"), 4);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM run_steps WHERE run_id = 1"), RI_STEP__COUNT);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM runs WHERE id = 1 AND finished_at IS NOT NULL"), 1);
    /* the score step scored exactly the deals open at the store's date */
    CHECK_EQ_INT(r->steps[RI_STEP_SCORE].count, q(c, "SELECT count(*) FROM deals WHERE status = "
                                                     "'open' AND deleted_at IS NULL"));
    snaps = q(c, "SELECT count(*) FROM snapshots");
    diags = q(c, "SELECT count(*) FROM diag_runs");
    scores = q(c, "SELECT count(*) FROM scores");
    fruns = q(c, "SELECT count(*) FROM forecast_runs");
    models = q(c, "SELECT count(*) FROM models");
    CHECK(snaps == 4 && diags == 1 && scores > 0 && fruns == 2 && models == 1);
    ri_run_report_free(r);
    r = NULL;

    REQUIRE(ri_run(c, &o, &r) == RI_OK);
    CHECK_STR(status_of(r, RI_STEP_INGEST), "skipped");
    CHECK_STR(status_of(r, RI_STEP_DIAGNOSE), "skipped");
    CHECK_STR(status_of(r, RI_STEP_TRAIN), "skipped");
    CHECK_STR(status_of(r, RI_STEP_SCORE), "skipped");
    CHECK_STR(status_of(r, RI_STEP_FORECAST), "skipped");
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM snapshots"), snaps);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM diag_runs"), diags);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM scores"), scores);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM forecast_runs"), fruns);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM models"), models);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM runs"), 2);
    /* the briefing still carries the forecast, read back from the store */
    CHECK(strstr(r->briefing, "forecast ") != NULL);
    ri_run_report_free(r);
    r = NULL;

    /* --force redoes the derived steps and retrains */
    o.force = 1;
    REQUIRE(ri_run(c, &o, &r) == RI_OK);
    CHECK_STR(status_of(r, RI_STEP_TRAIN), "ok");
    CHECK_STR(status_of(r, RI_STEP_SCORE), "ok");
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM models"), models + 1);
    ri_run_report_free(r);
    ri_config_free(conf);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

/* A file that cannot be ingested (an opportunities export without an id column)
 * fails the ingest step, names the file, and loses nothing: the other steps run
 * on what the store holds, the bad file is not marked as seen (the next run
 * tries it again), and a new good export makes the derived steps run again. */
TEST(bad_file_fails_its_step_only)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_config *conf = setup(c);
    struct ri_run_opts o = opts_for(conf);
    struct ri_run_report *r = NULL;
    int64_t deals;
    REQUIRE(ri_run(c, &o, &r) == RI_OK);
    ri_run_report_free(r);
    r = NULL;
    deals = q(c, "SELECT count(*) FROM deals");
    fx_write("drop/opportunities_broken.csv", "nothing,useful\n1,2\n");
    REQUIRE(ri_run(c, &o, &r) == RI_OK);
    CHECK_STR(status_of(r, RI_STEP_INGEST), "failed");
    CHECK(strstr(r->steps[RI_STEP_INGEST].detail, "opportunities_broken.csv") != NULL);
    CHECK_EQ_INT(r->failed, 1);
    CHECK_STR(status_of(r, RI_STEP_DIAGNOSE), "skipped");
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM deals"), deals);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM drop_files"), 4);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM run_steps WHERE status = 'failed'"), 1);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM runs WHERE status = 'failed'"), 1);
    ri_run_report_free(r);
    r = NULL;

    /* the broken file is taken away and a new export brings one new open deal */
    {
        char p[160];
        snprintf(p, sizeof(p), "%s/drop/opportunities_broken.csv", fx_dir);
        REQUIRE(unlink(p) == 0);
    }
    fx_write("drop/opportunities_new.csv",
             "id,name,account,owner,created_date,stage,amount,close_date,status\n"
             "NEW-1,Fresh deal,Acme,Rep "
             "1,2026-06-01,Prospecting,12000,2026-09-30,open\n");
    REQUIRE(ri_run(c, &o, &r) == RI_OK);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM deals"), deals + 1);
    CHECK_STR(status_of(r, RI_STEP_DIAGNOSE), "ok");
    CHECK_STR(status_of(r, RI_STEP_SCORE), "ok");
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM diag_runs"), 2);
    ri_run_report_free(r);
    ri_config_free(conf);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

/* While another process holds the store's run lock, a run is refused and writes
 * nothing; a run left "running" by a crash is marked interrupted by the next
 * one. */
TEST(one_run_at_a_time)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_config *conf = setup(c);
    struct ri_run_opts o = opts_for(conf);
    struct ri_run_report *r = NULL;
    char lock[200];
    int fd;
    snprintf(lock, sizeof(lock), "%s/t.db.run.lock", fx_dir);
    fd = open(lock, O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(flock(fd, LOCK_EX) == 0);
    CHECK(ri_run(c, &o, &r) == RI_ERR_STORE);
    CHECK(r == NULL);
    CHECK(strstr(ri_errmsg(c), "another") != NULL);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM runs"), 0);
    close(fd);
    REQUIRE(ri_store_exec(c, ri_ctx_store(c),
                          "INSERT INTO runs(command, started_at, status) VALUES ('run', 1, "
                          "'running')") == RI_OK);
    o.force = 0;
    REQUIRE(ri_run(c, &o, &r) == RI_OK);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM runs WHERE status = 'interrupted'"), 1);
    CHECK_EQ_INT(q(c, "SELECT count(*) FROM runs WHERE status = 'running'"), 0);
    ri_run_report_free(r);
    ri_config_free(conf);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

int main(void)
{
    BEGIN("test_run");
    RUN(run_twice_changes_nothing);
    RUN(bad_file_fails_its_step_only);
    RUN(one_run_at_a_time);
    return DONE();
}
