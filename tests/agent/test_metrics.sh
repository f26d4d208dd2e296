#!/bin/bash
# test_metrics.sh — the agent's Prometheus metrics as the real
# prometheus-node-exporter serves them: node_exporter runs inside lab host
# node1 with its textfile collector on the default metrics_dir, and after a
# pause migration, a live one (counted on node2, its source), a refused one and
# a monitor, curl inside node1 finds ferry's series in /metrics (and no textfile
# parse error). The progress line a long migrate_to logs every few seconds is
# checked on the way.
. "$(dirname "$0")/lablib.sh"

EXPORTER=$(command -v prometheus-node-exporter || true)
[ -n "$EXPORTER" ] || t_cannot_run "prometheus-node-exporter is missing (./bootstrap.sh --deps installs it)"
command -v curl >/dev/null || t_cannot_run "curl is missing (./bootstrap.sh --deps installs it)"

lab_setup 2
TIMEOUT_MS=120000
TEXTFILE=/var/lib/prometheus/node-exporter    # metrics_dir's default
LISTEN=127.0.0.1:9100                          # node1's own loopback
EXPORTER_PID=""

metrics_exit() {
    if [ -n "$EXPORTER_PID" ]; then
        kill "$EXPORTER_PID" 2>/dev/null
        wait "$EXPORTER_PID" 2>/dev/null
    fi
    lab_exit
}
trap metrics_exit EXIT

field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -n 1; }
scrape() { on node1 curl -sf --max-time 10 "http://$LISTEN/metrics"; }
# series VALUE-REGEX LINE-PREFIX: the scrape has the series with a matching value
has_series() {
    local prefix=$1 value=$2 line
    line=$(awk -v p="$prefix " 'index($0, p) == 1' <<<"$SCRAPE" | head -n 1)
    if [[ -n "$line" && "${line##* }" =~ ^($value)$ ]]; then
        t_pass "scraped: $line"
    else
        t_fail "no '$prefix' with value $value in the scrape (got '${line:-nothing}')"
    fi
}

# --- the lab hosts' textfile directories are private: none until made -------
t_ok "node1 has no $TEXTFILE before the test makes it" sh -c "! '$LAB' exec node1 test -e $TEXTFILE"
on node1 mkdir -p "$TEXTFILE"
on node2 mkdir -p "$TEXTFILE"

"$LAB" exec node1 "$EXPORTER" --web.listen-address="$LISTEN" --collector.disable-defaults \
    --collector.textfile --collector.textfile.directory="$TEXTFILE" \
    >"$FERRY_LAB_DIR/node_exporter.log" 2>&1 &
EXPORTER_PID=$!
deadline=$(( $(now_ms) + 20000 ))
until scrape >/dev/null 2>&1 || [ "$(now_ms)" -ge "$deadline" ]; do
    kill -0 "$EXPORTER_PID" 2>/dev/null || break
    sleep 0.2
done
t_ok "node_exporter answers inside node1" sh -c "'$LAB' exec node1 curl -sf --max-time 10 http://$LISTEN/metrics >/dev/null" ||
    t_log "$(tail -n 5 "$FERRY_LAB_DIR/node_exporter.log")"

# --- a slow pause migration (progress lines), back live ----------------------
# the guest writes its 32 MiB working set at 16 MiB/s; paused, it is copied at
# 4 MiB/s: about 8 s of copying, so a progress line or two
g=$(guest_xml g-metrics --os bm --dirty 32 --rate 16)
since=$(now_ms)
t_expect_rc "start g-metrics on node1" 0 agent node1 start OCF_RESKEY_config="$g"
t_ok "g-metrics runs and has written its working set (2.5 s of heartbeats)" ticks_wait g-metrics 125 40000 "$since"
t_expect_rc "monitor on node1" 0 agent node1 monitor OCF_RESKEY_config="$g" OCF_RESKEY_CRM_meta_interval=10000
t_expect_rc "pause migrate_to node1 -> node2 at 4 MiB/s" 0 migrate_to node1 node2 "$g" OCF_RESKEY_migrate=pause OCF_RESKEY_migration_speed=4
line=$(grep -o 'domain=.*' <<<"$T_ERR" | tail -n 1)
t_log "     stats: $line"
progress=$(grep "migrating 'g-metrics': copied" <<<"$T_ERR" | head -n 1)
if [ -n "$progress" ] && grep -q "remaining [0-9]* MiB of [0-9]* MiB, dirty [0-9.]* MiB/s, iteration [0-9]*" <<<"$progress" &&
   grep -q "guest paused (pause mode); next: abort in [0-9.]* s (" <<<"$progress"; then
    t_pass "a progress line while it ran: ${progress#*migrating }"
else
    t_fail "no progress line in migrate_to's log (total_ms=$(field total_ms "$line")): $(tail -n 3 <<<"$T_ERR")"
fi
t_expect_rc "migrate_from on node2" 0 migrate_from node1 node2 "$g" OCF_RESKEY_migrate=pause
t_expect_rc "stop on the source node1" 0 agent node1 stop OCF_RESKEY_config="$g"
t_expect_rc "live migrate_to node2 -> node1" 0 migrate_to node2 node1 "$g"
t_expect_rc "migrate_from on node1" 0 migrate_from node2 node1 "$g"
t_expect_rc "stop on the source node2" 0 agent node2 stop OCF_RESKEY_config="$g"
t_expect_rc "migrate_to an unknown node fails" 1 migrate_to node1 node9 "$g"

# --- what node_exporter serves ----------------------------------------------
SCRAPE=$(scrape)
t_ok "the scrape has ferry's series" grep -q '^ferry_' <<<"$SCRAPE"
has_series 'ferry_migrations_total{mode="pause",outcome="completed"}' 1
has_series 'ferry_migration_duration_seconds_count{mode="pause"}' 1
has_series 'ferry_migration_duration_seconds_bucket{mode="pause",le="+Inf"}' 1
has_series 'ferry_migration_duration_seconds_bucket{mode="pause",le="1"}' 0
has_series 'ferry_migration_downtime_seconds_count{mode="pause"}' 1
has_series 'ferry_migration_pause_seconds_count{mode="pause"}' 1
has_series 'ferry_migration_pause_seconds_bucket{mode="pause",le="0.5"}' 0
has_series 'ferry_migration_bytes_total{mode="pause"}' '[1-9][0-9.e+]*'
has_series 'ferry_migrations_total{mode="live",outcome="refused"}' 1
has_series 'ferry_migration_failures_total{reason="libvirt"}' 1
has_series 'ferry_migration_last_failure_info{reason="libvirt"}' 1
has_series 'ferry_migration_last_failure_timestamp_seconds' '1[0-9.e+]*'
has_series 'ferry_monitors_total{result="running"}' '[1-9][0-9]*'
has_series 'node_textfile_scrape_error' 0
t_ok "the live migration was counted on node2, its source" \
    sh -c "'$LAB' exec node2 grep -q '^ferry_migrations_total{mode=\"live\",outcome=\"completed\"} 1\$' $TEXTFILE/ferry.prom"
t_ok "no temporary file is left in the directory" \
    sh -c "[ \"\$('$LAB' exec node1 ls -A $TEXTFILE | grep -v -x -e ferry.prom -e .ferry.prom.lock)\" = '' ]"

t_expect_rc "stop g-metrics" 0 agent node1 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true
