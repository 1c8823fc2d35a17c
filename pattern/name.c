/* name.c: instance name templates.
 *
 *   %k          the object's own name (kernel name, interface, ...)
 *   %1 .. %9    capture groups of the pattern's =~ conditions, in order
 *   $env{KEY}   udev property      $attr{file}  sysfs attribute
 *   $param{n}   Pacemaker resource parameter
 *   %% and $$   a literal % or $ */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *var; /* as written after $ */
  const char *key; /* inventory key prefix */
} vars[] = {
    {"env", "ENV"},
    {"attr", "ATTR"},
    {"param", "PARAM"},
};

static bool var_allowed(pat_class_t cls, const char *var) {
  for (const char *const *v = pat_class_desc(cls)->vars; *v; v++)
    if (strcmp(*v, var) == 0)
      return true;
  return false;
}

static int add_seg(struct pat_tmpl *t, enum pat_seg_kind kind, const char *text,
                   size_t len, unsigned capture) {
  char *copy = text ? strndup(text, len) : NULL;
  struct pat_seg *s = text && !copy ? NULL : pm_vec_push(&t->segs);
  if (!s) {
    free(copy);
    return -ENOMEM;
  }
  *s = (struct pat_seg){.kind = kind, .text = copy, .capture = capture};
  return 0;
}

/* Appends literal text, merging with a literal before it. */
static int add_lit(struct pat_tmpl *t, const char *text, size_t len) {
  if (t->segs.n && t->segs.v[t->segs.n - 1].kind == PAT_SEG_LIT) {
    struct pat_seg *s = &t->segs.v[t->segs.n - 1];
    size_t old = strlen(s->text);
    char *n = realloc(s->text, old + len + 1);
    if (!n)
      return -ENOMEM;
    memcpy(n + old, text, len);
    n[old + len] = '\0';
    s->text = n;
    return 0;
  }
  return add_seg(t, PAT_SEG_LIT, text, len, 0);
}

int pat_tmpl_parse(struct pat_tmpl *t, const char *text, pat_class_t cls,
                   pm_error_t *err) {
  int r = 0;
  *t = (struct pat_tmpl){0};
  for (const char *p = text; r == 0 && *p;) {
    if (*p == '%') {
      if (p[1] == '%') {
        r = add_lit(t, "%", 1);
      } else if (p[1] == 'k') {
        r = add_seg(t, PAT_SEG_KERNEL, NULL, 0, 0);
      } else if (p[1] >= '1' && p[1] <= '9') {
        unsigned n = (unsigned)(p[1] - '0');
        r = add_seg(t, PAT_SEG_CAPTURE, NULL, 0, n);
        if (n > t->max_capture)
          t->max_capture = n;
      } else {
        snprintf(err->msg, sizeof(err->msg),
                 "unknown %%%.1s in name (use %%k, %%1..%%9 or %%%%)", p + 1);
        return -EBADMSG;
      }
      p += 2;
    } else if (*p == '$') {
      if (p[1] == '$') {
        r = add_lit(t, "$", 1);
        p += 2;
        continue;
      }
      size_t vl = strcspn(p + 1, "{");
      const char *open = p + 1 + vl;
      const char *close = *open ? strchr(open, '}') : NULL;
      size_t i;
      for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (strlen(vars[i].var) == vl && strncmp(p + 1, vars[i].var, vl) == 0)
          break;
      if (i == sizeof(vars) / sizeof(vars[0]) || !close || close == open + 1) {
        snprintf(err->msg, sizeof(err->msg),
                 "bad variable in name (use $env{KEY}, $attr{file}, "
                 "$param{name} or $$)");
        return -EBADMSG;
      }
      if (!var_allowed(cls, vars[i].var)) {
        snprintf(err->msg, sizeof(err->msg),
                 "$%s{} is not available for class %s", vars[i].var,
                 pat_class_name(cls));
        return -EBADMSG;
      }
      size_t al = (size_t)(close - open - 1);
      if (strcmp(vars[i].var, "attr") == 0 && !pat_attr_name_ok(open + 1, al)) {
        snprintf(err->msg, sizeof(err->msg),
                 "$attr{%.*s}: an attribute is a file below the device's "
                 "sysfs directory (no '.' or '..', not absolute)",
                 (int)(al > 100 ? 100 : al), open + 1);
        return -EBADMSG;
      }
      char key[300];
      int kl = snprintf(key, sizeof(key), "%s{%.*s}", vars[i].key,
                        (int)(close - open - 1), open + 1);
      if (kl < 0 || (size_t)kl >= sizeof(key)) {
        snprintf(err->msg, sizeof(err->msg), "variable name too long");
        return -EBADMSG;
      }
      r = add_seg(t, PAT_SEG_KEY, key, (size_t)kl, 0);
      p = close + 1;
    } else {
      size_t n = strcspn(p, "%$");
      r = add_lit(t, p, n);
      p += n;
    }
  }
  return r;
}

void pat_tmpl_clear(struct pat_tmpl *t) {
  for (size_t i = 0; i < t->segs.n; i++)
    free(t->segs.v[i].text);
  pm_vec_free(&t->segs);
  *t = (struct pat_tmpl){0};
}

/* Paths read as collectd's df names them: "/srv/nfs" -> "srv-nfs",
 * "/" -> "root". Anything else outside [A-Za-z0-9_.:@+-] becomes '_'. */
void pat_sanitize(const char *in, char *buf, size_t len) {
  size_t max = len - 1 < PAT_NAME_MAX ? len - 1 : PAT_NAME_MAX;
  size_t n = 0;
  if (strcmp(in, "/") == 0)
    in = "root";
  while (*in == '/')
    in++;
  for (const unsigned char *p = (const unsigned char *)in; *p && n < max; p++) {
    unsigned char ch = *p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || strchr("_.:@+-", ch);
    buf[n++] = ch == '/' ? '-' : ok ? (char)ch : '_';
  }
  if (n == 0)
    buf[n++] = '_';
  buf[n] = '\0';
}
