/* match.c: conditions in udev's rule syntax, with udev's meaning.
 *
 *   KEY==glob  KEY!=glob   fnmatch(3) globs (* ? [...] [!...] [[:alpha:]])
 *                          and | between alternatives
 *   KEY=~re    KEY!~re     PCRE2, matched against the whole value
 *
 * As udev 252 evaluates rules (checked against `udevadm test`):
 *   - a value without * ? [ is compared as a plain string, backslashes and
 *     all; otherwise each alternative is an fnmatch(3) pattern (flags 0);
 *   - an empty alternative matches an empty value;
 *   - a missing ENV{} or DRIVER compares as the empty string, but an
 *     ATTR{}/ATTRS{} that is missing or unreadable never matches, with ==
 *     or with !=;
 *   - attribute values lose their trailing white space before the compare,
 *     unless the condition's own value ends in white space.
 * Where udev would silently compare an ill-formed glob literally (an
 * unclosed '[', an unknown [:class:], a trailing '\\') patmon refuses it. */
#include "config.h"

#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
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

static const char *const char_classes[] = {"alnum", "alpha", "blank", "cntrl",
                                           "digit", "graph", "lower", "print",
                                           "punct", "space", "upper", "xdigit"};

/* Checks the bracket expression opening at p ('['): past its ']' in
 * *ret_end, or NULL with *why when it is not closed before lim or names an
 * unknown class. Follows glibc's fnmatch: a ']' right after '[' or '[!' is a
 * member, '\\' quotes the next character, [:name:] is a class. */
static bool set_check(const char *p, const char *lim, const char **ret_end,
                      const char **why) {
  p++;
  if (p < lim && (*p == '!' || *p == '^'))
    p++;
  for (bool first = true; p < lim; first = false) {
    if (*p == ']' && !first) {
      *ret_end = p + 1;
      return true;
    }
    if (*p == '\\') {
      p += 2;
      continue;
    }
    if (*p == '[' && p + 1 < lim && (p[1] == '.' || p[1] == '=')) {
      *why = "collating symbols and equivalence classes are not supported";
      return false;
    }
    if (*p == '[' && p + 1 < lim && p[1] == ':') {
      const char *name = p + 2, *q = name;
      while (q < lim && *q >= 'a' && *q <= 'z')
        q++;
      if (q + 1 < lim && q[0] == ':' && q[1] == ']') {
        size_t n = (size_t)(q - name);
        bool known = false;
        for (size_t i = 0; i < sizeof(char_classes) / sizeof(char_classes[0]);
             i++)
          known |= strlen(char_classes[i]) == n &&
                   strncmp(char_classes[i], name, n) == 0;
        if (!known) {
          *why = "unknown character class (alnum alpha blank cntrl digit "
                 "graph lower print punct space upper xdigit)";
          return false;
        }
        p = q + 2;
        continue;
      }
      /* not a class: '[' is a member like any other */
    }
    p++;
  }
  *why = "unclosed '['";
  return false;
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
      const char *end;
      if (!set_check(q, lim, &end, why))
        return q - p;
      q = end - 1;
    }
  }
  return -1;
}

bool pat_attr_name_ok(const char *name, size_t len) {
  if (len == 0 || name[0] == '/' || name[len - 1] == '/')
    return false;
  for (size_t i = 0; i < len;) {
    size_t n = 0;
    while (i + n < len && name[i + n] != '/')
      n++;
    if (n == 0 || (n == 1 && name[i] == '.') ||
        (n == 2 && name[i] == '.' && name[i + 1] == '.'))
      return false;
    for (size_t k = i; k < i + n; k++)
      if ((unsigned char)name[k] <= 0x20 || (unsigned char)name[k] >= 0x7f)
        return false;
    i += n + 1;
  }
  return true;
}

static int compile_glob(struct pat_cond *c, const char *val, pm_error_t *err) {
  size_t n = 1, vl = strlen(val);
  for (const char *p = val; *p; p++)
    n += *p == '|';
  c->alts = calloc(n, sizeof(*c->alts));
  if (!c->alts)
    return -ENOMEM;
  /* udev: a value with none of * ? [ is a plain string (a backslash is a
   * backslash); otherwise every alternative goes to fnmatch. */
  bool plain = strpbrk(val, "*?[") == NULL;
  c->keep_ws = vl > 0 && isspace((unsigned char)val[vl - 1]);
  const char *p = val;
  for (size_t i = 0; i < n; i++) {
    size_t len = strcspn(p, "|");
    const char *why;
    long off = plain ? -1 : glob_check(p, len, &why);
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
    if (plain || meta == len)
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
  bool attr = strcmp(name, "ATTR") == 0 || strcmp(name, "ATTRS") == 0;
  if (attr && arg && !pat_attr_name_ok(arg, arglen)) {
    snprintf(err->msg, sizeof(err->msg),
             "%s{%.*s}: an attribute is a file below the device's sysfs "
             "directory (no '.' or '..', not absolute)",
             name, (int)(arglen > 100 ? 100 : arglen), arg);
    return -EBADMSG;
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
  c->attr = attr;
  c->negate = ops[op].negate;
  c->kind = ops[op].kind;
  r = c->kind == PAT_COND_GLOB ? compile_glob(c, val, err)
                               : compile_regex(c, val, err);
  c->value = val;
  return r;
}

void pat_cond_clear(struct pat_cond *c) {
  free(c->text);
  free(c->value);
  free(c->key);
  for (size_t i = 0; i < c->nalts; i++)
    free(c->alts[i].pat);
  free(c->alts);
  pcre2_code_free(c->re);
  *c = (struct pat_cond){0};
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
      /* udev's own matcher; the caller runs in the C locale. */
      if (fnmatch(a->pat, val, 0) == 0)
        return true;
      break;
    }
  }
  return false;
}
