/* journal.c: the append-only availability journal (see avail.h). */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER                                                                 \
  "# patmon availability journal, format 1 (see patmon-balance(8))\n"
/* A line: time, two words, two names and a flag. */
/* The largest journal read: a cluster's changes over years fit many times. */
#define JOURNAL_MAX (256u << 20)
#define LINE_MAX_LEN (2 * AV_NAME_MAX + 64)

static int why_set(char *why, size_t len, const char *msg) {
  if (why && len)
    snprintf(why, len, "%s", msg);
  return -EBADMSG;
}

/* Splits the next blank-separated field off *p (end e). */
static bool field(const char **p, const char *e, const char **ret,
                  size_t *ret_len) {
  const char *s = *p;
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  const char *f = s;
  while (s < e && *s != ' ' && *s != '\t')
    s++;
  *p = s;
  *ret = f;
  *ret_len = (size_t)(s - f);
  return s > f;
}

static bool word_is(const char *f, size_t len, const char *w) {
  return strlen(w) == len && memcmp(f, w, len) == 0;
}

/* Copies a name, without a resource's ":N" clone suffix. */
static void copy_name(char *dst, const char *f, size_t len, bool resource) {
  if (resource) {
    size_t d = len;
    while (d > 0 && f[d - 1] >= '0' && f[d - 1] <= '9')
      d--;
    if (d > 1 && d < len && f[d - 1] == ':')
      len = d - 1;
  }
  memcpy(dst, f, len);
  dst[len] = '\0';
}

int av_event_parse(const char *line, size_t len, av_event_t *ret, char *why,
                   size_t whylen) {
  const char *p = line, *e = line + len, *f;
  size_t fl;
  av_event_t ev = {0};
  if (!field(&p, e, &f, &fl))
    return why_set(why, whylen, "empty line");
  char num[24];
  if (fl >= sizeof(num) || strspn(f, "0123456789") < fl)
    return why_set(why, whylen, "time is not milliseconds since the epoch");
  memcpy(num, f, fl);
  num[fl] = '\0';
  errno = 0;
  long long t = strtoll(num, NULL, 10);
  if (errno)
    return why_set(why, whylen, "time out of range");
  ev.t_ms = t;
  const char *k, *a;
  size_t kl, al;
  if (!field(&p, e, &k, &kl) || !field(&p, e, &a, &al))
    return why_set(why, whylen, "expected a kind and an action");
  av_kind_t kind = word_is(k, kl, "node")       ? AV_NODE
                   : word_is(k, kl, "resource") ? AV_RESOURCE
                                                : 0;
  if (!kind)
    return why_set(why, whylen, "kind is neither node nor resource");
  for (av_action_t x = AV_LOST; x <= AV_TO_MAINTENANCE; x++)
    if (av_action_kind(x) == kind && word_is(a, al, av_action_name(x)))
      ev.action = x;
  if (!ev.action)
    return why_set(why, whylen, "unknown action");
  if (!field(&p, e, &f, &fl) || !av_name_ok(f, fl))
    return why_set(why, whylen, "missing or bad name");
  copy_name(ev.name, f, fl, kind == AV_RESOURCE);
  if (kind == AV_RESOURCE) {
    if (!field(&p, e, &f, &fl) || !av_name_ok(f, fl))
      return why_set(why, whylen, "missing or bad node");
    if (!word_is(f, fl, "-"))
      copy_name(ev.node, f, fl, false);
  }
  if (field(&p, e, &f, &fl)) {
    if (!word_is(f, fl, "reconciled"))
      return why_set(why, whylen, "unexpected text after the event");
    ev.reconciled = true;
  }
  if (field(&p, e, &f, &fl))
    return why_set(why, whylen, "unexpected text after the event");
  *ret = ev;
  return 0;
}

int av_event_format(const av_event_t *ev, char *buf, size_t len) {
  av_kind_t kind = av_action_kind(ev->action);
  if (!kind || ev->t_ms < 0 || !av_name_ok(ev->name, strlen(ev->name)) ||
      (kind == AV_RESOURCE && *ev->node &&
       !av_name_ok(ev->node, strlen(ev->node))))
    return -EINVAL;
  const char *node = kind == AV_NODE ? "" : *ev->node ? ev->node : "-";
  return snprintf(buf, len, "%" PRId64 " %s %s %s%s%s%s\n", ev->t_ms,
                  kind == AV_NODE ? "node" : "resource",
                  av_action_name(ev->action), ev->name, *node ? " " : "", node,
                  ev->reconciled ? " reconciled" : "");
}

static int push(av_journal_t *j, const av_event_t *ev) {
  av_event_t *v = pm_vec_grow(j->ev, &j->cap, j->n + 1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  j->ev = v;
  v[j->n++] = *ev;
  return 0;
}

static void bad_line(av_load_t *ld, const char *path, unsigned lineno,
                     const char *line, size_t len, const char *why) {
  if (ld->skipped++ > 0)
    return;
  char text[96];
  snprintf(text, sizeof(text), "%.*s", (int)(len < 80 ? len : 80), line);
  pm_error_set(&ld->first, path, lineno, pm_printable(text), "%s", why);
}

/* Reads the events of the file and replays them into the live model. */
static int load(av_journal_t *j, av_load_t *ld, pm_error_t *err) {
  pm_buf_t file = {0};
  int r = pm_file_read(j->path, JOURNAL_MAX, &file);
  const char *buf = file.data;
  size_t len = file.len;
  if (r < 0) {
    pm_error_set(err, j->path, 0, NULL, "cannot read: %s", pm_strerror(r));
    return r;
  }
  size_t at = 0;
  unsigned lineno = 0;
  while (at < len && r >= 0) {
    const char *line = buf + at, *nl = memchr(line, '\n', len - at);
    size_t ll = nl ? (size_t)(nl - line) : len - at;
    lineno++;
    if (!nl) {
      /* Torn by a crash in the middle of an append: cut it off. */
      bad_line(ld, j->path, lineno, line, ll, "torn last line ignored");
      ld->torn = true;
      if (j->fd >= 0 &&
          (ftruncate(j->fd, (off_t)at) < 0 || fdatasync(j->fd) < 0)) {
        r = -errno;
        pm_error_set(err, j->path, lineno, NULL,
                     "cannot cut off a torn line: %s", pm_strerror(r));
      }
      break;
    }
    at += ll + 1;
    if (ll == 0 || line[0] == '#')
      continue;
    av_event_t ev;
    char why[128];
    if (ll > LINE_MAX_LEN ||
        av_event_parse(line, ll, &ev, why, sizeof(why)) < 0) {
      bad_line(ld, j->path, lineno, line, ll,
               ll > LINE_MAX_LEN ? "line too long" : why);
      continue;
    }
    if ((r = push(j, &ev)) < 0 || (r = av_model_apply(&j->live, &ev)) < 0)
      pm_error_set(err, j->path, lineno, NULL, "out of memory");
    else
      ld->events++;
  }
  j->size = (off_t)at;
  pm_buf_free(&file);
  return r < 0 ? r : 0;
}

/* Makes a new file's directory entry durable. */
static void sync_dir(const char *path) {
  char *d = strdup(path);
  int fd = d ? open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(d);
}

/* Appends len bytes and makes them durable. */
static int write_all(int fd, const char *s, size_t len) {
  int r = pm_write_all(fd, s, len);
  return r < 0 ? r : fdatasync(fd) < 0 ? -errno : 0;
}

int av_journal_open(const char *path, av_journal_t **ret, av_load_t *ret_load,
                    pm_error_t *err) {
  av_load_t ld = {0};
  av_journal_t *j = calloc(1, sizeof(*j));
  if (!j || !(j->path = strdup(path))) {
    free(j);
    return -ENOMEM;
  }
  j->live.last_t = INT64_MIN;
  j->live.lo = INT64_MIN;
  j->live.hi = INT64_MAX;
  int r = 0;
  j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
  struct stat st;
  if (j->fd < 0 || fstat(j->fd, &st) < 0) {
    r = -errno;
    pm_error_set(err, path, 0, NULL, "cannot open: %s", pm_strerror(r));
  } else if (!S_ISREG(st.st_mode)) {
    r = -PM_ENOTREG;
    pm_error_set(err, path, 0, NULL, "not a regular file");
  } else if (st.st_size == 0) {
    if ((r = write_all(j->fd, HEADER, strlen(HEADER))) < 0)
      pm_error_set(err, path, 0, NULL, "cannot write: %s", pm_strerror(r));
    j->size = (off_t)strlen(HEADER);
    sync_dir(path);
  } else {
    r = load(j, &ld, err);
  }
  if (r < 0) {
    av_journal_free(j);
    return r;
  }
  if (ret_load)
    *ret_load = ld;
  *ret = j;
  return 0;
}

void av_journal_free(av_journal_t *j) {
  if (!j)
    return;
  if (j->fd >= 0)
    close(j->fd);
  av_model_free(&j->live);
  free(j->ev);
  free(j->path);
  free(j);
}

static bool recorded(const av_journal_t *j, const av_event_t *ev) {
  for (size_t i = j->n; i-- > 0;) {
    const av_event_t *o = &j->ev[i];
    if (o->t_ms == ev->t_ms && o->action == ev->action &&
        strcmp(o->name, ev->name) == 0 && strcmp(o->node, ev->node) == 0)
      return true;
  }
  return false;
}

/* Rebuilds the live model from the recorded events (after a failed
 * append). */
static int replay(av_journal_t *j) {
  av_model_free(&j->live);
  j->live =
      (struct av_model){.last_t = INT64_MIN, .lo = INT64_MIN, .hi = INT64_MAX};
  for (size_t i = 0; i < j->n; i++) {
    int r = av_model_apply(&j->live, &j->ev[i]);
    if (r < 0)
      return r;
  }
  return 0;
}

int av_journal_add(av_journal_t *j, const av_event_t *in) {
  char line[LINE_MAX_LEN + 2];
  av_event_t ev = *in;
  if (av_action_kind(ev.action) == AV_RESOURCE)
    copy_name(ev.name, in->name, strlen(in->name), true);
  int len = av_event_format(&ev, line, sizeof(line));
  if (len < 0)
    return len;
  if (recorded(j, &ev))
    return 0;
  int r = push(j, &ev);
  if (r < 0)
    return r;
  /* An event that changes nothing does not move the journal's time on:
   * reconcile offers every node at the pass time, and the resource
   * changes after it are dated earlier, by the CIB. */
  int64_t last = j->live.last_t;
  r = av_model_apply(&j->live, &ev);
  if (r == 0) {
    j->live.last_t = last;
    j->n--;
    return 0;
  }
  if (r > 0 && (r = write_all(j->fd, line, (size_t)len)) == 0) {
    j->size += len;
    return 1;
  }
  /* Leave the file and the journal as they were. */
  if (ftruncate(j->fd, j->size) < 0) {
    /* The next open cuts a torn line all the same. */
  }
  j->n--;
  int rr = replay(j);
  return r < 0 ? r : rr;
}

int av_journal_load(const char *path, av_event_t **ret, size_t *ret_n,
                    av_load_t *ret_load, pm_error_t *err) {
  av_load_t ld = {0};
  av_journal_t j = {
      .path = (char *)path,
      .fd = -1,
      .live = {.last_t = INT64_MIN, .lo = INT64_MIN, .hi = INT64_MAX}};
  int r = load(&j, &ld, err);
  av_model_free(&j.live);
  if (r < 0) {
    free(j.ev);
    return r;
  }
  if (ret_load)
    *ret_load = ld;
  *ret = j.ev;
  *ret_n = j.n;
  return 0;
}

const av_event_t *av_journal_events(const av_journal_t *j, size_t *ret_n) {
  *ret_n = j->n;
  return j->ev;
}
