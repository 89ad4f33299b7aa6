// throw: throws and catches N exceptions (default 3), which fires
// libstdc++'s USDT probes libstdcxx:throw and libstdcxx:catch
// (tests/runtime/usdt.test). Built by testprogs/build.sh into
// /tmp/bpfsh_throw when g++ is there.
#include <cstdlib>
#include <stdexcept>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	for (int i = 0; i < n; i++) {
		try {
			throw std::runtime_error("x");
		} catch (std::exception &) {
		}
	}
	return 0;
}
