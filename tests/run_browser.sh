#!/bin/sh
# Headless-browser test of the HTML report (make browser): builds a small store through
# the CLI in a temporary folder (simulate 1,500 deals, ingest, diagnose, train, score,
# forecast), gives the deal most at risk a script tag for a name and one driver of the
# diagnosis a label that tries to close its JSON block, writes the report, loads it in
# headless Chromium and checks the DOM the page leaves once it has drawn: no script error,
# the four charts each drawn with points, the deal's name shown as text, no script of
# theirs run. Chromium is required: a missing browser fails (scripts/deps.sh installs it).
# Chromium's own noise on stderr (D-Bus and the like) is ignored: only the DOM counts.
#
#   sh tests/run_browser.sh BIN           the test
#   sh tests/run_browser.sh BIN --shot    a PNG of the report (no hostile names), kept;
#                                         prints its path (make report-shot)
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
MODE=${2:-test}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "browser: FAIL: chromium not found (install it with scripts/deps.sh)"
    echo "browser: 0 passed, 1 failed"
    exit 1
fi
tmp=$(mktemp -d /tmp/ri-browser-XXXXXX)
[ "$MODE" = --shot ] || trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# the store, as a user builds it
run() {
    "$BIN" --quiet "$@" >>setup.log 2>&1
    rc=$?
    # diagnose exits 1 when it finds something to act on
    if [ $rc -gt 1 ] || { [ $rc = 1 ] && [ "$1" != diagnose ]; }; then
        echo "browser: setup failed ($rc): revintel $*"
        tail -20 setup.log
        exit 1
    fi
}
run simulate sim --deals 1500 --seed 5
run init
run ingest opportunities sim/opportunities.csv
run ingest history sim/stage_history.csv
run diagnose
run train --trees 40 --threads 1
run score
run forecast --sims 2000

chrome() {
    timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$tmp/profile" --virtual-time-budget=10000 "$@" \
        2>>chromium.err
}

if [ "$MODE" = --shot ]; then
    run report --out report.html --markdown report.md
    chrome --hide-scrollbars --window-size=1280,4400 --screenshot="$tmp/report.png" \
        "file://$tmp/report.html" >/dev/null
    [ -s report.png ] || { echo "report-shot: chromium wrote no screenshot"; exit 1; }
    echo "$tmp/report.png"
    exit 0
fi

# hostile CRM strings: a deal name that is a script, a driver label that tries to close
# the JSON block it is embedded in
sqlite3 revintel.db "UPDATE deals SET name = '<script>alert(1)</script>' WHERE crm_id = (
    SELECT d.crm_id FROM scores s JOIN deals d ON d.id = s.deal_id
    WHERE s.run_id = (SELECT id FROM score_runs ORDER BY as_of DESC, id DESC LIMIT 1)
      AND s.tier IN ('high risk', 'at risk')
    ORDER BY coalesce(d.amount, 0) * (1 - s.p_win) DESC, d.crm_id LIMIT 1);
  UPDATE diag_decomposition SET segment = 'x</script><script>document.title=\"pwned\"</script>'
    WHERE rowid = (SELECT rowid FROM diag_decomposition
                   ORDER BY significant DESC, small ASC, abs(total) DESC, dim, segment LIMIT 1);" ||
    { echo "browser: setup failed: sqlite3"; exit 1; }
out=$("$BIN" report --out report.html 2>>setup.log)
rc=$?
[ $rc = 0 ] || { echo "browser: revintel report failed ($rc)"; tail -5 setup.log; exit 1; }

chrome --dump-dom "file://$tmp/report.html" >dom.html

pass=0
fail=0
check() {
    if eval "$2"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "browser: FAIL: $1"
    fi
}
body=$(grep -o '<body[^>]*>' dom.html | head -1)
check "the report path is printed" '[ "$(echo "$out" | head -1)" = report.html ]'
check "the page was dumped" '[ -n "$body" ]'
check "no script errors" 'echo "$body" | grep -q "data-errors=\"0\""'
check "four charts drawn" 'echo "$body" | grep -q "data-charts=\"4\""'
check "points drawn" 'echo "$body" | grep -q "data-points=\"[1-9][0-9]*\""'
for c in winrate forecast pipeline drivers; do
    check "chart $c drawn with points" \
        'grep -o "<canvas[^>]*>" dom.html | grep "id=\"chart-$c\"" | grep -q "data-points=\"[1-9]"'
done
check "the deal named <script> is shown as text" \
    'grep -qF "&lt;script&gt;alert(1)&lt;/script&gt;" dom.html'
check "no script of theirs in the page" '! grep -qF "<script>alert(1)" dom.html'
check "the driver label did not run" '! grep -q "<title>pwned" dom.html'
check "the error log is empty" 'grep -qF "<pre id=\"report-errors\" hidden=\"\"></pre>" dom.html'
if [ $fail -gt 0 ]; then
    echo "browser: body: $body"
    sed -n 's/.*<pre id="report-errors"[^>]*>\(.*\)/\1/p' dom.html | head -5
fi
echo "browser: $pass passed, $fail failed"
[ $fail = 0 ]
