/* json.c: a small pull parser for snapshots. It decodes strings in place
 * (escapes only shrink), so values can point into the caller's buffer. */
#include "config.h"

#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 32

int pat_json_fail(struct pat_json *j, const char *what) {
  if (j->err && !j->failed) {
    unsigned line = 1;
    for (const char *p = j->start; p < j->p; p++)
      line += *p == '\n';
    char text[24];
    size_t n = (size_t)(j->end - j->p) < 20 ? (size_t)(j->end - j->p) : 20;
    snprintf(text, sizeof(text), "%.*s", (int)n, j->p);
    for (char *t = text; *t; t++)
      if ((unsigned char)*t < 0x20)
        *t = ' ';
    pm_error_set(j->err, j->name, line, text, "%s", what);
  }
  j->failed = true;
  return -EBADMSG;
}

void pat_json_init(struct pat_json *j, char *buf, size_t len, const char *name,
                   pm_error_t *err) {
  *j = (struct pat_json){
      .p = buf, .start = buf, .end = buf + len, .name = name, .err = err};
}

static void ws(struct pat_json *j) {
  while (j->p < j->end &&
         (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
    j->p++;
}

int pat_json_peek(struct pat_json *j) {
  if (j->p < j->end && (unsigned char)*j->p > ' ')
    return (unsigned char)*j->p;
  ws(j);
  return j->p < j->end ? (unsigned char)*j->p : -1;
}

int pat_json_expect(struct pat_json *j, char c) {
  if (pat_json_peek(j) != (unsigned char)c) {
    char what[32];
    snprintf(what, sizeof(what), "expected '%c'", c);
    return pat_json_fail(j, what);
  }
  j->p++;
  return 0;
}

static int hex4(const char *p, unsigned *ret) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *ret = v;
  return 0;
}

static char *put_utf8(char *w, unsigned cp) {
  if (cp < 0x80) {
    *w++ = (char)cp;
  } else if (cp < 0x800) {
    *w++ = (char)(0xc0 | cp >> 6);
    *w++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xe0 | cp >> 12);
    *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *w++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *w++ = (char)(0xf0 | cp >> 18);
    *w++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *w++ = (char)(0x80 | (cp & 0x3f));
  }
  return w;
}

int pat_json_string(struct pat_json *j, char **ret) {
  if (pat_json_peek(j) != '"')
    return pat_json_fail(j, "expected a string");
  /* Characters that end the fast scan: quote, backslash, controls (the
   * buffer's terminating NUL among them, so no bound check is needed). */
  static const bool stop[256] = {
      [0 ... 0x1f] = true, ['"'] = true, ['\\'] = true};
  char *r = ++j->p, *w = r;
  /* Most strings have no escapes: find the end without copying. */
  while (!stop[(unsigned char)*j->p])
    j->p++;
  w = j->p;
  for (;;) {
    if (j->p >= j->end)
      return pat_json_fail(j, "unterminated string");
    char c = *j->p;
    if (c == '"')
      break;
    if ((unsigned char)c < 0x20)
      return pat_json_fail(j, "control character in string");
    if (c != '\\') {
      *w++ = c;
      j->p++;
      continue;
    }
    if (j->end - j->p < 2)
      return pat_json_fail(j, "unterminated string");
    char e = j->p[1];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = e ? strchr(from, e) : NULL;
    if (k) {
      *w++ = to[k - from];
      j->p += 2;
      continue;
    }
    unsigned cp;
    if (e != 'u' || j->end - j->p < 6 || hex4(j->p + 2, &cp) < 0)
      return pat_json_fail(j, "bad escape in string");
    j->p += 6;
    if (cp >= 0xd800 && cp < 0xdc00) {
      unsigned lo;
      if (j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
          hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        j->p += 6;
      } else {
        cp = 0xfffd;
      }
    } else if (cp >= 0xdc00 && cp < 0xe000) {
      cp = 0xfffd;
    }
    if (cp == 0)
      return pat_json_fail(j, "\\u0000 is not allowed in strings");
    w = put_utf8(w, cp);
  }
  j->p++;
  *w = '\0';
  *ret = r;
  return 0;
}

int pat_json_int(struct pat_json *j, long *ret) {
  ws(j);
  char *end;
  errno = 0;
  long v = j->p < j->end ? strtol(j->p, &end, 10) : 0;
  if (j->p >= j->end || end == j->p || end > j->end || errno)
    return pat_json_fail(j, "expected an integer");
  j->p = end;
  *ret = v;
  return 0;
}

static int skip(struct pat_json *j, int depth) {
  if (depth > JSON_MAX_DEPTH)
    return pat_json_fail(j, "nested too deeply");
  int c = pat_json_peek(j);
  char *s;
  bool first = true;
  int r;
  switch (c) {
  case '"':
    return pat_json_string(j, &s);
  case '{':
    j->p++;
    while ((r = pat_json_member(j, &first, &s)) > 0)
      if ((r = skip(j, depth + 1)) < 0)
        return r;
    return r;
  case '[':
    j->p++;
    while ((r = pat_json_element(j, &first)) > 0)
      if ((r = skip(j, depth + 1)) < 0)
        return r;
    return r;
  default:
    break;
  }
  static const char *const words[] = {"true", "false", "null"};
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if ((size_t)(j->end - j->p) >= n && strncmp(j->p, words[i], n) == 0) {
      j->p += n;
      return 0;
    }
  }
  char *end;
  if (j->p < j->end && (c == '-' || (c >= '0' && c <= '9'))) {
    strtod(j->p, &end);
    if (end > j->p && end <= j->end) {
      j->p = end;
      return 0;
    }
  }
  return pat_json_fail(j, "expected a value");
}

int pat_json_skip(struct pat_json *j) { return skip(j, 0); }

int pat_json_member(struct pat_json *j, bool *first, char **ret_key) {
  int c = pat_json_peek(j);
  if (c == '}') {
    j->p++;
    return 0;
  }
  if (!*first) {
    if (c != ',')
      return pat_json_fail(j, "expected ',' or '}'");
    j->p++;
  }
  *first = false;
  int r = pat_json_string(j, ret_key);
  if (r == 0)
    r = pat_json_expect(j, ':');
  return r < 0 ? r : 1;
}

int pat_json_element(struct pat_json *j, bool *first) {
  int c = pat_json_peek(j);
  if (c == ']') {
    j->p++;
    return 0;
  }
  if (!*first) {
    if (c != ',')
      return pat_json_fail(j, "expected ',' or ']'");
    j->p++;
  }
  *first = false;
  return pat_json_peek(j) < 0 ? pat_json_fail(j, "unexpected end of input") : 1;
}

int pat_json_end(struct pat_json *j) {
  return pat_json_peek(j) < 0
             ? 0
             : pat_json_fail(j, "trailing text after the value");
}
