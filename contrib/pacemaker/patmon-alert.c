/* patmon-alert: a Pacemaker alert agent that tells the local patmon when a
 * resource started, stopped or migrated on this node, and when a node left
 * or joined the cluster.
 *
 * Pacemaker runs it (as hacluster, under its alert timeout) with CRM_alert_*
 * in the environment and CRM_alert_recipient set to the recipient value: the
 * path of an event socket (the pattern plugin's, or patmon-balance's). A
 * successful (rc 0) start, stop, migrate_to or migrate_from of a resource on
 * this node becomes one datagram "resource start|stop|migrate NAME"; a node
 * alert (any node: Pacemaker runs it on every member) becomes "node
 * lost|member NODE", a successful fencing alert "node fenced NODE" (the
 * target); everything else is ignored.
 *
 * It never blocks Pacemaker for long and loses no event: hp_send waits for
 * room while patmon's queue is full, SEND_WAIT_MS at most, and a missing
 * socket (patmon not running) is not an error. Exit status 1, with a line on
 * stderr that Pacemaker logs, only for what an operator must fix.
 *
 * A node alert that finds no one listening (patmon-balance is not running:
 * its node died and Pacemaker is starting it elsewhere) is appended to the
 * spool file named by the instance attribute patmon_spool, when set, as an
 * availability journal line dated by Pacemaker (CRM_alert_timestamp_epoch
 * and _usec): the next patmon-balance takes it (its event_spool).
 *
 * This node is the one named by the alert's instance attribute patmon_node
 * when set, else uname's node name, compared case-insensitively in full or
 * up to the first dot. crm_node -n is not used: it asks the cluster, which
 * is what is running this agent, and could make it wait. */
#include "config.h"

#include "avail/avail.h"
#include "hotplug/hotplug.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

/* How long a full queue may hold the agent up: within the 5 s timeout of
 * contrib/pacemaker/alerts.xml, with room to start and exit. */
#define SEND_WAIT_MS 4000

/* Operations that change where a resource runs, and the message for each.
 * migrate_to runs on the node it leaves (a stop follows there), migrate_from
 * on the node it reaches (no start follows). */
static const struct {
  const char *task;
  hp_action_t action;
} tasks[] = {
    {.task = "start", .action = HP_ACT_START},
    {.task = "stop", .action = HP_ACT_STOP},
    {.task = "migrate_to", .action = HP_ACT_MIGRATE},
    {.task = "migrate_from", .action = HP_ACT_MIGRATE},
};

/* Node alerts: CRM_alert_desc is the node's new membership state. */
static const struct {
  const char *desc;
  hp_action_t action;
} node_states[] = {
    {.desc = "lost", .action = HP_ACT_LOST},
    {.desc = "member", .action = HP_ACT_MEMBER},
};

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static bool env_is(const char *name, const char *want) {
  const char *v = env(name);
  return v && strcmp(v, want) == 0;
}

static bool same_host(const char *a, const char *b) {
  if (strcasecmp(a, b) == 0)
    return true;
  size_t la = strcspn(a, "."), lb = strcspn(b, ".");
  return la == lb && strncasecmp(a, b, la) == 0;
}

static bool node_is_local(const char *node) {
  const char *mine = env("patmon_node");
  if (mine)
    return strcmp(node, mine) == 0;
  struct utsname u;
  return uname(&u) == 0 && same_host(node, u.nodename);
}

/* When Pacemaker made the alert, in milliseconds; now without it. */
static int64_t alert_ms(void) {
  const char *s = env("CRM_alert_timestamp_epoch"),
             *us = env("CRM_alert_timestamp_usec");
  char *end;
  long long t = s ? strtoll(s, &end, 10) : 0;
  if (!s || *end || t <= 0 || t > INT64_MAX / 1000)
    return pm_wall_ms();
  long u = us ? strtol(us, &end, 10) : 0;
  if (!us || *end || u < 0 || u > 999999)
    u = 0;
  return t * 1000 + u / 1000;
}

/* Appends a node alert no one heard to patmon_spool (when set). */
static int spool(const hp_event_t *ev) {
  const char *path = env("patmon_spool");
  if (!path)
    return 0;
  av_event_t a = {.t_ms = alert_ms(),
                  .action = ev->action == HP_ACT_MEMBER   ? AV_MEMBER
                            : ev->action == HP_ACT_FENCED ? AV_FENCED
                                                          : AV_LOST};
  size_t len = strlen(ev->name);
  if (len < sizeof(a.name))
    memcpy(a.name, ev->name, len + 1); /* longer: av_spool_append says so */
  int r = path[0] == '/' ? av_spool_append(path, &a) : -EINVAL;
  if (r == 0)
    return 0;
  fprintf(stderr, "patmon-alert: cannot spool \"node %s %s\" to %s: %s\n",
          hp_action_name(ev->action), ev->name, path,
          r == -EINVAL  ? "not an absolute path, or a bad name"
          : r == -EFBIG ? "full (does patmon-balance's event_spool name it?)"
                        : strerror(-r));
  return 1;
}

/* Pacemaker runs the agent without arguments; an operator trying it may
 * ask for --help or --version. */
static int cli(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("patmon-alert %s\n", PACKAGE_VERSION);
    return 0;
  }
  bool help = argc == 2 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr,
          "Usage: patmon-alert [--help|--version]\n"
          "\n"
          "A Pacemaker alert agent: Pacemaker runs it with CRM_alert_* in the\n"
          "environment and the path of patmon's event socket as the "
          "recipient.\n"
          "A successful start, stop or migration of a resource on this node\n"
          "becomes one message \"resource start|stop|migrate NAME\" on that\n"
          "socket. See patmon-alert(8).\n");
  return help ? 0 : 2;
}

int main(int argc, char **argv) {
  if (argc > 1)
    return cli(argc, argv);
  const char *kind = env("CRM_alert_kind");
  if (!kind) {
    fprintf(stderr, "patmon-alert: CRM_alert_kind unset: run me from a "
                    "Pacemaker <alert> (see contrib/pacemaker/alerts.xml)\n");
    return 0;
  }
  const char *path = env("CRM_alert_recipient");
  const char *node = env("CRM_alert_node");
  /* Alerts may have no recipient yet. */
  if (!path || !node)
    return 0;
  hp_event_t ev = {.action = HP_ACT_NONE};
  const char *name = NULL, *what = "resource";
  if (strcmp(kind, "resource") == 0) {
    /* Failed or unfinished operations change nothing here. */
    const char *task = env("CRM_alert_task");
    if (!task || !env_is("CRM_alert_rc", "0") ||
        (env("CRM_alert_status") && !env_is("CRM_alert_status", "0")))
      return 0;
    ev.kind = HP_RESOURCE;
    for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++)
      if (strcmp(task, tasks[i].task) == 0)
        ev.action = tasks[i].action;
    if (ev.action == HP_ACT_NONE || !node_is_local(node))
      return 0;
    name = env("CRM_alert_rsc");
  } else if (strcmp(kind, "node") == 0) {
    const char *desc = env("CRM_alert_desc");
    ev.kind = HP_NODE;
    for (size_t i = 0; desc && i < sizeof(node_states) / sizeof(node_states[0]);
         i++)
      if (strcmp(desc, node_states[i].desc) == 0)
        ev.action = node_states[i].action;
    if (ev.action == HP_ACT_NONE)
      return 0;
    name = node;
    what = "node";
  } else if (strcmp(kind, "fencing") == 0) {
    /* CRM_alert_node is the target; rc 0: it was fenced. */
    if (!env_is("CRM_alert_rc", "0"))
      return 0;
    ev.kind = HP_NODE;
    ev.action = HP_ACT_FENCED;
    name = node;
    what = "node";
  } else {
    return 0; /* attributes */
  }

  if (path[0] != '/') {
    fprintf(stderr,
            "patmon-alert: recipient %s is not an absolute path to "
            "patmon's event socket\n",
            path);
    return 1;
  }
  char msg[HP_DGRAM_MAX];
  snprintf(ev.name, sizeof(ev.name), "%s", name ? name : "");
  int n = hp_format_message(&ev, msg, sizeof(msg));
  if (n < 0 || (size_t)n >= sizeof(msg)) {
    fprintf(stderr,
            "patmon-alert: %s name \"%.*s\" is not one patmon accepts\n", what,
            HP_NAME_MAX, name ? name : "");
    return 1;
  }
  int r = hp_send(path, msg, (size_t)n, SEND_WAIT_MS);
  /* No socket, or nobody bound to it: patmon is not running, and will scan
   * everything when it starts; a node alert waits in the spool. */
  if ((r == -ENOENT || r == -ECONNREFUSED) && ev.kind == HP_NODE)
    return spool(&ev);
  if (r == 0 || r == -ENOENT || r == -ECONNREFUSED)
    return 0;
  fprintf(stderr, "patmon-alert: cannot send \"%.*s\" to %s: %s%s\n", n - 1,
          msg, path, strerror(-r),
          r == -EACCES ? " (is the socket's group one hacluster is in?)" : "");
  return 1;
}
