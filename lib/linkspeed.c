/* linkspeed.c — see linkspeed.h */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec.h"
#include "linkspeed.h"
#include "migrate.h"

/* crm_attribute answers in well under a second; never let it eat a migrate_to */
#define LINKSPEED_EXEC_BUDGET_MS 10000

int64_t
linkspeed_choose_mib_s(int64_t local_mbps, int64_t remote_mbps, int64_t limit)
{
    int64_t mbps = local_mbps < remote_mbps ? local_mbps : remote_mbps;
    int64_t bytes_s = 0;
    int64_t mib_s = 0;

    if (local_mbps <= 0 || remote_mbps <= 0)
        return 0;
    bytes_s = mbps * 1000000 / 8;
    if (limit > 1)
        bytes_s /= limit;
    mib_s = bytes_s / (1024 * 1024);
    return mib_s > 0 ? mib_s : 1;
}

int
linkspeed_uri_host(const char *uri, char *buf, size_t size)
{
    char *host = NULL;
    int port = 0;
    int ret = migrate_uri_host(uri, &host, &port);

    if (ret == -ENOTSUP)
        ret = -EINVAL;
    if (ret == 0 && strlen(host) >= size)
        ret = -ENAMETOOLONG;
    if (ret == 0)
        snprintf(buf, size, "%s", host);
    free(host);
    return ret;
}

/* Does the interface address ifa equal the socket address sa? */
static int
linkspeed_same_address(const struct sockaddr *ifa, const struct sockaddr *sa)
{
    if (ifa == NULL || ifa->sa_family != sa->sa_family)
        return 0;
    if (sa->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)(const void *)ifa)->sin_addr,
                      &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    if (sa->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)ifa)->sin6_addr,
                      &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return 0;
}

int
linkspeed_route_interface(const char *host, char *ret_ifname, size_t size, ferry_error **err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM };
    struct addrinfo *ai = NULL;
    struct ifaddrs *ifs = NULL;
    const struct ifaddrs *i = NULL;
    struct sockaddr_storage src;
    socklen_t src_len = sizeof(src);
    int fd = -1;
    int rc = 0;
    int ret = 0;

    rc = getaddrinfo(host, "9", &hints, &ai);
    if (rc != 0) {
        ret = error_set(err, FERRY_E_STATE, "cannot resolve '%s': %s", host, gai_strerror(rc));
        goto cleanup;
    }
    /* a connected UDP socket: the kernel picks the route and the source
     * address; nothing is sent */
    fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        getsockname(fd, (struct sockaddr *)&src, &src_len) < 0) {
        ret = error_set(err, FERRY_E_STATE, "no route to '%s': %s", host, strerror(errno));
        goto cleanup;
    }
    if (getifaddrs(&ifs) < 0) {
        ret = error_set(err, FERRY_E_STATE, "cannot list the interfaces: %s", strerror(errno));
        goto cleanup;
    }
    for (i = ifs; i; i = i->ifa_next)
        if (linkspeed_same_address(i->ifa_addr, (const struct sockaddr *)&src))
            break;
    if (i == NULL) {
        ret = error_set(err, FERRY_E_STATE, "no interface holds the source address of the "
                        "route to '%s'", host);
        goto cleanup;
    }
    if (strlen(i->ifa_name) >= size) {
        ret = error_set(err, FERRY_E_STATE, "interface name '%s' too long", i->ifa_name);
        goto cleanup;
    }
    snprintf(ret_ifname, size, "%s", i->ifa_name);
cleanup:
    if (ifs)
        freeifaddrs(ifs);
    if (fd >= 0)
        close(fd);
    if (ai)
        freeaddrinfo(ai);
    return ret;
}

int
linkspeed_sysfs_mbps(const char *sysfs_net, const char *ifname, int64_t *ret_mbps)
{
    char path[4096];
    char text[32];
    ssize_t n = 0;
    int fd = -1;
    long long v = 0;
    char *end = NULL;

    if (ifname[0] == '\0' || strchr(ifname, '/') || strcmp(ifname, ".") == 0 ||
        strcmp(ifname, "..") == 0 || strlen(ifname) >= IF_NAMESIZE)
        return -EINVAL;
    *ret_mbps = LINKSPEED_UNKNOWN;
    snprintf(path, sizeof(path), "%s/%s/speed", sysfs_net, ifname);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, text, sizeof(text) - 1);   /* EINVAL for lo and links that are down */
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno == 0 && end != text && (*end == '\n' || *end == '\0') && v > 0)
        *ret_mbps = v;
    return 0;
}

int
linkspeed_migration_limit(const char *program, const deadline *dl, int64_t *ret_limit,
                          ferry_error **err)
{
    char *argv[] = { (char *)program, "--type", "crm_config", "--name",
                     LINKSPEED_MIGRATION_LIMIT, "--query", "--quiet", "--default", "-1", NULL };
    deadline sub = deadline_sub(dl, LINKSPEED_EXEC_BUDGET_MS);
    struct exec_result r;
    ferry_error *e = NULL;
    long long v = 0;
    char *end = NULL;
    int ret = 0;

    if (exec_run(argv, &sub, &r, &e) < 0 || r.exit_status != 0) {
        ret = error_set(err, FERRY_E_STATE, "cannot read the cluster property %s (%s)",
                        LINKSPEED_MIGRATION_LIMIT,
                        e ? error_message(e) : r.first_line[0] ? r.first_line : "failed");
        goto cleanup;
    }
    errno = 0;
    v = strtoll(r.first_line, &end, 10);
    if (errno != 0 || end == r.first_line || (*end != '\0' && *end != '\n')) {
        ret = error_set(err, FERRY_E_STATE, "the cluster property %s is '%s', not a number",
                        LINKSPEED_MIGRATION_LIMIT, r.first_line);
        goto cleanup;
    }
    *ret_limit = v;
cleanup:
    error_free(e);
    return ret;
}

/* Appends a reason to ret->why ("; " between two). */
static void
linkspeed_why(struct linkspeed_choice *ret, const char *text)
{
    size_t len = strlen(ret->why);

    snprintf(ret->why + len, sizeof(ret->why) - len, "%s%s", len ? "; " : "", text);
}

void
linkspeed_auto(virt_conn *dst, const char *stream_host, bool pacemaker, const deadline *dl,
               struct linkspeed_choice *ret)
{
    ferry_error *e = NULL;
    char text[512];

    memset(ret, 0, sizeof(*ret));
    ret->local_mbps = LINKSPEED_UNKNOWN;
    ret->remote_mbps = LINKSPEED_UNKNOWN;
    ret->limit = -1;
    if (linkspeed_route_interface(stream_host, ret->ifname, sizeof(ret->ifname), &e) < 0) {
        linkspeed_why(ret, error_message(e));
        goto cleanup;
    }
    linkspeed_sysfs_mbps(LINKSPEED_SYSFS_NET, ret->ifname, &ret->local_mbps);
    if (ret->local_mbps == LINKSPEED_UNKNOWN) {
        snprintf(text, sizeof(text), "this node's %s reports no link speed", ret->ifname);
        linkspeed_why(ret, text);
    }
    if (virt_node_link_speed_mbps(dst, ret->ifname, &ret->remote_mbps, &e) < 0) {
        snprintf(text, sizeof(text), "the target's speed is unknown: %s", error_message(e));
        linkspeed_why(ret, text);
        e = error_free(e);
        ret->remote_mbps = LINKSPEED_UNKNOWN;
    } else if (ret->remote_mbps == LINKSPEED_UNKNOWN) {
        snprintf(text, sizeof(text), "the target's %s reports no link speed", ret->ifname);
        linkspeed_why(ret, text);
    }
    if (ret->local_mbps == LINKSPEED_UNKNOWN || ret->remote_mbps == LINKSPEED_UNKNOWN)
        goto cleanup;
    if (pacemaker && linkspeed_migration_limit("crm_attribute", dl, &ret->limit, &e) < 0) {
        /* the speed is known: a share of it is better than none */
        snprintf(text, sizeof(text), "%s; assuming 1", error_message(e));
        linkspeed_why(ret, text);
        ret->limit = 0;
    }
    ret->bandwidth_mib_s = linkspeed_choose_mib_s(ret->local_mbps, ret->remote_mbps, ret->limit);
cleanup:
    error_free(e);
}
