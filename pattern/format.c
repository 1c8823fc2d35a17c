/* format.c: entries as a list, JSON, a collectd snippet or a gmond snippet.
 *
 * The collectd snippet configures collectd's own plugins (disk, interface,
 * df, processes, cgroups) to watch exactly the expanded objects; the gmond
 * snippet lists the metrics patmon's gmond module publishes for them. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <string.h>

#define GMOND_DEFAULT_INTERVAL 10

static const char *const format_names[] = {
    [PAT_FORMAT_LIST] = "list",
    [PAT_FORMAT_JSON] = "json",
    [PAT_FORMAT_COLLECTD] = "collectd",
    [PAT_FORMAT_GMOND] = "gmond",
};

int pat_format_parse(const char *name, pat_format_t *ret) {
  for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
    if (strcmp(format_names[i], name) == 0) {
      *ret = (pat_format_t)i;
      return 0;
    }
  return -EINVAL;
}

/* ---- list: pattern, class, instance, object; tab-separated ---- */

static int fmt_list(const pat_entries_t *e, const char *source, pm_buf_t *out) {
  int r = 0;
  for (size_t i = 0; r == 0 && i < e->n; i++) {
    const pat_entry_t *en = &e->recs[i].pub;
    r = pm_buf_printf(out, "%s\t%s\t%s\t%s\n", en->pattern,
                      pat_class_name(en->cls), en->instance, en->object);
  }
  return r;
}

/* ---- json ---- */

static void json_member(pm_buf_t *b, const char *key, const char *val) {
  pm_buf_puts(b, ", ");
  pat_json_str(b, key);
  pm_buf_puts(b, ": ");
  pat_json_str(b, val);
}

static int fmt_json(const pat_entries_t *e, const char *source, pm_buf_t *out) {
  pm_buf_putc(out, '[');
  for (size_t i = 0; i < e->n; i++) {
    const pat_entry_t *en = &e->recs[i].pub;
    pm_buf_puts(out, i ? ",\n {\"class\": " : "\n {\"class\": ");
    pat_json_str(out, pat_class_name(en->cls));
    json_member(out, "instance", en->instance);
    json_member(out, "pattern", en->pattern);
    json_member(out, "plugin", pat_class_plugin(en->cls));
    if (en->cls == PAT_PROCESS) {
      pm_buf_puts(out, ", \"object\": [");
      for (size_t p = 0; p < en->npids; p++)
        pm_buf_printf(out, "%s%d", p ? ", " : "", en->pids[p]);
      pm_buf_putc(out, ']');
    } else {
      json_member(out, "object", en->object);
    }
    json_member(out, "kernel", en->kernel);
    pm_buf_puts(out, ", \"from\": {");
    for (size_t f = 0; f < en->nfrom; f++) {
      pm_buf_puts(out, f ? ", " : "");
      pat_json_str(out, en->from_keys[f]);
      pm_buf_puts(out, ": ");
      pat_json_str(out, en->from_values[f]);
    }
    pm_buf_puts(out, "}, \"metrics\": [");
    bool first = true;
    for (unsigned g = 0; pat_group_name(en->cls, g); g++)
      if (en->metrics & 1u << g) {
        pm_buf_puts(out, first ? "" : ", ");
        pat_json_str(out, pat_group_name(en->cls, g));
        first = false;
      }
    pm_buf_putc(out, ']');
    if (en->interval)
      pm_buf_printf(out, ", \"interval\": %d", en->interval);
    if (en->cgroup)
      json_member(out, "cgroup", en->cgroup);
    if (en->volume_device || en->volume_dir || en->volume_vg) {
      pm_buf_puts(out, ", \"volume\": {");
      const char *vk[] = {"device", "directory", "vg"};
      const char *vv[] = {en->volume_device, en->volume_dir, en->volume_vg};
      bool vfirst = true;
      for (int v = 0; v < 3; v++)
        if (vv[v]) {
          pm_buf_puts(out, vfirst ? "" : ", ");
          pat_json_str(out, vk[v]);
          pm_buf_puts(out, ": ");
          pat_json_str(out, vv[v]);
          vfirst = false;
        }
      pm_buf_putc(out, '}');
    }
    pm_buf_putc(out, '}');
  }
  return pm_buf_puts(out, e->n ? "\n]\n" : "]\n");
}

/* ---- collectd ---- */

/* A collectd config string: backslashes and quotes escaped. */
static void cfg_str(pm_buf_t *b, const char *s) {
  pm_buf_putc(b, '"');
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      pm_buf_putc(b, '\\');
    pm_buf_putc(b, (unsigned char)*s < 0x20 ? ' ' : *s);
  }
  pm_buf_putc(b, '"');
}

/* An extended regular expression matching exactly s. */
static void ere_literal(pm_buf_t *b, const char *s) {
  for (; *s; s++) {
    if (strchr(".[]{}()\\*+?^$|", *s))
      pm_buf_putc(b, '\\');
    pm_buf_putc(b, *s);
  }
}

typedef void (*section_fn)(const struct pat_entry_rec *r, pm_buf_t *b);

static void sec_disk(const struct pat_entry_rec *r, pm_buf_t *b) {
  pm_buf_puts(b, "  Disk ");
  cfg_str(b, r->pub.kernel);
  pm_buf_printf(b, "  # %s: %s\n", r->pub.pattern, r->pub.instance);
}

static void sec_interface(const struct pat_entry_rec *r, pm_buf_t *b) {
  pm_buf_puts(b, "  Interface ");
  cfg_str(b, r->pub.kernel);
  pm_buf_printf(b, "  # %s: %s\n", r->pub.pattern, r->pub.instance);
}

static void sec_df(const struct pat_entry_rec *r, pm_buf_t *b) {
  const char *mnt =
      r->pub.cls == PAT_RESOURCE ? r->pub.volume_dir : r->pub.object;
  pm_buf_puts(b, "  MountPoint ");
  cfg_str(b, mnt);
  pm_buf_printf(b, "  # %s: %s%s\n", r->pub.pattern, r->pub.instance,
                r->pub.cls == PAT_RESOURCE ? " (resource's data volume)" : "");
}

static void sec_processes(const struct pat_entry_rec *r, pm_buf_t *b) {
  pm_buf_t re = {0};
  pm_buf_puts(&re, "^(");
  for (size_t i = 0; i < r->ncmdlines; i++) {
    pm_buf_puts(&re, i ? "|" : "");
    ere_literal(&re, r->cmdlines[i]);
  }
  pm_buf_puts(&re, ")$");
  pm_buf_puts(b, "  ProcessMatch ");
  cfg_str(b, r->pub.instance);
  pm_buf_putc(b, ' ');
  cfg_str(b, re.data);
  pm_buf_printf(b, "  # %s: pids %s\n", r->pub.pattern, r->pub.object);
  pm_buf_free(&re);
}

static void sec_cgroups(const struct pat_entry_rec *r, pm_buf_t *b) {
  const char *cg = r->pub.cgroup;
  pm_buf_puts(b, "  CGroup ");
  cfg_str(b, cg[0] == '/' ? cg + 1 : cg);
  pm_buf_printf(b, "  # %s: %s\n", r->pub.pattern, r->pub.instance);
}

/* Whether an entry of the df block asks for metric group `group`: a
 * resource's data volume gives space and inodes. */
static bool df_wants(const struct pat_entry_rec *r, const char *group) {
  if (r->pub.cls == PAT_RESOURCE)
    return strcmp(group, "percent") != 0;
  for (unsigned g = 0; pat_group_name(r->pub.cls, g); g++)
    if (strcmp(pat_group_name(r->pub.cls, g), group) == 0)
      return r->pub.metrics & 1u << g;
  return false;
}

/* collectd's df sends inodes and percentages only when told: as the
 * pattern plugin does when an entry asks for them. */
static bool in_block(size_t k, const struct pat_entry_rec *r);

static void tail_df(const pat_entries_t *e, size_t k, pm_buf_t *b) {
  bool inodes = false, percent = false;
  for (size_t i = 0; i < e->n; i++)
    if (in_block(k, &e->recs[i])) {
      inodes |= df_wants(&e->recs[i], "inodes");
      percent |= df_wants(&e->recs[i], "percent");
    }
  pm_buf_puts(b, "  IgnoreSelected false\n");
  if (inodes)
    pm_buf_puts(b, "  ReportInodes true\n");
  if (percent)
    pm_buf_puts(b, "  ValuesPercentage true\n");
}

static void tail_ignore(const pat_entries_t *e, size_t k, pm_buf_t *b) {
  (void)e;
  (void)k;
  pm_buf_puts(b, "  IgnoreSelected false\n");
}

static void tail_none(const pat_entries_t *e, size_t k, pm_buf_t *b) {
  (void)e;
  (void)k;
  (void)b;
}

static const char *key_kernel(const struct pat_entry_rec *r) {
  return r->pub.kernel;
}
static const char *key_mount(const struct pat_entry_rec *r) {
  return r->pub.cls == PAT_RESOURCE ? r->pub.volume_dir : r->pub.object;
}
static const char *key_instance(const struct pat_entry_rec *r) {
  return r->pub.instance;
}
static const char *key_cgroup(const struct pat_entry_rec *r) {
  return r->pub.cgroup;
}

/* One collectd plugin block per row; an entry is in the block its class
 * row names as `stock`. `key` is what a line selects (NULL: the entry has
 * nothing this block could select, e.g. a unit without a cgroup): a
 * second entry selecting the same thing (a mount that is also a resource's
 * data volume) adds no line. */
static const struct {
  const char *plugin;
  const char *(*key)(const struct pat_entry_rec *r);
  section_fn line;
  /* after the lines; k: the block's row */
  void (*tail)(const pat_entries_t *e, size_t k, pm_buf_t *b);
} collectd_blocks[] = {
    {"disk", key_kernel, sec_disk, tail_ignore},
    {"interface", key_kernel, sec_interface, tail_ignore},
    {"df", key_mount, sec_df, tail_df},
    {"processes", key_instance, sec_processes, tail_none},
    {"cgroups", key_cgroup, sec_cgroups, tail_ignore},
};

/* Whether entry r belongs in block k. */
static bool in_block(size_t k, const struct pat_entry_rec *r) {
  const struct pat_class_desc *d = pat_class_desc(r->pub.cls);
  return d && d->stock && strcmp(d->stock, collectd_blocks[k].plugin) == 0 &&
         collectd_blocks[k].key(r);
}

/* Whether an entry before i in block k selects the same thing. */
static bool selected_before(const pat_entries_t *e, size_t k, size_t i) {
  const char *key = collectd_blocks[k].key(&e->recs[i]);
  for (size_t j = 0; j < i; j++)
    if (in_block(k, &e->recs[j]) &&
        strcmp(collectd_blocks[k].key(&e->recs[j]), key) == 0)
      return true;
  return false;
}

static bool mixed_intervals(const pat_entries_t *e, size_t k) {
  int first = -1;
  for (size_t i = 0; i < e->n; i++)
    if (in_block(k, &e->recs[i])) {
      if (first >= 0 && e->recs[i].pub.interval != first)
        return true;
      first = e->recs[i].pub.interval;
    }
  return false;
}

static int fmt_collectd(const pat_entries_t *e, const char *source,
                        pm_buf_t *out) {
  pm_buf_printf(out,
                "# Generated by patmon-expand%s%s: %zu entr%s. Do not edit: "
                "regenerate.\n",
                source ? " from " : "", source ? source : "", e->n,
                e->n == 1 ? "y" : "ies");
  for (size_t k = 0; k < sizeof(collectd_blocks) / sizeof(collectd_blocks[0]);
       k++) {
    size_t n = 0;
    int interval = -1;
    for (size_t i = 0; i < e->n; i++)
      if (in_block(k, &e->recs[i])) {
        int iv = e->recs[i].pub.interval;
        interval = n == 0 || iv == interval ? iv : 0;
        n++;
      }
    if (n == 0)
      continue;
    if (interval > 0)
      pm_buf_printf(out, "\n<LoadPlugin %s>\n  Interval %d\n</LoadPlugin>\n",
                    collectd_blocks[k].plugin, interval);
    else if (interval == 0 && n > 1 && mixed_intervals(e, k))
      pm_buf_printf(out,
                    "\n# Entries ask for different intervals; collectd has one "
                    "per plugin:\n# %s uses the global Interval.\n"
                    "LoadPlugin %s\n",
                    collectd_blocks[k].plugin, collectd_blocks[k].plugin);
    else
      pm_buf_printf(out, "\nLoadPlugin %s\n", collectd_blocks[k].plugin);
    pm_buf_printf(out, "<Plugin %s>\n", collectd_blocks[k].plugin);
    for (size_t i = 0; i < e->n; i++)
      if (in_block(k, &e->recs[i]) && !selected_before(e, k, i))
        collectd_blocks[k].line(&e->recs[i], out);
    collectd_blocks[k].tail(e, k, out);
    pm_buf_puts(out, "</Plugin>\n");
  }
  int r = 0;
  for (size_t i = 0; r == 0 && i < e->n; i++) {
    const pat_entry_t *en = &e->recs[i].pub;
    if (en->cls == PAT_RESOURCE)
      r = pm_buf_printf(out,
                        "# resource %s (%s): collectd has no per-resource "
                        "plugin; the patmon \"pattern\" plugin reads it%s\n",
                        en->object, en->pattern,
                        en->volume_dir ? " (its data volume is in df above)"
                                       : "");
    else if (en->cls == PAT_UNIT && !en->cgroup)
      r = pm_buf_printf(out,
                        "# unit %s (%s): not running, no cgroup to watch\n",
                        en->object, en->pattern);
  }
  return r;
}

/* ---- gmond: loading patmon's gmond module, and what it publishes ---- */

static const pat_gmond_self_t self_metrics[] = {
    {"patmon_entries", "entries", "both", false,
     "Entries the pattern file expands to on this node"},
    {"patmon_metrics", "metrics", "both", false,
     "Metrics patmon published in its last read"},
    {"patmon_expansions", "expansions", "positive", false,
     "Expansions of the pattern file since gmond started"},
    {"patmon_events", "events", "positive", false,
     "Hotplug, mount and HA events since gmond started"},
    {"patmon_dropped_events", "messages", "positive", false,
     "Malformed event socket messages since gmond started"},
    {"patmon_expansion_ms", "ms", "both", true,
     "Duration of the last expansion"},
};

const pat_gmond_self_t *pat_gmond_self_metrics(size_t *ret_n) {
  *ret_n = sizeof(self_metrics) / sizeof(self_metrics[0]);
  return self_metrics;
}

struct gnames {
  pm_buf_t *out;
  pm_map_t held; /* metric name -> the entry that publishes it */
  const pat_entry_t *en;
};

/* A name another entry publishes already is marked: the module sends the
 * first entry's. */
static int put_gname(const char *name, void *ud) {
  struct gnames *gn = ud;
  const pat_entry_t *holder = pm_map_get(&gn->held, name);
  if (!holder && pm_map_set(&gn->held, name, (void *)gn->en) < 0)
    return -ENOMEM;
  if (holder && (holder->cls != gn->en->cls ||
                 strcmp(holder->instance, gn->en->instance) != 0))
    return pm_buf_printf(gn->out, "#   %s  (not published: %s %s's already)\n",
                         name, pat_class_name(holder->cls),
                         holder->instance) < 0
               ? -1
               : 0;
  return pm_buf_printf(gn->out, "#   %s\n", name) < 0 ? -1 : 0;
}

/* gmond fixes its metric list at start, so the module pushes the entries'
 * metrics itself (they follow hotplug and migrations): they are listed in a
 * comment, and only the module's own metrics go in a collection_group. */
static int fmt_gmond(const pat_entries_t *e, const char *source,
                     pm_buf_t *out) {
  pm_buf_printf(out,
                "/* Generated by patmon-expand%s%s: %zu entr%s. Do not edit: "
                "regenerate. */\n"
                "modules {\n  module {\n    name = \"patmon_module\"\n"
                "    # relative to globals' module_dir; else an absolute path\n"
                "    path = \"modpatmon.so\"\n",
                source ? " from " : "", source ? source : "", e->n,
                e->n == 1 ? "y" : "ies");
  if (source) {
    pm_buf_puts(out, "    param patterns { value = ");
    cfg_str(out, source);
    pm_buf_puts(out, " }\n");
  }
  pm_buf_printf(
      out,
      "  }\n}\n# The module's own metrics, sent when they change, else every\n"
      "# minute.\n"
      "collection_group {\n  collect_every = %d\n"
      "  time_threshold = %d\n",
      GMOND_DEFAULT_INTERVAL, GMOND_DEFAULT_INTERVAL * 6);
  size_t nself;
  const pat_gmond_self_t *self = pat_gmond_self_metrics(&nself);
  for (size_t i = 0; i < nself; i++)
    pm_buf_printf(out, "  metric { name = \"%s\"  value_threshold = 1 }\n",
                  self[i].name);
  pm_buf_puts(out,
              "}\n# Published by the module for the entries as they are now "
              "(not declared\n# above: it follows hotplug and migrations), "
              "each with its interval,\n# and forecasts "
              "<name>_fc_h<H>[_lower|_upper] of those its forecast\n# param "
              "names.\n");
  struct gnames gn = {.out = out};
  int r = 0;
  for (size_t i = 0; r == 0 && i < e->n; i++) {
    const pat_entry_t *en = &e->recs[i].pub;
    gn.en = en;
    pm_buf_printf(out, "# %s %s (pattern \"%s\"", pat_class_name(en->cls),
                  en->instance, en->pattern);
    if (en->interval > 0)
      pm_buf_printf(out, ", every %d s", en->interval);
    pm_buf_puts(out, ")\n");
    r = pat_gmond_names(en, put_gname, &gn);
  }
  pm_map_free(&gn.held, NULL);
  return r < 0 ? -ENOMEM : 0;
}

static int (*const formatters[])(const pat_entries_t *, const char *,
                                 pm_buf_t *) = {
    [PAT_FORMAT_LIST] = fmt_list,
    [PAT_FORMAT_JSON] = fmt_json,
    [PAT_FORMAT_COLLECTD] = fmt_collectd,
    [PAT_FORMAT_GMOND] = fmt_gmond,
};

int pat_entries_format(const pat_entries_t *e, pat_format_t fmt,
                       const char *source, pm_buf_t *out) {
  if ((unsigned)fmt >= sizeof(formatters) / sizeof(formatters[0]))
    return -EINVAL;
  int r = formatters[fmt](e, source, out);
  return r < 0 ? r : out->err;
}
