/*
 * mfu.h - libmfu, the C client of the mfu multi-file upload service.
 *
 * One call uploads a text and any number of files in three groups (images,
 * audios, videos) as ONE multipart/form-data request (RFC 7578), streamed
 * from the files: memory stays flat whatever their size.  Failed
 * connections and 502/503/504 answers are retried with exponential backoff
 * and jitter; an upload carries one Idempotency-Key on every attempt, so a
 * retry after a lost response does not create a second item.  The same
 * handle gets, lists and deletes items and downloads files with resume.
 *
 *   struct mfu_client *c = mfu_client_new("http://127.0.0.1:8134");
 *   struct mfu_upload *u = mfu_upload_new();
 *   mfu_upload_set_text(u, "hello", 5);
 *   mfu_upload_add_file(u, MFU_GROUP_AUDIOS, "a.mp3", 234, NULL);
 *   json_t *rec;
 *   int rc = mfu_client_put(c, u, &rec);  // 0: rec is the item record
 *
 * This header is installed on its own (pkg-config --cflags --libs mfu), so
 * it carries its own error enum rather than the server's: the codes below
 * say what went wrong on the client's side; the server's reason for a
 * rejection comes as its stable `code` slug, `detail` sentence and HTTP
 * status through mfu_client_err_code() and friends.
 *
 * Threads: a client serves one call at a time; mfu_client_cancel() alone
 * may be called from another thread or a signal handler.  libcurl's global
 * state is initialised on first use; programs that start threads should
 * call curl_global_init() in main() first, as libcurl asks.
 */
#ifndef MFU_MFU_H
#define MFU_MFU_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(MFU_BUILDING_LIB)
#define MFU_API __attribute__((visibility("default")))
#else
#define MFU_API
#endif

#define MFU_VERSION "0.1.0"
#define MFU_DEFAULT_SERVER "http://127.0.0.1:8134"

/* Every function that can fail returns 0 or one of these (negative). */
enum mfu_client_err {
  MFU_CLIENT_OK = 0,
  MFU_CLIENT_E_NOMEM = -1,     /* allocation failed */
  MFU_CLIENT_E_INVAL = -2,     /* bad argument (NULL, bad name, bad URL) */
  MFU_CLIENT_E_FILE = -3,      /* a local input file cannot be read; */
                               /* checked before any byte is sent */
  MFU_CLIENT_E_NETWORK = -4,   /* no answer from the server (connection */
                               /* refused, reset, timed out), after retries */
  MFU_CLIENT_E_SERVER = -5,    /* the server failed (5xx), after retries */
  MFU_CLIENT_E_REJECTED = -6,  /* the server refused the request (4xx); */
                               /* see mfu_client_err_code/_detail/_status */
  MFU_CLIENT_E_PROTOCOL = -7,  /* an answer that is not what the API says */
  MFU_CLIENT_E_CANCELLED = -8, /* cancelled by the progress callback or */
                               /* mfu_client_cancel() */
  MFU_CLIENT_E_OUTPUT = -9,    /* a local output file cannot be written */
};

/* A short English sentence for rc; never NULL, static storage. */
MFU_API const char *mfu_client_strerror(int rc);

/* The groups of files an item has, in the order the record lists them. */
enum mfu_group {
  MFU_GROUP_IMAGES = 0,
  MFU_GROUP_AUDIOS = 1,
  MFU_GROUP_VIDEOS = 2,
};

/* The form field name of g ("images"...), or NULL when g is out of range. */
MFU_API const char *mfu_group_name(enum mfu_group g);

/* No duration: the file is sent under its name, without a prefix. */
#define MFU_DURATION_NONE (-1LL)

/*
 * What a progress callback sees.  sent/total count the whole request body
 * (multipart framing included) as libcurl reports it; total is 0 until it
 * is known.  file is the 0-based index of the file being read (in the order
 * files were added), file_count how many there are; file_name its display
 * name (NULL while no file is being read); file_sent/file_size its bytes.
 */
struct mfu_progress {
  uint64_t sent;
  uint64_t total;
  size_t file;
  size_t file_count;
  const char *file_name;
  uint64_t file_sent;
  uint64_t file_size;
};

/*
 * Called several times a second during a transfer (uploads and downloads;
 * for a download, sent/total count received bytes and file_* is unused).
 * Return 0 to go on, non-zero to cancel: the call then fails with
 * MFU_CLIENT_E_CANCELLED.  p is valid only during the call.
 */
typedef int (*mfu_progress_cb)(const struct mfu_progress *p, void *cls);

/* ---- client handle ---------------------------------------------------- */

struct mfu_client;

/*
 * A new client for the server at base_url ("http://host:port", with or
 * without a trailing slash; NULL means MFU_DEFAULT_SERVER).  Returns NULL
 * when out of memory or when base_url is not http:// or https://.  Free
 * with mfu_client_free().  Defaults: no user, no token, 4 attempts, backoff
 * base 200 ms, cap 5000 ms, connect timeout 10 s, quiet.
 */
MFU_API struct mfu_client *mfu_client_new(const char *base_url);

/* Frees c and everything it owns; NULL is allowed. */
MFU_API void mfu_client_free(struct mfu_client *c);

/*
 * The user name sent as ?username= (the server's --auth none mode) and the
 * token sent as "Authorization: Bearer" (RFC 6750 §2.1; --auth token).
 * Either may be set, or both; NULL clears.  Strings are copied.
 * MFU_CLIENT_OK, MFU_CLIENT_E_INVAL (control characters) or _E_NOMEM.
 */
MFU_API int mfu_client_set_user(struct mfu_client *c, const char *user);
MFU_API int mfu_client_set_token(struct mfu_client *c, const char *token);

/*
 * Retry policy: at most max_attempts tries in all (1 = no retry); before
 * try n+1 the client waits a random time in [d/2, d] where
 * d = min(cap_ms, base_ms * 2^(n-1)) ("equal jitter"), or the server's
 * Retry-After when that is longer, still bounded by cap_ms.
 * MFU_CLIENT_E_INVAL when max_attempts is 0 or base_ms > cap_ms.
 */
MFU_API int mfu_client_set_retry(struct mfu_client *c, unsigned max_attempts,
                                 unsigned base_ms, unsigned cap_ms);

/* Connect timeout in milliseconds (0: libcurl's default). */
MFU_API int mfu_client_set_connect_timeout(struct mfu_client *c,
                                           unsigned ms);

/*
 * Non-zero: libcurl writes the HTTP exchange (headers, not bodies) to
 * stderr, and the client notes each retry there.
 */
MFU_API int mfu_client_set_verbose(struct mfu_client *c, int on);

/* Progress callback and its closure for later calls; cb NULL clears. */
MFU_API int mfu_client_set_progress(struct mfu_client *c, mfu_progress_cb cb,
                                    void *cls);

/*
 * Ask the running call (or the next one) to stop: it returns
 * MFU_CLIENT_E_CANCELLED as soon as libcurl next reports progress or the
 * backoff sleep ends.  Async-signal-safe.  The flag clears when a call
 * returns.
 */
MFU_API void mfu_client_cancel(struct mfu_client *c);

/*
 * Why the last call failed.  status is the HTTP status of the last answer
 * (0 when there was none).  err_code is the server's problem `code` slug
 * ("file-too-large"), "" when the server sent none.  err_detail is a
 * sentence for a person: the server's `detail`, or what failed locally
 * (file name and errno text, libcurl's message).  Strings are owned by c
 * and valid until the next call on c; never NULL.
 */
MFU_API long mfu_client_err_status(const struct mfu_client *c);
MFU_API const char *mfu_client_err_code(const struct mfu_client *c);
MFU_API const char *mfu_client_err_detail(const struct mfu_client *c);

/* ---- uploads ---------------------------------------------------------- */

struct mfu_upload;

/* An empty upload description; free with mfu_upload_free(). NULL: no mem. */
MFU_API struct mfu_upload *mfu_upload_new(void);

/* Frees u; NULL is allowed. */
MFU_API void mfu_upload_free(struct mfu_upload *u);

/*
 * The item's text, len bytes of UTF-8 (copied).  Replaces an earlier text
 * or text file.  MFU_CLIENT_E_INVAL when it is not valid UTF-8.
 */
MFU_API int mfu_upload_set_text(struct mfu_upload *u, const char *text,
                                size_t len);

/* The item's text, streamed from the file at path when the upload runs. */
MFU_API int mfu_upload_set_text_file(struct mfu_upload *u, const char *path);

/*
 * Add the file at path to group g.  duration (seconds, >= 0) becomes the
 * seed protocol's filename prefix ("234_name.mp3"); MFU_DURATION_NONE sends
 * the bare name.  name is the display name (UTF-8, no '/'); NULL takes the
 * basename of path.  The file is opened only when the upload runs.
 * MFU_CLIENT_E_INVAL for a bad group, duration or name.
 */
MFU_API int mfu_upload_add_file(struct mfu_upload *u, enum mfu_group g,
                                const char *path, long long duration,
                                const char *name);

/*
 * The Idempotency-Key to send (visible ASCII, 1..128 bytes, as mfud takes
 * it).  By default each mfu_client_put() draws a fresh random key and
 * keeps it for its retries; set one to make a later put() of the same
 * upload a repeat.
 */
MFU_API int mfu_upload_set_idempotency_key(struct mfu_upload *u,
                                           const char *key);

/*
 * Upload u as one request to POST /v1/items.  Every file is opened and
 * checked (a readable regular file) before the first byte is sent;
 * failing that, MFU_CLIENT_E_FILE with the path in mfu_client_err_detail().
 * On MFU_CLIENT_OK, *record is the item record as the server sent it
 * (a JSON object with id, username, text, created_at, images, audios,
 * videos); the caller owns it and releases it with json_decref().  On
 * failure *record is NULL.
 */
MFU_API int mfu_client_put(struct mfu_client *c, const struct mfu_upload *u,
                           json_t **record);

/* ---- items and files -------------------------------------------------- */

/* GET /v1/items/{id}: *record as for mfu_client_put(); caller decrefs. */
MFU_API int mfu_client_get(struct mfu_client *c, const char *id,
                           json_t **record);

/*
 * One page of the client's user's items, newest first: limit items at most
 * (0: the server's default), those older than `after` (NULL: from the
 * newest).  *page is {"items":[...], "next": id or null}; caller decrefs.
 */
MFU_API int mfu_client_list(struct mfu_client *c, unsigned limit,
                            const char *after, json_t **page);

/* DELETE /v1/items/{id}. */
MFU_API int mfu_client_delete(struct mfu_client *c, const char *id);

/*
 * Download url (absolute, or a path on the server such as
 * "/files/<sha256>.png") into the file at path.  When path exists and is
 * shorter than the resource, the download resumes from its size with a
 * Range request (RFC 9110 §14.2); a server that answers 200 instead gets
 * the file rewritten from the start.  A complete file is left as it is.
 */
MFU_API int mfu_client_download(struct mfu_client *c, const char *url,
                                const char *path);

#ifdef __cplusplus
}
#endif

#endif
