/* internal.h: what the pattern library's files share. Not installed. */
#ifndef PATMON_PATTERN_INTERNAL_H
#define PATMON_PATTERN_INTERNAL_H

#include "pattern.h"

#include "pm_map.h"
#include "pm_vec.h"

#include <stdbool.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define PAT_ATTR_MAX 4096 /* longest sysfs attribute value kept (a page) */
/* PCRE2 limits per value matched: a regex that needs more gives up (and the
 * expansion reports it) rather than spend seconds on one value. */
#define PAT_MATCH_LIMIT 100000
#define PAT_DEPTH_LIMIT 10000
#define PAT_MAX_CAPTURES 9 /* %1..%9 */
#define PAT_NO_KEY UINT32_MAX

/* ---- classes (classes.c) ---- */

int pat_class_lookup(const char *name, pat_class_t *ret);

/* ---- arena (inventory.c) ---- */

struct pat_arena_chunk;
struct pat_arena {
  struct pat_arena_chunk *head;
  size_t used, size;
};
void *pat_arena_alloc(struct pat_arena *a, size_t n);
char *pat_arena_strndup(struct pat_arena *a, const char *s, size_t n);
char *pat_arena_strdup(struct pat_arena *a, const char *s);
void pat_arena_free(struct pat_arena *a);

/* ---- inventory (inventory.c) ---- */

struct pat_prop {
  const char *val;
  uint32_t key;
  uint32_t seq; /* order of addition: the last value of a key wins */
};

struct pat_level {
  struct pat_prop *props; /* sorted by key id */
  uint32_t nprops;
};

struct pat_obj {
  const char *name;   /* own name: %k and the default instance */
  const char *object; /* identity: devnode, mount point, pid, unit, rsc */
  struct pat_level self;
  struct pat_level *parents;
  uint32_t nparents;
  int pid;
  uint8_t cls;
};

struct pat_inventory {
  struct pat_arena arena;
  char *buf; /* a loaded snapshot's text: values point into it */
  /* keys by id: the name (the map's copy) and the key that last followed
   * it (a guess, or PAT_NO_KEY) */
  PM_VEC(struct pat_key {
    const char *name;
    uint32_t next;
  })
  keys;
  pm_map_t key_ids; /* name -> id + 1 */
  PM_VEC(struct pat_obj) objs;
  size_t cls_start[PAT_NCLASSES +
                   1]; /* objects of class c: [start[c], start[c+1]) */
  unsigned scanned;    /* classes listed */
  char *notes[PAT_NCLASSES];
  char *host;
  /* the object being built */
  PM_VEC(struct pat_prop) tmp;
  uint32_t level_start[64];
  uint32_t nlevels;
  bool building;
};

pat_inventory_t *pat_inventory_new(void);
/* Key id of name, adding it. PAT_NO_KEY on allocation failure. */
uint32_t pat_inv_intern(pat_inventory_t *inv, const char *name, size_t len);
/* pat_inv_intern(), trying first the key that last followed `prev`
 * (objects of one class list their keys in much the same order). */
uint32_t pat_inv_intern_after(pat_inventory_t *inv, uint32_t prev,
                              const char *name, size_t len);
/* Key id of name if any object has it, else PAT_NO_KEY. */
uint32_t pat_inv_key(const pat_inventory_t *inv, const char *name);
/* Object building: begin, props (and parent levels), end. copy=false keeps
 * the pointer (it must outlive the inventory, e.g. point into inv->buf). */
int pat_inv_begin(pat_inventory_t *inv, pat_class_t cls, const char *name,
                  const char *object, int pid, bool copy);
int pat_inv_prop(pat_inventory_t *inv, const char *key, const char *val,
                 bool copy);
int pat_inv_prop_id(pat_inventory_t *inv, uint32_t key, const char *val,
                    bool copy);
int pat_inv_level(pat_inventory_t *inv);
int pat_inv_end(pat_inventory_t *inv);
void pat_inv_abort(pat_inventory_t *inv);
int pat_inv_note(pat_inventory_t *inv, pat_class_t cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sorts objects (class, name in version order, pid) and indexes classes. */
void pat_inv_finish(pat_inventory_t *inv);
const char *pat_obj_get(const struct pat_level *lv, uint32_t key);
/* Appends s as a JSON string, quotes included, escaped by json-c
 * (snapshot.c); 0 or -ENOMEM. */
int pat_json_str(pm_buf_t *b, const char *s);

/* ---- providers (prov_*.c) ---- */

struct pat_want; /* which keys a set reads, per class (parse.c) */
bool pat_set_wants(const pat_set_t *set, pat_class_t cls, const char *key);

/* Each lists the objects of the classes it provides (those in `classes`).
 * Trouble that only means "nothing of this class here" becomes a note. */
int pat_prov_udev(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes);
int pat_prov_mount(pat_inventory_t *inv, const pat_scan_opts_t *o,
                   unsigned classes);
int pat_prov_proc(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes);
int pat_prov_unit(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes);
int pat_prov_pcmk(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes);

/* The classes one provider lists together with cls (one listing). */
unsigned pat_provider_classes(pat_class_t cls);

/* What a monitor keeps between resource listings (prov_pcmk.c): the last
 * crm_mon and cibadmin output, and what HA events said since. */
struct pat_rsc_event {
  char *rsc;
  bool started;   /* else stopped */
  uint64_t at_ns; /* pm_now_ns() when told */
};
struct pat_pcmk_cache {
  pm_buf_t mon, cib; /* mon.len == 0: nothing listed yet */
  char node[256];
  bool cached_only; /* the next listing uses mon and cib, runs nothing */
  PM_VEC(struct pat_rsc_event) ev;
};
/* Records an event (replacing an earlier one for rsc). */
int pat_pcmk_event(struct pat_pcmk_cache *c, const char *rsc, bool started);
/* Forgets the events crm_mon now agrees with and those older than
 * PAT_EVENT_GRACE_S; here[i] says whether crm_mon runs ev[i] here. */
void pat_pcmk_settle(struct pat_pcmk_cache *c, const bool *here, uint64_t now);
void pat_pcmk_cache_free(struct pat_pcmk_cache *c);

/* Parsers the providers use, exposed for tests on captured data. */
int pat_parse_mountinfo(pat_inventory_t *inv, const char *text, size_t len);
/* Lists the resources crm_mon runs on node, or that events say started
 * here (ev, nev: each listed here when started, never when stopped,
 * whatever crm_mon says). ret_here (may be NULL, nev entries) receives
 * whether crm_mon itself runs each event's resource here. */
int pat_parse_crm_mon(pat_inventory_t *inv, const char *crm_mon_xml, size_t len,
                      const char *cib_xml, size_t cib_len, const char *node,
                      const struct pat_rsc_event *ev, size_t nev,
                      bool *ret_here);
/* collectd df's instance name for a mount point ("/" -> "root"). */
void pat_mount_name(const char *mnt, char *buf, size_t len);

/* ---- conditions (match.c) ---- */

enum pat_cond_kind { PAT_COND_GLOB, PAT_COND_REGEX };

struct pat_glob_alt {
  char *pat;
  size_t len;
  enum { PAT_GLOB_EXACT, PAT_GLOB_PREFIX, PAT_GLOB_FULL } kind;
};

struct pat_cond {
  char *text;     /* as written */
  char *value;    /* the glob or regex, quotes and outer blanks gone */
  char *key;      /* normalised: KERNEL, ENV{X}, ATTR{x} (also for ATTRS) */
  bool any_level; /* ATTRS: the device or any parent */
  bool attr;      /* ATTR/ATTRS: a missing value never holds (udev) */
  bool keep_ws;   /* the glob ends in white space: attribute values keep
                     theirs (udev strips it otherwise) */
  bool negate;
  enum pat_cond_kind kind;
  struct pat_glob_alt *alts;
  size_t nalts;
  pcre2_code *re;
  bool jit; /* compiled by PCRE2's JIT: pcre2_jit_match() may be used */
  unsigned ncaptures;
  unsigned capture_base; /* %capture_base+1 is this regex's first group */
  const char *file;
  unsigned line;
};

/* Parses "KEY==glob" etc. for class cls. -EBADMSG with err->msg set (the
 * caller adds file and line). */
int pat_cond_parse(struct pat_cond *c, const char *text, pat_class_t cls,
                   pm_error_t *err);
void pat_cond_clear(struct pat_cond *c);
/* Whether val matches c's glob (c->kind == PAT_COND_GLOB), negation aside.
 * Uses fnmatch(3): call it in the C locale. */
bool pat_glob_match(const struct pat_cond *c, const char *val);
/* Whether an ATTR{}/$attr{} name stays inside the device's sysfs
 * directory: relative, no empty, "." or ".." component, printable ASCII. */
bool pat_attr_name_ok(const char *name, size_t len);

/* ---- name templates (name.c) ---- */

enum pat_seg_kind { PAT_SEG_LIT, PAT_SEG_KERNEL, PAT_SEG_CAPTURE, PAT_SEG_KEY };

struct pat_seg {
  enum pat_seg_kind kind;
  char *text; /* literal, or the key (ENV{X}, ATTR{x}, PARAM{x}) */
  unsigned capture;
};

struct pat_tmpl {
  PM_VEC(struct pat_seg) segs;
  unsigned max_capture;
};

int pat_tmpl_parse(struct pat_tmpl *t, const char *text, pat_class_t cls,
                   pm_error_t *err);
void pat_tmpl_clear(struct pat_tmpl *t);
/* Turns any string into a collectd-safe instance name in buf. */
void pat_sanitize(const char *in, char *buf, size_t len);

/* ---- compiled set (parse.c) ---- */

struct pat_pattern {
  char *name;
  pat_class_t cls;
  struct pat_cond *match;
  size_t nmatch;
  struct pat_cond *exclude;
  size_t nexclude;
  struct pat_tmpl tmpl;
  bool has_tmpl;
  char *tmpl_text; /* the name template as written, when has_tmpl */
  unsigned metrics;
  int interval;
  const char *file;
  unsigned line;
  unsigned ncaptures;
};

struct pat_set {
  struct pat_pattern *pats;
  size_t npats;
  PM_VEC(char *) files; /* positions point here */
  char *node;
  unsigned classes;
  unsigned max_captures;
  /* keys read, per class, for pat_scan_opts.want */
  PM_VEC(char *) want[PAT_NCLASSES];
};

/* ---- entries (expand.c, format.c) ---- */

/* pat_expand() with each class taken from its own inventory: invs[c]
 * provides the objects of class c (NULL: none listed). */
int pat_expand_invs(const pat_set_t *set,
                    const pat_inventory_t *const invs[PAT_NCLASSES],
                    pm_buf_t *explain, pat_entries_t **ret);

struct pat_entry_rec {
  pat_entry_t pub;
  const char **cmdlines; /* processes: distinct command lines, for collectd */
  size_t ncmdlines;
};

struct pat_entries {
  int refs; /* atomic */
  struct pat_arena arena;
  struct pat_entry_rec *recs;
  size_t n, cap;
  unsigned match_errors; /* conditions PCRE2 gave up on */
  pm_error_t match_err;  /* the first one */
};

#endif
