/*
 * mapping.c - from the header of a CRM export to revintel's canonical fields.
 *
 * A column is matched, best first, by: the mapping file's [columns] entry; the exact
 * canonical name; the chosen preset's names (Salesforce report and Data Loader names,
 * HubSpot export names); then common synonyms, in the order of the table below (so
 * "opportunity_id" beats a bare "id" in a history file, where "Id" is the history
 * row's own id). Headers are compared after normalisation ("Close Date", "CloseDate"
 * and "close_date" differ, but "Close Date" and "close date" do not). Each field takes
 * at most one column; a column that matches no field is kept as a custom attribute.
 * HubSpot's `Date entered "<stage> (<pipeline>)"` columns, and those a mapping file
 * lists under [events], become stage-entry events. A [columns] entry "A | B" takes
 * column A, and column B on rows where A is empty.
 *
 * A mapping file is INI: [file], [columns], [constants], [events], [values.FIELD] and
 * [stages]; see examples/mappings/README.md.
 */
#include "mapping.h"
#include "inifile.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define K_O (1u << RI_KIND_OPPORTUNITIES)
#define K_H (1u << RI_KIND_HISTORY)
#define K_A (1u << RI_KIND_ACCOUNTS)
#define K_T (1u << RI_KIND_TICKETS)
#define K_R (1u << RI_KIND_REPS)

static const char *const field_names[RI_F__COUNT] = {
    "id",          "name",     "account",     "owner",       "manager",           "region",
    "industry",    "product",  "lead_source", "type",        "created_date",      "stage",
    "status",      "amount",   "close_date",  "probability", "forecast_category", "loss_reason",
    "is_closed",   "is_won",   "changed_at",  "employees",   "annual_revenue",    "opened_at",
    "resolved_at", "priority", "team",
};

static const unsigned field_kinds[RI_F__COUNT] = {
    [RI_F_ID] = K_O | K_H | K_T,
    [RI_F_NAME] = K_O,
    [RI_F_ACCOUNT] = K_O | K_A | K_T,
    [RI_F_OWNER] = K_O | K_H | K_R,
    [RI_F_MANAGER] = K_O | K_R,
    [RI_F_REGION] = K_O | K_A | K_R,
    [RI_F_INDUSTRY] = K_O | K_A,
    [RI_F_PRODUCT] = K_O,
    [RI_F_LEAD_SOURCE] = K_O,
    [RI_F_TYPE] = K_O,
    [RI_F_CREATED] = K_O | K_A,
    [RI_F_STAGE] = K_O | K_H,
    [RI_F_STATUS] = K_O,
    [RI_F_AMOUNT] = K_O | K_H,
    [RI_F_CLOSE] = K_O | K_H,
    [RI_F_PROBABILITY] = K_O | K_H,
    [RI_F_FORECAST] = K_O | K_H,
    [RI_F_LOSS_REASON] = K_O,
    [RI_F_IS_CLOSED] = K_O,
    [RI_F_IS_WON] = K_O,
    [RI_F_CHANGED_AT] = K_H,
    [RI_F_EMPLOYEES] = K_A,
    [RI_F_REVENUE] = K_A,
    [RI_F_OPENED] = K_T,
    [RI_F_RESOLVED] = K_T,
    [RI_F_PRIORITY] = K_T,
    [RI_F_TEAM] = K_T,
};

/* Canonical header of a field in a given kind, where it differs from field_names. */
static const char *canonical_header(enum ri_field f, enum ri_ingest_kind kind)
{
    if (f == RI_F_ID && kind == RI_KIND_HISTORY)
        return "opportunity_id";
    if (f == RI_F_ID && kind == RI_KIND_TICKETS)
        return "ticket_id";
    return field_names[f];
}

enum { P_ANY = 0, P_SALESFORCE, P_HUBSPOT };

struct synonym {
    unsigned kinds;
    int preset;
    enum ri_field field;
    const char *name; /* normalised */
};

/* Order matters within a field: earlier entries win over later ones. */
static const struct synonym synonyms[] = {
    /* Salesforce (report names normalise to the generic ones below) */
    {K_O, P_SALESFORCE, RI_F_ID, "id"},
    {K_O, P_SALESFORCE, RI_F_ACCOUNT, "accountid"},
    {K_O, P_SALESFORCE, RI_F_OWNER, "ownerid"},
    {K_O, P_SALESFORCE, RI_F_FORECAST, "forecastcategoryname"},
    {K_H, P_SALESFORCE, RI_F_ID, "opportunityid"},
    {K_H, P_SALESFORCE, RI_F_CHANGED_AT, "createddate"},
    /* HubSpot */
    {K_O, P_HUBSPOT, RI_F_ID, "record_id"},
    {K_O, P_HUBSPOT, RI_F_ID, "deal_id"},
    {K_O, P_HUBSPOT, RI_F_STAGE, "deal_stage"},
    {K_O, P_HUBSPOT, RI_F_CREATED, "create_date"},
    {K_O, P_HUBSPOT, RI_F_OWNER, "deal_owner"},
    {K_O, P_HUBSPOT, RI_F_TYPE, "deal_type"},
    {K_O, P_HUBSPOT, RI_F_ACCOUNT, "associated_company"},
    /* generic */
    {K_O, P_ANY, RI_F_ID, "opportunity_id"},
    {K_O, P_ANY, RI_F_ID, "opportunityid"},
    {K_O, P_ANY, RI_F_ID, "opp_id"},
    {K_O, P_ANY, RI_F_ID, "deal_id"},
    {K_O, P_ANY, RI_F_ID, "record_id"},
    {K_O, P_ANY, RI_F_ID, "lead_id"},
    {K_O, P_ANY, RI_F_ID, "mql_id"},
    {K_O, P_ANY, RI_F_ID, "id"},
    {K_H, P_ANY, RI_F_ID, "opportunityid"},
    {K_H, P_ANY, RI_F_ID, "deal_id"},
    {K_H, P_ANY, RI_F_ID, "opp_id"},
    {K_H, P_ANY, RI_F_ID, "mql_id"},
    {K_H, P_ANY, RI_F_ID, "record_id"},
    {K_H, P_ANY, RI_F_ID, "id"},
    {K_T, P_ANY, RI_F_ID, "case_id"},
    {K_T, P_ANY, RI_F_ID, "casenumber"},
    {K_T, P_ANY, RI_F_ID, "case_number"},
    {K_T, P_ANY, RI_F_ID, "id"},
    {K_O, P_ANY, RI_F_NAME, "opportunity_name"},
    {K_O, P_ANY, RI_F_NAME, "deal_name"},
    {K_O | K_A | K_T, P_ANY, RI_F_ACCOUNT, "account_name"},
    {K_A, P_ANY, RI_F_ACCOUNT, "name"},
    {K_O | K_A | K_T, P_ANY, RI_F_ACCOUNT, "company"},
    {K_O | K_A | K_T, P_ANY, RI_F_ACCOUNT, "company_name"},
    {K_O | K_T, P_ANY, RI_F_ACCOUNT, "account_id"},
    {K_O | K_T, P_ANY, RI_F_ACCOUNT, "accountid"},
    {K_O, P_ANY, RI_F_ACCOUNT, "customer"},
    {K_O | K_H, P_ANY, RI_F_OWNER, "opportunity_owner"},
    {K_O | K_H, P_ANY, RI_F_OWNER, "deal_owner"},
    {K_O | K_H, P_ANY, RI_F_OWNER, "owner_name"},
    {K_O | K_H | K_R, P_ANY, RI_F_OWNER, "sales_agent"},
    {K_O | K_H | K_R, P_ANY, RI_F_OWNER, "sales_rep"},
    {K_R, P_ANY, RI_F_OWNER, "rep_name"},
    {K_R, P_ANY, RI_F_OWNER, "name"},
    {K_O | K_H, P_ANY, RI_F_OWNER, "sales_rep_id"},
    {K_O | K_H | K_R, P_ANY, RI_F_OWNER, "rep"},
    {K_O | K_H, P_ANY, RI_F_OWNER, "ownerid"},
    {K_O | K_R, P_ANY, RI_F_MANAGER, "sales_manager"},
    {K_O | K_A, P_ANY, RI_F_REGION, "sales_region"},
    {K_O | K_A | K_R, P_ANY, RI_F_REGION, "regional_office"},
    {K_O | K_A, P_ANY, RI_F_REGION, "territory"},
    {K_O, P_ANY, RI_F_REGION, "area"},
    {K_O | K_A, P_ANY, RI_F_INDUSTRY, "sector"},
    {K_O | K_A, P_ANY, RI_F_INDUSTRY, "vertical"},
    {K_O | K_A, P_ANY, RI_F_INDUSTRY, "business_segment"},
    {K_O, P_ANY, RI_F_INDUSTRY, "account_industry"},
    {K_O, P_ANY, RI_F_PRODUCT, "product_type"},
    {K_O, P_ANY, RI_F_PRODUCT, "product_name"},
    {K_O, P_ANY, RI_F_PRODUCT, "product_line"},
    {K_O, P_ANY, RI_F_LEAD_SOURCE, "leadsource"},
    {K_O, P_ANY, RI_F_LEAD_SOURCE, "lead_origin"},
    {K_O, P_ANY, RI_F_LEAD_SOURCE, "original_source"},
    {K_O, P_ANY, RI_F_LEAD_SOURCE, "source"},
    {K_O, P_ANY, RI_F_LEAD_SOURCE, "origin"},
    {K_O, P_ANY, RI_F_TYPE, "opportunity_type"},
    {K_O, P_ANY, RI_F_TYPE, "deal_type"},
    {K_O | K_A, P_ANY, RI_F_CREATED, "createddate"},
    {K_O | K_A, P_ANY, RI_F_CREATED, "create_date"},
    {K_O | K_A, P_ANY, RI_F_CREATED, "created_at"},
    {K_O | K_A, P_ANY, RI_F_CREATED, "createdate"},
    {K_O | K_A, P_ANY, RI_F_CREATED, "date_created"},
    {K_O | K_A, P_ANY, RI_F_CREATED, "created"},
    {K_O, P_ANY, RI_F_CREATED, "engage_date"},
    {K_O, P_ANY, RI_F_CREATED, "first_contact_date"},
    {K_O | K_H, P_ANY, RI_F_STAGE, "stagename"},
    {K_O | K_H, P_ANY, RI_F_STAGE, "stage_name"},
    {K_O | K_H, P_ANY, RI_F_STAGE, "deal_stage"},
    {K_O | K_H, P_ANY, RI_F_STAGE, "dealstage"},
    {K_O | K_H, P_ANY, RI_F_STAGE, "sales_stage"},
    {K_H, P_ANY, RI_F_STAGE, "to_stage"},
    {K_H, P_ANY, RI_F_STAGE, "new_stage"},
    {K_O, P_ANY, RI_F_STATUS, "outcome"},
    {K_O, P_ANY, RI_F_STATUS, "deal_status"},
    {K_O, P_ANY, RI_F_STATUS, "result"},
    {K_O | K_H, P_ANY, RI_F_AMOUNT, "deal_amount"},
    {K_O | K_H, P_ANY, RI_F_AMOUNT, "opportunity_amount"},
    {K_O | K_H, P_ANY, RI_F_AMOUNT, "close_value"},
    {K_O | K_H, P_ANY, RI_F_AMOUNT, "deal_value"},
    {K_O | K_H, P_ANY, RI_F_AMOUNT, "acv"},
    {K_O | K_H, P_ANY, RI_F_AMOUNT, "value"},
    {K_O | K_H, P_ANY, RI_F_CLOSE, "closedate"},
    {K_O | K_H, P_ANY, RI_F_CLOSE, "closed_date"},
    {K_O | K_H, P_ANY, RI_F_CLOSE, "expected_close_date"},
    {K_O | K_H, P_ANY, RI_F_PROBABILITY, "probability_pct"},
    {K_O | K_H, P_ANY, RI_F_PROBABILITY, "win_probability"},
    {K_O | K_H, P_ANY, RI_F_PROBABILITY, "deal_probability"},
    {K_O | K_H, P_ANY, RI_F_FORECAST, "forecastcategory"},
    {K_O | K_H, P_ANY, RI_F_FORECAST, "forecastcategoryname"},
    {K_O | K_H, P_ANY, RI_F_FORECAST, "forecast_category_name"},
    {K_O, P_ANY, RI_F_LOSS_REASON, "lost_reason"},
    {K_O, P_ANY, RI_F_LOSS_REASON, "closed_lost_reason"},
    {K_O, P_ANY, RI_F_LOSS_REASON, "reason_lost"},
    {K_O, P_ANY, RI_F_IS_CLOSED, "isclosed"},
    {K_O, P_ANY, RI_F_IS_CLOSED, "closed"},
    {K_O, P_ANY, RI_F_IS_WON, "iswon"},
    {K_O, P_ANY, RI_F_IS_WON, "won"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "changed_date"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "createddate"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "created_date"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "timestamp"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "date"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "entered_at"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "stage_date"},
    {K_H, P_ANY, RI_F_CHANGED_AT, "modified_date"},
    {K_A, P_ANY, RI_F_REGION, "office_location"},
    {K_A, P_ANY, RI_F_REGION, "billing_country"},
    {K_A, P_ANY, RI_F_REGION, "country"},
    {K_A, P_ANY, RI_F_EMPLOYEES, "numberofemployees"},
    {K_A, P_ANY, RI_F_EMPLOYEES, "number_of_employees"},
    {K_A, P_ANY, RI_F_EMPLOYEES, "headcount"},
    {K_A, P_ANY, RI_F_REVENUE, "annualrevenue"},
    {K_A, P_ANY, RI_F_REVENUE, "revenue"},
    {K_T, P_ANY, RI_F_OPENED, "created_date"},
    {K_T, P_ANY, RI_F_OPENED, "createddate"},
    {K_T, P_ANY, RI_F_OPENED, "created_at"},
    {K_T, P_ANY, RI_F_OPENED, "opened"},
    {K_T, P_ANY, RI_F_OPENED, "open_date"},
    {K_T, P_ANY, RI_F_RESOLVED, "closed_date"},
    {K_T, P_ANY, RI_F_RESOLVED, "closeddate"},
    {K_T, P_ANY, RI_F_RESOLVED, "resolved"},
    {K_T, P_ANY, RI_F_RESOLVED, "resolved_date"},
    {K_T, P_ANY, RI_F_RESOLVED, "close_date"},
    {K_T, P_ANY, RI_F_PRIORITY, "severity"},
    {K_T, P_ANY, RI_F_TEAM, "queue"},
    {K_T, P_ANY, RI_F_TEAM, "group"},
    {K_T, P_ANY, RI_F_TEAM, "assigned_team"},
};

const char *ri_field_name(enum ri_field f)
{
    return (unsigned)f < RI_F__COUNT ? field_names[f] : "?";
}

int ri_field_parse(const char *name)
{
    for (int f = 0; f < RI_F__COUNT; f++)
        if (!strcasecmp(name, field_names[f]))
            return f;
    return -1;
}

bool ri_field_in_kind(enum ri_field f, enum ri_ingest_kind kind)
{
    return (unsigned)f < RI_F__COUNT && (field_kinds[f] & (1u << kind));
}

void ri_header_norm(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;
    int pend = 0;
    if (size == 0)
        return;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) && c < 0x80) {
            if (pend && o > 0 && o + 2 < size)
                out[o++] = '_';
            pend = 0;
            out[o++] = (char)tolower(c);
        } else {
            pend = 1;
        }
    }
    out[o] = '\0';
}

void ri_mapping_init(struct ri_mapping *m)
{
    memset(m, 0, sizeof(*m));
    m->kind = -1;
    snprintf(m->preset, sizeof(m->preset), "auto");
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ri_free(l[i]);
    ri_free(l);
}

void ri_mapping_release(struct ri_mapping *m)
{
    for (int f = 0; f < RI_F__COUNT; f++) {
        ri_free(m->columns[f]);
        ri_free(m->constants[f]);
    }
    for (size_t i = 0; i < m->n_events; i++) {
        ri_free(m->events[i].a);
        ri_free(m->events[i].b);
    }
    ri_free(m->events);
    for (size_t i = 0; i < m->n_values; i++) {
        ri_free(m->values[i].a);
        ri_free(m->values[i].b);
    }
    ri_free(m->values);
    free_list(m->custom, m->n_custom);
    free_list(m->ignore, m->n_ignore);
    free_list(m->stage_order, m->n_order);
    free_list(m->stage_won, m->n_won);
    free_list(m->stage_lost, m->n_lost);
    free_list(m->stage_late, m->n_late);
    ri_mapping_init(m);
}

/* Splits a comma-separated list into trimmed, non-empty items appended to *list. */
static void split_list(const char *v, char ***list, size_t *n, size_t *cap)
{
    const char *p = v;
    while (*p) {
        const char *e = strchr(p, ',');
        const char *s = p;
        size_t len = e ? (size_t)(e - p) : strlen(p);
        ri_trim(&s, &len);
        if (len) {
            size_t c = cap ? *cap : *n;
            ri_grow((void **)list, &c, *n + 1, sizeof(**list));
            if (cap)
                *cap = c;
            (*list)[(*n)++] = ri_strndup(s, len);
        }
        if (!e)
            break;
        p = e + 1;
    }
}

int ri_date_style_parse(const char *name)
{
    static const struct {
        const char *name;
        enum ri_date_style style;
    } styles[] = {
        {"auto", RI_DATE_AUTO}, {"iso", RI_DATE_ISO}, {"us", RI_DATE_US}, {"eu", RI_DATE_EU}};
    for (size_t i = 0; i < RI_ARRAY_SIZE(styles); i++)
        if (!strcasecmp(name, styles[i].name))
            return (int)styles[i].style;
    return -1;
}

static bool is_yes(const char *v)
{
    return !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
           !strcasecmp(v, "on");
}

static ri_err on_file_key(struct ri_mapping *m, const char *name, const char *value, char *err,
                          size_t errsize)
{
    if (!strcasecmp(name, "kind")) {
        m->kind = ri_ingest_kind_parse(value);
        if (m->kind < 0) {
            snprintf(err, errsize,
                     "unknown kind '%s' (opportunities, history, accounts, tickets, reps)", value);
            return RI_ERR_INVALID;
        }
    } else if (!strcasecmp(name, "preset")) {
        if (strcasecmp(value, "auto") && strcasecmp(value, "canonical") &&
            strcasecmp(value, "salesforce") && strcasecmp(value, "hubspot")) {
            snprintf(err, errsize, "unknown preset '%s' (auto, canonical, salesforce, hubspot)",
                     value);
            return RI_ERR_INVALID;
        }
        snprintf(m->preset, sizeof(m->preset), "%s", value);
    } else if (!strcasecmp(name, "date_format")) {
        int st = ri_date_style_parse(value);
        if (st < 0) {
            snprintf(err, errsize, "unknown date_format '%s' (auto, iso, us, eu)", value);
            return RI_ERR_INVALID;
        }
        m->date_style = (enum ri_date_style)st;
    } else if (!strcasecmp(name, "decimal")) {
        if (!strcasecmp(value, "point"))
            m->locale = RI_AMOUNT_POINT;
        else if (!strcasecmp(value, "comma"))
            m->locale = RI_AMOUNT_COMMA;
        else if (!strcasecmp(value, "auto"))
            m->locale = RI_AMOUNT_AUTO;
        else {
            snprintf(err, errsize, "unknown decimal '%s' (auto, point, comma)", value);
            return RI_ERR_INVALID;
        }
    } else if (!strcasecmp(name, "delimiter")) {
        if (!strcasecmp(value, "comma") || !strcmp(value, ","))
            m->delimiter = ',';
        else if (!strcasecmp(value, "semicolon"))
            m->delimiter = ';';
        else if (!strcasecmp(value, "tab"))
            m->delimiter = '\t';
        else if (!strcasecmp(value, "pipe") || !strcmp(value, "|"))
            m->delimiter = '|';
        else {
            snprintf(err, errsize, "unknown delimiter '%s' (comma, semicolon, tab, pipe)", value);
            return RI_ERR_INVALID;
        }
    } else if (!strcasecmp(name, "dates")) {
        if (strcasecmp(value, "none") != 0) {
            snprintf(err, errsize, "dates takes only 'none' (a static data set)");
            return RI_ERR_INVALID;
        }
        m->no_dates = true;
    } else if (!strcasecmp(name, "missing_created")) {
        if (strcasecmp(value, "as_of") != 0) {
            snprintf(err, errsize, "missing_created takes only 'as_of'");
            return RI_ERR_INVALID;
        }
        m->created_from_as_of = true;
    } else if (!strcasecmp(name, "id")) {
        if (strcasecmp(value, "line") != 0) {
            snprintf(err, errsize, "id takes only 'line' (ids made from line numbers)");
            return RI_ERR_INVALID;
        }
        m->id_from_line = true;
    } else if (!strcasecmp(name, "partial")) {
        m->partial = is_yes(value);
    } else {
        snprintf(err, errsize, "unknown key '%s' in [file]", name);
        return RI_ERR_INVALID;
    }
    return RI_OK;
}

static ri_err on_map_key(void *ud, const char *section, const char *name, const char *value,
                         char *err, size_t errsize)
{
    struct ri_mapping *m = ud;
    int f;
    if (!strcasecmp(section, "file"))
        return on_file_key(m, name, value, err, errsize);
    if (!strcasecmp(section, "columns")) {
        if (!strcasecmp(name, "custom")) {
            split_list(value, &m->custom, &m->n_custom, &m->cap_custom);
            return RI_OK;
        }
        if (!strcasecmp(name, "ignore")) {
            split_list(value, &m->ignore, &m->n_ignore, &m->cap_ignore);
            return RI_OK;
        }
        f = ri_field_parse(name);
        if (f < 0) {
            snprintf(err, errsize, "unknown field '%s' in [columns]", name);
            return RI_ERR_INVALID;
        }
        ri_free(m->columns[f]);
        m->columns[f] = ri_strdup(value);
        return RI_OK;
    }
    if (!strcasecmp(section, "constants")) {
        f = ri_field_parse(name);
        if (f < 0) {
            snprintf(err, errsize, "unknown field '%s' in [constants]", name);
            return RI_ERR_INVALID;
        }
        ri_free(m->constants[f]);
        m->constants[f] = ri_strdup(value);
        return RI_OK;
    }
    if (!strcasecmp(section, "events")) {
        RI_GROW(m->events, m->cap_events, m->n_events + 1);
        m->events[m->n_events].a = ri_strdup(name);
        m->events[m->n_events].b = ri_strdup(value);
        m->n_events++;
        return RI_OK;
    }
    if (!strncasecmp(section, "values.", 7)) {
        struct ri_buf key = RI_BUF_INIT;
        f = ri_field_parse(section + 7);
        if (f < 0) {
            snprintf(err, errsize, "unknown field '%s' in [%s]", section + 7, section);
            return RI_ERR_INVALID;
        }
        ri_buf_addf(&key, "%d\t%s", f, name);
        RI_GROW(m->values, m->cap_values, m->n_values + 1);
        m->values[m->n_values].a = ri_buf_detach(&key, NULL);
        m->values[m->n_values].b = ri_strdup(value);
        m->n_values++;
        return RI_OK;
    }
    if (!strcasecmp(section, "stages")) {
        if (!strcasecmp(name, "order"))
            split_list(value, &m->stage_order, &m->n_order, NULL);
        else if (!strcasecmp(name, "won"))
            split_list(value, &m->stage_won, &m->n_won, NULL);
        else if (!strcasecmp(name, "lost"))
            split_list(value, &m->stage_lost, &m->n_lost, NULL);
        else if (!strcasecmp(name, "late"))
            split_list(value, &m->stage_late, &m->n_late, NULL);
        else {
            snprintf(err, errsize, "unknown key '%s' in [stages] (order, won, lost, late)", name);
            return RI_ERR_INVALID;
        }
        return RI_OK;
    }
    snprintf(err, errsize, "unknown section [%s]", section);
    return RI_ERR_INVALID;
}

ri_err ri_mapping_load(struct ri_ctx *ctx, const char *map, struct ri_mapping *m)
{
    ri_mapping_init(m);
    if (!map || !*map)
        return RI_OK;
    if (!strcasecmp(map, "auto") || !strcasecmp(map, "canonical") ||
        !strcasecmp(map, "salesforce") || !strcasecmp(map, "hubspot")) {
        snprintf(m->preset, sizeof(m->preset), "%s", map);
        for (char *p = m->preset; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        return RI_OK;
    }
    return ri_ini_parse(ctx, map, on_map_key, m);
}

ri_err ri_mapping_load_string(struct ri_ctx *ctx, const char *name, const char *text,
                              struct ri_mapping *m)
{
    ri_mapping_init(m);
    return ri_ini_parse_string(ctx, name, text, on_map_key, m);
}

const char *ri_mapping_value(const struct ri_mapping *m, enum ri_field f, const char *v, size_t len)
{
    char pre[16];
    int n = snprintf(pre, sizeof(pre), "%d\t", (int)f);
    for (size_t i = 0; i < m->n_values; i++) {
        const char *k = m->values[i].a;
        if (strncmp(k, pre, (size_t)n) == 0 && strlen(k + n) == len &&
            strncasecmp(k + n, v, len) == 0)
            return m->values[i].b;
    }
    return NULL;
}

static int preset_code(const char *p)
{
    if (!strcmp(p, "salesforce"))
        return P_SALESFORCE;
    if (!strcmp(p, "hubspot"))
        return P_HUBSPOT;
    return P_ANY;
}

static bool header_is(const char *hdr, const char *want)
{
    char a[256], b[256];
    if (!strcasecmp(hdr, want))
        return true;
    ri_header_norm(hdr, strlen(hdr), a, sizeof(a));
    ri_header_norm(want, strlen(want), b, sizeof(b));
    return a[0] && !strcmp(a, b);
}

/* Which alternative of "A | B | ..." hdr is: 0 for A, 1 for B, ...; -1 if none. */
static int alternative(const char *spec, const char *hdr)
{
    int k = 0;
    const char *p = spec;
    while (p) {
        const char *bar = strchr(p, '|');
        const char *s = p;
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        char one[256];
        ri_trim(&s, &len);
        snprintf(one, sizeof(one), "%.*s", (int)len, s);
        if (len && header_is(hdr, one))
            return k;
        p = bar ? bar + 1 : NULL;
        k++;
    }
    return -1;
}

static bool in_list(char **list, size_t n, const char *hdr)
{
    for (size_t i = 0; i < n; i++)
        if (header_is(hdr, list[i]))
            return true;
    return false;
}

/* HubSpot: 'Date entered "Closed Won (Sales Pipeline)"' -> "Closed Won". */
static char *hubspot_stage(const char *hdr)
{
    const char *p = hdr + strlen("date entered");
    size_t len;
    const char *paren;
    while (*p == ' ' || *p == '"' || *p == '\'' || *p == '_' || *p == ':')
        p++;
    len = strlen(p);
    while (len && (p[len - 1] == '"' || p[len - 1] == '\'' || p[len - 1] == ' '))
        len--;
    paren = memchr(p, '(', len);
    if (paren && p[len - 1] == ')')
        len = (size_t)(paren - p);
    while (len && p[len - 1] == ' ')
        len--;
    return len ? ri_strndup(p, len) : NULL;
}

void ri_colmap_release(struct ri_colmap *cm)
{
    if (cm->header)
        for (size_t i = 0; i < cm->ncols; i++)
            ri_free(cm->header[i]);
    ri_free(cm->header);
    ri_free(cm->field_of_col);
    ri_free(cm->event_cols);
    for (size_t i = 0; i < cm->n_event_cols; i++)
        ri_free(cm->event_stages[i]);
    ri_free(cm->event_stages);
    memset(cm, 0, sizeof(*cm));
}

ri_err ri_colmap_build(struct ri_ctx *ctx, const char *file, enum ri_ingest_kind kind,
                       const struct ri_mapping *m, const struct ri_row *header,
                       struct ri_colmap *cm)
{
    int best_score[RI_F__COUNT];
    int preset = preset_code(m->preset);
    bool canonical_only = !strcmp(m->preset, "canonical");
    ri_err rc = RI_OK;
    size_t n = header->n;

    memset(cm, 0, sizeof(*cm));
    cm->ncols = n;
    cm->header = ri_calloc(n ? n : 1, sizeof(*cm->header));
    cm->field_of_col = ri_calloc(n ? n : 1, sizeof(*cm->field_of_col));
    cm->event_cols = ri_calloc(n ? n : 1, sizeof(*cm->event_cols));
    cm->event_stages = ri_calloc(n ? n : 1, sizeof(*cm->event_stages));
    for (int f = 0; f < RI_F__COUNT; f++) {
        cm->col_of_field[f] = -1;
        cm->fallback_of_field[f] = -1;
        best_score[f] = 1 << 30;
    }
    for (size_t c = 0; c < n; c++) {
        cm->header[c] = ri_strndup(header->cells[c], header->lens[c]);
        cm->field_of_col[c] = -1;
    }
    for (size_t c = 0; c < n; c++) {
        const char *h = cm->header[c];
        char norm[256];
        int score = 1 << 30, field = -1;
        ri_header_norm(h, strlen(h), norm, sizeof(norm));
        if (in_list(m->ignore, m->n_ignore, h)) {
            cm->field_of_col[c] = -2;
            continue;
        }
        for (size_t e = 0; e < m->n_events; e++) {
            if (header_is(h, m->events[e].a)) {
                cm->field_of_col[c] = -3;
                cm->event_cols[cm->n_event_cols] = c;
                cm->event_stages[cm->n_event_cols++] = ri_strdup(m->events[e].b);
                break;
            }
        }
        if (in_list(m->custom, m->n_custom, h))
            continue;
        for (int f = 0; f < RI_F__COUNT; f++) {
            int alt = m->columns[f] ? alternative(m->columns[f], h) : -1;
            if (alt == 0) {
                score = 0;
                field = f;
                break;
            }
            if (alt > 0 && cm->fallback_of_field[f] < 0) {
                cm->fallback_of_field[f] = (int)c;
                cm->field_of_col[c] = -4;
            }
        }
        if (field < 0 && cm->field_of_col[c] == -4)
            continue;
        if (field < 0 && cm->field_of_col[c] == -3)
            continue;
        if (field < 0 && kind == RI_KIND_OPPORTUNITIES && !strncmp(norm, "date_entered_", 13)) {
            char *stage = hubspot_stage(h);
            if (stage) {
                cm->field_of_col[c] = -3;
                cm->event_cols[cm->n_event_cols] = c;
                cm->event_stages[cm->n_event_cols++] = stage;
                continue;
            }
        }
        for (int f = 0; field < 0 && f < RI_F__COUNT; f++) {
            if (ri_field_in_kind((enum ri_field)f, kind) && m->columns[f] == NULL &&
                !strcmp(norm, canonical_header((enum ri_field)f, kind))) {
                score = 1;
                field = f;
            }
        }
        for (size_t s = 0; field < 0 && !canonical_only && s < RI_ARRAY_SIZE(synonyms); s++) {
            const struct synonym *sy = &synonyms[s];
            if (!(sy->kinds & (1u << kind)) || (sy->preset != P_ANY && sy->preset != preset))
                continue;
            if (m->columns[sy->field])
                continue;
            if (!strcmp(norm, sy->name)) {
                score = (sy->preset != P_ANY ? 2 : 100) + (int)s;
                field = (int)sy->field;
            }
        }
        if (field >= 0 && score < best_score[field]) {
            if (cm->col_of_field[field] >= 0 && cm->field_of_col[cm->col_of_field[field]] != -3)
                cm->field_of_col[cm->col_of_field[field]] = -1;
            best_score[field] = score;
            cm->col_of_field[field] = (int)c;
            if (cm->field_of_col[c] != -3)
                cm->field_of_col[c] = field;
        }
    }
    /* an event column named in [columns] too (engage_date as created date and as the
     * day "Engaging" was entered) */
    for (size_t e = 0; e < cm->n_event_cols; e++) {
        size_t c = cm->event_cols[e];
        for (int f = 0; f < RI_F__COUNT; f++)
            if (m->columns[f] && cm->col_of_field[f] < 0 &&
                alternative(m->columns[f], cm->header[c]) == 0)
                cm->col_of_field[f] = (int)c;
    }
    for (int f = 0; f < RI_F__COUNT; f++) {
        if (cm->col_of_field[f] < 0 && cm->fallback_of_field[f] >= 0) {
            /* only the fallback is present: it is the column */
            cm->col_of_field[f] = cm->fallback_of_field[f];
            cm->fallback_of_field[f] = -1;
        }
        if (m->columns[f] && cm->col_of_field[f] < 0 && !m->constants[f]) {
            rc = ri_fail(ctx, RI_ERR_INVALID,
                         "'%s': the mapping names column '%s' for %s, but the file has no such "
                         "column",
                         file, m->columns[f], field_names[f]);
            goto out;
        }
    }
    for (size_t c = 0; c < n; c++) {
        if (cm->field_of_col[c] >= 0 || cm->field_of_col[c] == -4)
            cm->mapped++;
        else if (cm->field_of_col[c] == -1)
            cm->custom++;
    }
    {
        /* required fields */
        enum ri_field req[3];
        size_t nreq = 0;
        switch (kind) {
        case RI_KIND_OPPORTUNITIES:
            if (!m->id_from_line)
                req[nreq++] = RI_F_ID;
            if (!m->no_dates && !m->created_from_as_of)
                req[nreq++] = RI_F_CREATED;
            break;
        case RI_KIND_HISTORY:
            req[nreq++] = RI_F_ID;
            req[nreq++] = RI_F_STAGE;
            req[nreq++] = RI_F_CHANGED_AT;
            break;
        case RI_KIND_ACCOUNTS:
            req[nreq++] = RI_F_ACCOUNT;
            break;
        case RI_KIND_TICKETS:
            req[nreq++] = RI_F_ID;
            break;
        case RI_KIND_REPS:
            req[nreq++] = RI_F_OWNER;
            break;
        default:
            break;
        }
        if (kind == RI_KIND_OPPORTUNITIES && cm->col_of_field[RI_F_STAGE] < 0 &&
            cm->col_of_field[RI_F_STATUS] < 0 && cm->col_of_field[RI_F_IS_WON] < 0 &&
            !m->constants[RI_F_STAGE] && !m->constants[RI_F_STATUS])
            req[nreq++] = RI_F_STAGE;
        for (size_t i = 0; i < nreq; i++) {
            if (cm->col_of_field[req[i]] < 0 && !m->constants[req[i]]) {
                struct ri_buf hs = RI_BUF_INIT;
                for (size_t c = 0; c < n && hs.len < 400; c++)
                    ri_buf_addf(&hs, "%s'%s'", c ? ", " : "", cm->header[c]);
                rc = ri_fail(ctx, RI_ERR_INVALID,
                             "'%s': no column for required field '%s' in this %s file (columns: "
                             "%s); name it in a mapping file with --map",
                             file, field_names[req[i]], ri_ingest_kind_name(kind), hs.buf);
                ri_buf_release(&hs);
                goto out;
            }
        }
    }
out:
    if (rc)
        ri_colmap_release(cm);
    return rc;
}
