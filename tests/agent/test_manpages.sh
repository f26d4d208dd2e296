#!/bin/bash
# test_manpages.sh — the man pages (generated ones and ferry-import's) render
# without a groff warning, as lintian's groff-message check reads them (a line
# of meta-data text that starts with ' or . is a troff request: the package
# step found `'p2p' (default): ...` so).
. "$(dirname "$0")/testlib.sh"
command -v man >/dev/null || t_cannot_run "man is missing (man-db; ./bootstrap.sh --deps installs lintian, which needs it)"
for page in metadata/ocf_ferry_vm.7 metadata/ocf_ferry_health-cpu.7 tools/ferry-import.8; do
    # built in the build tree, or shipped in the source tree (a VPATH build)
    if [ -f "$top_builddir/$page" ]; then page=$top_builddir/$page
    elif [ -f "$top_srcdir/$page" ]; then page=$top_srcdir/$page
    else t_fail "$page is missing (not in $top_builddir nor $top_srcdir)"; continue; fi
    warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null |
           grep -v -e 'cannot adjust line' -e "can't break line" -e 'cannot break line')
    [ -z "$warn" ] && t_pass "$(basename "$page") renders without a groff warning" ||
        t_fail "$(basename "$page"): $warn"
done
t_done
