/* exec.h — running an operator's program (rgmanager's status_program).
 *
 * No shell: an argv array is executed directly (execvp, so a bare name is
 * looked up in PATH). The child gets stdin from /dev/null and a process group
 * of its own; whatever it still runs when the deadline comes is killed, group
 * and all. Only the first line of its output is kept.
 */
#ifndef FERRY_EXEC_H
#define FERRY_EXEC_H

#include <stddef.h>

#include "deadline.h"
#include "error.h"

struct exec_result {
    int exit_status;       /* 0..255 if it exited; -1 if killed by a signal */
    int signal;            /* the signal that ended it, or 0 */
    char first_line[256];  /* the first line of stdout+stderr, "" if none */
};

/* Runs argv[0] with argv until it exits or dl passes. 0 when the program ran to
 * its end (whatever its exit status); FERRY_E_TIMEOUT if the deadline killed
 * it; -errno (e.g. -ENOENT) if it could not be started. */
int exec_run(char *const *argv, const deadline *dl, struct exec_result *ret_result,
             ferry_error **err);

#endif
