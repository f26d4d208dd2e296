/* exec.c — see exec.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* In the child, after fork: never returns. Reports an exec failure's errno
 * through the close-on-exec pipe errfd. */
static void
exec_child(char *const *argv, int outfd, int errfd)
{
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int e = 0;

    setpgid(0, 0);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(outfd, STDOUT_FILENO) < 0 ||
        dup2(outfd, STDERR_FILENO) < 0) {
        e = errno;
    } else {
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        e = errno;
    }
    if (write(errfd, &e, sizeof(e)) < 0) {
        /* nothing more we can say */
    }
    _exit(127);
}

static void
exec_keep_output(struct exec_result *r, size_t *used, const char *buf, size_t n)
{
    size_t room = sizeof(r->first_line) - 1 - *used;
    const char *nl = NULL;

    if (room == 0 || (*used > 0 && memchr(r->first_line, '\n', *used)))
        return;
    if (n > room)
        n = room;
    nl = memchr(buf, '\n', n);
    if (nl)
        n = (size_t)(nl - buf);
    memcpy(r->first_line + *used, buf, n);
    *used += n;
    r->first_line[*used] = '\0';
    if (nl) /* mark the line complete: no room left */
        *used = sizeof(r->first_line) - 1;
}

int
exec_run(char *const *argv, const deadline *dl, struct exec_result *ret_result,
         ferry_error **err)
{
    struct exec_result r;
    int out[2] = { -1, -1 };
    int errp[2] = { -1, -1 };
    int pidfd = -1;
    pid_t pid = -1;
    size_t used = 0;
    bool exited = false;
    int status = 0;
    int child_errno = 0;
    ssize_t n = 0;
    int ret = 0;

    memset(&r, 0, sizeof(r));
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        ret = error_set(err, -errno, "cannot create a pipe: %s", strerror(errno));
        goto cleanup;
    }
    pid = fork();
    if (pid < 0) {
        ret = error_set(err, -errno, "cannot fork: %s", strerror(errno));
        goto cleanup;
    }
    if (pid == 0)
        exec_child(argv, out[1], errp[1]);
    setpgid(pid, pid);   /* also here, so the group exists before we may kill it */
    close(out[1]);
    close(errp[1]);
    out[1] = errp[1] = -1;

    /* exec failed: the child wrote its errno before the pipe closed */
    n = read(errp[0], &child_errno, sizeof(child_errno));
    if (n == (ssize_t)sizeof(child_errno)) {
        waitpid(pid, NULL, 0);
        pid = -1;
        ret = error_set(err, -child_errno, "cannot run '%s': %s", argv[0],
                        strerror(child_errno));
        goto cleanup;
    }

    /* a pidfd makes the child's exit a poll event; without one (old kernel),
     * poll in short steps */
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    while (!exited) {
        struct pollfd fds[2];
        nfds_t nfds = 0;
        int64_t left = deadline_remaining_ms(dl);
        int64_t step = pidfd >= 0 ? 60000 : 50;
        char buf[512];

        if (left <= 0)
            break;
        if (out[0] >= 0)
            fds[nfds++] = (struct pollfd){ out[0], POLLIN, 0 };
        if (pidfd >= 0)
            fds[nfds++] = (struct pollfd){ pidfd, POLLIN, 0 };
        if (poll(fds, nfds, (int)(left < step ? left : step)) < 0 && errno != EINTR) {
            ret = error_set(err, -errno, "poll: %s", strerror(errno));
            break;
        }
        if (out[0] >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            n = read(out[0], buf, sizeof(buf));
            if (n > 0) {
                exec_keep_output(&r, &used, buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(out[0]);
                out[0] = -1;
            }
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            exited = true;
    }
    if (!exited) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = -1;
        if (ret == 0)
            ret = error_set(err, FERRY_E_TIMEOUT, "'%s' did not finish before the deadline "
                            "(%lld ms); killed it", argv[0], (long long)deadline_elapsed_ms(dl));
        goto cleanup;
    }
    pid = -1;
    if (WIFEXITED(status)) {
        r.exit_status = WEXITSTATUS(status);
    } else {
        r.exit_status = -1;
        r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    *ret_result = r;
cleanup:
    if (out[0] >= 0)
        close(out[0]);
    if (out[1] >= 0)
        close(out[1]);
    if (errp[0] >= 0)
        close(errp[0]);
    if (errp[1] >= 0)
        close(errp[1]);
    if (pidfd >= 0)
        close(pidfd);
    return ret;
}
