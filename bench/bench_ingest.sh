#!/bin/sh
# Ingest benchmark: simulate N deals (default 1,000,000, about 5 million history rows),
# ingest opportunities + stage history into a fresh store, and run the peer's load step
# (../shared/bench/peer.py: pandas read_csv + cleaning) on the same files. Prints wall
# time and peak RSS of each, and the ratios. A benchmark, not a test: nothing asserts.
#
#   sh bench/bench_ingest.sh [DEALS] [SEED]        (make bench runs it with the defaults)
set -e
DEALS=${1:-1000000}
SEED=${2:-1}
BIN=${BIN:-build/revintel}
PEER=../shared/bench/peer.py
OUT=bench/out/sim-$DEALS-$SEED
TIME=/usr/bin/time

RI_EXTRA_PKGS="time python3-pandas python3-sklearn python3-xgboost" sh scripts/deps.sh
[ -x "$BIN" ] || { echo "bench: build $BIN first (make)"; exit 1; }

if [ ! -f "$OUT/.done" ]; then
    rm -rf "$OUT"
    mkdir -p bench/out
    echo "bench: simulating $DEALS deals (seed $SEED) into $OUT"
    $TIME -f "%e %M" -o bench/out/sim.time "$BIN" --quiet simulate "$OUT" --deals "$DEALS" --seed "$SEED" >/dev/null
    touch "$OUT/.done"
    read -r t m < bench/out/sim.time
    echo "bench: simulate: $t s, peak RSS $((m / 1024)) MiB"
fi
opp_rows=$(($(wc -l < "$OUT/opportunities.csv") - 1))
hist_rows=$(($(wc -l < "$OUT/stage_history.csv") - 1))
size=$(du -cm "$OUT/opportunities.csv" "$OUT/stage_history.csv" | tail -1 | cut -f1)

# revintel: init + ingest opportunities + ingest history, each timed
mkdir -p bench/out
db=bench/out/bench.db
rm -f "$db" "$db-wal" "$db-shm"
"$BIN" --quiet --db "$db" init >/dev/null
$TIME -f "%e %M" -o bench/out/ri1.time "$BIN" --quiet --db "$db" ingest opportunities "$OUT/opportunities.csv" >/dev/null
$TIME -f "%e %M" -o bench/out/ri2.time "$BIN" --quiet --db "$db" ingest history "$OUT/stage_history.csv" >/dev/null
read -r t1 m1 < bench/out/ri1.time
read -r t2 m2 < bench/out/ri2.time
ri_t=$(echo "$t1 $t2" | awk '{ printf "%.2f", $1 + $2 }')
ri_m=$(( (m1 > m2 ? m1 : m2) / 1024 ))

# the peer: its load step (it prints "load: X s" on stderr); stopped once that step is done
peer_err=bench/out/peer.err
rm -f "$peer_err"
$TIME -f "%e %M" -o bench/out/peer.time /usr/bin/python3 "$PEER" "$OUT" bench/out/peer-out --threads 2 \
    2>"$peer_err" >/dev/null &
tpid=$!
while kill -0 $tpid 2>/dev/null && ! grep -q '^load:' "$peer_err" 2>/dev/null; do sleep 0.2; done
pkill -f "^/usr/bin/python3 $PEER $OUT" 2>/dev/null || true
wait $tpid 2>/dev/null || true
peer_t=$(sed -n 's/^load: \([0-9.]*\) s/\1/p' "$peer_err")
peer_m=$(( $(tail -n 1 bench/out/peer.time | awk '{ print $2 }') / 1024 ))

echo
echo "ingest benchmark: $opp_rows deals + $hist_rows history rows ($size MB of CSV), $(nproc) cores"
printf '%-34s %12s %12s\n' "" "revintel" "peer load"
printf '%-34s %12s %12s\n' "wall time (s)" "$ri_t" "$peer_t"
printf '%-34s %12s %12s\n' "peak RSS (MiB)" "$ri_m" "$peer_m"
printf '%-34s %12s\n' "  opportunities: time, RSS" "$t1 s, $((m1 / 1024)) MiB"
printf '%-34s %12s\n' "  history: time, RSS" "$t2 s, $((m2 / 1024)) MiB"
echo "$ri_t $peer_t $ri_m $peer_m" | awk '{ printf "ratio: revintel is %.2fx the peer'"'"'s speed (peer time / revintel time), and uses %.2fx its memory\n", $2 / $1, $3 / $4 }'
echo "(revintel validates, quarantines, diffs and stores in SQLite; the peer only parses into memory)"
