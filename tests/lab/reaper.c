/* reaper.c — ferry-lab-reaper CMD [ARG...]: run CMD as a child, as its subreaper.
 *
 * A lab host has no init of its own: a daemon that double-forks (libvirtd starts every QEMU so)
 * leaves its grandchildren to the machine's PID 1, and on this machine kind PID 1 reaps exited
 * children only every second or two.  libvirt waits for a QEMU it stops until the process is gone
 * (kill(pid, 0) fails), and a zombie still counts: every destroy, every stop and the end of every
 * migration took 1.2-2 s more in the lab than on a host whose init reaps at once.  Started between
 * the lab and libvirtd, this process becomes the orphans' parent (PR_SET_CHILD_SUBREAPER) and reaps
 * them as soon as they exit, as systemd does on a real host.
 *
 * CMD's pid is the child's: the lab records and signals the daemon itself, never this process.
 * It exits when it has no child left (CMD and every orphan it adopted), with CMD's exit status. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    pid_t child = -1;
    pid_t pid = -1;
    int status = 0;
    int ret = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CMD [ARG...]\n", argv[0]);
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        fprintf(stderr, "%s: PR_SET_CHILD_SUBREAPER: %s\n", argv[0], strerror(errno));
        return 1;
    }
    child = fork();
    if (child < 0) {
        fprintf(stderr, "%s: fork: %s\n", argv[0], strerror(errno));
        return 1;
    }
    if (child == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "%s: cannot run %s: %s\n", argv[0], argv[1], strerror(errno));
        _exit(127);
    }
    for (;;) {
        pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;   /* ECHILD: nobody left */
        }
        if (pid == child)
            ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return ret;
}
