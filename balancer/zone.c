/* zone.c: one balancer instance per zone (see zone.h for the records). */
#include "config.h"

#include "internal.h"
#include "zone.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9

/* What a zone's records say, and when this instance saw its post change. */
struct zinfo {
  char *name;
  long pass;       /* of its post, -1 none */
  int64_t changed; /* reader's clock: pass last changed, or first seen */
  bool posted;     /* a post this step */
  double spare[BAL_NDIM], max[BAL_NDIM];
  int adopt_k;    /* latest adoption episode, 0 none */
  char *adopt_by; /* its adopter */
  int64_t adopt_since;
  bool adopt_ended;
  bool planned; /* by this instance at step 2 */
};

/* A unit's worth: its services and demand. */
struct zunit {
  char **names;
  size_t n;
  double dem[BAL_NDIM];
};
typedef PM_VEC(struct zunit) zunits_t;

/* A grant this instance made: capacity reserved on node until the units
 * arrive there or it expires. */
struct zgrant {
  char *key;
  zunits_t units;
  char **nodes; /* one per unit, NULL-ended */
  size_t nnodes;
  int64_t t;
  bool confirmed;
};

/* A request this instance made. */
struct zreq {
  char *key, *to;
  zunits_t units;
  int64_t t;      /* made, or since followed: its give-up counts from t */
  bool confirmed; /* its CREATE was written */
  bool followed;  /* its grant (ok) was followed at t */
};

/* A refusal remembered: unit (its first service) not to be asked of zone
 * again before it expires. */
struct zrefusal {
  char *unit, *zone;
  int64_t t;
};

enum akind { A_ADOPT, A_END, A_GRANT, A_REQ, A_POST, A_DEL };

struct zaction {
  enum bal_zone_op op;
  char *key, *value;
  enum akind kind;
  size_t ref; /* A_ADOPT: zone index; A_GRANT, A_REQ: index in grants/reqs */
};

struct xmove {
  struct zunit u;
  char *from, *to, *why;
};

struct bal_zone {
  char *name;
  bal_zone_params_t p;
  int64_t now;
  long pass;               /* of this instance's last post */
  long next_req;           /* next request number */
  PM_VEC(struct zinfo) zs; /* every zone seen, this instance's too */
  bal_record_t *rec;       /* copies */
  size_t nrec;
  bool leader; /* plans services that run nowhere and have no home */
  PM_VEC(struct zaction) act;
  PM_VEC(struct zgrant) grants;
  PM_VEC(struct zreq) reqs;
  PM_VEC(struct zrefusal) refusals;
  bal_cluster_t *sub;
  bal_plan_t *plan;
  PM_VEC(struct xmove) cross;
  bal_zone_stats_t st;
};

void bal_zone_params_init(bal_zone_params_t *p) {
  *p = (bal_zone_params_t){.interval = 60,
                           .silent_intervals = 2,
                           .cross_cost = 5,
                           .max_requests = 4};
}

/* A zone name: 1 to BAL_ZONE_NAME_MAX of [A-Za-z0-9_-]. */
static bool zone_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > BAL_ZONE_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
      return false;
  return true;
}

static bool params_ok(const bal_zone_params_t *p) {
  return p->interval > 0 && p->silent_intervals > 0 && p->cross_cost >= 0;
}

bal_zone_t *bal_zone_new(const char *name, const bal_zone_params_t *p) {
  if (!name || !zone_name_ok(name) || (p && !params_ok(p))) {
    errno = EINVAL;
    return NULL;
  }
  bal_zone_t *z = calloc(1, sizeof(*z));
  if (!z || !(z->name = strdup(name))) {
    free(z);
    errno = ENOMEM;
    return NULL;
  }
  if (p)
    z->p = *p;
  else
    bal_zone_params_init(&z->p);
  z->pass = 0;
  z->next_req = 1;
  return z;
}

int bal_zone_set_params(bal_zone_t *z, const bal_zone_params_t *p) {
  if (!params_ok(p))
    return -EINVAL;
  z->p = *p;
  return 0;
}

const char *bal_zone_name(const bal_zone_t *z) { return z->name; }

static void unit_free(struct zunit *u) {
  for (size_t i = 0; i < u->n; i++)
    free(u->names[i]);
  free(u->names);
}

static void units_free(zunits_t *u) {
  for (size_t i = 0; i < u->n; i++)
    unit_free(&u->v[i]);
  pm_vec_free(u);
}

static void grant_free(struct zgrant *g) {
  free(g->key);
  units_free(&g->units);
  for (size_t i = 0; i < g->nnodes; i++)
    free(g->nodes[i]);
  free(g->nodes);
}

static void req_free(struct zreq *r) {
  free(r->key);
  free(r->to);
  units_free(&r->units);
}

/* Drops what the last step 2 computed, and with records (a new step 1)
 * the records and actions too. */
static void step_reset(bal_zone_t *z, bool records) {
  for (size_t i = 0; i < z->cross.n; i++) {
    unit_free(&z->cross.v[i].u);
    free(z->cross.v[i].from);
    free(z->cross.v[i].to);
    free(z->cross.v[i].why);
  }
  pm_vec_free(&z->cross);
  bal_plan_free(z->plan);
  z->plan = NULL;
  bal_cluster_free(z->sub);
  z->sub = NULL;
  if (!records)
    return;
  for (size_t i = 0; i < z->act.n; i++) {
    free(z->act.v[i].key);
    free(z->act.v[i].value);
  }
  pm_vec_free(&z->act);
  for (size_t i = 0; i < z->nrec; i++) {
    free((char *)z->rec[i].key);
    free((char *)z->rec[i].value);
  }
  free(z->rec);
  z->rec = NULL;
  z->nrec = 0;
}

void bal_zone_free(bal_zone_t *z) {
  if (!z)
    return;
  step_reset(z, true);
  for (size_t i = 0; i < z->zs.n; i++) {
    free(z->zs.v[i].name);
    free(z->zs.v[i].adopt_by);
  }
  pm_vec_free(&z->zs);
  for (size_t i = 0; i < z->grants.n; i++)
    grant_free(&z->grants.v[i]);
  pm_vec_free(&z->grants);
  for (size_t i = 0; i < z->reqs.n; i++)
    req_free(&z->reqs.v[i]);
  pm_vec_free(&z->reqs);
  for (size_t i = 0; i < z->refusals.n; i++) {
    free(z->refusals.v[i].unit);
    free(z->refusals.v[i].zone);
  }
  pm_vec_free(&z->refusals);
  free(z->name);
  free(z);
}

/* ---- parsing values ------------------------------------------------------ */

/* The text of field name= in value (space-separated tokens) in buf; false
 * when absent or longer than buf. A bare first token is field "". */
static bool field(const char *value, const char *name, char *buf, size_t sz) {
  size_t ln = strlen(name);
  for (const char *p = value; *p;) {
    while (*p == ' ')
      p++;
    const char *e = strchr(p, ' ');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    bool hit = ln ? n > ln && strncmp(p, name, ln) == 0 && p[ln] == '='
                  : p == value && !memchr(p, '=', n);
    if (hit) {
      size_t off = ln ? ln + 1 : 0;
      if (n - off >= sz)
        return false;
      memcpy(buf, p + off, n - off);
      buf[n - off] = '\0';
      return true;
    }
    p += n;
  }
  return false;
}

static bool parse_long(const char *s, long *ret) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end)
    return false;
  *ret = v;
  return true;
}

static bool parse_i64(const char *s, int64_t *ret) {
  long v;
  if (!parse_long(s, &v))
    return false;
  *ret = v;
  return true;
}

/* "C/M/N", each a number or "-" (NAN). */
static bool parse_dims(const char *s, double ret[BAL_NDIM]) {
  for (int d = 0; d < BAL_NDIM; d++) {
    if (*s == '-' && (s[1] == '/' || s[1] == '\0' || s[1] == ',')) {
      ret[d] = NAN;
      s++;
    } else {
      char *end;
      ret[d] = strtod(s, &end);
      if (end == s || !isfinite(ret[d]))
        return false;
      s = end;
    }
    if (d < BAL_NDIM - 1 && *s++ != '/')
      return false;
  }
  return *s == '\0' || *s == ',';
}

static void fmt_dims(pm_buf_t *b, const double v[BAL_NDIM]) {
  for (int d = 0; d < BAL_NDIM; d++) {
    if (d)
      pm_buf_putc(b, '/');
    if (isfinite(v[d]))
      pm_buf_printf(b, "%.6g", v[d]);
    else
      pm_buf_putc(b, '-');
  }
}

/* "a+b@C/M/N,c@C/M/N" into *ret: 0, -EBADMSG, -ENOMEM. A name may hold
 * '@' (the last one of a unit starts its demand), not ',', '+' or ' '. */
static int parse_units(const char *s, zunits_t *ret) {
  zunits_t u = {0};
  int r = *s ? 0 : -EBADMSG;
  while (*s && r == 0) {
    const char *end = strchr(s, ',');
    const char *at = memrchr(s, '@', end ? (size_t)(end - s) : strlen(s));
    struct zunit *x = at && at != s ? pm_vec_push(&u) : NULL;
    if (!x) {
      r = at && at != s ? -ENOMEM : -EBADMSG;
      break;
    }
    for (const char *p = s; p < at && r == 0;) {
      const char *e = memchr(p, '+', (size_t)(at - p));
      size_t len = e ? (size_t)(e - p) : (size_t)(at - p);
      char name[BAL_ZONE_VALUE_MAX + 1];
      if (len == 0 || len > BAL_ZONE_VALUE_MAX) {
        r = -EBADMSG;
        break;
      }
      memcpy(name, p, len);
      name[len] = '\0';
      r = pm_strv_push(&x->names, &x->n, name);
      p += len + (e ? 1 : 0);
    }
    if (r == 0 && !parse_dims(at + 1, x->dem))
      r = -EBADMSG;
    s = end ? end + 1 : at + strlen(at);
  }
  if (r < 0) {
    units_free(&u);
    return r;
  }
  *ret = u;
  return 0;
}

static int unit_dup(const struct zunit *u, struct zunit *ret) {
  *ret = (struct zunit){0};
  memcpy(ret->dem, u->dem, sizeof(ret->dem));
  for (size_t i = 0; i < u->n; i++)
    if (pm_strv_push(&ret->names, &ret->n, u->names[i]) < 0) {
      unit_free(ret);
      return -ENOMEM;
    }
  return 0;
}

/* Whether u's names can stand in a record value. */
static bool unit_writable(const struct zunit *u) {
  for (size_t i = 0; i < u->n; i++)
    for (const char *p = u->names[i]; *p; p++)
      if (*p == ',' || *p == '+' || *p <= ' ' || *p > '~')
        return false;
  return true;
}

static void fmt_unit(pm_buf_t *b, const struct zunit *u) {
  for (size_t i = 0; i < u->n; i++)
    pm_buf_printf(b, "%s%s", i ? "+" : "", u->names[i]);
  pm_buf_putc(b, '@');
  fmt_dims(b, u->dem);
}

/* ---- step 1: records, liveness, adoption --------------------------------- */

static int zone_find(const bal_zone_t *z, const char *name, size_t len) {
  for (size_t i = 0; i < z->zs.n; i++)
    if (strlen(z->zs.v[i].name) == len &&
        strncmp(z->zs.v[i].name, name, len) == 0)
      return (int)i;
  return -1;
}

static int zone_get(bal_zone_t *z, const char *name, size_t len) {
  int i = zone_find(z, name, len);
  if (i >= 0)
    return i;
  char *copy = strndup(name, len);
  struct zinfo *x = copy ? pm_vec_push(&z->zs) : NULL;
  if (!x) {
    free(copy);
    return -ENOMEM;
  }
  *x = (struct zinfo){.name = copy, .pass = -1, .changed = z->now};
  for (int d = 0; d < BAL_NDIM; d++)
    x->spare[d] = x->max[d] = NAN;
  return (int)z->zs.n - 1;
}

static bool zone_live(const bal_zone_t *z, size_t i) {
  if (strcmp(z->zs.v[i].name, z->name) == 0)
    return true;
  return z->now - z->zs.v[i].changed <
         (int64_t)z->p.silent_intervals * z->p.interval;
}

static bool expired(const bal_zone_t *z, int64_t t) {
  return z->now - t >= (int64_t)z->p.silent_intervals * z->p.interval;
}

/* Whether a grant made at t still holds its room: one interval past the
 * silence that gets a zone adopted, so that an adopter can follow a grant
 * its requester's instance did not live to follow. */
static bool held(const bal_zone_t *z, int64_t t) {
  return z->now - t < (int64_t)(z->p.silent_intervals + 1) * z->p.interval;
}

static int add_action(bal_zone_t *z, enum bal_zone_op op, char *key,
                      char *value, enum akind kind, size_t ref) {
  struct zaction *a = key && value ? pm_vec_push(&z->act) : NULL;
  if (!a) {
    free(key);
    free(value);
    return -ENOMEM;
  }
  *a = (struct zaction){op, key, value, kind, ref};
  return 0;
}

static char *bufdup(pm_buf_t *b) {
  char *s = b->err ? NULL : strdup(b->data ? b->data : "");
  pm_buf_free(b);
  return s;
}

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...) {
  pm_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  pm_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  return bufdup(&b);
}

/* post.Z: Z's pass (its change is Z's liveness), spare and max. */
static int read_post(bal_zone_t *z, const bal_record_t *r, char *buf,
                     size_t sz) {
  long pass;
  if (!field(r->value, "pass", buf, sz) || !parse_long(buf, &pass))
    return -EINVAL;
  int i = zone_get(z, r->key + 5, strlen(r->key + 5));
  if (i < 0)
    return i;
  struct zinfo *x = &z->zs.v[i];
  if (x->pass != pass)
    x->changed = z->now;
  x->pass = pass;
  x->posted = true;
  if (!field(r->value, "spare", buf, sz) || !parse_dims(buf, x->spare) ||
      !field(r->value, "max", buf, sz) || !parse_dims(buf, x->max))
    return -EINVAL;
  if (strcmp(x->name, z->name) == 0 && pass > z->pass)
    z->pass = pass;
  return 0;
}

/* adopt.Z.K: the latest adoption episode of Z, its adopter and end. */
static int read_adopt(bal_zone_t *z, const bal_record_t *r, char *buf,
                      size_t sz) {
  const char *k = r->key + 6, *dot = strrchr(k, '.');
  long ep;
  int64_t since;
  char by[BAL_ZONE_NAME_MAX + 1];
  if (!dot || dot == k || !parse_long(dot + 1, &ep) || ep < 1 ||
      !field(r->value, "since", buf, sz) || !parse_i64(buf, &since) ||
      !field(r->value, "by", by, sizeof(by)))
    return -EINVAL;
  int i = zone_get(z, k, (size_t)(dot - k));
  if (i < 0)
    return i;
  struct zinfo *x = &z->zs.v[i];
  if (ep < x->adopt_k)
    return 0;
  char *nb = strdup(by);
  if (!nb)
    return -ENOMEM;
  free(x->adopt_by);
  x->adopt_by = nb;
  x->adopt_k = (int)ep;
  x->adopt_since = since;
  x->adopt_ended = field(r->value, "ended", buf, sz);
  return 0;
}

/* req.A.N: well formed; this instance's numbers go on after the highest
 * recorded. */
static int read_req(bal_zone_t *z, const bal_record_t *r, char *buf,
                    size_t sz) {
  const char *k = r->key + 4, *dot = strrchr(k, '.');
  long n;
  if (!dot || dot == k || !parse_long(dot + 1, &n) ||
      !field(r->value, "to", buf, sz))
    return -EINVAL;
  size_t len = (size_t)(dot - k);
  if (len == strlen(z->name) && strncmp(k, z->name, len) == 0 &&
      n >= z->next_req)
    z->next_req = n + 1;
  return 0;
}

/* grant.req.A.N: its verdict is ok or refused. */
static int read_grant(bal_zone_t *z, const bal_record_t *r, char *buf,
                      size_t sz) {
  (void)z;
  return field(r->value, "", buf, sz) &&
                 (strcmp(buf, "ok") == 0 || strcmp(buf, "refused") == 0)
             ? 0
             : -EINVAL;
}

/* Reads one record into the zones' state. -EINVAL when it does not parse,
 * 0 otherwise (records of other prefixes are kept for step 2). */
static int read_record(bal_zone_t *z, const bal_record_t *r) {
  static const struct {
    const char *prefix;
    int (*read)(bal_zone_t *, const bal_record_t *, char *, size_t);
  } readers[] = {
      {"post.", read_post},
      {"adopt.", read_adopt},
      {"req.", read_req},
      {"grant.", read_grant},
  };
  char buf[BAL_ZONE_VALUE_MAX + 1];
  for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
    if (strncmp(r->key, readers[i].prefix, strlen(readers[i].prefix)) == 0)
      return readers[i].read(z, r, buf, sizeof(buf));
  return 0;
}

/* Keeps a copy of the records (step 2 reads them too) and the zones named
 * (this one first). */
static int keep_records(bal_zone_t *z, const bal_record_t *rec, size_t nrec,
                        const char *const *zones, size_t nzones) {
  z->rec = calloc(nrec ? nrec : 1, sizeof(*z->rec));
  if (!z->rec)
    return -ENOMEM;
  for (size_t i = 0; i < nrec; i++) {
    if (!rec[i].key || !rec[i].value)
      return -EINVAL;
    z->rec[i].key = strdup(rec[i].key);
    z->rec[i].value = strdup(rec[i].value);
    z->nrec++;
    if (!z->rec[i].key || !z->rec[i].value)
      return -ENOMEM;
  }
  if (zone_get(z, z->name, strlen(z->name)) < 0)
    return -ENOMEM;
  for (size_t i = 0; i < nzones; i++)
    if (zones[i] && zone_get(z, zones[i], strlen(zones[i])) < 0)
      return -ENOMEM;
  return 0;
}

/* Who plans zone i this pass (its planned flag), and the adoption records
 * that decision writes: an adoption this instance made ends when the zone's
 * instance is back; a silent zone nobody live plans is adopted by the
 * leader. 0 or -ENOMEM. */
static int decide_zone(bal_zone_t *z, size_t i) {
  struct zinfo *x = &z->zs.v[i];
  bool mine = strcmp(x->name, z->name) == 0;
  bool open = x->adopt_k > 0 && !x->adopt_ended;
  int by = open ? zone_find(z, x->adopt_by, strlen(x->adopt_by)) : -1;
  bool by_me = open && strcmp(x->adopt_by, z->name) == 0;
  bool by_live = by_me || (by >= 0 && zone_live(z, (size_t)by));
  x->planned = false;
  if (mine) {
    /* Wait while a live adopter still plans this zone. */
    x->planned = !open || by_me || !by_live;
    return 0;
  }
  if (zone_live(z, i)) {
    if (!by_me)
      return 0;
    /* its instance returned: end the adoption */
    char *key = strf("adopt.%s.%d", x->name, x->adopt_k);
    char *val = strf("by=%s since=%" PRId64 " ended=%" PRId64, z->name,
                     x->adopt_since, z->now);
    return add_action(z, BAL_ZONE_SET, key, val, A_END, i);
  }
  if (by_live) {
    x->planned = by_me;
    return 0;
  }
  if (!z->leader)
    return 0;
  char *key = strf("adopt.%s.%d", x->name, x->adopt_k + 1);
  char *val = strf("by=%s since=%" PRId64, z->name, z->now);
  return add_action(z, BAL_ZONE_CREATE, key, val, A_ADOPT, i);
}

int bal_zone_begin(bal_zone_t *z, const bal_record_t *rec, size_t nrec,
                   const char *const *zones, size_t nzones, int64_t now,
                   const char **ret_bad) {
  step_reset(z, true);
  if (now < z->now)
    now = z->now;
  z->now = now;
  int r = keep_records(z, rec, nrec, zones, nzones);
  if (r < 0)
    return r;
  for (size_t i = 0; i < z->zs.n; i++)
    z->zs.v[i].posted = false;
  for (size_t i = 0; i < nrec; i++) {
    int k = read_record(z, &z->rec[i]);
    if (k == -ENOMEM)
      return k;
    if (k < 0 && r == 0) {
      r = k;
      if (ret_bad)
        *ret_bad = rec[i].key;
    }
  }
  /* The live instance with the lowest zone name adopts the silent zones
   * and plans what runs nowhere without a home (this zone is live). */
  int low = -1;
  for (size_t i = 0; i < z->zs.n; i++)
    if (zone_live(z, i) &&
        (low < 0 || strcmp(z->zs.v[i].name, z->zs.v[low].name) < 0))
      low = (int)i;
  z->leader = strcmp(z->zs.v[low].name, z->name) == 0;
  for (size_t i = 0; i < z->zs.n; i++) {
    int k = decide_zone(z, i);
    if (k < 0)
      return k;
  }
  return r; /* -EINVAL for a record that did not read, the rest done */
}

size_t bal_zone_nplanned(const bal_zone_t *z) {
  size_t n = 0;
  for (size_t i = 0; i < z->zs.n; i++)
    n += z->zs.v[i].planned;
  return n;
}

const char *bal_zone_planned(const bal_zone_t *z, size_t i) {
  int own = zone_find(z, z->name, strlen(z->name));
  if (own >= 0 && z->zs.v[own].planned && i-- == 0)
    return z->name;
  for (size_t k = 0; k < z->zs.n; k++)
    if ((int)k != own && z->zs.v[k].planned && i-- == 0)
      return z->zs.v[k].name;
  return NULL;
}

bool bal_zone_leader(const bal_zone_t *z) {
  int own = zone_find(z, z->name, strlen(z->name));
  return z->leader && own >= 0 && z->zs.v[own].planned;
}

size_t bal_zone_nactions(const bal_zone_t *z) { return z->act.n; }

int bal_zone_action(const bal_zone_t *z, size_t i, bal_zone_action_t *ret) {
  if (i >= z->act.n)
    return -ERANGE;
  *ret =
      (bal_zone_action_t){z->act.v[i].op, z->act.v[i].key, z->act.v[i].value};
  return 0;
}

int bal_zone_written(bal_zone_t *z, size_t i, int rc) {
  if (i >= z->act.n)
    return -ERANGE;
  struct zaction *a = &z->act.v[i];
  switch (a->kind) {
  case A_ADOPT:
    if (rc == 0)
      z->zs.v[a->ref].planned = true;
    break;
  case A_GRANT:
    z->grants.v[a->ref].confirmed = rc == 0;
    if (rc == 0 && a->value[0] == 'o')
      z->st.granted++;
    else if (rc == 0)
      z->st.refused++;
    break;
  case A_REQ:
    z->reqs.v[a->ref].confirmed = rc == 0;
    break;
  case A_END:
  case A_POST:
  case A_DEL:
    break;
  }
  return 0;
}

/* ---- step 2: the local plan --------------------------------------------- */

/* What nodes and services both carry besides their demand or load. */
#define COPY_ESTIMATES(y, x)                                                   \
  do {                                                                         \
    memcpy((y)->spread, (x)->spread, sizeof((y)->spread));                     \
    memcpy((y)->level, (x)->level, sizeof((y)->level));                        \
    memcpy((y)->level_sd, (x)->level_sd, sizeof((y)->level_sd));               \
    memcpy((y)->attr, (x)->attr, sizeof((y)->attr));                           \
  } while (0)

/* Bans sub service k from the kept nodes outside zone (a zone index, -1:
 * none): an adopted zone is planned apart from the adopter's own. */
static int ban_other_zones(const bal_cluster_t *c, bal_cluster_t *s, int k,
                           const int *nzone, int zone, const int *nmap) {
  int r = 0;
  for (size_t n = 0; n < c->nnodes && r >= 0 && zone >= 0; n++)
    if (nmap[n] >= 0 && nzone[n] != zone)
      r = bal_service_ban(s, k, nmap[n]);
  return r;
}

/* c restricted to the nodes keep[] and the services on them (or stopped
 * and taken: take[]), with every constraint between what is kept. With
 * apart, each service is banned from the nodes outside its node's (else
 * its home's) zone, nzone[n] being the zone index of c's node n.
 * ret_nmap[n]: sub index of c's node n (-1). */
static int subset(const bal_cluster_t *c, const bool *keep, const bool *take,
                  const int *nzone, bool apart, bal_cluster_t **ret, int *nmap,
                  int *smap) {
  bal_cluster_t *s = bal_cluster_new();
  if (!s)
    return -ENOMEM;
  int r = 0;
  for (size_t a = 0; a < c->nattrs && r >= 0; a++)
    r = bal_cluster_add_attr(s, c->attrs[a]);
  for (size_t n = 0; n < c->nnodes && r >= 0; n++) {
    nmap[n] = -1;
    if (!keep[n])
      continue;
    const struct bal_node *x = &c->nodes[n];
    int k = bal_cluster_add_node(s, x->name, x->cap, x->state);
    if (k < 0) {
      r = k;
      break;
    }
    nmap[n] = k;
    struct bal_node *y = &s->nodes[k];
    memcpy(y->load, x->load, sizeof(y->load));
    COPY_ESTIMATES(y, x);
  }
  for (size_t i = 0; i < c->nsvcs && r >= 0; i++) {
    const struct bal_service *x = &c->svcs[i];
    smap[i] = -1;
    if (!(x->node >= 0 ? keep[x->node] : take[i]))
      continue;
    int k = bal_cluster_add_service(
        s, x->name, x->node >= 0 ? nmap[x->node] : -1, x->demand);
    if (k < 0) {
      r = k;
      break;
    }
    smap[i] = k;
    struct bal_service *y = &s->svcs[k];
    COPY_ESTIMATES(y, x);
    r = bal_service_set_flags(s, k, x->flags, x->why_fixed);
    for (size_t b = 0; b < x->bans.n && r >= 0; b++)
      if (nmap[x->bans.v[b]] >= 0)
        r = bal_service_ban(s, k, nmap[x->bans.v[b]]);
    if (r >= 0 && x->home >= 0 && nmap[x->home] >= 0)
      r = bal_service_set_home(s, k, nmap[x->home]);
    int at = x->node >= 0 ? x->node : x->home;
    if (r >= 0 && apart && at >= 0)
      r = ban_other_zones(c, s, k, nzone, nzone[at], nmap);
  }
  /* Second sweep: relations need both ends indexed. */
  for (size_t i = 0; i < c->nsvcs && r >= 0; i++) {
    const struct bal_service *x = &c->svcs[i];
    if (smap[i] < 0)
      continue;
    int root = bal_colo_root(c, (int)i);
    if (root != (int)i && smap[root] >= 0)
      r = bal_service_colocate(s, smap[root], smap[i]);
    if (r >= 0 && x->ha != BAL_HA_PRIMITIVE)
      r = bal_service_set_ha(s, smap[i], x->ha,
                             x->ha == BAL_HA_UNPROMOTED && x->primary >= 0
                                 ? smap[x->primary]
                                 : -1);
  }
  for (size_t k = 0; k + 1 < c->sep.n && r >= 0; k += 2) {
    int a = smap[c->sep.v[k]], b = smap[c->sep.v[k + 1]];
    if (a >= 0 && b >= 0)
      r = bal_service_separate(s, a, b);
  }
  if (r < 0) {
    bal_cluster_free(s);
    return r;
  }
  *ret = s;
  return 0;
}

/* Whether demand dem fits on sub node n with load l under threshold. */
static bool fits(const struct bal_node *n, const double l[BAL_NDIM],
                 const double dem[BAL_NDIM], double thr) {
  if (n->state != BAL_NODE_ONLINE)
    return false;
  for (int d = 0; d < BAL_NDIM; d++) {
    if (!bal_dim_on(n, d))
      continue;
    double x = isfinite(dem[d]) ? dem[d] : 0;
    if (!isfinite(l[d]) || l[d] + x > thr * n->cap[d] + EPS)
      return false;
  }
  return true;
}

/* Excess above threshold as a fraction of capacity (max over dims). */
static double excess(const struct bal_node *n, const double l[BAL_NDIM],
                     double thr) {
  double e = 0;
  for (int d = 0; d < BAL_NDIM; d++)
    if (bal_dim_on(n, d) && isfinite(l[d]))
      e = fmax(e, (l[d] - thr * n->cap[d]) / n->cap[d]);
  return e;
}

static double unit_size(const struct bal_node *n, const double dem[BAL_NDIM]) {
  double e = 0;
  for (int d = 0; d < BAL_NDIM; d++)
    if (bal_dim_on(n, d) && isfinite(dem[d]))
      e = fmax(e, dem[d] / n->cap[d]);
  return e;
}

static bool unit_known(const double dem[BAL_NDIM]) {
  for (int d = 0; d < BAL_NDIM; d++)
    if (isnan(dem[d]))
      return false;
  return true;
}

/* The unit (colocation set) of c's service i as names and summed demand;
 * *ret_flags: its members' flags, or-ed. */
static int unit_of(const bal_cluster_t *c, int i, struct zunit *ret,
                   unsigned *ret_flags) {
  *ret = (struct zunit){0};
  *ret_flags = 0;
  int root = bal_colo_root(c, i);
  for (size_t k = 0; k < c->nsvcs; k++) {
    if (bal_colo_root(c, (int)k) != root)
      continue;
    *ret_flags |= c->svcs[k].flags;
    if (pm_strv_push(&ret->names, &ret->n, c->svcs[k].name) < 0) {
      unit_free(ret);
      return -ENOMEM;
    }
    for (int d = 0; d < BAL_NDIM; d++)
      ret->dem[d] += c->svcs[k].demand[d];
  }
  return 0;
}

static bool refused_recently(const bal_zone_t *z, const char *unit,
                             const char *zone) {
  for (size_t i = 0; i < z->refusals.n; i++)
    if (!expired(z, z->refusals.v[i].t) &&
        strcmp(z->refusals.v[i].unit, unit) == 0 &&
        strcmp(z->refusals.v[i].zone, zone) == 0)
      return true;
  return false;
}

static bool in_pending_request(const bal_zone_t *z, const char *svc) {
  for (size_t i = 0; i < z->reqs.n; i++)
    for (size_t u = 0; u < z->reqs.v[i].units.n; u++)
      for (size_t k = 0; k < z->reqs.v[i].units.v[u].n; k++)
        if (strcmp(z->reqs.v[i].units.v[u].names[k], svc) == 0)
          return true;
  return false;
}

/* Whether request key is one this instance waits for (in z->reqs). */
static bool req_known(const bal_zone_t *z, const char *key) {
  for (size_t q = 0; q < z->reqs.n; q++)
    if (strcmp(z->reqs.v[q].key, key) == 0)
      return true;
  return false;
}

/* The zone index of request key "req.A.N", -1 unknown. */
static int req_zone(const bal_zone_t *z, const char *key) {
  const char *k = key + 4, *dot = strrchr(k, '.');
  return dot && dot > k ? zone_find(z, k, (size_t)(dot - k)) : -1;
}

static const char *record(const bal_zone_t *z, const char *key) {
  for (size_t i = 0; i < z->nrec; i++)
    if (strcmp(z->rec[i].key, key) == 0)
      return z->rec[i].value;
  return NULL;
}

/* State of step 2 shared by its parts. */
struct pass {
  const bal_cluster_t *c;
  const bal_params_t *p;
  int *nmap, *smap;
  double (*after)[BAL_NDIM]; /* per sub node: load after plan, grants */
  bool *moved;               /* per c service: moved this pass */
  int *dest;                 /* per c service: c node after the plan */
  int *nzone;                /* per c node: zone index, -1 none */
  int *mzone;                /* per sub node: zone index */
};

static int add_cross(bal_zone_t *z, const struct zunit *u, const char *from,
                     const char *to, const char *why) {
  struct xmove x = {.from = strdup(from), .to = strdup(to), .why = strdup(why)};
  struct xmove *slot = NULL;
  if (x.from && x.to && x.why && unit_dup(u, &x.u) == 0 &&
      (slot = pm_vec_push(&z->cross)))
    *slot = x;
  if (slot)
    return 0;
  unit_free(&x.u);
  free(x.from);
  free(x.to);
  free(x.why);
  return -ENOMEM;
}

/* Unit u of request q, granted room on node to (by name): 1 when it is
 * there (arrived); else moved there when it is still on a node this
 * instance plans, whole, none of its services moved this pass, fixed or
 * cooling down (a move of it may be under way); else left to wait. */
static int follow_unit(bal_zone_t *z, struct pass *ps, const struct zreq *q,
                       const struct zunit *u, const char *to_name) {
  const bal_cluster_t *c = ps->c;
  int to = bal_cluster_find_node(c, to_name);
  int s0 = bal_cluster_find_service(c, u->names[0]);
  if (to < 0 || s0 < 0)
    return 0;
  int on = c->svcs[s0].node;
  bool there = on == to, here = on >= 0 && ps->nmap[on] >= 0;
  for (size_t k = 0; (there || here) && k < u->n; k++) {
    int s = bal_cluster_find_service(c, u->names[k]);
    there = there && s >= 0 && c->svcs[s].node == on;
    here = here && s >= 0 && c->svcs[s].node == on && !ps->moved[s] &&
           !(c->svcs[s].flags & (BAL_SVC_FIXED | BAL_SVC_COOLDOWN));
  }
  if (there)
    return 1;
  if (!here)
    return 0;
  char why[BAL_ZONE_KEY_MAX * 2 + 64];
  snprintf(why, sizeof(why), "zone %s granted room on %s (%s)", q->to, to_name,
           q->key);
  int r = add_cross(z, u, c->nodes[on].name, to_name, why);
  if (r < 0)
    return r;
  z->st.cross++;
  for (size_t k = 0; k < u->n; k++)
    ps->moved[bal_cluster_find_service(c, u->names[k])] = true;
  for (int d = 0; d < BAL_NDIM; d++)
    if (isfinite(u->dem[d]))
      ps->after[ps->nmap[on]][d] -= u->dem[d];
  return 0;
}

/* A grant of q (value g, "ok ... nodes=..."): each unit follows it. 1 when
 * every unit arrived where the grant said, 0 while one is on its way. */
static int follow_ok(bal_zone_t *z, struct pass *ps, const struct zreq *q,
                     const char *g) {
  char nodes[BAL_ZONE_VALUE_MAX + 1];
  if (!field(g, "nodes", nodes, sizeof(nodes)))
    return 1; /* names no node: nothing to follow */
  char *save = NULL, *tok = strtok_r(nodes, ",", &save);
  bool all = true;
  for (size_t u = 0; u < q->units.n && tok;
       u++, tok = strtok_r(NULL, ",", &save)) {
    int r = follow_unit(z, ps, q, &q->units.v[u], tok);
    if (r < 0)
      return r;
    all = all && r == 1;
  }
  return all;
}

/* A refusal of q: its units are not asked of that zone again for a while. */
static int remember_refusal(bal_zone_t *z, const struct zreq *q) {
  for (size_t u = 0; u < q->units.n; u++) {
    struct zrefusal x = {strdup(q->units.v[u].names[0]), strdup(q->to), z->now};
    struct zrefusal *slot = x.unit && x.zone ? pm_vec_push(&z->refusals) : NULL;
    if (!slot) {
      free(x.unit);
      free(x.zone);
      return -ENOMEM;
    }
    *slot = x;
  }
  return 0;
}

/* Answers to requests this instance no longer has (deleted, or made
 * before it restarted) and requests it forgot are deleted; old refusals
 * are forgotten. */
static int drop_strays(bal_zone_t *z) {
  char pre[BAL_ZONE_NAME_MAX + 16];
  int plen = snprintf(pre, sizeof(pre), "req.%s.", z->name);
  for (size_t i = 0; i < z->nrec; i++) {
    const char *k = z->rec[i].key;
    const char *rk = strncmp(k, "grant.", 6) == 0 ? k + 6 : k;
    if (strncmp(rk, pre, (size_t)plen) != 0)
      continue;
    if (!req_known(z, rk)) {
      int r = add_action(z, BAL_ZONE_DELETE, strdup(k), strdup(""), A_DEL, 0);
      if (r < 0)
        return r;
    }
  }
  for (size_t i = 0; i < z->refusals.n;)
    if (expired(z, z->refusals.v[i].t)) {
      free(z->refusals.v[i].unit);
      free(z->refusals.v[i].zone);
      z->refusals.v[i] = z->refusals.v[--z->refusals.n];
    } else {
      i++;
    }
  return 0;
}

/* Grants received for this instance's requests: the units still on its
 * nodes go where the grant says, pass after pass (a plan held or a move
 * that failed is planned again) until they are there or silent_intervals
 * after the grant was first followed; refusals are remembered. Then the
 * request and its answer are deleted. */
static int follow_grants(bal_zone_t *z, struct pass *ps) {
  for (size_t i = 0; i < z->reqs.n;) {
    struct zreq *q = &z->reqs.v[i];
    char gkey[BAL_ZONE_KEY_MAX + 8], verdict[16];
    snprintf(gkey, sizeof(gkey), "grant.%s", q->key);
    const char *g = q->confirmed ? record(z, gkey) : NULL;
    bool ok = g && field(g, "", verdict, sizeof(verdict)) &&
              strcmp(verdict, "ok") == 0;
    if (ok && !q->followed) {
      q->followed = true;
      q->t = z->now; /* from now on: the give-up counts from here */
    }
    int r = ok ? follow_ok(z, ps, q, g) : g ? remember_refusal(z, q) : 0;
    if (r < 0)
      return r;
    bool done = ok ? r == 1 || expired(z, q->t) : g || expired(z, q->t);
    if (!done && q->confirmed) {
      i++;
      continue;
    }
    r = q->confirmed ? add_action(z, BAL_ZONE_DELETE, strdup(q->key),
                                  strdup(""), A_DEL, 0)
                     : 0;
    if (r == 0 && g)
      r = add_action(z, BAL_ZONE_DELETE, strdup(gkey), strdup(""), A_DEL, 0);
    if (r < 0)
      return r;
    req_free(q);
    z->reqs.v[i] = z->reqs.v[--z->reqs.n];
  }
  return drop_strays(z);
}

/* Reservations of earlier grants still on their way count on their node;
 * arrived or expired ones go. */
static void keep_reservations(bal_zone_t *z, struct pass *ps) {
  const bal_cluster_t *c = ps->c;
  for (size_t i = 0; i < z->grants.n;) {
    struct zgrant *g = &z->grants.v[i];
    bool any = false;
    for (size_t u = 0;
         g->confirmed && held(z, g->t) && u < g->nnodes && u < g->units.n;
         u++) {
      int n = bal_cluster_find_node(c, g->nodes[u]);
      int s = bal_cluster_find_service(c, g->units.v[u].names[0]);
      if (n < 0 || s < 0 || c->svcs[s].node == n || ps->nmap[n] < 0)
        continue; /* arrived, or gone */
      any = true;
      for (int d = 0; d < BAL_NDIM; d++)
        if (isfinite(g->units.v[u].dem[d]))
          ps->after[ps->nmap[n]][d] += g->units.v[u].dem[d];
    }
    if (any) {
      i++;
      continue;
    }
    grant_free(g);
    z->grants.v[i] = z->grants.v[--z->grants.n];
  }
}

/* ---- an adopted zone's trades -------------------------------------------- */

/* Whether zone index i is planned here for another zone's instance. */
static bool adopted_here(const bal_zone_t *z, int i) {
  return i >= 0 && z->zs.v[i].planned && strcmp(z->zs.v[i].name, z->name);
}

/* Field t= of value, else dflt. */
static int64_t value_time(const char *value, int64_t dflt) {
  char buf[32];
  int64_t t;
  return field(value, "t", buf, sizeof(buf)) && parse_i64(buf, &t) ? t : dflt;
}

/* Request record r of an adopted zone, granted: this instance follows the
 * grant as its own. */
static int take_request(bal_zone_t *z, const bal_record_t *r) {
  char to[BAL_ZONE_NAME_MAX + 2], units[BAL_ZONE_VALUE_MAX + 1];
  struct zreq q = {.t = z->now, .confirmed = true};
  int k = field(r->value, "to", to, sizeof(to)) &&
                  field(r->value, "units", units, sizeof(units))
              ? parse_units(units, &q.units)
              : -EBADMSG;
  if (k == -EBADMSG)
    return 0; /* read_req said so already, or nothing to follow */
  struct zreq *slot = NULL;
  if (k == 0 && (q.key = strdup(r->key)) && (q.to = strdup(to)) &&
      (slot = pm_vec_push(&z->reqs)))
    *slot = q;
  else
    req_free(&q);
  return slot ? 0 : -ENOMEM;
}

/* The granted requests an adopted zone's instance left in the records
 * are followed here while the granter still holds their room (its
 * reservation outlasts the silence that makes a zone adopted). Those of
 * a zone no longer planned here are dropped: its instance is back and
 * answers for its records. */
static int take_over(bal_zone_t *z) {
  int own = zone_find(z, z->name, strlen(z->name));
  for (size_t i = 0; i < z->reqs.n;) {
    int from = req_zone(z, z->reqs.v[i].key);
    if (from == own || adopted_here(z, from)) {
      i++;
      continue;
    }
    req_free(&z->reqs.v[i]);
    z->reqs.v[i] = z->reqs.v[--z->reqs.n];
  }
  char verdict[16];
  int r = 0;
  for (size_t i = 0; r == 0 && i < z->nrec; i++) {
    const bal_record_t *g = &z->rec[i];
    const char *rk = g->key + 6, *req;
    if (strncmp(g->key, "grant.req.", 10) != 0 ||
        !adopted_here(z, req_zone(z, rk)) ||
        !field(g->value, "", verdict, sizeof(verdict)) ||
        strcmp(verdict, "ok") != 0 || !held(z, value_time(g->value, 0)) ||
        !(req = record(z, rk)))
      continue;
    if (!req_known(z, rk))
      r = take_request(z, &(bal_record_t){rk, req});
  }
  return r;
}

/* The node of the planned ones in zone only (-1: any) and not in zone
 * skip (-1: none) with most room under threshold after unit u, where no
 * service of u is banned; -1 none. -ENOENT: a service of u is unknown. */
static int best_node(const struct pass *ps, const bal_cluster_t *s,
                     const struct zunit *u, int only, int skip) {
  const bal_cluster_t *c = ps->c;
  int best = -1;
  double best_room = -INFINITY;
  for (size_t m = 0; m < s->nnodes; m++) {
    const struct bal_node *nd = &s->nodes[m];
    if ((only >= 0 && ps->mzone[m] != only) || ps->mzone[m] == skip ||
        !fits(nd, ps->after[m], u->dem, ps->p->threshold))
      continue;
    int cn = bal_cluster_find_node(c, nd->name);
    bool banned = false;
    for (size_t j = 0; j < u->n; j++) {
      int sv = bal_cluster_find_service(c, u->names[j]);
      if (sv < 0)
        return -ENOENT;
      for (size_t b = 0; b < c->svcs[sv].bans.n; b++)
        banned |= c->svcs[sv].bans.v[b] == cn;
    }
    double after[BAL_NDIM];
    for (int d = 0; d < BAL_NDIM; d++)
      after[d] = ps->after[m][d] + u->dem[d];
    double room = -excess(nd, after, ps->p->threshold);
    if (!banned && room > best_room) {
      best = (int)m;
      best_room = room;
    }
  }
  return best;
}

/* Decides request value (from zone index from, to zone index to, whose
 * nodes take the units) into g: NULL when granted (g->units and g->nodes
 * filled, their room taken in ps->after), else why it is refused
 * (ps->after unchanged). *ret_r: -ENOMEM. */
static const char *decide(bal_zone_t *z, struct pass *ps, const char *value,
                          int from, int to, struct zgrant *g, int *ret_r) {
  const bal_cluster_t *s = z->sub;
  char units[BAL_ZONE_VALUE_MAX + 1];
  if (from >= 0 && z->zs.v[from].planned)
    return "stale"; /* from a zone planned here now */
  int pr = field(value, "units", units, sizeof(units))
               ? parse_units(units, &g->units)
               : -EBADMSG;
  if (pr == -ENOMEM)
    *ret_r = pr;
  if (pr < 0)
    return pr == -ENOMEM ? NULL : "unknown";
  double(*save)[BAL_NDIM] = malloc((s->nnodes + 1) * sizeof(*save));
  if (!save) {
    *ret_r = -ENOMEM;
    return NULL;
  }
  memcpy(save, ps->after, s->nnodes * sizeof(*save));
  const char *why = NULL;
  for (size_t k = 0; !why && k < g->units.n; k++) {
    const struct zunit *u = &g->units.v[k];
    int best = unit_known(u->dem) ? best_node(ps, s, u, to, -1) : -ENOENT;
    if (best < 0) {
      why = best == -ENOENT ? "unknown" : "nofit";
      break;
    }
    for (int d = 0; d < BAL_NDIM; d++)
      ps->after[best][d] += u->dem[d];
    if ((*ret_r = pm_strv_push(&g->nodes, &g->nnodes, s->nodes[best].name)) < 0)
      break;
  }
  if (why)
    memcpy(ps->after, save, s->nnodes * sizeof(*save));
  free(save);
  return why;
}

/* Decides, in record order, the requests addressed to the zones planned
 * here that nobody decided yet. */
static int grant_requests(bal_zone_t *z, struct pass *ps) {
  char to[BAL_ZONE_NAME_MAX + 2];
  for (size_t i = 0; i < z->nrec; i++) {
    const bal_record_t *r = &z->rec[i];
    if (strncmp(r->key, "req.", 4) != 0 ||
        !field(r->value, "to", to, sizeof(to)))
      continue;
    int tz = zone_find(z, to, strlen(to));
    if (tz < 0 || !z->zs.v[tz].planned)
      continue;
    char gkey[BAL_ZONE_KEY_MAX + 8];
    snprintf(gkey, sizeof(gkey), "grant.%s", r->key);
    if (record(z, gkey) || strlen(gkey) > BAL_ZONE_KEY_MAX)
      continue;
    int from = req_zone(z, r->key);
    /* The grant is remembered (a reservation) until written. */
    struct zgrant *g = pm_vec_push(&z->grants);
    if (!g || !(g->key = strdup(r->key)))
      return -ENOMEM;
    g->t = z->now;
    int rc = 0;
    const char *why = decide(z, ps, r->value, from, tz, g, &rc);
    if (rc < 0)
      return rc;
    pm_buf_t b = {0};
    if (why) { /* nothing reserved */
      units_free(&g->units);
      for (size_t k = 0; k < g->nnodes; k++)
        free(g->nodes[k]);
      free(g->nodes);
      g->nodes = NULL;
      g->nnodes = 0;
      pm_buf_printf(&b, "refused by=%s t=%" PRId64 " why=%s", z->name, z->now,
                    why);
    } else {
      pm_buf_printf(&b, "ok by=%s t=%" PRId64 " nodes=", z->name, z->now);
      for (size_t k = 0; k < g->nnodes; k++)
        pm_buf_printf(&b, "%s%s", k ? "," : "", g->nodes[k]);
    }
    rc = add_action(z, BAL_ZONE_CREATE, strdup(gkey), bufdup(&b), A_GRANT,
                    z->grants.n - 1);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* A surplus unit and the node it leaves. */
struct surplus {
  struct zunit u;
  int node; /* sub index, -1: runs nowhere */
  double gain;
};

static int cmp_surplus(const void *a, const void *b) {
  const struct surplus *x = a, *y = b;
  return (x->gain < y->gain) - (x->gain > y->gain);
}

typedef PM_VEC(struct surplus) surpluses_t;

static void surpluses_free(surpluses_t *v) {
  for (size_t k = 0; k < v->n; k++)
    unit_free(&v->v[k].u);
  pm_vec_free(v);
}

/* The units planned here that sit on a node above threshold after the
 * plan, or that run nowhere, and may move. */
static int candidates(bal_zone_t *z, struct pass *ps, surpluses_t *v) {
  const bal_cluster_t *c = ps->c, *s = z->sub;
  for (size_t i = 0; i < c->nsvcs; i++) {
    if (ps->smap[i] < 0 || ps->moved[i] ||
        in_pending_request(z, c->svcs[i].name))
      continue;
    int root = bal_colo_root(c, (int)i);
    if (root != (int)i && ps->smap[root] >= 0)
      continue; /* the unit is looked at from its root */
    int dn = ps->dest[i];
    bool stopped = dn < 0 || c->nodes[dn].state == BAL_NODE_OFFLINE;
    const struct bal_service *x = &c->svcs[i];
    if (x->ha == BAL_HA_CLONE || x->ha == BAL_HA_UNPROMOTED)
      continue; /* the HA stack places instances */
    int sn = stopped ? -1 : ps->nmap[dn];
    if (sn >= 0 &&
        excess(&s->nodes[sn], ps->after[sn], ps->p->threshold) <= EPS)
      continue;
    struct surplus *y = pm_vec_push(v);
    unsigned flags = 0;
    if (!y || unit_of(c, (int)i, &y->u, &flags) < 0) {
      v->n -= y != NULL;
      return -ENOMEM;
    }
    y->node = sn;
    /* As the local planner: a unit with a fixed member is neither moved nor
     * placed when stopped; a cooling one stays where it runs. */
    if ((flags & BAL_SVC_FIXED) || (!stopped && (flags & BAL_SVC_COOLDOWN)) ||
        !unit_writable(&y->u)) { /* stays with the local planner */
      unit_free(&y->u);
      v->n--;
    }
  }
  return 0;
}

/* Moves candidate k into keep with its gain. */
static int keep_one(surpluses_t *v, size_t k, double gain, surpluses_t *keep) {
  struct surplus *y = pm_vec_push(keep);
  if (!y)
    return -ENOMEM;
  *y = v->v[k];
  y->gain = gain;
  v->v[k].u = (struct zunit){0};
  v->v[k].node = -2; /* taken */
  return 0;
}

/* The candidate on node m to take off next: the smallest that brings it
 * under threshold, else the largest; -1 none. */
static int pick_on(const struct pass *ps, const struct bal_node *nd, int m,
                   const surpluses_t *v, bool *ret_covers) {
  int pick = -1;
  bool pick_covers = false;
  for (size_t k = 0; k < v->n; k++) {
    if (v->v[k].node != m)
      continue;
    double left[BAL_NDIM];
    for (int d = 0; d < BAL_NDIM; d++)
      left[d] = ps->after[m][d] - v->v[k].u.dem[d];
    bool covers = excess(nd, left, ps->p->threshold) <= EPS;
    double sz = unit_size(nd, v->v[k].u.dem);
    double psz = pick >= 0 ? unit_size(nd, v->v[pick].u.dem) : 0;
    if (pick < 0 || (covers && !pick_covers) ||
        (covers && pick_covers && sz < psz) ||
        (!covers && !pick_covers && sz > psz)) {
      pick = (int)k;
      pick_covers = covers;
    }
  }
  *ret_covers = pick_covers;
  return pick;
}

/* What the local plan leaves: units on nodes above threshold that no
 * planned node can take (the planner's budget is not a reason to go
 * across), worth cross_cost local moves, and services it could not
 * start; the most worth first. */
static int find_surplus(bal_zone_t *z, struct pass *ps, surpluses_t *keep) {
  const bal_cluster_t *s = z->sub;
  const double thr = ps->p->threshold;
  const double worth = z->p.cross_cost * ps->p->move_cost;
  surpluses_t v = {0};
  int r = candidates(z, ps, &v);
  /* Per node above threshold, until it is under or nothing is worth the
   * move. */
  for (size_t m = 0; r == 0 && m < s->nnodes; m++) {
    const struct bal_node *nd = &s->nodes[m];
    double e;
    while (r == 0 && (e = excess(nd, ps->after[m], thr)) > EPS) {
      bool covers;
      int pick = pick_on(ps, nd, (int)m, &v, &covers);
      if (pick < 0)
        break;
      double gain = covers ? 1 + e : unit_size(nd, v.v[pick].u.dem);
      /* Not for lack of budget or of confidence: when a planned node
       * takes it, the local planner decides (now or at its next pass). */
      bool local = false;
      for (size_t o = 0; o < s->nnodes && !local; o++)
        local = o != m && ps->mzone[o] == ps->mzone[m] &&
                fits(&s->nodes[o], ps->after[o], v.v[pick].u.dem, thr);
      if (gain <= worth || local)
        break;
      for (int d = 0; d < BAL_NDIM; d++)
        ps->after[m][d] -=
            isfinite(v.v[pick].u.dem[d]) ? v.v[pick].u.dem[d] : 0;
      r = keep_one(&v, (size_t)pick, gain, keep);
    }
  }
  /* Services left stopped: always worth it. */
  for (size_t k = 0; r == 0 && k < v.n; k++)
    if (v.v[k].node == -1)
      r = keep_one(&v, k, INFINITY, keep);
  surpluses_free(&v);
  if (r < 0)
    return r;
  /* Give back what was taken off the nodes: the post shows the load as
   * it stays until a grant moves it. */
  for (size_t k = 0; k < keep->n; k++)
    if (keep->v[k].node >= 0)
      for (int d = 0; d < BAL_NDIM; d++)
        ps->after[keep->v[k].node][d] +=
            isfinite(keep->v[k].u.dem[d]) ? keep->v[k].u.dem[d] : 0;
  if (keep->n > 1) /* v is NULL when nothing is kept */
    qsort(keep->v, keep->n, sizeof(*keep->v), cmp_surplus);
  return 0;
}

/* With adopted zones, the surplus of an adopted zone that another planned
 * zone takes moves there as a grant would have brought it (the adopter
 * decides both sides); it leaves the surplus list. The adopter's own
 * surplus is not put on the nodes it holds for a zone whose instance is
 * down: their spare stays for the other zones' requests and for that
 * zone's own units. */
static int place_inside(bal_zone_t *z, struct pass *ps, surpluses_t *sp) {
  const bal_cluster_t *c = ps->c, *s = z->sub;
  int own = zone_find(z, z->name, strlen(z->name));
  for (size_t k = 0; k < sp->n && bal_zone_nplanned(z) > 1;) {
    struct surplus *x = &sp->v[k];
    int to = x->node >= 0 && unit_known(x->u.dem) && ps->mzone[x->node] != own
                 ? best_node(ps, s, &x->u, -1, ps->mzone[x->node])
                 : -1;
    if (to == -ENOENT || to < 0) {
      k++;
      continue;
    }
    char why[BAL_ZONE_NAME_MAX * 2 + 64];
    snprintf(why, sizeof(why), "zone %s (adopted here) has room on %s",
             z->zs.v[ps->mzone[to]].name, s->nodes[to].name);
    int r = add_cross(z, &x->u, s->nodes[x->node].name, s->nodes[to].name, why);
    if (r < 0)
      return r;
    z->st.cross++;
    for (size_t j = 0; j < x->u.n; j++)
      ps->moved[bal_cluster_find_service(c, x->u.names[j])] = true;
    for (int d = 0; d < BAL_NDIM; d++)
      if (isfinite(x->u.dem[d])) {
        ps->after[x->node][d] -= x->u.dem[d];
        ps->after[to][d] += x->u.dem[d];
      }
    unit_free(&x->u);
    memmove(x, x + 1, (sp->n - k - 1) * sizeof(*x));
    sp->n--;
  }
  return 0;
}

/* Requests for the surplus: each unit to the live zone (not planned here)
 * whose posted largest spare takes it and that has most spare left; one
 * request per zone, up to max_requests. Sets asked[k] for what is asked. */
/* For each unit of sp, the live posting zone (not planned here, not one
 * that refused it lately) whose spare and largest free node take it, the
 * one with the most spare first: target[k], -1 for none. Spare is taken
 * as units are matched. */
static int choose_targets(const bal_zone_t *z, const struct surplus *sp,
                          size_t nsp, int *target) {
  double(*left)[2][BAL_NDIM] = calloc(z->zs.n + 1, sizeof(*left));
  if (!left)
    return -ENOMEM;
  for (size_t i = 0; i < z->zs.n; i++)
    for (int d = 0; d < BAL_NDIM; d++) {
      left[i][0][d] = z->zs.v[i].spare[d];
      left[i][1][d] = z->zs.v[i].max[d];
    }
  for (size_t k = 0; k < nsp; k++) {
    target[k] = -1;
    double best = -INFINITY;
    if (!unit_known(sp[k].u.dem))
      continue;
    for (size_t i = 0; i < z->zs.n; i++) {
      if (z->zs.v[i].planned || !z->zs.v[i].posted || !zone_live(z, i) ||
          refused_recently(z, sp[k].u.names[0], z->zs.v[i].name))
        continue;
      bool ok = false;
      for (int d = 0; d < BAL_NDIM; d++)
        if (isfinite(left[i][1][d])) {
          ok = sp[k].u.dem[d] <= left[i][1][d] + EPS &&
               sp[k].u.dem[d] <= left[i][0][d] + EPS;
          if (!ok)
            break;
        }
      double room = isfinite(left[i][0][0]) ? left[i][0][0] : 0;
      if (ok && room > best) {
        best = room;
        target[k] = (int)i;
      }
    }
    if (target[k] >= 0)
      for (int d = 0; d < BAL_NDIM; d++)
        if (isfinite(left[target[k]][0][d]))
          left[target[k]][0][d] -= sp[k].u.dem[d];
  }
  free(left);
  return 0;
}

/* One request to zone tz for the units targeted there and not yet asked
 * for (as many as fit in a record's value; the rest next pass). */
static int write_request(bal_zone_t *z, const struct surplus *sp, size_t nsp,
                         const int *target, bool *asked, int tz) {
  struct zreq q = {.t = z->now};
  pm_buf_t b = {0};
  int r = 0;
  pm_buf_printf(&b, "to=%s pass=%ld t=%" PRId64 " units=", z->zs.v[tz].name,
                z->pass + 1, z->now);
  for (size_t k = 0; k < nsp; k++) {
    if (target[k] != tz || asked[k])
      continue;
    size_t mark = b.len;
    if (q.units.n)
      pm_buf_putc(&b, ',');
    fmt_unit(&b, &sp[k].u);
    if (b.len > BAL_ZONE_VALUE_MAX) { /* the rest next pass */
      b.len = mark;
      b.data[mark] = '\0';
      break;
    }
    struct zunit *x = pm_vec_push(&q.units);
    if (!x || unit_dup(&sp[k].u, x) < 0) {
      q.units.n -= x != NULL;
      r = -ENOMEM;
      break;
    }
    asked[k] = true;
  }
  q.key = strf("req.%s.%ld", z->name, z->next_req++);
  q.to = strdup(z->zs.v[tz].name);
  char *val = bufdup(&b);
  struct zreq *slot = r == 0 && q.units.n && q.key && q.to && val
                          ? pm_vec_push(&z->reqs)
                          : NULL;
  if (!slot) { /* nothing fitted in a value is no error */
    r = r < 0 || q.units.n ? -ENOMEM : 0;
    req_free(&q);
    free(val);
    return r < 0 ? r : 1;
  }
  *slot = q;
  z->st.requested += (unsigned)q.units.n;
  return add_action(z, BAL_ZONE_CREATE, strdup(q.key), val, A_REQ,
                    z->reqs.n - 1);
}

static int request_spare(bal_zone_t *z, struct surplus *sp, size_t nsp,
                         bool *asked) {
  int *target = calloc(nsp + 1, sizeof(int));
  int r = target ? choose_targets(z, sp, nsp, target) : -ENOMEM;
  for (unsigned nreq = 0; r == 0 && nreq < z->p.max_requests; nreq++) {
    int tz = -1;
    for (size_t k = 0; k < nsp && tz < 0; k++)
      if (target[k] >= 0 && !asked[k])
        tz = target[k];
    if (tz < 0)
      break;
    r = write_request(z, sp, nsp, target, asked, tz);
  }
  free(target);
  return r > 0 ? 0 : r;
}

static int post(bal_zone_t *z, struct pass *ps, const struct surplus *sp,
                size_t nsp) {
  double spare[BAL_NDIM] = {0}, max[BAL_NDIM] = {0};
  const bal_cluster_t *s = z->sub;
  for (int d = 0; d < BAL_NDIM; d++) {
    bool on = false;
    for (size_t m = 0; s && m < s->nnodes; m++) {
      const struct bal_node *nd = &s->nodes[m];
      if (!bal_dim_on(nd, d))
        continue;
      on = true;
      if (nd->state != BAL_NODE_ONLINE || !isfinite(ps->after[m][d]))
        continue;
      double room = fmax(0, ps->p->threshold * nd->cap[d] - ps->after[m][d]);
      spare[d] += room;
      max[d] = fmax(max[d], room);
    }
    if (!on)
      spare[d] = max[d] = NAN;
  }
  z->pass++;
  pm_buf_t b = {0};
  pm_buf_printf(&b, "pass=%ld t=%" PRId64 " spare=", z->pass, z->now);
  fmt_dims(&b, spare);
  pm_buf_puts(&b, " max=");
  fmt_dims(&b, max);
  pm_buf_puts(&b, " plans=");
  for (size_t i = 0, k = 0; i < bal_zone_nplanned(z); i++)
    pm_buf_printf(&b, "%s%s", k++ ? "," : "", bal_zone_planned(z, i));
  pm_buf_puts(&b, " surplus=");
  size_t more = 0;
  for (size_t k = 0; k < nsp; k++) {
    size_t mark = b.len;
    if (k - more)
      pm_buf_putc(&b, ',');
    fmt_unit(&b, &sp[k].u);
    if (b.len > BAL_ZONE_VALUE_MAX - 16) {
      b.len = mark;
      b.data[mark] = '\0';
      more = nsp - k;
      break;
    }
  }
  if (more)
    pm_buf_printf(&b, " more=%zu", more);
  return add_action(z, BAL_ZONE_SET, strf("post.%s", z->name), bufdup(&b),
                    A_POST, 0);
}

static void pass_free(struct pass *ps) {
  free(ps->nmap);
  free(ps->smap);
  free(ps->moved);
  free(ps->dest);
  free(ps->nzone);
  free(ps->mzone);
  free(ps->after);
}

/* The sub-cluster of the zones planned here (each apart from the others
 * when there are several) and its local plan, into z and ps. */
static int local_plan(bal_zone_t *z, struct pass *ps,
                      const char *const *node_zone) {
  const bal_cluster_t *c = ps->c;
  bool *keep = calloc(c->nnodes + 1, sizeof(bool));
  bool *take = calloc(c->nsvcs + 1, sizeof(bool));
  int r = keep && take ? 0 : -ENOMEM;
  for (size_t n = 0; r == 0 && n < c->nnodes; n++) {
    int i =
        node_zone[n] ? zone_find(z, node_zone[n], strlen(node_zone[n])) : -1;
    keep[n] = i >= 0 && z->zs.v[i].planned;
    ps->nzone[n] = keep[n] ? i : -1;
  }
  for (size_t i = 0; r == 0 && i < c->nsvcs; i++) {
    const struct bal_service *x = &c->svcs[i];
    if (x->node < 0)
      take[i] = x->home >= 0 ? keep[x->home] : z->leader;
  }
  size_t np = bal_zone_nplanned(z);
  if (r == 0)
    r = subset(c, keep, take, ps->nzone, np > 1, &z->sub, ps->nmap, ps->smap);
  free(keep);
  free(take);
  if (r == 0 &&
      (!(ps->after = calloc(z->sub->nnodes + 1, sizeof(*ps->after))) ||
       !(ps->mzone = calloc(z->sub->nnodes + 1, sizeof(int)))))
    r = -ENOMEM;
  for (size_t n = 0; r == 0 && n < c->nnodes; n++)
    if (ps->nmap[n] >= 0)
      ps->mzone[ps->nmap[n]] = ps->nzone[n];
  if (r == 0 && z->sub->nnodes) {
    /* An adopted zone is planned as its own: with its own move budget. */
    bal_params_t pz = *ps->p;
    pz.max_moves = ps->p->max_moves * (unsigned)np;
    r = bal_plan_compute(z->sub, &pz, &z->plan);
  }
  for (size_t m = 0; r == 0 && m < z->sub->nnodes; m++)
    r = bal_plan_node_load(z->plan, (int)m, ps->after[m]);
  for (size_t i = 0; r == 0 && i < c->nsvcs; i++)
    ps->dest[i] = c->svcs[i].node;
  for (size_t k = 0; r == 0 && z->plan && k < bal_plan_nmoves(z->plan); k++) {
    bal_move_t m;
    bal_plan_move(z->plan, k, &m);
    for (size_t j = 0; j < m.nservices; j++) {
      int i = bal_cluster_find_service(c, m.services[j]);
      if (i >= 0) {
        ps->dest[i] = bal_cluster_find_node(c, m.to);
        ps->moved[i] = true;
      }
    }
  }
  return r;
}

int bal_zone_plan(bal_zone_t *z, const bal_cluster_t *c,
                  const char *const *node_zone, const bal_params_t *p) {
  if (!c || !node_zone || !p)
    return -EINVAL;
  step_reset(z, false);
  z->st = (bal_zone_stats_t){0};
  struct pass ps = {.c = c, .p = p};
  surpluses_t sp = {0};
  bool *asked = NULL;
  ps.nmap = calloc(c->nnodes + 1, sizeof(int));
  ps.smap = calloc(c->nsvcs + 1, sizeof(int));
  ps.moved = calloc(c->nsvcs + 1, sizeof(bool));
  ps.dest = calloc(c->nsvcs + 1, sizeof(int));
  ps.nzone = calloc(c->nnodes + 1, sizeof(int));
  int r = ps.nmap && ps.smap && ps.moved && ps.dest && ps.nzone
              ? local_plan(z, &ps, node_zone)
              : -ENOMEM;
  if (r == 0 && bal_zone_nplanned(z) > 0)
    r = take_over(z);
  if (r == 0 && bal_zone_nplanned(z) > 0) {
    keep_reservations(z, &ps);
    r = follow_grants(z, &ps);
    if (r == 0)
      r = grant_requests(z, &ps);
    if (r == 0)
      r = find_surplus(z, &ps, &sp);
    if (r == 0)
      r = place_inside(z, &ps, &sp);
    z->st.surplus = (unsigned)sp.n;
    if (r == 0 && !(asked = calloc(sp.n + 1, sizeof(bool))))
      r = -ENOMEM;
    if (r == 0)
      r = request_spare(z, sp.v, sp.n, asked);
  }
  if (r == 0)
    r = post(z, &ps, sp.v, sp.n);
  surpluses_free(&sp);
  free(asked);
  pass_free(&ps);
  return r;
}

const bal_plan_t *bal_zone_local(const bal_zone_t *z) { return z->plan; }
const bal_cluster_t *bal_zone_cluster(const bal_zone_t *z) { return z->sub; }

size_t bal_zone_ncross(const bal_zone_t *z) { return z->cross.n; }

int bal_zone_cross(const bal_zone_t *z, size_t i, bal_move_t *ret) {
  if (i >= z->cross.n)
    return -ERANGE;
  const struct xmove *x = &z->cross.v[i];
  *ret = (bal_move_t){.services = (const char *const *)x->u.names,
                      .nservices = x->u.n,
                      .from = x->from,
                      .to = x->to,
                      .reason = BAL_WHY_GRANT,
                      .why = x->why,
                      .gain = NAN};
  return 0;
}

void bal_zone_stats(const bal_zone_t *z, bal_zone_stats_t *ret) {
  *ret = z->st;
}
