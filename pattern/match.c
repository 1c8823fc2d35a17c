/* match.c: conditions in udev's rule syntax.
 *
 *   KEY==glob  KEY!=glob   globs * ? [] [!] and | between alternatives
 *   KEY=~re    KEY!~re     PCRE2, matched against the whole value
 *
 * A missing value compares as the empty string, as in udev. */
#include "config.h"

#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *op;
  bool negate;
  enum pat_cond_kind kind;
} ops[] = {
    {"==", false, PAT_COND_GLOB},
    {"!=", true, PAT_COND_GLOB},
    {"=~", false, PAT_COND_REGEX},
    {"!~", true, PAT_COND_REGEX},
};

static bool key_allowed(const struct pat_class_desc *d, const char *name,
                        bool has_arg) {
  char want[40];
  snprintf(want, sizeof(want), "%.32s%s", name, has_arg ? "{}" : "");
  for (const char *const *k = d->keys; *k; k++)
    if (strcmp(*k, want) == 0)
      return true;
  return false;
}

static void keys_list(const struct pat_class_desc *d, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (const char *const *k = d->keys; *k && n < len; k++)
    n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " " : "", *k);
}

/* Past the ']' that closes the set opening at p ('['), or NULL when it is
 * not closed before lim. A ']' right after '[' or '[!' is a member; '\'
 * quotes the next character. Checking and matching both use this, so they
 * agree on where a set ends. */
static const char *set_end(const char *p, const char *lim) {
  p++;
  if (p < lim && (*p == '!' || *p == '^'))
    p++;
  if (p < lim && *p == ']')
    p++;
  while (p < lim && *p != ']') {
    if (*p == '\\' && p + 1 < lim)
      p++;
    p++;
  }
  return p < lim ? p + 1 : NULL;
}

/* Checks brackets and escapes of one alternative; returns the offset of a
 * problem or -1. */
static long glob_check(const char *p, size_t len, const char **why) {
  const char *lim = p + len;
  for (const char *q = p; q < lim; q++) {
    if (*q == '\\') {
      if (q + 1 == lim) {
        *why = "trailing backslash";
        return q - p;
      }
      q++;
    } else if (*q == '[') {
      const char *end = set_end(q, lim);
      if (!end) {
        *why = "unclosed '['";
        return q - p;
      }
      q = end - 1;
    }
  }
  return -1;
}

static int compile_glob(struct pat_cond *c, const char *val, pm_error_t *err) {
  size_t n = 1;
  for (const char *p = val; *p; p++)
    n += *p == '|';
  c->alts = calloc(n, sizeof(*c->alts));
  if (!c->alts)
    return -ENOMEM;
  const char *p = val;
  for (size_t i = 0; i < n; i++) {
    size_t len = strcspn(p, "|");
    const char *why;
    long off = glob_check(p, len, &why);
    if (off >= 0) {
      snprintf(err->msg, sizeof(err->msg), "bad glob: %s at offset %ld", why,
               (long)(p - val) + off);
      return -EBADMSG;
    }
    struct pat_glob_alt *a = &c->alts[c->nalts++];
    a->pat = strndup(p, len);
    if (!a->pat)
      return -ENOMEM;
    a->len = len;
    size_t meta = strcspn(a->pat, "*?[\\");
    if (meta == len)
      a->kind = PAT_GLOB_EXACT;
    else if (meta == len - 1 && a->pat[meta] == '*')
      a->kind = PAT_GLOB_PREFIX, a->len = meta;
    else
      a->kind = PAT_GLOB_FULL;
    p += len + 1;
  }
  return 0;
}

static int compile_regex(struct pat_cond *c, const char *val, pm_error_t *err) {
  int code;
  PCRE2_SIZE off;
  c->re = pcre2_compile((PCRE2_SPTR)val, PCRE2_ZERO_TERMINATED,
                        PCRE2_ANCHORED | PCRE2_ENDANCHORED, &code, &off, NULL);
  if (!c->re) {
    char msg[256];
    pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof(msg));
    snprintf(err->msg, sizeof(err->msg), "bad regex at offset %zu: %s",
             (size_t)off, msg);
    return -EBADMSG;
  }
  /* Without JIT (not built in, no executable memory) pcre2_match works. */
  c->jit = pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE) == 0;
  uint32_t groups = 0;
  pcre2_pattern_info(c->re, PCRE2_INFO_CAPTURECOUNT, &groups);
  c->ncaptures = c->negate ? 0 : groups;
  return 0;
}

int pat_cond_parse(struct pat_cond *c, const char *text, pat_class_t cls,
                   pm_error_t *err) {
  const struct pat_class_desc *d = pat_class_desc(cls);
  const char *p = text;
  char name[32];
  int r;

  *c = (struct pat_cond){0};
  while (isspace((unsigned char)*p))
    p++;
  size_t nl = 0;
  while (isupper((unsigned char)p[nl]) || p[nl] == '_')
    nl++;
  if (nl == 0 || nl >= sizeof(name)) {
    snprintf(err->msg, sizeof(err->msg),
             "a condition starts with a key such as KERNEL or ENV{NAME}");
    return -EBADMSG;
  }
  memcpy(name, p, nl);
  name[nl] = '\0';
  p += nl;
  const char *arg = NULL;
  size_t arglen = 0;
  if (*p == '{') {
    arg = ++p;
    while (*p && *p != '}' && !isspace((unsigned char)*p))
      p++;
    arglen = (size_t)(p - arg);
    if (*p != '}' || arglen == 0) {
      snprintf(err->msg, sizeof(err->msg), "%s{...}: missing or bad name",
               name);
      return -EBADMSG;
    }
    p++;
  }
  if (!key_allowed(d, name, arg != NULL)) {
    char keys[256];
    keys_list(d, keys, sizeof(keys));
    snprintf(err->msg, sizeof(err->msg), "unknown key %s%s for class %s (%s)",
             name, arg ? "{}" : "", d->name, keys);
    return -EBADMSG;
  }
  while (*p == ' ' || *p == '\t')
    p++;
  size_t op;
  for (op = 0; op < sizeof(ops) / sizeof(ops[0]); op++)
    if (strncmp(p, ops[op].op, 2) == 0)
      break;
  if (op == sizeof(ops) / sizeof(ops[0])) {
    snprintf(err->msg, sizeof(err->msg),
             "expected ==, !=, =~ or !~ after the key%s",
             *p == '=' ? " (= assigns in udev; compare with ==)" : "");
    return -EBADMSG;
  }
  p += 2;
  while (*p == ' ' || *p == '\t')
    p++;
  size_t vl = strlen(p);
  while (vl > 0 && (p[vl - 1] == ' ' || p[vl - 1] == '\t'))
    vl--;
  if (vl >= 2 && p[0] == '"' && p[vl - 1] == '"')
    p++, vl -= 2;
  char *val = strndup(p, vl);
  c->text = strdup(text);
  bool attrs = strcmp(name, "ATTRS") == 0;
  size_t kl = (attrs ? 4 : nl) + (arg ? arglen + 2 : 0) + 1;
  c->key = malloc(kl);
  if (!val || !c->text || !c->key) {
    free(val);
    return -ENOMEM;
  }
  if (arg)
    snprintf(c->key, kl, "%s{%.*s}", attrs ? "ATTR" : name, (int)arglen, arg);
  else
    snprintf(c->key, kl, "%s", name);
  c->any_level = attrs;
  c->negate = ops[op].negate;
  c->kind = ops[op].kind;
  r = c->kind == PAT_COND_GLOB ? compile_glob(c, val, err)
                               : compile_regex(c, val, err);
  free(val);
  return r;
}

void pat_cond_clear(struct pat_cond *c) {
  free(c->text);
  free(c->key);
  for (size_t i = 0; i < c->nalts; i++)
    free(c->alts[i].pat);
  free(c->alts);
  pcre2_code_free(c->re);
  *c = (struct pat_cond){0};
}

/* Whether ch is in the set [p, end) (from '[' to past ']'). */
static bool in_set(const char *p, const char *end, char ch) {
  const char *q = p + 1, *close = end - 1;
  bool neg = q < close && (*q == '!' || *q == '^');
  bool hit = false;
  if (neg)
    q++;
  while (q < close) {
    char lo = *q;
    if (lo == '\\' && q + 1 < close)
      lo = *++q;
    q++;
    if (q + 1 < close &&
        *q == '-') { /* a range lo-hi; a last '-' is a member */
      const char *h = q + 1;
      char hi = *h;
      if (hi == '\\' && h + 1 < close)
        hi = *++h;
      hit |= ch >= lo && ch <= hi;
      q = h + 1;
    } else {
      hit |= ch == lo;
    }
  }
  return hit != neg;
}

/* Whole-string glob match of [p, pend) against s; one star backtrack point
 * suffices. */
static bool glob_full(const char *p, const char *pend, const char *s) {
  const char *star = NULL, *star_s = NULL;
  while (*s) {
    if (p < pend && *p == '*') {
      star = ++p;
      star_s = s;
      continue;
    }
    if (p < pend && *p == '?') {
      p++, s++;
      continue;
    }
    if (p < pend && *p == '[') {
      const char *end = set_end(p, pend); /* checked when compiled */
      if (end && in_set(p, end, *s)) {
        p = end, s++;
        continue;
      }
    } else if (p < pend) {
      const char *lit = p;
      if (*lit == '\\' && lit + 1 < pend)
        lit++;
      if (*lit == *s) {
        p = lit + 1, s++;
        continue;
      }
    }
    if (!star)
      return false;
    p = star;
    s = ++star_s;
  }
  while (p < pend && *p == '*')
    p++;
  return p == pend;
}

bool pat_glob_match(const struct pat_cond *c, const char *val) {
  size_t vl = 0;
  bool known_len = false;
  for (size_t i = 0; i < c->nalts; i++) {
    const struct pat_glob_alt *a = &c->alts[i];
    switch (a->kind) {
    case PAT_GLOB_EXACT:
      if (!known_len)
        vl = strlen(val), known_len = true;
      if (vl == a->len && memcmp(val, a->pat, vl) == 0)
        return true;
      break;
    case PAT_GLOB_PREFIX:
      if (strncmp(val, a->pat, a->len) == 0)
        return true;
      break;
    case PAT_GLOB_FULL:
      if (glob_full(a->pat, a->pat + a->len, val))
        return true;
      break;
    }
  }
  return false;
}
