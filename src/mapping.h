/*
 * mapping.h - how the columns of a CRM export map onto revintel's canonical fields.
 */
#ifndef RI_MAPPING_H
#define RI_MAPPING_H

#include "ri_internal.h"

enum ri_field {
    RI_F_ID = 0,
    RI_F_NAME,
    RI_F_ACCOUNT,
    RI_F_OWNER,
    RI_F_MANAGER,
    RI_F_REGION,
    RI_F_INDUSTRY,
    RI_F_PRODUCT,
    RI_F_LEAD_SOURCE,
    RI_F_TYPE,
    RI_F_CREATED,
    RI_F_STAGE,
    RI_F_STATUS,
    RI_F_AMOUNT,
    RI_F_CLOSE,
    RI_F_PROBABILITY,
    RI_F_FORECAST,
    RI_F_LOSS_REASON,
    RI_F_IS_CLOSED,
    RI_F_IS_WON,
    RI_F_CHANGED_AT,
    RI_F_EMPLOYEES,
    RI_F_REVENUE,
    RI_F_OPENED,
    RI_F_RESOLVED,
    RI_F_PRIORITY,
    RI_F_TEAM,
    RI_F__COUNT
};

/* Canonical name of a field ("created_date", ...) and the reverse (-1 if unknown). */
const char *ri_field_name(enum ri_field f);
int ri_field_parse(const char *name);
/* True if kind uses field f. */
bool ri_field_in_kind(enum ri_field f, enum ri_ingest_kind kind);

struct ri_pair {
    char *a, *b;
};

/* What a mapping file (or preset) says. Strings are owned by the mapping. */
struct ri_mapping {
    int kind;        /* -1: not stated */
    char preset[32]; /* "auto", "canonical", "salesforce", "hubspot" */
    enum ri_date_style date_style;
    enum ri_amount_locale locale;
    char delimiter;
    bool no_dates;                /* a static data set: no created date required */
    bool created_from_as_of;      /* missing created date: use the export's as-of date */
    bool id_from_line;            /* no id column: the id is "L<line>" */
    bool partial;                 /* not a full export: absent deals are not deleted */
    char *columns[RI_F__COUNT];   /* [columns] field = source header, or "A | B": A, else B */
    char *constants[RI_F__COUNT]; /* [constants] field = value */
    struct ri_pair *events;       /* [events] date column = stage entered */
    size_t n_events, cap_events;
    struct ri_pair *values; /* [values.FIELD] from = to; a = "field\tfrom" */
    size_t n_values, cap_values;
    char **custom, **ignore; /* [columns] custom = a, b ; ignore = c */
    size_t n_custom, cap_custom, n_ignore, cap_ignore;
    char **stage_order, **stage_won, **stage_lost, **stage_late;
    size_t n_order, n_won, n_lost, n_late;
};

void ri_mapping_init(struct ri_mapping *m);
void ri_mapping_release(struct ri_mapping *m);
/* Loads map: NULL (automatic), a preset name, or an INI file path. */
ri_err ri_mapping_load(struct ri_ctx *ctx, const char *map, struct ri_mapping *m);
/* Loads a mapping from INI text; name is used in error messages (tests, fuzzing). */
ri_err ri_mapping_load_string(struct ri_ctx *ctx, const char *name, const char *text,
                              struct ri_mapping *m);
/* "auto", "iso", "us", "eu" (any case) to a date style; -1 if none of those. */
int ri_date_style_parse(const char *name);
/* Value rename for field ([values.FIELD]); returns the replacement or NULL. */
const char *ri_mapping_value(const struct ri_mapping *m, enum ri_field f, const char *v,
                             size_t len);

/* The mapping resolved against one file's header. */
struct ri_colmap {
    size_t ncols;
    int *field_of_col;                  /* RI_F_* or -1 (custom) or -2 (ignored) or -3 (event) */
    int col_of_field[RI_F__COUNT];      /* -1: absent */
    int fallback_of_field[RI_F__COUNT]; /* "A | B" in [columns]: B, used where A is empty */
    char **header;                      /* original names */
    size_t *event_cols;                 /* columns that are stage-entry dates */
    char **event_stages;                /* stage entered, per event column (borrowed) */
    size_t n_event_cols;
    int mapped, custom;
};

/* Resolves the header row of a file of the given kind. Fails (RI_ERR_INVALID, naming
 * the file and the headers found) when a required field has no column nor constant. */
ri_err ri_colmap_build(struct ri_ctx *ctx, const char *file, enum ri_ingest_kind kind,
                       const struct ri_mapping *m, const struct ri_row *header,
                       struct ri_colmap *cm /* OUT */);
void ri_colmap_release(struct ri_colmap *cm);

/* Header normalisation used for matching: lower case, runs of other characters to '_',
 * no leading or trailing '_'. Writes at most size-1 bytes. */
void ri_header_norm(const char *s, size_t len, char *out, size_t size);

#endif /* RI_MAPPING_H */
