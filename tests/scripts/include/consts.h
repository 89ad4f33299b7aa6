/* Headers of the includes.test cases: a guard, a nested include, #if. */
#ifndef BPFSH_TEST_CONSTS_H
#define BPFSH_TEST_CONSTS_H
#include <sub/base.h>
#if BASE_VALUE > 100 && defined(__x86_64__) || defined(__aarch64__) || defined(__riscv)
#define FROM_IF (BASE_VALUE * 2)
#else
#define FROM_IF -1
#endif
#define SHIFTED (1 << BASE_SHIFT)
enum test_level { LEVEL_LOW = 10, LEVEL_MID, LEVEL_HIGH = LEVEL_MID + BASE_SHIFT };
#endif
