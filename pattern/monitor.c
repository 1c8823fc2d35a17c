/* monitor.c: one machine's entries, kept current.
 *
 * Each provider's listing is kept apart, so a refresh re-lists only what
 * changed (processes every interval, disks on a udev event) and expands
 * against the others as they were. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct pat_monitor {
  pthread_mutex_t lock; /* guards cur */
  pat_entries_t *cur;
  /* the rest belongs to the refreshing thread */
  char *patterns, *entries_file;
  pat_scan_opts_t scan;
  pat_set_t *set;
  uint64_t set_hash, bad_hash;
  struct stat set_stat;
  pat_inventory_t
      *invs[PAT_NCLASSES]; /* by class; shared by a provider's classes */
  pm_buf_t json;           /* the entries as last written */
};

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211u;
  return h;
}

static bool same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
         a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* mkdir -p of path's directory. */
static int make_parent(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  char *d = dirname(dir);
  for (char *p = d + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(d, 0755) < 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  if (mkdir(d, 0755) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

/* Loads the pattern file when it is new or changed. *ret_reloaded tells a
 * new set was installed; a bad file fills info once per content. */
static int check_patterns(pat_monitor_t *m, pat_refresh_t *info,
                          bool *ret_reloaded, pm_error_t *err) {
  struct stat st;
  *ret_reloaded = false;
  if (m->set && stat(m->patterns, &st) == 0 && same_file(&st, &m->set_stat))
    return 0;
  pm_buf_t b = {0};
  int r = pm_file_read(m->patterns, 4u << 20, &b);
  if (r < 0) {
    pm_buf_free(&b);
    if (!m->set) {
      pm_error_set(err, m->patterns, 0, NULL, "cannot read pattern file: %s",
                   strerror(-r));
      return r;
    }
    return 0; /* being replaced, perhaps: keep the last good set */
  }
  uint64_t h = hash_bytes(b.data ? b.data : "", b.len);
  if (m->set && h == m->set_hash) {
    stat(m->patterns, &m->set_stat); /* touched, not changed */
    pm_buf_free(&b);
    return 0;
  }
  pat_set_t *set = NULL;
  pm_error_t perr = {0};
  r = pat_set_parse(b.data ? b.data : "", b.len, m->patterns, &set, &perr);
  pm_buf_free(&b);
  if (r < 0) {
    if (!m->set) {
      if (err)
        *err = perr;
      return r;
    }
    if (h != m->bad_hash && info) {
      info->reload_error = r;
      info->err = perr;
    }
    m->bad_hash = h;
    return 0;
  }
  pat_set_free(m->set);
  m->set = set;
  m->set_hash = h;
  m->bad_hash = 0;
  stat(m->patterns, &m->set_stat);
  *ret_reloaded = true;
  return 0;
}

/* Re-lists the providers of `classes` (restricted to the set's). */
static int relist(pat_monitor_t *m, unsigned classes) {
  unsigned used = pat_set_classes(m->set);
  unsigned done = 0;
  for (unsigned c = 0; c < PAT_NCLASSES; c++) {
    unsigned group = pat_provider_classes((pat_class_t)c);
    if (!(classes & 1u << c) || (done & group))
      continue;
    done |= group;
    pat_scan_opts_t so = m->scan;
    so.classes = group & used;
    so.want = m->set;
    pat_inventory_t *inv = NULL;
    if (so.classes) {
      int r = pat_inventory_scan(&so, &inv);
      if (r < 0)
        return r;
    }
    /* The old listing is shared by the group's classes: free it once. */
    pat_inventory_t *old = NULL;
    for (unsigned k = 0; k < PAT_NCLASSES; k++)
      if (group & 1u << k) {
        old = m->invs[k] ? m->invs[k] : old;
        m->invs[k] = inv;
      }
    pat_inventory_free(old);
  }
  return 0;
}

int pat_monitor_refresh(pat_monitor_t *m, unsigned classes,
                        pat_refresh_t *info) {
  pat_refresh_t scratch;
  if (!info)
    info = &scratch;
  *info = (pat_refresh_t){0};
  uint64_t t0 = pm_now_ns();
  bool reloaded;
  int r = check_patterns(m, info, &reloaded, NULL);
  if (r < 0)
    return r;
  info->reloaded = reloaded && m->cur;
  if (reloaded)
    classes = PAT_ALL_CLASSES; /* new keys may be wanted */
  if (classes == 0 && m->cur) {
    info->entries = pat_entries_count(m->cur);
    return 0;
  }
  r = relist(m, classes);
  if (r < 0)
    return r;
  pat_entries_t *next = NULL;
  r = pat_expand_invs(m->set, (const pat_inventory_t *const *)m->invs, NULL,
                      &next);
  pm_buf_t json = {0};
  if (r == 0)
    r = pat_entries_format(next, PAT_FORMAT_JSON, NULL, &json);
  if (r == 0 && (!m->json.data || strcmp(json.data, m->json.data) != 0)) {
    if (m->entries_file)
      r = pm_file_replace(m->entries_file, json.data, json.len, 0644);
    if (r >= 0) {
      r = 0;
      pthread_mutex_lock(&m->lock);
      pat_entries_diff(m->cur, next, &info->gone, &info->added);
      pat_entries_t *old = m->cur;
      m->cur = next;
      next = NULL;
      pthread_mutex_unlock(&m->lock);
      pat_entries_free(old);
      pm_buf_free(&m->json);
      m->json = json;
      json = (pm_buf_t){0};
      info->changed = true;
    }
  }
  info->entries = pat_entries_count(m->cur);
  info->scan_ms = (double)(pm_now_ns() - t0) / 1e6;
  pat_entries_free(next);
  pm_buf_free(&json);
  return r;
}

int pat_monitor_new(const pat_monitor_opts_t *o, pat_monitor_t **ret,
                    pm_error_t *err) {
  pat_monitor_t *m = calloc(1, sizeof(*m));
  int r = -ENOMEM;
  if (!m)
    return r;
  pthread_mutex_init(&m->lock, NULL);
  m->scan = o->scan;
  m->patterns = strdup(o->patterns);
  if (o->entries_file && !(m->entries_file = strdup(o->entries_file)))
    goto fail;
  if (!m->patterns)
    goto fail;
  bool reloaded;
  r = check_patterns(m, NULL, &reloaded, err);
  if (r < 0)
    goto fail;
  if (m->entries_file && (r = make_parent(m->entries_file)) < 0) {
    pm_error_set(err, m->entries_file, 0, NULL,
                 "cannot create its directory: %s", strerror(-r));
    goto fail;
  }
  pat_refresh_t info;
  r = pat_monitor_refresh(m, PAT_ALL_CLASSES, &info);
  if (r < 0) {
    pm_error_set(err, m->entries_file ? m->entries_file : m->patterns, 0, NULL,
                 "first expansion failed: %s", strerror(-r));
    goto fail;
  }
  *ret = m;
  return 0;
fail:
  pat_monitor_free(m);
  return r;
}

pat_entries_t *pat_monitor_entries(pat_monitor_t *m) {
  pthread_mutex_lock(&m->lock);
  pat_entries_t *e = pat_entries_ref(m->cur);
  pthread_mutex_unlock(&m->lock);
  return e;
}

unsigned pat_monitor_classes(pat_monitor_t *m) {
  return m->set ? pat_set_classes(m->set) : 0;
}

void pat_monitor_free(pat_monitor_t *m) {
  if (!m)
    return;
  unsigned done = 0;
  for (unsigned c = 0; c < PAT_NCLASSES; c++) {
    unsigned group = pat_provider_classes((pat_class_t)c);
    if (!(done & group))
      pat_inventory_free(m->invs[c]);
    done |= group;
  }
  pat_entries_free(m->cur);
  pat_set_free(m->set);
  pm_buf_free(&m->json);
  free(m->patterns);
  free(m->entries_file);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
