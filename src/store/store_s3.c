/*
 * store_s3.c - the store on an S3-compatible object service (AWS S3, MinIO,
 * Ceph RGW, Alibaba OSS): "s3://BUCKET?endpoint=URL&region=R&path_style=1".
 *
 * A blob's key is its address, known only once its last byte is in, so
 * writing goes two ways.  Up to part_size (8 MiB) bytes are kept in memory;
 * a blob that ends there is one PUT to its final key, signed with its
 * SHA-256 so the service checks every byte.  A longer blob streams as a
 * multipart upload to "tmp/<random>", one part_size part at a time, and on
 * commit is completed and copied server-side to its final key (CopyObject,
 * or UploadPartCopy above copy_max, S3's 5 GiB CopyObject limit); the
 * temporary object is then deleted.  Any failure aborts the multipart
 * upload.  Bytes already stored are written again (a PUT or a server-side
 * copy), so their LastModified is refreshed as the store contract wants.  A crash can leave a temporary upload or object behind:
 * sweep_tmp removes those older than a given age.
 *
 * Memory per upload in flight: one part_size buffer, whatever the size of
 * the blob.  Reading streams a GET through a 128 KiB buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "mfu_util.h"
#include "s3.h"
#include "store_impl.h"

#define KEY_MAX 96
#define READ_BUF (128u * 1024u)

struct s3_store {
  struct mfu_store base;
  struct s3_conf c;
};

struct s3_put {
  struct mfu_store_put base;
  struct s3_store *s;
  EVP_MD_CTX *sha;
  char *content_type;
  unsigned char *buf;
  size_t len, cap;
  uint64_t size;
  char tmpkey[KEY_MAX];
  char *upload_id;     /* set once the multipart upload has begun */
  struct s3_buf parts; /* <Part> elements of CompleteMultipartUpload */
  unsigned nparts;
};

struct s3_reader {
  struct mfu_store_reader base;
  struct s3_store *s;
  CURLM *m;
  CURL *e;
  struct curl_slist *hdrs;
  char *url;
  char *buf;
  size_t off, len;
  uint64_t skip;       /* bytes before the range, when Range was ignored */
  uint64_t remaining;  /* bytes of the range not yet buffered */
  long status;
  int headers_done, done, paused;
  CURLcode result;
  struct s3_buf err;
};

static const struct store_ops s3_ops;

static void blob_key(const char *hex, char *key)
{
  snprintf(key, KEY_MAX, "sha256/%.2s/%.2s/%s", hex, hex + 2, hex);
}

static int sha256_hex(const void *p, size_t n, char *out)
{
  unsigned char md[32];
  unsigned int mdlen = 0;

  if(!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL))
    return MFU_E_NOMEM;
  mfu_hex(md, 32, out);
  return MFU_OK;
}

/* One bodiless request; *r is filled and must be freed by the caller. */
static int simple(struct s3_store *s, struct s3_req *r, const char *method,
                  const char *key, const char *query)
{
  memset(r, 0, sizeof(*r));
  r->method = method;
  r->key = key;
  r->query = query;
  return s3_perform(&s->c, r);
}

static int s3_ping(struct mfu_store *base)
{
  struct s3_store *s = (struct s3_store *)base;
  struct s3_req r;
  int rc = simple(s, &r, "HEAD", NULL, NULL);

  if(!rc && r.status != 200) {
    fprintf(stderr, "mfu: s3 bucket %s: HTTP %ld\n", s->c.bucket, r.status);
    rc = MFU_E_UNAVAILABLE;
  }
  s3_req_free(&r);
  return rc;
}

int mfu_store_s3_open(const char *rest, struct mfu_store **out)
{
  struct s3_store *s = calloc(1, sizeof(*s));
  int rc;

  *out = NULL;
  if(!s)
    return MFU_E_NOMEM;
  s->base.ops = &s3_ops;
  rc = s3_conf_init(&s->c, rest);
  if(!rc)
    rc = s3_ping(&s->base); /* wrong bucket or keys fail at start-up */
  if(rc) {
    s3_conf_free(&s->c);
    free(s);
    return rc;
  }
  *out = &s->base;
  return MFU_OK;
}

static void s3_close(struct mfu_store *base)
{
  struct s3_store *s = (struct s3_store *)base;

  s3_conf_free(&s->c);
  free(s);
}

static int s3_put_begin(struct mfu_store *base, const char *content_type,
                        struct mfu_store_put **out)
{
  struct s3_put *w = calloc(1, sizeof(*w));
  unsigned char rnd[16];
  char hex[33];

  if(!w)
    return MFU_E_NOMEM;
  w->base.store = base;
  w->s = (struct s3_store *)base;
  w->sha = EVP_MD_CTX_new();
  if(content_type && content_type[0] && !strpbrk(content_type, "\r\n"))
    w->content_type = strdup(content_type);
  if(!w->sha || !EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL) ||
     (content_type && !w->content_type) ||
     getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
    EVP_MD_CTX_free(w->sha);
    free(w->content_type);
    free(w);
    return MFU_E_NOMEM;
  }
  mfu_hex(rnd, sizeof(rnd), hex);
  snprintf(w->tmpkey, sizeof(w->tmpkey), "tmp/%s", hex);
  *out = &w->base;
  return MFU_OK;
}

static int start_multipart(struct s3_store *s, const char *key,
                           const char *content_type, char **upload_id)
{
  struct s3_req r;
  size_t pos = 0;
  int rc;

  memset(&r, 0, sizeof(r));
  r.method = "POST";
  r.key = key;
  r.query = "uploads=";
  r.content_type = content_type;
  rc = s3_perform(&s->c, &r);
  if(!rc)
    rc = s3_status_rc(&r, "CreateMultipartUpload");
  if(!rc && s3_xml_next(r.resp.p, r.resp.len, &pos, "UploadId", upload_id))
    rc = MFU_E_IO;
  s3_req_free(&r);
  return rc;
}

static char *upload_query(const char *upload_id, unsigned part)
{
  char *enc = s3_uri_encode(upload_id);
  size_t n;
  char *q;

  if(!enc)
    return NULL;
  n = strlen(enc) + 48;
  q = malloc(n);
  if(q) {
    if(part)
      snprintf(q, n, "partNumber=%u&uploadId=%s", part, enc);
    else
      snprintf(q, n, "uploadId=%s", enc);
  }
  free(enc);
  return q;
}

static int add_part(struct s3_buf *parts, unsigned num, const char *etag)
{
  char x[200];
  int n = snprintf(x, sizeof(x), "<Part><PartNumber>%u</PartNumber>"
                   "<ETag>%s</ETag></Part>", num, etag);

  if(n < 0 || (size_t)n >= sizeof(x))
    return MFU_E_IO;
  return s3_buf_add(parts, x, (size_t)n);
}

/* Send the buffered bytes as the next part of the upload. */
static int flush_part(struct s3_put *w)
{
  struct s3_store *s = w->s;
  char sha[65];
  struct s3_req r;
  char *q;
  int rc;

  if(!w->upload_id) {
    rc = start_multipart(s, w->tmpkey, w->content_type, &w->upload_id);
    if(rc)
      return rc;
  }
  if(w->nparts == 10000) /* S3's part count limit */
    return MFU_E_NOSPACE;
  /* over TLS the channel already protects the bytes; over plain HTTP the
   * signed payload hash is what lets the service reject a corrupted part */
  if(!s->c.tls && sha256_hex(w->buf, w->len, sha))
    return MFU_E_NOMEM;
  q = upload_query(w->upload_id, w->nparts + 1);
  if(!q)
    return MFU_E_NOMEM;
  memset(&r, 0, sizeof(r));
  r.method = "PUT";
  r.key = w->tmpkey;
  r.query = q;
  r.payload_sha = s->c.tls ? "UNSIGNED-PAYLOAD" : sha;
  r.body = w->buf;
  r.body_len = w->len;
  rc = s3_perform(&s->c, &r);
  if(!rc)
    rc = s3_status_rc(&r, "UploadPart");
  if(!rc && !r.etag[0])
    rc = MFU_E_IO;
  if(!rc)
    rc = add_part(&w->parts, ++w->nparts, r.etag);
  s3_req_free(&r);
  free(q);
  w->len = 0;
  return rc;
}

static int s3_put_write(struct mfu_store_put *base, const void *buf,
                        size_t len)
{
  struct s3_put *w = (struct s3_put *)base;
  size_t part = (size_t)w->s->c.part_size;
  const unsigned char *p = buf;
  int rc;

  if(!EVP_DigestUpdate(w->sha, buf, len))
    return MFU_E_NOMEM;
  w->size += len;
  while(len) {
    size_t n;

    /* a full buffer goes out only when more bytes follow, so a blob of
     * exactly part_size bytes is still a single PUT */
    if(w->len == part) {
      rc = flush_part(w);
      if(rc)
        return rc;
    }
    n = part - w->len < len ? part - w->len : len;
    if(w->len + n > w->cap) {
      size_t cap = w->cap ? w->cap : 64 * 1024;
      unsigned char *nb;

      while(cap < w->len + n)
        cap *= 2;
      if(cap > part)
        cap = part;
      nb = realloc(w->buf, cap);
      if(!nb)
        return MFU_E_NOMEM;
      w->buf = nb;
      w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    p += n;
    len -= n;
  }
  return MFU_OK;
}

static int head_key(struct s3_store *s, const char *key,
                    struct mfu_store_stat *st)
{
  struct s3_req r;
  int rc = simple(s, &r, "HEAD", key, NULL);

  if(!rc)
    rc = s3_status_rc(&r, "HeadObject");
  if(!rc && st) {
    st->size = r.content_length;
    st->mtime = r.last_modified;
  }
  s3_req_free(&r);
  return rc;
}

static int delete_key(struct s3_store *s, const char *key, const char *query)
{
  struct s3_req r;
  int rc = simple(s, &r, "DELETE", key, query);

  if(!rc)
    rc = s3_status_rc(&r, "DeleteObject");
  s3_req_free(&r);
  return rc == MFU_E_NOTFOUND ? MFU_OK : rc;
}

static int abort_upload(struct s3_store *s, const char *key,
                        const char *upload_id)
{
  char *q = upload_query(upload_id, 0);
  int rc;

  if(!q)
    return MFU_E_NOMEM;
  rc = delete_key(s, key, q);
  free(q);
  return rc;
}

static int complete_upload(struct s3_store *s, const char *key,
                           const char *upload_id, const struct s3_buf *parts)
{
  static const char head[] = "<CompleteMultipartUpload>";
  static const char tail[] = "</CompleteMultipartUpload>";
  struct s3_buf body = {NULL, 0, 0};
  char sha[65];
  struct s3_req r;
  char *q = upload_query(upload_id, 0);
  int rc;

  if(!q || s3_buf_add(&body, head, sizeof(head) - 1) ||
     s3_buf_add(&body, parts->p, parts->len) ||
     s3_buf_add(&body, tail, sizeof(tail) - 1) ||
     sha256_hex(body.p, body.len, sha)) {
    free(q);
    free(body.p);
    return MFU_E_NOMEM;
  }
  memset(&r, 0, sizeof(r));
  r.method = "POST";
  r.key = key;
  r.query = q;
  r.payload_sha = sha;
  r.content_type = "application/xml";
  r.body = body.p;
  r.body_len = body.len;
  rc = s3_perform(&s->c, &r);
  if(!rc) /* may be 200 with an <Error> body: s3_status_rc looks */
    rc = s3_status_rc(&r, "CompleteMultipartUpload");
  s3_req_free(&r);
  free(body.p);
  free(q);
  return rc;
}

static int copy_source(struct s3_store *s, const char *key, char *out,
                       size_t n)
{
  int len = snprintf(out, n, "/%s/%s", s->c.bucket, key);

  return len < 0 || (size_t)len >= n ? MFU_E_INVAL : MFU_OK;
}

/* Copy one object to another key inside the bucket, in one request. */
static int copy_object(struct s3_store *s, const char *from, const char *to)
{
  char src[KEY_MAX + 80];
  struct s3_req r;
  int rc = copy_source(s, from, src, sizeof(src));

  if(rc)
    return rc;
  memset(&r, 0, sizeof(r));
  r.method = "PUT";
  r.key = to;
  r.copy_source = src;
  rc = s3_perform(&s->c, &r);
  if(!rc)
    rc = s3_status_rc(&r, "CopyObject");
  s3_req_free(&r);
  return rc;
}

static int copy_part(struct s3_store *s, const char *src, const char *to,
                     const char *upload_id, unsigned num, uint64_t from,
                     uint64_t last, struct s3_buf *parts)
{
  char range[64];
  struct s3_req r;
  char *etag = NULL;
  size_t pos = 0;
  char *q = upload_query(upload_id, num);
  int rc;

  if(!q)
    return MFU_E_NOMEM;
  snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)from,
           (unsigned long long)last);
  memset(&r, 0, sizeof(r));
  r.method = "PUT";
  r.key = to;
  r.query = q;
  r.copy_source = src;
  r.copy_range = range;
  r.self_sign = 1; /* libcurl 7.88 signs this header set wrongly */
  rc = s3_perform(&s->c, &r);
  if(!rc)
    rc = s3_status_rc(&r, "UploadPartCopy");
  if(!rc && s3_xml_next(r.resp.p, r.resp.len, &pos, "ETag", &etag))
    rc = MFU_E_IO;
  if(!rc)
    rc = add_part(parts, num, etag);
  free(etag);
  free(q);
  s3_req_free(&r);
  return rc;
}

/* A copy larger than one CopyObject may make: UploadPartCopy in copy_max
 * ranges, completed, or aborted on any failure. */
static int copy_multipart(struct s3_store *s, const char *from,
                          const char *to, uint64_t size,
                          const char *content_type)
{
  struct s3_buf parts = {NULL, 0, 0};
  char src[KEY_MAX + 80];
  char *upload_id = NULL;
  uint64_t off;
  unsigned num = 0;
  int rc = copy_source(s, from, src, sizeof(src));

  if(!rc)
    rc = start_multipart(s, to, content_type, &upload_id);
  for(off = 0; !rc && off < size; off += s->c.copy_max) {
    uint64_t last = off + s->c.copy_max - 1;

    rc = copy_part(s, src, to, upload_id, ++num, off,
                   last < size - 1 ? last : size - 1, &parts);
  }
  if(!rc)
    rc = complete_upload(s, to, upload_id, &parts);
  if(rc && upload_id)
    abort_upload(s, to, upload_id);
  free(upload_id);
  free(parts.p);
  return rc;
}

static void put_free(struct s3_put *w)
{
  EVP_MD_CTX_free(w->sha);
  free(w->content_type);
  free(w->buf);
  free(w->upload_id);
  free(w->parts.p);
  free(w);
}

/* The final key is HEADed only to tell whether this put created it: the
 * bytes are written either way, which refreshes a stored blob's
 * LastModified (gc spares young blobs) and brings back one that a
 * concurrent delete removed meanwhile. */
static int commit_single(struct s3_put *w, const char *key, const char *hex,
                         int *created)
{
  struct s3_req r;
  int rc = head_key(w->s, key, NULL);
  int existed = rc == MFU_OK;

  *created = 0;
  if(rc && rc != MFU_E_NOTFOUND)
    return rc;
  memset(&r, 0, sizeof(r));
  r.method = "PUT";
  r.key = key;
  r.payload_sha = hex; /* the service checks the bytes against it */
  r.content_type = w->content_type;
  r.body = w->buf ? (const void *)w->buf : "";
  r.body_len = w->len;
  rc = s3_perform(&w->s->c, &r);
  if(!rc)
    rc = s3_status_rc(&r, "PutObject");
  s3_req_free(&r);
  *created = !rc && !existed;
  return rc;
}

static int commit_multipart(struct s3_put *w, const char *key, int *created)
{
  struct s3_store *s = w->s;
  int rc = flush_part(w);
  int existed;

  *created = 0;
  if(!rc)
    rc = head_key(s, key, NULL);
  if(rc && rc != MFU_E_NOTFOUND)
    return rc;
  existed = rc == MFU_OK;
  rc = complete_upload(s, w->tmpkey, w->upload_id, &w->parts);
  if(rc)
    return rc;
  free(w->upload_id);
  w->upload_id = NULL; /* from here on the temporary is an object */
  /* a server-side copy, even over identical bytes: see commit_single */
  if(w->size > s->c.copy_max)
    rc = copy_multipart(s, w->tmpkey, key, w->size, w->content_type);
  else
    rc = copy_object(s, w->tmpkey, key);
  *created = !rc && !existed;
  return rc;
}

static int s3_put_commit(struct mfu_store_put *base, char *sha256_hex,
                         uint64_t *size, int *created)
{
  struct s3_put *w = (struct s3_put *)base;
  unsigned char md[32];
  unsigned int mdlen = 0;
  char key[KEY_MAX];
  char hex[65];
  int rc;

  *created = 0;
  if(!EVP_DigestFinal_ex(w->sha, md, &mdlen)) {
    s3_ops.put_abort(base);
    return MFU_E_NOMEM;
  }
  mfu_hex(md, 32, hex);
  blob_key(hex, key);
  if(w->upload_id) {
    rc = commit_multipart(w, key, created);
    if(w->upload_id)
      abort_upload(w->s, w->tmpkey, w->upload_id);
    else
      delete_key(w->s, w->tmpkey, NULL); /* else sweep_tmp will */
  }
  else
    rc = commit_single(w, key, hex, created);
  if(!rc) {
    memcpy(sha256_hex, hex, 65);
    *size = w->size;
  }
  put_free(w);
  return rc;
}

static void s3_put_abort(struct mfu_store_put *base)
{
  struct s3_put *w = (struct s3_put *)base;

  if(w->upload_id)
    abort_upload(w->s, w->tmpkey, w->upload_id);
  put_free(w);
}

static int s3_stat(struct mfu_store *base, const char *hex,
                   struct mfu_store_stat *st)
{
  char key[KEY_MAX];

  blob_key(hex, key);
  return head_key((struct s3_store *)base, key, st);
}

static int s3_del(struct mfu_store *base, const char *hex)
{
  char key[KEY_MAX];

  blob_key(hex, key);
  return delete_key((struct s3_store *)base, key, NULL);
}

/* ---- reading: a GET driven by the reader through curl's multi API ---- */

static size_t on_read_header(char *p, size_t size, size_t n, void *cls)
{
  struct s3_reader *r = cls;
  size_t len = size * n;

  if(len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
    curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, &r->status);
    if(r->status >= 200) /* not a 100 Continue */
      r->headers_done = 1;
    if(r->status == 206) /* before any body byte reaches on_read_body */
      r->skip = 0;
  }
  return len;
}

/* Body bytes go to the reader's buffer; only the asked range is kept even
 * from a server that ignores Range (200 with the whole object). */
static size_t on_read_body(char *p, size_t size, size_t n, void *cls)
{
  struct s3_reader *r = cls;
  size_t skip, take;

  n *= size;
  if(r->status < 200 || r->status > 299) {
    if(r->err.len < 64 * 1024)
      s3_buf_add(&r->err, p, n);
    return n;
  }
  skip = r->skip < n ? (size_t)r->skip : n;
  take = n - skip;
  if(take > r->remaining)
    take = (size_t)r->remaining;
  if(r->off + r->len + take > READ_BUF) {
    if(r->len + take > READ_BUF) {
      r->paused = 1; /* curl keeps the chunk and offers it again */
      return CURL_WRITEFUNC_PAUSE;
    }
    memmove(r->buf, r->buf + r->off, r->len);
    r->off = 0;
  }
  memcpy(r->buf + r->off + r->len, p + skip, take);
  r->len += take;
  r->skip -= skip;
  r->remaining -= take;
  return n;
}

/* Let curl move the transfer on; returns after some progress or a wait. */
static int drive(struct s3_reader *r)
{
  CURLMsg *msg;
  int running = 0, left;

  if(r->paused) {
    r->paused = 0;
    curl_easy_pause(r->e, CURLPAUSE_CONT);
  }
  if(curl_multi_perform(r->m, &running))
    return MFU_E_IO;
  while((msg = curl_multi_info_read(r->m, &left))) {
    if(msg->msg == CURLMSG_DONE) {
      r->done = 1;
      r->result = msg->data.result;
    }
  }
  if(!r->done && !r->len && !r->paused && running &&
     curl_multi_poll(r->m, NULL, 0, 1000, NULL))
    return MFU_E_IO;
  return MFU_OK;
}

static void reader_free(struct s3_reader *r)
{
  if(r->m && r->e)
    curl_multi_remove_handle(r->m, r->e);
  if(r->e)
    curl_easy_cleanup(r->e);
  if(r->m)
    curl_multi_cleanup(r->m);
  curl_slist_free_all(r->hdrs);
  free(r->url);
  free(r->buf);
  free(r->err.p);
  free(r);
}

static int reader_start(struct s3_reader *r, const char *key,
                        uint64_t offset, uint64_t len)
{
  struct s3_conf *c = &r->s->c;
  char range[80];
  struct curl_slist *n;
  int rc;

  r->m = curl_multi_init();
  r->e = curl_easy_init();
  r->buf = malloc(READ_BUF);
  if(!r->m || !r->e || !r->buf)
    return MFU_E_NOMEM;
  rc = s3_easy_setup(c, r->e, "GET", key, NULL, NULL, &r->hdrs, &r->url);
  if(rc)
    return rc;
  if(offset || len != UINT64_MAX) {
    if(len > UINT64_MAX - offset || offset + len - 1 == UINT64_MAX - 1)
      snprintf(range, sizeof(range), "Range: bytes=%llu-",
               (unsigned long long)offset);
    else
      snprintf(range, sizeof(range), "Range: bytes=%llu-%llu",
               (unsigned long long)offset,
               (unsigned long long)(offset + len - 1));
    n = curl_slist_append(r->hdrs, range);
    if(!n)
      return MFU_E_NOMEM;
    r->hdrs = n;
  }
  curl_easy_setopt(r->e, CURLOPT_HTTPHEADER, r->hdrs);
  curl_easy_setopt(r->e, CURLOPT_BUFFERSIZE, 16384L);
  curl_easy_setopt(r->e, CURLOPT_WRITEFUNCTION, on_read_body);
  curl_easy_setopt(r->e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(r->e, CURLOPT_HEADERFUNCTION, on_read_header);
  curl_easy_setopt(r->e, CURLOPT_HEADERDATA, r);
  if(curl_multi_add_handle(r->m, r->e))
    return MFU_E_NOMEM;
  r->remaining = len;
  r->skip = offset; /* until a 206 says the range was honoured */
  while(!r->headers_done && !r->done) {
    rc = drive(r);
    if(rc)
      return rc;
  }
  if(r->done && r->result && !r->headers_done) {
    fprintf(stderr, "mfu: s3 GET %s: %s\n", r->url,
            curl_easy_strerror(r->result));
    return s3_curl_rc(r->result);
  }
  if(r->status == 200 || r->status == 206)
    return MFU_OK;
  while(!r->done) { /* take the error document */
    rc = drive(r);
    if(rc)
      return rc;
  }
  return MFU_E_IO; /* mapped by the caller */
}

static int s3_read_open(struct mfu_store *base, const char *hex,
                        uint64_t offset, uint64_t len,
                        struct mfu_store_reader **out)
{
  struct s3_reader *r = calloc(1, sizeof(*r));
  char key[KEY_MAX];
  int rc;

  if(!r)
    return MFU_E_NOMEM;
  r->base.store = base;
  r->s = (struct s3_store *)base;
  blob_key(hex, key);
  if(!len) { /* nothing to fetch, but the blob must exist */
    rc = head_key(r->s, key, NULL);
    r->done = 1;
  }
  else {
    rc = reader_start(r, key, offset, len);
    if(rc == MFU_E_IO && r->status) {
      struct s3_req q;

      if(r->status == 416) { /* offset at or past the end: no bytes */
        r->len = 0;
        r->done = 1;
        r->status = 200;
        rc = MFU_OK;
      }
      else {
        memset(&q, 0, sizeof(q));
        q.status = r->status;
        q.resp = r->err;
        rc = s3_status_rc(&q, "GetObject");
        if(rc == MFU_OK)
          rc = MFU_E_IO;
      }
    }
  }
  if(rc) {
    reader_free(r);
    return rc;
  }
  *out = &r->base;
  return MFU_OK;
}

static int s3_read(struct mfu_store_reader *base, void *buf, size_t cap,
                   size_t *n)
{
  struct s3_reader *r = (struct s3_reader *)base;
  int rc;

  *n = 0;
  for(;;) {
    if(r->len) {
      size_t k = r->len < cap ? r->len : cap;

      memcpy(buf, r->buf + r->off, k);
      r->off += k;
      r->len -= k;
      if(!r->len)
        r->off = 0;
      *n = k;
      return MFU_OK;
    }
    if(r->done || !r->remaining) {
      if(r->done && r->result) {
        fprintf(stderr, "mfu: s3 GET %s: %s\n", r->url,
                curl_easy_strerror(r->result));
        return s3_curl_rc(r->result);
      }
      return MFU_OK;
    }
    rc = drive(r);
    if(rc)
      return rc;
  }
}

static void s3_reader_close(struct mfu_store_reader *base)
{
  reader_free((struct s3_reader *)base);
}

/* ---- listing ---- */

typedef int (*obj_fn)(void *cls, const char *key, uint64_t size,
                      time_t mtime);

static int list_page(const char *x, size_t len, obj_fn fn, void *cls)
{
  size_t pos = 0, b, e;
  int rc = 0;

  while(!rc && s3_xml_elem(x, len, &pos, "Contents", &b, &e)) {
    size_t p = b;
    char *key = NULL, *size = NULL, *mod = NULL;

    s3_xml_next(x, e, &p, "Key", &key);
    p = b;
    s3_xml_next(x, e, &p, "Size", &size);
    p = b;
    s3_xml_next(x, e, &p, "LastModified", &mod);
    if(key && size && mod)
      rc = fn(cls, key, strtoull(size, NULL, 10), s3_iso_time(mod));
    else
      rc = MFU_E_IO;
    free(key);
    free(size);
    free(mod);
  }
  return rc;
}

/* ListObjectsV2 of prefix, page by page (continuation tokens). */
static int list_objects(struct s3_store *s, const char *prefix, obj_fn fn,
                        void *cls)
{
  char *token = NULL;
  char *eprefix = s3_uri_encode(prefix);
  int rc = eprefix ? MFU_OK : MFU_E_NOMEM;

  while(!rc) {
    char *etok = token ? s3_uri_encode(token) : NULL;
    size_t qn = strlen(eprefix) + (etok ? strlen(etok) : 0) + 64;
    char *q = malloc(qn);
    struct s3_req r;
    char *more = NULL;
    size_t pos = 0;

    if(!q || (token && !etok)) {
      free(q);
      free(etok);
      rc = MFU_E_NOMEM;
      break;
    }
    /* the query is signed as written, so its names go in sorted order */
    snprintf(q, qn, "%s%s%slist-type=2&prefix=%s",
             etok ? "continuation-token=" : "", etok ? etok : "",
             etok ? "&" : "", eprefix);
    free(etok);
    rc = simple(s, &r, "GET", NULL, q);
    free(q);
    if(!rc)
      rc = s3_status_rc(&r, "ListObjectsV2");
    if(!rc)
      rc = list_page(r.resp.p, r.resp.len, fn, cls);
    free(token);
    token = NULL;
    if(!rc) {
      s3_xml_next(r.resp.p, r.resp.len, &pos, "IsTruncated", &more);
      pos = 0;
      if(more && !strcmp(more, "true") &&
         s3_xml_next(r.resp.p, r.resp.len, &pos, "NextContinuationToken",
                     &token))
        rc = MFU_E_IO;
    }
    s3_req_free(&r);
    if(!more || strcmp(more, "true")) {
      free(more);
      break;
    }
    free(more);
  }
  free(token);
  free(eprefix);
  return rc;
}

struct list_cls {
  int (*fn)(void *cls, const char *sha256_hex,
            const struct mfu_store_stat *st);
  void *cls;
};

static int on_blob(void *cls, const char *key, uint64_t size, time_t mtime)
{
  struct list_cls *l = cls;
  struct mfu_store_stat st = {size, mtime};
  const char *h = key + 13;
  size_t i;

  /* "sha256/ab/cd/<64 hex>" with ab and cd its first digits */
  if(strlen(key) != 77 || strncmp(key + 6, "/", 1) ||
     memcmp(key + 7, h, 2) || key[9] != '/' || memcmp(key + 10, h + 2, 2) ||
     key[12] != '/')
    return 0;
  for(i = 0; i < 64; i++) {
    if(!strchr("0123456789abcdef", h[i]))
      return 0;
  }
  return l->fn(l->cls, h, &st);
}

static int s3_list(struct mfu_store *base,
                   int (*fn)(void *cls, const char *sha256_hex,
                             const struct mfu_store_stat *st),
                   void *cls)
{
  struct list_cls l = {fn, cls};

  return list_objects((struct s3_store *)base, "sha256/", on_blob, &l);
}

/* ---- sweeping what a crash left in tmp/ ---- */

struct sweep {
  struct s3_store *s;
  time_t before;
  unsigned removed;
};

static int on_tmp_object(void *cls, const char *key, uint64_t size,
                         time_t mtime)
{
  struct sweep *sw = cls;

  (void)size;
  if(mtime >= 0 && mtime < sw->before && !delete_key(sw->s, key, NULL))
    sw->removed++;
  return 0;
}

static int sweep_uploads_page(struct sweep *sw, const struct s3_req *r)
{
  const char *x = r->resp.p;
  size_t pos = 0, b, e;

  while(s3_xml_elem(x, r->resp.len, &pos, "Upload", &b, &e)) {
    size_t p = b;
    char *key = NULL, *id = NULL, *at = NULL;

    s3_xml_next(x, e, &p, "Key", &key);
    p = b;
    s3_xml_next(x, e, &p, "UploadId", &id);
    p = b;
    s3_xml_next(x, e, &p, "Initiated", &at);
    if(key && id && at && !strncmp(key, "tmp/", 4) &&
       s3_iso_time(at) < sw->before && !abort_upload(sw->s, key, id))
      sw->removed++;
    free(key);
    free(id);
    free(at);
  }
  return MFU_OK;
}

/* ListMultipartUploads under tmp/, page by page (key and id markers). */
static int sweep_uploads(struct sweep *sw)
{
  char *km = NULL, *im = NULL;
  int rc = MFU_OK;

  for(;;) {
    char *ekm = km ? s3_uri_encode(km) : NULL;
    char *eim = im ? s3_uri_encode(im) : NULL;
    size_t qn = (ekm ? strlen(ekm) : 0) + (eim ? strlen(eim) : 0) + 80;
    char *q = malloc(qn);
    char *more = NULL;
    struct s3_req r;
    size_t pos = 0;

    if(q && ekm && eim)
      snprintf(q, qn, "key-marker=%s&prefix=tmp%%2F&upload-id-marker=%s"
               "&uploads=", ekm, eim);
    else if(q)
      snprintf(q, qn, "prefix=tmp%%2F&uploads=");
    free(ekm);
    free(eim);
    free(km);
    free(im);
    km = im = NULL;
    if(!q)
      return MFU_E_NOMEM;
    rc = simple(sw->s, &r, "GET", NULL, q);
    free(q);
    if(!rc)
      rc = s3_status_rc(&r, "ListMultipartUploads");
    if(!rc)
      rc = sweep_uploads_page(sw, &r);
    if(!rc)
      s3_xml_next(r.resp.p, r.resp.len, &pos, "IsTruncated", &more);
    if(more && !strcmp(more, "true")) {
      pos = 0;
      s3_xml_next(r.resp.p, r.resp.len, &pos, "NextKeyMarker", &km);
      pos = 0;
      s3_xml_next(r.resp.p, r.resp.len, &pos, "NextUploadIdMarker", &im);
    }
    free(more);
    s3_req_free(&r);
    if(rc || !km || !im)
      break;
  }
  free(km);
  free(im);
  return rc;
}

static int s3_sweep_tmp(struct mfu_store *base, time_t max_age,
                        unsigned *removed)
{
  struct sweep sw = {(struct s3_store *)base, time(NULL) - max_age, 0};
  int rc = sweep_uploads(&sw);

  if(!rc)
    rc = list_objects(sw.s, "tmp/", on_tmp_object, &sw);
  *removed = sw.removed;
  return rc;
}

/* No batches: an object PUT is durable when it answers. */
static const struct store_ops s3_ops = {
  .close = s3_close,
  .ping = s3_ping,
  .put_begin = s3_put_begin,
  .put_write = s3_put_write,
  .put_commit = s3_put_commit,
  .put_abort = s3_put_abort,
  .stat = s3_stat,
  .read_open = s3_read_open,
  .read = s3_read,
  .reader_close = s3_reader_close,
  .del = s3_del,
  .list = s3_list,
  .sweep_tmp = s3_sweep_tmp,
};
