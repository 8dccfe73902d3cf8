#!/bin/sh
# Forecast benchmark and judge: on the store bench_model.sh trained (N deals, default
# 50,000), time `revintel forecast` (10,000 paths) and judge its next-period forecast
# against the simulator's truth (bench/judge_forecast.py); then run `revintel backtest`
# over the last 4 complete quarters and print its summary. Nothing asserts.
#
#   sh bench/bench_forecast.sh [DEALS] [SEED]
set -e
DEALS=${1:-50000}
SEED=${2:-1}
BIN=${BIN:-build/revintel}
OUT=bench/out/sim-$DEALS-$SEED
DB=bench/out/model-$DEALS-$SEED.db
TIME=/usr/bin/time
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

[ -f "$DB" ] || sh bench/bench_model.sh "$DEALS" "$SEED" >/dev/null
"$BIN" --quiet --db "$DB" init >/dev/null # brings an older store up to the current schema
open=$(grep -c ',open,' "$OUT/opportunities.csv")
$TIME -f "%e %M" -o bench/out/forecast.time "$BIN" --quiet --db "$DB" --format json forecast \
    --no-save >bench/out/forecast.json
read -r ft fm < bench/out/forecast.time
$TIME -f "%e %M" -o bench/out/backtest.time "$BIN" --quiet --db "$DB" backtest \
    >bench/out/backtest.txt
read -r bt bm < bench/out/backtest.time

echo
echo "forecast benchmark: $DEALS simulated deals ($open open), $(nproc) cores"
printf '%-48s %10s\n' "revintel forecast (10,000 paths), s" "$ft"
printf '%-48s %10s\n' "revintel forecast peak RSS, MiB" "$((fm / 1024))"
printf '%-48s %10s\n' "revintel backtest (weekly, 4 quarters), s" "$bt"
pf=$(sed -n 's/^forecast: \([0-9.]*\) s/\1/p' bench/out/peer-model.err 2>/dev/null)
if [ -n "$pf" ]; then
    printf '%-48s %10s\n' "peer forecast step (data and scores in memory), s" "$pf"
    echo "$ft $pf" | awk '{ printf "ratio: revintel forecast (store to report) is %.2fx the peer'"'"'s step\n", $2 / $1 }'
fi
echo
/usr/bin/python3 bench/judge_forecast.py "$OUT/truth/outcomes.csv" "$OUT/opportunities.csv" \
    bench/out/forecast.json
echo
sed -n '/^Error by week/,$p' bench/out/backtest.txt
