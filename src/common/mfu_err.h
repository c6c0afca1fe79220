/*
 * mfu_err.h - the one error enum of mfu.
 *
 * Every function that can fail returns an `int rc`: MFU_OK (0) or one of the
 * negative codes below.  Each code carries a stable slug (the `code` of the
 * RFC 9457 problem JSON), a title for people, and the HTTP status the server
 * answers with when the code reaches a client.  Codes are grouped by the part
 * that raises them so a new part adds its own block.
 */
#ifndef MFU_ERR_H
#define MFU_ERR_H

enum mfu_err {
  MFU_OK = 0,

  /* generic */
  MFU_E_NOMEM = -1,        /* allocation failed */
  MFU_E_IO = -2,           /* read/write/fsync failed (errno kept by caller) */
  MFU_E_NOSPACE = -3,      /* store out of space (ENOSPC, EDQUOT) -> 507 */
  MFU_E_NOTFOUND = -4,     /* no such item, file or route -> 404 */
  MFU_E_INVAL = -5,        /* bad argument or malformed request -> 400 */
  MFU_E_UNAVAILABLE = -6,  /* store or catalog unreachable -> 503 */
  MFU_E_BUSY = -7,         /* catalog locked past its timeout -> 503 */
  MFU_E_INTERNAL = -8,     /* a bug or an unexpected state -> 500 */
  MFU_E_EXISTS = -9,       /* unique key already taken -> 409 */
  MFU_E_METHOD = -10,      /* method not allowed on the route -> 405 */
  MFU_E_CORRUPT = -11,     /* stored bytes do not match their address */

  /* multipart parser (src/multipart) */
  MFU_E_MP_BOUNDARY = -100,    /* Content-Type has no valid boundary */
  MFU_E_MP_SYNTAX = -101,      /* bytes that RFC 2046 does not allow */
  MFU_E_MP_HEADER_LINE = -102, /* one part header line over its limit */
  MFU_E_MP_HEADERS = -103,     /* too many header lines in one part */
  MFU_E_MP_PARTS = -104,       /* too many parts in the body */
  MFU_E_MP_TRUNCATED = -105,   /* body ended before the final boundary */
  MFU_E_MP_DISPOSITION = -106, /* missing or malformed Content-Disposition */
  MFU_E_MP_ENCODING = -107,    /* bad RFC 5987 filename* or bad quoting */

  /* request limits and upload policy (src/http) */
  MFU_E_LIMIT_BODY = -200,     /* body larger than --max-body -> 413 */
  MFU_E_LIMIT_FILE = -201,     /* one file larger than --max-file -> 413 */
  MFU_E_LIMIT_TEXT = -202,     /* text larger than --max-text -> 413 */
  MFU_E_LIMIT_QUERY = -203,    /* query string too long -> 414 */
  MFU_E_LENGTH_REQUIRED = -204, /* 411 */
  MFU_E_MEDIA_TYPE = -205,     /* request is not multipart/form-data -> 415 */
  MFU_E_FIELD_UNKNOWN = -206,  /* field name not text/images/audios/videos */
  MFU_E_FIELD_DUPLICATE = -207, /* a second `text` */
  MFU_E_FILENAME = -208,       /* file part without a usable filename */
  MFU_E_TEXT_UTF8 = -209,      /* text or a name is not valid UTF-8 */
  MFU_E_USERNAME = -210,       /* missing or malformed username */
  MFU_E_TYPE_MISMATCH = -211,  /* content does not belong in its group -> 422 */
  MFU_E_TYPE_FORBIDDEN = -212, /* sniffed type not on the allow-list -> 415 */
  MFU_E_RANGE = -213,          /* unsatisfiable Range -> 416 */
  MFU_E_AUTH = -214,           /* no or bad credentials -> 401 */
  MFU_E_FORBIDDEN = -215,      /* credentials do not allow this -> 403 */
  MFU_E_HEADERS_TOO_LARGE = -216, /* request headers too large -> 431 */
  MFU_E_TIMEOUT = -217,        /* client too slow -> 408 */
  MFU_E_EMPTY = -218,          /* upload with no text and no file -> 400 */
};

/* A short English sentence for `rc`; never NULL, static storage. */
const char *mfu_strerror(int rc);

/* The problem `code` slug for `rc` ("file-too-large"); static storage. */
const char *mfu_err_slug(int rc);

/* The problem `title` for `rc` ("File too large"); static storage. */
const char *mfu_err_title(int rc);

/* The HTTP status a client gets for `rc` (500 for unknown codes). */
unsigned mfu_err_status(int rc);

#endif
