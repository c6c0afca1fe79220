/*
 * mfu_names.h - what a client's filename becomes: the seed's duration
 * prefix, a display name that is safe to show and to send back, and the
 * extension used in file URLs.  Pure functions over bytes, fuzzed.
 */
#ifndef MFU_NAMES_H
#define MFU_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "mfu_err.h"

/* Display names are capped at this many bytes (a UTF-8 boundary is kept). */
#define MFU_NAME_MAX 255

/*
 * The seed's duration prefix: 1 to 9 ASCII digits then '_' ("234_x.mp3").
 * On a match sets *duration and *rest_off (offset of the name after '_')
 * and returns 1; otherwise returns 0 and the whole filename is the name.
 * A prefix that leaves an empty name ("12_") is not a prefix.
 */
int mfu_name_duration(const char *name, size_t len, int64_t *duration,
                      size_t *rest_off);

/*
 * Clean a client filename for display: keep the last path component
 * (after '/' or '\\'), drop C0/C1 controls, DEL, NUL and the bidi
 * override/isolate characters (U+202A-U+202E, U+2066-U+2069), trim spaces
 * and dots at both ends, cap at MFU_NAME_MAX bytes.  out has room for
 * MFU_NAME_MAX + 1 bytes.  Returns MFU_OK, MFU_E_TEXT_UTF8 if name is not
 * UTF-8, or MFU_E_FILENAME if nothing is left.
 */
int mfu_name_clean(const char *name, size_t len, char *out);

/*
 * The extension of a cleaned name for URLs: "." and 1 to 10 ASCII
 * letters/digits, lower-cased ("x.PNG" -> ".png"); "" when there is none.
 * out has room for 12 bytes.
 */
void mfu_name_ext(const char *name, char *out);

#endif
