/* prov_mount.c: mounts from /proc/self/mountinfo.
 *
 * Keys: MOUNT (mount point), DEVICE (source), FSTYPE, OPTIONS (per-mount
 * options, then the superblock's, as /proc/mounts shows them). Of several
 * mounts on one point only the top one (the last) is seen, as df sees it. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pat_mount_name(const char *mnt, char *buf, size_t len) {
  if (strcmp(mnt, "/") == 0) {
    snprintf(buf, len, "root");
    return;
  }
  snprintf(buf, len, "%s", mnt[0] == '/' ? mnt + 1 : mnt);
  for (char *p = buf; *p; p++)
    if (*p == '/')
      *p = '-';
}

void pat_mount_instance(const char *mnt, char *buf, size_t len) {
  char name[PATH_MAX];
  pat_mount_name(mnt, name, sizeof(name));
  pat_sanitize(name, buf, len);
}

/* Undoes the kernel's octal escapes (\040 for a space) in place. */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
        r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

enum { F_DEVNUM, F_MNT, F_OPTS, F_FSTYPE, F_SRC, F_SUPER, F_N };

struct mnt {
  char *fields[F_N];
  size_t line;
};

/* Splits one mountinfo line (modified in place); false if malformed. */
static bool split_line(char *line, struct mnt *m) {
  char *tok[64];
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < 64;
       t = strtok_r(NULL, " ", &save))
    tok[n++] = t;
  size_t dash;
  for (dash = 6; dash < n; dash++)
    if (strcmp(tok[dash], "-") == 0)
      break;
  if (n < 9 || dash + 2 >= n)
    return false;
  m->fields[F_DEVNUM] = tok[2];
  m->fields[F_MNT] = tok[4];
  m->fields[F_OPTS] = tok[5];
  m->fields[F_FSTYPE] = tok[dash + 1];
  m->fields[F_SRC] = tok[dash + 2];
  m->fields[F_SUPER] = dash + 3 < n ? tok[dash + 3] : "";
  for (int i = 0; i < F_N; i++)
    unescape(m->fields[i]);
  return true;
}

static int cmp_mnt(const void *a, const void *b) {
  const struct mnt *x = a, *y = b;
  int c = strcmp(x->fields[F_MNT], y->fields[F_MNT]);
  return c ? c : (x->line < y->line ? -1 : x->line > y->line);
}

/* "rw,relatime" + "rw,errors=remount-ro" -> "rw,relatime,errors=remount-ro" */
static void merge_options(const char *a, const char *b, pm_buf_t *out) {
  pm_buf_reset(out);
  pm_buf_puts(out, a);
  char *copy = strdup(b);
  if (!copy)
    return;
  for (char *save = NULL, *o = strtok_r(copy, ",", &save); o;
       o = strtok_r(NULL, ",", &save)) {
    size_t ol = strlen(o);
    bool dup = false;
    for (const char *p = out->data; p && *p;) {
      size_t l = strcspn(p, ",");
      if (l == ol && strncmp(p, o, l) == 0)
        dup = true;
      p += l + (p[l] == ',');
    }
    if (!dup) {
      pm_buf_putc(out, ',');
      pm_buf_puts(out, o);
    }
  }
  free(copy);
}

int pat_parse_mountinfo(pat_inventory_t *inv, const char *text, size_t len) {
  char *copy = strndup(text, len);
  PM_VEC(struct mnt) mv = {0};
  pm_buf_t opts = {0};
  int r = 0;
  if (!copy)
    return -ENOMEM;
  size_t lineno = 0;
  for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    struct mnt *cur = pm_vec_push(&mv);
    if (!cur) {
      r = -ENOMEM;
      goto out;
    }
    cur->line = lineno++;
    if (!split_line(line, cur))
      mv.n--;
  }
  struct mnt *m = mv.v;
  size_t n = mv.n;
  if (n > 1)
    qsort(m, n, sizeof(*m), cmp_mnt);
  for (size_t i = 0; r == 0 && i < n; i++) {
    if (i + 1 < n && strcmp(m[i].fields[F_MNT], m[i + 1].fields[F_MNT]) == 0)
      continue; /* covered by a later mount on the same point */
    char name[PATH_MAX];
    pat_mount_name(m[i].fields[F_MNT], name, sizeof(name));
    merge_options(m[i].fields[F_OPTS], m[i].fields[F_SUPER], &opts);
    r = pat_inv_begin(inv, PAT_MOUNT, name, m[i].fields[F_MNT], 0, true);
    if (r == 0)
      r = pat_inv_prop(inv, "MOUNT", m[i].fields[F_MNT], true);
    if (r == 0)
      r = pat_inv_prop(inv, "DEVICE", m[i].fields[F_SRC], true);
    if (r == 0)
      r = pat_inv_prop(inv, "FSTYPE", m[i].fields[F_FSTYPE], true);
    if (r == 0)
      r = pat_inv_prop(inv, "OPTIONS", opts.data ? opts.data : "", true);
    if (r == 0)
      r = pat_inv_prop(inv, "DEVNUM", m[i].fields[F_DEVNUM], true);
    if (r == 0)
      r = pat_inv_end(inv);
  }
out:
  pm_buf_free(&opts);
  pm_vec_free(&mv);
  free(copy);
  return r;
}

int pat_prov_mount(pat_inventory_t *inv, const pat_scan_opts_t *o,
                   unsigned classes) {
  const char *path = o->mountinfo ? o->mountinfo : "/proc/self/mountinfo";
  pm_buf_t b = {0};
  int r = pm_file_read(path, 64u << 20, &b);
  if (r == 0)
    r = pat_parse_mountinfo(inv, b.data ? b.data : "", b.len);
  else
    r = pat_inv_note(inv, PAT_MOUNT, "cannot read %s: %s", path,
                     pm_strerror(r));
  pm_buf_free(&b);
  return r;
}
