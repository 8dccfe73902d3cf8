#!/bin/sh
# Runs every unit-test binary given; prints each one's closing line and a total.
# Tests run from the repository root so they can read tests/data and ../shared/data.
# OpenMP threads wait passively: spinning ones slow a busy machine many times over
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
pass=0; fail=0; status=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | tail -n 1)
    if [ $rc -ne 0 ]; then printf '%s\n' "$out"; status=1; else echo "$line"; fi
    p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    [ -z "$p" ] && { p=0; f=1; }
    pass=$((pass + p)); fail=$((fail + f))
done
echo "unit: $pass passed, $fail failed"
exit $status
