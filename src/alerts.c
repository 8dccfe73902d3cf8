/*
 * alerts.c - placeholder: only the configuration hooks of src/conf.h, until the module lands.
 */
#include "conf.h"

struct ri_alerts_conf {
    int unused;
};

struct ri_alerts_conf *ri_alerts_conf_new(void)
{
    return ri_calloc(1, sizeof(struct ri_alerts_conf));
}

void ri_alerts_conf_free(struct ri_alerts_conf *c)
{
    ri_free(c);
}

ri_err ri_alerts_conf_key(struct ri_alerts_conf *c, const char *section, const char *name,
                          const char *value, char *err, size_t errsize)
{
    (void)c, (void)section, (void)name, (void)value, (void)err, (void)errsize;
    return RI_ERR_NOTFOUND;
}

ri_err ri_alerts_conf_finish(struct ri_alerts_conf *a, const struct ri_channels_conf *ch,
                             struct ri_conf_where *where, char *err, size_t errsize)
{
    (void)a, (void)ch, (void)where, (void)err, (void)errsize;
    return RI_OK;
}

ri_err ri_alerts_conf_describe(const struct ri_alerts_conf *a, struct ri_buf *out)
{
    (void)a, (void)out;
    return RI_OK;
}
