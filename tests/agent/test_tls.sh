#!/bin/bash
# test_tls.sh — encrypted migration (tls=true), configured as an operator
# would: a CA and a certificate per host (openssl), each host's qemu.conf
# pointing migrate_tls_x509_cert_dir at its own directory, libvirtd
# restarted. A live and a pause migration with tls=true succeed; a capture on
# the migration link (tcpdump on the target's eth1) holds a marker the guest
# keeps in its memory (its id, on its command line) in plain text with
# tls=false, and not with tls=true; a target with a missing certificate, or
# one from a CA the source does not trust, and a source without its client
# certificate (ferry's pre-flight) fail before any memory moves, with a reason
# naming the certificate, the guest running unpaused on the source.
. "$(dirname "$0")/lablib.sh"

command -v openssl >/dev/null || t_cannot_run "openssl is missing (./bootstrap.sh --deps installs it)"
command -v tcpdump >/dev/null || t_cannot_run "tcpdump is missing (./bootstrap.sh --deps installs it)"

lab_setup 2
TIMEOUT_MS=120000
PKI=$FERRY_LAB_DIR/pki                       # removed with the lab's state directory
CERT_DIR=/etc/libvirt/pki/qemu-migrate       # inside each host (its private /etc/libvirt)
MARKER=ferrytlsmarker$RANDOM$RANDOM          # the guest's id: in its memory, never on the wire but in its RAM
CAP_PID=""

tls_exit() {
    if [ -n "$CAP_PID" ]; then
        kill "$CAP_PID" 2>/dev/null
        wait "$CAP_PID" 2>/dev/null
    fi
    lab_exit
}
trap tls_exit EXIT

state_on() { on "$1" virsh -q domstate "$2" 2>/dev/null | head -n 1; }
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -n 1; }

# ca NAME: a CA in $PKI/NAME
ca() {
    mkdir -p "$PKI/$1"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ferry lab $1" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$PKI/$1/ca-key.pem" -out "$PKI/$1/ca-cert.pem" 2>/dev/null
}

# host_cert CA HOST INDEX: HOST's certificate (server and client) from CA, in $PKI/CA/HOST
host_cert() {
    local ca=$1 h=$2 i=$3 d=$PKI/$1/$2
    mkdir -p "$d"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$h" -keyout "$d/server-key.pem" \
        -out "$d/req.pem" 2>/dev/null || return 1
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" \
        "subjectAltName=DNS:$h,DNS:$h-mig,IP:198.51.100.$((10 + i)),IP:203.0.113.$((10 + i))" >"$d/ext.cnf"
    openssl x509 -req -in "$d/req.pem" -CA "$PKI/$ca/ca-cert.pem" -CAkey "$PKI/$ca/ca-key.pem" \
        -CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server-cert.pem" 2>/dev/null || return 1
    cp "$d/server-cert.pem" "$d/client-cert.pem"
    cp "$d/server-key.pem" "$d/client-key.pem"
    rm -f "$d/req.pem" "$d/ext.cnf"
}

# install CA HOST [CA-CERT-FROM]: HOST's certificates into its CERT_DIR
install_certs() {
    local ca=$1 h=$2 trust=${3:-$1}
    on "$h" sh -c "rm -rf '$CERT_DIR' && mkdir -p '$CERT_DIR' &&
        cp '$PKI/$ca/$h'/*.pem '$CERT_DIR/' && cp '$PKI/$trust/ca-cert.pem' '$CERT_DIR/' &&
        chmod 600 '$CERT_DIR'/*-key.pem"
}

# --- the recipe: CA, per-host certificates, qemu.conf, libvirtd restarted ---
t_ok "a lab CA and a certificate per host" sh -c "$(declare -f ca host_cert); PKI='$PKI'; ca lab && ca rogue &&
    host_cert lab node1 1 && host_cert lab node2 2 && host_cert rogue node2 2"
for h in node1 node2; do
    install_certs lab "$h"
    on "$h" sh -c "printf '%s\n' '# ferry test_tls: migration TLS' 'migrate_tls_x509_cert_dir = \"$CERT_DIR\"' \
        'migrate_tls_x509_verify = 1' >>/etc/libvirt/qemu.conf"
    t_ok "$h: libvirtd restarted with migrate_tls_x509_cert_dir" "$LAB" daemon "$h" libvirtd restart
done

# capture_start HOST: tcpdump on HOST's migration link, into $FERRY_LAB_DIR/HOST.pcap
capture_start() {
    local f=$FERRY_LAB_DIR/$1.pcap deadline
    rm -f "$f" "$f.log"
    "$LAB" exec "$1" tcpdump -i eth1 -U -s 0 -Z root -w "$f" tcp >"$f.log" 2>&1 &
    CAP_PID=$!
    deadline=$(( $(now_ms) + 10000 ))
    until grep -q "listening on" "$f.log" 2>/dev/null || [ "$(now_ms)" -ge "$deadline" ]; do
        sleep 0.1
    done
}
capture_stop() {
    [ -n "$CAP_PID" ] || return 0
    kill "$CAP_PID" 2>/dev/null
    wait "$CAP_PID" 2>/dev/null
    CAP_PID=""
}
# captured HOST: bytes captured; has_marker HOST: the marker is in the capture
captured() { stat -c %s "$FERRY_LAB_DIR/$1.pcap" 2>/dev/null || echo 0; }
has_marker() { grep -a -q "$MARKER" "$FERRY_LAB_DIR/$1.pcap"; }

# move SRC DST DESC [VAR=value...]: migrate_to, migrate_from, stop on the source
move() {
    local src=$1 dst=$2 desc=$3
    shift 3
    t_expect_rc "$desc: migrate_to $src -> $dst" 0 migrate_to "$src" "$dst" "$g" "$@"
    LAST_LINE=$(grep -o 'domain=.*' <<<"$T_ERR" | tail -n 1)
    t_log "     stats: $LAST_LINE"
    t_expect_rc "$desc: migrate_from on $dst" 0 migrate_from "$src" "$dst" "$g" "$@"
    t_expect_rc "$desc: stop on the source $src" 0 agent "$src" stop OCF_RESKEY_config="$g"
}

# the guest keeps its 16 MiB working set (and its id) in memory; its stream
# goes over the migration network (tcp://%n-mig), libvirt's connection (ssh)
# over the management network
g=$(guest_xml g-tls --os bm --id "$MARKER" --dirty 16 --rate 40)
MIG='OCF_RESKEY_migrateuri=tcp://%n-mig'
since=$(now_ms)
t_expect_rc "start g-tls on node1" 0 agent node1 start OCF_RESKEY_config="$g"
t_ok "g-tls runs" ticks_wait "$MARKER" 25 40000 "$since"

# --- tls=false: the marker crosses the link in plain text --------------------
capture_start node2
move node1 node2 "plain" "$MIG" OCF_RESKEY_tls=false
capture_stop
t_log "     captured $(captured node2) bytes on node2's eth1"
t_ok "tls=false: the guest's marker is in the capture (plain text)" has_marker node2
T_PLAIN_MS=$(field total_ms "$LAST_LINE")

# --- tls=true, live and pause: it is not ---------------------------------------
capture_start node1
move node2 node1 "tls live" "$MIG" OCF_RESKEY_tls=true
capture_stop
bytes=$(captured node1)
if [ "$bytes" -gt $((8 * 1024 * 1024)) ]; then
    t_pass "tls=true: the capture saw the stream ($bytes bytes on node1's eth1)"
else
    t_fail "tls=true: only $bytes bytes captured on node1's eth1: the capture proves nothing"
fi
t_ok "tls=true: the guest's marker is not in the capture" sh -c "! grep -a -q '$MARKER' '$FERRY_LAB_DIR/node1.pcap'"
move node1 node2 "tls pause" "$MIG" OCF_RESKEY_tls=true OCF_RESKEY_migrate=pause
case "$LAST_LINE" in *"mode=pause"*"outcome=completed"*) t_pass "tls pause: completed" ;; *) t_fail "tls pause: $LAST_LINE" ;; esac
move node2 node1 "tls back" "$MIG" OCF_RESKEY_tls=true

# --- the target's certificate missing, or from a CA the source does not trust -
# refused: nothing moved, the guest runs unpaused on node1, nothing on node2
refused() {
    local desc=$1 want=$2
    shift 2
    t_expect_rc "$desc: migrate_to fails" 1 migrate_to node1 node2 "$g" "$MIG" OCF_RESKEY_tls=true "$@"
    t_reason_has "$want"
    t_log "     reason: $(grep '^ocf-exit-reason:' <<<"$T_ERR" | tail -n 1)"
    local s d
    s=$(state_on node1 g-tls) d=$(state_on node2 g-tls)
    if [ "$s" = running ] && [ -z "$d" -o "$d" = "shut off" ]; then
        t_pass "$desc: the guest runs unpaused on node1 only"
    else
        t_fail "$desc: node1 says '${s:-absent}', node2 says '${d:-absent}'"
    fi
}
on node2 rm -f "$CERT_DIR/server-cert.pem"
refused "node2 has no server certificate" "server-cert.pem"
install_certs rogue node2 rogue
refused "node2's certificate is from another CA" "server-cert.pem must be issued by the CA"
install_certs lab node2
# this node's own certificate missing: ferry's pre-flight refuses before libvirt is asked
on node1 rm -f "$CERT_DIR/client-cert.pem"
refused "node1 has no client certificate" "$CERT_DIR/client-cert.pem is No such file"
t_reason_has "nothing has moved"
install_certs lab node1
ticks_wait "$MARKER" 25 10000 "$(now_ms)" || true
rep=$(ticks_report "$MARKER" "$since")
if grep -qx 'resets=0' <<<"$rep" && grep -qx 'bad=0' <<<"$rep"; then
    t_pass "the guest kept running throughout (no reboot, 0 bad pages)"
else
    t_fail "heartbeat: $(tr '\n' ' ' <<<"$rep")"
fi

# --- FERRY_TLS_BENCH_RUNS=N: what tls and tunnelled cost (not in make check) --
# N round trips per transport, alternating: plain (tcp://%n-mig), tls=true
# (tcp://%n-mig), tunnelled (inside libvirt's ssh connection)
median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
if [ "${FERRY_TLS_BENCH_RUNS:-0}" -gt 0 ]; then
    declare -A TOTALS
    for (( run = 1; run <= FERRY_TLS_BENCH_RUNS; run++ )); do
        for mode in plain tls tunnelled; do
            case $mode in
            plain) set -- "$MIG" OCF_RESKEY_tls=false ;;
            tls) set -- "$MIG" OCF_RESKEY_tls=true ;;
            tunnelled) set -- OCF_RESKEY_tunnelled=true ;;
            esac
            move node1 node2 "bench $mode $run" "$@"
            TOTALS[$mode]+="$(field total_ms "$LAST_LINE") "
            move node2 node1 "bench $mode $run back" "$@"
            TOTALS[$mode]+="$(field total_ms "$LAST_LINE") "
        done
    done
    for mode in plain tls tunnelled; do
        t_log "bench: $mode total_ms: ${TOTALS[$mode]}(median $(tr ' ' '\n' <<<"${TOTALS[$mode]}" | grep . | median) ms)"
    done
fi
t_expect_rc "stop g-tls" 0 agent node1 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true
