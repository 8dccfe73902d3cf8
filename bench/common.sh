# Steps the benchmark scripts share; sourced (. bench/common.sh) after BIN is set.

# bench_sim OUT DEALS SEED: the simulated pipeline of DEALS deals and SEED in OUT, made
# once and kept (OUT/.done marks a complete one).
bench_sim() {
    if [ ! -f "$1/.done" ]; then
        rm -rf "$1"
        mkdir -p bench/out
        "$BIN" --quiet simulate "$1" --deals "$2" --seed "$3" >/dev/null
        touch "$1/.done"
    fi
}

# bench_store DB OUT: a new store DB holding OUT's opportunities and stage history.
bench_store() {
    rm -f "$1" "$1-wal" "$1-shm"
    "$BIN" --quiet --db "$1" init >/dev/null
    "$BIN" --quiet --db "$1" ingest opportunities "$2/opportunities.csv" >/dev/null
    "$BIN" --quiet --db "$1" ingest history "$2/stage_history.csv" >/dev/null
}
