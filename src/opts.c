/*
 * opts.c: reading a caller's options struct across versions.
 *
 * Options structs start with `size_t size`, set by the caller to sizeof the
 * struct it was compiled with.  An older caller's shorter struct gets zero
 * (the default) for the fields it lacks; a newer caller's longer struct is
 * accepted when every byte we don't know is zero, and refused with -E2BIG
 * otherwise, so a request for something this version can't do never
 * passes silently (the rule of openat2's struct open_how).
 */
#include <errno.h>
#include <string.h>

#include "coop-private.h"

int coop__opts_copy(void *ours, size_t ours_size, const void *theirs)
{
	size_t size;
	const unsigned char *extra;

	memcpy(&size, theirs, sizeof(size));
	if (size < sizeof(size_t))
		return -EINVAL;
	memset(ours, 0, ours_size);
	if (size > ours_size) {
		for (extra = (const unsigned char *)theirs + ours_size;
		     extra < (const unsigned char *)theirs + size; extra++)
			if (*extra)
				return -E2BIG;
		size = ours_size;
	}
	memcpy(ours, theirs, size);
	return 0;
}
