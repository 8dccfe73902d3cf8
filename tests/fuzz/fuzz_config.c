/*
 * fuzz_config.c - revintel.conf: the text is read whole (every section handed to its
 * module: store, sources, model, forecast, run, alerts and rules with custom SQL,
 * recipients, channels and delivery, report), cross-checked, and described. Whatever
 * the text, this must not crash, leak or read out of bounds.
 */
#include "fuzz.h"
#include "../../src/conf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ri_ctx *ctx;
    struct ri_config *c = NULL;
    char *text;
    if (size > 1 << 16)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    ctx = ri_ctx_new();
    if (ri_config_load_string(ctx, "fuzz.conf", text, &c) == RI_OK) {
        char *d = ri_config_describe(c);
        free(d);
    }
    ri_config_free(c);
    ri_ctx_free(ctx);
    free(text);
    return 0;
}
