#!/bin/sh
# Runs once, when the postgres service initialises its volume (docker-entrypoint-initdb.d), as the superuser:
# the login role the api and the engine connect as. It gets its rights through ate_app, which the migration
# 20261201100000_app_role grants on each table (no superuser, no TRUNCATE, the journal append-only).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$ATE_API_DB_PASSWORD" <<'SQL'
CREATE ROLE ate_app NOLOGIN;
CREATE ROLE ate_api LOGIN PASSWORD :'pw';
GRANT ate_app TO ate_api;
SQL
