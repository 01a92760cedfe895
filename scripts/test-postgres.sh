#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: its own data directory (.pg/ in the repo), its own free port on
# 127.0.0.1, trust auth, no Unix socket. It never touches a system cluster (no pg_ctlcluster, no
# /var/run/postgresql), so it is safe next to one.
#
#   scripts/test-postgres.sh start   # prints postgresql://postgres@127.0.0.1:PORT/dagster_test
#   scripts/test-postgres.sh stop    # stops it and removes .pg/
#
# `start` is idempotent: when this repo's server is already running it prints the same URL again.
# PostgreSQL refuses to run as root, so as root (CI) the server runs as the `postgres` OS user.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$ROOT/.pg"
DB=dagster_test
SUPERUSER=postgres

log() { echo "test-postgres: $*" >&2; }
die() {
    log "$*"
    exit 1
}

find_bindir() {
    local initdb
    # The newest major version the Debian packages installed (/usr/lib/postgresql/15/bin, ...).
    initdb="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | grep -v '\*' | sort -V | tail -n 1 || true)"
    if [[ -z "$initdb" ]]; then
        initdb="$(command -v initdb || true)" # e.g. Homebrew or a distribution that puts it on PATH
    fi
    [[ -n "$initdb" ]] && dirname "$initdb"
}

ensure_postgres_installed() {
    if [[ -n "$(find_bindir || true)" ]]; then
        return
    fi
    if [[ "$(id -u)" != 0 ]]; then
        die "no PostgreSQL server binaries (initdb, pg_ctl) found under /usr/lib/postgresql/*/bin or on PATH; install PostgreSQL (Debian/Ubuntu: sudo apt-get install postgresql) and retry."
    fi
    log "installing PostgreSQL with apt-get (first run on this machine)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    [[ -n "$(find_bindir || true)" ]] || die "apt-get installed postgresql but no initdb was found under /usr/lib/postgresql/*/bin."
}

# Run a server binary as the `postgres` OS user when we are root (PostgreSQL refuses root), else as us.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        (cd / && runuser -u postgres -- "$@") # cwd may be where postgres cannot go
    else
        "$@"
    fi
}

url() { echo "postgresql://$SUPERUSER@127.0.0.1:$(cat "$STATE/port")/$DB"; }

running() {
    [[ -f "$STATE/ready" && -f "$STATE/port" ]] || return 1
    as_owner "$BIN/pg_ctl" status -D "$(data_dir)" >/dev/null 2>&1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    ensure_postgres_installed
    BIN="$(find_bindir)"
    if running; then
        url
        return
    fi
    # Whatever is left is from a server that is gone or half started (a killed run, a rebooted
    # machine): stop what may still run and start clean.
    stop_quietly
    mkdir -p "$STATE"
    trap 'on_start_exit' EXIT
    prepare_server_home
    as_owner "$BIN/initdb" -D "$(data_dir)" -U "$SUPERUSER" --auth=trust --no-locale -E UTF8 --no-sync \
        >"$STATE/initdb.log" 2>&1 || {
        cat "$STATE/initdb.log" >&2
        return 1
    }
    # A port picked free can be taken before the server binds it: try a few.
    local attempt
    for attempt in 1 2 3; do
        free_port >"$STATE/port"
        # fsync and friends off: this server holds nothing that must survive a crash; tests run faster.
        if as_owner "$BIN/pg_ctl" start -D "$(data_dir)" -w -t 30 -l "$(server_home)/server.log" \
            -o "-h 127.0.0.1 -p $(cat "$STATE/port") -k '' -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off" >/dev/null; then
            break
        fi
        [[ "$attempt" == 3 ]] && return 1
        log "server did not start on port $(cat "$STATE/port"); trying another"
    done
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$(cat "$STATE/port")" -U "$SUPERUSER" "$DB"
    touch "$STATE/ready"
    url
}

# Where the cluster and its log live: .pg/ itself, or (see below) a directory in /tmp that .pg/ names.
server_home() { if [[ -f "$STATE/elsewhere" ]]; then cat "$STATE/elsewhere"; else echo "$STATE"; fi; }
data_dir() { echo "$(server_home)/data"; }

prepare_server_home() {
    [[ "$(id -u)" == 0 ]] || return 0
    id postgres >/dev/null 2>&1 || die "there is no 'postgres' OS user to run the server as (root may not)."
    if as_owner test -x "$STATE"; then
        chown postgres "$STATE"
    else
        # The clone sits where `postgres` cannot reach (e.g. under /root): keep the cluster in /tmp and
        # name it in .pg/, so `stop` still finds and removes it.
        local elsewhere
        elsewhere="$(mktemp -d /tmp/test-postgres.XXXXXX)"
        chown postgres "$elsewhere"
        echo "$elsewhere" >"$STATE/elsewhere"
    fi
}

on_start_exit() {
    local status=$?
    [[ -f "$STATE/ready" ]] && return
    log "could not start the test PostgreSQL; its log follows"
    cat "$(server_home)/server.log" >&2 2>/dev/null || true
    stop_quietly
    exit "$((status == 0 ? 1 : status))"
}

stop_quietly() {
    local bin
    bin="$(find_bindir || true)"
    if [[ -n "$bin" && -d "$STATE" ]] && as_owner test -f "$(data_dir)/postmaster.pid"; then
        as_owner "$bin/pg_ctl" stop -D "$(data_dir)" -m fast -w -t 30 >/dev/null 2>&1 || true
    fi
    remove_state
}

remove_state() {
    if [[ -f "$STATE/elsewhere" ]]; then
        rm -rf "$(cat "$STATE/elsewhere")"
    fi
    rm -rf "$STATE"
}

case "${1:-}" in
start) start ;;
stop) stop_quietly ;;
*) die "usage: $0 start|stop" ;;
esac
