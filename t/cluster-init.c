/* cluster-init: process 1 of a test cluster node's PID namespace
 * (t/cluster-lib.sh). It only reaps: daemons and resource agents leave
 * orphans (an OCF agent's background process) that must not stay zombies,
 * or the agent's stop would wait for a process that is already dead.
 *
 * It exits on SIGTERM or SIGINT, and the kernel then kills everything left
 * in the namespace; SIGKILL from outside does the same at once (a node
 * that dies). */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

int main(void) {
  sigset_t set;
  sigfillset(&set);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (;;) {
    int sig;
    if (sigwait(&set, &sig) != 0)
      continue;
    if (sig == SIGTERM || sig == SIGINT)
      return 0;
    if (sig == SIGCHLD)
      while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
  }
}
