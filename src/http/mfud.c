/*
 * mfud.c - main(): the only place with process-wide state (signals,
 * library initialisation), the subcommands and the exit codes.
 *
 * Exit codes: 0 success, 1 the server, gc or a user/token command failed
 * (message on stderr), 2 usage error.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mfu_http.h"

#ifndef MFU_VERSION
#define MFU_VERSION "0.0.0"
#endif

/* Each connection holds a socket and, for an upload, the descriptors of
 * up to 64 files waiting for their sync: the usual soft limit of 1024
 * would bind long before memory does.  The hard limit is the operator's. */
static void raise_fd_limit(void)
{
  struct rlimit r;
  if(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

static int serve(const struct mfu_config *cfg)
{
  struct mfu_server *srv;
  sigset_t set;
  int sig = 0;

  /* Block the stop signals in every thread; this one waits for them. */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  if(mfu_server_start(cfg, &srv))
    return 1;
  fprintf(stderr, "mfud %s: serving on http://%s (store %s, catalog %s, "
                  "auth %s)\n", MFU_VERSION, cfg->listen, cfg->store,
          cfg->catalog, cfg->auth == MFU_AUTH_TOKEN ? "token" : "none");
  sigwait(&set, &sig);
  fprintf(stderr, "mfud: %s, stopping\n", sig == SIGINT ? "SIGINT"
                                                         : "SIGTERM");
  mfu_server_stop(srv);
  return 0;
}

/* Take "--label L" / "--label=L" (a token's, not the server's) out of
 * argv; returns the new argc. */
static int take_label(int argc, char **argv, const char **label)
{
  int i, o = 0;
  for(i = 0; i < argc; i++) {
    if(!strncmp(argv[i], "--label=", 8))
      *label = argv[i] + 8;
    else if(!strcmp(argv[i], "--label") && i + 1 < argc)
      *label = argv[++i];
    else
      argv[o++] = argv[i];
  }
  return o;
}

/* mfud user ... / mfud token ...: words and options in any order. */
static int admin(const char *cmd, int argc, char **argv)
{
  struct mfu_config cfg;
  const char *label = NULL;
  char **words = calloc((size_t)argc + 1, sizeof(*words));
  size_t nwords = 0;
  int rc;

  if(!words)
    return 1;
  argc = take_label(argc, argv, &label);
  if(mfu_config_parse_words(&cfg, argc, argv, words, &nwords, stderr)) {
    free(words);
    return 2;
  }
  rc = mfu_admin(&cfg, cmd, words, nwords, label, stdout, stderr);
  free(words);
  return rc == MFU_E_INVAL || rc == MFU_E_USERNAME ? 2 : rc ? 1 : 0;
}

int main(int argc, char **argv)
{
  struct mfu_config cfg;
  const char *cmd = "serve";
  int first = 1, rc;

  if(argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                  !strcmp(argv[1], "help"))) {
    mfu_config_usage(stdout);
    return 0;
  }
  if(argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
    printf("mfud %s\n", MFU_VERSION);
    return 0;
  }
  if(argc > 1 && argv[1][0] != '-') {
    cmd = argv[1];
    first = 2;
  }
  if(!strcmp(cmd, "user") || !strcmp(cmd, "token"))
    return admin(cmd, argc - first, argv + first);
  if(strcmp(cmd, "serve") && strcmp(cmd, "gc")) {
    fprintf(stderr, "mfud: unknown command '%s' (see mfud --help)\n", cmd);
    return 2;
  }
  if(mfu_config_parse(&cfg, argc - first, argv + first, stderr))
    return 2;
  if(curl_global_init(CURL_GLOBAL_DEFAULT)) {
    fprintf(stderr, "mfud: cannot initialise libcurl\n");
    return 1;
  }
  if(!strcmp(cmd, "gc"))
    rc = mfu_gc(&cfg, stdout) ? 1 : 0;
  else
    rc = serve(&cfg);
  curl_global_cleanup();
  return rc;
}
