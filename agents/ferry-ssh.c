/* ferry-ssh — the ssh that libvirt runs for ocf:ferry:vm's qemu+ssh connections to a
 * migration target (the URI's command= parameter; ssh_reuse=true).
 *
 * An ssh login costs about a quarter of a second (key exchange, authentication) while an idle
 * guest's whole migration takes half of one.  Every migrate_to is a new agent process, and with
 * migration_connection=p2p the source's libvirtd opens a second connection besides the agent's,
 * so each migration paid for one or two logins.  This program runs ssh with connection sharing:
 * the first connection to a target becomes a master that stays up for FERRY_SSH_PERSIST_S seconds
 * after its last session ends, and every connection within that time (the agent's, libvirtd's,
 * the next migrate_to's) opens a session on it instead of logging in.
 *
 * The master's socket is in /run/ferry/ssh (a directory of root's alone, 0700, checked on every
 * use: anything else there and ssh runs without sharing).  A dead master (its peer rebooted) is
 * found by ssh on the first session it asks for and removed; the agent retries that connection
 * once.  ServerAlive* ends a master whose peer no longer answers within 15 s; the agent's TCP
 * probe of the target port comes first anyway.  Nothing here is a shell: execv() of ssh with
 * libvirt's own arguments after ours. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FERRY_SSH_BIN
#define FERRY_SSH_BIN "/usr/bin/ssh"
#endif
#define FERRY_SSH_RUNDIR "/run/ferry"
#define FERRY_SSH_DIR FERRY_SSH_RUNDIR "/ssh"
#define FERRY_SSH_PERSIST_S "60"

/* dir exists (made if absent) as a directory owned by us, not writable by anyone else */
static int
ssh_dir_ready(const char *dir, mode_t mode)
{
    struct stat st;

    if (mkdir(dir, mode) < 0 && errno != EEXIST)
        return -errno;
    if (lstat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return -EPERM;
    return 0;
}

int
main(int argc, char **argv)
{
    static const char *const opts[] = {
        "-o", "ControlMaster=auto",
        "-o", "ControlPath=" FERRY_SSH_DIR "/%C",
        "-o", "ControlPersist=" FERRY_SSH_PERSIST_S,
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=3",
    };
    size_t nopts = sizeof(opts) / sizeof(opts[0]);
    char **args = NULL;
    size_t n = 0;
    int i = 0;

    args = calloc((size_t)argc + nopts + 1, sizeof(*args));
    if (args == NULL) {
        fprintf(stderr, "ferry-ssh: out of memory\n");
        return 255;
    }
    args[n++] = (char *)"ssh";
    /* without a private directory for the sockets: a plain ssh, as without ferry-ssh */
    if (ssh_dir_ready(FERRY_SSH_RUNDIR, 0755) == 0 && ssh_dir_ready(FERRY_SSH_DIR, 0700) == 0) {
        for (size_t k = 0; k < nopts; k++)
            args[n++] = (char *)opts[k];
    }
    for (i = 1; i < argc; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    execv(FERRY_SSH_BIN, args);
    fprintf(stderr, "ferry-ssh: cannot run %s: %s\n", FERRY_SSH_BIN, strerror(errno));
    free(args);
    return 255;
}
