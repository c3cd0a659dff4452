#!/usr/bin/env bash
# bench.sh BUILD_DIR: moongate's benchmarks, run by `make bench`.
#
# For each series count it starts its own gateway on 127.0.0.1 (port 0, the
# real ports read from the gateway's "listening" log lines, readiness polled on
# GET /-/ready), pushes load with moongate-bench, and reports as key=value
# lines: new-series rate, steady-state samples/s, resident bytes per series,
# and full scrape times (text and gzip). Every wait is bounded; the EXIT trap
# stops whatever gateway this script started and removes its work directory.
#
# Environment (all optional):
#   MG_BENCH_SERIES="100000 1000000"   series counts for the basic section
#   MG_BENCH_SAMPLES=20M               update-phase samples per run, at most
#   MG_BENCH_SECONDS=10                update-phase time per run, at most
#   MG_BENCH_SCRIPTS=DIR               also run with --scripts DIR
#   MG_BENCH_SCRIPTS_SERIES=100000     series count for that run
#   MG_BENCH_START_TIMEOUT=15          seconds to wait for listeners + ready
#   MG_BENCH_STOP_TIMEOUT=30           seconds to wait for exit after SIGTERM
#   MG_BENCH_RUN_TIMEOUT=600           hard limit on one moongate-bench run
#   MG_BENCH_SECURITY_SERIES=100000    series for the push-token and TLS section
#   MG_BENCH_SNAPSHOT_SERIES="100000 1000000"  series counts for the snapshot section
#   MG_BENCH_LOG_SERIES=100000         series count for the append-only log section
#   MG_BENCH_MEM_SERIES=1000000        series for the memory section (no scripts, full pipeline)
#   MG_BENCH_MEM_SECONDS=3             its update-phase time
#   MG_BENCH_ONLY=snapshot             run one section (basic: for each of MG_BENCH_SERIES)
#   MG_BENCH_KEEP=1                    keep the work directory (gateway logs)
#   MG_BENCH_RW_SERIES=1000000         series for the remote-write section
#   MG_BENCH_RW_INTERVAL=2s            its remote_write interval
#   MG_BENCH_RW_IDLE=10                seconds it sends with no ingest
#   MG_BENCH_RW=0                      skip the remote-write section
#   MG_BENCH_ONLY=remote_write         run that section alone
#   MG_BENCH_PIN=0                     do not pin: by default, with 2 CPUs or more,
#                                      the gateway runs on CPU 0 and moongate-bench
#                                      on CPU 1, so neither's figure moves with
#                                      where the scheduler put the other
#   MG_BENCH_CREATE_SERIES="100000 1000000"  series counts for the create section
#   MG_BENCH_PGW=0                     skip the Pushgateway section
#   MG_BENCH_ONLY=pushgateway          run it alone (MG_PGW_SECONDS=15 per phase)
#   MG_BENCH_SCRAPE_SERIES=1000000     series held in the scrape-under-load section
#   MG_BENCH_SCRAPE_SECONDS=10         seconds of scraping per kind (idle, text, gzip)
#   MG_BENCH_SCRAPE_LOAD=0             skip the scrape-under-load section
#   MG_BENCH_RT=1                      scrape_load: gateway and latency loader at
#                                      SCHED_FIFO 1 (root), so a shared machine's
#                                      run queue does not pose as the gateway's stalls
#   MG_BENCH_HTTP_SERIES=100000        series for the HTTP-vs-TCP push section
#   MG_BENCH_HTTP=0                    skip it
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: bash gateway/tools/bench.sh BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
GW_BIN=$BUILD/gateway/moongate
GEN_BIN=$BUILD/gateway/moongate-bench
# the benchmark pipeline: 5 relabel configs, a transform, 3 caps
PIPELINE=$(cd "$(dirname "${BASH_SOURCE[0]}")/bench/pipeline" && pwd)

SERIES_LIST=${MG_BENCH_SERIES:-"100000 1000000"}
PIN_GW=()
PIN_GEN=()
if [ "${MG_BENCH_PIN:-1}" != 0 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_GW=(taskset -c 0)
    PIN_GEN=(taskset -c 1)
fi
SAMPLES=${MG_BENCH_SAMPLES:-20M}
RUN_SECONDS=${MG_BENCH_SECONDS:-10}
START_TIMEOUT=${MG_BENCH_START_TIMEOUT:-15}
STOP_TIMEOUT=${MG_BENCH_STOP_TIMEOUT:-30}
RUN_TIMEOUT=${MG_BENCH_RUN_TIMEOUT:-600}

for bin in "$GW_BIN" "$GEN_BIN"; do
    if [ ! -x "$bin" ]; then
        echo "bench: $bin missing; build first (make build)" >&2
        exit 1
    fi
done
for tool in curl timeout awk; do
    command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/moongate-bench.XXXXXX")
GW_PID=""
GEN_PID=""
GW_LOG=""
HTTP_ADDR=""
INGEST_ADDR=""
SUMMARY=()
GW_CACERT=""  # set: the gateway serves HTTPS checked with this CA

cleanup() {
    local rc=$?
    if [ -n "$GEN_PID" ] && kill -0 "$GEN_PID" 2>/dev/null; then
        kill -TERM "$GEN_PID" 2>/dev/null || true
        wait "$GEN_PID" 2>/dev/null || true
    fi
    if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
        kill -KILL "$GW_PID" 2>/dev/null || true
        wait "$GW_PID" 2>/dev/null || true
    fi
    local p
    for p in "${VA_PID:-}" "${SINK_PID:-}" "${VM_PID:-}" "${SCRAPER_PID:-}"; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    if [ -n "${MG_BENCH_KEEP:-}" ]; then
        echo "bench: work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "bench: $*" >&2; }

# now_ms: wall-clock milliseconds from bash itself; enough for bounded waits.
now_ms() {
    local t=${EPOCHREALTIME//[.,]/}
    echo $((t / 1000))
}

# ---------------------------------------------------------------------------
# Gateway life cycle
# ---------------------------------------------------------------------------

# listen_addr LOG TRANSPORT: the addr= of the first msg=listening line with
# that transport=, whatever the key order.
listen_addr() {
    awk -v want="$2" '
        /msg=listening/ {
            t = ""; a = ""
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^transport=/) t = substr($i, 11)
                if ($i ~ /^addr=/) a = substr($i, 6)
            }
            gsub(/"/, "", t); gsub(/"/, "", a)
            if (t == want && a != "") { print a; exit }
        }' "$1"
}

# start_gateway NAME [moongate args...]: starts a gateway in its own work
# directory (a snapshot written on SIGTERM lands there), waits until both
# listeners are logged and /-/ready answers; sets GW_PID, HTTP_ADDR, INGEST_ADDR.
start_gateway() {
    local name=$1
    shift
    local dir=$WORK/$name
    mkdir -p "$dir"
    GW_LOG=$dir/gateway.log
    # created here: the job's own redirection may come after our first read
    : >"$GW_LOG"
    (cd "$dir" && exec "${PIN_GW[@]}" "$GW_BIN" --http 127.0.0.1:0 --ingest 127.0.0.1:0 "$@") \
        2>"$GW_LOG" >"$dir/gateway.out" &
    GW_PID=$!
    HTTP_ADDR=""
    INGEST_ADDR=""
    local deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        if ! kill -0 "$GW_PID" 2>/dev/null; then
            log "gateway exited during start-up; its log:"
            cat "$GW_LOG" >&2
            wait "$GW_PID" 2>/dev/null || true
            GW_PID=""
            return 1
        fi
        [ -n "$HTTP_ADDR" ] || HTTP_ADDR=$(listen_addr "$GW_LOG" http)
        [ -n "$INGEST_ADDR" ] || INGEST_ADDR=$(listen_addr "$GW_LOG" tcp)
        if [ -n "$HTTP_ADDR" ] && [ -n "$INGEST_ADDR" ] &&
            curl -sf --max-time 1 -o /dev/null ${GW_CACERT:+--cacert "$GW_CACERT"} \
                "http${GW_CACERT:+s}://$HTTP_ADDR/-/ready"; then
            return 0
        fi
        sleep 0.1
    done
    log "gateway not ready within ${START_TIMEOUT}s (http=${HTTP_ADDR:-?} tcp=${INGEST_ADDR:-?}); its log:"
    cat "$GW_LOG" >&2
    kill -KILL "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
    GW_PID=""
    return 1
}

# stop_gateway PREFIX: SIGTERM, a bounded wait for the drain and snapshot,
# SIGKILL past it. Prints stop_seconds and exit_code.
stop_gateway() {
    local prefix=$1 rc=0 t0 t1
    [ -n "$GW_PID" ] || return 0
    t0=$(date +%s.%N)
    kill -TERM "$GW_PID" 2>/dev/null || true
    local deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
    while kill -0 "$GW_PID" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do
        sleep 0.05
    done
    if kill -0 "$GW_PID" 2>/dev/null; then
        log "gateway still running ${STOP_TIMEOUT}s after SIGTERM; killing it"
        kill -KILL "$GW_PID" 2>/dev/null || true
    fi
    wait "$GW_PID" 2>/dev/null || rc=$?
    t1=$(date +%s.%N)
    GW_PID=""
    echo "$prefix stop_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') exit_code=$rc"
    if [ "$rc" -ne 0 ]; then
        log "gateway exited $rc after SIGTERM; last lines of its log:"
        tail -n 20 "$GW_LOG" >&2
    fi
}

# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# cpu_seconds PID: CPU time so far, user and system, of the live threads,
# from their schedstat in nanoseconds: stat counts in ticks of 10 ms, 5 % of
# the 0.2 s a 100k-series create section takes. Without schedstat, stat's
# fields 14 and 15 (after the parenthesised command name, which may itself
# hold spaces).
cpu_seconds() {
    local tck
    if [ -r "/proc/$1/schedstat" ]; then
        cat /proc/"$1"/task/*/schedstat 2>/dev/null |
            awk '{ s += $1 } END { printf "%.4f", s / 1e9 }'
        return
    fi
    tck=$(getconf CLK_TCK)
    sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$tck" '{ printf "%.3f", ($12 + $13) / t }'
}

# load PREFIX N [moongate-bench args...]: both phases against the running
# gateway, acked, each generator line prefixed.
load() {
    local prefix=$1 n=$2
    shift 2
    local rc=0
    # in the background so a signal to this script is handled at once (bash
    # runs traps only between foreground commands); timeout bounds it anyway
    timeout "$RUN_TIMEOUT" "${PIN_GEN[@]}" "$GEN_BIN" --target "$INGEST_ADDR" --series "$n" \
        --batch 1000 --ack --samples "$SAMPLES" --seconds "$RUN_SECONDS" "$@" \
        >"$WORK/gen.out" &
    GEN_PID=$!
    wait "$GEN_PID" || rc=$?
    GEN_PID=""
    sed "s/^/$prefix /" "$WORK/gen.out"
    return "$rc"
}

# field KEY LINE: the value of KEY= in a key=value line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n 1; }

# scrape PREFIX KIND: three full scrapes, each and the best. KIND text or gzip;
# gzip sizes are the compressed bytes on the wire.
scrape() {
    local prefix=$1 kind=$2 best="" out t size enc
    local -a hdr=()
    [ "$kind" = gzip ] && hdr=(-H 'Accept-Encoding: gzip')
    for run in 1 2 3; do
        out=$(curl -s --max-time 120 -o /dev/null -D "$WORK/headers" "${hdr[@]}" \
            -w '%{time_total} %{size_download} %{http_code}' "http://$HTTP_ADDR/metrics")
        read -r t size code <<<"$out"
        enc=$(awk 'tolower($1) == "content-encoding:" { gsub(/\r/, ""); print $2 }' "$WORK/headers")
        echo "$prefix scrape=$kind run=$run seconds=$t bytes=$size http_code=$code encoding=${enc:-identity}"
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$t
        fi
    done
    echo "$prefix scrape=$kind best_seconds=$best"
    SCRAPE_BEST=$best
}

# gateway_counts PREFIX: what the gateway itself says it holds, as a check
# that the load landed (sums over label sets).
gateway_counts() {
    local prefix=$1
    curl -s --max-time 120 "http://$HTTP_ADDR/metrics" >"$WORK/metrics.txt" || true
    awk -v p="$prefix" '
        /^moongate_series\{.*kind="input"/ { input = $NF }
        /^moongate_series\{.*kind="output"/ { output = $NF }
        /^moongate_samples_received_total/ { recv += $NF }
        /^moongate_samples_rejected_total/ { rej += $NF }
        /^moongate_samples_dropped_total/ { drop += $NF }
        END {
            printf "%s input_series=%s output_series=%s samples_received_total=%.0f " \
                   "samples_rejected_total=%.0f samples_dropped_total=%.0f\n",
                   p, input == "" ? "?" : input, output == "" ? "?" : output, recv, rej, drop
        }' "$WORK/metrics.txt"
}

# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------

# bench_basic SECTION N [moongate args...]: one gateway, N series created
# then updated, memory per series, scrape cost, clean stop.
bench_basic() {
    local section=$1 n=$2
    shift 2
    local prefix="section=$section series=$n"
    local rss0 rss1 cpu0 cpu1 create update per
    start_gateway "$section-$n" "$@" || return 1
    rss0=$(rss_bytes "$GW_PID")
    cpu0=$(cpu_seconds "$GW_PID")
    if ! load "$prefix" "$n"; then
        log "$section: moongate-bench failed for $n series"
        stop_gateway "$prefix"
        return 1
    fi
    rss1=$(rss_bytes "$GW_PID")
    cpu1=$(cpu_seconds "$GW_PID")
    per=$(( (rss1 - rss0) / n ))
    # samples per gateway CPU second: unlike samples/s, it holds up when the
    # machine is shared with other work (the run queue is printed for that)
    local sent
    sent=$(awk '/^phase=(create|update)/ { for (i = 1; i <= NF; i++)
        if ($i ~ /^samples=/) s += substr($i, 9) } END { print s + 0 }' "$WORK/gen.out")
    echo "$prefix rss_before_bytes=$rss0 rss_after_bytes=$rss1 rss_bytes_per_series=$per" \
         "$(awk -v a="$cpu0" -v b="$cpu1" -v s="$sent" 'BEGIN {
             printf "gateway_cpu_seconds=%.3f gateway_samples_per_cpu_second=%.0f", b - a,
                    (b > a ? s / (b - a) : 0) }')" \
         "loadavg_1m=$(cut -d' ' -f1 /proc/loadavg) cpus=$(nproc)"
    gateway_counts "$prefix"
    scrape "$prefix" text
    local text_best=$SCRAPE_BEST
    scrape "$prefix" gzip
    local gzip_best=$SCRAPE_BEST
    stop_gateway "$prefix"

    create=$(field samples_per_second "$(grep '^phase=create' "$WORK/gen.out")")
    update=$(field samples_per_second "$(grep '^phase=update' "$WORK/gen.out" || true)")
    SUMMARY+=("$(printf '%-8s %9s %14s %14s %10s %10s %10s' "$section" "$n" \
        "$create" "${update:--}" "$per" "$text_best" "$gzip_best")")
}

# Later sections. Each is a clearly bounded function with the same shape as
# bench_basic: start_gateway with the scripts or rules it needs, drive it with
# moongate-bench, report key=value lines prefixed with section=NAME, stop.

# bench_lua_new_series: a pipeline of 5 relabel configs and one transform
# that keeps every series distinct, so both phases compare like for like with
# bench_basic at the same N: phase=create is the new-series rate through Lua,
# phase=update the known-series rate, which must not enter Lua at all.
bench_lua_new_series() {
    local n=${MG_BENCH_LUA_SERIES:-100000} dir=$WORK/lua-scripts
    mkdir -p "$dir"
    cp "$PIPELINE/10-relabel.lua" "$PIPELINE/20-transform.lua" "$dir"/
    bench_basic lua "$n" --scripts "$dir"
}

# bench_cap_admission: three caps that admit everything (so both runs hold
# the same series): a label cap tracking every distinct id, a per_label cap
# per shard and a metric cap. The create rate against bench_basic's at the
# same N gives the admission cost per new series; the extra resident bytes
# over N give the memory per tracked label value.
bench_cap_admission() {
    local n=${MG_BENCH_CAP_SERIES:-100000} dir=$WORK/cap-scripts
    mkdir -p "$dir"
    cat >"$dir/10-caps.lua" <<'LUA'
cap { label = "id", max_values = 100000000 }
cap { per_label = "shard", max_series = 100000000 }
cap { metric = "bench_.*", max_series = 100000000 }
LUA
    bench_basic caps "$n" --scripts "$dir" || return 1
    local base caps
    base=$(grep -E "^basic +$n " <<<"$(printf '%s\n' "${SUMMARY[@]}")" | awk '{ print $3, $5 }')
    caps=$(grep -E "^caps +$n " <<<"$(printf '%s\n' "${SUMMARY[@]}")" | awk '{ print $3, $5 }')
    if [ -n "$base" ] && [ -n "$caps" ]; then
        awk -v b="$base" -v c="$caps" -v n="$n" 'BEGIN {
            split(b, x, " "); split(c, y, " ");
            printf "section=caps series=%d admission_us_per_new_series=%.3f bytes_per_tracked_label_value=%.0f\n",
                   n, (1e6 / y[1] - 1e6 / x[1]), (y[2] - x[2]) }'
    fi
}

# pipeline_scripts DIR: the benchmark pipeline (5 relabel configs, one
# transform, 3 caps that admit everything) copied into DIR.
pipeline_scripts() {
    mkdir -p "$1"
    cp "$PIPELINE"/*.lua "$1"/
}

# mem_run SECTION N [moongate args...]: N series created (a short update
# phase after), then the resident bytes per output and per input series as
# the gateway counts them, and the gateway's CPU seconds for the load.
mem_run() {
    local section=$1 n=$2
    shift 2
    local prefix="section=memory run=$section series=$n" rss0 rss1 cpu0 cpu1
    start_gateway "mem-$section-$n" "$@" || return 1
    rss0=$(rss_bytes "$GW_PID")
    cpu0=$(cpu_seconds "$GW_PID")
    if ! load "$prefix" "$n" --seconds "${MG_BENCH_MEM_SECONDS:-3}"; then
        log "memory: moongate-bench failed for $n series ($section)"
        stop_gateway "$prefix"
        return 1
    fi
    rss1=$(rss_bytes "$GW_PID")
    cpu1=$(cpu_seconds "$GW_PID")
    local counts in out
    counts=$(gateway_counts "$prefix")
    in=$(field input_series "$counts")
    out=$(field output_series "$counts")
    echo "$counts"
    awk -v p="$prefix" -v a="$rss0" -v b="$rss1" -v i="$in" -v o="$out" \
        -v c0="$cpu0" -v c1="$cpu1" -v la="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
        printf "%s rss_before_bytes=%d rss_after_bytes=%d rss_bytes_per_output_series=%.1f " \
               "rss_bytes_per_input_series=%.1f gateway_cpu_seconds=%.3f loadavg_1m=%s\n",
               p, a, b, (o > 0 ? (b - a) / o : 0), (i > 0 ? (b - a) / i : 0), c1 - c0, la }'
    stop_gateway "$prefix"
    MEM_PER=$(awk -v a="$rss0" -v b="$rss1" -v o="$out" 'BEGIN { printf "%.1f", (o > 0 ? (b - a) / o : 0) }')
}

# bench_memory: resident bytes per series at MG_BENCH_MEM_SERIES (1M) with
# 5 labels, through the full benchmark pipeline (pipeline_scripts) and with
# no scripts for comparison. Resident bytes do not depend on the machine's
# load, unlike the rates.
bench_memory() {
    local n=${MG_BENCH_MEM_SERIES:-1000000} dir=$WORK/mem-pipeline plain pipe
    pipeline_scripts "$dir"
    mem_run none "$n" || return 1
    plain=$MEM_PER
    mem_run pipeline "$n" --scripts "$dir" || return 1
    pipe=$MEM_PER
    echo "section=memory series=$n bytes_per_output_series_no_scripts=$plain" \
         "bytes_per_output_series_pipeline=$pipe"
    SUMMARY+=("$(printf '%-8s %9s %14s %14s %10s %10s %10s' memory "$n" - - \
        "$plain/$pipe" - -)")
}

# bench_create: the new-series create path through the benchmark pipeline
# (gateway/tools/bench/pipeline: 5 relabels, a transform, 3 caps), create
# phase only, at each N: new series/s with the gateway's and the loader's CPU
# seconds, and new series per gateway CPU second, which holds up on a shared
# machine. Then the same path in process (moongate-create-bench: no socket, no
# loader), whose CPU time per series is the gateway's alone.
bench_create() {
    local dir n prefix cpu0 cpu1 line
    dir=$PIPELINE
    for n in ${MG_BENCH_CREATE_SERIES:-100000 1000000}; do
        prefix="section=create series=$n"
        start_gateway "create-$n" --scripts "$dir" || return 1
        cpu0=$(cpu_seconds "$GW_PID")
        if ! load "$prefix" "$n" --samples 0; then
            log "create: moongate-bench failed for $n series"
            stop_gateway "$prefix"
            return 1
        fi
        cpu1=$(cpu_seconds "$GW_PID")
        line=$(grep '^phase=create' "$WORK/gen.out")
        echo "$prefix new_series_per_second=$(field samples_per_second "$line")" \
             "loader_cpu_seconds=$(field cpu_seconds "$line")" \
             "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN {
                 printf "gateway_cpu_seconds=%.3f new_series_per_gateway_cpu_second=%.0f",
                        b - a, (b > a ? n / (b - a) : 0) }')" \
             "loadavg_1m=$(cut -d' ' -f1 /proc/loadavg)"
        gateway_counts "$prefix"
        stop_gateway "$prefix"
        if [ -x "$BUILD/gateway/moongate-create-bench" ]; then
            echo "$prefix in_process $("${PIN_GW[@]}" "$BUILD/gateway/moongate-create-bench" "$n" "$dir")"
        fi
    done
}

# bench_rule_tick: 1,000 alert rules over N series (each a sum over one
# shard of the bench metric, so every rule reads the metric's series), a
# rule tick every 2 s while the update phase runs: the tick's duration from
# moongate_rule_evaluation_duration_seconds, and the update rate against
# bench_basic's at the same N for what the ticks cost ingest.
bench_rule_tick() {
    local n=${MG_BENCH_RULE_SERIES:-100000} dir=$WORK/rules
    mkdir -p "$dir"
    awk 'BEGIN {
        for (i = 0; i < 1000; i++)
            printf "alert \"Shard%d\" { expr = function(q) local v = q.sum(\"bench_metric{shard=\\\"s%d\\\"}\") if v and v > 1e12 then return v end end }\n", i, i % 256
    }' >"$dir/bench.lua"
    printf 'return { rule_interval = 2 }\n' >"$WORK/rules-config.lua"
    bench_basic rules "$n" --rules "$dir" --config "$WORK/rules-config.lua" || return 1
    awk '/^moongate_rule_evaluation_duration_seconds_sum / { sum = $2 }
         /^moongate_rule_evaluation_duration_seconds_count / { count = $2 }
         END { if (count > 0) printf "section=rules rules=1000 ticks=%d tick_seconds_avg=%.4f\n", count, sum / count }' \
        "$WORK/metrics.txt"
}

# bench_security: the known-series update rate with a push token checked
# once per message, over plain TCP and over TLS, against bench_basic's at the
# same N without auth; then TLS handshakes a second on the HTTPS listener
# (openssl s_time, a new connection and one GET each, for 5 s).
bench_security() {
    local n=${MG_BENCH_SECURITY_SERIES:-100000} dir=$WORK/security
    mkdir -p "$dir"
    (cd "$dir" &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.crt -days 1 -subj /CN=bench-ca &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout gw.key -out gw.csr -subj /CN=localhost &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >gw.ext &&
        openssl x509 -req -in gw.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out gw.crt -days 1 -extfile gw.ext) >/dev/null 2>&1 || {
        log "security: openssl could not make the certificates"
        return 1
    }
    echo "bench-token" >"$dir/push.tokens"
    printf 'return { auth = { push = { tokens_file = "%s/push.tokens" } } }\n' "$dir" >"$dir/auth.lua"
    printf 'return { auth = { push = { tokens_file = "%s/push.tokens" } },\n  tls = { cert_file = "%s/gw.crt", key_file = "%s/gw.key" } }\n' \
        "$dir" "$dir" "$dir" >"$dir/tls.lua"
    local kind out
    for kind in auth tls; do
        if [ "$kind" = tls ]; then GW_CACERT=$dir/ca.crt; fi
        start_gateway "security-$kind" --config "$dir/$kind.lua" || { GW_CACERT=""; return 1; }
        out=$(load "section=$kind series=$n" "$n" --token bench-token \
            ${GW_CACERT:+--tls "$GW_CACERT"}) || true
        echo "$out"
        SUMMARY+=("$(printf '%-8s %9s %14s %14s %10s %10s %10s' "$kind" "$n" \
            "$(field samples_per_second "$(grep phase=create <<<"$out")")" \
            "$(field samples_per_second "$(grep phase=update <<<"$out")")" - - -)")
        if [ "$kind" = tls ]; then
            timeout 30 openssl s_time -connect "$HTTP_ADDR" -new -time 5 -www /-/healthy \
                -CAfile "$GW_CACERT" 2>/dev/null |
                awk '/connections in [0-9]+ real seconds/ {
                    printf "section=tls https_handshakes_per_second=%.0f\n", $1 / $4 }'
        fi
        stop_gateway "section=$kind" >/dev/null
        GW_CACERT=""
    done
}

# bench_promql_tick: 1,000 alert rules `sum by (job) (rate(x_total{shard="N"}[5m])) > 10`
# over N series, once through q.promql and once as the same rule written
# with q.rate, through the module on its virtual clock (no daemon): the
# average and worst tick after the histories have filled, for each form.
bench_promql_tick() {
    local n=${MG_BENCH_PROMQL_SERIES:-100000} form
    for form in q promql; do
        TMPDIR=$WORK lua5.4 -e "package.cpath='$BUILD/gateway/?.so;'..package.cpath" \
            "$(dirname "$0")/bench_promql.lua" "$form" "$n" 1000 |
            sed 's/^/section=promql /' || return 1
    done
}

# bench_snapshot: persistence at N series. A gateway with a data directory
# and a snapshot every 2 s while both load phases run: the longest fork()
# (the one stall ingest sees; the child writes while the parent serves), the
# forked write's time and size, the update rate against bench_basic's at the
# same N (what copy-on-write costs ingest); then the write at SIGTERM, in
# process, and the restore at the next start (wall and gateway CPU seconds,
# as logged by the gateway itself).
bench_snapshot() {
    local n data conf prefix
    for n in ${MG_BENCH_SNAPSHOT_SERIES:-100000 1000000}; do
        data=$WORK/snapshot-data-$n
        conf=$WORK/snapshot-config.lua
        prefix="section=snapshot series=$n"
        printf 'return { snapshot_interval = 2, log_level = "debug" }\n' >"$conf"
        start_gateway "snapshot-$n" --data-dir "$data" --config "$conf" || return 1
        if ! load "$prefix" "$n" --type counter; then
            stop_gateway "$prefix"
            return 1
        fi
        awk -v p="$prefix" '
            /msg="snapshot forked"/ { for (i = 1; i <= NF; i++) if ($i ~ /^fork_ms=/) {
                v = substr($i, 9) + 0; forks++; if (v > max) max = v } }
            /msg="snapshot written"/ { for (i = 1; i <= NF; i++) {
                if ($i ~ /^bytes=/) b = substr($i, 7); if ($i ~ /^seconds=/) s = substr($i, 9) } }
            END { printf "%s forks=%d max_fork_ms=%.2f forked_write_seconds=%s snapshot_bytes=%s\n",
                         p, forks, max, s, b }' "$GW_LOG"
        stop_gateway "$prefix"
        awk -v p="$prefix" -v n="$n" '/msg="snapshot written"/ && /level=info/ {
            for (i = 1; i <= NF; i++) { if ($i ~ /^bytes=/) b = substr($i, 7)
                if ($i ~ /^seconds=/) s = substr($i, 9) } }
            END { printf "%s sigterm_write_seconds=%s bytes_per_series=%.1f\n", p, s, b / n }' "$GW_LOG"
        start_gateway "snapshot-$n-restore" --data-dir "$data" --config "$conf" || return 1
        awk -v p="$prefix" '/msg=restored/ { for (i = 1; i <= NF; i++) {
                if ($i ~ /^seconds=/) s = substr($i, 9)
                if ($i ~ /^process_cpu_seconds=/) c = substr($i, 21) } }
            END { printf "%s restore_seconds=%s restore_process_cpu_seconds=%s\n", p, s, c }' "$GW_LOG"
        gateway_counts "$prefix restored"
        stop_gateway "$prefix restored"
    done
}

# bench_append_log: known-series ingest at N series with a data directory,
# the append-only log off and then on (no periodic snapshot in either), for
# what the log costs: update samples/s and samples per gateway CPU second
# (the writer thread included).
bench_append_log() {
    local n=${MG_BENCH_LOG_SERIES:-100000} mode prefix cpu0 cpu1 sent
    for mode in false true; do
        prefix="section=append_log series=$n append_log=$mode"
        printf 'return { snapshot_interval = 3600, append_log = %s }\n' "$mode" >"$WORK/log-$mode.lua"
        start_gateway "log-$mode" --data-dir "$WORK/log-data-$mode" --config "$WORK/log-$mode.lua" ||
            return 1
        cpu0=$(cpu_seconds "$GW_PID")
        load "$prefix" "$n" --type counter || { stop_gateway "$prefix"; return 1; }
        cpu1=$(cpu_seconds "$GW_PID")
        sent=$(awk '/^phase=(create|update)/ { for (i = 1; i <= NF; i++)
            if ($i ~ /^samples=/) s += substr($i, 9) } END { print s + 0 }' "$WORK/gen.out")
        awk -v p="$prefix" -v a="$cpu0" -v b="$cpu1" -v s="$sent" 'BEGIN {
            printf "%s gateway_samples_per_cpu_second=%.0f\n", p, (b > a ? s / (b - a) : 0) }'
        stop_gateway "$prefix"
    done
}

# metric_sum NAME: the sum over label sets of NAME in $WORK/metrics.txt.
metric_sum() {
    awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f", s }' \
        "$WORK/metrics.txt"
}

# vm_start: Debian's victoria-metrics on a free 127.0.0.1 port in $WORK;
# sets VM_PID and VM_ADDR.
vm_start() {
    VM_ADDR=127.0.0.1:$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
    /usr/bin/victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="$VM_ADDR" \
        -search.latencyOffset=0s -loggerLevel=ERROR >"$WORK/vm.log" 2>&1 &
    VM_PID=$!
    local deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        curl -sf --max-time 1 -o /dev/null "http://$VM_ADDR/health" && return 0
        sleep 0.1
    done
    log "victoria-metrics not ready"
    return 1
}

vm_stop() {
    [ -n "${VM_PID:-}" ] || return 0
    kill -TERM "$VM_PID" 2>/dev/null || true
    wait "$VM_PID" 2>/dev/null || true
    VM_PID=""
}

# sink_start: a minimal remote write receiver (Debian's python3): answers
# 204 to every POST after reading it, so a run measures the sender, not a
# store. Sets SINK_PID and SINK_ADDR.
sink_start() {
    SINK_ADDR=127.0.0.1:$(awk 'BEGIN { srand(); print 30000 + int(rand() * 9000) }')
    /usr/bin/python3 - "${SINK_ADDR#*:}" >"$WORK/sink.log" 2>&1 <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
    SINK_PID=$!
    local deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        curl -s --max-time 1 -o /dev/null -X POST "http://$SINK_ADDR/" && return 0
        sleep 0.1
    done
    log "sink not ready"
    return 1
}

# rw_config FILE URL: a config remote-writing everything to URL.
rw_config() {
    cat >"$1" <<LUA
return {
  external_labels = { gateway_shard = "bench" },
  remote_write = { { url = "$2", interval = "$RW_INTERVAL",
                     metadata = { send = false },
                     queue = { capacity = 4000000, max_samples_per_send = 10000,
                               min_shards = 4, max_shards = 4 } } },
}
LUA
}

# rw_sent_cpu: sent samples, passes and the gateway's CPU seconds now.
rw_sent_cpu() {
    curl -s --max-time 120 "http://$HTTP_ADDR/metrics" >"$WORK/metrics.txt"
    echo "$(metric_sum moongate_remote_write_samples_sent_total)" \
         "$(metric_sum moongate_remote_write_passes_total)" "$(cpu_seconds "$GW_PID")" "$(now_ms)"
}

# rw_report PREFIX WHAT BEFORE AFTER: rates between two rw_sent_cpu lines.
rw_report() {
    awk -v p="$1" -v w="$2" -v a="$3" -v b="$4" -v n="$RW_N" 'BEGIN {
        split(a, x, " "); split(b, y, " ");
        s = y[1] - x[1]; passes = y[2] - x[2]; c = y[3] - x[3]; t = (y[4] - x[4]) / 1000;
        printf "%s %s_seconds=%.1f %s_passes=%d %s_sent_samples=%.0f %s_sent_per_second=%.0f " \
               "%s_gateway_cpu_seconds=%.2f %s_encoded_per_cpu_second=%.0f\n",
               p, w, t, w, passes, w, s, w, s / t, w, c, w, (c > 0 ? passes * n / c : 0) }'
}

# bench_remote_write: one gateway holding N series remote-writes all of
# them every MG_BENCH_RW_INTERVAL. Against a minimal sink (the sender's own
# cost): samples/s sent and the known-series ingest rate in one run, the
# latter against the same load without remote write, then
# MG_BENCH_RW_IDLE seconds of sending alone for the CPU per sample. Then
# against Debian's victoria-metrics (the store's pace), and vmagent (which
# Debian ships with it) scraping the same gateway every 10 s and writing to
# the same store: rows it took in (scraped, queued for remote write) per
# CPU second, for comparison.
bench_remote_write() {
    RW_N=${MG_BENCH_RW_SERIES:-1000000}
    RW_INTERVAL=${MG_BENCH_RW_INTERVAL:-2s}
    local n=$RW_N idle=${MG_BENCH_RW_IDLE:-10} prefix a b c base upd
    prefix="section=remote_write series=$n remote_write=off"
    start_gateway rw-off || return 1
    load "$prefix" "$n" || true
    base=$(field samples_per_second "$(grep '^phase=update' "$WORK/gen.out" || true)")
    stop_gateway "$prefix" >/dev/null

    sink_start || return 1
    rw_config "$WORK/rw-sink.lua" "http://$SINK_ADDR/api/v1/write"
    prefix="section=remote_write series=$n remote_write=sink interval=$RW_INTERVAL"
    start_gateway rw-sink --config "$WORK/rw-sink.lua" || return 1
    a=$(rw_sent_cpu)
    load "$prefix" "$n" || true
    b=$(rw_sent_cpu)
    upd=$(field samples_per_second "$(grep '^phase=update' "$WORK/gen.out" || true)")
    sleep "$idle"
    c=$(rw_sent_cpu)
    rw_report "$prefix" load "$a" "$b"
    rw_report "$prefix" idle "$b" "$c"
    echo "$prefix update_sps=${upd:-?} update_sps_without_remote_write=${base:-?}" \
         "$(awk -v a="${upd:-0}" -v b="${base:-0}" 'BEGIN { if (b > 0) printf "ingest_ratio=%.3f", a / b }')" \
         "dropped=$(metric_sum moongate_remote_write_dropped_total)" \
         "pass_seconds=$(metric_sum moongate_remote_write_pass_seconds)" \
         "slice_max_seconds=$(awk '/^moongate_remote_write_slice_max_seconds/ { print $NF }' "$WORK/metrics.txt")" \
         "loadavg_1m=$(cut -d' ' -f1 /proc/loadavg) cpus=$(nproc)"
    stop_gateway "$prefix" >/dev/null
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=""

    [ -x /usr/bin/victoria-metrics ] || { log "remote-write: no victoria-metrics"; return 0; }
    vm_start || return 1
    local url="http://$VM_ADDR/api/v1/write"
    rw_config "$WORK/rw-vm.lua" "$url"
    prefix="section=remote_write series=$n remote_write=victoria-metrics interval=$RW_INTERVAL"
    start_gateway rw-vm --config "$WORK/rw-vm.lua" || { vm_stop; return 1; }
    SAMPLES=0 load "$prefix" "$n" >/dev/null || true
    a=$(rw_sent_cpu)
    sleep "$idle"
    b=$(rw_sent_cpu)
    rw_report "$prefix" idle "$a" "$b"
    echo "$prefix dropped=$(metric_sum moongate_remote_write_dropped_total)" \
         "pending=$(metric_sum moongate_remote_write_pending_samples)" \
         "failed=$(metric_sum moongate_remote_write_samples_failed_total)" \
         "victoria_metrics_cpu_seconds_total=$(cpu_seconds "$VM_PID")" \
         "loadavg_1m=$(cut -d' ' -f1 /proc/loadavg)"
    stop_gateway "$prefix" >/dev/null
    if [ -x /usr/bin/vmagent ]; then
        # vmagent scraping a gateway with the same series, writing to the
        # same store: rows it sent per second and per CPU second
        start_gateway rw-vmagent || { vm_stop; return 1; }
        SAMPLES=0 load "$prefix" "$n" >/dev/null || true
        cat >"$WORK/vmagent.yml" <<YML
scrape_configs:
  - job_name: moongate
    scrape_interval: 10s
    scrape_timeout: 10s
    honor_labels: true
    static_configs:
      - targets: ['$HTTP_ADDR']
YML
        local va_addr=127.0.0.1:$(awk 'BEGIN { srand(); print 40000 + int(rand() * 9000) }')
        /usr/bin/vmagent -promscrape.config="$WORK/vmagent.yml" -remoteWrite.url="$url" \
            -remoteWrite.tmpDataPath="$WORK/vmagent" -httpListenAddr="$va_addr" \
            -promscrape.maxScrapeSize=1GB \
            -loggerLevel=ERROR >"$WORK/vmagent.log" 2>&1 &
        VA_PID=$!
        sleep 3
        local r0 r1 c0 c1 t0 t1
        vmagent_rows() {
            curl -s --max-time 10 "http://$va_addr/metrics" |
                awk '/^vm_promscrape_scraped_samples_sum/ { s += $NF } END { printf "%.0f", s }'
        }
        r0=$(vmagent_rows); c0=$(cpu_seconds "$VA_PID"); t0=$(now_ms)
        sleep $((idle * 2))
        r1=$(vmagent_rows); c1=$(cpu_seconds "$VA_PID"); t1=$(now_ms)
        kill -TERM "$VA_PID" 2>/dev/null || true
        wait "$VA_PID" 2>/dev/null || true
        VA_PID=""
        echo "section=remote_write series=$n vmagent=scrape interval=10s" \
             "$(awk -v s="$((r1 - r0))" -v ms="$((t1 - t0))" -v c0="$c0" -v c1="$c1" 'BEGIN {
                 printf "vmagent_rows_per_second=%.0f vmagent_cpu_seconds=%.2f vmagent_rows_per_cpu_second=%.0f",
                        s / (ms / 1000), c1 - c0, (c1 > c0 ? s / (c1 - c0) : 0) }')"
        stop_gateway "$prefix" >/dev/null
    fi
    vm_stop
}

# bench_pushgateway: the same text-format PUT workload against Debian's
# prometheus-pushgateway and moongate, side by side (pushgw_bench.py says
# what it does and how each phase is bounded; about 2 minutes in all).
bench_pushgateway() {
    if ! command -v prometheus-pushgateway >/dev/null; then
        log "prometheus-pushgateway is not installed; Pushgateway section skipped"
        return 0
    fi
    timeout 300 /usr/bin/python3 "$(dirname "$0")/pushgw_bench.py" "$BUILD" |
        sed 's/^/section=pushgateway /'
}

# scrape_loop SECONDS KIND OUT: full scrapes back to back for SECONDS, one
# "seconds bytes" line each into OUT. KIND idle only waits.
scrape_loop() {
    local secs=$1 kind=$2 out=$3
    local -a hdr=()
    [ "$kind" = gzip ] && hdr=(-H 'Accept-Encoding: gzip')
    local deadline=$(($(now_ms) + secs * 1000))
    : >"$out"
    while [ "$(now_ms)" -lt "$deadline" ]; do
        if [ "$kind" = idle ]; then
            sleep 0.2
            continue
        fi
        curl -s --max-time 120 -o /dev/null "${hdr[@]}" -w '%{time_total} %{size_download}\n' \
            "http://$HTTP_ADDR/metrics" >>"$out" || true
    done
}

# bench_scrape_load: N series held; while /metrics is fetched in a loop (none,
# plain, gzip), moongate-bench --latency pushes small acked batches at a fixed
# rate on its own connection. A render that holds the event loop shows as the
# pushes' p99; the scrape time shows what slicing costs the scraper.
bench_scrape_load() {
    local n=${MG_BENCH_SCRAPE_SERIES:-1000000} secs=${MG_BENCH_SCRAPE_SECONDS:-10}
    local prefix="section=scrape_load series=$n" kind
    start_gateway scrape-load || return 1
    if ! load "$prefix" "$n" --samples 0; then
        stop_gateway "$prefix"
        return 1
    fi
    local -a rt=()
    if [ "${MG_BENCH_RT:-0}" = 1 ] && chrt -f -p 1 "$GW_PID" >/dev/null; then
        rt=(chrt -f 1)
        prefix="$prefix sched=fifo"
    fi
    for kind in idle text gzip; do
        local cpu0 cpu1 lat
        cpu0=$(cpu_seconds "$GW_PID")
        scrape_loop "$secs" "$kind" "$WORK/scrapes.txt" &
        SCRAPER_PID=$!
        timeout "$RUN_TIMEOUT" "${rt[@]}" "$GEN_BIN" --target "$INGEST_ADDR" --series 1000 \
            --batch 10 --name-prefix bench_latency --ack --latency 200 \
            --seconds "$secs" >"$WORK/gen.out" || true
        wait "$SCRAPER_PID" || true
        SCRAPER_PID=""
        cpu1=$(cpu_seconds "$GW_PID")
        lat=$(grep '^phase=latency' "$WORK/gen.out" || echo "phase=latency failed=1")
        echo "$prefix scrapes=$kind $lat" \
             "$(awk '{ n++; s += $1; if ($1 > m) m = $1; b = $2 }
                     END { printf "scrape_count=%d scrape_mean_seconds=%.3f scrape_max_seconds=%.3f scrape_bytes=%d",
                           n, n ? s / n : 0, m, b }' "$WORK/scrapes.txt")" \
             "gateway_cpu_seconds=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", b - a }')" \
             "loadavg_1m=$(cut -d' ' -f1 /proc/loadavg)"
    done
    stop_gateway "$prefix"
}

# bench_http_push: the same known-series updates over TCP and as HTTP POSTs
# to /api/v1/push, one 1000-metric message a request on one kept-alive
# connection, three rounds each, with the gateway's CPU per sample: the
# figure that holds up on a shared machine. TCP streams its messages and
# waits for one ack at the end; HTTP runs twice: each reply read before the
# next request (http), and MG_BENCH_HTTP_PIPELINE requests in flight
# (http_pipelined, HTTP/1.1 pipelining: the stream TCP's loader sends).
# The metric names are of one length, so both hash the same bytes.
bench_http_push() {
    local n=${MG_BENCH_HTTP_SERIES:-100000} depth=${MG_BENCH_HTTP_PIPELINE:-16} prefix mode run
    start_gateway http-push || return 1
    prefix="section=http_push series=$n"
    timeout "$RUN_TIMEOUT" "$GEN_BIN" --target "$HTTP_ADDR" --http --series "$n" --samples 0 \
        --name-prefix bench_http >/dev/null &&
        timeout "$RUN_TIMEOUT" "$GEN_BIN" --target "$INGEST_ADDR" --ack --series "$n" --samples 0 \
            --name-prefix bench_tcp_ >/dev/null || { stop_gateway "$prefix"; return 1; }
    for run in 1 2 3; do
        for mode in http http_pipelined tcp; do
            local cpu0 cpu1 out
            local -a args=(--target "$HTTP_ADDR" --http --name-prefix bench_http)
            [ "$mode" = http_pipelined ] && args+=(--pipeline "$depth")
            [ "$mode" = tcp ] && args=(--target "$INGEST_ADDR" --ack --name-prefix bench_tcp_)
            cpu0=$(cpu_seconds "$GW_PID")
            out=$(timeout "$RUN_TIMEOUT" "$GEN_BIN" "${args[@]}" --series "$n" \
                --samples "$SAMPLES" --seconds "$RUN_SECONDS" | grep '^phase=update' || true)
            cpu1=$(cpu_seconds "$GW_PID")
            echo "$prefix run=$run mode=$mode $out $(awk -v a="$cpu0" -v b="$cpu1" -v s="$(field samples "$out")" 'BEGIN {
                printf "gateway_cpu_seconds=%.3f gateway_samples_per_cpu_second=%.0f", b - a,
                       (b > a ? s / (b - a) : 0) }') loadavg_1m=$(cut -d' ' -f1 /proc/loadavg)"
        done
    done
    stop_gateway "$prefix"
}

# ---------------------------------------------------------------------------

main() {
    log "build $BUILD, work directory $WORK, $(nproc) CPUs"
    local failed=0
    if [ "${MG_BENCH_ONLY:-}" = basic ]; then
        for n in $SERIES_LIST; do
            bench_basic basic "$n" || failed=1
        done
        return "$failed"
    elif [ -n "${MG_BENCH_ONLY:-}" ]; then
        "bench_$MG_BENCH_ONLY"
        return
    fi
    for n in $SERIES_LIST; do
        bench_basic basic "$n" || failed=1
    done
    bench_lua_new_series || failed=1
    bench_cap_admission || failed=1
    bench_memory || failed=1
    bench_create || failed=1
    bench_rule_tick || failed=1
    bench_security || failed=1
    bench_promql_tick || failed=1
    bench_snapshot || failed=1
    bench_append_log || failed=1
    [ "${MG_BENCH_RW:-1}" = 0 ] || bench_remote_write || failed=1
    [ "${MG_BENCH_PGW:-1}" = 0 ] || bench_pushgateway || failed=1
    [ "${MG_BENCH_SCRAPE_LOAD:-1}" = 0 ] || bench_scrape_load || failed=1
    [ "${MG_BENCH_HTTP:-1}" = 0 ] || bench_http_push || failed=1
    if [ -n "${MG_BENCH_SCRIPTS:-}" ]; then
        local dir
        dir=$(cd "$MG_BENCH_SCRIPTS" && pwd)
        bench_basic scripts "${MG_BENCH_SCRIPTS_SERIES:-100000}" --scripts "$dir" || failed=1
    fi

    echo
    printf '%-8s %9s %14s %14s %10s %10s %10s\n' section series create_sps update_sps \
        rss/series scrape_s gzip_s
    local row
    for row in "${SUMMARY[@]}"; do
        echo "$row"
    done
    return "$failed"
}

main
