#ifndef BPFSH_TEST_BASE_H
#define BPFSH_TEST_BASE_H
#define BASE_VALUE 0x80
#define BASE_SHIFT 3
#define BASE_FN(x) ((x) * BASE_VALUE)
#endif
