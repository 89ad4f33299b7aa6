package runtime

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
)

// formatPrintf renders one printf record (after its id) the way C's printf
// would, with bpftrace's conventions for strings and tuples.
func (d *decoder) formatPrintf(pf *compiler.Printf, rec []byte) string {
	var b strings.Builder
	text := func(s string) { b.WriteString(strings.ReplaceAll(s, "%%", "%")) }
	compiler.WalkFormat(pf.Format, pf.Verbs, text, func(arg int, v compiler.Verb) {
		if arg >= len(pf.Args) {
			b.WriteString(v.Spec)
			return
		}
		t, off := pf.Args[arg], pf.Offs[arg]
		b.WriteString(d.formatVerb(v, t, rec[off:off+t.MemSize()]))
	})
	return b.String()
}

// goSpec turns a C conversion into Go's: length modifiers go, the verb maps.
func goSpec(spec string, verb byte) string {
	body := strings.TrimRight(spec[1:len(spec)-1], "hlzjtL")
	return "%" + body + string(verb)
}

func (d *decoder) formatVerb(v compiler.Verb, t *compiler.Type, data []byte) string {
	switch t.Kind {
	case compiler.KString:
		s := cString(data)
		if v.Conv == 'r' {
			return rawMode(v.Spec, []byte(s))
		}
		if v.Conv != 's' {
			return s
		}
		return fmt.Sprintf(goSpec(v.Spec, 's'), s)
	case compiler.KBuf:
		if v.Conv == 'r' {
			return rawMode(v.Spec, bufBytes(t, data))
		}
		return fmt.Sprintf(goSpec(v.Spec, 's'), d.formatValue(t, data))
	case compiler.KTuple, compiler.KInet, compiler.KStack, compiler.KSym, compiler.KArray:
		return fmt.Sprintf(goSpec(v.Spec, 's'), d.formatValue(t, data))
	}
	if t.Format != compiler.FormatPlain && (v.Conv == 's' || v.Conv == 'd') {
		return fmt.Sprintf(goSpec(v.Spec, 's'), d.formatValue(t, data))
	}
	if v.Conv == 'g' {
		// %gr: the flags by name, padded as %s would be.
		var b [8]byte
		copy(b[:], data)
		body := strings.TrimRight(v.Spec[1:len(v.Spec)-2], "hlzjtL")
		return fmt.Sprintf("%"+body+"s", gfpFlags(binary.LittleEndian.Uint64(b[:])))
	}
	u := binary.LittleEndian.Uint64(data)
	// C semantics, as bpftrace: without a length modifier an integer
	// conversion reads an int (32 bits); h is 16, hh 8, l/ll/z/j/t 64.
	bits := 32
	mods := strings.TrimLeft(v.Spec[1:len(v.Spec)-1], "-+ #0123456789.")
	switch {
	case strings.ContainsAny(mods, "lzjtL"):
		bits = 64
	case mods == "hh":
		bits = 8
	case mods == "h":
		bits = 16
	}
	if bits < 64 {
		u &= 1<<bits - 1
	}
	signed := int64(u)
	if bits < 64 && u&(1<<(bits-1)) != 0 {
		signed = int64(u) - 1<<bits
	}
	switch v.Conv {
	case 'd', 'i':
		return fmt.Sprintf(goSpec(v.Spec, 'd'), signed)
	case 'u':
		return fmt.Sprintf(goSpec(v.Spec, 'd'), u)
	case 'x', 'X', 'o':
		return fmt.Sprintf(goSpec(v.Spec, v.Conv), u)
	case 'c':
		return fmt.Sprintf(goSpec(v.Spec, 'c'), rune(byte(u)))
	case 'p':
		return fmt.Sprintf("0x%x", binary.LittleEndian.Uint64(data))
	case 's':
		return fmt.Sprintf(goSpec(v.Spec, 's'), d.formatValue(t, data))
	}
	return strconv.FormatUint(u, 10)
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// rawBuf renders bytes as %r does: printable ASCII as is, the rest \xNN.
func rawBuf(b []byte) string {
	var out strings.Builder
	for _, c := range b {
		if c >= 32 && c < 127 {
			out.WriteByte(c)
		} else {
			fmt.Fprintf(&out, "\\x%02x", c)
		}
	}
	return out.String()
}

// rawMode renders bytes for %r, %rx (every byte \xNN) or %rh (hex bytes
// separated by spaces).
func rawMode(spec string, b []byte) string {
	var out strings.Builder
	switch spec[len(spec)-1] {
	case 'x':
		for _, c := range b {
			fmt.Fprintf(&out, "\\x%02x", c)
		}
	case 'h':
		for i, c := range b {
			if i > 0 {
				out.WriteByte(' ')
			}
			fmt.Fprintf(&out, "%02x", c)
		}
	default:
		return rawBuf(b)
	}
	return out.String()
}

// bufBytes is the data of a buf() value: its length, then the bytes.
func bufBytes(t *compiler.Type, data []byte) []byte {
	n := binary.LittleEndian.Uint64(data)
	return data[8 : 8+min(n, uint64(t.Size))]
}

// formatJoin renders a join() record (after its id): the strings joined by
// the delimiter.
func formatJoin(pf *compiler.Printf, rec []byte) string {
	n := min(binary.LittleEndian.Uint64(rec[8:]), uint64((pf.Size-16)/((pf.ArgLen+7)&^7)))
	parts := make([]string, n)
	for i := range parts {
		off := 16 + i*((pf.ArgLen+7)&^7)
		parts[i] = cString(rec[off : off+pf.ArgLen])
	}
	return strings.Join(parts, pf.Format)
}

// formatValue renders a value of type t the way bpftrace prints map keys and values.
func (d *decoder) formatValue(t *compiler.Type, data []byte) string {
	return textValue(d.decode(t, data))
}

// arrayElems renders each element of an array with f, widened to the
// 8 bytes the integer formatters read.
func arrayElems[T any](t *compiler.Type, data []byte, f func(*compiler.Type, []byte) T) []T {
	et := t.Elem
	var out []T
	for off := 0; off+et.Size <= t.Size && off+et.Size <= len(data); off += et.Size {
		var v uint64
		for i := et.Size - 1; i >= 0; i-- {
			v = v<<8 | uint64(data[off+i])
		}
		if et.Signed && et.Size < 8 && v&(1<<(8*et.Size-1)) != 0 {
			v |= ^uint64(0) << (8 * et.Size)
		}
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, v)
		out = append(out, f(et, b))
	}
	return out
}

// enumName is the name of an enum value's enumerator, if it has one.
func enumName(t *compiler.Type, u uint64) (string, bool) {
	if t.Enum == nil {
		return "", false
	}
	for _, v := range t.Enum.Values {
		if v.Value == u {
			return v.Name, true
		}
	}
	return "", false
}

// formatInet renders an inet value: u64 family, then the address bytes.
func formatInet(data []byte) string {
	switch binary.LittleEndian.Uint64(data) {
	case 2:
		return net.IP(data[8:12]).String()
	case 10:
		// netip, as inet_ntop, keeps a v4-mapped address IPv6:
		// ::ffff:127.0.0.1, where net.IP prints 127.0.0.1.
		return netip.AddrFrom16([16]byte(data[8:24])).String()
	}
	return ""
}

// strerror is C's message for an errno ("Operation not permitted").
func strerror(n int64) string {
	if n < 0 {
		n = -n
	}
	if n == 0 {
		return "Success"
	}
	msg := syscall.Errno(n).Error()
	if msg == "" || strings.HasPrefix(msg, "errno ") {
		return fmt.Sprintf("Unknown error %d", n)
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// monoToWall turns a CLOCK_MONOTONIC time (nsecs) into wall-clock time.
// The clocks' offset is measured once, as bpftrace measures boot time
// once: times converted apart stay exactly as far apart.
func monoToWall(ns uint64) time.Time {
	return time.Unix(0, monoOffset()+int64(ns))
}

// monoOffset is CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds.
var monoOffset = sync.OnceValue(func() int64 {
	var mono, real unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	unix.ClockGettime(unix.CLOCK_REALTIME, &real)
	return real.Nano() - mono.Nano()
})

// signalName is strsignal(3)'s description of a signal, as bpftrace's
// signal_name gives it ("Interrupt"); "N/A" outside 0..64.
func signalName(n int64) string {
	names := [...]string{"Unknown signal 0", "Hangup", "Interrupt", "Quit", "Illegal instruction",
		"Trace/breakpoint trap", "Aborted", "Bus error", "Floating point exception", "Killed",
		"User defined signal 1", "Segmentation fault", "User defined signal 2", "Broken pipe",
		"Alarm clock", "Terminated", "Stack fault", "Child exited", "Continued", "Stopped (signal)",
		"Stopped", "Stopped (tty input)", "Stopped (tty output)", "Urgent I/O condition",
		"CPU time limit exceeded", "File size limit exceeded", "Virtual timer expired",
		"Profiling timer expired", "Window changed", "I/O possible", "Power failure", "Bad system call"}
	switch {
	case n >= 0 && n < int64(len(names)):
		return names[n]
	case n == 32 || n == 33:
		return fmt.Sprintf("Unknown signal %d", n)
	case n >= 34 && n <= 64:
		return fmt.Sprintf("Real-time signal %d", n-34)
	}
	return "N/A"
}
