#!/usr/bin/env bash
# The local stack, without Docker: a PostgreSQL 15 primary and a streaming hot-standby
# replica from the system binaries, dynalite for DynamoDB (LevelDB on disk, so the
# stack's tables, sessions and counters survive a restart), moto for Secrets Manager and
# SQS, and a second moto for SES alone (what it sent is readable at /moto-api/data.json).
#
#   scripts/stack.sh up [--fresh]   start (create on first use, or anew with --fresh),
#                                   provision tables and secrets, migrate, write the env file
#   scripts/stack.sh stop           stop every process (waiting until each has exited),
#                                   keep the data
#   scripts/stack.sh down           stop and delete the data
#   scripts/stack.sh status         what is running
#   scripts/stack.sh env            print the env file's path (source it to reach the stack)
#   scripts/stack.sh {stop,start}-{writer,replica,moto,dynamodb,aws}   for failover tests
#                                   (aws: DynamoDB and moto together; the SES moto stays)
#
# BH_STACK names the stack (dev by default; make test uses "test" on other ports, so a
# running dev stack is left alone). Ports: BH_PG_PORT, BH_PG_REPLICA_PORT, BH_MOTO_PORT,
# BH_MOTO_SES_PORT (default BH_MOTO_PORT + 1), BH_DYNAMODB_PORT (default BH_MOTO_PORT + 2);
# BH_API_PORT names the API in mailed links. BH_LOCAL_DYNAMODB=moto serves DynamoDB from moto instead of dynalite
# (in memory, ~9x the CPU per call; for comparisons); `up` records the choice in
# $BH_STACK_DIR/local-dynamodb for the stack's later commands.
#
# Key material (the signing key set, the app keys) is made once per stack and kept in
# $BH_STACK_DIR/keys/ (mode 0600); moto is provisioned with it whenever it starts, and
# the secrets' current values are saved there before it stops (a rotated key set
# survives too). Sessions and TOTP secrets sealed with those keys stay usable.
# BH_REPLICA_APPLY_DELAY_MS: the replica replays each commit this long after the primary
# made it (recovery_min_apply_delay; set when the replica is created): 500 on the test
# and bench stacks, so no test passes by luck of timing; 0 on the dev stack.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK=${BH_STACK:-dev}
case $STACK in
  test) base=55440 ;;
  *) base=55430 ;;
esac
case $STACK in
  dev) APPLY_DELAY_MS=${BH_REPLICA_APPLY_DELAY_MS:-0} ;;
  *) APPLY_DELAY_MS=${BH_REPLICA_APPLY_DELAY_MS:-500} ;;
esac
STACK_DIR=${BH_STACK_DIR:-$ROOT/.stack/$STACK}
PG_PORT=${BH_PG_PORT:-$((base + 2))}
REPLICA_PORT=${BH_PG_REPLICA_PORT:-$((base + 3))}
MOTO_PORT=${BH_MOTO_PORT:-$((base + 4))}
SES_PORT=${BH_MOTO_SES_PORT:-$((MOTO_PORT + 1))}
DYNAMODB_PORT=${BH_DYNAMODB_PORT:-$((MOTO_PORT + 2))}
API_PORT=${BH_API_PORT:-$([ "$STACK" = test ] && echo 9010 || echo 9000)}
# The stack's choice, recorded by `up`, holds for its later commands unless overridden.
LOCAL_DYNAMODB=${BH_LOCAL_DYNAMODB:-$(cat "$STACK_DIR/local-dynamodb" 2>/dev/null || echo dynalite)}
case $LOCAL_DYNAMODB in dynalite | moto) ;; *) echo "BH_LOCAL_DYNAMODB must be dynalite or moto, not '$LOCAL_DYNAMODB'" >&2; exit 2 ;; esac
DYNALITE=$ROOT/scripts/dynalite
KEYS_DIR=$STACK_DIR/keys
PG_BIN=${BH_PG_BIN:-/usr/lib/postgresql/15/bin}
VENV=$ROOT/.venv
ENV_FILE=$STACK_DIR/env
DB_NAME=blue_harvest
DB_USER=blue_harvest

say() { printf '[stack:%s] %s\n' "$STACK" "$*"; }
die() { printf '[stack:%s] error: %s\n' "$STACK" "$*" >&2; exit 1; }

# initdb refuses to run as root: as root, PostgreSQL runs as the postgres user, in a
# folder that user can reach (the checkout may sit under a private home).
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user (apt-get install postgresql-15 creates it)"
  as_pg() { runuser -u postgres -- "$@"; }
  mkdir -p "$STACK_DIR"
  if runuser -u postgres -- test -x "$STACK_DIR"; then
    PG_DIR=$STACK_DIR/pg
  else
    PG_DIR=/var/tmp/blue-harvest-$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)
  fi
else
  as_pg() { "$@"; }
  PG_DIR=$STACK_DIR/pg
fi
PRIMARY=$PG_DIR/primary
REPLICA=$PG_DIR/replica
SOCKETS=$PG_DIR/run

require_tools() {
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 server binaries not found in $PG_BIN.
  Install them with: apt-get install postgresql-15   (or set BH_PG_BIN to their folder)"
  command -v python3 >/dev/null || die "python3 not found. Install it with: apt-get install python3 python3-venv"
  command -v curl >/dev/null || die "curl not found. Install it with: apt-get install curl"
}

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

pg_start() {
  local dir=$1 name=$2
  if pg_running "$dir"; then return; fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$PG_DIR/$name.log" -w -t 60 start >/dev/null \
    || die "PostgreSQL $name did not start; see $PG_DIR/$name.log"
}

pg_stop() {
  local dir=$1
  if [ -d "$dir" ] && pg_running "$dir"; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
  fi
}

password() { cat "$STACK_DIR/pg-password"; }

init_primary() {
  say "creating PostgreSQL primary in $PRIMARY (port $PG_PORT)"
  mkdir -p "$PG_DIR" "$SOCKETS"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PRIMARY" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
    || die "initdb failed; see $PG_DIR/initdb.log"
  # Disposable data: durability is traded for speed (fsync off).
  as_pg tee -a "$PRIMARY/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCKETS'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
synchronous_commit = off
max_connections = 200
# Lets a test count the statements one request runs (the posts list is one query).
shared_preload_libraries = 'pg_stat_statements'
EOF
  pg_start "$PRIMARY" primary
  local pw; pw=$(password)
  as_pg "$PG_BIN/psql" -q -h "$SOCKETS" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 <<EOF >/dev/null
CREATE ROLE $DB_USER LOGIN PASSWORD '$pw';
CREATE DATABASE $DB_NAME OWNER $DB_USER;
CREATE ROLE replicator REPLICATION LOGIN PASSWORD '$pw';
\\c $DB_NAME
CREATE EXTENSION pg_stat_statements;
EOF
}

init_replica() {
  say "creating streaming replica in $REPLICA (port $REPLICA_PORT)"
  as_pg env PGPASSWORD="$(password)" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" \
    -U replicator -D "$REPLICA" -R -X stream -c fast \
    || die "pg_basebackup failed"
  # Feedback keeps the primary's vacuum from removing rows replica queries still see,
  # so replay does not stall behind them (Aurora replicas behave alike).
  say "replica apply delay: ${APPLY_DELAY_MS} ms"
  as_pg tee -a "$REPLICA/postgresql.conf" >/dev/null <<EOF
port = $REPLICA_PORT
hot_standby_feedback = on
recovery_min_apply_delay = ${APPLY_DELAY_MS}ms
EOF
  as_pg tee -a "$REPLICA/postgresql.auto.conf" >/dev/null <<EOF
primary_conninfo = 'host=127.0.0.1 port=$PG_PORT user=replicator password=$(password) application_name=replica'
EOF
}

# A process of the stack, by its pid file: running, and stopped (SIGTERM, then waiting
# until it has exited, SIGKILL after 10 s), so its port is free once stop returns.
proc_running() { [ -f "$STACK_DIR/$1.pid" ] && kill -0 "$(cat "$STACK_DIR/$1.pid")" 2>/dev/null; }

proc_stop() {
  local name=$1 pid
  if proc_running "$name"; then
    pid=$(cat "$STACK_DIR/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) did not exit within 10 s of SIGTERM; killing it"
      kill -9 "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  rm -f "$STACK_DIR/$name.pid"
}

# moto_running [NAME]: NAME is moto (Secrets Manager, SQS) or moto-ses (SES).
moto_running() { proc_running "${1:-moto}"; }

moto_start() { # moto_start [NAME PORT]
  local name=${1:-moto} port=${2:-$MOTO_PORT}
  if moto_running "$name"; then return; fi
  if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    die "port $port is already in use (another stack?); set BH_MOTO_PORT/BH_MOTO_SES_PORT or stop it"
  fi
  for attempt in 1 2; do
    say "starting $name on 127.0.0.1:$port"
    nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$STACK_DIR/$name.log" 2>&1 &
    echo $! >"$STACK_DIR/$name.pid"
    for _ in $(seq 1 150); do
      curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null && return
      moto_running "$name" || break
      sleep 0.1
    done
    # Show why: the log is removed with the stack on teardown.
    say "$name did not come up (attempt $attempt); its log:"
    tail -n 20 "$STACK_DIR/$name.log" >&2 || true
    # Nothing to save from a moto that never answered.
    proc_stop "$name"
  done
  die "$name did not start on port $port"
}

moto_stop() { # moto_stop [NAME]
  local name=${1:-moto}
  # The main moto's secrets as they are now (a rotation may have changed them) are
  # what its next start provisions.
  if [ "$name" = moto ] && moto_running && [ -f "$ENV_FILE" ]; then
    save_secrets || say "could not save the secrets before stopping moto"
  fi
  proc_stop "$name"
}

# dynalite: DynamoDB on LevelDB in $STACK_DIR/dynamodb (kept across restarts), from
# scripts/dynalite (npm ci of its lock file on first use).
dynamodb_running() { proc_running dynalite; }

# node (18 or later; Debian 12's nodejs) and npm: Debian's packages when run as root, as
# scripts/browser-test.sh installs its own; otherwise a hint. Then dynalite from the
# lock file, again whenever the lock file is newer than the installed tree.
dynalite_install() {
  local installed=$DYNALITE/node_modules/.package-lock.json
  if [ -f "$DYNALITE/node_modules/dynalite/cli.js" ] && [ "$installed" -nt "$DYNALITE/package-lock.json" ]; then
    return
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing Debian's nodejs and npm (for dynalite, the local DynamoDB)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
        || die "apt-get install nodejs npm failed"
    else
      die "node and npm are needed for the local DynamoDB (dynalite). Install them (Debian: sudo apt-get install nodejs npm), or set BH_LOCAL_DYNAMODB=moto"
    fi
  fi
  local major; major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 18 ] || die "node $(node --version 2>/dev/null) is too old for dynalite (18 or later needed)"
  say "installing dynalite into scripts/dynalite/node_modules (npm ci of its lock file)"
  (cd "$DYNALITE" && npm ci --no-audit --no-fund --silent) || die "npm ci in scripts/dynalite failed"
  touch "$installed"
}

dynamodb_start() {
  [ "$LOCAL_DYNAMODB" = dynalite ] || return 0
  if dynamodb_running; then return; fi
  if curl -s -o /dev/null "http://127.0.0.1:$DYNAMODB_PORT/" 2>/dev/null; then
    die "port $DYNAMODB_PORT is already in use (another stack?); set BH_DYNAMODB_PORT or stop it"
  fi
  dynalite_install
  mkdir -p "$STACK_DIR/dynamodb"
  say "starting dynalite (DynamoDB) on 127.0.0.1:$DYNAMODB_PORT, data in $STACK_DIR/dynamodb"
  # Tables are ACTIVE at once (no CREATING/UPDATING pause to wait out).
  nohup node "$DYNALITE/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$DYNAMODB_PORT" \
    --path "$STACK_DIR/dynamodb" --createTableMs 0 --updateTableMs 0 --deleteTableMs 0 \
    >>"$STACK_DIR/dynalite.log" 2>&1 &
  echo $! >"$STACK_DIR/dynalite.pid"
  for _ in $(seq 1 150); do
    # Any HTTP answer (400 for an unsigned request) means it listens.
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DYNAMODB_PORT/" 2>/dev/null)" != 000 ] && return
    dynamodb_running || break
    sleep 0.1
  done
  tail -n 20 "$STACK_DIR/dynalite.log" >&2 || true
  proc_stop dynalite
  die "dynalite did not start on port $DYNAMODB_PORT"
}

dynamodb_stop() { proc_stop dynalite; }

write_env() {
  local pw; pw=$(password)
  cat >"$ENV_FILE" <<EOF
# Written by scripts/stack.sh for the '$STACK' stack; source it to reach the stack.
export BH_STACK=$STACK
export BH_STACK_DIR=$STACK_DIR
export DATABASE_URL=postgres://$DB_USER:$pw@127.0.0.1:$PG_PORT/$DB_NAME
export DATABASE_URL_REPLICA=postgres://$DB_USER:$pw@127.0.0.1:$REPLICA_PORT/$DB_NAME
export BH_LOCAL_DYNAMODB=$LOCAL_DYNAMODB
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
$([ "$LOCAL_DYNAMODB" = dynalite ] && echo "export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT")
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export RATE_LIMIT_TABLE=blue-harvest-rate-limits
export TOKEN_FAMILIES_TABLE=blue-harvest-token-families
export SIGNING_KEYS_SECRET_ID=blue-harvest/local/signing-keys
export APP_KEYS_SECRET_ID=blue-harvest/local/app-keys
# The functions take their database credentials from this secret, as in AWS (the
# URLs' password serves the tests and tools); rotating it is tested.
export DB_SECRET_ID=blue-harvest/local/db
export ALLOWED_ORIGINS=http://localhost:3000,http://127.0.0.1:3000,https://app.blueharvest.test
# Mail: the job queue and its dead-letter queue (made from template.yaml), the mailer's
# sent markers, SES on its own moto, and where mailed links point (examples/web's
# account page, served by make dev on :3000, talking to this stack's API).
export MAIL_QUEUE_URL=http://127.0.0.1:$MOTO_PORT/123456789012/blue-harvest-mail
export MAIL_DLQ_URL=http://127.0.0.1:$MOTO_PORT/123456789012/blue-harvest-mail-dlq
export MAIL_DELIVERIES_TABLE=blue-harvest-mail-deliveries
export AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$SES_PORT
export MAIL_FROM="Blue Harvest <no-reply@blueharvest.test>"
export MAIL_LINK_BASE_URL="http://127.0.0.1:3000/account.html?api=http://127.0.0.1:$API_PORT"
EOF
  chmod 600 "$ENV_FILE"
}

# Tables: dynalite keeps them (created once, kept as they are). moto keeps nothing:
# its queues and secrets (these from the stack's key files) are made whenever it
# starts, and the SES moto's sender identity whenever that one starts.
provision_tables() {
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  say "provisioning DynamoDB tables"
  "$VENV/bin/python" "$ROOT/scripts/provision.py" tables "$ROOT/template.yaml" \
    "RateLimitTable=$RATE_LIMIT_TABLE" "TokenFamiliesTable=$TOKEN_FAMILIES_TABLE" \
    "MailDeliveriesTable=$MAIL_DELIVERIES_TABLE"
}

provision_moto() {
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  say "provisioning SQS queues and secrets (key material from $KEYS_DIR)"
  "$VENV/bin/python" "$ROOT/scripts/provision.py" queues "$ROOT/template.yaml" \
    "MailDeadLetterQueue=${MAIL_DLQ_URL##*/}" "MailQueue=${MAIL_QUEUE_URL##*/}"
  (umask 077 && mkdir -p "$KEYS_DIR")
  "$VENV/bin/python" "$ROOT/scripts/provision.py" secrets "$SIGNING_KEYS_SECRET_ID" "$APP_KEYS_SECRET_ID" "$KEYS_DIR"
  "$VENV/bin/python" "$ROOT/scripts/provision.py" db-secret "$DB_SECRET_ID" "$DB_USER" "$STACK_DIR/pg-password"
}

provision_ses() {
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  say "provisioning the SES identity"
  "$VENV/bin/python" "$ROOT/scripts/provision.py" ses-identity "$MAIL_FROM"
}

save_secrets() {
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  (umask 077 && mkdir -p "$KEYS_DIR")
  "$VENV/bin/python" "$ROOT/scripts/provision.py" save-secrets "$SIGNING_KEYS_SECRET_ID" "$APP_KEYS_SECRET_ID" "$KEYS_DIR"
}

provision_aws() {
  provision_tables
  provision_moto
  provision_ses
}

migrate() {
  say "applying migrations"
  (cd "$ROOT" && cargo run --quiet -p migrate) >/dev/null
}

wait_for_replica() {
  for _ in $(seq 1 100); do
    if as_pg "$PG_BIN/psql" -qtA -h "$SOCKETS" -p "$PG_PORT" -U postgres \
      -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null | grep -qx '[1-9]'; then
      return
    fi
    sleep 0.1
  done
  die "the replica is not streaming; see $PG_DIR/replica.log"
}

# The stack's ports sit inside Linux's ephemeral range (32768-60999): a client socket
# may hold one as its source port (seen: a TIME-WAIT 127.0.0.1:55442 kept the primary
# from starting for a minute). As root, reserve them so the kernel never hands them out.
reserve_ports() {
  local file=/proc/sys/net/ipv4/ip_local_reserved_ports ports
  [ "$(id -u)" = 0 ] && [ -w "$file" ] || return 0
  ports=$(cat "$file")
  for port in "$PG_PORT" "$REPLICA_PORT" "$MOTO_PORT" "$SES_PORT" "$DYNAMODB_PORT"; do
    ports=${ports:+$ports,}$port
  done
  echo "$ports" >"$file" 2>/dev/null || true
}

cmd_up() {
  require_tools
  reserve_ports
  "$ROOT/scripts/venv.sh"
  if [ "${1:-}" = "--fresh" ]; then cmd_down; fi
  mkdir -p "$STACK_DIR"
  echo "$LOCAL_DYNAMODB" >"$STACK_DIR/local-dynamodb"
  [ -f "$STACK_DIR/pg-password" ] || (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STACK_DIR/pg-password")
  [ -d "$PRIMARY" ] || init_primary
  pg_start "$PRIMARY" primary
  # Lets the functions read pg_stat_replication's lag columns, as RDS's master user can
  # (idempotent, so stacks made before this line get it too).
  as_pg "$PG_BIN/psql" -q -h "$SOCKETS" -p "$PG_PORT" -U postgres -c "GRANT pg_monitor TO $DB_USER" >/dev/null
  [ -d "$REPLICA" ] || init_replica
  pg_start "$REPLICA" replica
  wait_for_replica
  dynamodb_start
  moto_start
  moto_start moto-ses "$SES_PORT"
  write_env
  provision_aws
  migrate
  say "up: primary :$PG_PORT, replica :$REPLICA_PORT (streaming), $(dynamodb_where), moto :$MOTO_PORT, SES moto :$SES_PORT; env in $ENV_FILE"
}

dynamodb_where() {
  if [ "$LOCAL_DYNAMODB" = dynalite ]; then echo "dynalite (DynamoDB) :$DYNAMODB_PORT"; else echo "DynamoDB on moto"; fi
}

cmd_stop() {
  # A server from scripts/serve.sh --detach for this stack would outlive its data.
  for pidfile in "$STACK_DIR/watch.pid" "$STACK_DIR/watch-defaults.pid" "$STACK_DIR/mail-poller.pid"; do
    if [ -f "$pidfile" ]; then
      kill -- "-$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
  moto_stop
  moto_stop moto-ses
  dynamodb_stop
  pg_stop "$REPLICA"
  pg_stop "$PRIMARY"
  say "stopped"
}

cmd_down() {
  if [ -d "$STACK_DIR" ] || [ -d "$PG_DIR" ]; then
    cmd_stop
    rm -rf "$PG_DIR" "$STACK_DIR"
    say "data removed"
  fi
}

cmd_status() {
  local state
  for pair in "primary:$PRIMARY:$PG_PORT" "replica:$REPLICA:$REPLICA_PORT"; do
    IFS=: read -r name dir port <<<"$pair"
    if [ -d "$dir" ] && pg_running "$dir"; then state=running; elif [ -d "$dir" ]; then state=stopped; else state=absent; fi
    say "postgres $name (port $port): $state"
  done
  if [ "$LOCAL_DYNAMODB" = dynalite ]; then
    if dynamodb_running; then state=running; else state=stopped; fi
    say "dynalite, DynamoDB (port $DYNAMODB_PORT): $state"
  fi
  if moto_running; then state=running; else state=stopped; fi
  say "moto (port $MOTO_PORT): $state"
  if moto_running moto-ses; then state=running; else state=stopped; fi
  say "SES moto (port $SES_PORT): $state"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  stop) cmd_stop ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) echo "$ENV_FILE" ;;
  stop-writer) pg_stop "$PRIMARY" ;;
  start-writer) pg_start "$PRIMARY" primary ;;
  stop-replica) pg_stop "$REPLICA" ;;
  start-replica) pg_start "$REPLICA" replica ;;
  stop-moto) moto_stop ;;
  start-moto) moto_start && provision_moto && { [ "$LOCAL_DYNAMODB" = dynalite ] || provision_tables; } ;;
  stop-dynamodb) if [ "$LOCAL_DYNAMODB" = dynalite ]; then dynamodb_stop; else moto_stop; fi ;;
  start-dynamodb) if [ "$LOCAL_DYNAMODB" = dynalite ]; then dynamodb_start; else moto_start && provision_moto; fi && provision_tables ;;
  stop-aws) moto_stop; dynamodb_stop ;;
  start-aws) dynamodb_start && moto_start && provision_tables && provision_moto ;;
  *) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
