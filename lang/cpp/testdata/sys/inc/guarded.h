/* A guarded header: read twice, defined once. */
#ifndef _GUARDED_H
#define _GUARDED_H 1
#include <sub/nested.h>
#define GUARD_COUNT (NESTED_BASE + 1)
#endif /* _GUARDED_H */
#define AFTER_GUARD 7
