/* snapshot.c: an inventory as JSON (format in patmon-expand(1)):
 *
 *   {"patmon_snapshot": 1, "host": "node1",
 *    "classes": ["disk", ...],              classes that were listed
 *    "notes": {"unit": "..."},              why a class is empty
 *    "objects": [
 *      {"class": "disk", "name": "sda", "object": "/dev/sda",
 *       "props": {"KERNEL": "sda", "ENV{ID_BUS}": "ata", "ATTR{size}": "..."},
 *       "parents": [{"ATTR{vendor}": "ATA"}, ...]},
 *      {"class": "process", "name": "nginx", "object": "812", "pid": 812,
 *       "props": {"COMM": "nginx", "CMDLINE": "nginx: master process"}}]}
 *
 * Property keys are written exactly as patterns write them. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_MAX (256u << 20)
/* Nesting json-c accepts inside a member of the top object. */
#define SNAPSHOT_DEPTH 30

/* json-c parses each value of the top object, and each element of
 * "objects", on its own, so one object's tree is in memory at a time (a
 * whole snapshot's tree is four times the text); only the punctuation
 * between them is read here. The text is the inventory's (inv->buf): an
 * object's strings are written back into the text of the objects before
 * it, which a decoded string never outgrows, so the inventory points there
 * and a big snapshot is not copied again (the arena takes what does not
 * fit). */
struct reader {
  const char *buf, *name;
  char *own; /* buf, writable */
  size_t len, pos;
  size_t out;     /* the next byte of own a string may take */
  size_t limit;   /* own is read and free below this */
  size_t counted; /* lines counted below this */
  unsigned lines;
  pm_error_t *err;
  json_tokener *tok;
  bool failed;
};

/* Records what is wrong at offset pos (its line, and the text there);
 * returns -EBADMSG. Only the first error is kept. */
static int fail_at(struct reader *r, size_t pos, const char *what) {
  if (!r->failed) {
    unsigned line = 1 + r->lines;
    for (size_t i = r->counted; i < pos && i < r->len; i++)
      line += r->buf[i] == '\n';
    char text[24];
    size_t n = pos < r->len ? r->len - pos : 0;
    snprintf(text, sizeof(text), "%.*s", (int)(n < 20 ? n : 20),
             r->buf + (pos < r->len ? pos : r->len));
    for (char *t = text; *t; t++)
      if ((unsigned char)*t < 0x20)
        *t = ' ';
    pm_error_set(r->err, r->name, line, text, "%s", what);
  }
  r->failed = true;
  return -EBADMSG;
}

/* The next character after white space, or -1 at the end. */
static int peek(struct reader *r) {
  while (r->pos < r->len && strchr(" \t\r\n", r->buf[r->pos]) && r->buf[r->pos])
    r->pos++;
  return r->pos < r->len ? (unsigned char)r->buf[r->pos] : -1;
}

static int expect(struct reader *r, char c) {
  if (peek(r) == (unsigned char)c) {
    r->pos++;
    return 0;
  }
  char what[32];
  snprintf(what, sizeof(what), "expected '%c'", c);
  return fail_at(r, r->pos, what);
}

static bool in_string(const struct reader *r) {
  enum json_tokener_state st = r->tok->stack[r->tok->depth].state;
  return st == json_tokener_state_string ||
         st == json_tokener_state_string_escape;
}

/* Why json-c stopped, in the words patmon uses for any input. */
static const char *why(struct reader *r) {
  switch (json_tokener_get_error(r->tok)) {
  case json_tokener_continue:
    return in_string(r) ? "unterminated string" : "unexpected end of input";
  case json_tokener_error_depth:
    return "nested too deeply";
  case json_tokener_error_parse_string:
    return "bad escape in string";
  case json_tokener_error_parse_utf8_string:
    return "invalid UTF-8 in string";
  case json_tokener_error_parse_number:
    return "bad number";
  case json_tokener_error_parse_object_key_name:
  case json_tokener_error_parse_object_key_sep:
  case json_tokener_error_parse_object_value_sep:
    return "bad object";
  case json_tokener_error_parse_array:
    return "bad array";
  case json_tokener_error_size:
    return "value too large";
  default:
    return "expected a value";
  }
}

/* Frees the text below offset at for strings; its lines are counted
 * first (errors name lines, and strings hold no line ends of the text). */
static void free_below(struct reader *r, size_t at) {
  for (size_t i = r->counted; i < at; i++)
    r->lines += r->buf[i] == '\n';
  r->counted = r->limit = at;
}

/* s (len bytes) written into the free text, or NULL when it does not fit
 * (the caller has the inventory copy it). */
static const char *keep(struct reader *r, const char *s, size_t len) {
  if (!r->own || r->out + len + 1 > r->limit)
    return NULL;
  char *p = r->own + r->out;
  memcpy(p, s, len);
  p[len] = '\0';
  r->out += len + 1;
  return p;
}

/* Whether the JSON text [from, to) has a raw control character inside a
 * string (JSON forbids them; json-c's tokener cannot be strict here, since
 * a value is followed by more text). Escaped ones (\u001b) are fine. */
static bool raw_control(const struct reader *r, size_t from, size_t to) {
  bool in = false;
  for (size_t i = from; i < to; i++) {
    unsigned char ch = (unsigned char)r->buf[i];
    if (!in)
      in = ch == '"';
    else if (ch == '\\')
      i++;
    else if (ch == '"')
      in = false;
    else if (ch < 0x20)
      return true;
  }
  return false;
}

/* Reads the value at the current position; the caller puts *ret (NULL for
 * a JSON null). */
static int value(struct reader *r, json_object **ret) {
  if (peek(r) < 0)
    return fail_at(r, r->pos, "unexpected end of input");
  json_tokener_reset(r->tok);
  size_t left = r->len - r->pos;
  int n = left > INT32_MAX ? INT32_MAX : (int)left;
  json_object *o = json_tokener_parse_ex(r->tok, r->buf + r->pos, n);
  size_t end = r->pos + json_tokener_get_parse_end(r->tok);
  enum json_tokener_error e = json_tokener_get_error(r->tok);
  if (e == json_tokener_continue && end == r->len && !in_string(r)) {
    /* a number at the very end: json-c waits for more */
    o = json_tokener_parse_ex(r->tok, "", 1);
    e = json_tokener_get_error(r->tok);
  }
  if (e != json_tokener_success) {
    json_object_put(o);
    return fail_at(r, end > r->pos ? end - 1 : end, why(r));
  }
  if (raw_control(r, r->pos, end)) {
    json_object_put(o);
    return fail_at(r, r->pos, "control character or \\u0000 in a string");
  }
  r->pos = end;
  *ret = o;
  return 0;
}

/* A string value. *bad is set when it holds a NUL (json-c decodes \\u0000
 * to one; the inventory's strings end at NUL). Raw control characters were
 * refused in the text (raw_control). */
static const char *string_of(json_object *o, bool *bad) {
  if (!json_object_is_type(o, json_type_string))
    return NULL;
  const char *s = json_object_get_string(o);
  size_t len = (size_t)json_object_get_string_len(o);
  if (strlen(s) != len)
    *bad = true;
  return s;
}

/* One level of properties (an object of strings) at object offset at. */
static int add_level(pat_inventory_t *inv, struct reader *r, size_t at,
                     json_object *props, uint32_t *prev) {
  if (!props)
    return 0;
  if (!json_object_is_type(props, json_type_object))
    return fail_at(r, at, "expected '{'");
  json_object_object_foreach(props, k, v) {
    bool nul = false;
    const char *val = string_of(v, &nul);
    if (!val)
      return fail_at(r, at, "expected a string");
    if (nul)
      return fail_at(r, at, "control character or \\u0000 in a string");
    uint32_t id = pat_inv_intern_after(inv, *prev, k, strlen(k));
    const char *kept = keep(r, val, (size_t)json_object_get_string_len(v));
    int rc = pat_inv_prop_id(inv, id, kept ? kept : val, !kept);
    if (rc < 0)
      return rc;
    *prev = id;
  }
  return 0;
}

static const char *member_string(json_object *o, const char *key, bool *nul) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? string_of(v, nul) : NULL;
}

/* One element of "objects", which started at offset at. */
static int add_object(pat_inventory_t *inv, struct reader *r, size_t at,
                      json_object *o) {
  if (!json_object_is_type(o, json_type_object))
    return fail_at(r, at, "expected '{'");
  bool nul = false;
  const char *cls_name = member_string(o, "class", &nul);
  const char *name = member_string(o, "name", &nul);
  const char *object = member_string(o, "object", &nul);
  if (nul)
    return fail_at(r, at, "control character or \\u0000 in a string");
  json_object *pid_v = NULL, *props = NULL, *parents = NULL;
  int64_t pid = 0;
  if (json_object_object_get_ex(o, "pid", &pid_v)) {
    if (!json_object_is_type(pid_v, json_type_int))
      return fail_at(r, at, "expected an integer");
    pid = json_object_get_int64(pid_v);
  }
  pat_class_t cls;
  if (!cls_name || pat_class_lookup(cls_name, &cls) < 0) {
    char msg[160];
    snprintf(msg, sizeof(msg), "object without a known \"class\" (%.100s)",
             cls_name ? cls_name : "missing");
    return fail_at(r, at, msg);
  }
  if (!name || !*name || pid < 0 || pid > INT32_MAX)
    return fail_at(r, at, "object without a \"name\" or with a bad \"pid\"");
  json_object_object_get_ex(o, "props", &props);
  json_object_object_get_ex(o, "parents", &parents);
  if (parents && !json_object_is_type(parents, json_type_array))
    return fail_at(r, at, "expected '['");
  if (!object)
    object = name;
  const char *kname = keep(r, name, strlen(name));
  const char *kobject = kname ? keep(r, object, strlen(object)) : NULL;
  int rc = kobject ? pat_inv_begin(inv, cls, kname, kobject, (int)pid, false)
                   : pat_inv_begin(inv, cls, name, object, (int)pid, true);
  uint32_t prev = PAT_NO_KEY;
  if (rc == 0)
    rc = add_level(inv, r, at, props, &prev);
  size_t n = parents ? json_object_array_length(parents) : 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = pat_inv_level(inv);
    if (rc == 0)
      rc = add_level(inv, r, at, json_object_array_get_idx(parents, i), &prev);
  }
  if (rc == -E2BIG) {
    pat_inv_abort(inv);
    return fail_at(r, at, "too many parent levels");
  }
  if (rc < 0) {
    pat_inv_abort(inv);
    return rc;
  }
  return pat_inv_end(inv);
}

/* The elements of "objects", one json-c tree at a time. */
static int read_objects(pat_inventory_t *inv, struct reader *r) {
  int rc = expect(r, '[');
  if (rc == 0 && peek(r) == ']') {
    r->pos++;
    return 0;
  }
  while (rc == 0) {
    json_object *o = NULL;
    size_t at = (peek(r), r->pos);
    free_below(r, at);
    rc = value(r, &o);
    if (rc == 0)
      rc = add_object(inv, r, at, o);
    json_object_put(o);
    if (rc < 0)
      return rc;
    int c = peek(r);
    r->pos++;
    if (c == ']')
      return 0;
    if (c != ',')
      return fail_at(r, r->pos - 1, "expected ',' or ']'");
  }
  return rc;
}

/* A member of the top object other than "objects". */
static int read_member(pat_inventory_t *inv, struct reader *r, const char *key,
                       bool *versioned) {
  size_t at = (peek(r), r->pos);
  json_object *v = NULL;
  int rc = value(r, &v);
  if (rc < 0)
    return rc;
  bool nul = false;
  if (strcmp(key, "patmon_snapshot") == 0) {
    *versioned = true;
    if (!json_object_is_type(v, json_type_int)) {
      rc = fail_at(r, at, "expected an integer");
    } else if (json_object_get_int64(v) != SNAPSHOT_VERSION) {
      pm_error_set(r->err, r->name, 0, NULL,
                   "snapshot format %lld is not supported (this is %d)",
                   (long long)json_object_get_int64(v), SNAPSHOT_VERSION);
      r->failed = true;
      rc = -EBADMSG;
    }
  } else if (strcmp(key, "host") == 0) {
    const char *h = string_of(v, &nul);
    if (!h)
      rc = fail_at(r, at, "expected a string");
    else if (!(free(inv->host), inv->host = strdup(h)))
      rc = -ENOMEM;
  } else if (strcmp(key, "classes") == 0 &&
             json_object_is_type(v, json_type_array)) {
    pat_class_t cls;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      const char *c = string_of(json_object_array_get_idx(v, i), &nul);
      if (!c) {
        rc = fail_at(r, at, "expected a string");
        break;
      }
      if (pat_class_lookup(c, &cls) == 0)
        inv->scanned |= 1u << cls;
    }
  } else if (strcmp(key, "notes") == 0 &&
             json_object_is_type(v, json_type_object)) {
    pat_class_t cls;
    json_object_object_foreach(v, c, nv) {
      const char *note = string_of(nv, &nul);
      if (!note) {
        rc = fail_at(r, at, "expected a string");
        break;
      }
      if (pat_class_lookup(c, &cls) == 0 &&
          (rc = pat_inv_note(inv, cls, "%s", note)) < 0)
        break;
    }
  } else if (strcmp(key, "classes") == 0 || strcmp(key, "notes") == 0) {
    rc = fail_at(r, at, strcmp(key, "notes") ? "expected '['" : "expected '{'");
  }
  /* other members: newer snapshots may carry more */
  json_object_put(v);
  return rc;
}

static int read_top(pat_inventory_t *inv, struct reader *r) {
  bool versioned = false;
  int rc = expect(r, '{');
  if (rc == 0 && peek(r) == '}')
    r->pos++;
  else
    while (rc == 0) {
      size_t at = (peek(r), r->pos);
      json_object *k = NULL;
      if (peek(r) != '"')
        return fail_at(r, at, "expected a string");
      rc = value(r, &k);
      if (rc < 0)
        return rc;
      char key[64];
      snprintf(key, sizeof(key), "%s", json_object_get_string(k));
      json_object_put(k);
      rc = expect(r, ':');
      if (rc == 0)
        rc = strcmp(key, "objects") == 0 ? read_objects(inv, r)
                                         : read_member(inv, r, key, &versioned);
      if (rc < 0)
        return rc;
      int c = peek(r);
      r->pos++;
      if (c == '}')
        break;
      if (c != ',')
        return fail_at(r, r->pos - 1, "expected ',' or '}'");
    }
  if (rc == 0 && peek(r) >= 0)
    return fail_at(r, r->pos, "trailing text after the value");
  if (rc == 0 && !versioned) {
    pm_error_set(r->err, r->name, 1, NULL,
                 "not a patmon snapshot (no \"patmon_snapshot\" member)");
    rc = -EBADMSG;
  }
  return rc;
}

/* Reads text (len bytes, NUL after them), which becomes inv's. */
static int load(pat_inventory_t *inv, char *text, size_t len, const char *name,
                pm_error_t *err) {
  inv->buf = text;
  struct reader r = {.buf = text,
                     .own = text,
                     .len = len,
                     .name = name,
                     .err = err,
                     .tok = json_tokener_new_ex(SNAPSHOT_DEPTH)};
  if (!r.tok)
    return -ENOMEM;
  int rc = read_top(inv, &r);
  json_tokener_free(r.tok);
  if (rc == -ENOMEM)
    pm_error_set(err, name, 0, NULL, "out of memory");
  if (rc == 0)
    pat_inv_finish(inv);
  return rc;
}

int pat_inventory_load_buf(const char *buf, size_t len, const char *name,
                           pat_inventory_t **ret, pm_error_t *err) {
  pm_error_t scratch;
  pat_inventory_t *inv = pat_inventory_new();
  char *text = malloc(len + 1);
  if (!inv || !text) {
    pat_inventory_free(inv);
    free(text);
    return -ENOMEM;
  }
  if (len)
    memcpy(text, buf, len);
  text[len] = '\0';
  int r = load(inv, text, len, name, err ? err : &scratch);
  if (r < 0) {
    pat_inventory_free(inv);
    return r;
  }
  *ret = inv;
  return 0;
}

int pat_inventory_load(const char *path, pat_inventory_t **ret,
                       pm_error_t *err) {
  pm_error_t scratch;
  pm_buf_t b = {0};
  int r = pm_file_read(path, SNAPSHOT_MAX, &b);
  if (r == 0 && !b.data)
    r = pm_buf_puts(&b, "") < 0 ? -ENOMEM : 0;
  if (r < 0) {
    pm_error_set(err, path, 0, NULL, "cannot read snapshot: %s",
                 r == -EFBIG ? "larger than 256 MiB" : pm_strerror(r));
    pm_buf_free(&b);
    return r;
  }
  /* The text becomes the inventory's: no second copy of a big file. */
  pat_inventory_t *inv = pat_inventory_new();
  if (!inv) {
    pm_buf_free(&b);
    return -ENOMEM;
  }
  r = load(inv, b.data, b.len, path, err ? err : &scratch);
  if (r < 0) {
    pat_inventory_free(inv);
    return r;
  }
  *ret = inv;
  return 0;
}

/* ---- saving ---- */

static int cmp_key_name(const void *a, const void *b, void *inv) {
  const struct pat_prop *x = a, *y = b;
  const struct pat_key *keys = ((const pat_inventory_t *)inv)->keys.v;
  return strcmp(keys[x->key].name, keys[y->key].name);
}

/* Appends s to b as a JSON string, quotes included, escaped by json-c (the
 * layout around it is written here, so output keeps one object a line).
 * Returns 0 or -ENOMEM. */
int pat_json_str(pm_buf_t *b, const char *s) {
  json_object *o = json_object_new_string(s);
  if (!o)
    return -ENOMEM;
  size_t n = 0;
  const char *t = json_object_to_json_string_length(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
  int r = t ? pm_buf_append(b, t, n) : -ENOMEM;
  json_object_put(o);
  return r;
}

static int save_level(const pat_inventory_t *inv, const struct pat_level *lv,
                      pm_buf_t *out) {
  struct pat_prop *p = malloc((lv->nprops ? lv->nprops : 1) * sizeof(*p));
  if (!p)
    return -ENOMEM;
  if (lv->nprops) {
    memcpy(p, lv->props, lv->nprops * sizeof(*p));
    qsort_r(p, lv->nprops, sizeof(*p), cmp_key_name, (void *)inv);
  }
  int r = pm_buf_putc(out, '{');
  for (uint32_t i = 0; r == 0 && i < lv->nprops; i++) {
    if (i)
      pm_buf_puts(out, ", ");
    pat_json_str(out, inv->keys.v[p[i].key].name);
    pm_buf_puts(out, ": ");
    r = pat_json_str(out, p[i].val);
  }
  free(p);
  return r < 0 ? r : pm_buf_putc(out, '}');
}

int pat_inventory_save(const pat_inventory_t *inv, pm_buf_t *out) {
  int r = pm_buf_printf(
      out, "{\"patmon_snapshot\": %d, \"host\": ", SNAPSHOT_VERSION);
  pat_json_str(out, inv->host ? inv->host : "");
  pm_buf_puts(out, ",\n \"classes\": [");
  bool first = true;
  for (unsigned c = 0; c < PAT_NCLASSES; c++)
    if (inv->scanned & 1u << c) {
      pm_buf_puts(out, first ? "" : ", ");
      pat_json_str(out, pat_class_name((pat_class_t)c));
      first = false;
    }
  pm_buf_puts(out, "],\n \"notes\": {");
  first = true;
  for (unsigned c = 0; c < PAT_NCLASSES; c++)
    if (inv->notes[c]) {
      pm_buf_puts(out, first ? "" : ", ");
      pat_json_str(out, pat_class_name((pat_class_t)c));
      pm_buf_puts(out, ": ");
      pat_json_str(out, inv->notes[c]);
      first = false;
    }
  pm_buf_puts(out, "},\n \"objects\": [");
  for (size_t i = 0; r == 0 && i < inv->objs.n; i++) {
    const struct pat_obj *o = &inv->objs.v[i];
    pm_buf_puts(out, i ? ",\n  {\"class\": " : "\n  {\"class\": ");
    pat_json_str(out, pat_class_name((pat_class_t)o->cls));
    pm_buf_puts(out, ", \"name\": ");
    pat_json_str(out, o->name);
    pm_buf_puts(out, ", \"object\": ");
    pat_json_str(out, o->object);
    if (o->pid)
      pm_buf_printf(out, ", \"pid\": %d", o->pid);
    pm_buf_puts(out, ", \"props\": ");
    r = save_level(inv, &o->self, out);
    if (r == 0 && o->nparents) {
      pm_buf_puts(out, ", \"parents\": [");
      for (uint32_t l = 0; r == 0 && l < o->nparents; l++) {
        pm_buf_puts(out, l ? ", " : "");
        r = save_level(inv, &o->parents[l], out);
      }
      pm_buf_putc(out, ']');
    }
    if (r == 0)
      r = pm_buf_putc(out, '}');
  }
  return r < 0 ? r : pm_buf_puts(out, "\n ]}\n");
}
