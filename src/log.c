/*
 * log.c - the log sink (STYLE C9).
 *
 * The library never writes to stdout or stderr directly: it calls ri_log, which formats
 * into a bounded buffer and hands the line to the sink the application set. The default
 * sink prints "revintel: warning: ..." to stderr, so a command's stdout carries only its
 * output and golden tests stay stable.
 */
#include "ri_internal.h"

#include <stdio.h>

static ri_log_fn log_fn;
static void *log_ud;
static enum ri_log_level log_min = RI_LOG_INFO;

void ri_set_log_fn(ri_log_fn fn, void *userdata)
{
    log_fn = fn;
    log_ud = userdata;
}

void ri_set_log_level(enum ri_log_level min_level)
{
    log_min = min_level;
}

static const char *level_name(enum ri_log_level l)
{
    switch (l) {
    case RI_LOG_DEBUG:
        return "debug";
    case RI_LOG_INFO:
        return "info";
    case RI_LOG_WARN:
        return "warning";
    case RI_LOG_ERROR:
        return "error";
    }
    return "log";
}

void ri_log(enum ri_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (level < log_min)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (log_fn) {
        log_fn(level, line, log_ud);
        return;
    }
    fprintf(stderr, "revintel: %s: %s\n", level_name(level), line);
}
