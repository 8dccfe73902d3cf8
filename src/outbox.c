/*
 * outbox.c - placeholder: only the configuration hooks of src/conf.h, until the module lands.
 */
#include "conf.h"

struct ri_channels_conf {
    int unused;
};

struct ri_channels_conf *ri_channels_conf_new(void)
{
    return ri_calloc(1, sizeof(struct ri_channels_conf));
}

void ri_channels_conf_free(struct ri_channels_conf *c)
{
    ri_free(c);
}

ri_err ri_channels_conf_key(struct ri_channels_conf *c, const char *section, const char *name,
                            const char *value, char *err, size_t errsize)
{
    (void)c, (void)section, (void)name, (void)value, (void)err, (void)errsize;
    return RI_ERR_NOTFOUND;
}

ri_err ri_channels_conf_finish(struct ri_channels_conf *c, struct ri_conf_where *where, char *err,
                               size_t errsize)
{
    (void)c, (void)where, (void)err, (void)errsize;
    return RI_OK;
}

int ri_channels_conf_has(const struct ri_channels_conf *c, const char *name)
{
    (void)c, (void)name;
    return 0;
}

ri_err ri_channels_conf_describe(const struct ri_channels_conf *c, struct ri_buf *out)
{
    (void)c, (void)out;
    return RI_OK;
}
