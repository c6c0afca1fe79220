/*
 * auth.c - who is asking (--auth token), and the user/token subcommands
 * of mfud.
 *
 * A request names its user only through "Authorization: Bearer TOKEN"
 * (RFC 6750).  The token is hashed (SHA-256) and the hash looked up in the
 * catalog, where only hashes are kept.  Nothing is cached: each request
 * asks the catalog, so a revoked token stops working with the next
 * request, on every node sharing the catalog.
 *
 * Timing: the secret never meets a comparison.  The catalog compares
 * SHA-256 digests of what the client sent, and learning how many leading
 * bytes of a digest matched tells an attacker nothing about any token
 * (finding input for chosen digest bytes is a preimage search).  The one
 * byte-wise comparison of the result, against the stored hash, uses
 * CRYPTO_memcmp anyway, so no later change to the lookup can open a
 * timing channel unnoticed.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "http_impl.h"
#include "mfu_auth.h"

/* SHA-256 of the token as 64 lower-case hex digits and a NUL. */
static int token_hash(const char *tok, size_t len, char *hex)
{
  unsigned char md[32];
  unsigned mdlen = 0;

  if(!EVP_Digest(tok, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
    return MFU_E_INTERNAL;
  mfu_hex(md, 32, hex);
  return MFU_OK;
}

int auth_user(struct request *req, struct MHD_Connection *conn,
              struct problem *p, char *username, size_t cap)
{
  const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_AUTHORIZATION);
  char hex[MFU_SHA256_HEX], again[MFU_SHA256_HEX];
  const char *tok;
  size_t len;
  int rc;

  if(!h) {
    problem_set(p, MFU_E_AUTH, NULL, -1, -1,
                "this server needs a token: Authorization: Bearer TOKEN");
    return MFU_E_AUTH;
  }
  if(mfu_auth_bearer(h, strlen(h), &tok, &len) ||
     !mfu_auth_token_shape(tok, len)) {
    problem_set(p, MFU_E_AUTH, NULL, -1, -1,
                "the Authorization header is not a Bearer token of this "
                "server");
    return MFU_E_AUTH;
  }
  if((rc = token_hash(tok, len, hex))) {
    problem_set(p, rc, NULL, -1, -1, "cannot hash the token");
    return rc;
  }
  rc = mfu_catalog_token_user(req->srv->catalog, hex, username, cap);
  if(rc == MFU_E_NOTFOUND || rc == MFU_E_INVAL) {
    problem_set(p, MFU_E_AUTH, NULL, -1, -1,
                "the token is unknown or revoked");
    return MFU_E_AUTH;
  }
  if(rc) {
    problem_set(p, rc, NULL, -1, -1, "the catalog cannot be read: %s",
                mfu_strerror(rc));
    return rc;
  }
  /* The lookup matched on hex; re-derive and compare in constant time. */
  if(token_hash(tok, len, again) || CRYPTO_memcmp(hex, again, 64)) {
    problem_set(p, MFU_E_AUTH, NULL, -1, -1,
                "the token is unknown or revoked");
    return MFU_E_AUTH;
  }
  return MFU_OK;
}

int auth_request_user(struct request *req, struct MHD_Connection *conn,
                      struct problem *p, const char *claimed,
                      char *username, size_t cap)
{
  int rc;

  if(req->srv->cfg->auth != MFU_AUTH_TOKEN) {
    if(!claimed || !mfu_username_ok(claimed)) {
      problem_set(p, MFU_E_USERNAME, "username", -1, -1,
                  "the username parameter is %s; it must be 1 to 64 "
                  "letters, digits, '.', '_' or '-'",
                  claimed ? "malformed" : "missing");
      return MFU_E_USERNAME;
    }
    snprintf(username, cap, "%s", claimed);
    return MFU_OK;
  }
  if((rc = auth_user(req, conn, p, username, cap)))
    return rc;
  if(claimed && strcmp(claimed, username)) {
    problem_set(p, MFU_E_FORBIDDEN, "username", -1, -1,
                "the token belongs to another user than the username "
                "parameter names");
    return MFU_E_FORBIDDEN;
  }
  return MFU_OK;
}

/* --- mfud user / token ------------------------------------------------ */

static int token_new(struct mfu_catalog *cat, const char *user,
                     const char *label, FILE *out, FILE *err)
{
  unsigned char rnd[MFU_TOKEN_RANDOM];
  char tok[MFU_TOKEN_LEN + 1], hex[MFU_SHA256_HEX];
  size_t got = 0;
  int64_t id = 0;
  int rc;

  while(got < sizeof(rnd)) {
    ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
    if(n < 0)
      return MFU_E_IO;
    got += (size_t)n;
  }
  memcpy(tok, MFU_TOKEN_PREFIX, 4);
  mfu_base64url(rnd, sizeof(rnd), tok + 4);
  OPENSSL_cleanse(rnd, sizeof(rnd));
  rc = token_hash(tok, strlen(tok), hex);
  if(!rc)
    rc = mfu_catalog_token_add(cat, user, hex, label, &id);
  if(rc == MFU_E_NOTFOUND)
    fprintf(err, "mfud: no user %s (mfud user add %s)\n", user, user);
  else if(rc)
    fprintf(err, "mfud: cannot add a token: %s\n", mfu_strerror(rc));
  else {
    fprintf(out, "%s\n", tok);
    fprintf(err, "mfud: token %lld of %s; it is shown only now\n",
            (long long)id, user);
  }
  OPENSSL_cleanse(tok, sizeof(tok));
  return rc;
}

static void when(int64_t t, char *buf, size_t cap)
{
  time_t tt = (time_t)t;
  struct tm tm;
  if(!t || !gmtime_r(&tt, &tm))
    snprintf(buf, cap, "-");
  else
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int token_list(struct mfu_catalog *cat, const char *user, FILE *out)
{
  struct mfu_token *t = NULL;
  size_t n = 0;
  char c[32], r[32];
  int rc = mfu_catalog_token_list(cat, user, &t, &n);

  if(rc)
    return rc;
  fprintf(out, "ID\tUSER\tCREATED\tREVOKED\tLABEL\n");
  for(size_t i = 0; i < n; i++) {
    when(t[i].created_at, c, sizeof(c));
    when(t[i].revoked_at, r, sizeof(r));
    fprintf(out, "%lld\t%s\t%s\t%s\t%s\n", (long long)t[i].id,
            t[i].username, c, r, t[i].label);
  }
  mfu_token_list_free(t, n);
  return MFU_OK;
}

static int user_list(struct mfu_catalog *cat, FILE *out)
{
  char **names = NULL;
  size_t n = 0;
  int rc = mfu_catalog_user_list(cat, &names, &n);

  for(size_t i = 0; !rc && i < n; i++)
    fprintf(out, "%s\n", names[i]);
  mfu_catalog_strings_free(names, n);
  return rc;
}

static int user_add(struct mfu_catalog *cat, const char *user,
                    const char *label, FILE *out, FILE *err)
{
  int rc;

  if(!mfu_username_ok(user)) {
    fprintf(err, "mfud: bad username '%s': 1 to %d letters, digits, '.', "
                 "'_' or '-'\n", user, MFU_USERNAME_MAX);
    return MFU_E_USERNAME;
  }
  rc = mfu_catalog_user_add(cat, user);
  if(rc == MFU_E_EXISTS)
    fprintf(err, "mfud: user %s exists already (mfud token add %s)\n",
            user, user);
  else if(rc)
    fprintf(err, "mfud: cannot add user %s: %s\n", user, mfu_strerror(rc));
  return rc ? rc : token_new(cat, user, label, out, err);
}

static int token_revoke(struct mfu_catalog *cat, const char *arg, FILE *err)
{
  char *end;
  long long id = strtoll(arg, &end, 10);
  int rc;

  if(!*arg || *end || id <= 0) {
    fprintf(err, "mfud: token revoke takes a token id (mfud token list)\n");
    return MFU_E_INVAL;
  }
  rc = mfu_catalog_token_revoke(cat, id);
  if(rc == MFU_E_NOTFOUND)
    fprintf(err, "mfud: no token %lld\n", id);
  else if(rc)
    fprintf(err, "mfud: cannot revoke: %s\n", mfu_strerror(rc));
  return rc;
}

static int dispatch(struct mfu_catalog *cat, const char *cmd, char **a,
                    size_t n, const char *label, FILE *out, FILE *err)
{
  const char *sub = n ? a[0] : "";

  if(!strcmp(cmd, "user") && !strcmp(sub, "add") && n == 2)
    return user_add(cat, a[1], label, out, err);
  if(!strcmp(cmd, "user") && !strcmp(sub, "list") && n == 1)
    return user_list(cat, out);
  if(!strcmp(cmd, "token") && !strcmp(sub, "add") && n == 2)
    return token_new(cat, a[1], label, out, err);
  if(!strcmp(cmd, "token") && !strcmp(sub, "list") && n <= 2)
    return token_list(cat, n == 2 ? a[1] : NULL, out);
  if(!strcmp(cmd, "token") && !strcmp(sub, "revoke") && n == 2)
    return token_revoke(cat, a[1], err);
  fprintf(err, "mfud: usage: mfud user add NAME [--label L] | user list |"
               " token add NAME [--label L] | token list [NAME] |"
               " token revoke ID\n");
  return MFU_E_INVAL;
}

int mfu_admin(const struct mfu_config *cfg, const char *cmd, char **args,
              size_t nargs, const char *label, FILE *out, FILE *err)
{
  struct mfu_catalog *cat;
  int rc = mfu_catalog_open(cfg->catalog, &cat);

  if(rc) {
    fprintf(err, "mfud: cannot open catalog %s: %s\n", cfg->catalog,
            mfu_strerror(rc));
    return rc;
  }
  rc = dispatch(cat, cmd, args, nargs, label, out, err);
  mfu_catalog_close(cat);
  return rc;
}
