/* fuzz_state.c — the state file reader (lib/state.c: state_load).
 *
 * The input is written as the resource's state file in a temporary directory
 * (made once per process) and read back. Properties:
 *  - every string field is NUL-terminated within its array;
 *  - what was read, written back with state_save and read again, gives a state
 *    that is stable from then on (load . save is idempotent after one round),
 *    and the identity (name, uuid, config, definition) survives the first round;
 *  - a file ferry wrote itself (state_save of the loaded state) has no line
 *    longer than the reader's buffer, so it cannot be read as two lines.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

/* tmpfs when there is one: state_save fsyncs */
static char fz_dir[64];
static struct ferry_params fz_params;
static char fz_path[4096];

static void
fz_cleanup(void)
{
    unlink(fz_path);
    rmdir(fz_dir);
}

static void
fz_setup(void)
{
    if (fz_params.state_dir)
        return;
    snprintf(fz_dir, sizeof(fz_dir), "%s/ferry-fuzz-state.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    assert(mkdtemp(fz_dir) != NULL);
    fz_params.state_dir = fz_dir;
    fz_params.instance = "p/fuzz";
    assert(state_path_suffix(&fz_params, ".state", fz_path, sizeof(fz_path)) == 0);
    atexit(fz_cleanup);
}

static void
fz_check_strings(const struct ferry_state *st)
{
    assert(memchr(st->name, '\0', sizeof(st->name)) != NULL);
    assert(memchr(st->uuid, '\0', sizeof(st->uuid)) != NULL);
    assert(memchr(st->config, '\0', sizeof(st->config)) != NULL);
    /* a line break cannot come out of a line */
    assert(strchr(st->name, '\n') == NULL && strchr(st->uuid, '\n') == NULL &&
           strchr(st->config, '\n') == NULL);
}

/* The longest line of the file at path. */
static size_t
fz_longest_line(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t longest = 0;
    size_t cur = 0;
    int c;

    assert(f != NULL);
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') {
            longest = cur > longest ? cur : longest;
            cur = 0;
        } else {
            cur++;
        }
    }
    fclose(f);
    return cur > longest ? cur : longest;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct ferry_state s1;
    struct ferry_state s2;
    struct ferry_state s3;
    int fd;

    fz_setup();
    fd = open(fz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert(fd >= 0);
    assert(write(fd, data, size) == (ssize_t)size);
    close(fd);

    assert(state_load(&fz_params, &s1) == 0);
    fz_check_strings(&s1);

    assert(state_save(&fz_params, &s1) == 0);
    assert(fz_longest_line(fz_path) < 1200 - 1);
    assert(state_load(&fz_params, &s2) == 0);
    fz_check_strings(&s2);
    assert(strcmp(s1.name, s2.name) == 0);
    assert(strcmp(s1.uuid, s2.uuid) == 0);
    assert(strcmp(s1.config, s2.config) == 0);
    assert(s1.def_known == s2.def_known);
    assert(!s1.def_known || s1.def_hash == s2.def_hash);

    assert(state_save(&fz_params, &s2) == 0);
    assert(state_load(&fz_params, &s3) == 0);
    assert(state_equal(&s2, &s3));
    return 0;
}
