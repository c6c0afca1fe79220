/*
 * mfu_range.h - the Range request header (RFC 9110 section 14.2), the one
 * form mfud serves: a single byte range.
 */
#ifndef MFU_RANGE_H
#define MFU_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "mfu_err.h"

/*
 * Parse a Range header value against a representation of size bytes.
 * Returns 1 and sets [*start, *start + *len) for one satisfiable range
 * ("bytes=0-99", "bytes=100-", "bytes=-100"); 0 when the header is to be
 * ignored and the whole representation served (another unit, several
 * ranges, or a syntax error, as RFC 9110 allows); MFU_E_RANGE (416) when
 * the one range lies wholly past the end.
 */
int mfu_range_parse(const char *value, size_t len, uint64_t size,
                    uint64_t *start, uint64_t *out_len);

#endif
