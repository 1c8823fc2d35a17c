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
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_MAX (256u << 20)

struct pending { /* one object's properties until its class is known */
  char *key, *val;
  int level; /* 0: the object itself, n: parent n */
};

struct obj_reader {
  PM_VEC(struct pending) props;
};

static int push(struct obj_reader *o, char *key, char *val, int level) {
  struct pending *p = pm_vec_push(&o->props);
  if (!p)
    return -ENOMEM;
  *p = (struct pending){key, val, level};
  return 0;
}

static int read_props(struct pat_json *j, struct obj_reader *o, int level) {
  bool first = true;
  char *key, *val;
  int r = pat_json_expect(j, '{');
  while (r == 0 && (r = pat_json_member(j, &first, &key)) > 0) {
    r = pat_json_string(j, &val);
    if (r == 0)
      r = push(o, key, val, level);
  }
  return r;
}

static int read_object(pat_inventory_t *inv, struct pat_json *j,
                       struct obj_reader *o) {
  char *key, *cls_name = NULL, *name = NULL, *object = NULL;
  long pid = 0;
  bool first = true;
  int r = pat_json_expect(j, '{');
  int levels = 0;
  char *at = j->p;
  o->props.n = 0;
  while (r == 0 && (r = pat_json_member(j, &first, &key)) > 0) {
    if (strcmp(key, "class") == 0) {
      r = pat_json_string(j, &cls_name);
    } else if (strcmp(key, "name") == 0) {
      r = pat_json_string(j, &name);
    } else if (strcmp(key, "object") == 0) {
      r = pat_json_string(j, &object);
    } else if (strcmp(key, "pid") == 0) {
      r = pat_json_int(j, &pid);
    } else if (strcmp(key, "props") == 0) {
      r = read_props(j, o, 0);
    } else if (strcmp(key, "parents") == 0) {
      bool f = true;
      r = pat_json_expect(j, '[');
      while (r == 0 && (r = pat_json_element(j, &f)) > 0)
        r = read_props(j, o, ++levels);
    } else {
      r = pat_json_skip(j); /* newer snapshots may carry more */
    }
  }
  if (r < 0)
    return r;
  pat_class_t cls;
  if (!cls_name || pat_class_lookup(cls_name, &cls) < 0) {
    char msg[160];
    snprintf(msg, sizeof(msg), "object without a known \"class\" (%.100s)",
             cls_name ? cls_name : "missing");
    j->p = at;
    return pat_json_fail(j, msg);
  }
  if (!name || !*name || pid < 0 || pid > INT32_MAX) {
    j->p = at;
    return pat_json_fail(j, "object without a \"name\" or with a bad \"pid\"");
  }
  r = pat_inv_begin(inv, cls, name, object ? object : name, (int)pid, false);
  /* Level by level: "parents" may come before "props" (jq -S sorts it so). */
  uint32_t prev = PAT_NO_KEY;
  for (int level = 0; r == 0 && level <= levels; level++) {
    if (level > 0)
      r = pat_inv_level(inv);
    for (size_t i = 0; r == 0 && i < o->props.n; i++) {
      if (o->props.v[i].level != level)
        continue;
      const char *k = o->props.v[i].key;
      uint32_t id = pat_inv_intern_after(inv, prev, k, strlen(k));
      r = pat_inv_prop_id(inv, id, o->props.v[i].val, false);
      prev = id;
    }
  }
  if (r == -E2BIG) {
    pat_inv_abort(inv);
    j->p = at;
    return pat_json_fail(j, "too many parent levels");
  }
  return r == 0 ? pat_inv_end(inv) : r;
}

static int read_top(pat_inventory_t *inv, struct pat_json *j) {
  char *key;
  bool first = true, versioned = false;
  struct obj_reader o = {0};
  int r = pat_json_expect(j, '{');
  while (r == 0 && (r = pat_json_member(j, &first, &key)) > 0) {
    if (strcmp(key, "patmon_snapshot") == 0) {
      long v;
      r = pat_json_int(j, &v);
      if (r == 0 && v != SNAPSHOT_VERSION) {
        pm_error_set(j->err, j->name, 0, NULL,
                     "snapshot format %ld is not supported (this is %d)", v,
                     SNAPSHOT_VERSION);
        r = -EBADMSG;
      }
      versioned = true;
    } else if (strcmp(key, "host") == 0) {
      char *h;
      r = pat_json_string(j, &h);
      if (r == 0) {
        free(inv->host);
        inv->host = strdup(h);
      }
    } else if (strcmp(key, "classes") == 0) {
      bool f = true;
      char *c;
      pat_class_t cls;
      r = pat_json_expect(j, '[');
      while (r == 0 && (r = pat_json_element(j, &f)) > 0)
        if ((r = pat_json_string(j, &c)) == 0 && pat_class_lookup(c, &cls) == 0)
          inv->scanned |= 1u << cls;
    } else if (strcmp(key, "notes") == 0) {
      bool f = true;
      char *c, *note;
      pat_class_t cls;
      r = pat_json_expect(j, '{');
      while (r == 0 && (r = pat_json_member(j, &f, &c)) > 0)
        if ((r = pat_json_string(j, &note)) == 0 &&
            pat_class_lookup(c, &cls) == 0)
          r = pat_inv_note(inv, cls, "%s", note);
    } else if (strcmp(key, "objects") == 0) {
      bool f = true;
      r = pat_json_expect(j, '[');
      while (r == 0 && (r = pat_json_element(j, &f)) > 0)
        r = read_object(inv, j, &o);
    } else {
      r = pat_json_skip(j);
    }
  }
  pm_vec_free(&o.props);
  if (r == 0)
    r = pat_json_end(j);
  if (r == 0 && !versioned) {
    pm_error_set(j->err, j->name, 1, NULL,
                 "not a patmon snapshot (no \"patmon_snapshot\" member)");
    r = -EBADMSG;
  }
  return r;
}

int pat_inventory_load_buf(const char *buf, size_t len, const char *name,
                           pat_inventory_t **ret, pm_error_t *err) {
  pm_error_t scratch;
  if (!err)
    err = &scratch;
  pat_inventory_t *inv = pat_inventory_new();
  if (!inv)
    return -ENOMEM;
  /* Values point into this copy; the NUL stops number parsing at the end. */
  inv->buf = malloc(len + 1);
  if (!inv->buf) {
    pat_inventory_free(inv);
    return -ENOMEM;
  }
  memcpy(inv->buf, buf, len);
  inv->buf[len] = '\0';
  struct pat_json j;
  pat_json_init(&j, inv->buf, len, name, err);
  int r = read_top(inv, &j);
  if (r < 0) {
    if (r == -ENOMEM)
      pm_error_set(err, name, 0, NULL, "out of memory");
    pat_inventory_free(inv);
    return r;
  }
  pat_inv_finish(inv);
  *ret = inv;
  return 0;
}

int pat_inventory_load(const char *path, pat_inventory_t **ret,
                       pm_error_t *err) {
  pm_buf_t b = {0};
  int r = pm_file_read(path, SNAPSHOT_MAX, &b);
  if (r < 0) {
    pm_error_set(err, path, 0, NULL, "cannot read snapshot: %s",
                 r == -EFBIG ? "larger than 256 MiB" : pm_strerror(r));
    pm_buf_free(&b);
    return r;
  }
  /* The buffer becomes the inventory's: no second copy of a big file. */
  pat_inventory_t *inv = pat_inventory_new();
  if (!inv) {
    pm_buf_free(&b);
    return -ENOMEM;
  }
  if (!b.data && pm_buf_puts(&b, "") < 0) {
    pat_inventory_free(inv);
    return -ENOMEM;
  }
  inv->buf = b.data;
  struct pat_json j;
  pat_json_init(&j, inv->buf, b.len, path, err);
  r = read_top(inv, &j);
  if (r < 0) {
    pat_inventory_free(inv);
    return r;
  }
  pat_inv_finish(inv);
  *ret = inv;
  return 0;
}

/* ---- saving ---- */

static int cmp_key_name(const void *a, const void *b, void *inv) {
  const struct pat_prop *x = a, *y = b;
  const struct pat_key *keys = ((const pat_inventory_t *)inv)->keys.v;
  return strcmp(keys[x->key].name, keys[y->key].name);
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
    pm_buf_json_str(out, inv->keys.v[p[i].key].name);
    pm_buf_puts(out, ": ");
    r = pm_buf_json_str(out, p[i].val);
  }
  free(p);
  return r < 0 ? r : pm_buf_putc(out, '}');
}

int pat_inventory_save(const pat_inventory_t *inv, pm_buf_t *out) {
  int r = pm_buf_printf(
      out, "{\"patmon_snapshot\": %d, \"host\": ", SNAPSHOT_VERSION);
  pm_buf_json_str(out, inv->host ? inv->host : "");
  pm_buf_puts(out, ",\n \"classes\": [");
  bool first = true;
  for (unsigned c = 0; c < PAT_NCLASSES; c++)
    if (inv->scanned & 1u << c) {
      pm_buf_puts(out, first ? "" : ", ");
      pm_buf_json_str(out, pat_class_name((pat_class_t)c));
      first = false;
    }
  pm_buf_puts(out, "],\n \"notes\": {");
  first = true;
  for (unsigned c = 0; c < PAT_NCLASSES; c++)
    if (inv->notes[c]) {
      pm_buf_puts(out, first ? "" : ", ");
      pm_buf_json_str(out, pat_class_name((pat_class_t)c));
      pm_buf_puts(out, ": ");
      pm_buf_json_str(out, inv->notes[c]);
      first = false;
    }
  pm_buf_puts(out, "},\n \"objects\": [");
  for (size_t i = 0; r == 0 && i < inv->objs.n; i++) {
    const struct pat_obj *o = &inv->objs.v[i];
    pm_buf_puts(out, i ? ",\n  {\"class\": " : "\n  {\"class\": ");
    pm_buf_json_str(out, pat_class_name((pat_class_t)o->cls));
    pm_buf_puts(out, ", \"name\": ");
    pm_buf_json_str(out, o->name);
    pm_buf_puts(out, ", \"object\": ");
    pm_buf_json_str(out, o->object);
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
