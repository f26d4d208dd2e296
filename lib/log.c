/* log.c — see log.h */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log-priv.h"

/* The log sink is the one piece of global state ferry allows (STYLE.md §8). */
static struct {
    char tag[128];
    bool debug;
    bool to_stderr;
    bool to_syslog;
    FILE *stream;
} log_sink = { "ferry-vm", false, true, false, NULL };

static const struct {
    const char *name;
    int facility;
} log_facilities[] = {
    { "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "local0", LOG_LOCAL0 },
    { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
    { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
    { "local7", LOG_LOCAL7 },
};

static int
log_facility_from_env(bool *ret_enabled)
{
    const char *name = getenv("HA_LOGFACILITY");
    size_t i;

    if (name == NULL)
        name = getenv("HA_logfacility");
    *ret_enabled = true;
    if (name == NULL || *name == '\0')
        return LOG_DAEMON;
    if (strcasecmp(name, "none") == 0) {
        *ret_enabled = false;
        return LOG_DAEMON;
    }
    for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
        if (strcasecmp(name, log_facilities[i].name) == 0)
            return log_facilities[i].facility;
    return LOG_DAEMON;
}

void
log_open(const char *tag, bool debug, bool to_stderr)
{
    const char *env_tag = getenv("HA_LOGTAG");
    const char *instance = getenv("OCF_RESOURCE_INSTANCE");
    int facility;

    if (tag)
        snprintf(log_sink.tag, sizeof(log_sink.tag), "%s", tag);
    else if (env_tag && *env_tag)
        snprintf(log_sink.tag, sizeof(log_sink.tag), "%s", env_tag);
    else
        snprintf(log_sink.tag, sizeof(log_sink.tag), "ferry-vm(%s)[%ld]",
                 instance && *instance ? instance : "-", (long)getpid());
    log_sink.debug = debug;
    log_sink.to_stderr = to_stderr;
    facility = log_facility_from_env(&log_sink.to_syslog);
    if (log_sink.to_syslog)
        openlog(log_sink.tag, LOG_NDELAY, facility);
}

void
log_close(void)
{
    if (log_sink.to_syslog)
        closelog();
    log_sink.to_syslog = false;
}

void
log_set_stream(FILE *stream)
{
    log_sink.stream = stream;
}

bool
log_debug_enabled(void)
{
    return log_sink.debug;
}

static void log_write(int priority, const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_write(int priority, const char *level, const char *fmt, va_list ap)
{
    char line[2048];
    FILE *out = log_sink.stream ? log_sink.stream : stderr;

    if (priority == LOG_DEBUG && !log_sink.debug)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    if (log_sink.to_syslog)
        syslog(priority, "%s: %s", level, line);
    if (log_sink.to_stderr || log_sink.stream) {
        struct timespec ts;
        struct tm tm;
        char stamp[32] = "";

        clock_gettime(CLOCK_REALTIME, &ts);
        if (localtime_r(&ts.tv_sec, &tm))
            strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
        fprintf(out, "%s.%03ld %s %s: %s\n", stamp, ts.tv_nsec / 1000000L,
                log_sink.tag, level, line);
        fflush(out);
    }
}

#define LOG_DEFINE(fn, prio, label)                 \
    void fn(const char *fmt, ...)                   \
    {                                               \
        va_list ap;                                 \
        va_start(ap, fmt);                          \
        log_write(prio, label, fmt, ap);            \
        va_end(ap);                                 \
    }

LOG_DEFINE(log_debug, LOG_DEBUG, "DEBUG")
LOG_DEFINE(log_info, LOG_INFO, "INFO")
LOG_DEFINE(log_warning, LOG_WARNING, "WARNING")
LOG_DEFINE(log_error, LOG_ERR, "ERROR")
