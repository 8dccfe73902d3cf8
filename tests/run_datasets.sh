#!/bin/sh
# The shared data sets, ingested by revintel, checked against counts computed
# independently from the raw CSV files with awk/sort (not by revintel).
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(pwd)
DATA=$ROOT/../shared/data
M=$ROOT/examples/mappings
tmp=$(mktemp -d /tmp/ri-datasets-XXXXXX)
pass=0; fail=0
check() { # name expected actual
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "datasets: $1: expected '$2', revintel says '$3'"; fi
}
sql() { sqlite3 "$tmp/$1.db" "$2"; }
ingest() { # db kind file map
    "$BIN" --db "$tmp/$1.db" init >/dev/null && "$BIN" --db "$tmp/$1.db" ingest "$2" "$3" --map "$4" >/dev/null
}

# Maven: deals by stage and won revenue (close_value of Won rows)
ingest maven opportunities "$DATA/maven_crm_opportunities/sales_pipeline.csv" "$M/maven_pipeline.ini"
want=$(awk -F, 'NR > 1 && $5 == "Won" { n++; s += $8 } END { printf "%d|%d", n, s }' \
    "$DATA/maven_crm_opportunities/sales_pipeline.csv")
check maven-won "$want" "$(sql maven "SELECT count(*) || '|' || CAST(sum(amount) AS INTEGER) FROM deals WHERE status = 'won'")"
want=$(awk -F, 'NR > 1 && $5 == "Lost" { n++ } END { print n }' "$DATA/maven_crm_opportunities/sales_pipeline.csv")
check maven-lost "$want" "$(sql maven "SELECT count(*) FROM deals WHERE status = 'lost'")"
want=$(awk -F, 'NR > 1 && ($5 == "Engaging" || $5 == "Prospecting") { n++ } END { print n }' \
    "$DATA/maven_crm_opportunities/sales_pipeline.csv")
check maven-open "$want" "$(sql maven "SELECT count(*) FROM deals WHERE status = 'open'")"
want=$(awk -F, 'NR > 1 && $6 != "" { n++ } END { print n }' "$DATA/maven_crm_opportunities/sales_pipeline.csv")
check maven-engaging-events "$want" "$(sql maven "SELECT count(*) FROM v_deal_events WHERE stage = 'Engaging'")"
want=$(awk -F, 'NR > 1 && $3 == "GTXPro" { n++ } NR > 1 && $3 == "GTX Pro" { n++ } END { print n }' \
    "$DATA/maven_crm_opportunities/sales_pipeline.csv")
check maven-gtx-pro "$want" "$(sql maven "SELECT count(*) FROM deals WHERE product = 'GTX Pro'")"

# Maven: win rates per sector (the account's), manager (the agent's) and product, from
# revintel diagnose, against the same counts joined by awk from the raw CSVs
"$BIN" --db "$tmp/maven.db" ingest accounts "$DATA/maven_crm_opportunities/accounts.csv" \
    --map "$M/maven_accounts.ini" >/dev/null
"$BIN" --db "$tmp/maven.db" ingest reps "$DATA/maven_crm_opportunities/sales_teams.csv" \
    --map "$M/maven_teams.ini" >/dev/null
"$BIN" --db "$tmp/maven.db" diagnose winrate >/dev/null
want=$(awk -F, '
    FILENAME ~ /accounts/ && FNR > 1 { sector[$1] = $2; next }
    FILENAME ~ /sales_teams/ && FNR > 1 { manager[$1] = $2; next }
    FILENAME ~ /sales_pipeline/ && FNR > 1 && ($5 == "Won" || $5 == "Lost") {
        p = $3 == "GTXPro" ? "GTX Pro" : $3
        w = $5 == "Won"
        if ($4 in sector) { k = "industry|" sector[$4]; n[k]++; won[k] += w }
        k = "manager|" manager[$2]; n[k]++; won[k] += w
        k = "product|" p; n[k]++; won[k] += w
    }
    END { for (k in n) printf "%s|%d|%d\n", k, won[k], n[k] - won[k] }' \
    "$DATA/maven_crm_opportunities/accounts.csv" "$DATA/maven_crm_opportunities/sales_teams.csv" \
    "$DATA/maven_crm_opportunities/sales_pipeline.csv" | sort | tr '\n' ' ')
got=$(sql maven "SELECT dim || '|' || value || '|' || won || '|' || lost FROM diag_segments
    WHERE scope = 'window' AND dim IN ('industry', 'manager', 'product')" | sort | tr '\n' ' ')
check maven-segment-win-rates "$want" "$got"
# 10 sectors, 6 managers, 7 products: 23 rows of 3 separators each
check maven-segment-rows 23 "$(( $(printf '%s' "$want" | tr -cd '|' | wc -c) / 3 ))"

# SkyGeni: outcomes and total amount
ingest sky opportunities "$DATA/skygeni_b2b_saas_deals/skygeni_sales_data.csv" "$M/skygeni.ini"
want=$(awk -F, 'NR > 1 { n[$12]++; s += $10 } END { printf "%d|%d|%d", n["Won"], n["Lost"], s }' \
    "$DATA/skygeni_b2b_saas_deals/skygeni_sales_data.csv")
check skygeni "$want" "$(sql sky "SELECT sum(status = 'won') || '|' || sum(status = 'lost') || '|' || CAST(sum(amount) AS INTEGER) FROM deals")"

# Salvirt: distinct rows (exact duplicates are quarantined), and wins among them
ingest salvirt opportunities "$DATA/salvirt_b2b_sales/Salvirt_B2B_ML_dataset_HF.csv" "$M/salvirt.ini"
want=$(tail -n +2 "$DATA/salvirt_b2b_sales/Salvirt_B2B_ML_dataset_HF.csv" | tr -d '\r' | sort -u | \
    awk -F';' '{ n++; if ($23 == "Won") w++ } END { printf "%d|%d", n, w }')
check salvirt "$want" "$(sql salvirt "SELECT count(*) || '|' || sum(status = 'won') FROM deals")"

# nil9: IsWon counts among rows with a non-negative or empty amount
ingest nil9 opportunities "$DATA/sfdc_opps_encoded_nil9/preprocessed_opportunities.csv" "$M/sfdc_nil9.ini"
want=$(awk -F, 'NR > 1 && !($2 != "" && $2 + 0 < 0) { n[$18]++ } END { printf "%d|%d", n[1], n[0] }' \
    "$DATA/sfdc_opps_encoded_nil9/preprocessed_opportunities.csv")
check nil9 "$want" "$(sql nil9 "SELECT sum(status = 'won') || '|' || sum(status = 'lost') FROM deals")"

# Olist: leads, and won leads after the closed-deals file
ingest olist opportunities "$DATA/olist_marketing_funnel/olist_marketing_qualified_leads_dataset.csv" "$M/olist_leads.ini"
"$BIN" --db "$tmp/olist.db" ingest history "$DATA/olist_marketing_funnel/olist_closed_deals_dataset.csv" --map "$M/olist_won.ini" >/dev/null
want=$(awk -F, 'NR > 1 { n++ } END { print n }' "$DATA/olist_marketing_funnel/olist_closed_deals_dataset.csv")
check olist-won "$want" "$(sql olist "SELECT count(*) FROM deals WHERE status = 'won'")"
want=$(awk -F, 'NR > 1 { n++ } END { print n }' "$DATA/olist_marketing_funnel/olist_marketing_qualified_leads_dataset.csv")
check olist-leads "$want" "$(sql olist "SELECT count(*) FROM deals")"

rm -rf "$tmp"
echo "datasets: $pass passed, $fail failed"
[ $fail = 0 ]
