/* digest.c: a pattern set's canonical form and its digest (see
 * pattern.h), and the digest published as a Pacemaker node attribute. */
#include "config.h"

#include "internal.h"
#include "pm_sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* A string in double quotes: '"' and '\' escaped, bytes below 0x20 and
 * 0x7f as \xHH; other bytes as they are. */
static int put_str(pm_buf_t *b, const char *s) {
  int r = pm_buf_putc(b, '"');
  for (; r == 0 && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      r = pm_buf_printf(b, "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      r = pm_buf_printf(b, "\\x%02x", c);
    else
      r = pm_buf_putc(b, (char)c);
  }
  return r ? r : pm_buf_putc(b, '"');
}

static int put_cond(pm_buf_t *b, const char *what, const struct pat_cond *c) {
  static const char *const op[2][2] = {{"==", "!="}, {"=~", "!~"}};
  /* ATTRS{x} is kept as ATTR{x} with any_level. */
  bool attrs = c->any_level && strncmp(c->key, "ATTR{", 5) == 0;
  int r = pm_buf_printf(b, "  %s %s%s %s ", what, attrs ? "ATTRS" : "",
                        attrs ? c->key + 4 : c->key,
                        op[c->kind == PAT_COND_REGEX][c->negate]);
  if (r == 0)
    r = put_str(b, c->value);
  return r ? r : pm_buf_putc(b, '\n');
}

static int put_pattern(pm_buf_t *b, const struct pat_pattern *p) {
  int r = pm_buf_puts(b, "pattern ");
  if (r == 0)
    r = put_str(b, p->name);
  if (r == 0)
    r = pm_buf_printf(b, " class %s\n", pat_class_name(p->cls));
  for (size_t i = 0; r == 0 && i < p->nmatch; i++)
    r = put_cond(b, "match", &p->match[i]);
  for (size_t i = 0; r == 0 && i < p->nexclude; i++)
    r = put_cond(b, "exclude", &p->exclude[i]);
  if (r == 0 && p->has_tmpl) {
    r = pm_buf_puts(b, "  name ");
    if (r == 0)
      r = put_str(b, p->tmpl_text);
    if (r == 0)
      r = pm_buf_putc(b, '\n');
  }
  if (r == 0)
    r = pm_buf_puts(b, "  metrics");
  for (unsigned k = 0; r == 0 && pat_group_name(p->cls, k); k++)
    if (p->metrics & (1u << k))
      r = pm_buf_printf(b, " %s", pat_group_name(p->cls, k));
  if (r == 0)
    r = pm_buf_printf(b, "\n  interval %d\n", p->interval);
  return r;
}

int pat_set_canonical(const pat_set_t *set, pm_buf_t *out) {
  size_t len = out->len;
  int r = pm_buf_printf(out, "patmon-patterns canonical 1\npatterns %zu\n",
                        set->npats);
  for (size_t i = 0; r == 0 && i < set->npats; i++)
    r = put_pattern(out, &set->pats[i]);
  if (r < 0 && out->data) {
    out->len = len;
    out->data[len] = '\0';
  }
  return r;
}

int pat_set_digest(const pat_set_t *set, char ret[PAT_DIGEST_HEX + 1]) {
  pm_buf_t b = {0};
  int r = pat_set_canonical(set, &b);
  if (r == 0)
    pm_sha256_hex(b.data, b.len, ret);
  pm_buf_free(&b);
  return r;
}

uint32_t pat_digest_gauge(const char *hex) {
  uint32_t v = 0;
  for (unsigned i = 0; i < 8 && hex[i]; i++) {
    char c = hex[i];
    unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                        : 0;
    v = v << 4 | d;
  }
  return v;
}

/* attrd_updater's exit status when no attribute manager answers
 * (Pacemaker's CRM_EX_NOT_CONNECTED). */
#define EX_NOT_CONNECTED 102

int pat_digest_publish(const char *hex, const char *node, int timeout_ms,
                       char *why, size_t whylen) {
  char *argv[] = {"attrd_updater",
                  "-n",
                  PAT_DIGEST_ATTR,
                  "-U",
                  (char *)hex,
                  NULL,
                  NULL,
                  NULL};
  if (node && *node) {
    argv[5] = "-N";
    argv[6] = (char *)node;
  }
  pm_buf_t err = {0};
  int status = 0;
  int r =
      pm_spawn(argv, timeout_ms > 0 ? timeout_ms : 10000, NULL, &err, &status);
  /* attrd_updater -U says nothing when it worked. collectd ignores
   * SIGCHLD, so inside it every child's status reads as 0: what it wrote
   * on stderr tells the failures apart there. */
  bool said = err.data && err.len;
  if (r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && !said)
    goto out;
  if (r == -ENOENT)
    snprintf(why, whylen, "attrd_updater is not installed");
  else if (r < 0)
    snprintf(why, whylen, "attrd_updater: %s", pm_strerror(r));
  else if ((WIFEXITED(status) && WEXITSTATUS(status) == EX_NOT_CONNECTED) ||
           (said && (strstr(err.data, "Connection refused") ||
                     strstr(err.data, "Could not connect")))) {
    snprintf(why, whylen, "Pacemaker is not running here");
    r = -ENOTCONN;
  } else {
    snprintf(why, whylen, "attrd_updater failed (status %d)%s%.*s",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1, err.data ? ": " : "",
             err.data ? (int)strcspn(err.data, "\n") : 0,
             err.data ? err.data : "");
    r = -EIO;
  }
out:
  pm_buf_free(&err);
  return r;
}
