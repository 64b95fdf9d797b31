#!/bin/sh
# Settings that are secrets come from files, not from the environment's literals: for every
# STADSPULS_NAME_FROM_FILE=/run/secrets/x, export STADSPULS_NAME with the file's first line (e.g.
# STADSPULS_DB_URL_FROM_FILE holding postgresql://user:password@host/db), then run the command.
# (Settings that are paths already, such as STADSPULS_KEY_FILE, are left as they are.)
set -eu
for variable in $(env | sed -n 's/^\(STADSPULS_[A-Za-z0-9_]*\)_FROM_FILE=.*/\1/p'); do
  file=$(printenv "${variable}_FROM_FILE")
  if [ ! -r "$file" ]; then
    echo "stadspuls-entrypoint: ${variable}_FROM_FILE names $file, which cannot be read" >&2
    exit 78  # EX_CONFIG
  fi
  value=$(head -n 1 "$file")
  export "$variable=$value"
  unset "${variable}_FROM_FILE"
done
exec "$@"
