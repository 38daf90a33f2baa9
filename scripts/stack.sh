#!/usr/bin/env bash
# Local stack for Roster, without Docker: a real single-node Apache Kafka 4.x (KRaft, combined
# broker+controller, run from the Maven Central jars) and a real Redis, both on 127.0.0.1 only.
#
#   scripts/stack.sh fetch        download the Kafka jars into the cache (no-op when cached)
#   scripts/stack.sh kafka-start  format KRaft storage once, start the broker, wait until healthy
#   scripts/stack.sh kafka-stop
#   scripts/stack.sh redis-start  start redis-server (installing Debian's package if root)
#   scripts/stack.sh redis-stop
#   scripts/stack.sh start        fetch + kafka-start + redis-start (no-op + health check if up)
#   scripts/stack.sh stop         both: SIGTERM, wait, SIGKILL after STACK_STOP_TIMEOUT
#   scripts/stack.sh status       one line per component; exit 0 only if both are healthy
#   scripts/stack.sh env          `export KAFKA_BOOTSTRAP_SERVERS=...` / `export REDIS_URL=...`
#                                 (use: eval "$(scripts/stack.sh env)")
#
# Environment (defaults): KAFKA_VERSION (see below), KAFKA_PORT=39092, KAFKA_CONTROLLER_PORT=39093,
# REDIS_PORT=36379, ROSTER_CACHE=<repo>/.cache, KAFKA_HEAP_OPTS="-Xms256m -Xmx768m",
# KAFKA_START_TIMEOUT=90, REDIS_START_TIMEOUT=20, STACK_STOP_TIMEOUT=30, JAVA_HOME (optional).
# Jars: $ROSTER_CACHE/kafka/<version>/libs. State: <repo>/.stack/{kafka-data,redis,pids,logs}.
# Logs: .stack/logs/kafka.log (log4j2, see scripts/kafka/log4j2.yaml), kafka.out (JVM
# stdout/stderr, normally empty), redis.log, fetch.log (last mvn run).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)

# Kafka version: the newest 4.x on Maven Central when this was written (4.4.0), checked against
# aiokafka 0.14.0 (the workspace pin) for produce, consume in a consumer group, commit and
# committed-offset fetch. aiokafka only speaks the classic group protocol and old-but-retained
# request versions (Metadata v1, Produce v7, Fetch v4, OffsetCommit v2 ...), all still served by
# 4.4; see shared/reference/python-ecosystem.md §2.2. Also checked on 4.4.0: idempotent
# produce, transactions (commit/abort, send_offsets_to_transaction, read_committed); and the
# same group test on KAFKA_VERSION=4.1.2. Gotcha seen on 4.4.0: send_offsets_to_transaction for
# a topic that does not exist gets UNKNOWN_TOPIC_OR_PARTITION, which aiokafka retries forever.
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
KAFKA_PORT=${KAFKA_PORT:-39092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-39093}
REDIS_PORT=${REDIS_PORT:-36379}
BIND_HOST=127.0.0.1
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
REDIS_START_TIMEOUT=${REDIS_START_TIMEOUT:-20}
STACK_STOP_TIMEOUT=${STACK_STOP_TIMEOUT:-30}
STATUS_TIMEOUT=${STATUS_TIMEOUT:-15}

CACHE_DIR=${ROSTER_CACHE:-$REPO_ROOT/.cache}
[[ $CACHE_DIR == /* ]] || CACHE_DIR=$PWD/$CACHE_DIR
KAFKA_CACHE=$CACHE_DIR/kafka
KAFKA_LIBS=$KAFKA_CACHE/$KAFKA_VERSION/libs

STACK_DIR=$REPO_ROOT/.stack
PID_DIR=$STACK_DIR/pids
LOG_DIR=$STACK_DIR/logs
KAFKA_DATA=$STACK_DIR/kafka-data
KAFKA_CONF_DIR=$STACK_DIR/kafka
KAFKA_PROPS=$KAFKA_CONF_DIR/server.properties
KAFKA_STAMP=$KAFKA_CONF_DIR/format.stamp
KAFKA_PIDFILE=$PID_DIR/kafka.pid
KAFKA_LOG=$LOG_DIR/kafka.log
KAFKA_OUT=$LOG_DIR/kafka.out
REDIS_DIR=$STACK_DIR/redis
REDIS_PIDFILE=$PID_DIR/redis.pid
REDIS_LOG=$LOG_DIR/redis.log

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
NODE_ID=1

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
    printf 'stack: ERROR: %s\n' "$*" >&2
    exit 1
}

check_port_var() { # name value
    if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 < 1 || 10#$2 > 65535)); then
        die "$1 must be a TCP port number, got '$2'"
    fi
}
check_port_var KAFKA_PORT "$KAFKA_PORT"
check_port_var KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
check_port_var REDIS_PORT "$REDIS_PORT"
[[ $KAFKA_VERSION =~ ^4\.[0-9]+\.[0-9]+$ ]] || die "KAFKA_VERSION must be 4.x.y, got '$KAFKA_VERSION'"

# ---------------------------------------------------------------- helpers

port_open() { # port -> 0 when something accepts TCP connections on BIND_HOST:port
    (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null
}

pid_alive() { # pid -> 0 when the process exists and is not a zombie
    local stat state
    [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
    stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
    state=${stat##*) }
    state=${state%% *}
    [[ $state != Z && $state != X ]]
}

pid_cmdline() { # pid -> command line with spaces
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
}

read_pidfile() { # file -> pid or nothing
    local pid=""
    if [[ -f $1 ]]; then read -r pid <"$1" 2>/dev/null || true; fi
    [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
    return 0
}

wait_gone() { # pid seconds -> 0 when gone in time
    local deadline=$((SECONDS + $2))
    while pid_alive "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

terminate() { # pid name timeout
    local pid=$1 name=$2 timeout=$3
    log "stopping $name (pid $pid): SIGTERM, up to ${timeout}s"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$timeout"; then
        log "$name (pid $pid) still running after ${timeout}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || die "$name (pid $pid) survived SIGKILL"
    fi
    log "$name stopped"
}

run_python() { # script args... -> runs with the workspace interpreter (aiokafka)
    if [[ -x $REPO_ROOT/.venv/bin/python ]] &&
        "$REPO_ROOT/.venv/bin/python" -c 'import aiokafka' 2>/dev/null; then
        # environment already synced: do not re-sync (others may be editing pyproject/uv.lock)
        (cd "$REPO_ROOT" && uv run --no-sync python "$@")
    else
        (cd "$REPO_ROOT" && uv run --frozen --quiet python "$@")
    fi
}

print_tail() { # file [lines]
    if [[ -s $1 ]]; then
        printf -- '----- last %s lines of %s -----\n' "${2:-60}" "$1" >&2
        tail -n "${2:-60}" "$1" >&2
        printf -- '----- end of %s -----\n' "$1" >&2
    fi
}

take_lock() { # serialise start/stop of this stack (fd 9; children must not inherit it)
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_DIR/.lock"
    flock -w 600 9 || die "another scripts/stack.sh holds $STACK_DIR/.lock"
}

# ---------------------------------------------------------------- fetch

cmd_fetch() {
    if [[ -f $KAFKA_LIBS/.complete ]]; then
        log "kafka $KAFKA_VERSION jars cached in $KAFKA_LIBS"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (install Maven, Debian package 'maven')"
    mkdir -p "$KAFKA_CACHE"
    exec 8>"$KAFKA_CACHE/.fetch.lock"
    flock -w 900 8 || die "timed out waiting for another fetch ($KAFKA_CACHE/.fetch.lock)"
    if [[ -f $KAFKA_LIBS/.complete ]]; then # fetched by a concurrent run meanwhile
        exec 8>&-
        log "kafka $KAFKA_VERSION jars cached in $KAFKA_LIBS"
        return 0
    fi
    log "fetching kafka_2.13 $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
    local tmp
    tmp=$(mktemp -d "$KAFKA_CACHE/.fetch-$KAFKA_VERSION.XXXXXX")
    mkdir -p "$LOG_DIR"
    if ! mvn -B -ntp -f "$SCRIPT_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
        </dev/null >"$LOG_DIR/fetch.log" 2>&1; then
        rm -rf "$tmp"
        print_tail "$LOG_DIR/fetch.log" 40
        die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (log: $LOG_DIR/fetch.log)"
    fi
    [[ -f $tmp/libs/kafka_2.13-$KAFKA_VERSION.jar ]] || {
        rm -rf "$tmp"
        die "fetch finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
    }
    touch "$tmp/libs/.complete"
    rm -rf "$KAFKA_LIBS"
    mkdir -p "$(dirname "$KAFKA_LIBS")"
    mv "$tmp/libs" "$KAFKA_LIBS"
    rm -rf "$tmp"
    exec 8>&-
    log "fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1))"
}

# ---------------------------------------------------------------- kafka

check_java() {
    command -v "$JAVA" >/dev/null || die "java not found (Kafka 4.x needs Java 17+)"
    local v
    v=$("$JAVA" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p')
    if ! [[ $v =~ ^[0-9]+$ ]] || ((v < 17)); then
        die "Kafka 4.x needs Java 17+, '$JAVA' is version '${v:-?}'"
    fi
}

kafka_pid() { # -> pid of OUR broker (pidfile, else a scan for our config path), or nothing
    local pid cmd p
    pid=$(read_pidfile "$KAFKA_PIDFILE")
    if [[ -n $pid ]] && pid_alive "$pid"; then
        cmd=$(pid_cmdline "$pid")
        if [[ $cmd == *kafka.Kafka\ "$KAFKA_PROPS"* ]]; then
            printf '%s\n' "$pid"
            return 0
        fi
    fi
    # pidfile missing/stale: look for a broker started with exactly our server.properties
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        cmd=$(pid_cmdline "$p")
        if [[ $cmd == *kafka.Kafka\ "$KAFKA_PROPS"* ]] && pid_alive "$p"; then
            printf '%s\n' "$p" >"$KAFKA_PIDFILE" 2>/dev/null || true
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 0
}

render_kafka_config() {
    mkdir -p "$KAFKA_CONF_DIR"
    sed -e "s|@BIND_HOST@|$BIND_HOST|g" \
        -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
        -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@KAFKA_DATA_DIR@|$KAFKA_DATA|g" \
        "$SCRIPT_DIR/kafka/server.properties.tmpl" >"$KAFKA_PROPS.tmp"
    mv "$KAFKA_PROPS.tmp" "$KAFKA_PROPS"
}

prop() { # file key -> value
    sed -nE "s/^$2=(.*)$/\1/p" "$1" 2>/dev/null | tail -n 1
}

storage_tool() {
    "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2.yaml" \
        -Dkafka.logs.dir="$LOG_DIR" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool "$@"
}

kafka_format_problem() { # -> prints why the data dir must be (re)formatted; nothing when fine
    local meta=$KAFKA_DATA/meta.properties want_cid want_ver
    if [[ ! -d $KAFKA_DATA ]]; then
        echo "no data dir yet"
        return
    fi
    if [[ ! -f $KAFKA_STAMP ]]; then
        echo "no format stamp ($KAFKA_STAMP): origin of $KAFKA_DATA unknown"
        return
    fi
    want_cid=$(prop "$KAFKA_STAMP" cluster.id)
    want_ver=$(prop "$KAFKA_STAMP" kafka.version)
    if [[ ! -s $meta ]]; then
        echo "$meta missing"
    elif [[ $(prop "$meta" cluster.id) != "$want_cid" || -z $want_cid ]]; then
        echo "formatted with cluster id '$(prop "$meta" cluster.id)', expected '$want_cid'"
    elif [[ $(prop "$meta" node.id) != "$NODE_ID" ]]; then
        echo "formatted for node.id '$(prop "$meta" node.id)', expected $NODE_ID"
    elif [[ ! -s $KAFKA_DATA/bootstrap.checkpoint ]] &&
        ! compgen -G "$KAFKA_DATA/__cluster_metadata-0/*.checkpoint" >/dev/null; then
        # 4.4's format writes the bootstrap records as snapshot 0-0 of __cluster_metadata-0
        # (later snapshots may replace it); older releases wrote <log.dirs>/bootstrap.checkpoint
        echo "no bootstrap checkpoint or metadata snapshot (incomplete format)"
    elif [[ $want_ver != "$KAFKA_VERSION" ]]; then
        # a dir formatted by a newer Kafka cannot be read by an older one; keep it simple and
        # start empty whenever KAFKA_VERSION changes (this is a throw-away dev/CI broker)
        echo "formatted by Kafka $want_ver, running $KAFKA_VERSION"
    fi
}

kafka_format() { # reason
    log "formatting KRaft storage in $KAFKA_DATA ($1)"
    rm -rf "$KAFKA_DATA" "$KAFKA_STAMP"
    mkdir -p "$KAFKA_DATA"
    local cid out
    cid=$(storage_tool random-uuid 2>>"$KAFKA_OUT" | tail -n 1)
    [[ $cid =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid printed '$cid' (see $KAFKA_OUT)"
    # static controller.quorum.voters: format must NOT get --standalone (KAFKA-19489)
    if ! out=$(storage_tool format -t "$cid" -c "$KAFKA_PROPS" 2>&1); then
        printf '%s\n' "$out" >&2
        die "kafka-storage format failed"
    fi
    printf '%s\n' "$out" >>"$KAFKA_OUT"
    printf 'cluster.id=%s\nkafka.version=%s\nformatted.at=%s\n' \
        "$cid" "$KAFKA_VERSION" "$(date -u +%FT%TZ)" >"$KAFKA_STAMP"
}

kafka_launch() { # -> prints pid
    local pid p heap
    read -r -a heap <<<"$KAFKA_HEAP_OPTS"
    printf '[%s] ===== scripts/stack.sh: starting Kafka %s on %s:%s =====\n' \
        "$(date '+%F %T,%3N')" "$KAFKA_VERSION" "$BIND_HOST" "$KAFKA_PORT" >>"$KAFKA_LOG"
    # setsid: own session, so a Ctrl-C / hang-up of the caller does not reach the broker.
    # cwd = logs dir, so a JVM crash file (hs_err_pid*.log) lands with the other logs.
    (cd "$LOG_DIR" && exec setsid "$JAVA" "${heap[@]}" \
        -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.shutdownHookEnabled=false \
        -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2.yaml" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS") \
        </dev/null >>"$KAFKA_OUT" 2>&1 9>&- &
    pid=$!
    # $! is the java pid (setsid/exec do not fork here); double-check by command line
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [[ $(pid_cmdline "$pid") == *kafka.Kafka* ]] && break
        p=$(kafka_pid)
        if [[ -n $p ]]; then
            pid=$p
            break
        fi
        sleep 0.1
    done
    printf '%s\n' "$pid" >"$KAFKA_PIDFILE"
    printf '%s\n' "$pid"
}

kafka_wait_healthy() { # pid timeout -> 0 healthy, 1 not healthy in time, 2 process died
    local pid=$1 deadline=$((SECONDS + $2)) remaining
    while ! port_open "$KAFKA_PORT"; do
        pid_alive "$pid" || return 2
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
    remaining=$((deadline - SECONDS))
    ((remaining >= 5)) || remaining=5
    if run_python "$SCRIPT_DIR/wait_kafka.py" --bootstrap "$BIND_HOST:$KAFKA_PORT" \
        --pid "$pid" "$remaining" >&2; then
        return 0
    fi
    pid_alive "$pid" || return 2
    return 1
}

# log lines that mean "the data dir is unusable": worth one wipe + reformat + retry
KAFKA_STORAGE_ERRORS='InconsistentClusterIdException|meta\.properties|CorruptRecordException|KafkaStorageException|Invalid cluster\.id|[Cc]orrupt|quorum-state|bootstrap\.checkpoint|Failed to read|Unable to read|NoSuchFileException|directory\.id|Invalid (ClusterId|directory)'

kafka_storage_errors() { # byte offset of this start in kafka.log -> matching error lines
    { tail -c "+$1" "$KAFKA_LOG" 2>/dev/null || true; cat "$KAFKA_OUT" 2>/dev/null || true; } |
        grep -E '(ERROR|FATAL|Exception)' | grep -E "$KAFKA_STORAGE_ERRORS" || true
}

cmd_kafka_start() {
    cmd_fetch
    check_java
    mkdir -p "$PID_DIR" "$LOG_DIR" "$KAFKA_CONF_DIR"
    local pid rc attempt log_start reason
    pid=$(kafka_pid)
    if [[ -n $pid ]]; then
        log "kafka already running (pid $pid); checking health"
        rc=0
        kafka_wait_healthy "$pid" "$KAFKA_START_TIMEOUT" || rc=$?
        if ((rc != 0)); then
            print_tail "$KAFKA_LOG"
            die "running kafka (pid $pid) is not healthy; try: scripts/stack.sh kafka-stop && scripts/stack.sh kafka-start"
        fi
        return 0
    fi
    rm -f "$KAFKA_PIDFILE"
    local port
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$port" && die "port $BIND_HOST:$port is already in use by another process (not our broker)"
    done
    render_kafka_config
    reason=""
    for attempt in 1 2; do
        : >"$KAFKA_OUT"
        [[ -n $reason ]] || reason=$(kafka_format_problem)
        [[ -z $reason ]] || kafka_format "$reason"
        log_start=$(($(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0) + 1))
        local t0=$SECONDS
        pid=$(kafka_launch)
        log "kafka $KAFKA_VERSION starting (pid $pid), waiting up to ${KAFKA_START_TIMEOUT}s for health"
        rc=0
        kafka_wait_healthy "$pid" "$KAFKA_START_TIMEOUT" || rc=$?
        if ((rc == 0)); then
            log "kafka healthy at $BIND_HOST:$KAFKA_PORT after $((SECONDS - t0))s (pid $pid, logs $KAFKA_LOG)"
            return 0
        fi
        if ((rc == 2)) && ((attempt == 1)) && [[ -n $(kafka_storage_errors "$log_start") ]]; then
            log "kafka exited during startup with a storage error; wiping $KAFKA_DATA and retrying once:"
            kafka_storage_errors "$log_start" | sort -u | tail -n 5 >&2
            rm -f "$KAFKA_PIDFILE"
            reason="the broker failed on its data dir"
            continue
        fi
        break
    done
    if pid_alive "$pid"; then
        log "kafka (pid $pid) not healthy within ${KAFKA_START_TIMEOUT}s; stopping it"
        terminate "$pid" kafka 10 || true
    fi
    rm -f "$KAFKA_PIDFILE"
    print_tail "$KAFKA_LOG" 80
    print_tail "$KAFKA_OUT" 40
    die "kafka did not become healthy (see $KAFKA_LOG)"
}

cmd_kafka_stop() {
    local pid
    pid=$(kafka_pid)
    if [[ -z $pid ]]; then
        log "kafka not running"
    else
        terminate "$pid" kafka "$STACK_STOP_TIMEOUT"
    fi
    rm -f "$KAFKA_PIDFILE"
}

kafka_status() { # -> prints one line, returns 0 when healthy
    local pid out
    pid=$(kafka_pid)
    if [[ -z $pid ]]; then
        echo "kafka: stopped (bootstrap $BIND_HOST:$KAFKA_PORT, version $KAFKA_VERSION)"
        return 1
    fi
    if out=$(run_python "$SCRIPT_DIR/wait_kafka.py" --bootstrap "$BIND_HOST:$KAFKA_PORT" \
        --pid "$pid" "$STATUS_TIMEOUT" 2>&1); then
        echo "kafka: healthy pid=$pid bootstrap=$BIND_HOST:$KAFKA_PORT version=$KAFKA_VERSION ($(tail -n 1 <<<"$out"))"
        return 0
    fi
    echo "kafka: UNHEALTHY pid=$pid bootstrap=$BIND_HOST:$KAFKA_PORT ($(tail -n 1 <<<"$out"))"
    return 1
}

# ---------------------------------------------------------------- redis

redis_ping() { # -> 0 when our port answers PING with +PONG
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "PING\r\n" >&3
        IFS= read -r -t 2 reply <&3 || exit 1
        [[ $reply == "+PONG"* ]]' "$BIND_HOST" "$REDIS_PORT" 2>/dev/null
}

redis_pid() { # -> pid of OUR redis (from its pidfile, checked by command line), or nothing
    local pid
    pid=$(read_pidfile "$REDIS_PIDFILE")
    if [[ -n $pid ]] && pid_alive "$pid" && [[ $(pid_cmdline "$pid") == *redis*":$REDIS_PORT"* ]]; then
        printf '%s\n' "$pid"
    fi
    return 0
}

ensure_redis_installed() {
    command -v redis-server >/dev/null && return 0
    if [[ $(id -u) -ne 0 ]]; then
        die "redis-server not found; install the Debian package 'redis-server' (apt-get install redis-server)"
    fi
    log "redis-server not found; installing Debian package 'redis-server' with apt-get"
    # Keep the package from starting its own system instance on 6379 (we run our own): the
    # standard Debian policy-rc.d mechanism, only added when the machine has none.
    local policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# added by roster scripts/stack.sh during apt-get install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >&2 || rc=$?
    ((added_policy == 0)) || rm -f "$policy"
    ((rc == 0)) || die "apt-get install redis-server failed (exit $rc)"
    command -v redis-server >/dev/null || die "redis-server still not on PATH after apt-get install"
}

cmd_redis_start() {
    ensure_redis_installed
    mkdir -p "$PID_DIR" "$LOG_DIR" "$REDIS_DIR"
    local pid deadline
    pid=$(redis_pid)
    if [[ -n $pid ]]; then
        deadline=$((SECONDS + REDIS_START_TIMEOUT))
        until redis_ping; do
            if ((SECONDS >= deadline)) || ! pid_alive "$pid"; then
                print_tail "$REDIS_LOG" 40
                die "running redis (pid $pid) does not answer PING on $BIND_HOST:$REDIS_PORT"
            fi
            sleep 0.2
        done
        log "redis already running (pid $pid), PING ok"
        return 0
    fi
    rm -f "$REDIS_PIDFILE"
    port_open "$REDIS_PORT" && die "port $BIND_HOST:$REDIS_PORT is already in use by another process (not our redis)"
    log "starting redis-server on $BIND_HOST:$REDIS_PORT ($(redis-server --version | sed -nE 's/.* v=([^ ]+).*/v\1/p'))"
    if ! (cd "$REDIS_DIR" && redis-server --port "$REDIS_PORT" --bind "$BIND_HOST" \
        --dir "$REDIS_DIR" --appendonly yes --daemonize yes \
        --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --save "") </dev/null >&2 9>&-; then
        print_tail "$REDIS_LOG" 40
        die "redis-server failed to start"
    fi
    deadline=$((SECONDS + REDIS_START_TIMEOUT))
    until redis_ping; do
        if ((SECONDS >= deadline)); then
            print_tail "$REDIS_LOG" 40
            die "redis did not answer PING on $BIND_HOST:$REDIS_PORT within ${REDIS_START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    log "redis healthy at redis://$BIND_HOST:$REDIS_PORT/0 (pid $(redis_pid), log $REDIS_LOG)"
}

cmd_redis_stop() {
    local pid
    pid=$(redis_pid)
    if [[ -z $pid ]]; then
        log "redis not running"
    else
        terminate "$pid" redis "$STACK_STOP_TIMEOUT"
    fi
    rm -f "$REDIS_PIDFILE"
}

redis_status() {
    local pid
    pid=$(redis_pid)
    if [[ -z $pid ]]; then
        echo "redis: stopped (url redis://$BIND_HOST:$REDIS_PORT/0)"
        return 1
    fi
    if redis_ping; then
        echo "redis: healthy pid=$pid url=redis://$BIND_HOST:$REDIS_PORT/0"
        return 0
    fi
    echo "redis: UNHEALTHY pid=$pid url=redis://$BIND_HOST:$REDIS_PORT/0 (no PONG)"
    return 1
}

# ---------------------------------------------------------------- commands

cmd_status() {
    local rc=0
    kafka_status || rc=1
    redis_status || rc=1
    return "$rc"
}

cmd_env() {
    printf 'export KAFKA_BOOTSTRAP_SERVERS=%s:%s\n' "$BIND_HOST" "$KAFKA_PORT"
    printf 'export REDIS_URL=redis://%s:%s/0\n' "$BIND_HOST" "$REDIS_PORT"
}

usage() {
    sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

main() {
    local cmd=${1:-help}
    case $cmd in
    fetch) cmd_fetch ;;
    kafka-start)
        take_lock
        cmd_kafka_start
        ;;
    kafka-stop)
        take_lock
        cmd_kafka_stop
        ;;
    redis-start)
        take_lock
        cmd_redis_start
        ;;
    redis-stop)
        take_lock
        cmd_redis_stop
        ;;
    start)
        take_lock
        cmd_kafka_start # fetches first
        cmd_redis_start
        ;;
    stop)
        take_lock
        local rc=0
        (cmd_kafka_stop) || rc=1
        (cmd_redis_stop) || rc=1
        return "$rc"
        ;;
    status) cmd_status ;;
    env) cmd_env ;;
    help | -h | --help) usage ;;
    *)
        usage >&2
        die "unknown command '$cmd'"
        ;;
    esac
}

main "$@"
