/*
 * mfu_util.h - small helpers that several parts need: ObjectIds, UTF-8
 * validation, sizes with units.
 */
#ifndef MFU_UTIL_H
#define MFU_UTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mfu_err.h"

/*
 * ObjectId generator, as BSON's: 4 bytes of Unix seconds (big-endian, so
 * ids sort by time), 5 random bytes chosen once per generator, and a 3-byte
 * counter that starts at a random value.  One per server; thread-safe.
 */
struct mfu_oid_gen {
  unsigned char rnd[5];
  atomic_uint_fast32_t counter;
};

/* Seed g from the kernel's random source.  MFU_OK or MFU_E_IO. */
int mfu_oid_gen_init(struct mfu_oid_gen *g);

/* Write a new 24-hex id and a NUL into out (25 bytes); at = Unix seconds. */
void mfu_oid_next(struct mfu_oid_gen *g, int64_t at, char *out);

/* Write the n bytes at p as 2n lower-case hex digits and a NUL. */
void mfu_hex(const unsigned char *p, size_t n, char *out);

/* 1 if s is exactly 24 lower-case hex digits, else 0. */
int mfu_oid_valid(const char *s, size_t len);

/* 1 if s is exactly 64 lower-case hex digits, else 0. */
int mfu_sha256_hex_valid(const char *s, size_t len);

/*
 * 1 if [s, s+len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), else 0.  NUL bytes are allowed here;
 * callers that build C strings reject them separately.
 */
int mfu_utf8_valid(const char *s, size_t len);

/*
 * Parse a byte count: digits with an optional unit K, M, G, T (powers of
 * 1024; "KiB", "MB" and lower case accepted alike).  MFU_OK or MFU_E_INVAL
 * (empty, junk, overflow).
 */
int mfu_size_parse(const char *s, uint64_t *out);

#endif
