/*
 * err.c - text, slug and HTTP status of every mfu error code.
 *
 * One table so that the server, the client and the tests agree on what a
 * code means; the slugs are part of the HTTP API (DESIGN.md) and never
 * change once released.
 */
#include "mfu_err.h"

#include <stddef.h>

struct err_info {
  int rc;
  unsigned status;
  const char *slug;
  const char *title;
  const char *text;
};

static const struct err_info table[] = {
  {MFU_OK, 200, "ok", "OK", "success"},
  {MFU_E_NOMEM, 503, "out-of-memory", "Out of memory",
   "the server ran out of memory"},
  {MFU_E_IO, 500, "io-error", "Storage error", "an input/output error"},
  {MFU_E_NOSPACE, 507, "insufficient-storage", "Insufficient storage",
   "the store has no space left"},
  {MFU_E_NOTFOUND, 404, "not-found", "Not found", "no such resource"},
  {MFU_E_INVAL, 400, "bad-request", "Bad request", "the request is malformed"},
  {MFU_E_UNAVAILABLE, 503, "unavailable", "Service unavailable",
   "the store or the catalog cannot be reached"},
  {MFU_E_BUSY, 503, "busy", "Service busy", "the catalog is busy"},
  {MFU_E_INTERNAL, 500, "internal-error", "Internal error",
   "an internal error"},
  {MFU_E_EXISTS, 409, "conflict", "Conflict", "the resource already exists"},
  {MFU_E_METHOD, 405, "method-not-allowed", "Method not allowed",
   "the method is not allowed on this resource"},
  {MFU_E_CORRUPT, 500, "corrupt", "Stored data corrupt",
   "stored bytes do not match their address"},

  {MFU_E_MP_BOUNDARY, 400, "bad-boundary", "Bad multipart boundary",
   "the Content-Type has no valid multipart boundary"},
  {MFU_E_MP_SYNTAX, 400, "malformed-multipart", "Malformed multipart body",
   "the multipart body is malformed"},
  {MFU_E_MP_HEADER_LINE, 431, "part-header-too-large",
   "Part header too large", "a part header line is too long"},
  {MFU_E_MP_HEADERS, 431, "too-many-part-headers", "Too many part headers",
   "a part has too many header lines"},
  {MFU_E_MP_PARTS, 413, "too-many-parts", "Too many parts",
   "the body has too many parts"},
  {MFU_E_MP_TRUNCATED, 400, "truncated-body", "Truncated multipart body",
   "the body ended before the final boundary"},
  {MFU_E_MP_DISPOSITION, 400, "bad-content-disposition",
   "Bad Content-Disposition", "a part has no valid Content-Disposition"},
  {MFU_E_MP_ENCODING, 400, "bad-encoding", "Bad parameter encoding",
   "a header parameter is badly encoded"},

  {MFU_E_LIMIT_BODY, 413, "body-too-large", "Body too large",
   "the request body is larger than the limit"},
  {MFU_E_LIMIT_FILE, 413, "file-too-large", "File too large",
   "a file is larger than the limit"},
  {MFU_E_LIMIT_TEXT, 413, "text-too-large", "Text too large",
   "the text is larger than the limit"},
  {MFU_E_LIMIT_QUERY, 414, "query-too-long", "Query too long",
   "the query string is longer than the limit"},
  {MFU_E_LENGTH_REQUIRED, 411, "length-required", "Length required",
   "the request needs a Content-Length or chunked body"},
  {MFU_E_MEDIA_TYPE, 415, "unsupported-media-type", "Unsupported media type",
   "the request body is not multipart/form-data"},
  {MFU_E_FIELD_UNKNOWN, 400, "unknown-field", "Unknown field",
   "a field name is not one of text, images, audios, videos"},
  {MFU_E_FIELD_DUPLICATE, 400, "duplicate-field", "Duplicate field",
   "a field that may appear once appears twice"},
  {MFU_E_FILENAME, 400, "bad-filename", "Bad filename",
   "a file part has no usable filename"},
  {MFU_E_TEXT_UTF8, 400, "invalid-utf8", "Invalid UTF-8",
   "the text is not valid UTF-8"},
  {MFU_E_USERNAME, 400, "bad-username", "Bad username",
   "the username is missing or malformed"},
  {MFU_E_TYPE_MISMATCH, 422, "content-mismatch", "Content does not match",
   "a file's content does not belong in its group"},
  {MFU_E_TYPE_FORBIDDEN, 415, "type-not-allowed", "Type not allowed",
   "a file's content type is not allowed"},
  {MFU_E_RANGE, 416, "range-not-satisfiable", "Range not satisfiable",
   "the requested range is not satisfiable"},
  {MFU_E_AUTH, 401, "unauthorized", "Unauthorized",
   "the request needs valid credentials"},
  {MFU_E_FORBIDDEN, 403, "forbidden", "Forbidden",
   "the credentials do not allow this"},
  {MFU_E_HEADERS_TOO_LARGE, 431, "headers-too-large",
   "Request headers too large", "the request headers are too large"},
  {MFU_E_TIMEOUT, 408, "request-timeout", "Request timeout",
   "the client sent the request too slowly"},
  {MFU_E_EMPTY, 400, "empty-upload", "Empty upload",
   "the upload has neither text nor files"},
};

static const struct err_info *find(int rc)
{
  size_t i;
  for(i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if(table[i].rc == rc)
      return &table[i];
  }
  return NULL;
}

const char *mfu_strerror(int rc)
{
  const struct err_info *e = find(rc);
  return e ? e->text : "unknown error";
}

const char *mfu_err_slug(int rc)
{
  const struct err_info *e = find(rc);
  return e ? e->slug : "internal-error";
}

const char *mfu_err_title(int rc)
{
  const struct err_info *e = find(rc);
  return e ? e->title : "Internal error";
}

unsigned mfu_err_status(int rc)
{
  const struct err_info *e = find(rc);
  return e ? e->status : 500;
}
