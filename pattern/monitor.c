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
  uint64_t match_hash; /* the condition last reported as gave up, or 0 */
  struct stat set_stat;
  pat_inventory_t
      *invs[PAT_NCLASSES];    /* by class; shared by a provider's classes */
  pm_buf_t json;              /* the current entries as JSON */
  bool unwritten;             /* json is not in the entries file yet */
  int write_error;            /* the last write's, reported once */
  struct pat_pcmk_cache pcmk; /* resources: last output, HA events */
};

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

/* Reads the pattern file when it may have changed. *ret_set is the new set
 * when it changed and compiles (the caller installs it), else NULL. The
 * file is stat()ed before it is read: an edit saved while it is read or
 * parsed shows as a change next time. A bad file fills info once per
 * content, or err when there is no set yet (then it is an error). */
static int check_patterns(pat_monitor_t *m, pat_refresh_t *info,
                          pat_set_t **ret_set, uint64_t *ret_hash,
                          struct stat *ret_st, pm_error_t *err) {
  struct stat st;
  *ret_set = NULL;
  bool have = stat(m->patterns, &st) == 0;
  if (m->set && have && same_file(&st, &m->set_stat))
    return 0;
  pm_buf_t b = {0};
  int r = pm_file_read(m->patterns, 4u << 20, &b);
  if (r < 0) {
    pm_buf_free(&b);
    pm_error_t rerr = {0};
    pm_error_set(&rerr, m->patterns, 0, NULL, "cannot read pattern file: %s",
                 pm_strerror(r));
    if (!m->set) {
      if (err)
        *err = rerr;
      return r;
    }
    /* Gone or unreadable: the last good set stays; said once per errno
     * (as a bad content is). */
    uint64_t h = pm_hash("\0unreadable", 11) ^ (uint64_t)-r;
    if (h != m->bad_hash && info) {
      info->reload_error = r;
      info->err = rerr;
    }
    m->bad_hash = h;
    return 0;
  }
  uint64_t h = pm_hash(b.data ? b.data : "", b.len);
  if (m->set && h == m->set_hash) {
    if (have)
      m->set_stat = st; /* touched, not changed */
    m->bad_hash = 0;    /* back to good: the same bad edit is news again */
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
  *ret_set = set;
  *ret_hash = h;
  *ret_st = have ? st : (struct stat){0};
  return 0;
}

/* Frees a by-class inventory array: a provider's listing is shared by its
 * classes, so each is freed once. */
static void free_invs(pat_inventory_t *invs[PAT_NCLASSES]) {
  unsigned done = 0;
  for (unsigned c = 0; c < PAT_NCLASSES; c++) {
    unsigned group = pat_provider_classes((pat_class_t)c);
    if (!(done & group))
      pat_inventory_free(invs[c]);
    done |= group;
    invs[c] = NULL;
  }
}

/* Re-lists into invs the providers of `classes`, for the classes set uses.
 * Each provider's listing is replaced whole or not at all. */
static int relist(const pat_monitor_t *m, const pat_set_t *set,
                  unsigned classes, pat_inventory_t *invs[PAT_NCLASSES]) {
  unsigned used = pat_set_classes(set);
  unsigned done = 0;
  for (unsigned c = 0; c < PAT_NCLASSES; c++) {
    unsigned group = pat_provider_classes((pat_class_t)c);
    if (!(classes & 1u << c) || (done & group))
      continue;
    done |= group;
    pat_scan_opts_t so = m->scan;
    so.classes = group & used;
    so.want = set;
    pat_inventory_t *inv = NULL;
    if (so.classes) {
      int r = pat_inventory_scan(&so, &inv);
      if (r < 0)
        return r;
    }
    pat_inventory_t *old = NULL;
    for (unsigned k = 0; k < PAT_NCLASSES; k++)
      if (group & 1u << k) {
        old = invs[k] ? invs[k] : old;
        invs[k] = inv;
      }
    pat_inventory_free(old);
  }
  return 0;
}

/* Installs next as the current entries when they differ from the current
 * ones. The entries file follows (write_entries). */
static int publish(pat_monitor_t *m, pat_entries_t *next, pat_refresh_t *info) {
  pm_buf_t json = {0};
  int r = pat_entries_format(next, PAT_FORMAT_JSON, NULL, &json);
  if (r < 0) {
    pm_buf_free(&json);
    return r;
  }
  if (!m->json.data || strcmp(json.data, m->json.data) != 0) {
    pthread_mutex_lock(&m->lock);
    pat_entries_diff(m->cur, next, &info->gone, &info->added);
    pat_entries_t *old = m->cur;
    m->cur = pat_entries_ref(next);
    pthread_mutex_unlock(&m->lock);
    pat_entries_free(old);
    pm_buf_free(&m->json);
    m->json = json;
    json = (pm_buf_t){0};
    m->unwritten = m->entries_file != NULL;
    info->changed = true;
  }
  pm_buf_free(&json);
  return 0;
}

/* Conditions PCRE2 gave up on: said once per condition while they keep
 * giving up (every process scan would find them again). */
static void note_match_errors(pat_monitor_t *m, const pat_entries_t *next,
                              pat_refresh_t *info) {
  pm_error_t e;
  unsigned n = pat_entries_errors(next, &e);
  if (n == 0) {
    m->match_hash = 0;
    return;
  }
  uint64_t h = pm_hash_str(e.file) ^ pm_hash_str(e.text) * 31 ^ e.line;
  if (h != m->match_hash) {
    info->match_errors = n;
    info->match_err = e;
  }
  m->match_hash = h;
}

/* Writes the entries file when it lags the entries. A failed write does not
 * hold the entries back (a full disk must not stop monitoring): it is
 * reported once per errno, and retried at every refresh until it works. */
static void write_entries(pat_monitor_t *m, pat_refresh_t *info) {
  if (!m->unwritten)
    return;
  int w = pm_file_replace(m->entries_file, m->json.data, m->json.len, 0644);
  if (w < 0 && w != m->write_error)
    info->write_error = w;
  if (w >= 0 && m->write_error < 0)
    info->written_again = true;
  m->write_error = w < 0 ? w : 0;
  m->unwritten = w < 0;
}

int pat_monitor_refresh(pat_monitor_t *m, unsigned classes,
                        pat_refresh_t *info) {
  pat_refresh_t scratch;
  if (!info)
    info = &scratch;
  *info = (pat_refresh_t){0};
  uint64_t t0 = pm_now_ns(), hash = 0;
  struct stat st;
  pat_set_t *nset = NULL;
  pat_entries_t *next = NULL;
  /* Without a set yet, a bad file is an error, reported in info->err. */
  int r = check_patterns(m, info, &nset, &hash, &st, &info->err);
  if (r < 0)
    return r;
  if (nset) {
    /* A new set: everything is listed again for it (it may read other
     * keys), and it is installed only once that and its expansion work. */
    pat_inventory_t *invs[PAT_NCLASSES] = {0};
    m->pcmk.cached_only = false;
    r = relist(m, nset, PAT_ALL_CLASSES, invs);
    if (r == 0)
      r = pat_expand_invs(nset, (const pat_inventory_t *const *)invs, NULL,
                          &next);
    if (r == 0)
      note_match_errors(m, next, info);
    if (r == 0)
      r = publish(m, next, info);
    if (r < 0) {
      free_invs(invs);
      pat_set_free(nset);
      goto out;
    }
    free_invs(m->invs);
    memcpy(m->invs, invs, sizeof(invs));
    pat_set_free(m->set);
    info->reloaded = m->set != NULL;
    m->set = nset;
    m->set_hash = hash;
    m->set_stat = st;
    m->bad_hash = 0;
  } else if (classes) {
    /* HA events first from crm_mon's last word, with no command run, so
     * the entries file follows at once; then the full listing. */
    if (classes & 1u << PAT_RESOURCE && m->pcmk.cached_only &&
        m->pcmk.mon.len) {
      r = relist(m, m->set, 1u << PAT_RESOURCE, m->invs);
      if (r == 0)
        r = pat_expand_invs(m->set, (const pat_inventory_t *const *)m->invs,
                            NULL, &next);
      if (r == 0)
        r = publish(m, next, info);
      write_entries(m, info);
      pat_entries_free(next);
      next = NULL;
      if (r < 0)
        goto out;
    }
    r = relist(m, m->set, classes, m->invs);
    if (r == 0)
      r = pat_expand_invs(m->set, (const pat_inventory_t *const *)m->invs, NULL,
                          &next);
    if (r == 0)
      note_match_errors(m, next, info);
    if (r == 0)
      r = publish(m, next, info);
  }
out:
  write_entries(m, info);
  info->entries = pat_entries_count(m->cur);
  info->scan_ms = (double)(pm_now_ns() - t0) / 1e6;
  pat_entries_free(next);
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
  m->scan.pcmk = &m->pcmk;
  m->patterns = strdup(o->patterns);
  if (!m->patterns ||
      (o->entries_file && !(m->entries_file = strdup(o->entries_file))))
    goto fail;
  if (m->entries_file && (r = make_parent(m->entries_file)) < 0) {
    pm_error_set(err, m->entries_file, 0, NULL,
                 "cannot create its directory: %s", strerror(-r));
    goto fail;
  }
  pat_refresh_t info;
  r = pat_monitor_refresh(m, PAT_ALL_CLASSES, &info);
  if (r == 0 && info.write_error < 0) {
    r = info.write_error; /* at start, a configuration error */
    pm_error_set(err, m->entries_file, 0, NULL, "cannot write: %s",
                 strerror(-r));
    goto fail;
  }
  if (r < 0) {
    if (info.err.msg[0] && err)
      *err = info.err; /* the pattern file's own error */
    else
      pm_error_set(err, m->entries_file ? m->entries_file : m->patterns, 0,
                   NULL, "first expansion failed: %s", strerror(-r));
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

int pat_monitor_resource_event(pat_monitor_t *m, const char *rsc,
                               bool started) {
  return pat_pcmk_event(&m->pcmk, rsc, started);
}

const pat_set_t *pat_monitor_set(pat_monitor_t *m) { return m->set; }

unsigned pat_monitor_classes(pat_monitor_t *m) {
  return m->set ? pat_set_classes(m->set) : 0;
}

void pat_monitor_free(pat_monitor_t *m) {
  if (!m)
    return;
  free_invs(m->invs);
  pat_entries_free(m->cur);
  pat_set_free(m->set);
  pat_pcmk_cache_free(&m->pcmk);
  pm_buf_free(&m->json);
  free(m->patterns);
  free(m->entries_file);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
