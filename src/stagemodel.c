/*
 * stagemodel.c - the stage model: an absorbing semi-Markov chain over a deal's stages,
 * estimated from the stage paths the as-of engine replays (ri_history_path), giving
 * P(win | stage, days in stage) and the expected days to close.
 *
 * Estimation, in one pass over the deals (docs/internals/stagemodel.md has the details
 * and a worked example):
 * - Every visit of an open stage s with a known entry time gives a dwell d (days): left -
 *   entered if it ended, cutoff - entered if it was still running at the cutoff
 *   (censored). A visit that ended gives the next stage (the next visit's); a visit that
 *   ended without a next one (a row closed with no stage) is censored where it ended.
 * - Per (s, bucket b): reached (visits with d >= start of b), left (ended in b), the
 *   next-stage counts of those, and the sum of their dwells.
 * - Hazard h(s,b) = left / reached; the last bucket any visit reached is open-ended
 *   (h = 1: whatever reaches it eventually leaves). The next-stage distribution q(.|s,b)
 *   is the bucket's own when at least RI_SM_MIN_VISITS visits left in it, else the
 *   stage's pooled one (all buckets).
 * - W(s,b) = the distribution of the stage a deal moves to from (s, reached b):
 *   W(s,b) = h q(s,b) + (1 - h) W(s,b+1), and R(s,b) = its expected remaining dwell,
 *   from the mean dwell of the visits that left in each bucket (the bucket's midpoint
 *   where none did; 270 days for the last one). Then P(win | s, b) = W(s,b) . E and the
 *   days to close R(s,b) + W(s,b) . D, where E(s) = W(s,0) . E, E(won) = 1, E(lost) = 0
 *   and D(s) = R(s,0) + W(s,0) . D, D(closed) = 0: two linear systems over the open
 *   stages (cyclic where deals regress), solved by Gauss elimination.
 * - A stage from which no won or lost stage can be reached in the data (no visit ever
 *   left it, or it only leads to such stages) takes E = base_rate and D = base_days.
 *
 * Invariants: stage indices are the history's; the model has at most RI_SM_MAX_STAGES
 * stages; nothing here allocates per deal except the one path buffer.
 */
#include "stagemodel.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define NB RI_SM_BUCKETS
#define NS RI_SM_MAX_STAGES

/* Bucket starts in days; the last bucket is open-ended. */
static const double bucket_start[NB] = {0, 7, 14, 30, 60, 90, 180};
/* Mean dwell assumed for a bucket no visit left in: its midpoint; for the open-ended
 * last bucket, 1.5 times its start. */
static const double bucket_mid[NB] = {3.5, 10.5, 22, 45, 75, 135, 270};

int ri_stage_model_bucket(double days)
{
    int b = 0;
    if (!(days > 0)) /* negative or NaN */
        return 0;
    while (b + 1 < NB && days >= bucket_start[b + 1])
        b++;
    return b;
}

/* What one pass over the deals collects. */
struct sm_counts {
    uint64_t reached[NS][NB], left[NS][NB];
    uint64_t next[NS][NB][NS]; /* visits that left (s, b) for each next stage */
    double dwell[NS][NB];      /* sum of the dwells of the visits that left (s, b) */
    uint64_t won, lost, deals, visits, changes;
    double cycle_sum; /* days from creation to close, of the closed deals with a creation */
    uint64_t cycle_n;
};

static double days_between(ri_time a, ri_time b)
{
    return ((double)b - (double)a) / (double)RI_DAY; /* no overflow for far-apart times */
}

/* A complete path: it starts at the deal's creation in an open stage and every step
 * is to a known stage (a visit that ends without a next one left to an unknown stage). */
static bool path_complete(const struct ri_stage_model *m, const struct ri_path_buf *p,
                          ri_time created)
{
    if (p->n == 0 || created == RI_TIME_NONE || p->v[0].entered != created)
        return false;
    for (size_t k = 0; k < p->n; k++) {
        if (p->v[k].stage < 0 || (size_t)p->v[k].stage >= m->n_stages)
            return false;
        if (k + 1 == p->n && p->v[k].left != RI_TIME_NONE)
            return false;
    }
    return m->role[p->v[0].stage] == RI_STATUS_OPEN;
}

/* Adds one deal's path to the counts. */
static void count_path(const struct ri_stage_model *m, const struct ri_path_buf *p, ri_time cutoff,
                       struct sm_counts *c)
{
    const struct ri_stage_visit *v = p->v;
    const struct ri_stage_visit *last = &v[p->n - 1];

    c->deals++;
    if (last->stage >= 0 && (size_t)last->stage < m->n_stages &&
        m->role[last->stage] != RI_STATUS_OPEN) {
        if (m->role[last->stage] == RI_STATUS_WON)
            c->won++;
        else
            c->lost++;
        if (v[0].entered != RI_TIME_NONE && v[0].stage >= 0 && (size_t)v[0].stage < m->n_stages &&
            m->role[v[0].stage] == RI_STATUS_OPEN) {
            c->cycle_sum += fmax(0, days_between(v[0].entered, last->entered));
            c->cycle_n++;
        }
    }
    for (size_t k = 0; k < p->n; k++) {
        int32_t s = v[k].stage;
        bool ended = v[k].left != RI_TIME_NONE && k + 1 < p->n && v[k + 1].stage >= 0 &&
                     (size_t)v[k + 1].stage < m->n_stages;
        double d;
        int b;
        if (s < 0 || (size_t)s >= m->n_stages || m->role[s] != RI_STATUS_OPEN ||
            v[k].entered == RI_TIME_NONE)
            continue;
        d = days_between(v[k].entered, v[k].left != RI_TIME_NONE ? v[k].left : cutoff);
        if (d < 0)
            d = 0;
        b = ri_stage_model_bucket(d);
        for (int j = 0; j <= b; j++)
            c->reached[s][j]++;
        c->visits++;
        if (ended) {
            c->left[s][b]++;
            c->next[s][b][v[k + 1].stage]++;
            c->dwell[s][b] += d;
            c->changes++;
        }
    }
}

/* Solves a x = b in place (a: n x n row-major, b: n x nrhs) by Gauss elimination with
 * partial pivoting; false if a is singular. */
static bool gauss_solve(size_t n, double *a, double *b, size_t nrhs)
{
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t r = col + 1; r < n; r++)
            if (fabs(a[r * n + col]) > fabs(a[piv * n + col]))
                piv = r;
        if (fabs(a[piv * n + col]) < 1e-12)
            return false;
        if (piv != col) {
            for (size_t j = 0; j < n; j++) {
                double t = a[col * n + j];
                a[col * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
            }
            for (size_t j = 0; j < nrhs; j++) {
                double t = b[col * nrhs + j];
                b[col * nrhs + j] = b[piv * nrhs + j];
                b[piv * nrhs + j] = t;
            }
        }
        for (size_t r = col + 1; r < n; r++) {
            double f = a[r * n + col] / a[col * n + col];
            for (size_t j = col; j < n; j++)
                a[r * n + j] -= f * a[col * n + j];
            for (size_t j = 0; j < nrhs; j++)
                b[r * nrhs + j] -= f * b[col * nrhs + j];
        }
    }
    for (size_t col = n; col-- > 0;) {
        for (size_t j = 0; j < nrhs; j++) {
            double sum = b[col * nrhs + j];
            for (size_t k = col + 1; k < n; k++)
                sum -= a[col * n + k] * b[k * nrhs + j];
            b[col * nrhs + j] = sum / a[col * n + col];
        }
    }
    return true;
}

/* The chain built from the counts: W(s,b) and R(s,b) for every open stage. */
struct sm_chain {
    double w[NS][NB][NS]; /* next-stage distribution from (s, reached b) */
    double r[NS][NB];     /* expected remaining dwell from (s, reached b), days */
    bool data[NS];        /* some visit left s */
};

static void build_chain(const struct ri_stage_model *m, const struct sm_counts *c,
                        struct sm_chain *ch)
{
    size_t n = m->n_stages;
    for (size_t s = 0; s < n; s++) {
        uint64_t pooled_n = 0;
        double pooled[NS] = {0};
        int top = -1; /* last bucket some visit reached */
        if (m->role[s] != RI_STATUS_OPEN)
            continue;
        for (int b = 0; b < NB; b++) {
            pooled_n += c->left[s][b];
            for (size_t t = 0; t < n; t++)
                pooled[t] += (double)c->next[s][b][t];
            if (c->reached[s][b] > 0)
                top = b;
        }
        ch->data[s] = pooled_n > 0;
        if (!ch->data[s])
            continue;
        for (size_t t = 0; t < n; t++)
            pooled[t] /= (double)pooled_n;
        /* backwards from the last reached bucket, which is open-ended */
        for (int b = top; b >= 0; b--) {
            uint64_t nl = c->left[s][b];
            double hz = b == top ? 1.0 : (double)nl / (double)c->reached[s][b];
            double md = nl > 0 ? c->dwell[s][b] / (double)nl : bucket_mid[b];
            for (size_t t = 0; t < n; t++) {
                double q =
                    nl >= RI_SM_MIN_VISITS ? (double)c->next[s][b][t] / (double)nl : pooled[t];
                ch->w[s][b][t] = hz * q + (b == top ? 0.0 : (1 - hz) * ch->w[s][b + 1][t]);
            }
            ch->r[s][b] = hz * (md - bucket_start[b]);
            if (b != top)
                ch->r[s][b] += (1 - hz) * (bucket_start[b + 1] - bucket_start[b] + ch->r[s][b + 1]);
        }
        /* buckets no visit reached take the last reached bucket's values */
        for (int b = top + 1; b < NB; b++) {
            memcpy(ch->w[s][b], ch->w[s][top], sizeof(ch->w[s][b]));
            ch->r[s][b] = ch->r[s][top];
        }
    }
}

/* E(s) and D(s) for every stage: P(win) and expected days to close from entering s. */
static ri_err solve_chain(struct ri_ctx *ctx, const struct ri_stage_model *m,
                          const struct sm_chain *ch, double *e, double *dd)
{
    size_t n = m->n_stages, nl = 0;
    bool live[NS] = {false};
    size_t idx[NS];
    double a[NS * NS], rhs[NS * 2];
    bool grew = true;

    for (size_t s = 0; s < n; s++) {
        if (m->role[s] != RI_STATUS_OPEN) {
            e[s] = m->role[s] == RI_STATUS_WON ? 1.0 : 0.0;
            dd[s] = 0;
            live[s] = true;
        } else {
            e[s] = m->base_rate;
            dd[s] = m->base_days;
        }
    }
    /* live open stages: those from which a closed stage can be reached */
    while (grew) {
        grew = false;
        for (size_t s = 0; s < n; s++) {
            if (live[s] || !ch->data[s])
                continue;
            for (size_t t = 0; t < n; t++)
                if (live[t] && ch->w[s][0][t] > 0) {
                    live[s] = grew = true;
                    break;
                }
        }
    }
    for (size_t s = 0; s < n; s++)
        if (m->role[s] == RI_STATUS_OPEN && live[s])
            idx[nl++] = s;
    if (nl == 0)
        return RI_OK;
    /* (I - W_LL) x = W_LC . [e d] + [0 R] with C the closed and the dead stages */
    for (size_t i = 0; i < nl; i++) {
        size_t s = idx[i];
        double ce = 0, cd = ch->r[s][0];
        for (size_t j = 0; j < nl; j++)
            a[i * nl + j] = (i == j ? 1.0 : 0.0) - ch->w[s][0][idx[j]];
        for (size_t t = 0; t < n; t++) {
            double w = ch->w[s][0][t];
            if (w > 0 && (m->role[t] != RI_STATUS_OPEN || !live[t])) {
                ce += w * e[t];
                cd += w * dd[t];
            }
        }
        rhs[i * 2] = ce;
        rhs[i * 2 + 1] = cd;
    }
    if (!gauss_solve(nl, a, rhs, 2))
        return ri_fail(ctx, RI_ERR_NUMERIC, "stage model: singular chain");
    for (size_t i = 0; i < nl; i++) {
        e[idx[i]] = rhs[i * 2];
        dd[idx[i]] = rhs[i * 2 + 1];
    }
    return RI_OK;
}

ri_err ri_stage_model_fit(struct ri_ctx *ctx, const struct ri_history *h, ri_time cutoff,
                          const uint8_t *include, int strict, struct ri_stage_model *out)
{
    ri_err rc = RI_OK;
    struct sm_counts *c = NULL;
    struct sm_chain *ch = NULL;
    struct ri_path_buf p = RI_PATH_BUF_INIT;
    size_t n_st = ri_history_n_stages(h), nd = ri_history_n_deals(h);
    double e[NS], dd[NS];

    memset(out, 0, sizeof(*out));
    if (n_st > NS) {
        rc = ri_fail(ctx, RI_ERR_TOOBIG, "%zu stages: the stage model holds at most %d", n_st, NS);
        goto out;
    }
    out->n_stages = n_st;
    out->cutoff = cutoff;
    out->strict = strict ? 1 : 0;
    for (size_t s = 0; s < n_st; s++)
        out->role[s] = (uint8_t)ri_history_stage_role(h, (int32_t)s);

    c = ri_calloc(1, sizeof(*c));
    ch = ri_calloc(1, sizeof(*ch));
    for (size_t i = 0; i < nd; i++) {
        ri_time created = ri_history_created(h, i);
        if (include && !include[i])
            continue;
        if (created != RI_TIME_NONE && created > cutoff)
            continue;
        rc = ri_history_path_get(h, i, cutoff, &p);
        if (rc) {
            rc = ri_fail(ctx, rc, "stage model: out of memory for a path of %zu visits", p.n);
            goto out;
        }
        if (p.n == 0 || (strict && !path_complete(out, &p, created)))
            continue;
        count_path(out, &p, cutoff, c);
    }
    if (c->changes == 0) {
        rc = ri_fail(ctx, RI_ERR_NOTFOUND, "no stage changes before the cutoff to learn from");
        goto out;
    }
    out->deals = c->deals;
    out->visits = c->visits;
    out->base_rate = c->won + c->lost ? (double)c->won / (double)(c->won + c->lost) : RI_NAN;
    out->base_days = c->cycle_n ? c->cycle_sum / (double)c->cycle_n : RI_NAN;

    build_chain(out, c, ch);
    rc = solve_chain(ctx, out, ch, e, dd);
    if (rc)
        goto out;
    for (size_t s = 0; s < n_st; s++) {
        for (int b = 0; b < NB; b++) {
            out->n[s][b] = c->reached[s][b];
            if (out->role[s] != RI_STATUS_OPEN) {
                out->p_win[s][b] = out->days_left[s][b] = RI_NAN;
            } else if (!ch->data[s]) {
                out->p_win[s][b] = out->base_rate;
                out->days_left[s][b] = out->base_days;
            } else {
                double pw = 0, dl = ch->r[s][b];
                for (size_t t = 0; t < n_st; t++) {
                    double w = ch->w[s][b][t];
                    if (w > 0) {
                        pw += w * e[t];
                        dl += w * dd[t];
                    }
                }
                out->p_win[s][b] = pw;
                out->days_left[s][b] = dl;
            }
        }
    }
out:
    ri_path_buf_release(&p);
    ri_free(ch);
    ri_free(c);
    if (rc) {
        memset(out, 0, sizeof(*out));
        out->base_rate = out->base_days = RI_NAN;
    }
    return rc;
}

double ri_stage_model_p_win(const struct ri_stage_model *m, int32_t stage, double days)
{
    if (stage < 0 || (size_t)stage >= m->n_stages)
        return m->base_rate;
    if (m->role[stage] == RI_STATUS_WON)
        return 1.0;
    if (m->role[stage] == RI_STATUS_LOST)
        return 0.0;
    return m->p_win[stage][ri_stage_model_bucket(days)];
}

double ri_stage_model_days_left(const struct ri_stage_model *m, int32_t stage, double days)
{
    if (stage < 0 || (size_t)stage >= m->n_stages)
        return m->base_days;
    if (m->role[stage] != RI_STATUS_OPEN)
        return 0.0;
    return m->days_left[stage][ri_stage_model_bucket(days)];
}

/* ------------------------------------------------------------------ text form */

/*
 * The text form: a header line, then one "key value" line per scalar, then one line per
 * stage: "stage <index> <role> <p_win x 7> <days_left x 7> <n x 7>". Doubles are written
 * with %.17g, which strtod reads back to the same bits ("nan" for a closed stage).
 */
#define SM_HEADER "stagemodel 1\n"

ri_err ri_stage_model_save(const struct ri_stage_model *m, struct ri_buf *out)
{
    ri_err rc = RI_OK;
    if (m->n_stages > NS)
        return RI_ERR_INVALID;
    rc = ri_buf_addf(out,
                     SM_HEADER "n_stages %zu\ncutoff %lld\nstrict %d\ndeals %llu\nvisits %llu\n"
                               "base_rate %.17g\nbase_days %.17g\n",
                     m->n_stages, (long long)m->cutoff, m->strict, (unsigned long long)m->deals,
                     (unsigned long long)m->visits, m->base_rate, m->base_days);
    for (size_t s = 0; !rc && s < m->n_stages; s++) {
        rc = ri_buf_addf(out, "stage %zu %u", s, (unsigned)m->role[s]);
        for (int b = 0; !rc && b < NB; b++)
            rc = ri_buf_addf(out, " %.17g", m->p_win[s][b]);
        for (int b = 0; !rc && b < NB; b++)
            rc = ri_buf_addf(out, " %.17g", m->days_left[s][b]);
        for (int b = 0; !rc && b < NB; b++)
            rc = ri_buf_addf(out, " %llu", (unsigned long long)m->n[s][b]);
        if (!rc)
            rc = ri_buf_addc(out, '\n');
    }
    return rc;
}

/* A cursor over the text being loaded. */
struct sm_reader {
    const char *p, *end;
    char tok[64];
};

/* Next blank-separated token into r->tok; false at the end or if it is too long. */
static bool next_tok(struct sm_reader *r)
{
    size_t n = 0;
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n'))
        r->p++;
    while (r->p < r->end && *r->p != ' ' && *r->p != '\n') {
        if (n + 1 >= sizeof(r->tok))
            return false;
        r->tok[n++] = *r->p++;
    }
    r->tok[n] = '\0';
    return n > 0;
}

static bool tok_is(struct sm_reader *r, const char *word)
{
    return next_tok(r) && !strcmp(r->tok, word);
}

static bool read_u64(struct sm_reader *r, uint64_t *v)
{
    char *e;
    unsigned long long x;
    if (!next_tok(r) || r->tok[0] == '-')
        return false;
    errno = 0;
    x = strtoull(r->tok, &e, 10);
    if (errno || *e)
        return false;
    *v = (uint64_t)x;
    return true;
}

static bool read_i64(struct sm_reader *r, int64_t *v)
{
    char *e;
    long long x;
    if (!next_tok(r))
        return false;
    errno = 0;
    x = strtoll(r->tok, &e, 10);
    if (errno || *e)
        return false;
    *v = (int64_t)x;
    return true;
}

static bool read_f64(struct sm_reader *r, double *v)
{
    char *e;
    if (!next_tok(r))
        return false;
    errno = 0;
    *v = strtod(r->tok, &e);
    return !*e && errno != ERANGE;
}

/* A probability as stored: in [0, 1], or NAN (a closed stage). */
static bool prob_ok(double p)
{
    return isnan(p) || (p >= 0 && p <= 1);
}

ri_err ri_stage_model_load(struct ri_stage_model *m, const char *text, size_t len)
{
    struct sm_reader r;
    uint64_t u, strict, role;
    size_t hl = sizeof(SM_HEADER) - 1;

    memset(m, 0, sizeof(*m));
    if (!text || len < hl || memcmp(text, SM_HEADER, hl) != 0)
        goto bad;
    r.p = text + hl;
    r.end = text + len;
    if (!tok_is(&r, "n_stages") || !read_u64(&r, &u) || u > NS)
        goto bad;
    m->n_stages = (size_t)u;
    if (!tok_is(&r, "cutoff") || !read_i64(&r, &m->cutoff))
        goto bad;
    if (!tok_is(&r, "strict") || !read_u64(&r, &strict) || strict > 1)
        goto bad;
    m->strict = (int)strict;
    if (!tok_is(&r, "deals") || !read_u64(&r, &m->deals) || !tok_is(&r, "visits") ||
        !read_u64(&r, &m->visits))
        goto bad;
    if (!tok_is(&r, "base_rate") || !read_f64(&r, &m->base_rate) || !prob_ok(m->base_rate) ||
        !tok_is(&r, "base_days") || !read_f64(&r, &m->base_days))
        goto bad;
    for (size_t s = 0; s < m->n_stages; s++) {
        if (!tok_is(&r, "stage") || !read_u64(&r, &u) || u != s || !read_u64(&r, &role) ||
            role > RI_STATUS_LOST)
            goto bad;
        m->role[s] = (uint8_t)role;
        for (int b = 0; b < NB; b++)
            if (!read_f64(&r, &m->p_win[s][b]) || !prob_ok(m->p_win[s][b]))
                goto bad;
        for (int b = 0; b < NB; b++)
            if (!read_f64(&r, &m->days_left[s][b]))
                goto bad;
        for (int b = 0; b < NB; b++)
            if (!read_u64(&r, &m->n[s][b]))
                goto bad;
    }
    if (next_tok(&r) || r.p != r.end)
        goto bad;
    return RI_OK;
bad:
    memset(m, 0, sizeof(*m));
    m->base_rate = m->base_days = RI_NAN;
    return RI_ERR_PARSE;
}
