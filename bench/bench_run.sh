#!/bin/sh
# The daily job end to end: `revintel run` on a fresh store whose drop folder holds the
# simulated CRM export of N deals (default 1,000,000: about 5 million history rows), that
# is ingest, diagnose, train, score, forecast, alerts and delivery to a file channel;
# then the peer's whole job (../shared/bench/peer.py: load, diagnose, snapshots, train,
# score, forecast) on the same files. Prints wall time and peak RSS of each and the ratio.
# A benchmark, not a test: nothing asserts.
#
#   sh bench/bench_run.sh [DEALS] [SEED]
set -e
DEALS=${1:-1000000}
SEED=${2:-1}
BIN=${BIN:-build/revintel}
PEER=../shared/bench/peer.py
OUT=bench/out/sim-$DEALS-$SEED
RUN=bench/out/run-$DEALS-$SEED
TIME=/usr/bin/time
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
. bench/common.sh

RI_EXTRA_PKGS="time python3-pandas python3-sklearn python3-xgboost" sh scripts/deps.sh
[ -x "$BIN" ] || { echo "bench: build $BIN first (make)"; exit 1; }
bench_sim "$OUT" "$DEALS" "$SEED"
rm -rf "$RUN"
mkdir -p "$RUN"
abs=$(cd "$OUT" && pwd)
cat > "$RUN/revintel.conf" <<CONF
[store]
db = run.db
[sources]
drop_dir = $abs
[channel.out]
type = file
path = alerts.jsonl
[recipients]
default_channels = out
CONF

$TIME -f "%e %M" -o "$RUN/run.time" "$BIN" --quiet --config "$RUN/revintel.conf" run \
    >"$RUN/run.out" 2>"$RUN/run.err" || true
read -r rt rm < "$RUN/run.time"
$TIME -f "%e %M" -o "$RUN/again.time" "$BIN" --quiet --config "$RUN/revintel.conf" run \
    >/dev/null 2>&1 || true
read -r at am < "$RUN/again.time"
$TIME -f "%e %M" -o "$RUN/peer.time" /usr/bin/python3 "$PEER" "$OUT" "$RUN/peer-out" \
    --threads 2 >/dev/null 2>"$RUN/peer.err"
read -r pt pm < "$RUN/peer.time"

echo
echo "daily job benchmark: $DEALS simulated deals, $(nproc) cores"
printf '%-46s %10s %12s\n' "" "wall, s" "peak RSS, MiB"
printf '%-46s %10s %12s\n' "revintel run (fresh store, all steps)" "$rt" "$((rm / 1024))"
printf '%-46s %10s %12s\n' "revintel run again (nothing new)" "$at" "$((am / 1024))"
printf '%-46s %10s %12s\n' "peer whole job (load ... forecast)" "$pt" "$((pm / 1024))"
echo "$rt $pt $rm $pm" | awk '{ printf "ratio: revintel run is %.1fx faster than the peer, with %.2fx its memory\n", $2 / $1, $3 / $4 }'
echo
echo "revintel steps (from the store's run_steps):"
sqlite3 -column "$RUN/run.db" "SELECT step, status, printf('%.1f', seconds) AS s, count, substr(detail, 1, 80) FROM run_steps WHERE run_id = 1" 2>/dev/null || true
echo "peer steps:"
sed 's/^/  /' "$RUN/peer.err"
