/* exec.c: the executors (one table row each) and template expansion.
 *
 * An executor is argv templates for three actions: move a running service,
 * place a service whose node failed (or that is stopped), and clear what a
 * move left behind (Pacemaker's location constraints). Every command runs
 * through pm_spawn: an argument vector, never a shell, with a timeout. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRM_MOVE                                                               \
  "crm_resource", "--move", "--resource", "%r", "--node", "%n", "--lifetime",  \
      "%l"

static const char *const pcmk_move[] = {CRM_MOVE, NULL};
static const char *const pcmk_clear[] = {"crm_resource", "--clear",
                                         "--resource", "%r", NULL};
static const char *const pcs_move[] = {
    "pcs", "resource", "move-with-constraint", "%r", "%n", "lifetime=%l", NULL};
static const char *const pcs_clear[] = {"pcs", "resource", "clear", "%r", NULL};
static const char *const virsh_move[] = {"virsh",  "-c", "%v", "migrate",
                                         "--live", "%r", "%u", NULL};
static const char *const virsh_place[] = {"virsh", "-c", "%u",
                                          "start", "%r", NULL};
static const char *const none[] = {NULL};

const struct bal_executor bal_executors[] = {
    /* crm_resource --move to the node the resource is active on exits
     * CRM_EX_EXISTS (108): Pacemaker placed it there first. */
    {.name = "pacemaker",
     .move = pcmk_move,
     .place = pcmk_move,
     .clear = pcmk_clear,
     .constraints = true,
     .pacemaker = true,
     .already = 108},
    {.name = "pcs",
     .move = pcs_move,
     .place = pcs_move,
     .clear = pcs_clear,
     .constraints = true,
     .pacemaker = true},
    {.name = "virsh", .move = virsh_move, .place = virsh_place, .clear = none},
    {.name = "command", .move = none, .place = none, .clear = none},
    {.name = NULL},
};

const struct bal_executor *bal_executor_find(const char *name) {
  for (const struct bal_executor *e = bal_executors; e->name; e++)
    if (strcmp(e->name, name) == 0)
      return e;
  return NULL;
}

int bal_subst(const char *tpl, const struct bal_kv *kv, pm_buf_t *out,
              char *ret_missing) {
  int r = 0;
  pm_buf_reset(out);
  if (pm_buf_puts(out, "") < 0)
    return -ENOMEM;
  for (const char *p = tpl; r == 0 && *p; p++) {
    if (*p != '%' || !p[1]) {
      r = pm_buf_putc(out, *p);
      continue;
    }
    p++;
    if (*p == '%') {
      r = pm_buf_putc(out, '%');
      continue;
    }
    const struct bal_kv *k = kv;
    while (k->key && k->key != *p)
      k++;
    if (!k->key || !k->val || !*k->val) {
      if (ret_missing)
        *ret_missing = *p;
      return -ENOENT;
    }
    r = pm_buf_puts(out, k->val);
  }
  return r;
}

int bal_argv_expand(char *const *tpl, const struct bal_kv *kv, char ***ret_argv,
                    char *ret_missing) {
  size_t n = 0;
  while (tpl[n])
    n++;
  char **argv = calloc(n + 1, sizeof(char *));
  pm_buf_t b = {0};
  int r = argv ? 0 : -ENOMEM;
  for (size_t i = 0; r == 0 && i < n; i++) {
    r = bal_subst(tpl[i], kv, &b, ret_missing);
    if (r == 0 && !(argv[i] = strdup(b.data)))
      r = -ENOMEM;
  }
  pm_buf_free(&b);
  if (r < 0) {
    bal_argv_free(argv);
    return r;
  }
  *ret_argv = argv;
  return 0;
}

char **bal_argv_dup(const char *const *src) {
  size_t n = 0;
  while (src && src[n])
    n++;
  char **v = calloc(n + 1, sizeof(char *));
  if (!v)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!(v[i] = strdup(src[i]))) {
      bal_argv_free(v);
      return NULL;
    }
  return v;
}

void bal_argv_free(char **argv) {
  if (!argv)
    return;
  for (char **p = argv; *p; p++)
    free(*p);
  free(argv);
}

void bal_argv_join(char *const *argv, pm_buf_t *out) {
  pm_buf_reset(out);
  for (size_t i = 0; argv[i]; i++) {
    const char *a = argv[i];
    bool plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789-_=./:,+@%") == strlen(a);
    pm_buf_printf(out, "%s%s%s%s", i ? " " : "", plain ? "" : "'", a,
                  plain ? "" : "'");
  }
}

int bal_run(char *const *argv, int timeout_ms, pm_buf_t *out,
            pm_buf_t *err_text) {
  return bal_run_exit(argv, timeout_ms, out, err_text, NULL);
}

int bal_run_exit(char *const *argv, int timeout_ms, pm_buf_t *out,
                 pm_buf_t *err_text, int *ret_exit) {
  pm_buf_t err = {0}, mine = {0};
  pm_buf_t *o = out ? out : &mine;
  int st = 0;
  int r = pm_spawn(argv, timeout_ms, o, &err, &st);
  if (ret_exit)
    *ret_exit = r == 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
    r = -EPROTO;
  if (err_text) {
    pm_buf_reset(err_text);
    if (r == -ETIMEDOUT)
      pm_buf_printf(err_text, "timed out after %d ms", timeout_ms);
    else if (r == -ENOENT)
      pm_buf_printf(err_text, "%s: not found", argv[0]);
    else if (r == -EFBIG)
      pm_buf_printf(err_text, "its output is larger than 16 MiB: not read");
    else if (r == -EPROTO) {
      /* The last line of what it said, and its status. */
      const char *text = err.len ? err.data : o->data ? o->data : "";
      size_t len = strlen(text);
      while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
      size_t start = len;
      while (start && text[start - 1] != '\n')
        start--;
      if (WIFEXITED(st))
        pm_buf_printf(err_text, "exit status %d", WEXITSTATUS(st));
      else
        pm_buf_printf(err_text, "killed by signal %d",
                      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
      if (len > start)
        pm_buf_printf(err_text, ": %.*s", (int)(len - start), text + start);
    } else if (r < 0)
      pm_buf_printf(err_text, "%s", strerror(-r));
  }
  pm_buf_free(&mine);
  pm_buf_free(&err);
  return r;
}
