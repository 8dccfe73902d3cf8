#!/bin/sh
# Replays the corpus of every fuzz target built in the folder given as $1: each binary
# fuzz_X there (built with replay.c) runs over tests/fuzz/corpus/X/. A target without a
# corpus folder is skipped with a message. Run from the repository root.
# Ends with "fuzz-replay: N passed, N failed" (N = targets) and fails if any failed.
dir=${1:?usage: run_replay.sh BUILD_DIR}
pass=0
fail=0
for bin in "$dir"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    if [ ! -d "$corpus" ]; then
        echo "fuzz-replay: $name: no corpus folder $corpus, skipped"
        continue
    fi
    if out=$("$bin" "$corpus" 2>&1); then
        echo "$name: $(printf '%s\n' "$out" | tail -n 1)"
        pass=$((pass + 1))
    else
        printf '%s\n' "$out"
        echo "$name: FAILED"
        fail=$((fail + 1))
    fi
done
echo "fuzz-replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
