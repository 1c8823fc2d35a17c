/* pm_conf.c: preprocessing (comments, includes, line map) around libconfuse. */
#include "config.h"

#include "pm_conf.h"

#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
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

struct pm_conf {
  cfg_t *cfg;
  pm_buf_t text; /* what libconfuse parsed: comments gone, includes spliced */
  char **files;
  size_t nfiles;
  struct line_src *map; /* one per line of text */
  size_t *line_start;   /* byte offset of each line of text */
  size_t nlines, cap_lines;
};

/* The preprocessor's walk over one file. */
struct pp {
  pm_conf_t *c;
  pm_error_t *err;
  const char *stack[PM_CONF_MAX_DEPTH + 1]; /* real paths being included */
  int depth;
};

static int add_file(pm_conf_t *c, const char *name, unsigned *ret_idx) {
  char **f = realloc(c->files, (c->nfiles + 1) * sizeof(*f));
  if (!f)
    return -ENOMEM;
  c->files = f;
  f[c->nfiles] = strdup(name);
  if (!f[c->nfiles])
    return -ENOMEM;
  *ret_idx = (unsigned)c->nfiles++;
  return 0;
}

/* Ends the current output line, which came from file:line. */
static int end_line(pm_conf_t *c, unsigned file, unsigned line) {
  if (c->nlines == c->cap_lines) {
    size_t cap = c->cap_lines ? c->cap_lines * 2 : 256;
    struct line_src *m = realloc(c->map, cap * sizeof(*m));
    if (!m)
      return -ENOMEM;
    c->map = m;
    c->cap_lines = cap;
  }
  c->map[c->nlines++] = (struct line_src){file, line};
  return pm_buf_putc(&c->text, '\n');
}

/* Indexes where each line of text starts, for offset <-> line lookups. */
static int index_lines(pm_conf_t *c) {
  c->line_start = malloc((c->nlines + 1) * sizeof(*c->line_start));
  if (!c->line_start)
    return -ENOMEM;
  size_t l = 0;
  c->line_start[l++] = 0;
  for (size_t i = 0; i < c->text.len && l < c->nlines; i++)
    if (c->text.data[i] == '\n')
      c->line_start[l++] = i + 1;
  return 0;
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
    struct stat st;
    if (stat(p, &st) == 0 && !S_ISREG(st.st_mode)) {
      /* A FIFO or a device would block or never end. */
      pm_error_set(pp->err, from, from_line, p,
                   "cannot include: not a regular file");
      r = -EINVAL;
      break;
    }
    r = pm_file_read(p, PM_CONF_MAX_FILE, &content);
    if (r < 0) {
      pm_error_set(pp->err, from, from_line, p, "cannot include: %s",
                   r == -EFBIG ? "file too large" : strerror(-r));
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
      p += 2;
      r = pm_buf_putc(&c->text, ' ');
      while (r == 0 && p < end &&
             !(p[0] == '*' && p + 1 < end && p[1] == '/')) {
        if (*p == '\n')
          r = end_line(c, fidx, line++);
        p++;
      }
      p = p < end ? p + 2 : end;
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
  if (!c->text.data || line0 >= c->nlines) {
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
  if (c->nlines == 0) {
    pm_error_set(cur.err, c->nfiles ? c->files[0] : "", 0, NULL, "%s", msg);
    return;
  }
  if (l >= c->nlines)
    l = c->nlines - 1;
  char text[256];
  line_text(c, l, text, sizeof(text));
  pm_error_set(cur.err, c->files[c->map[l].file], c->map[l].line, text, "%s",
               msg);
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
  if (depth == 0 || c->nlines == 0)
    return 0;
  size_t l = open_line[depth - 1 < 64 ? depth - 1 : 63];
  if (l >= c->nlines)
    l = c->nlines - 1;
  char text[256];
  line_text(c, l, text, sizeof(text));
  pm_error_set(err, c->files[c->map[l].file], c->map[l].line, text,
               "'{' is never closed");
  return -EBADMSG;
}

int pm_conf_load_buf(const char *buf, size_t len, const char *name,
                     cfg_opt_t *opts, int flags, pm_conf_t **ret,
                     pm_error_t *err) {
  pm_conf_t *c = calloc(1, sizeof(*c));
  int r;
  if (!c)
    return -ENOMEM;
  struct pp pp = {.c = c, .err = err};
  r = preprocess(&pp, name, buf, len);
  if (r == 0)
    r = index_lines(c);
  if (r < 0)
    goto out;
  if (!c->text.data)
    r = pm_buf_puts(&c->text, "");
  if (r < 0)
    goto out;

  pthread_mutex_lock(&parse_lock);
  c->cfg = cfg_init(opts, flags);
  if (!c->cfg) {
    pthread_mutex_unlock(&parse_lock);
    r = -ENOMEM;
    goto out;
  }
  cur.c = c;
  cur.err = err;
  cur.seen = 0;
  cfg_set_error_function(c->cfg, on_error);
  int pr = cfg_parse_buf(c->cfg, c->text.data);
  if (pr != CFG_SUCCESS && !cur.seen)
    pm_error_set(err, name, 0, NULL, "cannot parse");
  cur.c = NULL;
  cur.err = NULL;
  pthread_mutex_unlock(&parse_lock);
  r = pr == CFG_SUCCESS ? check_braces(c, err) : -EBADMSG;
out:
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
                 r == -EFBIG ? "file too large" : strerror(-r));
    pm_buf_free(&b);
    return r;
  }
  r = pm_conf_load_buf(b.data ? b.data : "", b.len, path, opts, flags, ret,
                       err);
  pm_buf_free(&b);
  return r;
}

cfg_t *pm_conf_cfg(const pm_conf_t *c) { return c->cfg; }

/* The line holding byte off: the last line starting at or before it. */
static size_t line_of_offset(const pm_conf_t *c, size_t off) {
  size_t lo = 0, hi = c->nlines;
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

/* Output line (0-based) of `sec_name "title"`, or 0. */
static size_t section_line(const pm_conf_t *c, const char *sec_name,
                           const char *title) {
  if (!title || !c->text.data)
    return 0;
  size_t nl = strlen(sec_name), tl = strlen(title);
  for (const char *p = c->text.data; (p = strstr(p, sec_name)); p += nl) {
    if (p > c->text.data && !strchr(" \t\n{};", p[-1]))
      continue;
    const char *s = p + nl;
    while (*s == ' ' || *s == '\t' || *s == '\n')
      s++;
    int quoted = *s == '"' || *s == '\'';
    if (quoted)
      s++;
    if (strncmp(s, title, tl) != 0)
      continue;
    char after = s[tl];
    if (quoted
            ? after == s[-1]
            : (after == ' ' || after == '{' || after == '\t' || after == '\n'))
      return line_of_offset(c, (size_t)(p - c->text.data));
  }
  return 0;
}

static void pos_of(const pm_conf_t *c, size_t l, const char **ret_file,
                   unsigned *ret_line) {
  if (c->nlines == 0) {
    *ret_file = c->nfiles ? c->files[0] : "";
    *ret_line = 0;
    return;
  }
  *ret_file = c->files[c->map[l].file];
  *ret_line = c->map[l].line;
}

void pm_conf_section_pos(const pm_conf_t *c, const char *sec_name,
                         const char *title, const char **ret_file,
                         unsigned *ret_line) {
  pos_of(c, section_line(c, sec_name, title), ret_file, ret_line);
}

void pm_conf_locate(const pm_conf_t *c, const char *sec_name, const char *title,
                    const char *needle, const char **ret_file,
                    unsigned *ret_line) {
  size_t l = section_line(c, sec_name, title);
  if (c->nlines && needle && *needle) {
    const char *hit = strstr(c->text.data + c->line_start[l], needle);
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
  for (size_t i = 0; i < c->nfiles; i++)
    free(c->files[i]);
  free(c->files);
  free(c->map);
  free(c->line_start);
  pm_buf_free(&c->text);
  free(c);
}
