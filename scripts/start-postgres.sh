#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the store's tests and prints its
# connection URL as the last line:
#
#   export MERIDIAN_TEST_POSTGRES="$(scripts/start-postgres.sh "$dir" | tail -n1)"
#   ...
#   scripts/start-postgres.sh stop "$dir"
#
# It installs Debian's postgresql when the server binaries are missing,
# runs initdb in DIR (default: a new temporary folder) with trust
# authentication for the user meridian, and starts the server on a free
# loopback port with its socket in DIR. Nothing listens beyond 127.0.0.1,
# which is what makes trust authentication acceptable here.
#
# initdb refuses to run as root, so as root the server runs as the
# postgres user (see TOOLCHAIN.md, "PostgreSQL").
set -euo pipefail

find_bindir() {
  local initdb
  initdb=$(dpkg -L postgresql-15 2>/dev/null | grep 'bin/initdb$' | head -n1 || true)
  if [[ -z "$initdb" ]]; then
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)
  fi
  [[ -n "$initdb" ]] && dirname "$initdb"
}

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [[ "${1:-}" == stop ]]; then
  dir="${2:?usage: start-postgres.sh stop DIR}"
  bindir=$(find_bindir)
  as_pg "$bindir/pg_ctl" -D "$dir" -m fast -w stop >&2 || true
  rm -rf "$dir"
  exit 0
fi

bindir=$(find_bindir || true)
if [[ -z "$bindir" ]]; then
  echo "installing postgresql (about a minute)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir=$(find_bindir)
fi

dir="${1:-$(mktemp -d)}"
mkdir -p "$dir"
chmod 700 "$dir"
[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
as_pg "$bindir/initdb" -D "$dir" -A trust -U meridian -E UTF8 --no-sync >/dev/null

# A port is free when nothing answers on it; the start is retried with
# another one if something took it in between.
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    continue
  fi
  if as_pg "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-k $dir -h 127.0.0.1 -p $port" -w start >&2; then
    echo "postgres $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir" >&2
    echo "postgres://meridian@127.0.0.1:$port/postgres?sslmode=disable"
    exit 0
  fi
  echo "start on port $port failed (attempt $attempt):" >&2
  tail -n5 "$dir/server.log" >&2 || true
done
echo "could not start postgres; log: $dir/server.log" >&2
exit 1
