/* tcpbench.c — measures a TCP link's bandwidth between two lab hosts, for
 * bench/run.sh (part 3): "tcpbench listen PORT" sinks one connection and exits;
 * "tcpbench send HOST PORT MIB" writes MIB MiB and prints MiB/s. */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    static char buf[1 << 20];
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    struct addrinfo *ai = NULL;
    int one = 1;
    int fd = -1;

    if (argc == 3 && strcmp(argv[1], "listen") == 0) {
        int c;
        ssize_t n;

        if (getaddrinfo(NULL, argv[2], &hints, &ai) != 0)
            return 2;
        fd = socket(ai->ai_family, SOCK_STREAM, 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
            perror("tcpbench: listen");
            return 2;
        }
        c = accept(fd, NULL, NULL);
        while ((n = read(c, buf, sizeof(buf))) > 0)
            ;
        close(c);
        close(fd);
        freeaddrinfo(ai);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "send") == 0) {
        long mib = atol(argv[4]);
        double t0;
        long i;

        if (getaddrinfo(argv[2], argv[3], &hints, &ai) != 0)
            return 2;
        fd = socket(ai->ai_family, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            perror("tcpbench: connect");
            return 2;
        }
        memset(buf, 0x5a, sizeof(buf));
        t0 = now_s();
        for (i = 0; i < mib; i++) {
            size_t off = 0;

            while (off < sizeof(buf)) {
                ssize_t n = write(fd, buf + off, sizeof(buf) - off);

                if (n <= 0) {
                    perror("tcpbench: write");
                    return 2;
                }
                off += (size_t)n;
            }
        }
        shutdown(fd, SHUT_WR);
        while (read(fd, buf, sizeof(buf)) > 0)
            ;
        printf("%.0f\n", (double)mib / (now_s() - t0));
        close(fd);
        freeaddrinfo(ai);
        return 0;
    }
    fprintf(stderr, "usage: tcpbench listen PORT | send HOST PORT MIB\n");
    return 2;
}
