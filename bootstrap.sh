#!/bin/bash
# bootstrap.sh — installs what ferry needs on Debian 12 (as root; idempotent),
# then configures and builds it in the source tree.
#
#   ./bootstrap.sh            install + build
#   ./bootstrap.sh --deps     install only
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
    # build
    gcc make autoconf automake libtool pkg-config libvirt-dev libxml2-dev check
    xsltproc libxml2-utils
    # the Debian package (package.sh): dpkg-buildpackage and lintian
    build-essential debhelper lintian
    # the agent's hypervisor, and the lab the tests and the demo run in
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
    openssh-server openssh-client iproute2 procps util-linux busybox-static
    # ocf-tester and ra-api-1.dtd
    resource-agents
    # the cluster the tests build on the lab hosts. NEVER pacemaker-remote: it conflicts
    # with pacemaker (installing it removes pacemaker); tests/lab/cluster.sh extracts it
    # (apt-get download + dpkg-deb -x) into the lab's own directory instead
    pacemaker pacemaker-cli-utils corosync crmsh
    # pcs as well as crmsh (test_reload), and its OCF 1.1 schema (ocf-1.1.rng) for make check
    pcs
    # test_placement checks that a monitor starts no process
    strace
    # test_metrics: the real node_exporter scrapes the agent's textfile, curl reads it;
    # test_tls: a lab CA (openssl) and a capture on the migration link (tcpdump)
    prometheus-node-exporter curl openssl tcpdump
    # test_valgrind: memcheck over the Check suites and the agent
    valgrind
    # fuzz/: libFuzzer harnesses (clang; libFuzzer and clang's ASan/UBSan
    # runtimes are in libclang-rt-14-dev). gcc's sanitizer runtimes (libasan8,
    # libubsan1) come with gcc.
    clang libclang-rt-14-dev
)

deps_install() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "bootstrap: missing packages: ${missing[*]}; run as root to install them" >&2
        exit 1
    fi
    echo "bootstrap: installing ${missing[*]}"
    # Package scripts must not start the distribution's libvirtd/sshd: the lab
    # runs its own, per host. A policy-rc.d that we create, we remove.
    local made_policy=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=yes
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
    [ $rc -eq 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || rc=$?; }
    [ $made_policy = yes ] && rm -f /usr/sbin/policy-rc.d
    [ $rc -eq 0 ] || { echo "bootstrap: apt-get failed ($rc)" >&2; exit $rc; }
}

build() {
    [ -x configure ] || autoreconf -fi >/dev/null
    [ -f Makefile ] || ./configure --enable-werror >/dev/null
    make -s -j"$(nproc)" >/dev/null
}

deps_install
[ "${1:-}" = --deps ] && exit 0
build
echo "bootstrap: built $(pwd)/agents/vm"
