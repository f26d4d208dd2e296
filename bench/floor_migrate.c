/* floor_migrate.c — the least a libvirt client can do to live-migrate a
 * running domain, for bench/part_floor.sh: the connections are opened first
 * and not timed; only the migrate call is.
 *
 *   floor_migrate SRC_URI DEST_URI NAME managed|p2p
 *
 * managed: virDomainMigrate3 over the already-open connection to DEST_URI
 *          (the client drives the phases; no other connection to the target);
 * p2p:     virDomainMigrateToURI3 peer-to-peer (the source's libvirtd opens a
 *          connection of its own to DEST_URI inside the timed call, as ferry's
 *          default does); the open connection is used for the statistics only.
 * Flags: live, abort-on-error; nothing else (no pre-flight, no watcher, no log).
 * Prints one line: mode= connect_ms= migrate_ms= lv_elapsed_ms= lv_setup_ms=
 * lv_downtime_ms= lv_data_bytes= (libvirt's completed job on the target, -1 if
 * not reported). Exit 0 migrated, 1 failed (libvirt's message on stderr). */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void
quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

static long long
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long
param_ll(virTypedParameterPtr params, int n, const char *name)
{
    unsigned long long v = 0;

    return virTypedParamsGetULLong(params, n, name, &v) == 1 ? (long long)v : -1;
}

static const char *
last_error(void)
{
    virErrorPtr e = virGetLastError();

    return e && e->message ? e->message : "unknown libvirt error";
}

int
main(int argc, char **argv)
{
    virConnectPtr src = NULL;
    virConnectPtr dst = NULL;
    virDomainPtr dom = NULL;
    virDomainPtr arrived = NULL;
    virDomainPtr there = NULL;
    virTypedParameterPtr stats = NULL;
    int nstats = 0;
    int type = 0;
    int managed = 0;
    unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_ABORT_ON_ERROR;
    long long t0 = 0;
    long long t1 = 0;
    long long t2 = 0;
    int ok = 0;
    int rc = 1;

    if (argc != 5 || (strcmp(argv[4], "managed") != 0 && strcmp(argv[4], "p2p") != 0)) {
        fprintf(stderr, "usage: floor_migrate SRC_URI DEST_URI NAME managed|p2p\n");
        return 2;
    }
    managed = strcmp(argv[4], "managed") == 0;
    virSetErrorFunc(NULL, quiet);
    src = virConnectOpen(argv[1]);
    if (src == NULL) {
        fprintf(stderr, "floor_migrate: cannot connect to %s: %s\n", argv[1], last_error());
        goto cleanup;
    }
    dom = virDomainLookupByName(src, argv[3]);
    if (dom == NULL) {
        fprintf(stderr, "floor_migrate: no domain %s: %s\n", argv[3], last_error());
        goto cleanup;
    }
    t0 = now_us();
    dst = virConnectOpen(argv[2]);
    t1 = now_us();
    if (dst == NULL) {
        fprintf(stderr, "floor_migrate: cannot connect to %s: %s\n", argv[2], last_error());
        goto cleanup;
    }
    if (managed) {
        arrived = virDomainMigrate3(dom, dst, NULL, 0, flags);
        ok = arrived != NULL;
    } else {
        ok = virDomainMigrateToURI3(dom, argv[2], NULL, 0, flags | VIR_MIGRATE_PEER2PEER) == 0;
    }
    t2 = now_us();
    if (!ok) {
        fprintf(stderr, "floor_migrate: migration failed: %s\n", last_error());
        goto cleanup;
    }
    there = arrived ? arrived : virDomainLookupByName(dst, argv[3]);
    if (there == NULL ||
        virDomainGetJobStats(there, &type, &stats, &nstats, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0)
        nstats = 0;
    printf("mode=%s connect_ms=%.1f migrate_ms=%.1f lv_elapsed_ms=%lld lv_setup_ms=%lld "
           "lv_downtime_ms=%lld lv_data_bytes=%lld\n", argv[4], (double)(t1 - t0) / 1000.0,
           (double)(t2 - t1) / 1000.0, param_ll(stats, nstats, VIR_DOMAIN_JOB_TIME_ELAPSED),
           param_ll(stats, nstats, VIR_DOMAIN_JOB_SETUP_TIME),
           param_ll(stats, nstats, VIR_DOMAIN_JOB_DOWNTIME),
           param_ll(stats, nstats, VIR_DOMAIN_JOB_DATA_PROCESSED));
    rc = 0;
cleanup:
    virTypedParamsFree(stats, nstats);
    if (there && there != arrived)
        virDomainFree(there);
    if (arrived)
        virDomainFree(arrived);
    if (dom)
        virDomainFree(dom);
    if (dst)
        virConnectClose(dst);
    if (src)
        virConnectClose(src);
    return rc;
}
