#!/usr/bin/env bash
# The desk's production shape on this machine, as README "Production" describes it, on
# loopback ports (docs/operations.md):
#
#   nginx         https://127.0.0.1:8443 (TLS, self-signed) and http://127.0.0.1:8080 (redirect)
#   pages         gunicorn, 4 gthread workers of 4 threads, 127.0.0.1:8000 (pages, API, /metrics)
#   events        gunicorn, 1 gevent worker, 127.0.0.1:8001 (/events)
#   worker1, 2    flask desk worker (rq)
#   scheduler     flask desk scheduler
#   idp           tests/idp.py on 127.0.0.1:8180, standing in for the region's Keycloak
#
# on PostgreSQL (desk_prod, desk_prod_training) and Redis (db 3). Everything it makes is under
# instance/production/: env (the secrets, mode 600), tls/, nginx/, logs/<name>.log, run/<name>.pid,
# prometheus/ and people.json (the IdP's people and their password, mode 600).
#
#   scripts/production.sh start            start whatever is not running; wait for /readyz
#   scripts/production.sh stop             stop everything (gracefully, then KILL)
#   scripts/production.sh status           each process alive or not, and /readyz
#   scripts/production.sh kill NAME        SIGKILL one component (its process group)
#   scripts/production.sh revive NAME      start that component again, with the same command
#   scripts/production.sh run CMD…         run a command with the desk's production environment
#   scripts/production.sh nginx-config DIR write nginx.conf and a certificate under DIR (tests)
#
# NAME is one of: pages, events, worker1, worker2, scheduler, nginx, idp.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$ROOT/instance/production
BIN=$ROOT/.venv/bin
LOGS=$STATE/logs
RUN=$STATE/run

# nginx's ports: DESK_HTTPS_PORT and DESK_HTTP_PORT, else those of the running shape (kept in
# run/ports at its start), else 8443 and 8080.
read -r KEPT_HTTPS KEPT_HTTP 2>/dev/null <"$RUN/ports" || true
HTTPS_PORT=${DESK_HTTPS_PORT:-${KEPT_HTTPS:-8443}}
HTTP_PORT=${DESK_HTTP_PORT:-${KEPT_HTTP:-8080}}
PAGES_PORT=8000 # README's nginx block names 8000 and 8001
EVENTS_PORT=8001
IDP_PORT=8180
PEOPLE=${DESK_IDP_PEOPLE:-200}
LEADS=${DESK_IDP_LEADS:-5}
STOP_TIMEOUT=${DESK_STOP_TIMEOUT:-40}
WANTED_OPEN_FILES=65536

DATABASE=desk_prod
TRAINING_DATABASE=desk_prod_training
PG=postgresql://postgres@127.0.0.1:5432

# In start order; stopped in reverse.
COMPONENTS=(idp pages events worker1 worker2 scheduler nginx)

say() { printf '%s\n' "$*"; }
fail() {
  printf 'production.sh: %s\n' "$*" >&2
  exit 1
}

# --- files made once -------------------------------------------------------------------------

nginx_binary() {
  if command -v nginx >/dev/null 2>&1; then
    command -v nginx
  elif [ -x /usr/sbin/nginx ]; then
    echo /usr/sbin/nginx
  fi
}

install_tools() {
  local missing=()
  [ -n "$(nginx_binary)" ] || missing+=(nginx-light)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || fail "install ${missing[*]} (apt-get install ${missing[*]}) or run as root"
  say "Installing ${missing[*]}…"
  # Where services start on installation, Debian's package starts an nginx of its own on
  # port 80: it is stopped again.
  if ! apt-get install -y -qq "${missing[@]}" >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    "$(nginx_binary)" -s quit 2>/dev/null || true
  fi
}

# A self-signed certificate for 127.0.0.1 and localhost, made once.
make_certificate() {
  local dir=$1/tls
  [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && return
  mkdir -p "$dir"
  chmod 700 "$dir"
  (
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -sha256 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  )
  chmod 644 "$dir/cert.pem"
}

# The open files nginx and the events gunicorn get: 65536, or the hard limit where it is lower
# and cannot be raised (a container without CAP_SYS_RESOURCE). 5,000 streams need over 10,240.
open_files() {
  if (ulimit -n "$WANTED_OPEN_FILES") 2>/dev/null; then
    echo "$WANTED_OPEN_FILES"
  else
    ulimit -Hn
  fi
}

# scripts/nginx.conf with its placeholders filled in, under $1/nginx/nginx.conf.
write_nginx_config() {
  local prefix=$1
  mkdir -p "$prefix/nginx" "$prefix/logs"
  local code='/^[[:space:]]*#/!' # the template's comments keep the placeholders' names
  sed -e "${code}s|@PREFIX@|$prefix|g" -e "${code}s|@HTTPS_PORT@|$HTTPS_PORT|g" \
    -e "${code}s|@HTTP_PORT@|$HTTP_PORT|g" -e "${code}s|@OPEN_FILES@|$(open_files)|g" \
    "$ROOT/scripts/nginx.conf" >"$prefix/nginx/nginx.conf.new"
  mv "$prefix/nginx/nginx.conf.new" "$prefix/nginx/nginx.conf"
}

# The secrets, generated once; never in the repository.
make_secrets() {
  [ -s "$STATE/env" ] && return
  mkdir -p "$STATE"
  (
    umask 077
    "$BIN/python" - >"$STATE/env.new" <<'EOF'
import secrets

print("# The production shape's secrets, made once by scripts/production.sh. Never commit.")
print(f"DESK_SECRET_KEY={secrets.token_hex(32)}")
print(f"DESK_KEYCLOAK_CLIENT_SECRET={secrets.token_urlsafe(32)}")
print(f"DESK_METRICS_TOKEN={secrets.token_urlsafe(32)}")
EOF
  )
  mv "$STATE/env.new" "$STATE/env"
  chmod 600 "$STATE/env"
}

# The environment of every desk process (README, "Production").
load_environment() {
  set -a
  # shellcheck source=/dev/null
  . "$STATE/env"
  set +a
  export DATABASE_URL=$PG/$DATABASE
  export DESK_TRAINING_DATABASE_URL=$PG/$TRAINING_DATABASE
  export REDIS_URL=redis://127.0.0.1:6379/3
  export DESK_SECURE_COOKIES=1 DESK_PRODUCTION=1 DESK_TRUSTED_PROXIES=1 FLASK_APP=desk
  export DESK_KEYCLOAK_URL=http://127.0.0.1:$IDP_PORT/
  export DESK_KEYCLOAK_REALM=itauusimaa DESK_KEYCLOAK_CLIENT_ID=desk
  # As tests/test_sso.py configures the desk against the same provider.
  export DESK_KEYCLOAK_ROLES=desk-professional=professional,desk-team-lead=team_lead,desk-trainer=trainer,desk-trainee=trainee
  export DESK_KEYCLOAK_MUNICIPALITY_CLAIM=municipalities
  export PROMETHEUS_MULTIPROC_DIR=$STATE/prometheus
  export PYTHONUNBUFFERED=1
  unset DESK_OUTBOX_THREAD
}

make_databases() {
  local name
  for name in "$DATABASE" "$TRAINING_DATABASE"; do
    if [ -z "$(psql -X -q -At -d "$PG/postgres" \
      -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
      say "Creating database $name"
      psql -X -q -d "$PG/postgres" -c "CREATE DATABASE \"$name\""
    fi
  done
}

# --- processes -------------------------------------------------------------------------------

pidfile() { echo "$RUN/$1.pid"; }

# The kernel's start time of a live process: with the pid, it tells our process from a later
# one that happens to get the same pid. Nothing for a zombie (dead, not yet reaped).
started_at() {
  local stat
  stat=$(sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null) || return 0
  [ "${stat%% *}" = Z ] || echo "$stat" | cut -d' ' -f20
}

pid_of() {
  local file pid since
  file=$(pidfile "$1")
  [ -r "$file" ] || return 1
  read -r pid since <"$file" || true
  [ -n "${pid:-}" ] && [ -n "${since:-}" ] && [ "$(started_at "$pid")" = "$since" ] || return 1
  echo "$pid"
}

alive() { pid_of "$1" >/dev/null; }

# launch NAME OPEN_FILES COMMAND…: in the background, in a session of its own (so that `kill`
# reaches its workers too), output appended to logs/NAME.log.
launch() {
  local name=$1 files=$2 pid
  shift 2
  (
    if [ "$files" -gt 0 ]; then ulimit -n "$files"; fi
    exec setsid "$@"
  ) >>"$LOGS/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid $(started_at "$pid")" >"$(pidfile "$name")"
}

start_component() {
  local name=$1
  case $name in
    idp)
      launch idp 0 "$BIN/python" -m tests.idp --port "$IDP_PORT" --people "$PEOPLE" \
        --leads "$LEADS" --output "$STATE/people.json" --key-file "$STATE/idp-key.json"
      ;;
    pages)
      launch pages 0 "$BIN/gunicorn" -c python:desk.gunicorn -w 4 -k gthread --threads 4 \
        --worker-connections 10 -b "127.0.0.1:$PAGES_PORT" 'desk:create_app()'
      ;;
    events)
      launch events "$(open_files)" "$BIN/gunicorn" -c python:desk.gunicorn -w 1 -k gevent \
        --worker-connections 5000 -b "127.0.0.1:$EVENTS_PORT" 'desk:create_app()'
      ;;
    worker1 | worker2) launch "$name" 0 "$BIN/flask" desk worker ;;
    scheduler) launch scheduler 0 "$BIN/flask" desk scheduler ;;
    nginx)
      write_nginx_config "$STATE"
      launch nginx "$(open_files)" "$(nginx_binary)" -c "$STATE/nginx/nginx.conf" -p "$STATE/"
      ;;
    *) fail "no such component: $name (${COMPONENTS[*]})" ;;
  esac
}

# What answers when a component is up: a URL, or nothing (it stays alive).
probe_url() {
  case $1 in
    idp) echo "http://127.0.0.1:$IDP_PORT/realms/itauusimaa/.well-known/openid-configuration" ;;
    pages) echo "http://127.0.0.1:$PAGES_PORT/healthz" ;;
    events) echo "http://127.0.0.1:$EVENTS_PORT/healthz" ;;
    nginx) echo "https://127.0.0.1:$HTTPS_PORT/healthz" ;;
  esac
}

answers() { curl -fsk -o /dev/null --max-time 2 "$1"; }

# Wait until the component answers (or, for a worker or the scheduler, is still alive after
# two seconds); on failure show the end of its log.
wait_for() {
  local name=$1 url tries=60
  url=$(probe_url "$name")
  for _ in $(seq 1 "$tries"); do
    if ! alive "$name"; then
      say "$name exited; the end of $LOGS/$name.log:" >&2
      tail -n 15 "$LOGS/$name.log" >&2
      return 1
    fi
    if [ -n "$url" ]; then
      answers "$url" && return 0
    else
      sleep 2
      alive "$name" && return 0
      continue
    fi
    sleep 0.5
  done
  say "$name did not answer at $url within $((tries / 2)) s; see $LOGS/$name.log" >&2
  return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_of() {
  case $1 in
    idp) echo "$IDP_PORT" ;;
    pages) echo "$PAGES_PORT" ;;
    events) echo "$EVENTS_PORT" ;;
    nginx) echo "$HTTPS_PORT $HTTP_PORT" ;;
  esac
}

start_one() {
  local name=$1 port
  for port in $(port_of "$name"); do
    port_in_use "$port" && fail "port $port is taken by a process this script did not start"
  done
  start_component "$name"
  if [ "$name" = scheduler ]; then
    # A scheduler that was killed holds its lock in Redis for up to 90 s (three intervals),
    # and a new one refuses to start meanwhile: try again, as a supervisor would.
    local deadline=$((SECONDS + 100))
    until wait_for scheduler 2>/dev/null; do
      [ "$SECONDS" -lt "$deadline" ] || {
        wait_for scheduler
        return 1
      }
      say "the scheduler exited (a killed one's lock stays in Redis until it expires): again in 5 s"
      sleep 5
      start_component scheduler
    done
    return 0
  fi
  wait_for "$name"
}

# Graceful stop signal of each component: nginx finishes its requests (QUIT; open streams
# are closed after worker_shutdown_timeout), gunicorn its requests (TERM), an rq worker its job.
stop_signal() {
  case $1 in
    nginx) echo QUIT ;;
    *) echo TERM ;;
  esac
}

# Stop the named components together: their signal, then KILL to whatever is left of each
# process group after STOP_TIMEOUT seconds.
stop_components() {
  local name pid waiting=() left
  for name in "$@"; do
    if pid=$(pid_of "$name"); then
      kill -s "$(stop_signal "$name")" "$pid" 2>/dev/null || true
      waiting+=("$name:$pid")
    else
      rm -f "$(pidfile "$name")"
    fi
  done
  [ ${#waiting[@]} -eq 0 ] && return
  for _ in $(seq 1 $((STOP_TIMEOUT * 2))); do
    left=()
    for entry in "${waiting[@]}"; do alive "${entry%%:*}" && left+=("$entry"); done
    [ ${#left[@]} -eq 0 ] && break
    sleep 0.5
  done
  for entry in "${waiting[@]}"; do
    name=${entry%%:*} pid=${entry#*:}
    if alive "$name"; then
      say "$name did not stop within $STOP_TIMEOUT s: KILL"
      kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid" 2>/dev/null || true
    fi
    # What the component left of its group (a worker of a master that is gone).
    if pgrep -g "$pid" >/dev/null 2>&1; then kill -s KILL -- "-$pid" 2>/dev/null || true; fi
    rm -f "$(pidfile "$name")"
    say "stopped $name"
  done
}

readiness() { curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "https://127.0.0.1:$HTTPS_PORT/readyz" || true; }

# --- commands --------------------------------------------------------------------------------

prepare() {
  cd "$ROOT"
  [ -x "$BIN/gunicorn" ] || fail "no virtualenv at $ROOT/.venv: run make setup"
  install_tools
  mkdir -p "$STATE" "$LOGS" "$RUN"
  make_certificate "$STATE"
  make_secrets
  load_environment
}

cmd_start() {
  prepare
  local name running=() missing=()
  for name in "${COMPONENTS[@]}"; do
    if alive "$name"; then running+=("$name"); else missing+=("$name"); fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "The production shape is already running (scripts/production.sh status)."
    return
  fi
  "$ROOT/scripts/services.sh" >/dev/null
  make_databases
  if [ ${#running[@]} -eq 0 ]; then
    # prometheus_client's multi-process folder: emptied before any process starts.
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    echo "$HTTPS_PORT $HTTP_PORT" >"$RUN/ports"
  else
    say "Already running: ${running[*]}; starting ${missing[*]}"
  fi
  for name in "${missing[@]}"; do
    if [ "$name" = pages ]; then
      # Migrate and load reference data (idempotent), before the first desk process.
      say "flask desk init (log: $LOGS/init.log)"
      if ! "$BIN/flask" desk init >>"$LOGS/init.log" 2>&1; then
        tail -n 20 "$LOGS/init.log" >&2
        fail "flask desk init failed"
      fi
    fi
    say "starting $name"
    start_one "$name" || fail "$name did not start (scripts/production.sh stop cleans up)"
  done
  say "waiting for https://127.0.0.1:$HTTPS_PORT/readyz"
  for _ in $(seq 1 120); do
    [ "$(readiness)" = 200 ] && break
    sleep 0.5
  done
  [ "$(readiness)" = 200 ] || fail "/readyz does not answer 200: $(curl -sk "https://127.0.0.1:$HTTPS_PORT/readyz")"
  cat <<EOF

The desk runs in its production shape.
  https://127.0.0.1:$HTTPS_PORT/        (self-signed: $STATE/tls/cert.pem; http://127.0.0.1:$HTTP_PORT redirects)
  sign in through the IdP stand-in at http://127.0.0.1:$IDP_PORT/ as pro0001…pro$(printf '%04d' "$PEOPLE") or lead01…lead$(printf '%02d' "$LEADS");
  the password is in $STATE/people.json
  metrics: curl -H "Authorization: Bearer \$(grep ^DESK_METRICS_TOKEN= $STATE/env | cut -d= -f2-)" http://127.0.0.1:$PAGES_PORT/metrics
           (from loopback also without the token; through nginx it is 404)
  logs: $LOGS/   stop: scripts/production.sh stop
EOF
}

cmd_stop() {
  cd "$ROOT"
  mkdir -p "$RUN"
  stop_components nginx
  stop_components pages events worker1 worker2 scheduler
  stop_components idp
  rm -f "$RUN/ports"
}

cmd_status() {
  cd "$ROOT"
  local name pid up=0 code
  for name in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$name"); then
      printf '%-10s alive  pid %s\n' "$name" "$pid"
      up=$((up + 1))
    else
      printf '%-10s down\n' "$name"
    fi
  done
  code=$(readiness)
  printf '%-10s %s\n' readyz "${code:-no answer}"
  [ "$up" -eq ${#COMPONENTS[@]} ] && [ "$code" = 200 ]
}

known() {
  local name
  for name in "${COMPONENTS[@]}"; do [ "$name" = "${1:-}" ] && return 0; done
  fail "name one of: ${COMPONENTS[*]}"
}

cmd_kill() {
  known "${1:-}"
  local pid
  pid=$(pid_of "$1") || fail "$1 is not running"
  # The whole process group: a gunicorn's or nginx's workers die with their master, as in a
  # crash of the machine's part; nothing is told to stop.
  kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid"
  say "killed $1 (pid $pid)"
}

cmd_revive() {
  known "${1:-}"
  prepare
  if alive "$1"; then
    say "$1 is already running"
    return
  fi
  start_one "$1" || fail "$1 did not start"
  say "revived $1 (pid $(pid_of "$1"))"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill) cmd_kill "${2:-}" ;;
  revive) cmd_revive "${2:-}" ;;
  run)
    shift
    [ $# -gt 0 ] || fail "run what? e.g. scripts/production.sh run .venv/bin/flask desk token list"
    prepare
    exec "$@"
    ;;
  nginx-config)
    [ -n "${2:-}" ] || fail "nginx-config DIR"
    mkdir -p "$2"
    dir=$(cd "$2" && pwd)
    make_certificate "$dir"
    write_nginx_config "$dir"
    echo "$dir/nginx/nginx.conf"
    ;;
  *)
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
