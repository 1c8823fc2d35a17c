/* patmon-expand: expand a pattern file into the concrete things to monitor.
 * See patmon-expand(1). Exit: 0 done (with -o: file written), 1 with -o:
 * file unchanged, 2 error. */
#include "config.h"

#include "pattern.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_WRITTEN = 0, EXIT_UNCHANGED = 1, EXIT_ERROR = 2 };

struct opts {
  const char *patterns;
  const char *snapshot;
  const char *save_snapshot;
  const char *output;
  const char *node;
  const char *proc_root;
  const char *mountinfo;
  pat_format_t format;
  bool explain;
  int digest; /* 1: --digest, 2: --canonical */
};

static void usage(FILE *f) {
  fprintf(f,
          "Usage: patmon-expand [-p PATTERNS] [--snapshot FILE] [--format "
          "list|json|collectd|gmond]\n"
          "                     [--explain] [-o FILE] [--node NAME]\n"
          "       patmon-expand --save-snapshot FILE\n"
          "       patmon-expand [-p PATTERNS] --digest|--canonical\n"
          "\n"
          "Expands a pattern file into the concrete disks, NICs, mounts, "
          "processes, units\n"
          "and Pacemaker resources to monitor on this machine (or in a "
          "snapshot).\n"
          "\n"
          "  -p, --patterns FILE     pattern file (default %s)\n"
          "  -s, --snapshot FILE     expand against a saved inventory, not "
          "this machine\n"
          "  -f, --format FORMAT     list (default), json, collectd or gmond\n"
          "  -e, --explain           say for every object which pattern took "
          "it, or why none\n"
          "  -o, --output FILE       write atomically, only when the content "
          "changed\n"
          "  -n, --node NAME         local Pacemaker node name\n"
          "      --save-snapshot FILE  write this machine's whole inventory "
          "as JSON\n"
          "      --proc-root DIR     read processes from DIR instead of /proc\n"
          "      --mountinfo FILE    read mounts from FILE instead of "
          "/proc/self/mountinfo\n"
          "      --digest            print the pattern set's digest (SHA-256 "
          "of --canonical)\n"
          "      --canonical         print the canonical form that is "
          "digested\n"
          "  -h, --help              this text\n"
          "  -V, --version           the version\n"
          "\n"
          "Exit status: 0 done (with -o: the file was written), 1 with -o: "
          "the file was\n"
          "already up to date, 2 error (nothing written).\n",
          PM_PATTERN_FILE);
}

static int parse_args(int argc, char **argv, struct opts *o) {
  enum { OPT_SAVE = 256, OPT_PROC, OPT_MOUNTINFO, OPT_DIGEST, OPT_CANON };
  static const struct option longopts[] = {
      {"patterns", required_argument, NULL, 'p'},
      {"snapshot", required_argument, NULL, 's'},
      {"format", required_argument, NULL, 'f'},
      {"explain", no_argument, NULL, 'e'},
      {"output", required_argument, NULL, 'o'},
      {"node", required_argument, NULL, 'n'},
      {"save-snapshot", required_argument, NULL, OPT_SAVE},
      {"proc-root", required_argument, NULL, OPT_PROC},
      {"mountinfo", required_argument, NULL, OPT_MOUNTINFO},
      {"digest", no_argument, NULL, OPT_DIGEST},
      {"canonical", no_argument, NULL, OPT_CANON},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "p:s:f:eo:n:hV", longopts, NULL)) != -1) {
    switch (c) {
    case 'p':
      o->patterns = optarg;
      break;
    case 's':
      o->snapshot = optarg;
      break;
    case 'f':
      if (pat_format_parse(optarg, &o->format) < 0) {
        fprintf(stderr,
                "patmon-expand: unknown format '%s' (list, json, collectd, "
                "gmond)\n",
                optarg);
        return -EINVAL;
      }
      break;
    case 'e':
      o->explain = true;
      break;
    case 'o':
      o->output = optarg;
      break;
    case 'n':
      o->node = optarg;
      break;
    case OPT_SAVE:
      o->save_snapshot = optarg;
      break;
    case OPT_PROC:
      o->proc_root = optarg;
      break;
    case OPT_MOUNTINFO:
      o->mountinfo = optarg;
      break;
    case OPT_DIGEST:
      o->digest = 1;
      break;
    case OPT_CANON:
      o->digest = 2;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case 'V':
      printf("patmon-expand %s\ndefault pattern file: %s\n", PACKAGE_VERSION,
             PM_PATTERN_FILE);
      exit(0);
    default:
      usage(stderr);
      return -EINVAL;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "patmon-expand: unexpected argument '%s'\n", argv[optind]);
    return -EINVAL;
  }
  return 0;
}

static int save_snapshot(const struct opts *o) {
  pat_scan_opts_t so = {
      .proc_root = o->proc_root, .mountinfo = o->mountinfo, .node = o->node};
  pat_inventory_t *inv = NULL;
  pm_buf_t out = {0};
  int r = pat_inventory_scan(&so, &inv);
  if (r == 0)
    r = pat_inventory_save(inv, &out);
  if (r == 0)
    r = pm_file_replace(o->save_snapshot, out.data, out.len, 0644);
  if (r < 0)
    fprintf(stderr, "patmon-expand: cannot write snapshot %s: %s\n",
            o->save_snapshot, strerror(-r));
  pat_inventory_free(inv);
  pm_buf_free(&out);
  return r < 0 ? EXIT_ERROR : EXIT_WRITTEN;
}

/* --digest, --canonical: what nodes compare (pattern.h). */
static int print_digest(const struct opts *o) {
  pm_error_t err = {0};
  pat_set_t *set = NULL;
  pm_buf_t out = {0};
  char msg[1200], hex[PAT_DIGEST_HEX + 1];
  int r = pat_set_load(o->patterns, &set, &err);
  if (r < 0) {
    fprintf(stderr, "patmon-expand: %s\n",
            pm_error_str(&err, msg, sizeof(msg)));
    return EXIT_ERROR;
  }
  r = o->digest == 1 ? pat_set_digest(set, hex) : pat_set_canonical(set, &out);
  if (r == 0 && o->digest == 1)
    printf("%s\n", hex);
  else if (r == 0)
    fwrite(out.data, 1, out.len, stdout);
  pat_set_free(set);
  pm_buf_free(&out);
  if (r < 0)
    fprintf(stderr, "patmon-expand: %s\n", strerror(-r));
  return r == 0 && fflush(stdout) == 0 ? EXIT_WRITTEN : EXIT_ERROR;
}

static int run(const struct opts *o) {
  pm_error_t err = {0};
  pat_set_t *set = NULL;
  pat_inventory_t *inv = NULL;
  pat_entries_t *entries = NULL;
  pm_buf_t explain = {0}, out = {0};
  char msg[1200];
  int status = EXIT_ERROR, r;

  r = pat_set_load(o->patterns, &set, &err);
  if (r < 0) {
    fprintf(stderr, "patmon-expand: %s\n",
            pm_error_str(&err, msg, sizeof(msg)));
    goto out;
  }
  if (o->snapshot) {
    r = pat_inventory_load(o->snapshot, &inv, &err);
    if (r < 0) {
      fprintf(stderr, "patmon-expand: %s\n",
              pm_error_str(&err, msg, sizeof(msg)));
      goto out;
    }
  } else {
    pat_scan_opts_t so = {.classes = pat_set_classes(set),
                          .want = set,
                          /* collectd's ProcessMatch matches command lines */
                          .cmdlines = o->format == PAT_FORMAT_COLLECTD,
                          .proc_root = o->proc_root,
                          .mountinfo = o->mountinfo,
                          .node = o->node};
    r = pat_inventory_scan(&so, &inv);
    if (r < 0) {
      fprintf(stderr, "patmon-expand: cannot list this machine: %s\n",
              strerror(-r));
      goto out;
    }
  }
  r = pat_expand(set, inv, o->explain ? &explain : NULL, &entries);
  if (r == 0)
    r = pat_entries_format(entries, o->format, o->patterns, &out);
  if (r < 0) {
    fprintf(stderr, "patmon-expand: %s\n", strerror(-r));
    goto out;
  }
  /* A regex that gave up decided nothing: the pattern file needs a fix. */
  unsigned gave_up = pat_entries_errors(entries, &err);
  if (gave_up) {
    if (o->explain)
      fwrite(explain.data, 1, explain.len, stdout);
    fprintf(stderr, "patmon-expand: %s", pm_error_str(&err, msg, sizeof(msg)));
    if (gave_up > 1)
      fprintf(stderr, " (and %u more)", gave_up - 1);
    fputc('\n', stderr);
    goto out;
  }
  if (o->explain) {
    fwrite(explain.data, 1, explain.len, stdout);
    if (!o->output)
      fputc('\n', stdout);
  }
  if (!o->output) {
    fwrite(out.data, 1, out.len, stdout);
    status = fflush(stdout) == 0 ? EXIT_WRITTEN : EXIT_ERROR;
    goto out;
  }
  r = pm_file_replace(o->output, out.data, out.len, 0644);
  if (r < 0) {
    fprintf(stderr, "patmon-expand: cannot write %s: %s\n", o->output,
            strerror(-r));
    goto out;
  }
  status = r == 1 ? EXIT_WRITTEN : EXIT_UNCHANGED;
out:
  pat_entries_free(entries);
  pat_inventory_free(inv);
  pat_set_free(set);
  pm_buf_free(&explain);
  pm_buf_free(&out);
  return status;
}

int main(int argc, char **argv) {
  struct opts o = {.patterns = PM_PATTERN_FILE, .format = PAT_FORMAT_LIST};
  if (parse_args(argc, argv, &o) < 0)
    return EXIT_ERROR;
  if (o.save_snapshot)
    return save_snapshot(&o);
  if (o.digest)
    return print_digest(&o);
  return run(&o);
}
