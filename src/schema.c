/*
 * schema.c - the store's tables, as migrations applied in order.
 *
 * PRAGMA user_version holds the version of a store. Opening a store applies every
 * migration after its version in one transaction (store_sqlite.c); a store with a
 * version above ri_schema_version_current() was written by a newer revintel and is
 * refused. Migrations are append only: a released one is never edited, a change is a
 * new one. Times are INTEGER seconds since 1970-01-01 UTC (the v_* views show them as
 * dates for people reading the store with sqlite3).
 *
 * deals holds the latest known state of each deal: the last snapshot that changed it
 * (changed_snapshot) or a newer history row (then as_of says when; NULL means the as-of
 * date of changed_snapshot); row_hash fingerprints the mapped fields so that an
 * unchanged deal in the next export costs no write.
 *
 * deal_events holds what changed and when, event-sourced: each row says "at this time
 * these fields took these values" (NULL: not part of this event); the as-of engine
 * (history.c) replays them. It is clustered on (deal_id, at, seq), seq breaking ties in
 * the order of ingestion, and its repeated texts (kind, stage, owner, forecast category)
 * are ids into labels: a history of five million rows then takes half the space and
 * half the time to write, and v_deal_events shows the texts.
 */
#include "ri_internal.h"
#include "schema.h"

static const char *const migrations[] = {
    /* 0 -> 1: the base tables */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;\n"
    "CREATE TABLE snapshots(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  kind TEXT NOT NULL,\n"
    "  file TEXT NOT NULL,\n"
    "  format TEXT, preset TEXT,\n"
    "  as_of INTEGER,\n"
    "  ingested_at INTEGER NOT NULL,\n"
    "  content_hash TEXT,\n"
    "  rows_read INTEGER NOT NULL DEFAULT 0,\n"
    "  rows_accepted INTEGER NOT NULL DEFAULT 0,\n"
    "  rows_quarantined INTEGER NOT NULL DEFAULT 0,\n"
    "  deals_new INTEGER NOT NULL DEFAULT 0, deals_changed INTEGER NOT NULL DEFAULT 0,\n"
    "  deals_deleted INTEGER NOT NULL DEFAULT 0, events_written INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE deals(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  crm_id TEXT NOT NULL UNIQUE,\n"
    "  name TEXT, account TEXT, owner TEXT, region TEXT, industry TEXT, product TEXT,\n"
    "  lead_source TEXT, type TEXT,\n"
    "  created_at INTEGER,\n"
    "  stage TEXT, status TEXT NOT NULL CHECK (status IN ('open','won','lost')),\n"
    "  amount REAL, close_date INTEGER, probability REAL, forecast_category TEXT,\n"
    "  loss_reason TEXT,\n"
    "  attrs TEXT,\n"
    "  row_hash INTEGER,\n"
    "  as_of INTEGER,\n"
    "  first_snapshot INTEGER NOT NULL REFERENCES snapshots(id),\n"
    "  changed_snapshot INTEGER NOT NULL REFERENCES snapshots(id),\n"
    "  deleted_at INTEGER);\n"
    "CREATE TABLE labels(id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);\n"
    "CREATE TABLE deal_events(\n"
    "  deal_id INTEGER NOT NULL REFERENCES deals(id),\n"
    "  at INTEGER NOT NULL,\n"
    "  seq INTEGER NOT NULL,\n"
    "  kind INTEGER NOT NULL REFERENCES labels(id),\n"
    "  stage INTEGER REFERENCES labels(id),\n"
    "  amount REAL, close_date INTEGER,\n"
    "  owner INTEGER REFERENCES labels(id),\n"
    "  probability REAL,\n"
    "  forecast_category INTEGER REFERENCES labels(id),\n"
    "  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),\n"
    "  PRIMARY KEY (deal_id, at, seq)) WITHOUT ROWID;\n"
    "CREATE TABLE accounts(\n"
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, industry TEXT, region TEXT,\n"
    "  employees INTEGER, annual_revenue REAL, created_at INTEGER, attrs TEXT,\n"
    "  snapshot_id INTEGER REFERENCES snapshots(id));\n"
    "CREATE TABLE tickets(\n"
    "  id INTEGER PRIMARY KEY, crm_id TEXT NOT NULL UNIQUE, account TEXT,\n"
    "  opened_at INTEGER, resolved_at INTEGER, priority TEXT, team TEXT, attrs TEXT,\n"
    "  snapshot_id INTEGER REFERENCES snapshots(id));\n"
    "CREATE TABLE quarantine(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),\n"
    "  file TEXT NOT NULL, line INTEGER NOT NULL, col INTEGER, column_name TEXT,\n"
    "  reason TEXT NOT NULL, detail TEXT, raw TEXT);\n"
    "CREATE TABLE runs(\n"
    "  id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at INTEGER NOT NULL,\n"
    "  finished_at INTEGER, status TEXT, detail TEXT);\n",

    /* 1 -> 2: reps, the stage configuration, and readable views */
    "CREATE TABLE reps(\n"
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, manager TEXT, region TEXT);\n"
    "CREATE TABLE stages(\n"
    "  name TEXT PRIMARY KEY, ord INTEGER NOT NULL,\n"
    "  role TEXT NOT NULL CHECK (role IN ('open','won','lost')),\n"
    "  late INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;\n"
    "CREATE INDEX quarantine_by_snapshot ON quarantine(snapshot_id, reason);\n"
    "CREATE VIEW v_deals AS SELECT id, crm_id, name, account, owner, region, industry,\n"
    "  product, lead_source, type, date(created_at, 'unixepoch') AS created_date, stage,\n"
    "  status, amount, date(close_date, 'unixepoch') AS close_date, probability,\n"
    "  forecast_category, loss_reason, attrs, deleted_at IS NOT NULL AS deleted FROM deals;\n"
    "CREATE VIEW v_deal_events AS SELECT d.crm_id, datetime(e.at, 'unixepoch') AS at,\n"
    "  e.seq, k.text AS kind, s.text AS stage, e.amount,\n"
    "  date(e.close_date, 'unixepoch') AS close_date, o.text AS owner, e.probability,\n"
    "  f.text AS forecast_category, e.snapshot_id\n"
    "  FROM deal_events e JOIN deals d ON d.id = e.deal_id\n"
    "  JOIN labels k ON k.id = e.kind LEFT JOIN labels s ON s.id = e.stage\n"
    "  LEFT JOIN labels o ON o.id = e.owner LEFT JOIN labels f ON f.id = e.forecast_category;\n",

    /* 2 -> 3: the diagnosis, for the dashboard and alert rules (diagnose.c); the last
     * 30 runs are kept */
    "CREATE TABLE diag_runs(\n"
    "  id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, as_of INTEGER, period TEXT,\n"
    "  from_date INTEGER, to_date INTEGER, filter TEXT, closed INTEGER, headline TEXT,\n"
    "  volume_quality TEXT, p0 TEXT, p1 TEXT);\n"
    "CREATE TABLE diag_periods(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), period TEXT NOT NULL,\n"
    "  start INTEGER, end INTEGER, complete INTEGER, won INTEGER, lost INTEGER,\n"
    "  win_rate REAL, win_rate_lo REAL, win_rate_hi REAL, p_change REAL,\n"
    "  acv_mean REAL, acv_median REAL, cycle_mean REAL, cycle_median REAL, cycle_p90 REAL,\n"
    "  quality REAL, quality_lo REAL, quality_hi REAL, efficiency REAL,\n"
    "  created INTEGER, created_amount REAL, won_amount REAL);\n"
    "CREATE TABLE diag_segments(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), scope TEXT NOT NULL,\n"
    "  dim TEXT NOT NULL, value TEXT NOT NULL, won INTEGER, lost INTEGER,\n"
    "  win_rate REAL, win_rate_lo REAL, win_rate_hi REAL, acv_mean REAL, acv_median REAL,\n"
    "  cycle_median REAL, quality REAL, efficiency REAL, small INTEGER);\n"
    "CREATE TABLE diag_decomposition(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), dim TEXT NOT NULL,\n"
    "  segment TEXT NOT NULL, rank INTEGER, n0 INTEGER, w0 INTEGER, n1 INTEGER, w1 INTEGER,\n"
    "  r0 REAL, r1 REAL, mix REAL, rate REAL, interaction REAL, total REAL, p REAL, q REAL,\n"
    "  small INTEGER, significant INTEGER);\n"
    "CREATE TABLE diag_funnel(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), stage TEXT NOT NULL, ord INTEGER,\n"
    "  reached INTEGER, advanced INTEGER, conversion REAL, won INTEGER, win_rate REAL,\n"
    "  exits INTEGER, lost_exits INTEGER, loss_rate REAL, lost_share REAL,\n"
    "  dwell_won_median REAL, dwell_won_p90 REAL, dwell_lost_median REAL,\n"
    "  dwell_lost_p90 REAL);\n"
    "CREATE TABLE diag_zombies(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), crm_id TEXT NOT NULL, stage TEXT,\n"
    "  amount REAL, days_overdue REAL, days_in_stage REAL, stage_p90 REAL,\n"
    "  overdue INTEGER, stalled INTEGER);\n"
    "CREATE TABLE diag_cycle(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), scope TEXT NOT NULL, key TEXT,\n"
    "  n INTEGER, closed INTEGER, median REAL, median_lo REAL, median_hi REAL, p90 REAL,\n"
    "  p90_lo REAL, p90_hi REAL, closed_median REAL);\n"
    "CREATE TABLE diag_reps(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), rep TEXT NOT NULL, won INTEGER,\n"
    "  lost INTEGER, win_rate REAL, win_rate_lo REAL, win_rate_hi REAL, expected REAL,\n"
    "  z REAL, p REAL, q REAL, flagged INTEGER, acv_mean REAL, cycle_median REAL);\n"
    "CREATE TABLE diag_metrics(\n"
    "  run_id INTEGER NOT NULL REFERENCES diag_runs(id), name TEXT NOT NULL, value REAL,\n"
    "  text TEXT);\n",

    /* 3 -> 4: columnar caches of what diagnose and the models load (keyed by the data
     * generation, meta 'data_generation', bumped by every ingest); the model registry;
     * the scores of open deals, one run per as-of date, kept so that a change since the
     * last run shows */
    "CREATE TABLE col_cache(name TEXT PRIMARY KEY, generation INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL);\n"
    "CREATE TABLE models(\n"
    "  id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, kind TEXT NOT NULL,\n"
    "  active INTEGER NOT NULL DEFAULT 0, protocol TEXT, train_from INTEGER,\n"
    "  train_to INTEGER, cutoff INTEGER, seed INTEGER, rows INTEGER, deals INTEGER,\n"
    "  features TEXT NOT NULL, metrics TEXT, calibrator TEXT, stage_model TEXT,\n"
    "  baseline TEXT, encoding TEXT, booster BLOB);\n"
    "CREATE TABLE score_runs(\n"
    "  id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, as_of INTEGER NOT NULL,\n"
    "  model_id INTEGER REFERENCES models(id), deals INTEGER, expected_won REAL,\n"
    "  signal INTEGER);\n"
    "CREATE TABLE scores(\n"
    "  run_id INTEGER NOT NULL REFERENCES score_runs(id), deal_id INTEGER NOT NULL,\n"
    "  p_win REAL, tier TEXT, p_stage REAL, p_rep REAL, margin REAL, base REAL,\n"
    "  reasons TEXT, PRIMARY KEY (run_id, deal_id)) WITHOUT ROWID;\n"
    "CREATE VIEW v_scores AS SELECT r.as_of AS as_of_t, date(r.as_of, 'unixepoch') AS as_of,\n"
    "  d.crm_id, d.name, d.owner, d.stage, d.amount, s.p_win, s.tier, s.p_stage, s.p_rep,\n"
    "  s.reasons, s.run_id FROM scores s JOIN score_runs r ON r.id = s.run_id\n"
    "  JOIN deals d ON d.id = s.deal_id;\n",

    /* 4 -> 5: forecasts (one run per as-of date and period, with each open deal's
     * expected contribution) and backtests */
    "CREATE TABLE forecast_runs(\n"
    "  id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, as_of INTEGER NOT NULL,\n"
    "  period TEXT NOT NULL, start INTEGER, end INTEGER, sims INTEGER, seed INTEGER,\n"
    "  won_so_far REAL, open_expected REAL, new_expected REAL, expected REAL, p10 REAL,\n"
    "  p50 REAL, p90 REAL, rep REAL);\n"
    "CREATE TABLE forecast_deals(\n"
    "  run_id INTEGER NOT NULL REFERENCES forecast_runs(id), deal_id INTEGER NOT NULL,\n"
    "  q REAL, amount REAL, expected REAL, PRIMARY KEY (run_id, deal_id)) WITHOUT ROWID;\n"
    "CREATE TABLE backtest_points(\n"
    "  created_at INTEGER NOT NULL, as_of INTEGER NOT NULL, period TEXT NOT NULL,\n"
    "  week INTEGER, forecast REAL, p10 REAL, p90 REAL, actual REAL, rep REAL,\n"
    "  stage_only REAL);\n",

    /* 5 -> 6: a sample of each model's training rows, for drift */
    "ALTER TABLE models ADD COLUMN sample BLOB;\n",

    /* 6 -> 7: the daily job. Alerts raised per as-of date (a stable key per finding and
     * recipient), their state across days (cooldown, snooze), the durable outbox every
     * message goes through (one row per message and channel, unique idempotency key), the
     * steps of each run, the files of the drop folder already ingested, and the
     * backtests' summary rows */
    "CREATE TABLE alerts(\n"
    "  id INTEGER PRIMARY KEY, run_id INTEGER, as_of INTEGER NOT NULL, key TEXT NOT NULL,\n"
    "  rule TEXT NOT NULL,\n"
    "  severity TEXT NOT NULL CHECK (severity IN ('info','warning','critical')),\n"
    "  recipient TEXT NOT NULL, role TEXT, crm_id TEXT, subject TEXT NOT NULL,\n"
    "  message TEXT NOT NULL, action TEXT, value REAL,\n"
    "  status TEXT NOT NULL DEFAULT 'new'\n"
    "    CHECK (status IN ('new','queued','cooldown','snoozed','dry_run')),\n"
    "  UNIQUE (as_of, key, recipient));\n"
    "CREATE TABLE alert_state(\n"
    "  key TEXT NOT NULL, recipient TEXT NOT NULL, first_at INTEGER, last_at INTEGER,\n"
    "  last_sent_at INTEGER, times INTEGER NOT NULL DEFAULT 0, snoozed_until INTEGER,\n"
    "  snooze_reason TEXT, PRIMARY KEY (key, recipient)) WITHOUT ROWID;\n"
    "CREATE TABLE outbox(\n"
    "  id INTEGER PRIMARY KEY, idem_key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL, recipient TEXT, subject TEXT, content_type TEXT,\n"
    "  payload BLOB NOT NULL, created_at INTEGER NOT NULL,\n"
    "  state TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (state IN ('pending','sent','dead')),\n"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT,\n"
    "  sent_at INTEGER);\n"
    "CREATE INDEX outbox_by_state ON outbox(state, next_at);\n"
    "CREATE TABLE run_steps(\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id), step TEXT NOT NULL,\n"
    "  started_at INTEGER NOT NULL, finished_at INTEGER, status TEXT, seconds REAL,\n"
    "  count INTEGER, detail TEXT, PRIMARY KEY (run_id, step)) WITHOUT ROWID;\n"
    "ALTER TABLE runs ADD COLUMN as_of INTEGER;\n"
    "CREATE TABLE drop_files(\n"
    "  name TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,\n"
    "  content_hash TEXT, snapshot_id INTEGER, seen_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (name, size, mtime)) WITHOUT ROWID;\n"
    "CREATE TABLE backtest_runs(\n"
    "  id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, period TEXT NOT NULL,\n"
    "  from_t INTEGER, to_t INTEGER, n INTEGER, wape REAL, mape REAL, bias REAL,\n"
    "  within_band REAL, coverage REAL, rep_wape REAL, rep_bias REAL, stage_wape REAL,\n"
    "  stage_bias REAL);\n"
    "ALTER TABLE backtest_points ADD COLUMN run_id INTEGER;\n",

    /* 7 -> 8: the trees a model's calibrator was fitted on, when the booster was refitted
     * on the last days after calibrating (the forecast's revenue is computed with them) */
    "ALTER TABLE models ADD COLUMN booster_cal BLOB;\n",
};

int ri_schema_version_current(void)
{
    return (int)RI_ARRAY_SIZE(migrations);
}

const char *ri_schema_migration(int from)
{
    if (from >= 0 && from < (int)RI_ARRAY_SIZE(migrations))
        return migrations[from];
    RI_BUG("no migration from schema version %d", from);
}
