#!/bin/sh
# Source checks the compiler does not make (after curl's checksrc): every .c and .h file
# opens with a comment saying what it is for; no unfinished-work markers; no // comments
# in src/ and cli/.
status=0
for f in src/*.c src/*.h cli/*.c cli/*.h include/*.h; do
    head -n 1 "$f" | grep -q '^/\*' || { echo "checksrc: $f: does not open with a comment"; status=1; }
    if grep -n -w -E 'TODO|FIXME|XXX' "$f"; then echo "checksrc: $f: unfinished-work marker"; status=1; fi
    if grep -n -E '^\s*//|[;{}]\s*//' "$f"; then echo "checksrc: $f: // comment"; status=1; fi
done
[ $status = 0 ] && echo "checksrc: 1 passed, 0 failed" || echo "checksrc: 0 passed, 1 failed"
exit $status
