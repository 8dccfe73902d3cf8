#!/bin/sh
# Diagnose benchmark: `revintel diagnose` on the store of a simulated pipeline of N deals
# (default 1,000,000; built by bench_ingest.sh when missing), next to the peer's
# diagnose step (../shared/bench/peer.py) on the same CSV files. Prints wall time and
# peak RSS, and the ratio.
#
# What is timed: one `revintel diagnose --no-save` (read-only), from opening the store to
# the printed report, on a store whose column cache is current, as it is after any
# diagnose that could write the store since the last ingest. Before timing, one untimed
# `revintel diagnose` (saving) migrates the store if need be and rebuilds that cache when
# an ingest has made it stale. revintel's time includes reading the store; the peer's
# step does not include its load (the peer times that separately).
#
#   sh bench/bench_diagnose.sh [DEALS] [SEED]
set -e
DEALS=${1:-1000000}
SEED=${2:-1}
BIN=${BIN:-build/revintel}
PEER=../shared/bench/peer.py
OUT=bench/out/sim-$DEALS-$SEED
DB=bench/out/diag-$DEALS-$SEED.db
TIME=/usr/bin/time
. bench/common.sh

RI_EXTRA_PKGS="time python3-pandas python3-sklearn python3-xgboost" sh scripts/deps.sh
bench_sim "$OUT" "$DEALS" "$SEED"
[ -f "$DB" ] || bench_store "$DB" "$OUT"
# untimed: migrate the store if need be, and bring its column cache up to date
"$BIN" --quiet --db "$DB" diagnose >/dev/null || true
# warm the file cache the same way for both
cat "$DB" "$OUT/opportunities.csv" "$OUT/stage_history.csv" >/dev/null

$TIME -f "%e %M" -o bench/out/diag.time "$BIN" --quiet --db "$DB" diagnose --no-save \
    >bench/out/diag.txt || true
read -r ri_t ri_m <<EOF
$(tail -n 1 bench/out/diag.time)
EOF

peer_err=bench/out/peer-diag.err
rm -f "$peer_err"
/usr/bin/python3 "$PEER" "$OUT" bench/out/peer-out --threads 2 2>"$peer_err" >/dev/null &
ppid=$!
while kill -0 $ppid 2>/dev/null && ! grep -q '^diagnose:' "$peer_err" 2>/dev/null; do sleep 0.2; done
kill $ppid 2>/dev/null || true
wait $ppid 2>/dev/null || true
peer_t=$(sed -n 's/^diagnose: \([0-9.]*\) s/\1/p' "$peer_err")
peer_load=$(sed -n 's/^load: \([0-9.]*\) s/\1/p' "$peer_err")

echo
echo "diagnose benchmark: $DEALS simulated deals, $(nproc) cores"
printf '%-44s %10s\n' "revintel diagnose (store to report), s" "$ri_t"
printf '%-44s %10s\n' "revintel peak RSS, MiB" "$((ri_m / 1024))"
printf '%-44s %10s\n' "peer diagnose step (data in memory), s" "$peer_t"
printf '%-44s %10s\n' "peer load step, s" "$peer_load"
echo "$ri_t $peer_t $peer_load" | awk '{ printf "ratio: revintel is %.2fx the peer'"'"'s diagnose step, %.2fx its load + diagnose\n", $2 / $1, ($2 + $3) / $1 }'
