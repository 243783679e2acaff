/*
 * die.c: the one way coop reports misuse it cannot return as an error:
 * one line on stderr naming the call, then abort() (a core dump for the
 * debugger, like musl's deliberate crashes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "coop-private.h"

void coop__die(const char *call, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "coop: %s: ", call);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write, so the line is not interleaved with other output. */
	fprintf(stderr, "%s\n", line);
	abort();
}
