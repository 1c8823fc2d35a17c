/* rrdc.c: rrdcached flushes kept in flight ahead of the reads.
 *
 * rrdcached writes a flushed file in one of its write threads while the
 * connection that asked waits (rrdcached(1): FLUSH returns once the file is
 * on disk), so one connection flushes one file at a time and the balancer
 * would wait for every write in turn. Over a unix socket the flusher keeps
 * BAL_FLUSH_CONNS connections, each with one FLUSH outstanding, taken in the
 * order the files were queued: while the pass reads file i, the daemon
 * writes the next ones on the other core. Each file is still read only once
 * its own flush has been answered.
 *
 * The line protocol (rrdcached(1)): "FLUSH <file>\n", the file name with
 * spaces and backslashes escaped by a backslash; the answer "<status>
 * <text>\n", status < 0 an error, > 0 the number of lines that follow. As
 * librrd's client does on a unix socket, the file is named by its resolved
 * path. Another address (a TCP one) is left to librrd's client: one request
 * at a time, over its one connection per process. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BAL_FLUSH_CONNS 4
/* An answer slower than this is given up (the daemon is stuck or gone). */
#define BAL_FLUSH_WAIT_MS 120000

enum item_state { ITEM_QUEUED, ITEM_SENT, ITEM_DONE };

struct item {
  char *path; /* as the caller names it (the map's key too) */
  char *why;  /* the failure, NULL when flushed */
  enum item_state state;
};

struct conn {
  int fd;    /* -1: not connected */
  size_t at; /* the item whose answer is awaited (busy) */
  bool busy;
  long skip; /* lines of the answer still to skip */
  char buf[1024];
  size_t len;
};

struct bal_flusher {
  char *addr; /* as configured, for the messages */
  char *sock; /* the unix socket's path; NULL: librrd's client */
  PM_VEC(struct item) items;
  pm_map_t index; /* path -> item index + 1 */
  size_t next;    /* the first item not sent yet */
  struct conn conns[BAL_FLUSH_CONNS];
  bool librrd; /* librrd's connection was used */
};

/* "unix:PATH" or "/PATH" name a unix socket, as librrd reads them. */
static const char *unix_path(const char *addr) {
  if (strncmp(addr, "unix:", 5) == 0)
    return addr + 5;
  return addr[0] == '/' ? addr : NULL;
}

int bal_flusher_new(const char *addr, bal_flusher_t **ret) {
  *ret = NULL;
  struct bal_flusher *f = calloc(1, sizeof(*f));
  if (!f)
    return -ENOMEM;
  for (size_t i = 0; i < BAL_FLUSH_CONNS; i++)
    f->conns[i].fd = -1;
  const char *sp = unix_path(addr);
  if (!(f->addr = strdup(addr)) || (sp && !(f->sock = strdup(sp)))) {
    bal_flusher_free(f);
    return -ENOMEM;
  }
  *ret = f;
  return 0;
}

static void conn_close(struct conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  c->busy = false;
  c->len = 0;
  c->skip = 0;
}

void bal_flusher_free(bal_flusher_t *f) {
  if (!f)
    return;
  for (size_t i = 0; i < BAL_FLUSH_CONNS; i++)
    conn_close(&f->conns[i]);
  if (f->librrd)
    rrdc_disconnect();
  for (size_t i = 0; i < f->items.n; i++) {
    free(f->items.v[i].path);
    free(f->items.v[i].why);
  }
  pm_vec_free(&f->items);
  pm_map_free(&f->index, NULL);
  free(f->sock);
  free(f->addr);
  free(f);
}

/* Marks item i answered: why NULL for flushed, else the reason. */
static void item_done(struct bal_flusher *f, size_t i, const char *why) {
  struct item *it = &f->items.v[i];
  it->state = ITEM_DONE;
  free(it->why);
  it->why = NULL;
  if (why) {
    pm_buf_t b = {0};
    it->why =
        pm_buf_printf(&b, "rrdcached %s: flush failed: %s", f->addr, why) == 0
            ? b.data
            : NULL;
    if (!it->why) {
      pm_buf_free(&b);
      it->why = strdup("flush failed");
    }
  }
}

/* Every item a broken connection was waiting for fails with why. */
static void conn_fail(struct bal_flusher *f, struct conn *c, const char *why) {
  if (c->busy)
    item_done(f, c->at, why);
  conn_close(c);
}

static int conn_open(struct bal_flusher *f, struct conn *c) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(f->sock) >= sizeof(sa.sun_path))
    return -ENAMETOOLONG;
  strcpy(sa.sun_path, f->sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int r = -errno;
    close(fd);
    return r;
  }
  c->fd = fd;
  return 0;
}

/* The request for path: its resolved name escaped, as rrdcached parses.
 * 0, or a negative errno with the reason in *ret_why. */
static int request(const char *path, pm_buf_t *out, const char **ret_why) {
  char *real = realpath(path, NULL);
  if (!real) {
    int r = -errno;
    *ret_why = strerror(-r);
    return r;
  }
  pm_buf_printf(out, "FLUSH ");
  for (const char *s = real; *s; s++) {
    if (*s == ' ' || *s == '\\')
      pm_buf_putc(out, '\\');
    pm_buf_putc(out, *s);
  }
  pm_buf_putc(out, '\n');
  free(real);
  int r = out->err; /* the first failed append */
  *ret_why = r < 0 ? strerror(-r) : NULL;
  return r;
}

/* Sends item i on idle connection c (connecting first). */
static void conn_send(struct bal_flusher *f, struct conn *c, size_t i) {
  pm_buf_t b = {0};
  const char *why = NULL;
  char reason[128];
  int r = request(f->items.v[i].path, &b, &why);
  if (r == 0 && c->fd < 0 && (r = conn_open(f, c)) < 0) {
    snprintf(reason, sizeof(reason), "cannot connect: %s", strerror(-r));
    why = reason;
  }
  if (r == 0 && (r = pm_send_all(c->fd, b.data, b.len)) < 0) {
    snprintf(reason, sizeof(reason), "cannot send: %s", strerror(-r));
    why = reason;
    conn_close(c);
  }
  pm_buf_free(&b);
  if (r < 0) {
    item_done(f, i, why);
    return;
  }
  f->items.v[i].state = ITEM_SENT;
  c->at = i;
  c->busy = true;
}

/* Takes the complete lines in c's buffer: the status line of its item's
 * answer, then the lines the status announced. */
static void conn_lines(struct bal_flusher *f, struct conn *c) {
  char *nl;
  while (c->busy && (nl = memchr(c->buf, '\n', c->len))) {
    *nl = '\0';
    size_t used = (size_t)(nl - c->buf) + 1;
    if (c->skip > 0) {
      c->skip--;
    } else {
      char *end;
      long st = strtol(c->buf, &end, 10);
      if (end == c->buf) {
        conn_fail(f, c, "not an rrdcached answer");
        return;
      }
      while (*end == ' ')
        end++;
      if (st < 0)
        item_done(f, c->at, *end ? end : "refused");
      else
        item_done(f, c->at, NULL);
      c->skip = st > 0 ? st : 0;
    }
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    if (c->skip == 0)
      c->busy = false;
  }
}

static void conn_read(struct bal_flusher *f, struct conn *c) {
  if (c->len == sizeof(c->buf)) {
    conn_fail(f, c, "answer line too long");
    return;
  }
  ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    char why[128];
    snprintf(why, sizeof(why), "%s",
             n < 0 ? strerror(errno) : "the daemon closed the connection");
    conn_fail(f, c, why);
    return;
  }
  c->len += (size_t)n;
  conn_lines(f, c);
}

/* The next item to send: i itself when it waits its turn (a file read out
 * of the queue's order goes first), else the first queued one. */
static bool next_item(struct bal_flusher *f, size_t i, size_t *ret) {
  if (f->items.v[i].state == ITEM_QUEUED) {
    *ret = i;
    return true;
  }
  while (f->next < f->items.n && f->items.v[f->next].state != ITEM_QUEUED)
    f->next++;
  *ret = f->next;
  return f->next < f->items.n;
}

/* Keeps every connection busy with the next queued items, then waits for
 * answers until item i is answered. */
static void pump_until(struct bal_flusher *f, size_t i) {
  while (f->items.v[i].state != ITEM_DONE) {
    struct pollfd pfd[BAL_FLUSH_CONNS];
    struct conn *pc[BAL_FLUSH_CONNS];
    nfds_t n = 0;
    size_t next;
    for (size_t k = 0; k < BAL_FLUSH_CONNS; k++) {
      struct conn *c = &f->conns[k];
      if (!c->busy && next_item(f, i, &next))
        conn_send(f, c, next);
      if (c->busy) {
        pfd[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
        pc[n++] = c;
      }
    }
    if (f->items.v[i].state == ITEM_DONE)
      break;
    if (n == 0)
      continue; /* item i failed to send: answered next round */
    int k = poll(pfd, n, BAL_FLUSH_WAIT_MS);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      for (nfds_t j = 0; j < n; j++)
        conn_fail(f, pc[j], k == 0 ? "no answer in 120 s" : strerror(errno));
      continue;
    }
    for (nfds_t j = 0; j < n; j++)
      if (pfd[j].revents)
        conn_read(f, pc[j]);
  }
}

int bal_flusher_queue(bal_flusher_t *f, const char *path) {
  if (!f->sock || pm_map_get(&f->index, path))
    return 0;
  struct item *it = pm_vec_push(&f->items);
  if (!it)
    return -ENOMEM;
  int r = (it->path = strdup(path))
              ? pm_map_set(&f->index, path, (void *)(uintptr_t)f->items.n)
              : -ENOMEM;
  if (r < 0) {
    free(it->path);
    f->items.n--;
    return r;
  }
  return 0;
}

/* librrd's client, for an address that is not a unix socket: it keeps one
 * connection while the address stays the same, and a failed request
 * closes it, so the next file connects again. */
static int librrd_flush(struct bal_flusher *f, const char *path, char *why,
                        size_t why_len) {
  f->librrd = true;
  rrd_clear_error();
  int k = rrdc_connect(f->addr);
  if (k == 0 && !rrdc_is_connected(f->addr))
    k = -1;
  if (k == 0)
    k = rrdc_flush(path);
  if (k == 0)
    return 0;
  const char *e = rrd_get_error();
  snprintf(why, why_len, "rrdcached %s: flush failed: %s", f->addr,
           e && *e ? e
           : k > 0 ? strerror(k)
                   : "no answer");
  rrd_clear_error();
  return -EIO;
}

int bal_flusher_wait(bal_flusher_t *f, const char *path, char *why,
                     size_t why_len) {
  if (!f->sock)
    return librrd_flush(f, path, why, why_len);
  int r = bal_flusher_queue(f, path);
  if (r < 0) {
    snprintf(why, why_len, "%s", strerror(-r));
    return r;
  }
  size_t i = (size_t)(uintptr_t)pm_map_get(&f->index, path) - 1;
  pump_until(f, i);
  const struct item *it = &f->items.v[i];
  if (!it->why)
    return 0;
  snprintf(why, why_len, "%s", it->why);
  return -EIO;
}
