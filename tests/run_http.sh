#!/bin/sh
# The HTTP layer: each tests/http/test_*.sh runs the revintel binary against real
# receivers on 127.0.0.1 (tests/http/receiver.py, smtp_sink.py). Prints each script's
# closing line and a total.
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
status=0
for t in tests/http/test_*.sh; do
    sh "$t" "$BIN" || status=1
done
[ $status -eq 0 ] && echo "http: all passed" || echo "http: FAILED"
exit $status
