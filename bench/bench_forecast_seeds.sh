#!/bin/sh
# The forecast judge over several simulated pipelines: for each seed, simulate N deals
# (default 20,000), ingest, train, forecast, and judge the period after the snapshot
# against the simulator's truth (bench/judge_forecast.py). One draw of the future is one
# quarter's outcomes of about 2,400 open deals; the table shows how far a forecast lands
# from draw to draw, and the summary the share within +/-10 % and inside P10-P90. The
# last column is the forecast before the recent change of segments' win rates that the
# forecast found and applied (what the risk model alone says).
# A benchmark, not a test: nothing asserts.
#
#   sh bench/bench_forecast_seeds.sh [DEALS] [SEEDS]      (SEEDS default "1 2 3 4 5 6")
set -e
DEALS=${1:-20000}
SEEDS=${2:-1 2 3 4 5 6}
BIN=${BIN:-build/revintel}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
. bench/common.sh

[ -x "$BIN" ] || { echo "bench: build $BIN first (make)"; exit 1; }
mkdir -p bench/out
rows=bench/out/forecast-seeds.tsv
: >"$rows"
for s in $SEEDS; do
    out=bench/out/sim-$DEALS-$s
    db=bench/out/seeds-$DEALS-$s.db
    bench_sim "$out" "$DEALS" "$s"
    bench_store "$db" "$out"
    "$BIN" --quiet --db "$db" train >/dev/null
    "$BIN" --quiet --db "$db" --format json forecast --no-save >bench/out/forecast-seed.json
    printf '%s\t' "$s" >>"$rows"
    /usr/bin/python3 bench/judge_forecast.py --tsv "$out/truth/outcomes.csv" \
        "$out/opportunities.csv" bench/out/forecast-seed.json >>"$rows"
done

echo
echo "next-period forecast from the open deals, $DEALS simulated deals per seed"
awk -F '\t' '
BEGIN { printf "%5s %14s %14s %8s %9s %8s %10s\n", "seed", "actual", "forecast", "error", "P10-P90", "reps", "no change" }
{
    e = 100 * ($3 - $2) / $2; r = 100 * ($6 - $2) / $2; in_ = ($4 <= $2 && $2 <= $5)
    g = 100 * ($7 - $2) / $2; sg += g * g
    printf "%5s %14.0f %14.0f %+7.1f%% %9s %+7.1f%% %+9.1f%%\n", $1, $2, $3, e, in_ ? "contains" : "misses", r, g
    n++; se += e; sq += e * e; w += (e >= -10 && e <= 10); c += in_; sr += (1 - (e < 0 ? -e : e) / (r < 0 ? -r : r))
}
END {
    if (!n) exit
    printf "mean error %+.1f %%, root mean square %.1f %%; within +/-10 %%: %d of %d; " \
           "P10-P90 contains the actual: %d of %d; error smaller than the reps'\'' by %.0f %% on average\n",
           se / n, sqrt(sq / n), w, n, c, n, 100 * sr / n
    printf "before the recent change: root mean square %.1f %%\n", sqrt(sg / n)
}' "$rows"
