/* parse.c: pattern file -> compiled set (see patmon-patterns(5)). */
#include "config.h"

#include "internal.h"
#include "pm_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cfg_opt_t pattern_opts[] = {CFG_STR("class", NULL, CFGF_NODEFAULT),
                                   CFG_STR_LIST("match", NULL, CFGF_NONE),
                                   CFG_STR_LIST("exclude", NULL, CFGF_NONE),
                                   CFG_STR("name", NULL, CFGF_NODEFAULT),
                                   CFG_STR_LIST("metrics", NULL, CFGF_NONE),
                                   CFG_INT("interval", 0, CFGF_NODEFAULT),
                                   CFG_END()};

static cfg_opt_t top_opts[] = {
    CFG_SEC("pattern", pattern_opts,
            CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_STR("node", NULL, CFGF_NODEFAULT), CFG_END()};

/* File names are kept in the set so positions stay valid after the
 * configuration tree is gone. */
static const char *keep_file(pat_set_t *set, const char *file) {
  for (size_t i = 0; i < set->files.n; i++)
    if (strcmp(set->files.v[i], file) == 0)
      return set->files.v[i];
  char *copy = strdup(file);
  char **f = copy ? pm_vec_push(&set->files) : NULL;
  if (!f) {
    free(copy);
    return NULL;
  }
  return *f = copy;
}

static int want_key(pat_set_t *set, pat_class_t cls, const char *key) {
  if (pat_set_wants(set, cls, key))
    return 0;
  char *copy = strdup(key);
  char **w = copy ? pm_vec_push(&set->want[cls]) : NULL;
  if (!w) {
    free(copy);
    return -ENOMEM;
  }
  *w = copy;
  return 0;
}

bool pat_set_wants(const pat_set_t *set, pat_class_t cls, const char *key) {
  if (!set)
    return true;
  for (size_t i = 0; i < set->want[cls].n; i++)
    if (strcmp(set->want[cls].v[i], key) == 0)
      return true;
  return false;
}

/* Fills err for a value of pattern `title`, located in the source. */
static int value_error(const pm_conf_t *conf, const char *title,
                       const char *value, pm_error_t *err) {
  const char *file;
  unsigned line;
  pm_conf_locate(conf, "pattern", title, value, &file, &line);
  char msg[sizeof(err->msg)];
  snprintf(msg, sizeof(msg), "pattern \"%.100s\": %.380s", title, err->msg);
  pm_error_set(err, file, line, value, "%s", msg);
  return -EBADMSG;
}

static int compile_conds(pat_set_t *set, const pm_conf_t *conf, cfg_t *sec,
                         struct pat_pattern *p, const char *opt,
                         struct pat_cond **ret, size_t *ret_n,
                         pm_error_t *err) {
  unsigned n = cfg_size(sec, opt);
  if (n == 0)
    return 0;
  *ret = calloc(n, sizeof(**ret));
  if (!*ret)
    return -ENOMEM;
  for (unsigned i = 0; i < n; i++) {
    const char *text = cfg_getnstr(sec, opt, i);
    struct pat_cond *c = &(*ret)[i];
    int r = pat_cond_parse(c, text, p->cls, err);
    (*ret_n)++;
    if (r == -EBADMSG)
      return value_error(conf, p->name, text, err);
    if (r < 0)
      return r;
    const char *file;
    pm_conf_locate(conf, "pattern", p->name, text, &file, &c->line);
    c->file = keep_file(set, file);
    if (!c->file || want_key(set, p->cls, c->key) < 0)
      return -ENOMEM;
    if (c->kind == PAT_COND_REGEX && strcmp(opt, "match") == 0) {
      c->capture_base = p->ncaptures;
      p->ncaptures += c->ncaptures;
    }
  }
  return 0;
}

static int compile_pattern(pat_set_t *set, const pm_conf_t *conf, cfg_t *sec,
                           struct pat_pattern *p, pm_error_t *err) {
  const char *title = cfg_title(sec);
  const char *file;
  unsigned line;
  int r;

  pm_conf_section_pos(conf, "pattern", title, &file, &line);
  p->name = strdup(title);
  p->file = keep_file(set, file);
  p->line = line;
  if (!p->name || !p->file)
    return -ENOMEM;
  for (const char *c = title; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) {
      pm_error_set(err, file, line, title, "pattern names must be printable");
      return -EBADMSG;
    }
  if (!title[0]) {
    pm_error_set(err, file, line, NULL, "a pattern needs a name");
    return -EBADMSG;
  }
  const char *cls = cfg_getstr(sec, "class");
  if (!cls) {
    pm_error_set(err, file, line, title,
                 "pattern \"%s\" has no class (disk, partition, nic, mount, "
                 "process, unit or resource)",
                 title);
    return -EBADMSG;
  }
  if (pat_class_lookup(cls, &p->cls) < 0) {
    snprintf(err->msg, sizeof(err->msg),
             "unknown class %s (disk, partition, nic, mount, process, unit or "
             "resource)",
             cls);
    return value_error(conf, title, cls, err);
  }
  set->classes |= 1u << p->cls;
  r = compile_conds(set, conf, sec, p, "match", &p->match, &p->nmatch, err);
  if (r == 0)
    r = compile_conds(set, conf, sec, p, "exclude", &p->exclude, &p->nexclude,
                      err);
  if (r < 0)
    return r;
  if (p->ncaptures > set->max_captures)
    set->max_captures = p->ncaptures;

  const char *name = cfg_getstr(sec, "name");
  if (name) {
    r = pat_tmpl_parse(&p->tmpl, name, p->cls, err);
    if (r == -EBADMSG)
      return value_error(conf, title, name, err);
    if (r < 0)
      return r;
    p->has_tmpl = true;
    if (!(p->tmpl_text = strdup(name)))
      return -ENOMEM;
    if (p->tmpl.max_capture > p->ncaptures) {
      snprintf(err->msg, sizeof(err->msg),
               "name uses %%%u but the match conditions capture %u group%s",
               p->tmpl.max_capture, p->ncaptures, p->ncaptures == 1 ? "" : "s");
      return value_error(conf, title, name, err);
    }
    for (size_t i = 0; i < p->tmpl.segs.n; i++)
      if (p->tmpl.segs.v[i].kind == PAT_SEG_KEY &&
          want_key(set, p->cls, p->tmpl.segs.v[i].text) < 0)
        return -ENOMEM;
  }

  unsigned ng = cfg_size(sec, "metrics");
  for (unsigned i = 0; i < ng; i++) {
    const char *g = cfg_getnstr(sec, "metrics", i);
    unsigned k;
    for (k = 0; pat_group_name(p->cls, k); k++)
      if (strcmp(pat_group_name(p->cls, k), g) == 0)
        break;
    if (!pat_group_name(p->cls, k)) {
      char groups[200] = "";
      size_t n = 0;
      for (unsigned j = 0; pat_group_name(p->cls, j) && n < sizeof(groups); j++)
        n += (size_t)snprintf(groups + n, sizeof(groups) - n, "%s%s",
                              j ? " " : "", pat_group_name(p->cls, j));
      snprintf(err->msg, sizeof(err->msg),
               "unknown metric group %s for class %s (%s)", g,
               pat_class_name(p->cls), groups);
      return value_error(conf, title, g, err);
    }
    p->metrics |= 1u << k;
  }
  if (ng == 0)
    for (unsigned k = 0; pat_group_name(p->cls, k); k++)
      p->metrics |= 1u << k;

  if (cfg_size(sec, "interval")) {
    long iv = cfg_getint(sec, "interval");
    if (iv < 1 || iv > 86400) {
      char text[32];
      snprintf(text, sizeof(text), "%ld", iv);
      snprintf(err->msg, sizeof(err->msg),
               "interval must be 1 to 86400 seconds");
      return value_error(conf, title, "interval", err);
    }
    p->interval = (int)iv;
  }
  return 0;
}

static int compile(pat_set_t *set, const pm_conf_t *conf, pm_error_t *err) {
  cfg_t *cfg = pm_conf_cfg(conf);
  unsigned n = cfg_size(cfg, "pattern");
  const char *node = cfg_getstr(cfg, "node");
  if (node && !(set->node = strdup(node)))
    return -ENOMEM;
  set->pats = calloc(n ? n : 1, sizeof(*set->pats));
  if (!set->pats)
    return -ENOMEM;
  for (unsigned i = 0; i < n; i++) {
    int r = compile_pattern(set, conf, cfg_getnsec(cfg, "pattern", i),
                            &set->pats[i], err);
    set->npats++;
    if (r < 0)
      return r;
  }
  return 0;
}

int pat_set_parse(const char *text, size_t len, const char *name,
                  pat_set_t **ret, pm_error_t *err) {
  pm_error_t scratch;
  pm_conf_t *conf = NULL;
  if (!err)
    err = &scratch;
  *err = (pm_error_t){0};
  int r = pm_conf_load_buf(text, len, name, top_opts, CFGF_NONE, &conf, err);
  if (r < 0)
    return r;
  pat_set_t *set = calloc(1, sizeof(*set));
  if (!set) {
    pm_conf_free(conf);
    return -ENOMEM;
  }
  r = compile(set, conf, err);
  pm_conf_free(conf);
  if (r < 0) {
    if (r == -ENOMEM)
      pm_error_set(err, name, 0, NULL, "out of memory");
    pat_set_free(set);
    return r;
  }
  *ret = set;
  return 0;
}

int pat_set_load(const char *path, pat_set_t **ret, pm_error_t *err) {
  pm_buf_t b = {0};
  int r = pm_file_read(path, 4u << 20, &b);
  if (r < 0) {
    pm_error_set(err, path, 0, NULL, "cannot read pattern file: %s",
                 r == -EFBIG ? "larger than 4 MiB" : pm_strerror(r));
    pm_buf_free(&b);
    return r;
  }
  r = pat_set_parse(b.data ? b.data : "", b.len, path, ret, err);
  pm_buf_free(&b);
  return r;
}

void pat_set_free(pat_set_t *set) {
  if (!set)
    return;
  for (size_t i = 0; i < set->npats; i++) {
    struct pat_pattern *p = &set->pats[i];
    for (size_t j = 0; j < p->nmatch; j++)
      pat_cond_clear(&p->match[j]);
    for (size_t j = 0; j < p->nexclude; j++)
      pat_cond_clear(&p->exclude[j]);
    free(p->match);
    free(p->exclude);
    pat_tmpl_clear(&p->tmpl);
    free(p->tmpl_text);
    free(p->name);
  }
  free(set->pats);
  for (size_t i = 0; i < set->files.n; i++)
    free(set->files.v[i]);
  pm_vec_free(&set->files);
  for (unsigned c = 0; c < PAT_NCLASSES; c++) {
    for (size_t i = 0; i < set->want[c].n; i++)
      free(set->want[c].v[i]);
    pm_vec_free(&set->want[c]);
  }
  free(set->node);
  free(set);
}

size_t pat_set_count(const pat_set_t *set) { return set->npats; }
unsigned pat_set_classes(const pat_set_t *set) { return set->classes; }
const char *pat_set_node(const pat_set_t *set) { return set->node; }

static long gcd(long a, long b) {
  while (b) {
    long t = a % b;
    a = b;
    b = t;
  }
  return a;
}

long pat_set_interval_gcd(const pat_set_t *set, long base_ms) {
  long g = base_ms;
  for (size_t i = 0; i < set->npats; i++)
    if (set->pats[i].interval)
      g = gcd(g, set->pats[i].interval * 1000L);
  return g;
}
