/* pm_conf.c: preprocessing (comments, includes, line map) around libconfuse. */
#include "config.h"

#include "pm_conf.h"
#include "pm_map.h"
#include "pm_vec.h"

#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PM_CONF_MAX_FILE (4u << 20)
#define PM_CONF_MAX_TOTAL (16u << 20)
#define PM_CONF_MAX_DEPTH 8

struct line_src {
  unsigned file;
  unsigned line;
};

/* A titled section `name title {...}` of the text: byte offsets. */
struct section {
  size_t name, name_len, title, title_len; /* title: unquoted */
  size_t tok, tok_len; /* the title as written, quotes included */
  size_t start, end;   /* from its name to past its '}' (or the end) */
  unsigned depth;      /* 0: top level */
};

struct pm_conf {
  cfg_t *cfg;
  pm_buf_t text; /* what libconfuse parsed: comments gone, includes spliced */
  PM_VEC(char *) files;
  PM_VEC(struct line_src) map; /* one per line of text */
  size_t *line_start;          /* byte offset of each line of text */
  /* Every titled section, in text order, and a map of (name, title) to the
   * first one (index + 1): errors are located in constant time, so parsing
   * stays linear in the number of sections. */
  PM_VEC(struct section) secs;
  pm_map_t sec_index;
};

/* The preprocessor's walk over one file. */
struct pp {
  pm_conf_t *c;
  pm_error_t *err;
  const char *stack[PM_CONF_MAX_DEPTH + 1]; /* real paths being included */
  int depth;
};

static int add_file(pm_conf_t *c, const char *name, unsigned *ret_idx) {
  char *copy = strdup(name);
  char **f = copy ? pm_vec_push(&c->files) : NULL;
  if (!f) {
    free(copy);
    return -ENOMEM;
  }
  *f = copy;
  *ret_idx = (unsigned)(c->files.n - 1);
  return 0;
}

/* Ends the current output line, which came from file:line. */
static int end_line(pm_conf_t *c, unsigned file, unsigned line) {
  struct line_src *m = pm_vec_push(&c->map);
  if (!m)
    return -ENOMEM;
  *m = (struct line_src){file, line};
  return pm_buf_putc(&c->text, '\n');
}

/* Indexes where each line of text starts, for offset <-> line lookups. */
static int index_lines(pm_conf_t *c) {
  c->line_start = malloc((c->map.n + 1) * sizeof(*c->line_start));
  if (!c->line_start)
    return -ENOMEM;
  size_t l = 0;
  c->line_start[l++] = 0;
  for (size_t i = 0; i < c->text.len && l < c->map.n; i++)
    if (c->text.data[i] == '\n')
      c->line_start[l++] = i + 1;
  return 0;
}

/* The line holding byte off: the last line starting at or before it. */
static size_t line_of_offset(const pm_conf_t *c, size_t off) {
  size_t lo = 0, hi = c->map.n;
  if (hi == 0)
    return 0;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (c->line_start[mid] <= off)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* The map key of a section, "<name length>:<name><title>": one per (name,
 * title), whatever bytes the title holds. Returns 0 or -ENOMEM. */
static int sec_key(pm_buf_t *k, const char *name, size_t nlen,
                   const char *title, size_t tlen) {
  pm_buf_reset(k);
  pm_buf_printf(k, "%zu:", nlen);
  pm_buf_append(k, name, nlen);
  return pm_buf_append(k, title, tlen);
}

/* The first section `name title`, or NULL (also when memory runs out). */
static const struct section *sec_find(const pm_conf_t *c, const char *name,
                                      const char *title) {
  pm_buf_t k = {0};
  uintptr_t i = 0;
  if (sec_key(&k, name, strlen(name), title, strlen(title)) == 0)
    i = (uintptr_t)pm_map_getn(&c->sec_index, k.data, k.len);
  pm_buf_free(&k);
  return i ? &c->secs.v[i - 1] : NULL;
}

static int sec_add(pm_conf_t *c, const struct section *add) {
  struct section *s = pm_vec_push(&c->secs);
  if (!s)
    return -ENOMEM;
  *s = *add;
  return 0;
}

static int sec_index_all(pm_conf_t *c) {
  const char *t = c->text.data;
  pm_buf_t k = {0};
  int r = 0;
  for (size_t i = 0; r == 0 && i < c->secs.n; i++) {
    const struct section *s = &c->secs.v[i];
    r = sec_key(&k, t + s->name, s->name_len, t + s->title, s->title_len);
    /* the first one of a name and title is the one found */
    if (r == 0 && !pm_map_getn(&c->sec_index, k.data, k.len) &&
        pm_map_setn(&c->sec_index, k.data, k.len, (void *)(uintptr_t)(i + 1),
                    NULL) < 0)
      r = -ENOMEM;
  }
  pm_buf_free(&k);
  return r;
}

static bool word_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static bool blank(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Past the string literal opening at i (quote q), or the end of t. */
static size_t skip_string(const char *t, size_t len, size_t i) {
  char q = t[i++];
  while (i < len && t[i] != q)
    i += t[i] == '\\' && i + 1 < len ? 2 : 1;
  return i < len ? i + 1 : len;
}

/* One pass over the text: every `name title {`, where it starts and where
 * its closing brace is. */
static int index_sections(pm_conf_t *c) {
  const char *t = c->text.data;
  size_t len = c->text.len, opened[64], depth = 0;
  for (size_t i = 0; t && i < len;) {
    char ch = t[i];
    if (ch == '"' || ch == '\'') {
      i = skip_string(t, len, i);
    } else if (ch == '}') {
      if (depth > 0 && --depth < 64 && opened[depth] != SIZE_MAX)
        c->secs.v[opened[depth]].end = i + 1;
      i++;
    } else if (ch == '{') {
      if (depth < 64)
        opened[depth] = SIZE_MAX; /* an anonymous block */
      depth++;
      i++;
    } else if (word_char(ch) && (i == 0 || !word_char(t[i - 1]))) {
      struct section s = {
          .name = i, .start = i, .end = len, .depth = (unsigned)depth};
      while (i < len && word_char(t[i]))
        i++;
      s.name_len = i - s.name;
      size_t j = i;
      while (j < len && blank(t[j]))
        j++;
      if (j == i || j >= len)
        continue;
      size_t tend;
      if (t[j] == '"' || t[j] == '\'') {
        tend = skip_string(t, len, j);
        s.tok = j, s.tok_len = tend - j;
        s.title = j + 1;
        s.title_len = tend > j + 1 ? tend - j - 2 : 0;
      } else if (word_char(t[j])) {
        for (tend = j; tend < len && word_char(t[tend]); tend++)
          ;
        s.tok = j, s.tok_len = tend - j;
        s.title = j;
        s.title_len = tend - j;
      } else {
        continue;
      }
      size_t k = tend;
      while (k < len && blank(t[k]))
        k++;
      if (k >= len || t[k] != '{') {
        i = j; /* not a section: the title may be a word to look at */
        continue;
      }
      if (depth < 64)
        opened[depth] = c->secs.n;
      depth++;
      int r = sec_add(c, &s);
      if (r < 0)
        return r;
      i = k + 1;
    } else {
      i++;
    }
  }
  return sec_index_all(c);
}

static int preprocess(struct pp *pp, const char *name, const char *buf,
                      size_t len);

/* Reads an include target (path relative to dir unless absolute) and
 * splices it in. Globs expand in sorted order; a literal path must exist. */
static int include_path(struct pp *pp, const char *from, unsigned from_line,
                        const char *dir, const char *target) {
  char full[PATH_MAX];
  if (target[0] == '/')
    snprintf(full, sizeof(full), "%s", target);
  else
    snprintf(full, sizeof(full), "%s/%s", dir, target);
  int literal = strpbrk(target, "*?[") == NULL;
  glob_t g = {0};
  int gr = glob(full, 0, NULL, &g);
  if (gr == GLOB_NOMATCH && !literal) {
    globfree(&g);
    return 0;
  }
  if (gr != 0) {
    globfree(&g);
    pm_error_set(pp->err, from, from_line, target, "cannot include: %s",
                 gr == GLOB_NOMATCH ? strerror(ENOENT) : "glob failed");
    return gr == GLOB_NOSPACE ? -ENOMEM : -ENOENT;
  }
  int r = 0;
  pm_buf_t content = {0};
  for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
    const char *p = g.gl_pathv[i];
    /* A FIFO or a device is refused there: it would block or never end. */
    r = pm_file_read(p, PM_CONF_MAX_FILE, &content);
    if (r < 0) {
      pm_error_set(pp->err, from, from_line, p, "cannot include: %s",
                   r == -EFBIG ? "file too large" : pm_strerror(r));
      break;
    }
    r = preprocess(pp, p, content.data ? content.data : "", content.len);
  }
  pm_buf_free(&content);
  globfree(&g);
  return r;
}

/* If line (up to its end) is an include directive, returns its length and
 * the quoted target in *ret_target (allocated). 0 when it is not one,
 * negative errno for a malformed directive. */
static ssize_t parse_include(const char *p, const char *end,
                             char **ret_target) {
  const char *s = p;
  if ((size_t)(end - s) < 8 || strncmp(s, "include", 7) != 0 ||
      !strchr(" \t(\"'", s[7]))
    return 0;
  s += 7;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  int paren = s < end && *s == '(';
  if (paren)
    s++;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if (s >= end || (*s != '"' && *s != '\''))
    return -EBADMSG;
  char q = *s++;
  const char *t = s;
  while (s < end && *s != q && *s != '\n')
    s++;
  if (s >= end || *s != q || s == t)
    return -EBADMSG;
  size_t tlen = (size_t)(s - t);
  s++;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if (paren) {
    if (s >= end || *s != ')')
      return -EBADMSG;
    s++;
  }
  while (s < end && (*s == ' ' || *s == '\t' || *s == ';' || *s == '\r'))
    s++;
  if (s < end && *s == '#')
    while (s < end && *s != '\n')
      s++;
  if (s < end && *s != '\n')
    return -EBADMSG;
  char *target = strndup(t, tlen);
  if (!target)
    return -ENOMEM;
  *ret_target = target;
  return s - p;
}

static int preprocess(struct pp *pp, const char *name, const char *buf,
                      size_t len) {
  pm_conf_t *c = pp->c;
  char real[PATH_MAX], dirbuf[PATH_MAX];
  unsigned fidx, line = 1;
  int r;

  if (pp->depth > PM_CONF_MAX_DEPTH) {
    pm_error_set(pp->err, name, 0, NULL, "includes nested more than %d deep",
                 PM_CONF_MAX_DEPTH);
    return -ELOOP;
  }
  if (!realpath(name, real))
    snprintf(real, sizeof(real), "%s", name);
  for (int i = 0; i < pp->depth; i++)
    if (strcmp(pp->stack[i], real) == 0) {
      pm_error_set(pp->err, name, 0, NULL, "include cycle");
      return -ELOOP;
    }
  if (memchr(buf, '\0', len)) {
    pm_error_set(pp->err, name, 0, NULL, "file contains a NUL byte");
    return -EBADMSG;
  }
  r = add_file(c, name, &fidx);
  if (r < 0)
    return r;
  snprintf(dirbuf, sizeof(dirbuf), "%s", name);
  const char *dir = dirname(dirbuf);
  pp->stack[pp->depth++] = real;

  const char *p = buf, *end = buf + len;
  int line_start = 1;
  while (r == 0 && p < end) {
    if (c->text.len > PM_CONF_MAX_TOTAL) {
      pm_error_set(pp->err, name, line, NULL, "configuration too large");
      r = -EFBIG;
      break;
    }
    char ch = *p;
    if (line_start && (ch == ' ' || ch == '\t')) {
      r = pm_buf_putc(&c->text, ch);
      p++;
      continue;
    }
    if (line_start && ch == 'i') {
      char *target = NULL;
      ssize_t n = parse_include(p, end, &target);
      if (n < 0) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        char text[128];
        snprintf(text, sizeof(text), "%.*s", (int)((eol ? eol : end) - p), p);
        pm_error_set(pp->err, name, line, text,
                     "malformed include: use include \"file\"");
        r = n == -ENOMEM ? n : -EBADMSG;
        break;
      }
      if (n > 0) {
        /* The included lines replace this one in the output. */
        r = include_path(pp, name, line, dir, target);
        free(target);
        p += n;
        if (r == 0 && p < end && *p == '\n') {
          p++;
          line++;
        }
        continue;
      }
    }
    line_start = 0;
    if (ch == '\n') {
      r = end_line(c, fidx, line++);
      line_start = 1;
      p++;
    } else if (ch == '"' || ch == '\'') {
      /* Strings are copied verbatim, escapes and all. */
      const char *s = p + 1;
      while (s < end && *s != ch) {
        if (*s == '\\' && s + 1 < end)
          s++;
        s++;
      }
      if (s < end)
        s++;
      for (const char *q = p; r == 0 && q < s; q++) {
        if (*q == '\n')
          r = end_line(c, fidx, line++);
        else
          r = pm_buf_putc(&c->text, *q);
      }
      p = s;
    } else if (ch == '#' || (ch == '/' && p + 1 < end && p[1] == '/')) {
      while (p < end && *p != '\n')
        p++;
    } else if (ch == '/' && p + 1 < end && p[1] == '*') {
      /* A comment never closed would silently swallow the rest. */
      const char *shut = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
      if (!shut) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        char text[128];
        snprintf(text, sizeof(text), "%.*s", (int)((eol ? eol : end) - p), p);
        pm_error_set(pp->err, name, line, text, "'/*' is never closed");
        r = -EBADMSG;
        break;
      }
      r = pm_buf_putc(&c->text, ' ');
      for (p += 2; r == 0 && p < shut; p++)
        if (*p == '\n')
          r = end_line(c, fidx, line++);
      p = shut + 2;
    } else {
      r = pm_buf_putc(&c->text, ch);
      p++;
    }
  }
  /* A last line without a line break still gets its map entry. */
  if (r == 0 && len > 0 && buf[len - 1] != '\n')
    r = end_line(c, fidx, line);
  pp->depth--;
  return r;
}

/* libconfuse reports errors through a callback without user data; parsing
 * holds parse_lock, so the current parse is a plain static. */
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  pm_conf_t *c;
  pm_error_t *err;
  int seen;
} cur;

static void line_text(const pm_conf_t *c, size_t line0, char *buf, size_t len) {
  if (!c->text.data || line0 >= c->map.n) {
    buf[0] = '\0';
    return;
  }
  const char *p = c->text.data + c->line_start[line0];
  while (*p == ' ' || *p == '\t')
    p++;
  size_t n = strcspn(p, "\n");
  while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
    n--;
  snprintf(buf, len, "%.*s", (int)n, p);
}

__attribute__((format(printf, 2, 0))) static void
on_error(cfg_t *cfg, const char *fmt, va_list ap) {
  if (cur.seen++)
    return;
  pm_conf_t *c = cur.c;
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t l = cfg && cfg->line > 0 ? (size_t)cfg->line - 1 : 0;
  if (c->map.n == 0) {
    pm_error_set(cur.err, c->files.n ? c->files.v[0] : "", 0, NULL, "%s", msg);
    return;
  }
  if (l >= c->map.n)
    l = c->map.n - 1;
  char text[256];
  line_text(c, l, text, sizeof(text));
  pm_error_set(cur.err, c->files.v[c->map.v[l].file], c->map.v[l].line, text,
               "%s", msg);
}

/* libconfuse accepts a section left open at the end of the file; a missing
 * brace there is an error an operator wants to hear about. */
static int check_braces(const pm_conf_t *c, pm_error_t *err) {
  size_t open_line[64], depth = 0, line = 0;
  const char *t = c->text.data;
  for (size_t i = 0; t && t[i]; i++) {
    char ch = t[i];
    if (ch == '\n') {
      line++;
    } else if (ch == '"' || ch == '\'') {
      for (i++; t[i] && t[i] != ch; i++) {
        if (t[i] == '\\' && t[i + 1])
          i++;
        if (t[i] == '\n')
          line++;
      }
      if (!t[i])
        break;
    } else if (ch == '{') {
      if (depth < 64)
        open_line[depth] = line;
      depth++;
    } else if (ch == '}' && depth > 0) {
      depth--;
    }
  }
  if (depth == 0 || c->map.n == 0)
    return 0;
  size_t l = open_line[depth - 1 < 64 ? depth - 1 : 63];
  if (l >= c->map.n)
    l = c->map.n - 1;
  char text[256];
  line_text(c, l, text, sizeof(text));
  pm_error_set(err, c->files.v[c->map.v[l].file], c->map.v[l].line, text,
               "'{' is never closed");
  return -EBADMSG;
}

/* libconfuse looks for an earlier section of the same title each time it
 * opens a titled section, which makes a file of n sections cost n^2. So
 * top-level titled sections whose titles must be unique (CFGF_MULTI |
 * CFGF_TITLE | CFGF_NO_TITLE_DUPES) reach it without their titles: pm_conf
 * checks that they are unique with its own hash, and gives each parsed
 * section its title back, in text order. */
static bool untitled(const cfg_opt_t *o) {
  const int want = CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES;
  return o->type == CFGT_SEC && (o->flags & want) == want;
}

static const cfg_opt_t *untitled_opt(const pm_conf_t *c, const cfg_opt_t *opts,
                                     const struct section *s) {
  if (s->depth != 0)
    return NULL;
  for (const cfg_opt_t *o = opts; o->name; o++)
    if (untitled(o) && strlen(o->name) == s->name_len &&
        memcmp(o->name, c->text.data + s->name, s->name_len) == 0)
      return o;
  return NULL;
}

/* The text and options libconfuse gets: titles blanked out (lines and
 * offsets stay), those options without CFGF_TITLE. 0 with *ret_text NULL
 * when a title has an escape or a line break (libconfuse unescapes it): the
 * file then goes to libconfuse as it is. -EBADMSG on a duplicate title. */
static int strip_titles(pm_conf_t *c, cfg_opt_t *opts, char **ret_text,
                        cfg_opt_t **ret_opts, pm_error_t *err) {
  *ret_text = NULL;
  *ret_opts = NULL;
  size_t nopts = 0;
  while (opts[nopts].name)
    nopts++;
  for (size_t i = 0; i < c->secs.n; i++) {
    const struct section *s = &c->secs.v[i];
    if (!untitled_opt(c, opts, s))
      continue;
    const char *t = c->text.data + s->title;
    if (memchr(t, '\\', s->title_len) || memchr(t, '\n', s->title_len))
      return 0;
  }
  char *text = malloc(c->text.len + 1);
  cfg_opt_t *o = calloc(nopts + 1, sizeof(*o));
  if (!text || !o) {
    free(text);
    free(o);
    return -ENOMEM;
  }
  memcpy(text, c->text.data, c->text.len + 1);
  memcpy(o, opts, (nopts + 1) * sizeof(*o));
  for (size_t i = 0; i < nopts; i++)
    if (untitled(&o[i]))
      o[i].flags &= ~(CFGF_TITLE | CFGF_NO_TITLE_DUPES);
  for (size_t i = 0; i < c->secs.n; i++) {
    const struct section *s = &c->secs.v[i];
    if (!untitled_opt(c, opts, s))
      continue;
    char title[256];
    snprintf(title, sizeof(title), "%.*s", (int)s->title_len,
             c->text.data + s->title);
    char sec_name[64];
    snprintf(sec_name, sizeof(sec_name), "%.*s", (int)s->name_len,
             c->text.data + s->name);
    if (s->title_len < sizeof(title) && sec_find(c, sec_name, title) != s) {
      size_t l = line_of_offset(c, s->start);
      char line[256];
      line_text(c, l, line, sizeof(line));
      pm_error_set(err, c->files.v[c->map.v[l].file], c->map.v[l].line, line,
                   "found duplicate title '%s'", title);
      free(text);
      free(o);
      return -EBADMSG;
    }
    memset(text + s->tok, ' ', s->tok_len);
  }
  *ret_text = text;
  *ret_opts = o;
  return 0;
}

/* Gives the sections parsed from a stripped text their titles. False when
 * the parse does not line up with the index (then nothing is trusted). */
static bool restore_titles(pm_conf_t *c, cfg_opt_t *opts) {
  for (const cfg_opt_t *o = opts; o->name; o++) {
    if (!untitled(o))
      continue;
    unsigned n = cfg_size(c->cfg, o->name), k = 0;
    for (size_t i = 0; i < c->secs.n; i++) {
      const struct section *s = &c->secs.v[i];
      if (untitled_opt(c, opts, s) != o)
        continue;
      cfg_t *sec = k < n ? cfg_getnsec(c->cfg, o->name, k) : NULL;
      if (!sec)
        return false;
      k++;
      free(sec->title);
      sec->title = strndup(c->text.data + s->title, s->title_len);
      if (!sec->title)
        return false;
    }
    if (k != n)
      return false;
  }
  /* Lookups by title (cfg_gettsec) want the flag back. */
  for (cfg_opt_t *o = c->cfg->opts; o->name; o++)
    for (const cfg_opt_t *orig = opts; orig->name; orig++)
      if (untitled(orig) && strcmp(orig->name, o->name) == 0)
        o->flags |= CFGF_TITLE | CFGF_NO_TITLE_DUPES;
  return true;
}

/* One libconfuse parse of text with opts into c->cfg; holds parse_lock. */
static int parse_locked(pm_conf_t *c, const char *name, const char *text,
                        cfg_opt_t *opts, int flags, pm_error_t *err) {
  c->cfg = cfg_init(opts, flags);
  if (!c->cfg)
    return -ENOMEM;
  cur.c = c;
  cur.err = err;
  cur.seen = 0;
  cfg_set_error_function(c->cfg, on_error);
  int pr = cfg_parse_buf(c->cfg, text);
  if (pr != CFG_SUCCESS && !cur.seen)
    pm_error_set(err, name, 0, NULL, "cannot parse");
  cur.c = NULL;
  cur.err = NULL;
  return pr == CFG_SUCCESS ? 0 : -EBADMSG;
}

int pm_conf_load_buf(const char *buf, size_t len, const char *name,
                     cfg_opt_t *opts, int flags, pm_conf_t **ret,
                     pm_error_t *err) {
  pm_conf_t *c = calloc(1, sizeof(*c));
  char *text = NULL;
  cfg_opt_t *lib_opts = NULL;
  int r;
  if (!c)
    return -ENOMEM;
  struct pp pp = {.c = c, .err = err};
  r = preprocess(&pp, name, buf, len);
  if (r == 0 && !c->text.data)
    r = pm_buf_puts(&c->text, "");
  if (r == 0)
    r = index_lines(c);
  if (r == 0)
    r = index_sections(c);
  if (r == 0)
    r = strip_titles(c, opts, &text, &lib_opts, err);
  if (r < 0)
    goto out;

  pthread_mutex_lock(&parse_lock);
  if (text) {
    r = parse_locked(c, name, text, lib_opts, flags, err);
    if (r == 0 && !restore_titles(c, opts)) {
      cfg_free(c->cfg); /* not expected: parse it the slow way */
      c->cfg = NULL;
      r = 1;
    }
  }
  if (!text || r == 1)
    r = parse_locked(c, name, c->text.data, opts, flags, err);
  pthread_mutex_unlock(&parse_lock);
  if (r == 0)
    r = check_braces(c, err);
out:
  free(text);
  free(lib_opts);
  if (r < 0) {
    pm_conf_free(c);
    return r;
  }
  *ret = c;
  return 0;
}

int pm_conf_load(const char *path, cfg_opt_t *opts, int flags, pm_conf_t **ret,
                 pm_error_t *err) {
  pm_buf_t b = {0};
  int r = pm_file_read(path, PM_CONF_MAX_FILE, &b);
  if (r < 0) {
    pm_error_set(err, path, 0, NULL, "cannot read: %s",
                 r == -EFBIG ? "file too large" : pm_strerror(r));
    pm_buf_free(&b);
    return r;
  }
  r = pm_conf_load_buf(b.data ? b.data : "", b.len, path, opts, flags, ret,
                       err);
  pm_buf_free(&b);
  return r;
}

cfg_t *pm_conf_cfg(const pm_conf_t *c) { return c->cfg; }

static void pos_of(const pm_conf_t *c, size_t l, const char **ret_file,
                   unsigned *ret_line) {
  if (c->map.n == 0) {
    *ret_file = c->files.n ? c->files.v[0] : "";
    *ret_line = 0;
    return;
  }
  *ret_file = c->files.v[c->map.v[l].file];
  *ret_line = c->map.v[l].line;
}

void pm_conf_section_pos(const pm_conf_t *c, const char *sec_name,
                         const char *title, const char **ret_file,
                         unsigned *ret_line) {
  const struct section *s = title ? sec_find(c, sec_name, title) : NULL;
  pos_of(c, s ? line_of_offset(c, s->start) : 0, ret_file, ret_line);
}

void pm_conf_locate(const pm_conf_t *c, const char *sec_name, const char *title,
                    const char *needle, const char **ret_file,
                    unsigned *ret_line) {
  const struct section *s = title ? sec_find(c, sec_name, title) : NULL;
  size_t from = s ? s->start : 0, to = s ? s->end : c->text.len;
  size_t l = line_of_offset(c, from);
  if (c->map.n && needle && *needle && to > from) {
    /* Within the section only: the search costs its length, not the
     * file's. */
    const char *hit =
        memmem(c->text.data + from, to - from, needle, strlen(needle));
    if (hit)
      l = line_of_offset(c, (size_t)(hit - c->text.data));
  }
  pos_of(c, l, ret_file, ret_line);
}

void pm_conf_free(pm_conf_t *c) {
  if (!c)
    return;
  if (c->cfg) {
    /* libconfuse 3.3's cfg_free() of a root also destroys the global
     * lexer: it must not run while another thread parses. */
    pthread_mutex_lock(&parse_lock);
    cfg_free(c->cfg);
    pthread_mutex_unlock(&parse_lock);
  }
  for (size_t i = 0; i < c->files.n; i++)
    free(c->files.v[i]);
  pm_vec_free(&c->files);
  pm_vec_free(&c->map);
  free(c->line_start);
  pm_vec_free(&c->secs);
  pm_map_free(&c->sec_index, NULL);
  pm_buf_free(&c->text);
  free(c);
}
