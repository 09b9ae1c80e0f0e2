/* bench/sizeof.c - compiled (never linked) by bench/size.sh for each target:
 * `nm -S` on the object gives the sizes of the public structs as the sizes
 * of these arrays, so no target program has to run. */
#include "../smtp.h"

char smtp_sizeof_session[sizeof(struct smtp_session)];
char smtp_sizeof_event[sizeof(union smtp_event)];
char smtp_sizeof_config[sizeof(struct smtp_config)];
#ifndef SMTP_NO_CLIENT
char smtp_sizeof_client[sizeof(struct smtp_client)];
#endif
