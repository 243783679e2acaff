/* version.c: the version of the library actually loaded, which may be newer
 * than the headers a program was compiled with (COOP_VERSION_*). */
#include "coop-private.h"

COOP_EXPORT const char *coop_version(void)
{
	return COOP_VERSION_STRING;
}
