#!/bin/sh
# Installs the Debian packages revintel needs to build and test, if any is missing.
# Runs apt-get as root, or through sudo. Prints nothing when all are present.
set -e
PKGS="build-essential pkg-config libsqlite3-dev libcsv-dev libzip-dev libexpat1-dev
libinih-dev libjansson-dev libgsl-dev libxgboost-dev sqlite3 clang libclang-rt-14-dev
libcurl4-openssl-dev libssl-dev python3-aiosmtpd libjs-chart.js chromium"
[ -n "$RI_EXTRA_PKGS" ] && PKGS="$PKGS $RI_EXTRA_PKGS"
missing=""
for p in $PKGS; do
    s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$s" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
echo "revintel: installing missing packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
