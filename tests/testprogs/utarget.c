// utarget: a small program for bpfsh's uprobe tests (tests/runtime/uprobe.test).
// Built by testprogs/build.sh into /tmp/bpfsh_utarget. Every traced function
// is noinline and has a side effect, so each call in main is a real call.
//
// Usage: bpfsh_utarget [N [NAME]]   call the functions N times (default 1);
//                                   prints nothing
//        bpfsh_utarget loop          call them every 10 ms until killed
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline, noclone, used)) int ut_add(int a, int b)
{
	sink += a;
	return a + b;
}

__attribute__((noinline, noclone, used)) long ut_six(long a, long b, long c, long d, long e, long f)
{
	sink += a;
	return a + b + c + d + e + f;
}

__attribute__((noinline, noclone, used)) const char *ut_greet(const char *name)
{
	sink += name[0];
	return name;
}

__attribute__((noinline, noclone, used)) int ut_neg(int x)
{
	sink += x;
	return -x;
}

__attribute__((noinline, noclone, used)) void ut_leaf(void)
{
	sink++;
}

__attribute__((noinline, noclone, used)) void ut_caller(void)
{
	ut_leaf();
	sink++;
}

__attribute__((noinline, noclone, used)) void ut_call(void (*fn)(void))
{
	fn();
}

static void once(int i, const char *name)
{
	sink += ut_add(i, 10);
	sink += ut_six(1, 2, 3, 4, 5, 6);
	sink += ut_greet(name)[0];
	sink += ut_neg(i + 1);
	ut_caller();
	ut_call(ut_leaf);
}

int main(int argc, char **argv)
{
	const char *name = argc > 2 ? argv[2] : "world";
	if (argc > 1 && strcmp(argv[1], "loop") == 0) {
		for (int i = 0;; i++) {
			once(i, name);
			usleep(10000);
		}
	}
	int n = argc > 1 ? atoi(argv[1]) : 1;
	for (int i = 0; i < n; i++)
		once(i, name);
	return 0;
}
