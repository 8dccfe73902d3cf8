/*
 * fuzz_mapping.c - mapping files: the INI text is parsed, then resolved against a fixed
 * header for every kind of file, and a value rename is looked up. Whatever the text,
 * this must not crash, leak or read out of bounds, and a mapping that fails to load
 * must leave nothing behind.
 */
#include "fuzz.h"
#include "../../src/mapping.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const hdr[] = {
        "Id",          "Opportunity ID", "Created Date",
        "Stage",       "Amount",         "Close Date",
        "Owner",       "engage_date",    "Date entered \"Won (Sales Pipeline)\"",
        "Custom Thing"};
    size_t lens[RI_ARRAY_SIZE(hdr)];
    struct ri_row row;
    struct ri_ctx *ctx;
    struct ri_mapping m;
    char *text;
    if (size > 1 << 16)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    ctx = ri_ctx_new();
    if (ri_mapping_load_string(ctx, "fuzz.ini", text, &m) == RI_OK) {
        for (size_t i = 0; i < RI_ARRAY_SIZE(hdr); i++)
            lens[i] = strlen(hdr[i]);
        memset(&row, 0, sizeof(row));
        row.n = RI_ARRAY_SIZE(hdr);
        row.cells = hdr;
        row.lens = lens;
        row.line = 1;
        for (int k = 0; k < RI_KIND__COUNT; k++) {
            struct ri_colmap cm;
            if (ri_colmap_build(ctx, "fuzz.csv", (enum ri_ingest_kind)k, &m, &row, &cm) == RI_OK)
                ri_colmap_release(&cm);
        }
        (void)ri_mapping_value(&m, RI_F_STAGE, "Won", 3);
    }
    ri_mapping_release(&m);
    ri_ctx_free(ctx);
    free(text);
    return 0;
}
