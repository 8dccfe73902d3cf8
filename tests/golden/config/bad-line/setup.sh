cat > bad.conf <<'CONF'
[store]
db = x.db
[forecast]
period = quarter
sims = lots
CONF
