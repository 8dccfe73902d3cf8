# a header, then binary garbage, then a good row
{ printf 'id,created_date,stage\n'; head -c 3000 "$ROOT/tests/golden/ingest/garbage/noise.bin"; printf '\nG1,2024-01-01,Prospecting\n'; } > garbage.csv
