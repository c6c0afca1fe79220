/*
 * mfu_web.h - the web page's files, compiled into the binary.
 *
 * Every file of web/ (index.html, item.html, list.html, app.css, the
 * scripts, the icon) is embedded at build time by embed.py, with its
 * content type and a strong ETag (RFC 9110 section 8.8.3) made from the
 * SHA-256 of its bytes, so a server can answer If-None-Match without
 * hashing anything at run time.
 *
 * The pages hold no inline script or style: they work under
 *   default-src 'none'; script-src 'self'; style-src 'self';
 *   img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self';
 *   form-action 'self'; base-uri 'none'; frame-ancestors 'none'
 * and load their files from /static/<name>.  The server maps
 *   GET /              -> index.html  (upload)
 *   GET /items/{id}    -> item.html   (one item; reads /v1/items/{id})
 *   GET /users/{name}  -> list.html   (a user's items; reads /v1/items)
 *   GET /static/<name> -> <name>
 */
#ifndef MFU_WEB_H
#define MFU_WEB_H

#include <stddef.h>

#include "mfu_err.h"

/*
 * Look up the file called name ("index.html", "app.js"; no directory
 * part).  On MFU_OK *data points at its len bytes and *content_type at a
 * full Content-Type ("text/html; charset=utf-8"); all are static and
 * never freed.  Returns MFU_OK, MFU_E_NOTFOUND (any other name, so a path
 * with '/' or ".." is simply not found) or MFU_E_INVAL (NULL argument).
 */
int mfu_web_asset(const char *name, const unsigned char **data, size_t *len,
                  const char **content_type);

/*
 * The strong ETag of the file called name, quotes included
 * ("\"3f1c...\""), static.  MFU_OK, MFU_E_NOTFOUND or MFU_E_INVAL.
 */
int mfu_web_asset_etag(const char *name, const char **etag);

/* How many files are embedded, and the name of the i-th (sorted), for a
 * server that wants to list or preload them; NULL past the end. */
size_t mfu_web_asset_count(void);
const char *mfu_web_asset_name(size_t i);

#endif
