#pragma once
#include <does/not/exist.h> /* what a header includes need not be here */
#define NESTED_BASE 0x10
#define LONG_MACRO (NESTED_BASE \
	<< 4)
// a comment with an apostrophe: don't
#define WITH_COMMENT 3 /* trailing
comment over lines */
#define FN_LIKE(x) ((x) + 1)
#define USES_FN FN_LIKE(2)
#define SELF SELF
#define LOOP_A LOOP_B
#define LOOP_B LOOP_A
#define STRINGY "not an integer"
#define CHARS ('A' + '\n')
#define CAST ((unsigned int)-1)
#define SUFFIXED 10UL
#define OCTAL 0755
#define TERNARY (NESTED_BASE > 8 ? 1 : 2)
