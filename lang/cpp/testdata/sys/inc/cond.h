#if defined(NESTED_BASE) && NESTED_BASE == 16
#define IF_TAKEN 1
#elif 1
#define ELIF_WRONG 1
#else
#define ELSE_WRONG 1
#endif
#if UNKNOWN_NAME
#define UNKNOWN_IS_TRUE 1
#elif !defined UNKNOWN_NAME && FN_LIKE(1)
#define FN_CALL_IS_TRUE 1
#else
#define UNKNOWN_IS_ZERO 1
#endif
#ifdef NESTED_BASE
# if 0
#  define NESTED_INACTIVE 1
# else
#  define NESTED_ACTIVE (2 * 3 % 4)
# endif
#endif
#if 0
#include <sub/never.h>
#endif
#ifndef NESTED_BASE
#error "unreached"
#endif
#if (1 << 3) >= 8 && (7 & 3) == 3 && (8 | 1) == 9 && (6 ^ 3) == 5 && -1 < 0 && ~0 == -1 && 10 / 3 == 3
#define ARITH_OK 1
#endif
#undef AFTER_GUARD
enum color { RED, GREEN = 5, BLUE,
# define BLUE BLUE
	CYAN = NESTED_BASE + 1 };
typedef enum { E_ONE = 1 << 0, E_TWO = 1 << 1 } flags_t;
