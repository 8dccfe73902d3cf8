/*
 * err.c - the error type's tables: a sentence and a short name for each ri_err.
 *
 * The detail of a failure (which file, which line) is kept on the context by ri_fail
 * (ctx.c); this file only holds the static text, so ri_strerror never returns NULL,
 * even for a code it does not know.
 */
#include "ri_internal.h"

static const struct {
    const char *name;
    const char *text;
} errtab[RI_ERR__COUNT] = {
    [RI_OK] = {"ok", "no error"},
    [RI_ERR_NOMEM] = {"nomem", "out of memory"},
    [RI_ERR_IO] = {"io", "input/output error"},
    [RI_ERR_INVALID] = {"invalid", "invalid argument"},
    [RI_ERR_PARSE] = {"parse", "parse error"},
    [RI_ERR_NOTFOUND] = {"notfound", "not found"},
    [RI_ERR_STORE] = {"store", "store error"},
    [RI_ERR_MODEL] = {"model", "model error"},
    [RI_ERR_NUMERIC] = {"numeric", "numeric error"},
    [RI_ERR_HTTP] = {"http", "http error"},
    [RI_ERR_TOOBIG] = {"toobig", "input too large"},
    [RI_ERR_INTERNAL] = {"internal", "internal error"},
    [RI_ERR_INTERRUPTED] = {"interrupted", "interrupted"},
};

const char *ri_strerror(ri_err code)
{
    if ((unsigned)code >= RI_ERR__COUNT || !errtab[code].text)
        return "unknown error";
    return errtab[code].text;
}

const char *ri_errname(ri_err code)
{
    if ((unsigned)code >= RI_ERR__COUNT || !errtab[code].name)
        return "unknown";
    return errtab[code].name;
}

static const char *const reasons[RI_REASON__COUNT] = {
    [RI_REASON_MISSING_ID] = "missing_id",
    [RI_REASON_MISSING_DATE] = "missing_date",
    [RI_REASON_BAD_DATE] = "bad_date",
    [RI_REASON_BAD_AMOUNT] = "bad_amount",
    [RI_REASON_NEGATIVE_AMOUNT] = "negative_amount",
    [RI_REASON_BAD_NUMBER] = "bad_number",
    [RI_REASON_BAD_PROBABILITY] = "bad_probability",
    [RI_REASON_MISSING_STAGE] = "missing_stage",
    [RI_REASON_CLOSE_BEFORE_CREATED] = "close_before_created",
    [RI_REASON_COLUMN_COUNT] = "column_count",
    [RI_REASON_BAD_UTF8] = "bad_utf8",
    [RI_REASON_FIELD_TOO_LONG] = "field_too_long",
    [RI_REASON_DUPLICATE_ROW] = "duplicate_row",
    [RI_REASON_CONFLICTING_ID] = "conflicting_id",
    [RI_REASON_UNKNOWN_DEAL] = "unknown_deal",
    [RI_REASON_BAD_STATUS] = "bad_status",
    [RI_REASON_FUTURE_DATE] = "future_date",
    [RI_REASON_BAD_QUOTE] = "bad_quote",
};

const char *ri_reason_name(enum ri_reason r)
{
    if ((unsigned)r >= RI_REASON__COUNT || !reasons[r])
        return "unknown";
    return reasons[r];
}
