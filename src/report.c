/*
 * report.c - placeholder: only the configuration hooks of src/conf.h, until the module lands.
 */
#include "conf.h"

struct ri_report_conf {
    int unused;
};

struct ri_report_conf *ri_report_conf_new(void)
{
    return ri_calloc(1, sizeof(struct ri_report_conf));
}

void ri_report_conf_free(struct ri_report_conf *c)
{
    ri_free(c);
}

ri_err ri_report_conf_key(struct ri_report_conf *c, const char *section, const char *name,
                          const char *value, char *err, size_t errsize)
{
    (void)c, (void)section, (void)name, (void)value, (void)err, (void)errsize;
    return RI_ERR_NOTFOUND;
}
