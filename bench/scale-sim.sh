#!/bin/bash
# bench/scale-sim.sh — how far one Pacemaker cluster carries ferry: simulated CIBs of 32 full nodes +
# R Pacemaker Remote hypervisors (R = 50 100 200 400 by default), 10 ocf:ferry:vm per hypervisor with
# utilization (cpu, hv_memory) and placement-strategy=balanced, measured with crm_simulate.
# One command (any user; no cluster, no lab, nothing outside the work dir is touched):
#
#   bench/scale-sim.sh [--sizes "50 100 200 400"] [--repeat N] [--out DIR] [--keep-work]
#   bench/scale-sim.sh --report-only [--out DIR]
#   --quick: only the steady and standby scenarios, no transition checks (the largest sizes on a
#   loaded machine: 2 scheduler runs instead of 12; BENCH_SIM_QUICK_SCENARIOS="steady" for one)
#
# For each R it writes the CIBs with awk (the configuration) and crm_simulate (the status: the core
# nodes injected online, then one simulated transition starts every remote connection and VM), then:
#   initial    cold start: cores online, nothing running -> the transition that places 10R VMs
#   steady     everything running, nothing to do (= what each CIB change costs, e.g. a utilization write)
#   standby    hv001 standby=on: every VM on it must leave by migrate_to/migrate_from (checked)
#   loss       hv001's connection monitor fails (rc 7): hv001 fenced, its VMs recovered elsewhere (checked)
#   rebalance  VMs packed on half the hypervisors (the other half was in standby) and stickiness 0:
#              the standby is lifted and the scheduler spreads the VMs out (balanced)
# Each scenario is timed by crm_simulate --profile --repeat N (the scheduler's CPU time for one run,
# CIB unpacking included), the transition is read from crm_simulate -R (actions counted), and the CIB
# size and a utilization write (CIB_file=... crm_resource --utilization --set-parameter) are measured.
# Results: DIR/data/scale.txt (one key=value line per measurement), DIR/scale-sim.png (gnuplot),
# DIR/scale-table.md (tables + fitted growth + where it crosses Pacemaker's limits).
# Everything runs at nice 19, each crm_simulate bounded by BENCH_SIM_TIMEOUT seconds (default 900).
# The load average is recorded with every size: figures measured while the machine was busy are
# labelled so in the table.
# Defaults: --sizes "50 100 200 400", --repeat 3, --out bench/scale, work dir /var/tmp/ferry-scale-sim.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${BENCH_SIM_WORK:-/var/tmp/ferry-scale-sim}
CORES=32
VMS_PER_HV=10
TMO=${BENCH_SIM_TIMEOUT:-900}

die() { printf 'scale-sim: ERROR: %s\n' "$*" >&2; exit 1; }
note() { printf '%s [scale-sim] %s\n' "$(date +%T)" "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }

sizes="50 100 200 400" cell=10 repeat=3 out=$BENCH/scale keep=0 report_only=0 quick=0
while [ $# -gt 0 ]; do
    case $1 in
        --sizes) [ $# -ge 2 ] || die "--sizes needs a value"; sizes=$2; shift ;;
        --cell) [ $# -ge 2 ] || die "--cell needs a value"; cell=$2; shift ;;
        --repeat) [ $# -ge 2 ] || die "--repeat needs a value"; repeat=$2; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift ;;
        --keep-work) keep=1 ;;
        --quick) quick=1 ;;
        --report-only) report_only=1 ;;
        -h|--help) usage 0 ;;
        *) echo "scale-sim: unknown option '$1'" >&2; usage 2 ;;
    esac
    shift
done
for r in $sizes; do [[ $r =~ ^[1-9][0-9]*$ ]] && [ "$r" -ge 4 ] || die "bad size '$r' (4 or more hypervisors)"; done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "bad --repeat '$repeat'"
[[ $cell =~ ^[0-9]+$ ]] || die "bad --cell '$cell'"
for p in crm_simulate crm_attribute crm_resource awk gzip; do command -v "$p" >/dev/null || die "missing $p"; done
mkdir -p "$out/data"
out=$(cd "$out" && pwd)
DATA=$out/data/scale.txt

sim() { nice -n 19 timeout "$TMO" crm_simulate "$@"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
load1() { cut -d' ' -f1 /proc/loadavg; }

# gen_cib R CELL MODE: the CIB of 32 cores + R remote hypervisors + 10R VMs, with its status written out
# (MODE steady: every VM running, spread over its cell; packed: on the first half of its cell's
# hypervisors, stickiness 0; config: no status).  Hypervisors form cells of CELL (their attribute
# "cell"); a VM is probed (resource-discovery=exclusive) and placed only in its own cell.  The op
# digests are what Pacemaker computes (md5 of the canonical parameter list), so the scheduler sees no
# definition change.
gen_cib() {
    awk -v R="$1" -v F="$CORES" -v V="$VMS_PER_HV" -v C="$2" -v MODE="$3" "$GEN_AWK" |
        perl -MDigest::MD5=md5_hex -pe 's/op-digest="\@([^@]*)\@"/my $p = $1; $p =~ tr{\x27}{"}; "op-digest=\"" . md5_hex(" <parameters $p\/>\n") . "\""/ge'
}
GEN_AWK=$(cat <<'AWK'
# R hypervisors, F cores, V VMs per hv, C cell size, MODE steady|packed|config
function op(id, rsc, task, interval, rc, callid, dig) {
    return sprintf("<lrm_rsc_op id=\"%s\" operation_key=\"%s_%s_%d\" operation=\"%s\" crm-debug-origin=\"scale-sim\" crm_feature_set=\"3.16.1\" transition-key=\"1:0:%d:00000000-0000-0000-0000-000000000000\" transition-magic=\"0:%d;1:0:%d:00000000-0000-0000-0000-000000000000\" exit-reason=\"\" call-id=\"%d\" rc-code=\"%d\" op-status=\"0\" interval=\"%d\" last-rc-change=\"1700000000\" exec-time=\"0\" queue-time=\"0\" op-digest=\"@%s@\"/>", id, rsc, task, interval, task, rc, rc, rc, callid, rc, interval, dig)
}
function vmname(v) { return sprintf("c%02dv%04d", int((v - 1) / (V * C)) + 1, v) }
function hvname(i) { return sprintf("hv%03d", i) }
function host_of(v,   cell, k) { cell = int((v - 1) / (V * C)); k = (MODE == "packed") ? int(C / 2) : C; return cell * C + ((v - 1) % k) + 1 }
BEGIN {
    ncell = int(R / C)
    print "<cib crm_feature_set=\"3.16.1\" validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"1\">"
    print "  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">"
    print "        <nvpair id=\"o-stonith\" name=\"stonith-enabled\" value=\"true\"/>"
    print "        <nvpair id=\"o-placement\" name=\"placement-strategy\" value=\"balanced\"/>"
    print "        <nvpair id=\"o-infra\" name=\"cluster-infrastructure\" value=\"corosync\"/>"
    print "        <nvpair id=\"o-mlimit\" name=\"migration-limit\" value=\"2\"/>"
    print "      </cluster_property_set>\n    </crm_config>\n    <nodes>"
    for (i = 1; i <= F; i++) printf "      <node id=\"%d\" uname=\"core%02d\"/>\n", i, i
    for (i = 1; i <= R; i++) {
        h = hvname(i); sb = "off"
        printf "      <node id=\"%s\" type=\"remote\" uname=\"%s\"><instance_attributes id=\"%s-na\"><nvpair id=\"%s-cell\" name=\"cell\" value=\"%d\"/><nvpair id=\"%s-standby\" name=\"standby\" value=\"%s\"/></instance_attributes><utilization id=\"%s-u\"><nvpair id=\"%s-u-cpu\" name=\"cpu\" value=\"64\"/><nvpair id=\"%s-u-mem\" name=\"hv_memory\" value=\"262144\"/></utilization></node>\n", h, h, h, h, int((i - 1) / C) + 1, h, sb, h, h, h
    }
    print "    </nodes>\n    <resources>"
    print "      <primitive id=\"fence-hv\" class=\"stonith\" type=\"fence_ipmilan\"><instance_attributes id=\"fence-hv-ia\"><nvpair id=\"fence-hv-hc\" name=\"pcmk_host_check\" value=\"none\"/></instance_attributes><operations><op id=\"fence-hv-mon\" name=\"monitor\" interval=\"60s\"/></operations></primitive>"
    for (i = 1; i <= R; i++) { h = hvname(i); printf "      <primitive id=\"%s\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\"><instance_attributes id=\"%s-ia\"><nvpair id=\"%s-srv\" name=\"server\" value=\"%s.example.invalid\"/></instance_attributes><operations><op id=\"%s-mon\" name=\"monitor\" interval=\"30s\" timeout=\"15s\"/></operations></primitive>\n", h, h, h, h, h }
    for (v = 1; v <= R * V; v++) {
        n = vmname(v); mem = (v % 4 == 0) ? 16384 : (v % 2 == 0 ? 8192 : 4096); cpu = (v % 4 == 0) ? 4 : 2
        printf "      <primitive id=\"%s\" class=\"ocf\" provider=\"ferry\" type=\"vm\"><instance_attributes id=\"%s-ia\"><nvpair id=\"%s-cfg\" name=\"config\" value=\"/srv/vms/%s.xml\"/><nvpair id=\"%s-mig\" name=\"migrate\" value=\"live\"/></instance_attributes><meta_attributes id=\"%s-ma\"><nvpair id=\"%s-am\" name=\"allow-migrate\" value=\"true\"/></meta_attributes><utilization id=\"%s-u\"><nvpair id=\"%s-u-cpu\" name=\"cpu\" value=\"%d\"/><nvpair id=\"%s-u-mem\" name=\"hv_memory\" value=\"%d\"/></utilization><operations><op id=\"%s-mon\" name=\"monitor\" interval=\"10s\" timeout=\"30s\"/><op id=\"%s-mt\" name=\"migrate_to\" interval=\"0\" timeout=\"120s\"/><op id=\"%s-mf\" name=\"migrate_from\" interval=\"0\" timeout=\"60s\"/></operations></primitive>\n", n, n, n, n, n, n, n, n, n, cpu, n, mem, n, n, n
    }
    print "    </resources>\n    <constraints>"
    for (k = 1; k <= ncell; k++) {
        printf "      <rsc_location id=\"cell%02d-discovery\" rsc-pattern=\"^c%02dv\" resource-discovery=\"exclusive\"><rule id=\"cell%02d-d-r\" score=\"0\"><expression id=\"cell%02d-d-e\" attribute=\"cell\" operation=\"eq\" value=\"%d\"/></rule></rsc_location>\n", k, k, k, k, k
        printf "      <rsc_location id=\"cell%02d-only\" rsc-pattern=\"^c%02dv\"><rule id=\"cell%02d-o-r\" score=\"-INFINITY\" boolean-op=\"or\"><expression id=\"cell%02d-o-e1\" attribute=\"cell\" operation=\"not_defined\"/><expression id=\"cell%02d-o-e2\" attribute=\"cell\" operation=\"ne\" value=\"%d\"/></rule></rsc_location>\n", k, k, k, k, k, k
    }
    print "    </constraints>"
    print "    <rsc_defaults><meta_attributes id=\"rsc-defaults\"><nvpair id=\"rd-stick\" name=\"resource-stickiness\" value=\"" (MODE == "packed" ? 0 : 100) "\"/></meta_attributes></rsc_defaults>"
    print "  </configuration>"
    if (MODE == "config") { print "  <status/>\n</cib>"; exit }
    print "  <status>"
    for (c = 1; c <= F; c++) {
        printf "    <node_state id=\"%d\" uname=\"core%02d\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\" crm-debug-origin=\"scale-sim\"><lrm id=\"%d\"><lrm_resources>\n", c, c, c
        printf "      <lrm_resource id=\"fence-hv\" class=\"stonith\" type=\"fence_ipmilan\">"
        if (c == 1) printf "%s%s", op("fence-hv_last_0", "fence-hv", "start", 0, 0, 2, "pcmk_host_check='none'"), op("fence-hv_monitor_60000", "fence-hv", "monitor", 60000, 0, 3, "CRM_meta_timeout='20000' pcmk_host_check='none'")
        else printf "%s", op("fence-hv_last_0", "fence-hv", "monitor", 0, 7, 1, "pcmk_host_check='none'")
        printf "</lrm_resource>\n"
        for (i = 1; i <= R; i++) {
            h = hvname(i)
            printf "      <lrm_resource id=\"%s\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">", h
            if ((i - 1) % F + 1 == c) printf "%s%s", op(h "_last_0", h, "start", 0, 0, 2, "server='" h ".example.invalid'"), op(h "_monitor_30000", h, "monitor", 30000, 0, 3, "CRM_meta_timeout='15000' server='" h ".example.invalid'")
            else printf "%s", op(h "_last_0", h, "monitor", 0, 7, 1, "server='" h ".example.invalid'")
            printf "</lrm_resource>\n"
        }
        printf "    </lrm_resources></lrm></node_state>\n"
    }
    for (i = 1; i <= R; i++) {
        h = hvname(i); cell = int((i - 1) / C)
        printf "    <node_state id=\"%s\" uname=\"%s\" remote_node=\"true\" crm-debug-origin=\"scale-sim\"><lrm id=\"%s\"><lrm_resources>\n", h, h, h
        for (v = cell * C * V + 1; v <= (cell + 1) * C * V; v++) {
            n = vmname(v)
            printf "      <lrm_resource id=\"%s\" class=\"ocf\" provider=\"ferry\" type=\"vm\">", n
            if (host_of(v) == i) printf "%s%s", op(n "_last_0", n, "start", 0, 0, 2, "config='/srv/vms/" n ".xml' migrate='live'"), op(n "_monitor_10000", n, "monitor", 10000, 0, 3, "CRM_meta_timeout='30000' config='/srv/vms/" n ".xml' migrate='live'")
            else printf "%s", op(n "_last_0", n, "monitor", 0, 7, 1, "config='/srv/vms/" n ".xml' migrate='live'")
            printf "</lrm_resource>\n"
        }
        printf "    </lrm_resources></lrm></node_state>\n"
    }
    print "  </status>\n</cib>"
}
AWK
)

# run FILE [crm_simulate args]: crm_simulate -R's output in FILE.out (one scheduler run per file)
run() { local f=$1; shift; sim -x "$f" -R "$@" >"$f.out" 2>/dev/null || true; }
# summary FILE: the transition's summary lines ("  * Migrate c01v0001 ( hv001 -> hv005 )") of FILE.out
summary() { sed -n '/^Transition Summary:/,$p' "$1.out" | sed 1d | grep '^ *\* ' || true; }
# vms_on FILE NODE: the VMs running on NODE (from FILE.out)
vms_on() { sed -n '/^Current cluster status:/,/^Transition Summary:/p' "$1.out" | awk -v n="$2" '$2 ~ /^c[0-9]+v[0-9]+$/ && $4 == "Started" && $5 == n { print $2 }' | sort; }
count() { grep -c -E -e "$1" || true; }

measure_size() { # R CELL (0 = one cell of all R)
    local R=$1 C=$2 d=$WORK/r$1-c$2 up=() i t0 t1 host load tag
    [ "$C" = 0 ] && C=$R
    (( R % C == 0 )) || die "R=$R is not a multiple of the cell size $C"
    tag="R=$R cell=$C"
    rm -rf "$d"; mkdir -p "$d/prof"
    load=$(load1)
    note "$tag: generating ($(( R * VMS_PER_HV )) VMs), load $load"
    t0=$(now_ms)
    gen_cib "$R" "$C" steady >"$d/steady.xml"
    if [ "$quick" = 1 ]; then
        cp "$d/steady.xml" "$d/standby.xml"
        CIB_file=$d/standby.xml crm_attribute -N hv001 -n standby -v on >/dev/null
        # shellcheck disable=SC2086
        measure_cost "$R" "$C" "$d" ${BENCH_SIM_QUICK_SCENARIOS:-steady standby}
        return 0
    fi
    gen_cib "$R" "$C" config >"$d/base.xml"
    gen_cib "$R" "$C" packed >"$d/rebalance.xml"
    t1=$(now_ms)
    echo "$tag what=generate wall_ms=$(( t1 - t0 ))" >>"$DATA"
    for (( i = 1; i <= CORES; i++ )); do up+=(-u "$(printf 'core%02d' "$i")"); done
    # cold start: the cores online, nothing else known
    sim -x "$d/base.xml" -Q "${up[@]}" -I "$d/initial.xml" >/dev/null 2>&1 || die "$tag: injecting the cores failed"
    local s started
    run "$d/steady.xml"
    s=$(summary "$d/steady.xml")
    [ -z "$s" ] || die "$tag: the generated steady state is not steady: $(head -n 3 <<<"$s")"
    started=$(grep -cE '^ *\* c[0-9]+v[0-9]+.*Started hv' "$d/steady.xml.out" || true)
    [ "$started" = $(( R * VMS_PER_HV )) ] || die "$tag: $started of $(( R * VMS_PER_HV )) VMs started"
    # standby of hv001
    cp "$d/steady.xml" "$d/standby.xml"
    CIB_file=$d/standby.xml crm_attribute -N hv001 -n standby -v on >/dev/null
    # loss of hv001: its connection's monitor fails on the core that hosts the connection
    host=$(awk '$2 == "hv001" && $4 == "Started" { print $5 }' "$d/steady.xml.out")
    [ -n "$host" ] || die "$tag: hv001's connection is not running"
    sim -x "$d/steady.xml" -Q -i "hv001_monitor_30000@$host=7" -I "$d/loss.xml" >/dev/null 2>&1 || die "$tag: injecting the loss failed"
    run "$d/standby.xml"; run "$d/loss.xml"; run "$d/rebalance.xml"; run "$d/initial.xml" -G "$d/initial-graph.xml"

    # the transitions
    local vms n_on
    vms=$(vms_on "$d/steady.xml" hv001); n_on=$(wc -w <<<"$vms")
    s=$(summary "$d/standby.xml")
    echo "$tag what=standby_actions vms_on_node=$n_on migrate=$(count ' Migrate .*\( hv001 -> ' <<<"$s") other_vm_actions=$(grep -E ' c[0-9]+v[0-9]+ ' <<<"$s" | grep -vcE ' Migrate .*\( hv001 -> ' || true)" >>"$DATA"
    s=$(summary "$d/loss.xml")
    echo "$tag what=loss_actions vms_on_node=$n_on recover=$(count ' (Move|Recover|Start) .*\( hv001 -> ' <<<"$s") fence=$(count 'Fence.*hv001' <<<"$s") other_vm_actions=$(grep -E ' c[0-9]+v[0-9]+ ' <<<"$s" | grep -vc ' ( hv001 -> ' || true)" >>"$DATA"
    s=$(summary "$d/rebalance.xml")
    # VMs only (the balanced strategy may move the fence device between cores too)
    echo "$tag what=rebalance_actions migrate=$(count ' Migrate +c[0-9]+v' <<<"$s") move=$(count ' Move +c[0-9]+v' <<<"$s") stop_start=$(count ' (Stop|Start|Restart) +c[0-9]+v' <<<"$s")" >>"$DATA"
    s=$(summary "$d/initial.xml")
    echo "$tag what=initial_actions start=$(count ' Start ' <<<"$s") probes=$(grep -c 'operation_key="[^"]*_monitor_0"' "$d/initial-graph.xml" || true)" >>"$DATA"
    measure_cost "$R" "$C" "$d" initial steady standby loss rebalance
}

measure_cost() { # R C DIR SCENARIO...
    local R=$1 C=$2 d=$3 tag="R=$1 cell=$2" i t0 t1 load
    shift 3

    # CIB size, and one utilization write at that size (file-backed CIB: parse, change, write)
    # (wall time is the load's; the CPU time, user + sys of crm_resource, is what the write costs)
    local bytes gz w0 w1 best="" cpu bestcpu="" TIMEFORMAT='%3U %3S'
    bytes=$(stat -c %s "$d/steady.xml"); gz=$(gzip -c "$d/steady.xml" | wc -c)
    for i in 1 2 3; do
        cp "$d/steady.xml" "$d/write.xml"
        w0=$(now_ms)
        cpu=$( { time CIB_file=$d/write.xml nice -n 19 crm_resource --resource c01v0001 --utilization --set-parameter cpu --parameter-value "$(( 2 + i ))" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%d", ($1 + $2) * 1000 }')
        w1=$(now_ms)
        if [ -z "$best" ] || [ $(( w1 - w0 )) -lt "$best" ]; then best=$(( w1 - w0 )); fi
        if [ -z "$bestcpu" ] || [ "$cpu" -lt "$bestcpu" ]; then bestcpu=$cpu; fi
    done
    echo "$tag what=cib bytes=$bytes gzip_bytes=$gz util_write_ms=$best util_write_cpu_ms=$bestcpu load=$(load1)" >>"$DATA"

    # the scheduler's time, crm_simulate --profile (CPU seconds of `repeat` runs, divided here)
    local sc secs
    for sc in "$@"; do
        rm -f "$d/prof/"*.xml; cp "$d/$sc.xml" "$d/prof/$sc.xml"
        load=$(load1)
        t0=$(now_ms)
        secs=$(sim --profile "$d/prof" --repeat "$repeat" 2>&1 | sed -n "s/.*Testing .*$sc.xml \.\.\. \([0-9.]*\) secs.*/\1/p")
        t1=$(now_ms)
        [ -n "$secs" ] || die "$tag: profiling $sc gave no timing (timeout ${TMO}s?)"
        echo "$tag what=profile scenario=$sc vms=$(( R * VMS_PER_HV )) nodes=$(( R + CORES )) repeat=$repeat cpu_s=$(awk -v s="$secs" -v n="$repeat" 'BEGIN { printf "%.3f", s / n }') wall_ms=$(( (t1 - t0) / repeat )) load=$load" >>"$DATA"
        note "$tag $sc: $(tail -n 1 "$DATA" | cut -d' ' -f4-)"
    done
    [ "$keep" = 1 ] || rm -rf "$d"
}

# ------------------------------------------------------------------ report: table, fit, plot
report() {
    [ -s "$DATA" ] || die "no data in $DATA"
    local tab=$out/scale-table.md cpus
    cpus=$(nproc)
    {
        echo "# Scheduler cost at scale (generated by bench/scale-sim.sh from data/scale.txt)"
        echo
        echo "32 full nodes + R remote hypervisors, 10 VMs each. Times are crm_simulate --profile: the"
        echo "scheduler's CPU seconds for one run (unpacking the CIB included), mean of the --repeat runs;"
        echo "wall = elapsed per run. Load = 1-min load average when measured ($cpus CPUs); 'busy' marks"
        echo "figures taken with the load above $cpus (shared machine: expect wall > cpu there)."
        echo
        echo "| R/cell | VMs | nodes | initial s | steady s | standby s | loss s | rebalance s | busy |"
        echo "|---|-----|-------|-----------|----------|-----------|--------|-------------|------|"
        awk -v cpus="$cpus" '
            function key(x,  p) { split(x, p, "/"); return (p[1] == p[2] ? 100000 : 0) + p[1] }
            /^#/ { next } { delete k; for (i = 1; i <= NF; i++) { split($i, a, "="); k[a[1]] = a[2] } }
            k["what"] == "profile" { r = k["R"] "/" k["cell"]; R[r] = 1; t[r, k["scenario"]] = k["cpu_s"]; w[r, k["scenario"]] = k["wall_ms"] / 1000
                vm[r] = k["vms"]; nd[r] = k["nodes"]; if (k["load"] + 0 > cpus) busy[r] = busy[r] " " k["scenario"] }
            END { n = 0; for (r in R) s[++n] = r
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (key(s[j]) < key(s[i])) { x = s[i]; s[i] = s[j]; s[j] = x }
                for (i = 1; i <= n; i++) { r = s[i]
                    printf "| %s | %d | %d | %s | %s | %s | %s | %s | %s |\n", r, vm[r], nd[r], c(r, "initial"), c(r, "steady"),
                        c(r, "standby"), c(r, "loss"), c(r, "rebalance"), busy[r] == "" ? "-" : busy[r] } }
            function c(r, sc) { return ((r, sc) in t) ? sprintf("%s (%.1f)", t[r, sc], w[r, sc]) : "-" }' "$DATA"
        echo
        echo "(cpu s, with wall s in parentheses)"
        echo
        echo "| R/cell | CIB bytes | gzip bytes | utilization write ms (CIB_file) | standby: VMs on hv001 / migrated / other VM actions | loss: VMs / recovered / fenced / other | rebalance: migrate / move / stop-start | CIBs generated in (s) |"
        echo "|---|-----------|------------|------|------|------|------|------|"
        awk '
            function key(x,  p) { split(x, p, "/"); return (p[1] == p[2] ? 100000 : 0) + p[1] }
            /^#/ { next } { delete k; for (i = 1; i <= NF; i++) { split($i, a, "="); k[a[1]] = a[2] } r = k["R"] "/" k["cell"]; R[r] = 1 }
            k["what"] == "cib" { b[r] = k["bytes"]; g[r] = k["gzip_bytes"]; u[r] = (k["util_write_cpu_ms"] != "" ? k["util_write_cpu_ms"] " cpu, " : "") k["util_write_ms"] " wall" }
            k["what"] == "standby_actions" { sb[r] = k["vms_on_node"] " / " k["migrate"] " / " k["other_vm_actions"] }
            k["what"] == "loss_actions" { ls[r] = k["vms_on_node"] " / " k["recover"] " / " k["fence"] " / " k["other_vm_actions"] }
            k["what"] == "rebalance_actions" { rb[r] = k["migrate"] " / " k["move"] " / " k["stop_start"] }
            k["what"] == "generate" { cs[r] = sprintf("%.1f", k["wall_ms"] / 1000) }
            END { n = 0; for (r in R) s[++n] = r
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (key(s[j]) < key(s[i])) { x = s[i]; s[i] = s[j]; s[j] = x }
                for (i = 1; i <= n; i++) { r = s[i]; printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r, b[r], g[r], u[r], sb[r], ls[r], rb[r], cs[r] } }' "$DATA"
        echo
        echo "Fitted growth t = a * VMs^b (least squares on log t, log VMs), and where t reaches"
        echo "the scheduler-reply timeout (120 s, SCHED_TIMEOUT_MS in pacemaker-controld: the controller gives"
        echo "up on the scheduler) and cluster-delay's default (60 s):"
        echo
        echo "| scenario | a | b | VMs at 60 s | VMs at 120 s |"
        echo "|----------|---|---|-------------|--------------|"
        fit_lines
    } >"$tab"
    plot
    note "wrote $tab and $out/scale-sim.png"
}

# fit_lines: one table row per scenario (and "write" for the CIB size)
fit_lines() {
    awk '
        /^#/ { next } { delete k; for (i = 1; i <= NF; i++) { split($i, a, "="); k[a[1]] = a[2] } }
        k["what"] == "profile" && k["cpu_s"] > 0 { sc = k["scenario"] " (" (k["cell"] == k["R"] ? "one cell" : "cells of " k["cell"]) ")"; S[sc] = 1; n[sc]++
            x = log(k["vms"]); y = log(k["cpu_s"]); sx[sc] += x; sy[sc] += y; sxx[sc] += x * x; sxy[sc] += x * y }
        END { for (sc in S) { if (n[sc] < 2) continue
                b = (n[sc] * sxy[sc] - sx[sc] * sy[sc]) / (n[sc] * sxx[sc] - sx[sc] * sx[sc]); la = (sy[sc] - b * sx[sc]) / n[sc]
                printf "| %s | %.3g | %.2f | %.0f | %.0f |\n", sc, exp(la), b, exp((log(60) - la) / b), exp((log(120) - la) / b) } }' "$DATA" | sort
}

plot() {
    command -v gnuplot >/dev/null || { note "gnuplot missing: no plot"; return 0; }
    local pd=$WORK/plot; mkdir -p "$pd"
    local sc
    for sc in initial steady standby loss rebalance; do
        awk -v sc="$sc" '/^#/ { next } { delete k; for (i = 1; i <= NF; i++) { split($i, a, "="); k[a[1]] = a[2] } }
            k["what"] == "profile" && k["scenario"] == sc && k["cell"] != k["R"] { print k["vms"], k["cpu_s"] }' "$DATA" | sort -n >"$pd/$sc.dat"
        awk -v sc="$sc" '/^#/ { next } { delete k; for (i = 1; i <= NF; i++) { split($i, a, "="); k[a[1]] = a[2] } }
            k["what"] == "profile" && k["scenario"] == sc && k["cell"] == k["R"] { print k["vms"], k["cpu_s"] }' "$DATA" | sort -n >"$pd/$sc-one.dat"
    done
    local fa fb
    read -r fa fb < <(awk '/^#/ { next } { delete k; for (i = 1; i <= NF; i++) { split($i, a, "="); k[a[1]] = a[2] } }
        k["what"] == "profile" && k["scenario"] == "steady" && k["cell"] != k["R"] && k["cpu_s"] > 0 { n++
            x = log(k["vms"]); y = log(k["cpu_s"]); sx += x; sy += y; sxx += x * x; sxy += x * y }
        END { if (n < 2) { print 0, 1; exit } b = (n * sxy - sx * sy) / (n * sxx - sx * sx); print exp((sy - b * sx) / n), b }' "$DATA")
    gnuplot <<EOF
set terminal pngcairo size 900,600 noenhanced
set output '$out/scale-sim.png'
set title 'Pacemaker 2.1.5 scheduler, 32 cores + R remote hypervisors x 10 VMs (cells of 10)'
set xlabel 'VMs (= 10 x remote nodes)'
set ylabel 'scheduler CPU seconds per transition'
set logscale xy
set grid
set key bottom right
set xrange [150:5000]
set arrow from graph 0, first 60 to graph 1, first 60 nohead dt 2 lc rgb 'gray40'
set label 'cluster-delay 60 s' at graph 0.02, first 70 tc rgb 'gray40'
set arrow from graph 0, first 120 to graph 1, first 120 nohead dt 2 lc rgb 'red'
set label 'scheduler reply timeout 120 s' at graph 0.02, first 140 tc rgb 'red'
set yrange [0.01:400]
fit_a = $fa
fit_b = $fb
f(x) = fit_a * x ** fit_b
plot f(x) with lines dt 4 lc rgb 'gray60' title sprintf('steady, fitted: %.3g * VMs^%.2f', fit_a, fit_b), \
     '$pd/initial.dat' using 1:2 with linespoints title 'initial placement', \
     '$pd/steady.dat' using 1:2 with linespoints title 'steady (any CIB write)', \
     '$pd/standby.dat' using 1:2 with linespoints title 'standby of one hypervisor', \
     '$pd/loss.dat' using 1:2 with linespoints title 'loss of one hypervisor', \
     '$pd/rebalance.dat' using 1:2 with linespoints title 'full rebalance', \
     '$pd/steady-one.dat' using 1:2 with linespoints dt 3 lc rgb 'black' title 'steady, one cell (every VM probed on every hypervisor)', \
     '$pd/standby-one.dat' using 1:2 with linespoints dt 3 lc rgb 'gray50' title 'standby, one cell'
EOF
}

if [ "$report_only" = 1 ]; then
    mkdir -p "$WORK"; report; [ "$keep" = 1 ] || rm -rf "$WORK"; exit 0
fi
mkdir -p "$WORK"
trap '[ "$keep" = 1 ] || rm -rf "$WORK"' EXIT
{ echo "# run $(date -u '+%F %T') UTC pacemaker=$(crm_simulate --version | head -n 1 | cut -d' ' -f2) cpus=$(nproc) sizes=\"$sizes\" cell=$cell repeat=$repeat"; } >>"$DATA"
for r in $sizes; do
    # a rerun of a size replaces its earlier lines
    c=$cell; [ "$c" = 0 ] && c=$r
    sed -i "/^R=$r cell=$c /d" "$DATA"
    measure_size "$r" "$cell"
done
report
