package runtime

import (
	"io"
	"os/user"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
)

// taiOffset is CLOCK_TAI minus CLOCK_BOOTTIME in nanoseconds, for
// nsecs(sw_tai): the boot clock read in BPF plus this offset.
func taiOffset() int64 {
	var tai, boot unix.Timespec
	unix.ClockGettime(unix.CLOCK_TAI, &tai)
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot)
	return tai.Nano() - boot.Nano()
}

var usernames sync.Map // uid → name

// username is the name of user uid (from /etc/passwd), or the number when
// it has none.
func username(uid uint64) string {
	if n, ok := usernames.Load(uid); ok {
		return n.(string)
	}
	id := strconv.FormatUint(uid, 10)
	name := id
	if u, err := user.LookupId(id); err == nil {
		name = u.Username
	}
	usernames.Store(uid, name)
	return name
}

// diagf prints an errorf()/warnf() message to stderr, positioned at its
// call: the header, the message, then the source line underlined.
func (r *run) diagf(pf *compiler.Printf, text string) {
	if pf.Kind == compiler.EventWarnf && r.opts.NoWarnings {
		return
	}
	r.out.Flush()
	io.WriteString(r.opts.Err, pf.Prefix+strings.TrimSuffix(text, "\n")+"\n"+pf.Context)
}
