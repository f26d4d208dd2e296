#!/bin/bash
# bench/import-scale.sh — how ferry-import's time grows with its input: prints the seconds
# (wall clock, one run each) for generated cluster.confs. No lab, no root; run after the
# build:
#
#   bench/import-scale.sh [CASE...]
#
#   CASE   vms-1000 vms-10000 vms-100000   plain <vm>s, crm and xml form
#          same-id-2000 same-id-20000      names that all clean to the id "a___" / "a____"
#          problems                        24000 bad <vm>s, 10 problems each (a 4 MB file)
#          domains                         32 nodes, 1000 failover domains of 16 (half of them
#                                          restricted), 20000 <vm>s in them: 640000 locations
#          nodes                           30000 <clusternode>s, a domain of 30000 nodes
#          one-line                        vms-10000 with domains, all on one line
#          (default: all of them)
#   BENCH_IMPORT_TIMEOUT=600   seconds before a case is given up ("> N s")
#
# The figures are for reading, not asserted (tests/check_import.c has the bounded tests).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMPORT=${IMPORT:-$TOP/tools/ferry-import}
LIMIT=${BENCH_IMPORT_TIMEOUT:-600}
[ -x "$IMPORT" ] || { echo "import-scale: $IMPORT is missing (run make first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# gen CASE > FILE
gen() {
    awk -v c="$1" '
    function head(nodes,   i) {
        print "<?xml version=\"1.0\"?>\n<cluster name=\"c\" config_version=\"1\">\n  <clusternodes>"
        for (i = 1; i <= nodes; i++)
            printf "    <clusternode name=\"node%d\" nodeid=\"%d\"/>\n", i, i
        print "  </clusternodes>\n  <rm>"
    }
    function tail() { print "  </rm>\n</cluster>" }
    # the i-th name of "a" and k characters that are not in an XML ID
    function odd(i, k,   s, j) {
        s = "a"
        for (j = 0; j < k; j++) { s = s substr(odd_chars, i % 20 + 1, 1); i = int(i / 20) }
        return s
    }
    function domains(nd, size, nodes,   d, j) {
        print "    <failoverdomains>"
        for (d = 0; d < nd; d++) {
            printf "      <failoverdomain name=\"fd%d\" ordered=\"1\" restricted=\"%d\">\n", d, d % 2
            for (j = 0; j < size; j++)
                printf "        <failoverdomainnode name=\"node%d\" priority=\"%d\"/>\n", (d + j) % nodes + 1, j % 100 + 1
            print "      </failoverdomain>"
        }
        print "    </failoverdomains>"
    }
    BEGIN {
        odd_chars = "!#$%'\''()*+,;=?@[]^{|}"
        if (c ~ /^vms-/) {
            n = substr(c, 5) + 0; head(3)
            for (i = 0; i < n; i++) printf "    <vm name=\"vm%d\"/>\n", i
            tail()
        } else if (c ~ /^same-id-/) {
            n = substr(c, 9) + 0; k = n <= 8000 ? 3 : 4; head(3)
            for (i = 0; i < n; i++) printf "    <vm name=\"%s\"/>\n", odd(i, k)
            tail()
        } else if (c == "problems") {
            head(3)
            for (i = 0; i < 24000; i++)
                printf "    <vm name=\"v%d\" migrate=\"x\" xmlfile=\"x\" autostart=\"x\" exclusive=\"x\" max_restarts=\"x\" restart_expire_time=\"x\" recovery=\"x\" domain=\"x\" depend_mode=\"x\" snapshot=\"x\"/>\n", i
            tail()
        } else if (c == "domains" || c == "one-line") {
            n = c == "domains" ? 20000 : 10000
            head(32); domains(1000, 16, 32)
            for (i = 0; i < n; i++) printf "    <vm name=\"vm%d\" domain=\"fd%d\"/>\n", i, i % 1000
            tail()
        } else if (c == "nodes") {
            head(30000); domains(1, 30000, 30000)
            print "    <vm name=\"vm\" domain=\"fd0\"/>"
            tail()
        }
    }' | if [ "$1" = one-line ]; then tr '\n' ' '; else cat; fi
}

# run CASE FORMAT: one line of figures
run() {
    local file=$tmp/$1.conf t0 t1 rc=0 secs
    [ -s "$file" ] || gen "$1" >"$file"
    t0=$(date +%s%N)
    timeout --foreground "$LIMIT" "$IMPORT" --format="$2" --output "$tmp/out" "$file" 2>"$tmp/err" || rc=$?
    t1=$(date +%s%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    [ "$rc" = 124 ] && secs="> $LIMIT"
    printf '%-16s %-4s %9s bytes %12s s  exit %s, %s lines on stderr\n' "$1" "$2" \
        "$(stat -c %s "$file")" "$secs" "$rc" "$(wc -l <"$tmp/err")"
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(vms-1000 vms-10000 vms-100000 same-id-2000 same-id-20000
                                 problems domains nodes one-line)
for c in "${cases[@]}"; do
    case $c in
    vms-*|same-id-*|domains|nodes|one-line) run "$c" crm; run "$c" xml ;;
    problems) run "$c" crm ;;
    *) echo "import-scale: unknown case '$c'" >&2; exit 2 ;;
    esac
done
