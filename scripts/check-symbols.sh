#!/bin/sh
# Fails if librevintel.a defines a global symbol without the ri_ prefix (STYLE C1).
lib=${1:?usage: check-symbols.sh librevintel.a}
bad=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 }' |
      grep -v '^ri_' | sort -u)
if [ -n "$bad" ]; then
    echo "check-symbols: globals without the ri_ prefix:"; echo "$bad"
    echo "check-symbols: 0 passed, 1 failed"; exit 1
fi
echo "check-symbols: 1 passed, 0 failed"
