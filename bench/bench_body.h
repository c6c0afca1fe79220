/*
 * bench_body.h - the benchmark bodies, byte for byte the same as
 * bench/go/main.go builds (xorshift64* from a fixed seed), so mfu and Go's
 * mime/multipart parse identical input without a 1 GiB file.
 */
#ifndef MFU_BENCH_BODY_H
#define MFU_BENCH_BODY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_BOUNDARY "----mfuBenchBoundary7MA4YWxkTrZu0gW"

struct body {
  unsigned char *data;
  size_t len;
  size_t payload;        /* bytes of part data */
  size_t nparts;
  uint64_t sum;          /* checksum compared with the Go side */
};

static uint64_t rnd(uint64_t *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}

static void fill(unsigned char *p, size_t n, uint64_t *s)
{
  size_t i;
  for(i = 0; i + 8 <= n; i += 8) {
    uint64_t r = rnd(s);
    memcpy(p + i, &r, 8);  /* little-endian, as Go's PutUint64 below */
  }
  for(; i < n; i++)
    p[i] = (unsigned char)rnd(s);
}

static size_t put_head(unsigned char *p, size_t i)
{
  return (size_t)sprintf((char *)p,
                         "--" BENCH_BOUNDARY "\r\nContent-Disposition: "
                         "form-data; name=\"f\"; filename=\"f%05zu.bin\""
                         "\r\nContent-Type: application/octet-stream\r\n"
                         "\r\n", i);
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
  uint64_t h = n;
  size_t i;
  for(i = 0; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  for(; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

static void body_build(struct body *b, size_t nparts, size_t size)
{
  static const char close[] = "--" BENCH_BOUNDARY "--\r\n";
  size_t cap = nparts * (size + 256) + 256, i, at = 0;
  uint64_t s = 0x9E3779B97F4A7C15ULL;

  b->data = malloc(cap);
  if(!b->data)
    abort();
  for(i = 0; i < nparts; i++) {
    at += put_head(b->data + at, i);
    fill(b->data + at, size, &s);
    at += size;
    memcpy(b->data + at, "\r\n", 2);
    at += 2;
  }
  memcpy(b->data + at, close, sizeof(close) - 1);
  at += sizeof(close) - 1;
  b->len = at;
  b->payload = nparts * size;
  b->nparts = nparts;
  b->sum = checksum(b->data, b->len);
}

static void body_big(struct body *b, size_t size)
{
  body_build(b, 1, size);
}

static void body_parts(struct body *b, size_t nparts, size_t size)
{
  body_build(b, nparts, size);
}

#endif
