/* prov_proc.c: processes from /proc (or a captured tree of it).
 *
 * Keys: COMM (from stat), EXE (the exe link; empty for kernel threads and
 * when unreadable), CMDLINE (arguments joined by spaces), USER (real uid's
 * name, or the number). Only what the patterns use is read (and CMDLINE
 * when asked: the collectd format matches on it). A
 * process that exits while it is read is skipped. */
#include "config.h"

#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct uid_name {
  unsigned uid;
  char name[64];
};

struct proc_scan {
  int dirfd;
  bool want_exe, want_cmdline, want_user;
  struct uid_name users[64]; /* a small cache: few distinct users run things */
  unsigned nusers;
};

/* Reads at most len-1 bytes of dir/pid/file; returns the length or -errno. */
static ssize_t read_small(int dirfd, const char *pid, const char *file,
                          char *buf, size_t len) {
  char path[64];
  snprintf(path, sizeof(path), "%.20s/%.20s", pid, file);
  int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n, total = 0;
  while ((size_t)total < len - 1 &&
         (n = read(fd, buf + total, len - 1 - (size_t)total)) > 0)
    total += n;
  close(fd);
  buf[total] = '\0';
  return total;
}

static const char *user_name(struct proc_scan *s, unsigned uid) {
  for (unsigned i = 0; i < s->nusers; i++)
    if (s->users[i].uid == uid)
      return s->users[i].name;
  struct uid_name *u = &s->users[s->nusers < 64 ? s->nusers++ : 63];
  u->uid = uid;
  struct passwd pw, *res = NULL;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
    snprintf(u->name, sizeof(u->name), "%s", res->pw_name);
  else
    snprintf(u->name, sizeof(u->name), "%u", uid);
  return u->name;
}

static int scan_one(pat_inventory_t *inv, struct proc_scan *s,
                    const char *pid) {
  char buf[4096], comm[64];
  ssize_t n = read_small(s->dirfd, pid, "stat", buf, sizeof(buf));
  if (n <= 0)
    return 0; /* gone */
  char *open = strchr(buf, '('), *close = strrchr(buf, ')');
  if (!open || !close || close < open)
    return 0;
  snprintf(comm, sizeof(comm), "%.*s", (int)(close - open - 1), open + 1);
  int r = pat_inv_begin(inv, PAT_PROCESS, comm, pid, atoi(pid), true);
  if (r == 0)
    r = pat_inv_prop(inv, "COMM", comm, true);
  if (r == 0 && s->want_exe) {
    char path[64], exe[PATH_MAX];
    snprintf(path, sizeof(path), "%.20s/exe", pid);
    ssize_t l = readlinkat(s->dirfd, path, exe, sizeof(exe) - 1);
    exe[l > 0 ? l : 0] = '\0';
    r = pat_inv_prop(inv, "EXE", exe, true);
  }
  if (r == 0 && s->want_cmdline) {
    n = read_small(s->dirfd, pid, "cmdline", buf, sizeof(buf));
    if (n < 0)
      n = 0;
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] == '\0')
        buf[i] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
      buf[--n] = '\0';
    r = pat_inv_prop(inv, "CMDLINE", buf, true);
  }
  if (r == 0 && s->want_user) {
    n = read_small(s->dirfd, pid, "status", buf, sizeof(buf));
    const char *u = n > 0 ? strstr(buf, "\nUid:") : NULL;
    r = pat_inv_prop(inv, "USER",
                     u ? user_name(s, (unsigned)strtoul(u + 5, NULL, 10)) : "",
                     true);
  }
  return r == 0 ? pat_inv_end(inv) : r;
}

int pat_prov_proc(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes) {
  const char *root = o->proc_root ? o->proc_root : "/proc";
  struct proc_scan s = {
      .want_exe = pat_set_wants(o->want, PAT_PROCESS, "EXE"),
      .want_cmdline = !o->want || o->cmdlines ||
                      pat_set_wants(o->want, PAT_PROCESS, "CMDLINE"),
      .want_user = pat_set_wants(o->want, PAT_PROCESS, "USER"),
  };
  DIR *d = opendir(root);
  if (!d)
    return pat_inv_note(inv, PAT_PROCESS, "cannot read %s: %s", root,
                        strerror(errno));
  s.dirfd = dirfd(d);
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(d))) {
    if (!isdigit((unsigned char)de->d_name[0]))
      continue;
    r = scan_one(inv, &s, de->d_name);
  }
  closedir(d);
  return r;
}
