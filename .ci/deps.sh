#!/usr/bin/env bash
# Installs the Debian packages moongate builds, runs and tests with (and any
# named as arguments), only those missing, so a second `make` costs nothing.
set -euo pipefail
pkgs=(cmake make gcc pkg-config curl openssl python3
      liblua5.4-dev lua5.4 libevent-dev libmsgpack-dev libpcre2-dev zlib1g-dev
      libssl-dev libcrypt-dev libyaml-dev
      lua-busted lua-socket lua-cjson
      libprotobuf-c-dev protobuf-c-compiler libsnappy-dev
      prometheus prometheus-alertmanager
      prometheus-pushgateway python3-prometheus-client
      golang-go golang-github-prometheus-client-golang-dev victoria-metrics
      chromium groff-base)
# Extra packages a target needs beyond the tests (make fuzz: clang).
pkgs+=("$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
