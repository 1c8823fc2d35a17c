/* config.c: the balancer configuration (libconfuse through pm_conf).
 *
 * Syntax checks are libconfuse's; values are checked here, each error
 * naming the file and line of the value (pm_conf_locate) and its text. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defaults per dimension: collectd's own identifiers (see README). */
static const struct metric_default {
  const char *node, *node_ds[3];
  bool percent;
  const char *svc, *svc_ds[3];
  double svc_scale;
  const char *util;
  double util_scale;
} metric_defaults[BAL_NDIM] = {
    [BAL_CPU] = {.node = "%h/cpu/percent-active.rrd",
                 .node_ds = {"value"},
                 .percent = true,
                 .svc = "%h/processes-%s/ps_cputime.rrd",
                 .svc_ds = {"user", "syst"},
                 .svc_scale = 1e-6, /* microseconds per second -> cores */
                 .util = "cpu",
                 .util_scale = 1},
    [BAL_MEM] = {.node = "%h/memory/memory-used.rrd",
                 .node_ds = {"value"},
                 .svc = "%h/processes-%s/ps_rss.rrd",
                 .svc_ds = {"value"},
                 .svc_scale = 1,
                 .util = "memory",
                 .util_scale = 1048576}, /* Pacemaker habit: MiB */
    [BAL_NET] = {.node = "%h/interface-eth0/if_octets.rrd",
                 .node_ds = {"rx", "tx"},
                 .svc = "",
                 .svc_scale = 1,
                 .util = "",
                 .util_scale = 1},
};

/* The forecast plugin's names: host/forecast-<plugin dir>/<type file>-hH
 * and -hH-upper, with the measured series' data sources (patmon's
 * plugins/forecast.c; Horizon 6 by default there). */
#define DEFAULT_FORECAST "%h/forecast-%P/%T-h6.rrd"
#define DEFAULT_UPPER "%h/forecast-%P/%T-h6-upper.rrd"

static const char *const estimates[] = {[BAL_EST_LATEST] = "latest",
                                        [BAL_EST_AVERAGE] = "average",
                                        [BAL_EST_FORECAST] = "forecast",
                                        [BAL_EST_SELF] = "self",
                                        [BAL_EST_AUTO] = "auto"};
static const char *const sources[] = {
    [BAL_SRC_PACEMAKER] = "pacemaker", [BAL_SRC_STATIC] = "static"};

static cfg_opt_t metric_opts[] = {
    CFG_STR("node", NULL, CFGF_NONE),
    CFG_STR_LIST("node_ds", NULL, CFGF_NONE),
    CFG_BOOL("node_percent", cfg_false, CFGF_NODEFAULT),
    CFG_FLOAT("node_scale", 1.0, CFGF_NONE),
    CFG_STR("service", NULL, CFGF_NONE),
    CFG_STR_LIST("service_ds", NULL, CFGF_NONE),
    CFG_FLOAT("service_scale", 0, CFGF_NODEFAULT),
    CFG_STR("node_forecast", DEFAULT_FORECAST, CFGF_NONE),
    CFG_STR("node_forecast_upper", DEFAULT_UPPER, CFGF_NONE),
    CFG_STR("service_forecast", DEFAULT_FORECAST, CFGF_NONE),
    CFG_STR("service_forecast_upper", DEFAULT_UPPER, CFGF_NONE),
    CFG_STR("utilization", NULL, CFGF_NONE),
    CFG_FLOAT("utilization_scale", 0, CFGF_NODEFAULT),
    CFG_END()};

static cfg_opt_t node_opts[] = {CFG_STR("cpu", NULL, CFGF_NONE),
                                CFG_STR("memory", NULL, CFGF_NONE),
                                CFG_STR("net", NULL, CFGF_NONE),
                                CFG_STR("host", NULL, CFGF_NONE),
                                CFG_STR("uri", NULL, CFGF_NONE),
                                CFG_STR("zone", NULL, CFGF_NONE),
                                CFG_END()};

static cfg_opt_t svc_opts[] = {CFG_STR("node", NULL, CFGF_NONE), CFG_END()};

static cfg_opt_t exec_opts[] = {CFG_STR_LIST("move", NULL, CFGF_NONE),
                                CFG_STR_LIST("place", NULL, CFGF_NONE),
                                CFG_STR_LIST("clear", NULL, CFGF_NONE),
                                CFG_STR("lifetime", "PT1H", CFGF_NONE),
                                CFG_INT("timeout", 60, CFGF_NONE),
                                CFG_BOOL("verify", cfg_true, CFGF_NONE),
                                CFG_END()};

static cfg_opt_t hook_opts[] = {
    CFG_STR_LIST("command", NULL, CFGF_NONE),
    CFG_STR_LIST("on", "{plan, offline, config, zone}", CFGF_NONE), CFG_END()};

static cfg_opt_t top_opts[] = {
    CFG_BOOL("execute", cfg_false, CFGF_NONE),
    CFG_INT("interval", 60, CFGF_NONE),
    CFG_FLOAT("threshold", 0.8, CFGF_NONE),
    CFG_INT("max_moves", 8, CFGF_NONE),
    CFG_INT("cooldown", 1800, CFGF_NONE),
    CFG_BOOL("swaps", cfg_true, CFGF_NONE),
    CFG_BOOL("repack", cfg_true, CFGF_NONE),
    CFG_INT("spare_nodes", 0, CFGF_NONE),
    CFG_FLOAT("move_charge", 1.0, CFGF_NONE),
    CFG_STR("failback", "never", CFGF_NONE),
    CFG_INT("failback_stable", 300, CFGF_NONE),
    CFG_STR("estimate", "auto", CFGF_NONE),
    CFG_BOOL("upper", cfg_true, CFGF_NONE),
    CFG_FLOAT("z", 1.0, CFGF_NONE),
    CFG_INT("horizon", 300, CFGF_NONE),
    CFG_INT("window", 7200, CFGF_NONE),
    CFG_INT("step", 60, CFGF_NONE),
    CFG_INT("stale", 120, CFGF_NONE),
    CFG_STR("data_dir", "/var/lib/collectd/rrd", CFGF_NONE),
    CFG_STR("rrdcached", NULL, CFGF_NODEFAULT),
    CFG_STR("host_format", "%n", CFGF_NONE),
    CFG_STR("source", "pacemaker", CFGF_NONE),
    CFG_STR_LIST("services", "{\"*\"}", CFGF_NONE),
    CFG_STR_LIST("exclude", NULL, CFGF_NONE),
    CFG_STR("state_file", "/var/lib/patmon/balance.state", CFGF_NONE),
    CFG_STR("journal", "/var/lib/patmon/balance.journal", CFGF_NONE),
    CFG_STR("lock_file", "/run/patmon-balance.lock", CFGF_NONE),
    CFG_STR("availability_journal", "/var/lib/patmon/availability.journal",
            CFGF_NONE),
    CFG_STR("own_resource", "", CFGF_NONE),
    CFG_STR("node_name", "", CFGF_NONE),
    CFG_STR("zone", "", CFGF_NONE),
    CFG_STR("event_socket", "", CFGF_NONE),
    CFG_STR("event_socket_group", "haclient", CFGF_NONE),
    CFG_STR("event_spool", "", CFGF_NONE),
    CFG_STR("unixsock", "", CFGF_NONE),
    CFG_STR("publish_host", "", CFGF_NONE),
    CFG_STR("crm_mon", "crm_mon", CFGF_NONE),
    CFG_STR("cibadmin", "cibadmin", CFGF_NONE),
    CFG_STR("crm_simulate", "crm_simulate", CFGF_NONE),
    CFG_STR("crm_resource", "crm_resource", CFGF_NONE),
    CFG_STR("crm_attribute", "crm_attribute", CFGF_NONE),
    CFG_INT("command_timeout", 30, CFGF_NONE),
    CFG_BOOL("publish_utilization", cfg_false, CFGF_NONE),
    CFG_FLOAT("publish_change", 0.2, CFGF_NONE),
    CFG_INT("publish_max_writes", 20, CFGF_NONE),
    CFG_SEC("metric", metric_opts,
            CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_SEC("node", node_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_SEC("service", svc_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_SEC("executor", exec_opts, CFGF_MULTI | CFGF_TITLE),
    CFG_SEC("hook", hook_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END()};

/* ---- helpers ------------------------------------------------------------- */

struct ctx {
  const pm_conf_t *pc;
  pm_error_t *err;
};

/* An error at the line of `needle` in section sec "title" (or the top). */
static int bad(struct ctx *x, const char *sec, const char *title,
               const char *needle, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int bad(struct ctx *x, const char *sec, const char *title,
               const char *needle, const char *text, const char *fmt, ...) {
  const char *file;
  unsigned line;
  pm_conf_locate(x->pc, sec ? sec : "", title, needle, &file, &line);
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  pm_error_set(x->err, file, line, text, "%s", msg);
  return -EBADMSG;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* A NULL-terminated copy of a string list option. */
static char **dup_list(cfg_t *c, const char *name) {
  unsigned n = cfg_size(c, name);
  char **v = calloc(n + 1, sizeof(char *));
  if (!v)
    return NULL;
  for (unsigned i = 0; i < n; i++)
    if (!(v[i] = strdup(cfg_getnstr(c, name, i)))) {
      bal_argv_free(v);
      return NULL;
    }
  return v;
}

/* "8", "1.5", "16G", "512M" (binary suffixes). -EINVAL when malformed. */
static int parse_size(const char *s, double *ret) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || !(v >= 0) || !isfinite(v))
    return -EINVAL;
  static const char suffix[] = "KMGTP";
  const char *p = *end ? strchr(suffix, *end) : NULL;
  if (*end) {
    if (!p || (end[1] && !(end[1] == 'i' && end[2] == '\0') &&
               !(end[1] == 'B' && end[2] == '\0')))
      return -EINVAL;
    v *= pow(1024.0, (double)(p - suffix + 1));
  }
  *ret = v;
  return 0;
}

static int pick(const char *v, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (names[i] && strcmp(v, names[i]) == 0)
      return (int)i;
  return -1;
}

/* Checks a template's % escapes: only those in allowed and %%. */
static int check_template(struct ctx *x, const char *sec, const char *title,
                          const char *what, const char *tpl,
                          const char *allowed) {
  for (const char *p = tpl; *p; p++) {
    if (*p != '%')
      continue;
    p++;
    if (*p == '%')
      continue;
    if (!*p || !strchr(allowed, *p))
      return bad(x, sec, title, tpl, tpl,
                 "%s: unknown escape '%%%c' (known: %%%s and %%%%)", what,
                 *p ? *p : ' ', allowed);
  }
  return 0;
}

/* ---- sections ------------------------------------------------------------ */

static int load_metric(struct ctx *x, cfg_t *top, int d, struct bal_metric *m) {
  const struct metric_default *df = &metric_defaults[d];
  cfg_t *s = cfg_gettsec(top, "metric", bal_dim_name(d));
  const char *t = bal_dim_name(d);
#define STR(opt, def) (s && cfg_getstr(s, opt) ? cfg_getstr(s, opt) : (def))
  m->node_file = strdup(STR("node", df->node));
  m->svc_file = strdup(STR("service", df->svc));
  m->node_forecast = strdup(STR("node_forecast", DEFAULT_FORECAST));
  m->node_upper = strdup(STR("node_forecast_upper", DEFAULT_UPPER));
  m->svc_forecast = strdup(STR("service_forecast", DEFAULT_FORECAST));
  m->svc_upper = strdup(STR("service_forecast_upper", DEFAULT_UPPER));
  m->util_attr = strdup(STR("utilization", df->util));
#undef STR
  if (!m->node_file || !m->svc_file || !m->node_forecast || !m->node_upper ||
      !m->svc_forecast || !m->svc_upper || !m->util_attr)
    return -ENOMEM;
  m->node_percent = s && cfg_size(s, "node_percent")
                        ? cfg_getbool(s, "node_percent")
                        : df->percent;
  m->node_scale = s ? cfg_getfloat(s, "node_scale") : 1.0;
  m->svc_scale = s && cfg_size(s, "service_scale")
                     ? cfg_getfloat(s, "service_scale")
                     : df->svc_scale;
  m->util_scale = s && cfg_size(s, "utilization_scale")
                      ? cfg_getfloat(s, "utilization_scale")
                      : df->util_scale;
  for (int k = 0; k < 2; k++) {
    const char *opt = k ? "service_ds" : "node_ds";
    char **dst = k ? m->svc_ds : m->node_ds;
    const char *const *def = k ? df->svc_ds : df->node_ds;
    unsigned n = s ? cfg_size(s, opt) : 0;
    if (n > 3)
      return bad(x, "metric", t, opt, cfg_getnstr(s, opt, 3),
                 "%s: at most 3 data sources are summed", opt);
    for (unsigned i = 0; i < 3; i++) {
      const char *v = n ? (i < n ? cfg_getnstr(s, opt, i) : NULL) : def[i];
      if (v && !(dst[i] = strdup(v)))
        return -ENOMEM;
    }
  }
  int r;
  if ((r = check_template(x, "metric", t, "node", m->node_file, "h")) < 0 ||
      (r = check_template(x, "metric", t, "service", m->svc_file, "hs")) < 0 ||
      (r = check_template(x, "metric", t, "node_forecast", m->node_forecast,
                          "hsPT")) < 0 ||
      (r = check_template(x, "metric", t, "service_forecast", m->svc_forecast,
                          "hsPT")) < 0 ||
      (r = check_template(x, "metric", t, "node_forecast_upper", m->node_upper,
                          "hsPT")) < 0 ||
      (r = check_template(x, "metric", t, "service_forecast_upper",
                          m->svc_upper, "hsPT")) < 0)
    return r;
  if (!(m->node_scale > 0))
    return bad(x, "metric", t, "node_scale", NULL,
               "node_scale must be above 0");
  if (!(m->svc_scale > 0))
    return bad(x, "metric", t, "service_scale", NULL,
               "service_scale must be above 0");
  if (!(m->util_scale > 0))
    return bad(x, "metric", t, "utilization_scale", NULL,
               "utilization_scale must be above 0");
  if (m->node_file[0] && !m->node_ds[0])
    return bad(x, "metric", t, "node_ds", NULL,
               "node_ds: name at least one data source");
  if (m->svc_file[0] && !m->svc_ds[0])
    return bad(x, "metric", t, "service_ds", NULL,
               "service_ds: name at least one data source");
  return 0;
}

static int load_nodes(struct ctx *x, cfg_t *top, struct bal_conf *c) {
  unsigned n = cfg_size(top, "node");
  c->nodes = calloc(n + 1, sizeof(*c->nodes));
  if (!c->nodes)
    return -ENOMEM;
  for (unsigned i = 0; i < n; i++) {
    cfg_t *s = cfg_getnsec(top, "node", i);
    struct bal_node_conf *nd = &c->nodes[c->nnodes++];
    const char *t = cfg_title(s);
    nd->name = strdup(t);
    nd->host = dup_or_null(cfg_getstr(s, "host"));
    nd->uri = dup_or_null(cfg_getstr(s, "uri"));
    nd->zone = dup_or_null(cfg_getstr(s, "zone"));
    if (!nd->name || (cfg_getstr(s, "zone") && !nd->zone))
      return -ENOMEM;
    if (nd->zone && !bal_conf_zone_ok(nd->zone))
      return bad(x, "node", t, "zone", nd->zone,
                 "node %s: a zone name is 1-32 of [A-Za-z0-9_-]", t);
    for (int d = 0; d < BAL_NDIM; d++) {
      const char *v = cfg_getstr(s, bal_dim_name(d));
      nd->cap[d] = NAN;
      if (v && parse_size(v, &nd->cap[d]) < 0)
        return bad(x, "node", t, v, v,
                   "node %s: %s capacity is not a number (with an optional "
                   "K, M, G, T or P suffix)",
                   t, bal_dim_name(d));
    }
  }
  return 0;
}

static int load_services(struct ctx *x, cfg_t *top, struct bal_conf *c) {
  unsigned n = cfg_size(top, "service");
  c->svcs = calloc(n + 1, sizeof(*c->svcs));
  if (!c->svcs)
    return -ENOMEM;
  for (unsigned i = 0; i < n; i++) {
    cfg_t *s = cfg_getnsec(top, "service", i);
    struct bal_svc_conf *sv = &c->svcs[c->nsvcs++];
    sv->name = strdup(cfg_title(s));
    sv->node = dup_or_null(cfg_getstr(s, "node"));
    if (!sv->name)
      return -ENOMEM;
    if (sv->node && !bal_conf_node(c, sv->node))
      return bad(x, "service", sv->name, sv->node, sv->node,
                 "service %s: node %s is not declared in a node section",
                 sv->name, sv->node);
  }
  return 0;
}

/* Whether s is an ISO 8601 duration as crm_resource --lifetime and pcs take
 * it: P, then whole numbers with Y, M, W, D, optionally T and whole numbers
 * with H, M, S, in that order, at least one. */
static bool iso_duration(const char *s) {
  const char *units = "YMWD"; /* those still allowed, in order */
  bool in_time = false;
  int parts = 0;
  if (*s++ != 'P')
    return false;
  while (*s) {
    if (*s == 'T' && !in_time) {
      in_time = true;
      units = "HMS";
      if (!*++s)
        return false;
      continue;
    }
    if (*s < '0' || *s > '9')
      return false;
    while (*s >= '0' && *s <= '9')
      s++;
    const char *u = *s ? strchr(units, *s) : NULL;
    if (!u)
      return false;
    units = u + 1;
    s++;
    parts++;
  }
  return parts > 0;
}

static int load_executor(struct ctx *x, cfg_t *top, struct bal_conf *c) {
  unsigned n = cfg_size(top, "executor");
  if (n > 1) {
    cfg_t *s = cfg_getnsec(top, "executor", 1);
    return bad(x, "executor", cfg_title(s), NULL, cfg_title(s),
               "only one executor may be configured");
  }
  cfg_t *s = n ? cfg_getnsec(top, "executor", 0) : NULL;
  const char *type = s ? cfg_title(s) : "pacemaker";
  const struct bal_executor *ex = bal_executor_find(type);
  struct bal_exec_conf *e = &c->exec;
  if (!ex) {
    pm_buf_t names = {0};
    for (const struct bal_executor *p = bal_executors; p->name; p++)
      pm_buf_printf(&names, "%s%s", names.len ? ", " : "", p->name);
    int r = bad(x, "executor", type, NULL, type, "unknown executor (known: %s)",
                names.data);
    pm_buf_free(&names);
    return r;
  }
  e->type = strdup(ex->name);
  e->lifetime = strdup(s ? cfg_getstr(s, "lifetime") : "PT1H");
  e->timeout_ms = (int)(s ? cfg_getint(s, "timeout") : 60) * 1000;
  e->verify = s ? cfg_getbool(s, "verify") : true;
  if (!e->type || !e->lifetime)
    return -ENOMEM;
  if (e->timeout_ms <= 0)
    return bad(x, "executor", type, "timeout", NULL,
               "timeout must be at least 1 second");
  /* crm_resource would refuse it at the first move, long after --check. */
  if (!iso_duration(e->lifetime))
    return bad(x, "executor", type, "lifetime", e->lifetime,
               "lifetime \"%s\" is not an ISO 8601 duration (PT1H, PT30M, "
               "P1D, P1DT12H)",
               e->lifetime);
  static const char *const acts[] = {"move", "place", "clear"};
  char ***dst[] = {&e->move, &e->place, &e->clear};
  const char *const *def[] = {ex->move, ex->place, ex->clear};
  for (int k = 0; k < 3; k++) {
    *dst[k] =
        s && cfg_size(s, acts[k]) ? dup_list(s, acts[k]) : bal_argv_dup(def[k]);
    if (!*dst[k])
      return -ENOMEM;
    for (char **w = *dst[k]; *w; w++) {
      int r = check_template(x, "executor", type, acts[k], *w, "rnfuvl");
      if (r < 0)
        return r;
    }
  }
  if (!e->move[0])
    return bad(x, "executor", type, "move", NULL,
               "executor %s needs a move command (move = {\"prog\", "
               "\"%%r\", \"%%n\"})",
               type);
  return 0;
}

static int load_hooks(struct ctx *x, cfg_t *top, struct bal_conf *c) {
  unsigned n = cfg_size(top, "hook");
  c->hooks = calloc(n + 1, sizeof(*c->hooks));
  if (!c->hooks)
    return -ENOMEM;
  for (unsigned i = 0; i < n; i++) {
    cfg_t *s = cfg_getnsec(top, "hook", i);
    struct bal_hook *h = &c->hooks[c->nhooks++];
    h->name = strdup(cfg_title(s));
    h->argv = dup_list(s, "command");
    if (!h->name || !h->argv)
      return -ENOMEM;
    if (!h->argv[0])
      return bad(x, "hook", h->name, NULL, h->name, "hook %s needs a command",
                 h->name);
    for (char **w = h->argv; *w; w++) {
      int r = check_template(x, "hook", h->name, "command", *w, "enmch");
      if (r < 0)
        return r;
    }
    for (unsigned k = 0; k < cfg_size(s, "on"); k++) {
      const char *ev = cfg_getnstr(s, "on", k);
      if (strcmp(ev, "plan") == 0)
        h->on_plan = true;
      else if (strcmp(ev, "offline") == 0)
        h->on_offline = true;
      else if (strcmp(ev, "config") == 0)
        h->on_config = true;
      else if (strcmp(ev, "zone") == 0)
        h->on_zone = true;
      else
        return bad(
            x, "hook", h->name, ev, ev,
            "hook %s: unknown event (known: plan, offline, config, zone)",
            h->name);
    }
  }
  return 0;
}

/* ---- top level ----------------------------------------------------------- */

static int build(struct ctx *x, const char *name, struct bal_conf *c) {
  cfg_t *top = pm_conf_cfg(x->pc);
  int r;
  c->execute = cfg_getbool(top, "execute");
  c->threshold = cfg_getfloat(top, "threshold");
  c->swaps = cfg_getbool(top, "swaps");
  c->repack = cfg_getbool(top, "repack");
  c->upper = cfg_getbool(top, "upper");
  c->z = cfg_getfloat(top, "z");
  if (!(c->threshold > 0 && c->threshold <= 1))
    return bad(x, NULL, NULL, "threshold", NULL,
               "threshold must be above 0 and at most 1 (a fraction of "
               "capacity)");
  if (!(c->z >= 0 && c->z <= 10))
    return bad(x, NULL, NULL, "z", NULL, "z must be between 0 and 10");
  c->move_charge = cfg_getfloat(top, "move_charge");
  if (!(c->move_charge >= 0 && c->move_charge <= 1))
    return bad(x, NULL, NULL, "move_charge", NULL,
               "move_charge must be between 0 and 1 (a fraction of the moved "
               "service's demand)");
  c->publish_utilization = cfg_getbool(top, "publish_utilization");
  c->publish_change = cfg_getfloat(top, "publish_change");
  if (!(c->publish_change >= 0 && c->publish_change <= 10))
    return bad(x, NULL, NULL, "publish_change", NULL,
               "publish_change must be between 0 and 10 (a fraction of the "
               "published value)");
  static const struct {
    const char *name;
    long min, max;
    size_t off;
  } ints[] = {
      {"interval", 1, 86400, offsetof(struct bal_conf, interval)},
      {"max_moves", 0, 100000, offsetof(struct bal_conf, max_moves)},
      {"spare_nodes", 0, 1000, offsetof(struct bal_conf, spare_nodes)},
      {"failback_stable", 0, 7 * 86400,
       offsetof(struct bal_conf, failback_stable)},
      {"cooldown", 0, 7 * 86400, offsetof(struct bal_conf, cooldown)},
      {"horizon", 0, 86400, offsetof(struct bal_conf, horizon)},
      {"window", 10, 30 * 86400, offsetof(struct bal_conf, window)},
      {"step", 1, 3600, offsetof(struct bal_conf, step)},
      {"stale", 1, 86400, offsetof(struct bal_conf, stale)},
      {"publish_max_writes", 1, 100000,
       offsetof(struct bal_conf, publish_max_writes)},
  };
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
    long v = cfg_getint(top, ints[i].name);
    if (v < ints[i].min || v > ints[i].max) {
      char text[32];
      snprintf(text, sizeof(text), "%ld", v);
      return bad(x, NULL, NULL, ints[i].name, text,
                 "%s must be between %ld and %ld", ints[i].name, ints[i].min,
                 ints[i].max);
    }
    *(unsigned *)((char *)c + ints[i].off) = (unsigned)v;
  }
  if (c->window < 2 * c->step) {
    char text[32];
    snprintf(text, sizeof(text), "%u", c->window);
    return bad(x, NULL, NULL, "window", text,
               "window must hold at least two steps (step = %u)", c->step);
  }
  long t = cfg_getint(top, "command_timeout");
  if (t < 1 || t > 3600)
    return bad(x, NULL, NULL, "command_timeout", NULL,
               "command_timeout must be between 1 and 3600 seconds");
  c->cmd_timeout_ms = (int)t * 1000;
  const char *est = cfg_getstr(top, "estimate");
  int k = pick(est, estimates, sizeof(estimates) / sizeof(estimates[0]));
  if (k < 0)
    return bad(x, NULL, NULL, est, est,
               "unknown estimate (known: latest, average, forecast, self, "
               "auto)");
  c->estimate = (enum bal_estimate)k;
  const char *fb = cfg_getstr(top, "failback");
  if (bal_failback_parse(fb, &c->failback) < 0)
    return bad(x, NULL, NULL, "failback", fb,
               "unknown failback (known: never, manual, auto)");
  const char *src = cfg_getstr(top, "source");
  k = pick(src, sources, sizeof(sources) / sizeof(sources[0]));
  if (k < 0)
    return bad(x, NULL, NULL, src, src,
               "unknown source (known: pacemaker, static)");
  c->source = (enum bal_source)k;

  static const struct {
    const char *name;
    size_t off;
  } strs[] = {
      {"data_dir", offsetof(struct bal_conf, data_dir)},
      {"host_format", offsetof(struct bal_conf, host_format)},
      {"state_file", offsetof(struct bal_conf, state_file)},
      {"journal", offsetof(struct bal_conf, journal)},
      {"lock_file", offsetof(struct bal_conf, lock_file)},
      {"availability_journal", offsetof(struct bal_conf, avail_journal)},
      {"own_resource", offsetof(struct bal_conf, own_resource)},
      {"node_name", offsetof(struct bal_conf, node_name)},
      {"zone", offsetof(struct bal_conf, zone)},
      {"event_socket", offsetof(struct bal_conf, event_socket)},
      {"event_socket_group", offsetof(struct bal_conf, event_socket_group)},
      {"event_spool", offsetof(struct bal_conf, event_spool)},
      {"unixsock", offsetof(struct bal_conf, unixsock)},
      {"publish_host", offsetof(struct bal_conf, publish_host)},
      {"crm_mon", offsetof(struct bal_conf, crm_mon)},
      {"cibadmin", offsetof(struct bal_conf, cibadmin)},
      {"crm_simulate", offsetof(struct bal_conf, crm_simulate)},
      {"crm_resource", offsetof(struct bal_conf, crm_resource)},
      {"crm_attribute", offsetof(struct bal_conf, crm_attribute)},
  };
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    if (!(*(char **)((char *)c + strs[i].off) =
              strdup(cfg_getstr(top, strs[i].name))))
      return -ENOMEM;
  /* rrdcached: unset, rrdtool's RRDCACHED_ADDRESS (librrd's rrdc_connect
   * convention); set, even to "", the value. */
  const char *cached = cfg_size(top, "rrdcached") ? cfg_getstr(top, "rrdcached")
                                                  : getenv("RRDCACHED_ADDRESS");
  if (!(c->rrdcached = strdup(cached ? cached : "")))
    return -ENOMEM;
  if ((r = check_template(x, NULL, NULL, "host_format", c->host_format, "n")) <
          0 ||
      (r = check_template(x, NULL, NULL, "own_resource", c->own_resource,
                          "z")) < 0)
    return r;
  if (c->event_socket[0] && c->event_socket[0] != '/')
    return bad(x, NULL, NULL, "event_socket", c->event_socket,
               "event_socket must be an absolute path (or \"\" for none)");
  if (c->event_spool[0] && c->event_spool[0] != '/')
    return bad(x, NULL, NULL, "event_spool", c->event_spool,
               "event_spool must be an absolute path (or \"\" for none)");
  if (c->avail_journal[0] && c->avail_journal[0] != '/')
    return bad(x, NULL, NULL, "availability_journal", c->avail_journal,
               "availability_journal must be an absolute path (or \"\" for "
               "none)");
  if (c->zone[0] && !bal_conf_zone_ok(c->zone))
    return bad(x, NULL, NULL, "zone", c->zone,
               "zone: a zone name is 1-32 of [A-Za-z0-9_-] (or \"\" for "
               "none)");
  if (c->own_resource[0] && c->source != BAL_SRC_PACEMAKER)
    return bad(x, NULL, NULL, "own_resource", c->own_resource,
               "own_resource needs source = \"pacemaker\"");
  if (!(c->services = dup_list(top, "services")) ||
      !(c->exclude = dup_list(top, "exclude")))
    return -ENOMEM;
  for (int d = 0; d < BAL_NDIM; d++)
    if ((r = load_metric(x, top, d, &c->metric[d])) < 0)
      return r;
  for (unsigned i = 0; i < cfg_size(top, "metric"); i++) {
    const char *mt = cfg_title(cfg_getnsec(top, "metric", i));
    bool known = false;
    for (int d = 0; d < BAL_NDIM; d++)
      known |= strcmp(mt, bal_dim_name(d)) == 0;
    if (!known)
      return bad(x, "metric", mt, NULL, mt,
                 "unknown metric (known: cpu, memory, net)");
  }
  if ((r = load_nodes(x, top, c)) < 0 || (r = load_services(x, top, c)) < 0 ||
      (r = load_executor(x, top, c)) < 0 || (r = load_hooks(x, top, c)) < 0)
    return r;
  if (c->source == BAL_SRC_STATIC && c->nnodes == 0)
    return bad(x, NULL, NULL, "source", "static",
               "source = static needs node sections");
  return 0;
}

static int finish_load(pm_conf_t *pc, int r, const char *name,
                       struct bal_conf **ret, pm_error_t *err) {
  if (r < 0)
    return r;
  struct bal_conf *c = calloc(1, sizeof(*c));
  if (!c) {
    pm_conf_free(pc);
    return -ENOMEM;
  }
  struct ctx x = {.pc = pc, .err = err};
  r = build(&x, name, c);
  pm_conf_free(pc);
  if (r == -ENOMEM)
    pm_error_set(err, name, 0, NULL, "out of memory");
  if (r < 0) {
    bal_conf_free(c);
    return r;
  }
  *ret = c;
  return 0;
}

int bal_conf_load(const char *path, struct bal_conf **ret, pm_error_t *err) {
  pm_conf_t *pc = NULL;
  int r = pm_conf_load(path, top_opts, CFGF_NONE, &pc, err);
  return finish_load(pc, r, path, ret, err);
}

int bal_conf_load_buf(const char *buf, size_t len, const char *name,
                      struct bal_conf **ret, pm_error_t *err) {
  pm_conf_t *pc = NULL;
  int r = pm_conf_load_buf(buf, len, name, top_opts, CFGF_NONE, &pc, err);
  return finish_load(pc, r, name, ret, err);
}

void bal_conf_free(struct bal_conf *c) {
  if (!c)
    return;
  char **strs[] = {&c->data_dir,      &c->host_format,
                   &c->state_file,    &c->journal,
                   &c->lock_file,     &c->unixsock,
                   &c->publish_host,  &c->crm_mon,
                   &c->cibadmin,      &c->crm_simulate,
                   &c->crm_resource,  &c->crm_attribute,
                   &c->own_resource,  &c->node_name,
                   &c->event_socket,  &c->event_socket_group,
                   &c->avail_journal, &c->event_spool,
                   &c->zone,          &c->rrdcached};
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    free(*strs[i]);
  bal_argv_free(c->services);
  bal_argv_free(c->exclude);
  for (int d = 0; d < BAL_NDIM; d++) {
    struct bal_metric *m = &c->metric[d];
    free(m->node_file);
    free(m->svc_file);
    free(m->node_forecast);
    free(m->node_upper);
    free(m->svc_forecast);
    free(m->svc_upper);
    free(m->util_attr);
    for (int i = 0; i < 4; i++) {
      free(m->node_ds[i]);
      free(m->svc_ds[i]);
    }
  }
  for (size_t i = 0; i < c->nnodes; i++) {
    free(c->nodes[i].name);
    free(c->nodes[i].host);
    free(c->nodes[i].uri);
    free(c->nodes[i].zone);
  }
  free(c->nodes);
  for (size_t i = 0; i < c->nsvcs; i++) {
    free(c->svcs[i].name);
    free(c->svcs[i].node);
  }
  free(c->svcs);
  free(c->exec.type);
  free(c->exec.lifetime);
  bal_argv_free(c->exec.move);
  bal_argv_free(c->exec.place);
  bal_argv_free(c->exec.clear);
  for (size_t i = 0; i < c->nhooks; i++) {
    free(c->hooks[i].name);
    bal_argv_free(c->hooks[i].argv);
  }
  free(c->hooks);
  free(c);
}

bool bal_conf_movable(const struct bal_conf *c, const char *name) {
  for (char **g = c->exclude; g && *g; g++)
    if (fnmatch(*g, name, 0) == 0)
      return false;
  for (char **g = c->services; g && *g; g++)
    if (fnmatch(*g, name, 0) == 0)
      return true;
  return false;
}

bool bal_conf_zone_ok(const char *name) {
  size_t n = strlen(name);
  return n >= 1 && n <= BAL_CONF_ZONE_MAX &&
         strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789_-") == n;
}

const struct bal_node_conf *bal_conf_node(const struct bal_conf *c,
                                          const char *name) {
  for (size_t i = 0; i < c->nnodes; i++)
    if (strcmp(c->nodes[i].name, name) == 0)
      return &c->nodes[i];
  return NULL;
}
