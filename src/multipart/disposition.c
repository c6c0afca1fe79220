/*
 * disposition.c - the Content-Disposition header of a form-data part
 * (RFC 7578 section 4.2) and the lexical pieces it is made of.
 *
 * What clients send, and so what is accepted:
 *   - Python requests (urllib3 1.26) and curl put raw UTF-8 inside the
 *     quotes of filename="..."; it is delivered unchanged.
 *   - Chromium and Firefox write '"' as %22 and CR/LF as %0D%0A (the HTML
 *     form encoding algorithm).  That is NOT undone: RFC 7578 section 4.2
 *     leaves it to the receiver and decoding would turn a literal "%22" in
 *     a filename into a quote.  Backslash escapes are undone, as RFC 7230
 *     quoted-string says.
 *   - filename*=UTF-8''%E6%B8%85 (RFC 5987 / RFC 8187) is percent-decoded
 *     and wins over filename=; another charset, bad percent-encoding,
 *     invalid UTF-8 or a NUL is MFU_E_MP_ENCODING.
 *   - A parameter given twice is refused: two parsers that pick different
 *     copies see different files (request smuggling).
 */
#include "mp_impl.h"

#include <string.h>

#include "mfu_err.h"

#define NONE ((size_t)-1)

int mfu_mp_is_tchar(unsigned char c)
{
  if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
     (c >= '0' && c <= '9'))
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int mfu_mp_ieq(const char *s, size_t n, const char *lit)
{
  size_t i;
  for(i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c >= 'A' && c <= 'Z')
      c = (unsigned char)(c + 32);
    if(!lit[i] || c != (unsigned char)lit[i])
      return 0;
  }
  return lit[n] == '\0';
}

/* RFC 7230 section 3.2.6: qdtext and quoted-pair allow HTAB, SP, VCHAR and
 * obs-text, i.e. everything but the other controls and DEL. */
static int is_qchar(unsigned char c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int mfu_mp_unquote(const char *s, size_t n, char *out, size_t out_cap,
                   size_t *used, size_t *out_len)
{
  size_t i = 1, o = 0;

  if(!n || s[0] != '"')
    return -1;
  while(i < n) {
    unsigned char c = (unsigned char)s[i];
    if(c == '"') {
      *used = i + 1;
      *out_len = o;
      return 0;
    }
    if(c == '\\') {
      if(++i >= n)
        return -1;
      c = (unsigned char)s[i];
    }
    if(!is_qchar(c) || o >= out_cap)
      return -1;
    out[o++] = (char)c;
    i++;
  }
  return -1;
}

static int hexval(unsigned char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* RFC 3629 section 4, without overlongs, surrogates or > U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n)
{
  size_t i = 0;
  while(i < n) {
    unsigned char c = s[i];
    size_t k, need;
    unsigned lo = 0x80, hi = 0xbf;
    if(c < 0x80) {
      i++;
      continue;
    }
    if(c >= 0xc2 && c <= 0xdf)
      need = 1;
    else if(c >= 0xe0 && c <= 0xef) {
      need = 2;
      if(c == 0xe0)
        lo = 0xa0;
      else if(c == 0xed)
        hi = 0x9f;
    }
    else if(c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if(c == 0xf0)
        lo = 0x90;
      else if(c == 0xf4)
        hi = 0x8f;
    }
    else
      return 0;
    if(n - i <= need)
      return 0;
    for(k = 1; k <= need; k++) {
      unsigned char d = s[i + k];
      if(d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xbf))
        return 0;
    }
    i += need + 1;
  }
  return 1;
}

/* RFC 5987 section 3.2.1 attr-char. */
static int is_attr_char(unsigned char c)
{
  return mfu_mp_is_tchar(c) && c != '*' && c != '\'' && c != '%';
}

/*
 * RFC 5987 ext-value: charset "'" [ language ] "'" value-chars, decoded in
 * place to v[0..*out_len).  Only UTF-8 is taken: RFC 8187 section 3.2.1
 * requires recipients to support it, ISO-8859-1 is legacy no client sends
 * for uploads, and anything else would need a conversion table.
 */
static int ext_value(char *v, size_t n, size_t *out_len)
{
  const char *q1 = memchr(v, '\'', n);
  const char *q2;
  size_t i, o = 0;

  if(!q1 || !mfu_mp_ieq(v, (size_t)(q1 - v), "utf-8"))
    return -1;
  q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - v));
  if(!q2)
    return -1;
  for(i = (size_t)(q2 + 1 - v); i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if(c == '%') {
      int h, l;
      if(n - i < 3)
        return -1;
      h = hexval((unsigned char)v[i + 1]);
      l = hexval((unsigned char)v[i + 2]);
      if(h < 0 || l < 0 || (h == 0 && l == 0))
        return -1;
      c = (unsigned char)(h * 16 + l);
      i += 2;
    }
    else if(!is_attr_char(c))
      return -1;
    v[o++] = (char)c;
  }
  if(!valid_utf8((const unsigned char *)v, o))
    return -1;
  *out_len = o;
  return 0;
}

static size_t skip_ows(const char *v, size_t i, size_t n)
{
  while(i < n && (v[i] == ' ' || v[i] == '\t'))
    i++;
  return i;
}

static size_t token_end(const char *v, size_t i, size_t n)
{
  while(i < n && mfu_mp_is_tchar((unsigned char)v[i]))
    i++;
  return i;
}

enum { P_NAME, P_FILENAME, P_FILENAME_EXT, P_OTHER };

static int param_kind(const char *s, size_t n)
{
  if(mfu_mp_ieq(s, n, "name"))
    return P_NAME;
  if(mfu_mp_ieq(s, n, "filename"))
    return P_FILENAME;
  if(mfu_mp_ieq(s, n, "filename*"))
    return P_FILENAME_EXT;
  return P_OTHER;
}

#define FAIL(code, text)                        \
  do {                                          \
    *msg = (text);                              \
    return (code);                              \
  } while(0)

int mfu_mp_disposition(char *v, size_t n, struct mfu_mp_disposition *d,
                       const char **msg)
{
  size_t i = token_end(v, 0, n);
  size_t ext_off = NONE, ext_len = 0;
  unsigned seen = 0;

  d->name_off = d->fname_off = NONE;
  d->name_len = d->fname_len = 0;
  if(!mfu_mp_ieq(v, i, "form-data"))
    FAIL(MFU_E_MP_DISPOSITION, "Content-Disposition is not form-data");
  for(;;) {
    size_t k, kend, voff, vlen, used;
    int kind;

    i = skip_ows(v, i, n);
    if(i == n)
      break;
    if(v[i] != ';')
      FAIL(MFU_E_MP_DISPOSITION, "Content-Disposition: ';' expected");
    i = skip_ows(v, i + 1, n);
    if(i == n)
      break;              /* a trailing ';' harms no one */
    k = i;
    kend = token_end(v, k, n);
    if(kend == k || kend == n || v[kend] != '=')
      FAIL(MFU_E_MP_DISPOSITION, "Content-Disposition: bad parameter");
    kind = param_kind(v + k, kend - k);
    if(kind != P_OTHER) {
      if(seen & (1u << kind))
        FAIL(MFU_E_MP_DISPOSITION,
             "Content-Disposition: duplicate parameter");
      seen |= 1u << kind;
    }
    i = kend + 1;
    if(i < n && v[i] == '"') {
      if(kind == P_FILENAME_EXT)
        FAIL(MFU_E_MP_ENCODING, "filename* must not be quoted");
      if(mfu_mp_unquote(v + i, n - i, v + i + 1, n - i, &used, &vlen))
        FAIL(MFU_E_MP_ENCODING, "Content-Disposition: bad quoted string");
      voff = i + 1;
      i += used;
    }
    else {
      voff = i;
      i = token_end(v, i, n);
      vlen = i - voff;
      if(!vlen)
        FAIL(MFU_E_MP_DISPOSITION, "Content-Disposition: empty value");
    }
    if(kind == P_NAME) {
      d->name_off = voff;
      d->name_len = vlen;
    }
    else if(kind == P_FILENAME) {
      d->fname_off = voff;
      d->fname_len = vlen;
    }
    else if(kind == P_FILENAME_EXT) {
      if(ext_value(v + voff, vlen, &vlen))
        FAIL(MFU_E_MP_ENCODING, "bad RFC 5987 filename*");
      ext_off = voff;
      ext_len = vlen;
    }
  }
  if(ext_off != NONE) {
    d->fname_off = ext_off;
    d->fname_len = ext_len;
  }
  return 0;
}
