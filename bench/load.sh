#!/bin/bash
# bench/load.sh: the example receiver against Postfix's own test server,
# both driven by Postfix's load generator, on loopback only.
#
#   build/smtp-sink --listen 127.0.0.1:PORT      (examples/smtp-sink.c)
#   /usr/sbin/smtp-sink -u nobody 127.0.0.1:PORT 256     (Postfix)
#   /usr/sbin/smtp-source -s SESSIONS -m COUNT -l SIZE ... 127.0.0.1:PORT
#
# For 1 KB and 100 KB messages and 1 and 20 concurrent sessions, each sink
# gets the same smtp-source command once; printed: messages per second
# (wall time of smtp-source), the sink's CPU seconds (utime + stime from
# /proc/PID/stat, before and after) and the ratios.  smtp-source opens one
# session per message (its default), so connection set-up is part of the
# load, as for a real inbound server.
#
# Installs nothing: needs Debian's postfix package (the daemon is never
# started; only the two test programs are used) and build/smtp-sink
# (`make load` builds it).  Counts are bounded: LOAD_SMALL (default 20000)
# messages of 1 KB, LOAD_LARGE (default 2000) of 100 KB.  Our sink's
# per-transaction log on stderr goes to a file and is checked afterwards:
# every message must have been accepted (result="250 ...") exactly once.
set -u
BUILD=${BUILD:-build}
SINK=${SINK:-$BUILD/smtp-sink}
PF_SINK=${PF_SINK:-/usr/sbin/smtp-sink}
PF_SOURCE=${PF_SOURCE:-/usr/sbin/smtp-source}
SMALL=${LOAD_SMALL:-20000}
LARGE=${LOAD_LARGE:-2000}
HZ=$(getconf CLK_TCK)

for f in "$PF_SINK" "$PF_SOURCE"; do
    if [ ! -x "$f" ]; then
        echo "load: SKIP: $f missing (Debian package postfix:" \
            "DEBIAN_FRONTEND=noninteractive apt-get install -y postfix)"
        exit 0
    fi
done
if [ ! -x "$SINK" ]; then
    echo "load: $SINK missing (make $SINK)"
    exit 1
fi

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && stop "$pid"
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listen PORT: until something accepts on 127.0.0.1:PORT (5 s at most)
wait_listen() {
    local i
    for i in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# tree PID: the process and all its descendants (Postfix's smtp-sink forks:
# with -u the work is done by a child)
tree() {
    local p pids=$1 all=$1 kids
    while [ -n "$pids" ]; do
        kids=
        for p in $pids; do
            kids="$kids $(ps -o pid= --ppid "$p" 2>/dev/null)"
        done
        pids=$(echo $kids)
        all="$all $pids"
    done
    echo $all
}

# stop PID: ends the sink we started and its children
stop() {
    local all
    all=$(tree "$1")
    kill $all 2>/dev/null
    wait "$1" 2>/dev/null
}

# cpu_ticks PID: CPU time of the process tree, in clock ticks (utime +
# stime, plus cutime + cstime for children already reaped)
cpu_ticks() {
    local p t=0
    for p in $(tree "$1"); do
        # the command name (field 2) may hold spaces: cut after the last ')'
        [ -r "/proc/$p/stat" ] &&
            t=$((t + $(sed 's/.*) //' "/proc/$p/stat" |
                       awk '{ print $12 + $13 + $14 + $15 }')))
    done
    echo "$t"
}

# run NAME SIZE SESSIONS COUNT: prints "msgs_per_s cpu_s"
run() {
    local name=$1 size=$2 sessions=$3 count=$4 port t0 t1 c0 c1 rc
    # run is called in $(...): a subshell with its own exit trap
    trap '[ -n "$pid" ] && stop "$pid"' EXIT
    port=$(free_port)
    if [ "$name" = postfix ]; then
        # -u: required when run as root; it drops to nobody after bind
        "$PF_SINK" -u nobody -m 512 127.0.0.1:"$port" 512 \
            >"$tmp/$name.out" 2>&1 &
    else
        "$SINK" --listen 127.0.0.1:"$port" --max-conn 512 \
            >"$tmp/$name.out" 2>"$tmp/$name.log" &
    fi
    pid=$!
    if ! wait_listen "$port"; then
        echo "load: $name did not listen on 127.0.0.1:$port" >&2
        cat "$tmp/$name.out" >&2
        stop "$pid"
        pid=
        return 1
    fi
    c0=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    "$PF_SOURCE" -s "$sessions" -m "$count" -l "$size" \
        -M client.example.org -f sender@example.org \
        -t rcpt@example.net 127.0.0.1:"$port" >"$tmp/source.out" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$pid")
    stop "$pid"
    pid=
    if [ $rc != 0 ] || [ -s "$tmp/source.out" ]; then
        echo "load: smtp-source against $name failed (exit $rc):" >&2
        head -5 "$tmp/source.out" >&2
        return 1
    fi
    awk -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" \
        -v n="$count" 'BEGIN { printf "%.0f %.2f\n", n / (t1 - t0), (c1 - c0) / hz }'
}

echo "load: Postfix smtp-sink vs build/smtp-sink, driven by smtp-source on 127.0.0.1"
echo "machine: $(uname -srm), $(nproc) cpus, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "postfix: $(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo '?')"
echo "one run each; one session per message (smtp-source default)"
echo
printf '%-7s %8s %7s | %10s %7s | %10s %7s | %8s %8s\n' size sessions msgs \
    "postfix/s" "cpu s" "smtp.c/s" "cpu s" "msg/s x" "cpu x"
fail=0
for size in 1024 102400; do
    for sessions in 1 20; do
        count=$SMALL
        [ "$size" -gt 1024 ] && count=$LARGE
        pf=$(run postfix "$size" "$sessions" "$count") || { fail=1; continue; }
        us=$(run ours "$size" "$sessions" "$count") || { fail=1; continue; }
        # our sink logs one line per transaction: all must be accepted
        got=$(grep -c 'result="250 ' "$tmp/ours.log" 2>/dev/null)
        if [ "${got:-0}" -ne "$count" ]; then
            echo "load: our sink accepted ${got:-0} messages of $count" >&2
            fail=1
        fi
        set -- $pf $us
        awk -v size="$size" -v s="$sessions" -v n="$count" -v pr="$1" \
            -v pc="$2" -v ur="$3" -v uc="$4" 'BEGIN {
            printf "%-7s %8d %7d | %10d %7.2f | %10d %7.2f | %8.2f %8s\n",
                (size >= 1024 ? size / 1024 " KB" : size), s, n, pr, pc,
                ur, uc, ur / pr, (uc > 0 ? sprintf("%.2f", pc / uc) : "inf")
        }'
    done
done
echo
echo "msg/s x: smtp.c messages per second / Postfix's (goal >= 1);" \
    "cpu x: Postfix CPU seconds / smtp.c's (goal > 1: smtp.c cheaper)"
exit $fail
