/* floor.c — the least a libvirt-based monitor can do, for bench/run.sh:
 * connect to libvirt, look the domain up by name, read its state.
 *
 *   floor URI NAME      exit 0 running/paused/..., 7 shut off or not found, 1 error
 *
 * No config file is parsed, nothing is logged: ferry's monitor does both, so
 * floor / ferry is the price of everything ferry adds to the one libvirt call. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>

static void
quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

int
main(int argc, char **argv)
{
    virConnectPtr conn;
    virDomainPtr dom;
    int state = 0, reason = 0, rc = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: floor URI NAME\n");
        return 2;
    }
    virSetErrorFunc(NULL, quiet);
    conn = virConnectOpen(argv[1]);
    if (conn == NULL)
        return 1;
    dom = virDomainLookupByName(conn, argv[2]);
    if (dom == NULL) {
        virErrorPtr e = virGetLastError();

        rc = (e && e->code == VIR_ERR_NO_DOMAIN) ? 7 : 1;
    } else {
        if (virDomainGetState(dom, &state, &reason, 0) == 0)
            rc = (state == VIR_DOMAIN_SHUTOFF) ? 7 : 0;
        virDomainFree(dom);
    }
    virConnectClose(conn);
    return rc;
}
