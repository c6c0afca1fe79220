/*
 * pages.c - the web page: GET /, /items/{id}, /users/{name}, /static/...
 *
 * The files are compiled into the binary (src/web).  The pages carry no
 * inline script or style, so the policy below forbids both: a filename
 * such as <img onerror=...> that slipped past the page's own escaping
 * still could not run.
 */
#include <stdio.h>
#include <string.h>

#include "http_impl.h"
#include "mfu_web.h"

/* The origin (scheme://host[:port]) of --public-url, where records point
 * images and players; "" when files are served from here. */
static void public_origin(const char *url, char *out, size_t cap)
{
  const char *p = url ? strstr(url, "://") : NULL;
  size_t n;
  out[0] = '\0';
  if(!p)
    return;
  n = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
  /* a quote or space would let the URL rewrite the policy itself */
  if(n + 2 > cap || strcspn(url, " ;,'\"") < n)
    return;
  out[0] = ' ';
  memcpy(out + 1, url, n);
  out[n + 1] = '\0';
}

void pages_csp(const char *public_url, char *out, size_t cap)
{
  char origin[256];
  public_origin(public_url, origin, sizeof(origin));
  snprintf(out, cap,
           "default-src 'none'; script-src 'self'; style-src 'self'; "
           "img-src 'self' blob: data:%s; media-src 'self' blob:%s; "
           "connect-src 'self'; form-action 'self'; base-uri 'none'; "
           "frame-ancestors 'none'", origin, origin);
}

enum MHD_Result pages_get(struct request *req, struct MHD_Connection *conn,
                          const char *name)
{
  const unsigned char *data;
  const char *ctype, *etag, *inm;
  struct MHD_Response *resp;
  unsigned status = 200;
  size_t len;
  enum MHD_Result r;

  if(mfu_web_asset(name, &data, &len, &ctype) ||
     mfu_web_asset_etag(name, &etag))
    return respond_error(req, conn, MFU_E_NOTFOUND, "no page %.80s", name);
  inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_IF_NONE_MATCH);
  if(inm && strstr(inm, etag)) {
    status = 304;
    len = 0;
  }
  resp = MHD_create_response_from_buffer(len, (void *)data,
                                         MHD_RESPMEM_PERSISTENT);
  if(!resp)
    return MHD_NO;
  if(status == 200)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  MHD_add_response_header(resp, "Content-Security-Policy", req->srv->csp);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  req->status = status;
  r = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return r;
}
