#!/bin/sh
# Golden command-line tests: tests/golden/<command>/<case>/ holds
#   args           the command line (shell words; @DATA@ = ../shared/data, @ROOT@ = repo,
#                  @CASE@ = the case folder)
#   setup          optional: command lines run first, one per line (exit 0 or 1 expected)
#   setup.sh       optional: a shell script run first (to generate large inputs)
#   expected.out, expected.err, expected.code
# Each case runs in a fresh temporary folder. Absolute paths in the output are replaced
# by @DATA@, @ROOT@ and @TMP@ before comparing. UPDATE=1 rewrites the expected files.
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(pwd)
DATA=$(cd "$ROOT/../shared/data" 2>/dev/null && pwd)
pass=0; fail=0
expand() {
    sed -e "s#@DATA@#$DATA#g" -e "s#@ROOT@#$ROOT#g" -e "s#@CASE@#$2#g" "$1"
}
normalize() {
    sed -e "s#$3#@TMP@#g" -e "s#$DATA#@DATA@#g" -e "s#$ROOT#@ROOT@#g" "$1" > "$2"
}
for case in tests/golden/*/*/; do
    case=${case%/}
    [ -f "$case/args" ] || continue
    abs="$ROOT/$case"
    tmp=$(mktemp -d /tmp/ri-golden-XXXXXX)
    ok=1
    if [ -f "$case/setup.sh" ]; then
        (cd "$tmp" && ROOT="$ROOT" DATA="$DATA" sh "$abs/setup.sh") >/dev/null 2>"$tmp/.setup.err" ||
            { ok=0; echo "golden: $case: setup.sh failed"; cat "$tmp/.setup.err"; }
    fi
    if [ $ok = 1 ] && [ -f "$case/setup" ]; then
        expand "$case/setup" "$abs" | while IFS= read -r line; do
            [ -z "$line" ] && continue
            eval "set -- $line"
            (cd "$tmp" && "$BIN" "$@") >/dev/null 2>>"$tmp/.setup.err"
            rc=$?
            if [ $rc -gt 1 ]; then echo "setup failed ($rc): $line"; exit 1; fi
        done || { ok=0; echo "golden: $case: setup failed"; cat "$tmp/.setup.err"; }
    fi
    if [ $ok = 1 ]; then
        eval "set -- $(expand "$case/args" "$abs")"
        (cd "$tmp" && "$BIN" "$@") >"$tmp/.out" 2>"$tmp/.err"
        echo $? >"$tmp/.code"
        normalize "$tmp/.out" "$tmp/.out.n" "$tmp"
        normalize "$tmp/.err" "$tmp/.err.n" "$tmp"
        if [ "${UPDATE:-0}" = 1 ]; then
            cp "$tmp/.out.n" "$case/expected.out"
            cp "$tmp/.err.n" "$case/expected.err"
            cp "$tmp/.code" "$case/expected.code"
        fi
        for k in out err code; do
            src="$tmp/.$k"; [ $k != code ] && src="$tmp/.$k.n"
            if [ ! -f "$case/expected.$k" ]; then
                echo "golden: $case: no expected.$k (run with UPDATE=1)"; ok=0
            elif ! cmp -s "$src" "$case/expected.$k"; then
                echo "golden: $case: $k differs:"; diff "$case/expected.$k" "$src" | head -20; ok=0
            fi
        done
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    rm -rf "$tmp"
done
echo "golden: $pass passed, $fail failed"
[ $fail = 0 ]
