/* ferry-import — rgmanager cluster.conf -> Pacemaker configuration for ocf:ferry:vm.
 *
 *   ferry-import [--format=crm|xml] [--output FILE] cluster.conf|-
 *
 * Exit 0 on success, 1 on bad input (or a failed read/write), 2 on usage.
 * On any error nothing is written: the output is rendered in memory first, and
 * --output goes through a temporary file renamed over FILE.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "import.h"

#define IMPORT_TOOL "ferry-import"

enum {
    IMPORT_EXIT_OK = 0,
    IMPORT_EXIT_INPUT = 1,
    IMPORT_EXIT_USAGE = 2,
};

static void
import_tool_usage(FILE *out)
{
    fputs("usage: " IMPORT_TOOL " [--format=crm|xml] [--output FILE] cluster.conf\n"
          "\n"
          "Writes the Pacemaker configuration (ocf:ferry:vm primitives, location and order\n"
          "constraints) equivalent to the <vm> resources and failover domains of an\n"
          "rgmanager cluster.conf ('-' reads standard input).\n"
          "\n"
          "  -f, --format=crm   crmsh syntax: crm configure load update FILE (default)\n"
          "  -f, --format=xml   a CIB <configuration> fragment:\n"
          "                     cibadmin --modify --allow-create --scope configuration --xml-file FILE\n"
          "  -o, --output FILE  write FILE (atomically) instead of standard output\n"
          "  -h, --help         this text\n"
          "\n"
          "Exit status: 0 done, 1 bad input (nothing written), 2 usage.\n", out);
}

/* Prints each line of msg as "ferry-import: LINE". */
static void
import_tool_print(const char *msg)
{
    const char *p = msg;
    size_t n;

    do {
        n = strcspn(p, "\n");
        fprintf(stderr, IMPORT_TOOL ": %.*s\n", (int)n, p);
        p += n;
    } while (*p++ != '\0');
}

/* Writes len bytes of text to path through a temporary file in the same directory. */
static int
import_tool_write_file(const char *path, const char *text, size_t len, ferry_error **err)
{
    char *tmp = NULL;
    FILE *f = NULL;
    int fd = -1;
    int ret = 0;

    if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
        tmp = NULL;
        ret = error_set(err, -ENOMEM, "out of memory");
        goto cleanup;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        ret = -errno;
        error_set(err, ret, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto cleanup;
    }
    if (fchmod(fd, 0644) < 0 || (f = fdopen(fd, "w")) == NULL) {
        ret = -errno;
        error_set(err, ret, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (fwrite(text, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) < 0) {
        ret = -errno;
        error_set(err, ret, "%s: write failed: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (fclose(f) != 0) {
        f = NULL;
        ret = -errno;
        error_set(err, ret, "%s: write failed: %s", tmp, strerror(errno));
        goto cleanup;
    }
    f = NULL;
    if (rename(tmp, path) < 0) {
        ret = -errno;
        error_set(err, ret, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    free(tmp);
    tmp = NULL;
cleanup:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    return ret;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum import_format format = IMPORT_FORMAT_CRM;
    const char *output = NULL;
    const char *input = NULL;
    const char *origin = NULL;
    import_conf *conf = NULL;
    ferry_error *err = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = NULL;
    size_t i;
    int fd = -1;
    int status = IMPORT_EXIT_INPUT;
    int c;

    while ((c = getopt_long(argc, argv, "f:o:h", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (import_format_parse(optarg, &format) < 0) {
                fprintf(stderr, IMPORT_TOOL ": --format '%s': use crm or xml\n", optarg);
                status = IMPORT_EXIT_USAGE;
                goto cleanup;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            import_tool_usage(stdout);
            status = IMPORT_EXIT_OK;
            goto cleanup;
        default:
            import_tool_usage(stderr);
            status = IMPORT_EXIT_USAGE;
            goto cleanup;
        }
    }
    if (optind != argc - 1 || (output && (*output == '\0' || strcmp(output, "-") == 0))) {
        import_tool_usage(stderr);
        status = IMPORT_EXIT_USAGE;
        goto cleanup;
    }
    input = argv[optind];
    if (strcmp(input, "-") == 0) {
        origin = "<stdin>";
        fd = STDIN_FILENO;
    } else {
        origin = input;
        fd = open(input, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            fprintf(stderr, IMPORT_TOOL ": %s: %s\n", input, strerror(errno));
            goto cleanup;
        }
    }
    if (import_load_fd(fd, origin, &conf, &err) < 0) {
        import_tool_print(error_message(err));
        goto cleanup;
    }
    for (i = 0; i < import_warning_count(conf); i++)
        import_tool_print(import_warning(conf, i));
    mem = open_memstream(&text, &len);
    if (mem == NULL) {
        fprintf(stderr, IMPORT_TOOL ": out of memory\n");
        goto cleanup;
    }
    if (import_write(conf, format, mem, &err) < 0) {
        import_tool_print(error_message(err));
        goto cleanup;
    }
    if (fclose(mem) != 0) {
        mem = NULL;
        fprintf(stderr, IMPORT_TOOL ": out of memory\n");
        goto cleanup;
    }
    mem = NULL;
    if (output) {
        if (import_tool_write_file(output, text, len, &err) < 0) {
            import_tool_print(error_message(err));
            goto cleanup;
        }
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, IMPORT_TOOL ": writing to standard output: %s\n", strerror(errno));
        goto cleanup;
    }
    status = IMPORT_EXIT_OK;
cleanup:
    if (mem)
        fclose(mem);
    if (fd > STDIN_FILENO)
        close(fd);
    free(text);
    error_free(err);
    import_free(conf);
    return status;
}
