#!/bin/sh
# Model benchmark and judge: simulate N deals (default 50,000), ingest them, `revintel
# train` and `revintel score` the open deals at the snapshot; run the peer
# (../shared/bench/peer.py: pandas + XGBoost on random in-stage snapshots) on the same
# files; judge both, and the rep-entered probability, against truth/outcomes.csv (what
# eventually happened to each open deal) with bench/judge_scores.py. Prints the times of
# both and the judge's table. A benchmark, not a test: nothing asserts.
#
#   sh bench/bench_model.sh [DEALS] [SEED]
set -e
DEALS=${1:-50000}
SEED=${2:-1}
BIN=${BIN:-build/revintel}
PEER=../shared/bench/peer.py
OUT=bench/out/sim-$DEALS-$SEED
DB=bench/out/model-$DEALS-$SEED.db
TIME=/usr/bin/time
# OpenMP threads of both sides sleep rather than spin while they wait (spinning threads
# starve each other when the 2 cores are shared)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
. bench/common.sh

RI_EXTRA_PKGS="time python3-pandas python3-sklearn python3-xgboost" sh scripts/deps.sh
[ -x "$BIN" ] || { echo "bench: build $BIN first (make)"; exit 1; }
bench_sim "$OUT" "$DEALS" "$SEED"
bench_store "$DB" "$OUT"

$TIME -f "%e %M" -o bench/out/train.time "$BIN" --quiet --db "$DB" train >bench/out/train.txt
$TIME -f "%e %M" -o bench/out/score.time "$BIN" --quiet --db "$DB" score \
    --csv bench/out/ri-scores.csv >/dev/null
read -r tt tm < bench/out/train.time
read -r st sm < bench/out/score.time

/usr/bin/python3 "$PEER" "$OUT" bench/out/peer-model --threads 2 >bench/out/peer-model.json \
    2>bench/out/peer-model.err
pt=$(sed -n 's/^train: \([0-9.]*\) s/\1/p' bench/out/peer-model.err)
pf=$(sed -n 's/^features: \([0-9.]*\) s/\1/p' bench/out/peer-model.err)
ps=$(sed -n 's/^score: \([0-9.]*\) s/\1/p' bench/out/peer-model.err)

echo
echo "model benchmark: $DEALS simulated deals, $(nproc) cores"
cat bench/out/train.txt | sed -n '/^Test set/,/^Verdict/p'
echo
printf '%-48s %10s\n' "revintel train (snapshots, fit, evaluate), s" "$tt"
printf '%-48s %10s\n' "revintel score (open deals, reasons), s" "$st"
printf '%-48s %10s\n' "peer features + train + score, s" "$(echo "$pf $pt $ps" | awk '{print $1 + $2 + $3}')"
echo
/usr/bin/python3 bench/judge_scores.py "$OUT/truth/outcomes.csv" "$OUT/opportunities.csv" \
    revintel=bench/out/ri-scores.csv peer=bench/out/peer-model/scores.csv
