/* Unit tests for pattern/: parser, matcher, names, providers on captured
 * data, snapshots, expansion and every output format. */
#include "config.h"

#include "check_run.h"
#include "internal.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char data_dir[1024];
static char tmpdir[] = "/tmp/check_pattern.XXXXXX";

static void setup(void) {
  const char *src = getenv("top_srcdir");
  snprintf(data_dir, sizeof(data_dir), "%s/t/data/pattern", src ? src : SRCDIR);
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char *argv[] = {"rm", "-rf", tmpdir, NULL};
  int st;
  pm_spawn(argv, 5000, NULL, NULL, &st);
  strcpy(tmpdir, "/tmp/check_pattern.XXXXXX");
}

static char *data_path(const char *name) {
  static char buf[1200];
  snprintf(buf, sizeof(buf), "%s/%s", data_dir, name);
  return buf;
}

static char *slurp(const char *path) {
  pm_buf_t b = {0};
  ck_assert_msg(pm_file_read(path, 64u << 20, &b) == 0, "cannot read %s", path);
  if (!b.data)
    pm_buf_puts(&b, "");
  return b.data;
}

static pat_set_t *parse_ok(const char *text) {
  pat_set_t *set = NULL;
  pm_error_t err = {0};
  char buf[1200];
  int r = pat_set_parse(text, strlen(text), "test.conf", &set, &err);
  ck_assert_msg(r == 0, "parse failed: %s",
                pm_error_str(&err, buf, sizeof(buf)));
  return set;
}

static pat_inventory_t *load_ok(const char *text) {
  pat_inventory_t *inv = NULL;
  pm_error_t err = {0};
  char buf[1200];
  int r = pat_inventory_load_buf(text, strlen(text), "snap.json", &inv, &err);
  ck_assert_msg(r == 0, "snapshot failed: %s",
                pm_error_str(&err, buf, sizeof(buf)));
  return inv;
}

/* Expands and formats as a list (pattern, class, instance, object). */
static char *expand_list(const char *patterns, const char *snapshot) {
  pat_set_t *set = parse_ok(patterns);
  pat_inventory_t *inv = load_ok(snapshot);
  pat_entries_t *e = NULL;
  pm_buf_t out = {0};
  ck_assert_int_eq(pat_expand(set, inv, NULL, &e), 0);
  ck_assert_int_eq(pat_entries_format(e, PAT_FORMAT_LIST, NULL, &out), 0);
  pat_entries_free(e);
  pat_inventory_free(inv);
  pat_set_free(set);
  if (!out.data)
    pm_buf_puts(&out, "");
  return out.data;
}

/* ---- parser ---------------------------------------------------------- */

START_TEST(parse_valid) {
  pat_set_t *set = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(pat_set_load(data_path("storage.conf"), &set, &err), 0);
  ck_assert_uint_eq(pat_set_count(set), 18);
  ck_assert_uint_eq(pat_set_classes(set), PAT_ALL_CLASSES);
  ck_assert_str_eq(pat_set_node(set), "storage01");
  /* The regex captures two groups; the name uses the second. */
  const struct pat_pattern *nvme = &set->pats[2];
  ck_assert_str_eq(nvme->name, "nvme");
  ck_assert_uint_eq(nvme->ncaptures, 2);
  ck_assert_uint_eq(nvme->metrics, 1u << 0 | 1u << 3); /* io, utilization */
  ck_assert_int_eq(set->pats[0].interval, 10);
  ck_assert_uint_eq(set->pats[0].line, 6);
  pat_set_free(set);
}
END_TEST

static const struct {
  const char *text;
  unsigned line;
  const char *msg;  /* part of the reason */
  const char *what; /* part of the offending text */
} bad_files[] = {
    {"pattern \"a\" {\n  class = bogus\n}\n", 2, "unknown class bogus",
     "bogus"},
    {"# c\npattern \"a\" {\n  class = disk\n  match = { \"KERNEL==sd*\",\n"
     "    \"COMM==x\" }\n}\n",
     5, "unknown key COMM for class disk", "COMM==x"},
    {"pattern \"a\" {\n class = disk\n match = {\"KERNEL==sd[a\"}\n}\n", 3,
     "bad glob: unclosed '[' at offset 2", "KERNEL==sd[a"},
    {"pattern \"a\" {\n class = disk\n match = {\"KERNEL=~sd(a\"}\n}\n", 3,
     "bad regex at offset 4: missing closing parenthesis", "KERNEL=~sd(a"},
    {"pattern \"a\" {\n class = disk\n match = {\"KERNEL=~(sd)x\"}\n"
     " name = \"%3\"\n}\n",
     4, "name uses %3 but the match conditions capture 1 group", "%3"},
    {"pattern \"a\" {\n class = disk\n metrics = { io, bogus }\n}\n", 3,
     "unknown metric group bogus for class disk", "bogus"},
    {"pattern \"a\" {\n class = disk\n\n interval = 0\n}\n", 4,
     "interval must be 1 to 86400 seconds", "interval"},
    {"\npattern \"a\" {\n match = {\"KERNEL==x\"}\n}\n", 2, "has no class",
     "a"},
    {"pattern \"a\" { class = disk }\npattern \"a\" { class = nic }\n", 2,
     "duplicate title", ""},
    {"pattern \"a\" {\n  class = disk\n  klass = nic\n}\n", 3,
     "no such option 'klass'", "klass = nic"},
    {"pattern \"m\" {\n class = mount\n name = \"$env{X}\"\n}\n", 3,
     "$env{} is not available for class mount", "$env{X}"},
    {"pattern \"a\" {\n class = disk\n match = {\"KERNEL=sd*\"}\n}\n", 3,
     "compare with ==", "KERNEL=sd*"},
    {"pattern \"a\" {\n class = disk\n name = \"%x\"\n}\n", 3, "unknown %x",
     "%x"},
    {"pattern \"a\" {\n class = disk\n match = {\"==sda\"}\n}\n", 3,
     "starts with a key", "==sda"},
    {"pattern \"a\" {\n class = disk\n match = {\"ENV{}==x\"}\n}\n", 3,
     "ENV{...}: missing or bad name", "ENV{}==x"},
    {"pattern \"a\" {\n class = disk\n", 1, "'{' is never closed",
     "pattern \"a\" {"},
    {"pattern \"a\" {\n class = disk\n match = { \"x\",\n", 3,
     "premature end of file", ""},
    {"pattern \"a\" {\n class = disk\n match = {\"KERNEL==[[:alfa:]]*\"}\n}\n",
     3, "unknown character class", "[[:alfa:]]"},
    {"pattern \"a\" {\n class = disk\n match = {\"KERNEL==[[.a.]]\"}\n}\n", 3,
     "collating symbols", "[[.a.]]"},
    {"pattern \"a\" {\n class = disk\n match = {\"KERNEL==sd*\\\\\"}\n}\n", 3,
     "trailing backslash", "KERNEL"},
    {"pattern \"a\" {\n class = disk\n\n"
     " match = {\"ATTRS{../../../etc/hostname}==x\"}\n}\n",
     4, "below the device's sysfs directory", "ATTRS{../../../etc"},
    {"pattern \"a\" {\n class = disk\n match = {\"ATTR{/etc/passwd}!=x\"}\n}\n",
     3, "not absolute", "ATTR{/etc/passwd}"},
    {"pattern \"a\" {\n class = disk\n name = "
     "\"$attr{../../etc/hostname}\"\n}\n",
     3, "$attr{../../etc/hostname}: an attribute is a file", "$attr"},
    {"pattern \"a\" {\n class = disk\n name = \"$attr{device/./model}\"\n}\n",
     3, "no '.' or '..'", "$attr"},
};

START_TEST(parse_errors) {
  pat_set_t *set = NULL;
  pm_error_t err = {0};
  const char *t = bad_files[_i].text;
  int r = pat_set_parse(t, strlen(t), "bad.conf", &set, &err);
  ck_assert_int_eq(r, -EBADMSG);
  ck_assert_ptr_null(set);
  ck_assert_str_eq(err.file, "bad.conf");
  ck_assert_msg(err.line == bad_files[_i].line,
                "case %d: line %u, want %u (%s)", _i, err.line,
                bad_files[_i].line, err.msg);
  ck_assert_msg(strstr(err.msg, bad_files[_i].msg), "case %d: msg '%s'", _i,
                err.msg);
  ck_assert_msg(strstr(err.text, bad_files[_i].what), "case %d: text '%s'", _i,
                err.text);
}
END_TEST

START_TEST(parse_include_error_names_included_file) {
  char path[256], sub[256];
  snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  snprintf(path, sizeof(path), "%s/conf.d/10-nics.conf", tmpdir);
  FILE *f = fopen(path, "w");
  fputs("pattern \"nics\" {\n  class = nic\n  match = { \"NAME=~en(\" }\n}\n",
        f);
  fclose(f);
  snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
  f = fopen(path, "w");
  fputs("pattern \"disks\" { class = disk }\ninclude \"conf.d/*.conf\"\n", f);
  fclose(f);
  pat_set_t *set = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(pat_set_load(path, &set, &err), -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.file, "conf.d/10-nics.conf"));
  ck_assert_uint_eq(err.line, 3);
  ck_assert_ptr_nonnull(strstr(err.msg, "bad regex"));
  ck_assert_int_eq(pat_set_load("/nonexistent/patterns.conf", &set, &err),
                   -ENOENT);
  ck_assert_ptr_nonnull(strstr(err.msg, "cannot read pattern file"));
}
END_TEST

/* ---- matcher --------------------------------------------------------- */

static const struct {
  const char *glob, *value;
  bool match;
} globs[] = {
    {"sd*", "sda", true},
    {"sd*", "sd", true},
    {"sd*", "xsda", false},
    {"sd?", "sda", true},
    {"sd?", "sdaa", false},
    {"sd[a-c]", "sdb", true},
    {"sd[a-c]", "sdd", false},
    {"sd[!a-c]", "sdd", true},
    {"sd[!a-c]", "sda", false},
    {"nvme*n*", "nvme0n1", true},
    {"nvme*n*", "nvme0", false},
    {"a|b|c*", "cat", true},
    {"a|b", "ab", false},
    {"", "", true},
    {"", "x", false},
    {"*", "", true},
    {"a\\*", "a*", true},
    {"a\\*", "ab", false},
    {"[]]", "]", true},
    {"[!]]", "]", false},
    {"*a*b*c", "xxaxxbxxc", true},
    {"*a*b*c", "xxaxxbxxcx", false},
    {"sd*[0-9]", "sda1", true},
    {"sd*[0-9]", "sda", false},
    {"*.service", "nfs-server.service", true},
    {"nfs-*.service", "nfs.service", false},
    {"x|", "", true},
    {"[a-]", "-", true},
    /* Escapes inside sets (the fuzzer's first find). */
    {"[\\]]", "]", true},
    {"[a\\-z]", "-", true},
    {"[a\\-z]", "b", false},
    {"[!\\]]", "]", false},
    {"[]\\]x]", "x", true},
    {"[a-\\z]", "q", true},
    /* POSIX classes, as fnmatch(3) and so udev know them. */
    {"[[:alpha:]]*", "sda", true},
    {"[[:alpha:]]*", "0sd", false},
    {"sd[[:alpha:]]", "sdb", true},
    {"sd[[:digit:][:upper:]]", "sdB", true},
    {"sd[![:digit:]]", "sd1", false},
    /* No * ? [ anywhere: a plain string, backslashes and all (udev). */
    {"a\\b", "a\\b", true},
    {"a\\b", "ab", false},
    {"a\\b|c*", "ab", true}, /* a glob value: fnmatch unescapes */
    {"a\\b|c*", "a\\b", false},
};

START_TEST(glob_semantics) {
  struct pat_cond c;
  pm_error_t err = {0};
  char text[128];
  snprintf(text, sizeof(text), "KERNEL==%s", globs[_i].glob);
  ck_assert_int_eq(pat_cond_parse(&c, text, PAT_DISK, &err), 0);
  ck_assert_msg(pat_glob_match(&c, globs[_i].value) == globs[_i].match,
                "%s vs %s", globs[_i].glob, globs[_i].value);
  pat_cond_clear(&c);
}
END_TEST

START_TEST(regex_is_whole_value_and_missing_is_empty) {
  const char *snap =
      "{\"patmon_snapshot\": 1, \"classes\": [\"disk\"], \"objects\": ["
      "{\"class\": \"disk\", \"name\": \"sda\", \"props\": {\"KERNEL\": "
      "\"sda\"}},"
      "{\"class\": \"disk\", \"name\": \"sdb\", \"props\": {\"KERNEL\": "
      "\"sdb\","
      " \"ENV{ID_TYPE}\": \"cd\"}}]}";
  char *out = expand_list("pattern \"p\" { class = disk\n"
                          " match = { \"KERNEL=~sd\" } }\n",
                          snap);
  ck_assert_str_eq(out, ""); /* "sd" is not the whole of "sda" */
  free(out);
  out = expand_list("pattern \"p\" { class = disk\n"
                    " match = { \"KERNEL=~sd.\", \"ENV{ID_TYPE}!=cd\" } }\n",
                    snap);
  ck_assert_str_eq(out, "p\tdisk\tsda\tsda\n"); /* missing ID_TYPE is "" */
  free(out);
  out = expand_list("pattern \"p\" { class = disk\n"
                    " match = { \"ENV{ID_TYPE}==\" } }\n",
                    snap);
  ck_assert_str_eq(out, "p\tdisk\tsda\tsda\n");
  free(out);
  out = expand_list("pattern \"p\" { class = disk\n"
                    " match = { \"KERNEL!~sd[a]\" } }\n",
                    snap);
  ck_assert_str_eq(out, "p\tdisk\tsdb\tsdb\n");
  free(out);
}
END_TEST

/* Each match list, in a pattern of its own over snapshot snap (one disk,
 * sda): whether sda is taken. */
struct hit {
  const char *match;
  bool hit;
};

static void expect_hits(const char *snap, const struct hit *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char pat[256];
    snprintf(pat, sizeof(pat),
             "pattern \"p\" { class = disk\n match = { %s } }\n",
             cases[i].match);
    char *out = expand_list(pat, snap);
    ck_assert_msg(strcmp(out, cases[i].hit ? "p\tdisk\tsda\tsda\n" : "") == 0,
                  "%s: got '%s'", cases[i].match, out);
    free(out);
  }
}

/* udev: all ATTRS conditions of a match, == and !=, must hold on one and
 * the same device level; a level without the attribute holds neither. */
START_TEST(attrs_same_level) {
  const char *snap =
      "{\"patmon_snapshot\": 1, \"classes\": [\"disk\"], \"objects\": ["
      "{\"class\": \"disk\", \"name\": \"sda\", \"props\": {\"KERNEL\": "
      "\"sda\"},"
      " \"parents\": [{\"ATTR{vendor}\": \"A\", \"ATTR{model}\": \"X\"},"
      "               {\"ATTR{vendor}\": \"B\", \"ATTR{model}\": \"Y\"}]}]}";
  static const struct hit cases[] = {
      {"\"ATTRS{vendor}==A\", \"ATTRS{model}==Y\"", false},
      {"\"ATTRS{vendor}==B\", \"ATTRS{model}==Y\"", true},
      /* != holds where a level has the attribute and it differs */
      {"\"ATTRS{vendor}!=B\"", true},
      {"\"ATTRS{vendor}!=C\"", true},
      {"\"ATTRS{vendor}!=A\", \"ATTRS{model}==X\"", false},
      {"\"ATTRS{vendor}!=A\", \"ATTRS{model}==Y\"", true},
      /* nobody has it: neither == nor != holds */
      {"\"ATTRS{serial}!=x\"", false},
      {"\"ATTRS{serial}==\"", false},
      {"\"ATTRS{serial}==*\"", false},
      /* the device itself has no vendor */
      {"\"ATTR{vendor}!=A\"", false},
      {"\"ATTR{vendor}==\"", false},
  };
  expect_hits(snap, cases, sizeof(cases) / sizeof(cases[0]));
  /* As an exclude, a missing attribute excludes nothing. */
  char *out = expand_list("pattern \"p\" { class = disk\n"
                          " exclude = { \"ATTR{ro}!=1\" } }\n",
                          snap);
  ck_assert_str_eq(out, "p\tdisk\tsda\tsda\n");
  free(out);
}
END_TEST

/* udev strips trailing white space from attribute values, unless the
 * condition's own value ends in some. */
START_TEST(attr_trailing_whitespace) {
  const char *snap =
      "{\"patmon_snapshot\": 1, \"classes\": [\"disk\"], \"objects\": ["
      "{\"class\": \"disk\", \"name\": \"sda\", \"props\": {\"KERNEL\": "
      "\"sda\", \"ENV{ID_VENDOR}\": \"ATA  \", \"ATTR{model}\": \"SSD \\t\"},"
      " \"parents\": [{\"ATTR{vendor}\": \"ATA     \"}]}]}";
  static const struct hit cases[] = {
      {"\"ATTRS{vendor}==ATA\"", true},
      {"\"ATTRS{vendor}!=ATA\"", false},
      {"\"ATTRS{vendor}==A?A\"", true},
      {"\"ATTR{model}==SSD\"", true},
      {"\"ATTR{model}=~SSD\"", true},
      /* a value ending in a blank: compared as read */
      {"\"ATTRS{vendor}==\\\"ATA \\\"\"", false},
      {"\"ATTRS{vendor}==\\\"ATA     \\\"\"", true},
      {"\"ATTRS{vendor}==\\\"ATA* \\\"\"", true},
      /* properties are not attributes */
      {"\"ENV{ID_VENDOR}==ATA\"", false},
  };
  expect_hits(snap, cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/* A regex that backtracks catastrophically gives up at PCRE2's limit (in
 * well under a second, not minutes), does not hold, and is reported with
 * the file and line of its condition. */
START_TEST(regex_gives_up_and_says_where) {
  pm_buf_t snap = {0};
  pm_buf_puts(&snap, "{\"patmon_snapshot\": 1, \"classes\": [\"process\"], "
                     "\"objects\": [");
  for (int i = 0; i < 200; i++)
    pm_buf_printf(&snap,
                  "%s{\"class\": \"process\", \"name\": \"p%d\", \"pid\": "
                  "%d, \"props\": {\"COMM\": \"p%d\", \"CMDLINE\": \"%s\"}}",
                  i ? "," : "", i, 100 + i, i,
                  i % 2 ? "/usr/bin/x --y"
                        : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  pm_buf_puts(&snap, "]}");
  pat_set_t *set =
      parse_ok("pattern \"ok\" { class = process\n"
               "  match = { \"COMM==p1\" } }\n"
               "pattern \"evil\" {\n  class = process\n"
               "  match = { \"CMDLINE=~(?:(?:a|a)+!x|.*)\" }\n}\n");
  pat_inventory_t *inv = load_ok(snap.data);
  pat_entries_t *e = NULL;
  pm_buf_t explain = {0};
  uint64_t t0 = pm_now_ns();
  ck_assert_int_eq(pat_expand(set, inv, &explain, &e), 0);
  double s = (double)(pm_now_ns() - t0) / 1e9;
  pm_error_t err = {0};
  /* 100 processes with the 41-character command line give up; the other
   * 100 match through ".*" (one of them is taken by "ok" first). */
  ck_assert_uint_eq(pat_entries_errors(e, &err), 100);
  ck_assert_uint_eq(pat_entries_count(e), 100);
  ck_assert_str_eq(err.file, "test.conf");
  ck_assert_uint_eq(err.line, 5);
  ck_assert_str_eq(err.text, "CMDLINE=~(?:(?:a|a)+!x|.*)");
  ck_assert_ptr_nonnull(
      strstr(err.msg, "regex gave up on CMDLINE of process p0"));
  ck_assert_ptr_nonnull(strstr(err.msg, "limit"));
  ck_assert_ptr_nonnull(strstr(explain.data, "gave up: match limit exceeded"));
  /* Generous: 200 values, each capped at PAT_MATCH_LIMIT steps. */
  ck_assert_msg(s < 20, "took %.1f s", s);
  pat_entries_t *ok = NULL;
  ck_assert_int_eq(pat_expand(set, inv, NULL, &ok), 0);
  ck_assert_uint_eq(pat_entries_errors(ok, NULL), 100);
  pat_entries_free(ok);
  pat_entries_free(e);
  pm_buf_free(&explain);
  pm_buf_free(&snap);
  pat_inventory_free(inv);
  pat_set_free(set);
}
END_TEST

/* ---- names ----------------------------------------------------------- */

static const struct {
  const char *in, *out;
} sanitized[] = {
    {"WDC WD10EZEX-00BN5A0", "WDC_WD10EZEX-00BN5A0"},
    {"/srv/nfs", "srv-nfs"},
    {"/", "root"},
    {"a/b c", "a-b_c"},
    {"", "_"},
    {"ok.name:1@x+y", "ok.name:1@x+y"},
    {"caf\xc3\xa9", "caf__"},
};

START_TEST(sanitize_names) {
  char buf[PAT_NAME_MAX + 1];
  pat_sanitize(sanitized[_i].in, buf, sizeof(buf));
  ck_assert_str_eq(buf, sanitized[_i].out);
}
END_TEST

START_TEST(sanitize_caps_length) {
  char in[300], buf[PAT_NAME_MAX + 1];
  memset(in, 'x', sizeof(in) - 1);
  in[sizeof(in) - 1] = '\0';
  pat_sanitize(in, buf, sizeof(buf));
  ck_assert_uint_eq(strlen(buf), PAT_NAME_MAX);
}
END_TEST

START_TEST(templates_and_fallback) {
  const char *snap =
      "{\"patmon_snapshot\": 1, \"classes\": [\"disk\"], \"objects\": ["
      "{\"class\": \"disk\", \"name\": \"sda\", \"props\": {\"KERNEL\": "
      "\"sda\","
      " \"ENV{ID_SERIAL}\": \"WD 1\", \"ATTR{size}\": \"100\"}},"
      "{\"class\": \"disk\", \"name\": \"sdb\", \"props\": {\"KERNEL\": "
      "\"sdb\","
      " \"ENV{ID_SERIAL}\": \"\"}}]}";
  char *out = expand_list("pattern \"p\" { class = disk\n name = "
                          "\"%k-$env{ID_SERIAL}-$attr{size}%%$$\" }\n",
                          snap);
  /* sdb has an empty serial and no size: its name falls back to %k. */
  ck_assert_str_eq(out, "p\tdisk\tsda-WD_1-100__\tsda\np\tdisk\tsdb\tsdb\n");
  free(out);
  out = expand_list("pattern \"p\" { class = disk\n"
                    " match = { \"KERNEL=~s(d)(.)\" } name = \"x%2%1\" }\n",
                    snap);
  ck_assert_str_eq(out, "p\tdisk\txad\tsda\np\tdisk\txbd\tsdb\n");
  free(out);
}
END_TEST

/* ---- providers on captured data --------------------------------------- */

static const char *get(pat_inventory_t *inv, size_t i, const char *key) {
  uint32_t k = pat_inv_key(inv, key);
  return k == PAT_NO_KEY ? NULL : pat_obj_get(&inv->objs.v[i].self, k);
}

static long find(pat_inventory_t *inv, pat_class_t cls, const char *object) {
  for (size_t i = 0; i < inv->objs.n; i++)
    if (inv->objs.v[i].cls == cls && strcmp(inv->objs.v[i].object, object) == 0)
      return (long)i;
  return -1;
}

START_TEST(mountinfo_captured) {
  pat_inventory_t *inv = pat_inventory_new();
  char *text = slurp(data_path("mountinfo-vm.txt"));
  ck_assert_int_eq(pat_parse_mountinfo(inv, text, strlen(text)), 0);
  pat_inv_finish(inv);
  /* 20 lines; /dev/pts and /dev/shm are mounted twice: the top one counts. */
  ck_assert_uint_eq(pat_inventory_count(inv), 18);
  long root = find(inv, PAT_MOUNT, "/");
  ck_assert_int_ge(root, 0);
  ck_assert_str_eq(inv->objs.v[root].name, "root");
  ck_assert_str_eq(get(inv, root, "DEVICE"), "/dev/vda");
  ck_assert_str_eq(get(inv, root, "FSTYPE"), "ext4");
  ck_assert_str_eq(get(inv, root, "OPTIONS"),
                   "rw,relatime,discard,resv_strict,resuid=65534,resgid=65534");
  long pts = find(inv, PAT_MOUNT, "/dev/pts");
  ck_assert_str_eq(get(inv, pts, "DEVNUM"), "0:26"); /* the later mount */
  free(text);
  pat_inventory_free(inv);
}
END_TEST

START_TEST(mountinfo_escapes_and_garbage) {
  const char *text =
      "36 35 98:0 / /srv/my\\040data rw,noatime shared:1 - xfs /dev/sdb1 rw\n"
      "garbage line\n"
      "37 35 98:1 / /srv/tab\\011x ro master:2 unbindable - ext4 /dev/sdc1 "
      "ro,errors=continue\n";
  pat_inventory_t *inv = pat_inventory_new();
  ck_assert_int_eq(pat_parse_mountinfo(inv, text, strlen(text)), 0);
  pat_inv_finish(inv);
  ck_assert_uint_eq(pat_inventory_count(inv), 2);
  long a = find(inv, PAT_MOUNT, "/srv/my data");
  ck_assert_int_ge(a, 0);
  ck_assert_str_eq(inv->objs.v[a].name, "srv-my data");
  long b = find(inv, PAT_MOUNT, "/srv/tab\tx");
  ck_assert_str_eq(get(inv, b, "OPTIONS"), "ro,errors=continue");
  pat_inventory_free(inv);
}
END_TEST

/* The captured tree keeps each exe link as text (release tarballs
 * dereference symlinks): copy it into tmpdir with real links. */
static const char *materialize_proc(void) {
  static char dst[256];
  snprintf(dst, sizeof(dst), "%s/proc", tmpdir);
  char *argv[] = {"cp", "-r", data_path("proc"), dst, NULL};
  int st;
  ck_assert_int_eq(pm_spawn(argv, 10000, NULL, NULL, &st), 0);
  ck_assert_int_eq(st, 0);
  DIR *d = opendir(dst);
  ck_assert_ptr_nonnull(d);
  struct dirent *de;
  while ((de = readdir(d))) {
    char path[600], link[600];
    pm_buf_t b = {0};
    snprintf(path, sizeof(path), "%s/%s/exe.target", dst, de->d_name);
    if (pm_file_read(path, 4096, &b) == 0 && b.len) {
      b.data[strcspn(b.data, "\n")] = '\0';
      snprintf(link, sizeof(link), "%s/%s/exe", dst, de->d_name);
      ck_assert_int_eq(symlink(b.data, link), 0);
    }
    pm_buf_free(&b);
  }
  closedir(d);
  return dst;
}

START_TEST(proc_captured) {
  pat_scan_opts_t o = {.classes = 1u << PAT_PROCESS,
                       .proc_root = materialize_proc()};
  pat_inventory_t *inv = NULL;
  ck_assert_int_eq(pat_inventory_scan(&o, &inv), 0);
  ck_assert_uint_eq(pat_inventory_count(inv), 4);
  long init = find(inv, PAT_PROCESS, "1");
  ck_assert_str_eq(get(inv, init, "COMM"), "process_api");
  ck_assert_ptr_nonnull(
      strstr(get(inv, init, "CMDLINE"), "--firecracker-init"));
  ck_assert_str_eq(get(inv, init, "USER"), "root");
  long kt = find(inv, PAT_PROCESS, "2");
  ck_assert_str_eq(get(inv, kt, "COMM"), "kthreadd");
  ck_assert_str_eq(get(inv, kt, "CMDLINE"), "");
  ck_assert_str_eq(get(inv, kt, "EXE"), "");
  int workers = 0, nobody = 0;
  for (size_t i = 0; i < inv->objs.n; i++) {
    if (strcmp(get(inv, i, "CMDLINE"), "nginx-worker 300") == 0) {
      workers++;
      ck_assert_str_eq(get(inv, i, "COMM"), "sleep");
      ck_assert_str_eq(get(inv, i, "EXE"), "/usr/bin/sleep");
    }
    nobody += strcmp(get(inv, i, "USER"), "nobody") == 0;
  }
  ck_assert_int_eq(workers, 1);
  ck_assert_int_eq(nobody, 1);
  pat_inventory_free(inv);
}
END_TEST

/* The live udev provider agrees with /sys: one disk object per block
 * device that is not a partition, and lo among the NICs. */
START_TEST(udev_live) {
  pat_scan_opts_t o = {.classes = 1u << PAT_DISK | 1u << PAT_NIC};
  pat_inventory_t *inv = NULL;
  ck_assert_int_eq(pat_inventory_scan(&o, &inv), 0);
  size_t disks = 0;
  DIR *d = opendir("/sys/class/block");
  ck_assert_ptr_nonnull(d);
  struct dirent *de;
  while ((de = readdir(d))) {
    char p[600];
    struct stat st;
    snprintf(p, sizeof(p), "/sys/class/block/%s/partition", de->d_name);
    if (de->d_name[0] != '.' && stat(p, &st) < 0)
      disks++;
  }
  closedir(d);
  ck_assert_uint_eq(inv->cls_start[PAT_DISK + 1] - inv->cls_start[PAT_DISK],
                    disks);
  for (size_t i = inv->cls_start[PAT_DISK]; i < inv->cls_start[PAT_DISK + 1];
       i++) {
    ck_assert_str_eq(get(inv, i, "SUBSYSTEM"), "block");
    ck_assert_str_eq(get(inv, i, "DEVTYPE"), "disk");
  }
  long lo = find(inv, PAT_NIC, "lo");
  ck_assert_int_ge(lo, 0);
  ck_assert_str_eq(get(inv, lo, "NAME"), "lo");
  ck_assert_str_eq(get(inv, lo, "SUBSYSTEM"), "net");
  ck_assert_str_eq(get(inv, lo, "ENV{INTERFACE}"), "lo");
  pat_inventory_free(inv);
}
END_TEST

START_TEST(units_without_a_bus) {
  setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
  pat_scan_opts_t o = {.classes = 1u << PAT_UNIT};
  pat_inventory_t *inv = NULL;
  ck_assert_int_eq(pat_inventory_scan(&o, &inv), 0);
  unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  ck_assert_uint_eq(pat_inventory_count(inv), 0);
  ck_assert_ptr_nonnull(
      strstr(pat_inventory_note(inv, PAT_UNIT), "no system bus"));
  pat_inventory_free(inv);
}
END_TEST

START_TEST(crm_mon_captured) {
  char *mon = slurp(data_path("pcmk/crm_mon.xml"));
  char *cib = slurp(data_path("pcmk/cib.xml"));
  pat_inventory_t *inv = pat_inventory_new();
  ck_assert_int_eq(pat_parse_crm_mon(inv, mon, strlen(mon), cib, strlen(cib),
                                     "node1", NULL, 0, NULL),
                   0);
  pat_inv_finish(inv);
  ck_assert_uint_eq(pat_inventory_count(inv), 3); /* nfs-data, nfs-ip, ping */
  long fs = find(inv, PAT_RESOURCE, "nfs-data");
  ck_assert_str_eq(get(inv, fs, "AGENT"), "ocf:heartbeat:Filesystem");
  ck_assert_str_eq(get(inv, fs, "GROUP"), "nfs-group");
  ck_assert_str_eq(get(inv, fs, "PARAM{directory}"), "/srv/nfs");
  ck_assert_str_eq(get(inv, fs, "PARAM{device}"), "/dev/vg0/nfs");
  ck_assert_str_eq(get(inv, find(inv, PAT_RESOURCE, "ping"), "GROUP"),
                   "ping-clone");
  pat_inventory_free(inv);

  inv = pat_inventory_new();
  ck_assert_int_eq(pat_parse_crm_mon(inv, mon, strlen(mon), cib, strlen(cib),
                                     "node2", NULL, 0, NULL),
                   0);
  pat_inv_finish(inv);
  ck_assert_uint_eq(pat_inventory_count(inv), 3); /* db-vg, ping, web */
  long vg = find(inv, PAT_RESOURCE, "db-vg");
  ck_assert_str_eq(get(inv, vg, "PARAM{vgname}"), "vgdb");
  long web = find(inv, PAT_RESOURCE, "web");
  ck_assert_str_eq(get(inv, web, "AGENT"), "systemd:nginx");
  ck_assert_str_eq(get(inv, web, "CGROUP"), "/system.slice/nginx.service");
  pat_inventory_free(inv);

  /* Broken XML: nothing listed, a note says why, no crash. */
  inv = pat_inventory_new();
  ck_assert_int_eq(pat_parse_crm_mon(inv, mon, strlen(mon) / 2, "<cib", 4,
                                     "node1", NULL, 0, NULL),
                   0);
  ck_assert_uint_eq(pat_inventory_count(inv), 0);
  ck_assert_ptr_nonnull(pat_inventory_note(inv, PAT_RESOURCE));
  pat_inventory_free(inv);
  free(mon);
  free(cib);
}
END_TEST

/* HA events are this node's own word: they win over crm_mon's output of
 * before them, until crm_mon agrees or they grow old. */
START_TEST(crm_mon_events) {
  char *mon = slurp(data_path("pcmk/crm_mon.xml"));
  char *cib = slurp(data_path("pcmk/cib.xml"));
  struct pat_pcmk_cache c = {0};
  ck_assert_int_eq(pat_pcmk_event(&c, "nfs-data", false), 0);
  ck_assert_int_eq(pat_pcmk_event(&c, "db-vg", true), 0);
  ck_assert_int_eq(pat_pcmk_event(&c, "nfs-ip", true), 0);
  ck_assert_int_eq(pat_pcmk_event(&c, "db-vg", true), 0); /* replaces */
  ck_assert_int_eq(pat_pcmk_event(&c, "", true), -EINVAL);
  ck_assert_uint_eq(c.ev.n, 3);
  ck_assert(c.cached_only);
  bool here[3];
  pat_inventory_t *inv = pat_inventory_new();
  ck_assert_int_eq(pat_parse_crm_mon(inv, mon, strlen(mon), cib, strlen(cib),
                                     "node1", c.ev.v, c.ev.n, here),
                   0);
  pat_inv_finish(inv);
  /* nfs-data stopped here, db-vg (node2 for crm_mon) started here. */
  ck_assert_int_lt(find(inv, PAT_RESOURCE, "nfs-data"), 0);
  long vg = find(inv, PAT_RESOURCE, "db-vg");
  ck_assert_int_ge(vg, 0);
  ck_assert_str_eq(get(inv, vg, "PARAM{vgname}"), "vgdb");
  ck_assert_str_eq(get(inv, vg, "ROLE"), "Started");
  ck_assert_str_eq(get(inv, vg, "NODE"), "node1");
  ck_assert_int_ge(find(inv, PAT_RESOURCE, "nfs-ip"), 0);
  ck_assert_uint_eq(pat_inventory_count(inv), 3); /* db-vg, nfs-ip, ping */
  ck_assert(here[0] && !here[1] && here[2]);
  pat_inventory_free(inv);
  /* crm_mon agrees on nfs-ip only: the other two stay, for the grace
   * period. */
  uint64_t now = pm_now_ns();
  pat_pcmk_settle(&c, here, now);
  ck_assert_uint_eq(c.ev.n, 2);
  ck_assert_str_eq(c.ev.v[0].rsc, "nfs-data");
  ck_assert_str_eq(c.ev.v[1].rsc, "db-vg");
  bool still[2] = {true, false};
  pat_pcmk_settle(&c, still, now + (uint64_t)PAT_EVENT_GRACE_S * 2000000000);
  ck_assert_uint_eq(c.ev.n, 0);
  pat_pcmk_cache_free(&c);
  pat_pcmk_cache_free(NULL);
  free(mon);
  free(cib);
}
END_TEST

/* ---- snapshots --------------------------------------------------------- */

START_TEST(snapshot_round_trip) {
  const char *files[] = {"snap-storage.json", "snap-vm.json"};
  for (size_t f = 0; f < 2; f++) {
    pat_inventory_t *a = NULL, *b = NULL;
    pm_error_t err = {0};
    pm_buf_t s1 = {0}, s2 = {0};
    ck_assert_int_eq(pat_inventory_load(data_path(files[f]), &a, &err), 0);
    ck_assert_int_eq(pat_inventory_save(a, &s1), 0);
    ck_assert_int_eq(pat_inventory_load_buf(s1.data, s1.len, "s1", &b, &err),
                     0);
    ck_assert_int_eq(pat_inventory_save(b, &s2), 0);
    ck_assert_uint_eq(pat_inventory_count(a), pat_inventory_count(b));
    ck_assert_str_eq(s1.data, s2.data);
    ck_assert_uint_gt(pat_inventory_count(a), 50);
    pat_inventory_free(a);
    pat_inventory_free(b);
    pm_buf_free(&s1);
    pm_buf_free(&s2);
  }
}
END_TEST

static const struct {
  const char *text;
  unsigned line;
  const char *msg;
} bad_snapshots[] = {
    {"{\"objects\": []}", 1, "not a patmon snapshot"},
    {"{\"patmon_snapshot\": 2}", 0, "format 2 is not supported"},
    {"{\"patmon_snapshot\": 1,\n \"objects\": [\n {\"class\": \"toaster\", "
     "\"name\": \"x\"}]}",
     3, "known \"class\" (toaster)"},
    {"{\"patmon_snapshot\": 1,\n \"objects\": [{\"class\": \"disk\"}]}", 2,
     "without a \"name\""},
    {"{\"patmon_snapshot\": 1} trailing", 1, "trailing text"},
    {"{\"patmon_snapshot\": 1, \"host\": \"a\\qb\"}", 1, "bad escape"},
    {"{\"patmon_snapshot\": 1, \"host\": \"ab", 1, "unterminated string"},
    {"{\"patmon_snapshot\": 1, \"x\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
     1, "nested too deeply"},
    {"{\"patmon_snapshot\": 1,\n\n \"objects\": [{\"class\": \"disk\", "
     "\"name\": \"a\", \"props\": {\"K\": 5}}]}",
     3, "expected a string"},
    {"", 1, "expected '{'"},
    {"{\"patmon_snapshot\": 1,\n \"host\": \"a\x1b[0m\"}", 2,
     "control character"},
    {"{\"patmon_snapshot\": 1,\n \"objects\": [{\"class\": \"disk\", "
     "\"name\": \"a\",\n \"props\": {\"K\": \"x\\u0000y\"}}]}",
     2, "\\u0000"},
};

START_TEST(snapshot_errors) {
  pat_inventory_t *inv = NULL;
  pm_error_t err = {0};
  const char *t = bad_snapshots[_i].text;
  ck_assert_int_eq(pat_inventory_load_buf(t, strlen(t), "s.json", &inv, &err),
                   -EBADMSG);
  ck_assert_ptr_null(inv);
  ck_assert_msg(strstr(err.msg, bad_snapshots[_i].msg), "case %d: '%s'", _i,
                err.msg);
  ck_assert_msg(err.line == bad_snapshots[_i].line, "case %d: line %u", _i,
                err.line);
  ck_assert_str_eq(err.file, "s.json");
}
END_TEST

/* A control character a snapshot saved escaped (\u001b) loads back. */
START_TEST(snapshot_escaped_control_round_trip) {
  pat_inventory_t *inv =
      load_ok("{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"nic\", "
              "\"name\": \"eth0\", \"props\": {\"ATTR{ifalias}\": "
              "\"a\\u001b[0m\\tb\"}}]}");
  pm_buf_t out = {0};
  ck_assert_int_eq(pat_inventory_save(inv, &out), 0);
  ck_assert_ptr_nonnull(strstr(out.data, "\"a\\u001b[0m\\tb\""));
  pat_inventory_t *again = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(
      pat_inventory_load_buf(out.data, out.len, "saved", &again, &err), 0);
  ck_assert_uint_eq(pat_inventory_count(again), 1);
  pat_inventory_free(again);
  pat_inventory_free(inv);
  pm_buf_free(&out);
}
END_TEST

/* Strings are written by json-c: quotes, backslashes and control characters
 * escaped, '/' left alone, the layout around them ours. */
START_TEST(json_strings_escaped) {
  pm_buf_t b = {0};
  ck_assert_int_eq(pat_json_str(&b, "a\"b\\c\n\x01/d"), 0);
  ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\u0001/d\"");
  pm_buf_reset(&b);
  ck_assert_int_eq(pat_json_str(&b, ""), 0);
  ck_assert_str_eq(b.data, "\"\"");
  pm_buf_free(&b);
}
END_TEST

START_TEST(snapshot_object_without_props) {
  pat_inventory_t *inv =
      load_ok("{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"nic\", "
              "\"name\": \"x\", \"parents\": [{}]}]}");
  pm_buf_t out = {0};
  ck_assert_int_eq(pat_inventory_save(inv, &out), 0);
  ck_assert_ptr_nonnull(strstr(out.data, "\"props\": {}, \"parents\": [{}]"));
  pm_buf_free(&out);
  pat_inventory_free(inv);
}
END_TEST

/* Member order does not matter: here "parents" comes first, as jq -S
 * writes it. */
START_TEST(snapshot_parents_first) {
  char *out = expand_list(
      "pattern \"p\" { class = disk  match = { \"KERNEL==sd*\", "
      "\"ATTRS{vendor}==ATA\" } }\n",
      "{\"objects\": [{\"class\": \"disk\", \"name\": \"sda\", \"parents\": "
      "[{\"ATTR{vendor}\": \"ATA\"}], \"props\": {\"KERNEL\": \"sda\"}}], "
      "\"patmon_snapshot\": 1}");
  ck_assert_str_eq(out, "p\tdisk\tsda\tsda\n");
  free(out);
}
END_TEST

START_TEST(snapshot_unicode) {
  const char *snap =
      "{\"patmon_snapshot\": 1, \"classes\": [\"nic\"], \"objects\": ["
      "{\"class\": \"nic\", \"name\": \"eth0\", \"props\": {\"NAME\": \"eth0\","
      " \"ATTR{ifalias}\": \"caf\\u00e9 \\ud83d\\ude00 \\ud800\"}}]}";
  pat_inventory_t *inv = load_ok(snap);
  ck_assert_str_eq(get(inv, 0, "ATTR{ifalias}"),
                   "caf\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbd");
  pat_inventory_free(inv);
}
END_TEST

/* ---- expansion and formats ---------------------------------------------- */

static char *expand_file(pat_format_t fmt, bool explain) {
  pat_set_t *set = NULL;
  pat_inventory_t *inv = NULL;
  pat_entries_t *e = NULL;
  pm_error_t err = {0};
  pm_buf_t out = {0}, why = {0};
  ck_assert_int_eq(pat_set_load(data_path("storage.conf"), &set, &err), 0);
  ck_assert_int_eq(
      pat_inventory_load(data_path("snap-storage.json"), &inv, &err), 0);
  ck_assert_int_eq(pat_expand(set, inv, explain ? &why : NULL, &e), 0);
  /* Generated comments name the pattern file as the CLI is given it. */
  ck_assert_int_eq(pat_entries_format(e, fmt, "storage.conf", &out), 0);
  pat_entries_free(e);
  pat_inventory_free(inv);
  pat_set_free(set);
  if (explain) {
    pm_buf_free(&out);
    return why.data;
  }
  return out.data;
}

static void assert_same_as(const char *got, const char *file) {
  char *want = slurp(data_path(file));
  if (strcmp(got, want) != 0) {
    size_t i = 0;
    while (got[i] && got[i] == want[i])
      i++;
    ck_abort_msg("%s differs at byte %zu: got '%.60s' want '%.60s'", file, i,
                 got + i, want + i);
  }
  free(want);
}

static const struct {
  pat_format_t fmt;
  const char *expected;
} formats[] = {
    {PAT_FORMAT_LIST, "storage.list"},
    {PAT_FORMAT_JSON, "storage.json"},
    {PAT_FORMAT_COLLECTD, "storage.collectd"},
    {PAT_FORMAT_GMOND, "storage.gmond"},
};

START_TEST(expand_formats) {
  char *out = expand_file(formats[_i].fmt, false);
  assert_same_as(out, formats[_i].expected);
  free(out);
}
END_TEST

START_TEST(expand_explain) {
  char *out = expand_file(PAT_FORMAT_LIST, true);
  assert_same_as(out, "storage.explain");
  /* First match wins and the tie is shown. */
  ck_assert_ptr_nonnull(
      strstr(out, "disk dm-0 (/dev/dm-0): pattern \"multipath\""));
  ck_assert_ptr_nonnull(
      strstr(out, "other-disks: matches too, but \"multipath\" comes first"));
  free(out);
}
END_TEST

START_TEST(expand_real_capture) {
  pat_set_t *set = NULL;
  pat_inventory_t *inv = NULL;
  pat_entries_t *e = NULL;
  pm_error_t err = {0};
  pm_buf_t out = {0};
  char path[1200];
  snprintf(path, sizeof(path), "%s/../../../contrib/patterns/example.conf",
           data_dir);
  ck_assert_int_eq(pat_set_load(path, &set, &err), 0);
  ck_assert_int_eq(pat_inventory_load(data_path("snap-vm.json"), &inv, &err),
                   0);
  ck_assert_int_eq(pat_expand(set, inv, NULL, &e), 0);
  ck_assert_int_eq(pat_entries_format(e, PAT_FORMAT_JSON, NULL, &out), 0);
  assert_same_as(out.data, "vm-example.json");
  pm_buf_free(&out);
  pat_entries_free(e);
  pat_inventory_free(inv);
  pat_set_free(set);
}
END_TEST

/* The same objects in another order expand to the same output. */
START_TEST(expand_is_order_independent) {
  pat_inventory_t *inv = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(
      pat_inventory_load(data_path("snap-storage.json"), &inv, &err), 0);
  pm_buf_t fwd = {0}, rev = {0};
  pat_inventory_save(inv, &fwd);
  /* Write the objects back in reverse order. */
  pm_buf_puts(&rev,
              "{\"patmon_snapshot\": 1, \"classes\": [\"disk\", \"partition\", "
              "\"nic\", \"mount\", \"process\", \"unit\", \"resource\"], "
              "\"objects\": [");
  char *objs = strstr(fwd.data, "\"objects\": [") + 12;
  char *lines[200];
  size_t n = 0;
  for (char *save = NULL, *l = strtok_r(objs, "\n", &save); l && n < 200;
       l = strtok_r(NULL, "\n", &save))
    if (strstr(l, "{\"class\""))
      lines[n++] = l;
  for (size_t i = n; i-- > 0;) {
    size_t len = strlen(lines[i]);
    if (lines[i][len - 1] == ',')
      len--;
    pm_buf_append(&rev, lines[i], len);
    pm_buf_puts(&rev, i ? ",\n" : "\n");
  }
  pm_buf_puts(&rev, "]}");
  char *a = expand_file(PAT_FORMAT_JSON, false);
  pat_set_t *set = NULL;
  ck_assert_int_eq(pat_set_load(data_path("storage.conf"), &set, &err), 0);
  pat_inventory_t *inv2 = load_ok(rev.data);
  ck_assert_uint_eq(pat_inventory_count(inv2), pat_inventory_count(inv));
  pat_entries_t *e = NULL;
  pm_buf_t b = {0};
  ck_assert_int_eq(pat_expand(set, inv2, NULL, &e), 0);
  ck_assert_int_eq(pat_entries_format(e, PAT_FORMAT_JSON, "storage.conf", &b),
                   0);
  ck_assert_str_eq(a, b.data);
  free(a);
  pm_buf_free(&b);
  pm_buf_free(&fwd);
  pm_buf_free(&rev);
  pat_entries_free(e);
  pat_inventory_free(inv);
  pat_inventory_free(inv2);
  pat_set_free(set);
}
END_TEST

/* Names are unique per collectd plugin: process, unit and resource entries
 * share "processes". */
START_TEST(expand_renames_collisions) {
  const char *snap =
      "{\"patmon_snapshot\": 1, \"classes\": [\"process\", \"unit\"], "
      "\"objects\": ["
      "{\"class\": \"process\", \"name\": \"web\", \"object\": \"10\", "
      "\"pid\": 10,"
      " \"props\": {\"COMM\": \"web\"}},"
      "{\"class\": \"process\", \"name\": \"web\", \"object\": \"11\", "
      "\"pid\": 11,"
      " \"props\": {\"COMM\": \"web\"}},"
      "{\"class\": \"unit\", \"name\": \"web.service\", \"props\": {\"UNIT\": "
      "\"web.service\"}}]}";
  char *out =
      expand_list("pattern \"procs\" { class = process }\n"
                  "pattern \"units\" { class = unit\n"
                  "  match = { \"UNIT=~(.*)\\\\.service\" } name = \"%1\" }\n",
                  snap);
  ck_assert_str_eq(out, "procs\tprocess\tweb\t10 11\n"
                        "units\tunit\tweb-web.service\tweb.service\n");
  free(out);
}
END_TEST

/* Two long names that clash: the rename keeps its tail and ends. */
START_TEST(expand_renames_long_names) {
  pm_buf_t snap = {0};
  char longname[120];
  memset(longname, 'a', 110);
  longname[110] = '\0';
  pm_buf_puts(&snap, "{\"patmon_snapshot\": 1, \"objects\": [");
  for (int i = 1; i <= 3; i++)
    pm_buf_printf(&snap,
                  "%s{\"class\": \"mount\", \"name\": \"x%d\", \"object\": "
                  "\"/srv/%s/%d\", \"props\": {\"MOUNT\": \"/srv/%s/%d\"}}",
                  i > 1 ? "," : "", i, longname, i, longname, i);
  pm_buf_puts(&snap, "]}");
  char *out = expand_list("pattern \"m\" { class = mount  name = \"$$%1\" "
                          " match = { \"MOUNT=~/srv/(a+)/.*\" } }\n",
                          snap.data);
  char a100[PAT_NAME_MAX + 1];
  memset(a100, 'a', PAT_NAME_MAX);
  a100[PAT_NAME_MAX - 1] = '\0';
  /* "$" + 99 a's, then -x2 and -x3 replacing the end of the name. */
  ck_assert_ptr_nonnull(strstr(out, "m\tmount\t_"));
  ck_assert_ptr_nonnull(strstr(out, "-x2\t/srv/"));
  ck_assert_ptr_nonnull(strstr(out, "-x3\t/srv/"));
  for (char *l = out; *l; l = strchr(l, '\n') + 1) {
    char *inst = strchr(strchr(l, '\t') + 1, '\t') + 1;
    ck_assert_int_le((int)strcspn(inst, "\t"), PAT_NAME_MAX);
  }
  free(out);
  pm_buf_free(&snap);
}
END_TEST

START_TEST(expand_api_view) {
  pat_set_t *set = NULL;
  pat_inventory_t *inv = NULL;
  pat_entries_t *e = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(pat_set_load(data_path("storage.conf"), &set, &err), 0);
  ck_assert_int_eq(
      pat_inventory_load(data_path("snap-storage.json"), &inv, &err), 0);
  ck_assert_int_eq(pat_expand(set, inv, NULL, &e), 0);
  ck_assert_uint_eq(pat_entries_count(e), 36);
  pat_entry_t en;
  ck_assert_int_eq(pat_entries_get(e, 36, &en), -ERANGE);
  bool seen_volume = false, seen_pids = false, seen_cgroup = false;
  for (size_t i = 0; i < pat_entries_count(e); i++) {
    ck_assert_int_eq(pat_entries_get(e, i, &en), 0);
    if (strcmp(en.object, "nfs-data") == 0) {
      ck_assert_str_eq(en.volume_device, "/dev/vg0/nfs");
      ck_assert_str_eq(en.volume_dir, "/srv/nfs");
      seen_volume = true;
    }
    if (strcmp(en.object, "db-vg") == 0)
      ck_assert_str_eq(en.volume_vg, "vgdb");
    if (en.cls == PAT_PROCESS && strcmp(en.instance, "postgres") == 0) {
      ck_assert_uint_eq(en.npids, 8);
      for (size_t p = 1; p < en.npids; p++)
        ck_assert_int_lt(en.pids[p - 1], en.pids[p]);
      seen_pids = true;
    }
    if (strcmp(en.instance, "pg-15-main") == 0) {
      ck_assert_str_eq(
          en.cgroup,
          "/system.slice/system-postgresql.slice/postgresql@15-main.service");
      seen_cgroup = true;
    }
  }
  ck_assert(seen_volume && seen_pids && seen_cgroup);
  pat_entries_free(e);
  pat_inventory_free(inv);
  pat_set_free(set);
  pat_entries_free(NULL);
  pat_inventory_free(NULL);
  pat_set_free(NULL);
}
END_TEST

START_TEST(format_names) {
  pat_format_t f;
  ck_assert_int_eq(pat_format_parse("gmond", &f), 0);
  ck_assert_int_eq(f, PAT_FORMAT_GMOND);
  ck_assert_int_eq(pat_format_parse("xml", &f), -EINVAL);
  ck_assert_str_eq(pat_class_plugin(PAT_NIC), "interface");
  ck_assert_str_eq(pat_group_name(PAT_DISK, 0), "io");
  ck_assert_ptr_null(pat_group_name(PAT_DISK, 99));
  ck_assert_str_eq(pat_group_types(PAT_NIC, 0)[0], "if_octets");
  ck_assert_ptr_null(pat_class_name(PAT_NCLASSES));
}
END_TEST

/* Two files that say the same thing in different words: comments, quoting,
 * blanks around operators, one line or several, `node` and the order of
 * metric groups differ. Both give this canonical form; its digest is
 * `sha256sum` of that text (checked with coreutils). */
static const char same_a[] =
    "# disks\n"
    "pattern \"sas\" {\n"
    "  class = disk\n"
    "  match = {\"KERNEL==sd*\", \"ATTRS{vendor}==\\\"ATA \\\"\"}\n"
    "  name = \"%k\"\n"
    "  metrics = {latency, io}\n"
    "}\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n"
    "node = \"n1\"\n";
static const char same_b[] =
    "node = \"n2\"\n"
    "pattern sas {\n"
    "        class = \"disk\"        /* block devices */\n"
    "        match = { \"KERNEL == sd*\" , \"ATTRS{vendor} == \\\"ATA \\\"\" "
    "}\n"
    "        name = \"%k\"\n"
    "        metrics = { io, latency }\n"
    "}\n"
    "\n"
    "pattern \"nics\" {\n"
    "  class = nic\n"
    "  match = {\"KERNEL =~ ^en(.*)$\"}\n"
    "  interval = 10\n"
    "}\n";
static const char same_canonical[] =
    "patmon-patterns canonical 1\n"
    "patterns 2\n"
    "pattern \"sas\" class disk\n"
    "  match KERNEL == \"sd*\"\n"
    "  match ATTRS{vendor} == \"ATA \"\n"
    "  name \"%k\"\n"
    "  metrics io latency\n"
    "  interval 0\n"
    "pattern \"nics\" class nic\n"
    "  match KERNEL =~ \"^en(.*)$\"\n"
    "  metrics traffic packets errors dropped\n"
    "  interval 10\n";
#define SAME_DIGEST                                                            \
  "c280351ab76ff2b4972e96df35691760057773674afd0f1919a7430b8b331fda"

static void digest_of(const char *text, char hex[PAT_DIGEST_HEX + 1]) {
  pat_set_t *set = parse_ok(text);
  ck_assert_int_eq(pat_set_digest(set, hex), 0);
  pat_set_free(set);
}

START_TEST(digest_ignores_how_it_is_written) {
  const char *texts[] = {same_a, same_b};
  for (size_t i = 0; i < 2; i++) {
    pat_set_t *set = parse_ok(texts[i]);
    pm_buf_t b = {0};
    char hex[PAT_DIGEST_HEX + 1];
    ck_assert_int_eq(pat_set_canonical(set, &b), 0);
    ck_assert_str_eq(b.data, same_canonical);
    ck_assert_int_eq(pat_set_digest(set, hex), 0);
    ck_assert_str_eq(hex, SAME_DIGEST);
    pm_buf_free(&b);
    pat_set_free(set);
  }
  /* The gauge: the first 8 hex digits, c280351a. */
  ck_assert_uint_eq(pat_digest_gauge(SAME_DIGEST), 0xc280351au);
  ck_assert_uint_eq(pat_digest_gauge("00000001ff"), 1u);
  ck_assert_uint_eq(pat_digest_gauge("ffffffff"), 4294967295u);
  /* No pattern at all. */
  pat_set_t *set = parse_ok("# nothing yet\n");
  pm_buf_t b = {0};
  ck_assert_int_eq(pat_set_canonical(set, &b), 0);
  ck_assert_str_eq(b.data, "patmon-patterns canonical 1\npatterns 0\n");
  pm_buf_free(&b);
  pat_set_free(set);
}
END_TEST

/* Each of these means something else than same_a: each digest differs from
 * SAME_DIGEST and from every other one. */
static const char *const differ[] = {
    /* patterns in the other order (the first match wins) */
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n"
    "pattern sas { class = disk match = {\"KERNEL==sd*\", "
    "\"ATTRS{vendor}==\\\"ATA \\\"\"} name = \"%k\" metrics = {io, latency} "
    "}\n",
    /* another interval */
    "pattern sas { class = disk match = {\"KERNEL==sd*\", "
    "\"ATTRS{vendor}==\\\"ATA \\\"\"} name = \"%k\" metrics = {io, latency} }\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 20 "
    "}\n",
    /* one metric group fewer */
    "pattern sas { class = disk match = {\"KERNEL==sd*\", "
    "\"ATTRS{vendor}==\\\"ATA \\\"\"} name = \"%k\" metrics = {io} }\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n",
    /* ATTR (the device only) for ATTRS (any parent) */
    "pattern sas { class = disk match = {\"KERNEL==sd*\", "
    "\"ATTR{vendor}==\\\"ATA \\\"\"} name = \"%k\" metrics = {io, latency} }\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n",
    /* the value's trailing blank, significant inside quotes */
    "pattern sas { class = disk match = {\"KERNEL==sd*\", "
    "\"ATTRS{vendor}==\\\"ATA\\\"\"} name = \"%k\" metrics = {io, latency} }\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n",
    /* != for == */
    "pattern sas { class = disk match = {\"KERNEL!=sd*\", "
    "\"ATTRS{vendor}==\\\"ATA \\\"\"} name = \"%k\" metrics = {io, latency} }\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n",
    /* the condition as an exclude */
    "pattern sas { class = disk match = {\"KERNEL==sd*\"} exclude = "
    "{\"ATTRS{vendor}==\\\"ATA \\\"\"} name = \"%k\" metrics = {io, latency} "
    "}\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n",
    /* no name template (the default name is the same here, but not in
     * general) */
    "pattern sas { class = disk match = {\"KERNEL==sd*\", "
    "\"ATTRS{vendor}==\\\"ATA \\\"\"} metrics = {io, latency} }\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n",
    /* a pattern renamed */
    "pattern sata { class = disk match = {\"KERNEL==sd*\", "
    "\"ATTRS{vendor}==\\\"ATA \\\"\"} name = \"%k\" metrics = {io, latency} }\n"
    "pattern nics { class = nic match = {\"KERNEL=~^en(.*)$\"} interval = 10 "
    "}\n",
};

START_TEST(digest_follows_meaning) {
  char base[PAT_DIGEST_HEX + 1],
      seen[sizeof(differ) / sizeof(differ[0])][PAT_DIGEST_HEX + 1];
  digest_of(same_a, base);
  for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
    digest_of(differ[i], seen[i]);
    ck_assert_msg(strcmp(seen[i], base) != 0, "variant %zu: same digest", i);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(strcmp(seen[i], seen[j]) != 0,
                    "variants %zu and %zu: same digest", j, i);
  }
  /* A string with a quote, a backslash and a control byte is escaped, so
   * no value can imitate the form's own syntax. libconfuse reads the value
   * x\\\\y<TAB>z as x\\y<TAB>z (its own escapes): two backslashes. */
  pat_set_t *set = parse_ok("pattern \"a\\\"b\" { class = unit match = "
                            "{\"UNIT==x\\\\\\\\y\\tz\"} }\n");
  pm_buf_t b = {0};
  ck_assert_int_eq(pat_set_canonical(set, &b), 0);
  ck_assert_str_eq(b.data, "patmon-patterns canonical 1\n"
                           "patterns 1\n"
                           "pattern \"a\\\"b\" class unit\n"
                           "  match UNIT == \"x\\\\\\\\y\\x09z\"\n"
                           "  metrics cpu memory count io faults\n"
                           "  interval 0\n");
  pm_buf_free(&b);
  pat_set_free(set);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("pattern");
  struct {
    const char *name;
    TCase *tc;
  } cases[] = {{"parse", NULL},     {"match", NULL},    {"names", NULL},
               {"providers", NULL}, {"snapshot", NULL}, {"expand", NULL}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cases[i].tc = tcase_create(cases[i].name);
    tcase_add_checked_fixture(cases[i].tc, setup, teardown);
    tcase_set_timeout(cases[i].tc, 30);
    suite_add_tcase(s, cases[i].tc);
  }
  TCase *parse = cases[0].tc, *match = cases[1].tc, *names = cases[2].tc,
        *prov = cases[3].tc, *snap = cases[4].tc, *exp = cases[5].tc;
  tcase_add_test(parse, parse_valid);
  tcase_add_loop_test(parse, parse_errors, 0,
                      sizeof(bad_files) / sizeof(bad_files[0]));
  tcase_add_test(parse, parse_include_error_names_included_file);
  tcase_add_test(parse, digest_ignores_how_it_is_written);
  tcase_add_test(parse, digest_follows_meaning);
  tcase_add_loop_test(match, glob_semantics, 0,
                      sizeof(globs) / sizeof(globs[0]));
  tcase_add_test(match, regex_is_whole_value_and_missing_is_empty);
  tcase_add_test(match, attrs_same_level);
  tcase_add_test(match, attr_trailing_whitespace);
  tcase_add_test(match, regex_gives_up_and_says_where);
  tcase_add_loop_test(names, sanitize_names, 0,
                      sizeof(sanitized) / sizeof(sanitized[0]));
  tcase_add_test(names, sanitize_caps_length);
  tcase_add_test(names, templates_and_fallback);
  tcase_add_test(prov, mountinfo_captured);
  tcase_add_test(prov, mountinfo_escapes_and_garbage);
  tcase_add_test(prov, proc_captured);
  tcase_add_test(prov, udev_live);
  tcase_add_test(prov, units_without_a_bus);
  tcase_add_test(prov, crm_mon_captured);
  tcase_add_test(prov, crm_mon_events);
  tcase_add_test(snap, snapshot_round_trip);
  tcase_add_loop_test(snap, snapshot_errors, 0,
                      sizeof(bad_snapshots) / sizeof(bad_snapshots[0]));
  tcase_add_test(snap, snapshot_unicode);
  tcase_add_test(snap, snapshot_parents_first);
  tcase_add_test(snap, snapshot_escaped_control_round_trip);
  tcase_add_test(snap, snapshot_object_without_props);
  tcase_add_test(snap, json_strings_escaped);
  tcase_add_loop_test(exp, expand_formats, 0,
                      sizeof(formats) / sizeof(formats[0]));
  tcase_add_test(exp, expand_explain);
  tcase_add_test(exp, expand_real_capture);
  tcase_add_test(exp, expand_is_order_independent);
  tcase_add_test(exp, expand_renames_collisions);
  tcase_add_test(exp, expand_renames_long_names);
  tcase_add_test(exp, expand_api_view);
  tcase_add_test(exp, format_names);
  return s;
}

int main(void) { return check_run(suite()); }
