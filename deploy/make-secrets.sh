#!/usr/bin/env bash
# Create the secrets of a compose deployment in deploy/secrets/ (once; existing files are kept,
# so running it again changes nothing). Keys are 256-bit random values in hex, as Stadspuls
# writes them itself; the VAPID key is an EC P-256 key in PKCS#8 PEM. Run as root (sudo) to give
# the files to uid 10001, the image's user; otherwise chown them yourself.
#
# Moving from one process to several machines? Copy the keys of the existing installation
# (var/secrets/pseudonym.key, seal.key, contact.key, ...) over these before the first start:
# new keys would make the stored pseudonyms and sealed contacts unreadable.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
chmod 700 secrets
umask 077
for key in pseudonym seal contact quota volunteer volunteer-index; do
  [ -s "secrets/$key.key" ] || openssl rand -hex 32 > "secrets/$key.key"
done
[ -s secrets/vapid.pem ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out secrets/vapid.pem
[ -s secrets/postgres_password ] || openssl rand -hex 24 > secrets/postgres_password
if [ ! -s secrets/db_url ]; then
  printf 'postgresql://stadspuls:%s@postgres:5432/stadspuls\n' "$(cat secrets/postgres_password)" > secrets/db_url
fi
if [ "$(id -u)" = 0 ]; then
  chown 10001:10001 secrets/*
  # The postgres image reads its password as its own user (uid 999).
  chown 999:999 secrets/postgres_password
  chmod 400 secrets/*
fi
echo "secrets in $(pwd)/secrets:" >&2
ls -l secrets >&2
