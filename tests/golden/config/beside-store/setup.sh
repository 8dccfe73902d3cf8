mkdir -p team
cat > team/revintel.conf <<'CONF'
[forecast]
period = month
CONF
