// usdt: a small program with USDT probes for bpfsh's usdt tests
// (tests/runtime/usdt.test). Built by testprogs/build.sh into
// /tmp/bpfsh_usdt. The probes are written with inline asm, the way
// <sys/sdt.h> does, so the build does not need systemtap's headers: a nop
// at the probe site and a .note.stapsdt note (pc, base, semaphore,
// provider, name, argument spec) that points at it.
//
// Probes: bpfsh_test:args(u8 c, s8 sc, s32 i, u32 u, s64 l, const char *s)
//         bpfsh_test:consts(8@$42, -4@$-7), bpfsh_test:mem(s32 3*i, on the
//         stack), bpfsh_test:twice(s32 i+100) then twice(s32 -1) (one probe,
//         two locations), bpfsh_test:"quoted" (a name with quotes,
//         4@$7), all per iteration, and
//         bpfsh_test:guarded(s32 i), which has a semaphore: the program
//         fires it only while a tracer has enabled it (and then prints
//         "enabled" once).
//
// Usage: bpfsh_usdt [N [NAME]]   fire the probes N times (default 1)
//        bpfsh_usdt loop [NAME]  fire them every 10 ms until killed
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SDT_NOTE(prov, name, sem, args)                                   \
	"990: nop\n"                                                          \
	".pushsection .note.stapsdt,\"\",\"note\"\n"                          \
	".balign 4\n"                                                         \
	".4byte 992f-991f, 994f-993f, 3\n"                                    \
	"991: .asciz \"stapsdt\"\n"                                           \
	"992: .balign 4\n"                                                    \
	"993: .8byte 990b\n"                                                  \
	".8byte _.stapsdt.base\n"                                             \
	".8byte " sem "\n"                                                    \
	".asciz \"" prov "\"\n"                                               \
	".asciz \"" name "\"\n"                                               \
	".asciz \"" args "\"\n"                                               \
	"994: .balign 4\n"                                                    \
	".popsection\n"                                                       \
	".ifndef _.stapsdt.base\n"                                            \
	".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
	".weak _.stapsdt.base\n"                                              \
	".hidden _.stapsdt.base\n"                                            \
	"_.stapsdt.base: .space 1\n"                                          \
	".size _.stapsdt.base, 1\n"                                           \
	".popsection\n"                                                       \
	".endif\n"

// The semaphore the kernel increments while a uprobe with ref_ctr_offset
// is attached at the guarded probe.
__attribute__((section(".probes"), used)) volatile unsigned short bpfsh_test_guarded_semaphore;

volatile long sink;

__attribute__((noinline)) static void fire(int i, const char *name)
{
	unsigned char c = 200 + i;
	signed char sc = -3 - i;
	int n = -100 - i;
	unsigned int u = 4000000000u + i;
	long l = -5000000000L - i;
	__asm__ __volatile__(SDT_NOTE("bpfsh_test", "args", "0",
				      "1@%[a1] -1@%[a2] -4@%[a3] 4@%[a4] -8@%[a5] 8@%[a6]")
			     :
			     : [a1] "nor"(c), [a2] "nor"(sc), [a3] "nor"(n), [a4] "nor"(u),
			       [a5] "nor"(l), [a6] "nor"(name));
	__asm__ __volatile__(SDT_NOTE("bpfsh_test", "consts", "0", "8@%[a1] -4@%[a2]")
			     :
			     : [a1] "n"(42), [a2] "n"(-7));
	// A memory operand: the argument is read from the stack.
	volatile int onstack = i * 3;
	__asm__ __volatile__(SDT_NOTE("bpfsh_test", "mem", "0", "-4@%[a1]")
			     :
			     : [a1] "m"(onstack));
	if (bpfsh_test_guarded_semaphore) {
		__asm__ __volatile__(SDT_NOTE("bpfsh_test", "guarded", "bpfsh_test_guarded_semaphore",
					      "-4@%[a1]")
				     :
				     : [a1] "nor"(i));
	}
	sink += c + sc + n + u + l;
}

// bpfsh_test:twice has two locations whose arguments live in different
// places: a register in one, a constant in the other.
__attribute__((noinline)) static void twice(int i)
{
	__asm__ __volatile__(SDT_NOTE("bpfsh_test", "twice", "0", "-4@%[a1]") : : [a1] "r"(i + 100));
	__asm__ __volatile__(SDT_NOTE("bpfsh_test", "twice", "0", "-4@%[a1]") : : [a1] "n"(-1));
	// A name with quotes in it, as DTRACE_PROBE(p, "name") makes.
	__asm__ __volatile__(SDT_NOTE("bpfsh_test", "\\\"quoted\\\"", "0", "-4@%[a1]") : : [a1] "n"(7));
}

int main(int argc, char **argv)
{
	const char *name = argc > 2 ? argv[2] : "world";
	if (argc > 1 && strcmp(argv[1], "loop") == 0) {
		for (int i = 0;; i++) {
			fire(i, name);
			twice(i);
			usleep(10000);
		}
	}
	int n = argc > 1 ? atoi(argv[1]) : 1;
	int enabled = 0;
	for (int i = 0; i < n; i++) {
		if (bpfsh_test_guarded_semaphore && !enabled) {
			enabled = 1;
			printf("enabled\n");
			fflush(stdout);
		}
		fire(i, name);
		twice(i);
	}
	return 0;
}
