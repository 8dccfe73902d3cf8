/*
 * run.c - `revintel run`, the daily job: ingest what is new in the drop folder,
 * rebuild the diagnosis, retrain when the model is old, score, forecast, raise
 * alerts, deliver.
 *
 * Safe to run twice. Each step records in meta the data generation (bumped by
 * every ingest) and the model it last succeeded with; a step whose inputs are
 * unchanged is skipped. Alerts are keyed by as-of date and the outbox by
 * idempotency key, so those two steps may always run: a second pass queues and
 * sends nothing new. A crash leaves each step's own transaction either whole or
 * absent; the next run marks the crashed run "interrupted" and redoes what it
 * had not finished. One run at a time: an exclusive lock on "<store>.run.lock".
 * The environment variable REVINTEL_TEST_CRASH_AFTER=STEP makes the process
 * exit right after that step's work, for the crash tests.
 */
#include "conf.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

static const char *const step_names[RI_STEP__COUNT] = {
    "ingest", "diagnose", "train", "score", "forecast", "alerts", "deliver",
};

struct run_state {
    struct ri_ctx *ctx;
    struct ri_store *st;
    const struct ri_run_opts *o;
    const struct ri_config *c;
    struct ri_run_report *rep;
    ri_time now;
    int64_t generation;
    int64_t model_id;
};

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ri_err meta_get(struct run_state *rs, const char *key, char *out, size_t size)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(rs->ctx, rs->st, "SELECT value FROM meta WHERE key = ?", &s);
    out[0] = '\0';
    if (rc)
        return rc;
    ri_stmt_bind_text(s, 1, key, strlen(key));
    rc = ri_stmt_step(rs->ctx, s);
    if (rc == RI_OK) {
        const char *v = ri_stmt_text(s, 0, NULL);
        snprintf(out, size, "%s", v ? v : "");
    } else if (rc == RI_ERR_NOTFOUND) {
        rc = RI_OK;
    }
    ri_stmt_free(s);
    return rc;
}

static ri_err meta_set(struct run_state *rs, const char *key, const char *value)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(rs->ctx, rs->st,
                                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) "
                                "DO UPDATE SET value = excluded.value",
                                &s);
    if (rc)
        return rc;
    ri_stmt_bind_text(s, 1, key, strlen(key));
    ri_stmt_bind_text(s, 2, value, strlen(value));
    rc = ri_stmt_run(rs->ctx, s);
    ri_stmt_free(s);
    return rc;
}

/* The data generation and the active model: what the derived steps depend on.
 */
static void read_inputs(struct run_state *rs)
{
    int64_t v = 0;
    if (ri_store_query_i64(rs->ctx, rs->st,
                           "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM "
                           "meta WHERE key = "
                           "'data_generation'), 0)",
                           &v) == RI_OK)
        rs->generation = v;
    v = 0;
    if (ri_store_query_i64(rs->ctx, rs->st,
                           "SELECT coalesce((SELECT max(id) FROM models WHERE active = 1), 0)",
                           &v) == RI_OK)
        rs->model_id = v;
}

/* "gen/model" of the inputs a step depends on. */
static void inputs_tag(const struct run_state *rs, int step, char *out, size_t size)
{
    if (step == RI_STEP_SCORE || step == RI_STEP_FORECAST)
        snprintf(out, size, "%lld/%lld", (long long)rs->generation, (long long)rs->model_id);
    else
        snprintf(out, size, "%lld", (long long)rs->generation);
}

static int up_to_date(struct run_state *rs, int step)
{
    char key[64], have[64], want[64];
    if (rs->o->force)
        return 0;
    snprintf(key, sizeof(key), "run.%s", step_names[step]);
    if (meta_get(rs, key, have, sizeof(have)) != RI_OK || !have[0])
        return 0;
    inputs_tag(rs, step, want, sizeof(want));
    return strcmp(have, want) == 0;
}

static void mark_done(struct run_state *rs, int step)
{
    char key[64], tag[64];
    snprintf(key, sizeof(key), "run.%s", step_names[step]);
    inputs_tag(rs, step, tag, sizeof(tag));
    if (meta_set(rs, key, tag) != RI_OK)
        ri_log(RI_LOG_WARN, "run: could not record step %s: %s", step_names[step],
               ri_errmsg(rs->ctx));
}

static void step_record(struct run_state *rs, int step, ri_time started)
{
    const struct ri_run_step *sp = &rs->rep->steps[step];
    struct ri_stmt *s = NULL;
    if (ri_stmt_prepare(rs->ctx, rs->st,
                        "INSERT OR REPLACE INTO run_steps(run_id, step, started_at, "
                        "finished_at, "
                        "status, seconds, count, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &s) != RI_OK)
        return;
    ri_stmt_bind_i64(s, 1, rs->rep->run_id);
    ri_stmt_bind_text(s, 2, sp->name, strlen(sp->name));
    ri_stmt_bind_time(s, 3, started);
    ri_stmt_bind_time(s, 4, (ri_time)time(NULL));
    ri_stmt_bind_text(s, 5, sp->status, strlen(sp->status));
    ri_stmt_bind_f64(s, 6, sp->seconds);
    ri_stmt_bind_i64(s, 7, sp->count);
    ri_stmt_bind_text(s, 8, sp->detail, strlen(sp->detail));
    if (ri_stmt_run(rs->ctx, s) != RI_OK)
        ri_log(RI_LOG_WARN, "run: could not record step %s", sp->name);
    ri_stmt_free(s);
}

/* A drop-folder file's kind from its name; -1 if it is not a CRM export we
 * know. */
static int kind_of(const char *name)
{
    char low[256];
    size_t n = strlen(name), i;
    const char *ext;
    if (n >= sizeof(low))
        return -1;
    for (i = 0; i <= n; i++)
        low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    ext = strrchr(low, '.');
    if (!ext || (strcmp(ext, ".csv") != 0 && strcmp(ext, ".xlsx") != 0))
        return -1;
    if (strstr(low, "history"))
        return RI_KIND_HISTORY;
    if (strstr(low, "opportunit") || strstr(low, "deals") || strstr(low, "pipeline"))
        return RI_KIND_OPPORTUNITIES;
    if (strstr(low, "account"))
        return RI_KIND_ACCOUNTS;
    if (strstr(low, "ticket"))
        return RI_KIND_TICKETS;
    if (strstr(low, "rep") || strstr(low, "team"))
        return RI_KIND_REPS;
    return -1;
}

struct drop_file {
    char name[256];
    int kind;
    int64_t size, mtime;
};

static int drop_cmp(const void *a, const void *b)
{
    const struct drop_file *x = a, *y = b;
    /* opportunities before their history (a history row needs its deal), then by
     * name */
    static const int order[RI_KIND__COUNT] = {1, 2, 0, 3, 0};
    if (order[x->kind] != order[y->kind])
        return order[x->kind] - order[y->kind];
    return strcmp(x->name, y->name);
}

static ri_err step_ingest(struct run_state *rs, struct ri_run_step *sp)
{
    const struct ri_config *c = rs->c;
    DIR *d;
    struct dirent *e;
    struct drop_file *files = NULL;
    size_t n = 0, cap = 0, done = 0, dup = 0, failed = 0, skipped = 0;
    ri_err rc = RI_OK, first = RI_OK;
    char firstmsg[400] = "";

    if (!c || !c->drop_dir[0]) {
        snprintf(sp->status, sizeof(sp->status), "skipped");
        snprintf(sp->detail, sizeof(sp->detail), "no drop folder configured ([sources] drop_dir)");
        return RI_OK;
    }
    d = opendir(c->drop_dir);
    if (!d)
        return ri_fail(rs->ctx, RI_ERR_IO, "drop folder '%s': %s", c->drop_dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char path[4400];
        struct stat sb;
        int kind = kind_of(e->d_name);
        if (e->d_name[0] == '.')
            continue;
        if (kind < 0) {
            skipped++;
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", c->drop_dir, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            files = ri_realloc(files, cap * sizeof(*files));
        }
        snprintf(files[n].name, sizeof(files[n].name), "%s", e->d_name);
        files[n].kind = kind;
        files[n].size = (int64_t)sb.st_size;
        files[n].mtime = (int64_t)sb.st_mtime;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(files, n, sizeof(*files), drop_cmp);
    for (size_t i = 0; i < n; i++) {
        struct drop_file *f = &files[i];
        struct ri_stmt *s = NULL;
        struct ri_ingest_opts io = RI_INGEST_OPTS_INIT;
        struct ri_ingest_report ir;
        char path[4400];
        int64_t seen = 0;
        rc = ri_stmt_prepare(rs->ctx, rs->st,
                             "SELECT count(*) FROM drop_files WHERE name = ? AND size = ? AND "
                             "mtime = ?",
                             &s);
        if (!rc) {
            ri_stmt_bind_text(s, 1, f->name, strlen(f->name));
            ri_stmt_bind_i64(s, 2, f->size);
            ri_stmt_bind_i64(s, 3, f->mtime);
            rc = ri_stmt_step(rs->ctx, s);
            if (rc == RI_OK)
                seen = ri_stmt_i64(s, 0);
        }
        ri_stmt_free(s);
        if (rc && rc != RI_ERR_NOTFOUND)
            goto out;
        rc = RI_OK;
        if (seen)
            continue;
        snprintf(path, sizeof(path), "%s/%s", c->drop_dir, f->name);
        io.kind = (enum ri_ingest_kind)f->kind;
        io.path = path;
        if (f->kind == RI_KIND_OPPORTUNITIES && c->mapping[0])
            io.map = c->mapping;
        else if (f->kind == RI_KIND_HISTORY && c->history_map[0])
            io.map = c->history_map;
        rc = ri_ingest(rs->ctx, &io, &ir);
        if (rc) {
            /* the file's ingest rolled back; the other files still go in, and the
             * file is tried again next run */
            failed++;
            if (!first) {
                first = rc;
                snprintf(firstmsg, sizeof(firstmsg), "%s", ri_errmsg(rs->ctx));
            }
            rc = RI_OK;
            continue;
        }
        if (ir.duplicate_of > 0)
            dup++;
        else
            done++;
        rc = ri_stmt_prepare(rs->ctx, rs->st,
                             "INSERT OR REPLACE INTO drop_files(name, size, mtime, snapshot_id, "
                             "seen_at) VALUES (?, ?, ?, ?, ?)",
                             &s);
        if (!rc) {
            ri_stmt_bind_text(s, 1, f->name, strlen(f->name));
            ri_stmt_bind_i64(s, 2, f->size);
            ri_stmt_bind_i64(s, 3, f->mtime);
            ri_stmt_bind_i64(s, 4, ir.duplicate_of > 0 ? ir.duplicate_of : ir.snapshot_id);
            ri_stmt_bind_time(s, 5, rs->now);
            rc = ri_stmt_run(rs->ctx, s);
        }
        ri_stmt_free(s);
        if (rc)
            goto out;
    }
    sp->count = (int64_t)done;
    snprintf(sp->detail, sizeof(sp->detail),
             "%zu new file(s) ingested, %zu already known by content, %zu "
             "failed, %zu other "
             "file(s) ignored",
             done, dup, failed, skipped);
    if (!done)
        snprintf(sp->status, sizeof(sp->status), "%s", failed ? "failed" : "skipped");
    if (first) {
        size_t l = strlen(sp->detail);
        snprintf(sp->detail + l, sizeof(sp->detail) - l, "; first error: %s", firstmsg);
        rc = ri_fail(rs->ctx, first, "%s", firstmsg);
    }
out:
    ri_free(files);
    return rc;
}

static ri_err step_diagnose(struct run_state *rs, struct ri_run_step *sp, char **headline)
{
    struct ri_diagnose_opts o = RI_DIAGNOSE_OPTS_INIT;
    struct ri_diagnosis *d = NULL;
    ri_err rc;
    o.period = rs->c && rs->c->monthly ? RI_PERIOD_MONTH : RI_PERIOD_QUARTER;
    rc = ri_diagnose(rs->ctx, &o, &d);
    if (!rc)
        rc = ri_diagnosis_save(rs->ctx, d);
    if (!rc) {
        const char *hl = ri_diagnosis_headline(d);
        snprintf(sp->detail, sizeof(sp->detail), "%s", hl ? hl : "");
        *headline = ri_strdup(hl ? hl : "");
        sp->count = ri_diagnosis_findings(d);
    }
    ri_diagnosis_free(d);
    return rc;
}

/* Retrains when there is no active model or it is older than retrain_days. */
static ri_err step_train(struct run_state *rs, struct ri_run_step *sp)
{
    struct ri_model_opts o = RI_MODEL_OPTS_INIT;
    struct ri_model_report *r = NULL;
    int64_t created = 0;
    int days = rs->c ? rs->c->retrain_days : 7;
    ri_err rc;
    if (rs->c) {
        o.trees = rs->c->trees;
        o.max_rows = (size_t)rs->c->max_rows;
    }
    if (rs->model_id) {
        rc = ri_store_query_i64(rs->ctx, rs->st,
                                "SELECT created_at FROM models WHERE active = 1 ORDER BY id DESC "
                                "LIMIT 1",
                                &created);
        if (rc)
            return rc;
        if (!rs->o->force && (days == 0 || rs->now - created < (int64_t)days * RI_DAY)) {
            snprintf(sp->status, sizeof(sp->status), "skipped");
            snprintf(sp->detail, sizeof(sp->detail),
                     "model %lld is %lld day(s) old (retrain after %d)", (long long)rs->model_id,
                     (long long)((rs->now - created) / RI_DAY), days);
            return RI_OK;
        }
    }
    rc = ri_train(rs->ctx, &o, &r);
    if (!rc) {
        sp->count = r->model_id;
        snprintf(sp->detail, sizeof(sp->detail), "model %lld, AUC %.3f%s", (long long)r->model_id,
                 r->auc, r->signal ? "" : " (no reliable signal)");
        rs->model_id = r->model_id;
    }
    ri_model_report_free(r);
    return rc;
}

static ri_err step_score(struct run_state *rs, struct ri_run_step *sp)
{
    struct ri_model_opts o = RI_MODEL_OPTS_INIT;
    struct ri_model_report *r = NULL;
    ri_err rc = ri_score(rs->ctx, &o, NULL, &r);
    if (!rc) {
        sp->count = (int64_t)r->n_scored;
        snprintf(sp->detail, sizeof(sp->detail), "%zu open deals scored with model %lld",
                 r->n_scored, (long long)r->model_id);
    }
    ri_model_report_free(r);
    return rc;
}

static ri_err step_forecast(struct run_state *rs, struct ri_run_step *sp, char **line)
{
    struct ri_forecast_opts o = RI_FORECAST_OPTS_INIT;
    struct ri_forecast_report *r = NULL;
    ri_err rc;
    if (rs->c) {
        o.monthly = rs->c->monthly;
        o.sims = (size_t)rs->c->sims;
    }
    rc = ri_forecast(rs->ctx, &o, &r);
    if (!rc) {
        const struct ri_forecast_period *p = &r->period[0], *n = &r->period[1];
        char buf[400];
        snprintf(buf, sizeof(buf),
                 "forecast %s: %.0f expected (P10 %.0f - P90 %.0f), reps %.0f; %s: %.0f "
                 "(P10 %.0f - P90 %.0f), reps %.0f",
                 p->label, p->expected, p->p10, p->p90, p->rep, n->label, n->expected, n->p10,
                 n->p90, n->rep);
        snprintf(sp->detail, sizeof(sp->detail), "%s", buf);
        *line = ri_strdup(buf);
        sp->count = 2;
    }
    ri_forecast_report_free(r);
    return rc;
}

static ri_err step_alerts(struct run_state *rs, struct ri_run_step *sp)
{
    struct ri_alerts_opts o;
    struct ri_alerts_report *r = NULL;
    ri_err rc;
    memset(&o, 0, sizeof(o));
    o.config = rs->c;
    o.as_of = RI_TIME_NONE;
    o.now = rs->now;
    o.run_id = rs->rep->run_id;
    rc = ri_alerts_run(rs->ctx, &o, &r);
    if (!rc) {
        sp->count = (int64_t)r->digests;
        snprintf(sp->detail, sizeof(sp->detail),
                 "%zu raised: %zu in today's digests (%zu new digest(s) queued), %zu in "
                 "cooldown, %zu snoozed%s",
                 r->raised, r->queued, r->digests, r->cooldown, r->snoozed,
                 r->rule_errors ? "; some custom rules failed" : "");
        if (r->rule_errors)
            snprintf(sp->status, sizeof(sp->status), "failed");
    }
    ri_alerts_report_free(r);
    return rc;
}

static ri_err step_deliver(struct run_state *rs, struct ri_run_step *sp)
{
    struct ri_deliver_report *r = NULL;
    ri_err rc;
    if (rs->o->no_deliver) {
        snprintf(sp->status, sizeof(sp->status), "skipped");
        snprintf(sp->detail, sizeof(sp->detail), "--no-deliver");
        return RI_OK;
    }
    rc = ri_outbox_deliver(rs->ctx, rs->c, rs->now, &r);
    if (!rc) {
        sp->count = (int64_t)r->sent;
        snprintf(sp->detail, sizeof(sp->detail),
                 "%zu sent, %zu to retry, %zu dead-lettered, %zu pending", r->sent, r->retried,
                 r->dead, r->pending);
    }
    ri_deliver_report_free(r);
    return rc;
}

void ri_run_report_free(struct ri_run_report *r)
{
    if (!r)
        return;
    ri_free(r->briefing);
    ri_free(r->json);
    ri_free(r);
}

static ri_err take_lock(struct ri_ctx *ctx, struct ri_store *st, int *fd_out)
{
    char path[4200];
    int fd;
    *fd_out = -1;
    snprintf(path, sizeof(path), "%s.run.lock", ri_store_path(st));
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return ri_fail(ctx, RI_ERR_IO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return ri_fail(ctx, RI_ERR_STORE, "another `revintel run` is working on this store");
    }
    *fd_out = fd;
    return RI_OK;
}

ri_err ri_run(struct ri_ctx *ctx, const struct ri_run_opts *o, struct ri_run_report **out)
{
    struct run_state rs;
    struct ri_run_report *rep = ri_calloc(1, sizeof(*rep));
    struct ri_buf b = RI_BUF_INIT, j = RI_BUF_INIT;
    char *headline = NULL, *fline = NULL;
    int lock = -1;
    ri_err rc;

    *out = NULL;
    memset(&rs, 0, sizeof(rs));
    rs.ctx = ctx;
    rs.st = ri_ctx_store(ctx);
    rs.o = o;
    rs.c = o->config;
    rs.rep = rep;
    rs.now = o->now != RI_TIME_NONE ? o->now : (ri_time)time(NULL);
    if (!rs.st) {
        rc = ri_fail(ctx, RI_ERR_STORE, "no store open");
        goto out;
    }
    rc = take_lock(ctx, rs.st, &lock);
    if (rc)
        goto out;
    /* a run still marked running was cut short: we hold the lock, so it is not
     * alive */
    rc = ri_store_exec(ctx, rs.st,
                       "UPDATE runs SET status = 'interrupted' WHERE command = 'run' AND "
                       "status = 'running'");
    if (!rc) {
        struct ri_stmt *s = NULL;
        rc = ri_stmt_prepare(ctx, rs.st,
                             "INSERT INTO runs(command, started_at, status) VALUES ('run', ?, "
                             "'running')",
                             &s);
        if (!rc) {
            ri_stmt_bind_time(s, 1, (ri_time)time(NULL));
            rc = ri_stmt_run(ctx, s);
            rep->run_id = ri_store_last_rowid(rs.st);
        }
        ri_stmt_free(s);
    }
    if (rc)
        goto out;
    for (int k = 0; k < RI_STEP__COUNT; k++) {
        snprintf(rep->steps[k].name, sizeof(rep->steps[k].name), "%s", step_names[k]);
        snprintf(rep->steps[k].status, sizeof(rep->steps[k].status), "not run");
    }
    for (int k = 0; k < RI_STEP__COUNT; k++) {
        struct ri_run_step *sp = &rep->steps[k];
        ri_time started = (ri_time)time(NULL);
        double t0 = mono_seconds();
        ri_err src = RI_OK;
        read_inputs(&rs);
        snprintf(sp->status, sizeof(sp->status), "ok");
        sp->detail[0] = '\0';
        if (o->on_step)
            o->on_step(sp, k, 0, o->ud);
        if ((k == RI_STEP_DIAGNOSE || k == RI_STEP_SCORE || k == RI_STEP_FORECAST) &&
            up_to_date(&rs, k)) {
            snprintf(sp->status, sizeof(sp->status), "skipped");
            snprintf(sp->detail, sizeof(sp->detail), "up to date (no new data%s)",
                     k == RI_STEP_DIAGNOSE ? "" : " and the same model");
        } else {
            switch (k) {
            case RI_STEP_INGEST:
                src = step_ingest(&rs, sp);
                break;
            case RI_STEP_DIAGNOSE:
                src = step_diagnose(&rs, sp, &headline);
                break;
            case RI_STEP_TRAIN:
                src = step_train(&rs, sp);
                break;
            case RI_STEP_SCORE:
                src = step_score(&rs, sp);
                break;
            case RI_STEP_FORECAST:
                src = step_forecast(&rs, sp, &fline);
                break;
            case RI_STEP_ALERTS:
                src = step_alerts(&rs, sp);
                break;
            default:
                src = step_deliver(&rs, sp);
                break;
            }
            /* test hook: die right after a step's work, before the run records it, as
             * a crash or a kill would (tests/run_jobs.sh) */
            {
                const char *crash = getenv("REVINTEL_TEST_CRASH_AFTER");
                if (crash && !strcmp(crash, step_names[k]))
                    _exit(70);
            }
            if (src) {
                snprintf(sp->status, sizeof(sp->status), "failed");
                if (!sp->detail[0])
                    snprintf(sp->detail, sizeof(sp->detail), "%s", ri_errmsg(ctx));
            } else if (!strcmp(sp->status, "ok") &&
                       (k == RI_STEP_DIAGNOSE || k == RI_STEP_SCORE || k == RI_STEP_FORECAST)) {
                read_inputs(&rs);
                mark_done(&rs, k);
            }
        }
        if (!strcmp(sp->status, "failed"))
            rep->failed++;
        sp->seconds = mono_seconds() - t0;
        step_record(&rs, k, started);
        if (o->on_step)
            o->on_step(sp, k, 1, o->ud);
    }

    /* the briefing and the JSON */
    ri_buf_init(&b, 1 << 20);
    ri_buf_init(&j, 1 << 20);
    if (headline && *headline)
        ri_buf_addf(&b, "%s\n", headline);
    else {
        /* the diagnosis was up to date: its headline from the store */
        struct ri_stmt *s = NULL;
        if (ri_stmt_prepare(ctx, rs.st, "SELECT headline FROM diag_runs ORDER BY id DESC LIMIT 1",
                            &s) == RI_OK &&
            ri_stmt_step(ctx, s) == RI_OK) {
            const char *v = ri_stmt_text(s, 0, NULL);
            if (v && *v)
                ri_buf_addf(&b, "%s\n", v);
        }
        ri_stmt_free(s);
    }
    if (fline) {
        ri_buf_addf(&b, "%s\n", fline);
    } else {
        /* the forecast was up to date: the current period's from the store */
        struct ri_stmt *s = NULL;
        if (ri_stmt_prepare(ctx, rs.st,
                            "SELECT period, expected, p10, p90, rep FROM forecast_runs WHERE "
                            "as_of = (SELECT max(as_of) FROM forecast_runs) ORDER BY id",
                            &s) == RI_OK) {
            int k = 0;
            for (; k < 2 && ri_stmt_step(ctx, s) == RI_OK; k++) {
                const char *per = ri_stmt_text(s, 0, NULL);
                ri_buf_addf(&b,
                            k ? "; %s: %.0f (P10 %.0f - P90 %.0f), reps %.0f"
                              : "forecast %s: %.0f expected (P10 %.0f - P90 %.0f), reps %.0f",
                            per ? per : "", ri_stmt_f64(s, 1), ri_stmt_f64(s, 2), ri_stmt_f64(s, 3),
                            ri_stmt_f64(s, 4));
            }
            if (k)
                ri_buf_addc(&b, '\n');
        }
        ri_stmt_free(s);
    }
    ri_buf_addf(&b, "alerts: %s\n", rep->steps[RI_STEP_ALERTS].detail);
    ri_buf_addf(&b, "delivery: %s\n", rep->steps[RI_STEP_DELIVER].detail);
    ri_buf_addf(&j, "{\"run_id\":%lld,\"failed\":%d,\"steps\":[", (long long)rep->run_id,
                rep->failed);
    for (int k = 0; k < RI_STEP__COUNT; k++) {
        const struct ri_run_step *sp = &rep->steps[k];
        ri_buf_addf(&j,
                    "%s{\"step\":\"%s\",\"status\":\"%s\",\"seconds\":%.3f,\"count\":%lld,"
                    "\"detail\":",
                    k ? "," : "", sp->name, sp->status, sp->seconds, (long long)sp->count);
        ri_buf_add_json_str(&j, sp->detail, strlen(sp->detail));
        ri_buf_addc(&j, '}');
    }
    ri_buf_adds(&j, "]}\n");
    rep->briefing = ri_buf_detach(&b, NULL);
    rep->json = ri_buf_detach(&j, NULL);
    {
        struct ri_stmt *s = NULL;
        const char *status = rep->failed ? "failed" : "ok";
        if (ri_stmt_prepare(ctx, rs.st,
                            "UPDATE runs SET finished_at = ?, status = ?, detail = "
                            "? WHERE id = ?",
                            &s) == RI_OK) {
            ri_stmt_bind_time(s, 1, (ri_time)time(NULL));
            ri_stmt_bind_text(s, 2, status, strlen(status));
            ri_stmt_bind_text(s, 3, rep->json, strlen(rep->json));
            ri_stmt_bind_i64(s, 4, rep->run_id);
            if (ri_stmt_run(ctx, s) != RI_OK)
                ri_log(RI_LOG_WARN, "run: could not record the end of run %lld",
                       (long long)rep->run_id);
        }
        ri_stmt_free(s);
    }
    *out = rep;
    rep = NULL;
    rc = RI_OK;
out:
    if (lock >= 0)
        close(lock);
    ri_free(headline);
    ri_free(fline);
    ri_buf_release(&b);
    ri_buf_release(&j);
    ri_run_report_free(rep);
    return rc;
}
