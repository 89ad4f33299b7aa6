package runtime

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
)

// formatPrintf renders one printf record (after its id) the way C's printf
// would, with bpftrace's conventions for strings and tuples.
func formatPrintf(pf *compiler.Printf, rec []byte) string {
	var b strings.Builder
	f := pf.Format
	arg := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		v := pf.Verbs[arg]
		i += len(v.Spec) - 1
		if arg >= len(pf.Args) {
			b.WriteString(v.Spec)
			arg++
			continue
		}
		t, off := pf.Args[arg], pf.Offs[arg]
		arg++
		b.WriteString(formatVerb(v, t, rec[off:off+t.MemSize()]))
	}
	return b.String()
}

// goSpec turns a C conversion into Go's: length modifiers go, the verb maps.
func goSpec(spec string, verb byte) string {
	body := strings.TrimRight(spec[1:len(spec)-1], "hlzjtL")
	return "%" + body + string(verb)
}

func formatVerb(v compiler.Verb, t *compiler.Type, data []byte) string {
	switch t.Kind {
	case compiler.KString:
		s := cString(data)
		if v.Conv == 'r' {
			return rawBuf(data)
		}
		if v.Conv != 's' {
			return s
		}
		return fmt.Sprintf(goSpec(v.Spec, 's'), s)
	case compiler.KTuple, compiler.KInet, compiler.KStack, compiler.KSym:
		return fmt.Sprintf(goSpec(v.Spec, 's'), formatValue(t, data))
	}
	if t.Format != compiler.FormatPlain && (v.Conv == 's' || v.Conv == 'd') {
		return fmt.Sprintf(goSpec(v.Spec, 's'), formatValue(t, data))
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
		return fmt.Sprintf(goSpec(v.Spec, 's'), strconv.FormatInt(int64(binary.LittleEndian.Uint64(data)), 10))
	}
	return strconv.FormatUint(u, 10)
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func rawBuf(b []byte) string {
	var out strings.Builder
	for _, c := range []byte(cString(b)) {
		if c >= 32 && c < 127 {
			out.WriteByte(c)
		} else {
			fmt.Fprintf(&out, "\\x%02x", c)
		}
	}
	return out.String()
}

// formatValue renders a value of type t the way bpftrace prints map keys and values.
func formatValue(t *compiler.Type, data []byte) string {
	switch t.Kind {
	case compiler.KString:
		return cString(data)
	case compiler.KTuple:
		parts := make([]string, len(t.Elems))
		for i, e := range t.Elems {
			off := t.ElemOffset(i)
			parts[i] = formatValue(e, data[off:off+e.MemSize()])
			if t.Names != nil {
				parts[i] = "." + t.Names[i] + " = " + parts[i]
			}
		}
		if t.Names != nil {
			// A record, as bpftrace prints structs.
			if len(parts) == 0 {
				return "{}"
			}
			return "{ " + strings.Join(parts, ", ") + " }"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case compiler.KInet:
		return formatInet(data)
	case compiler.KStack:
		return syms.formatStack(t, data, 8)
	case compiler.KSym:
		return syms.formatSym(t, data)
	case compiler.KPtr:
		return "0x" + strconv.FormatUint(binary.LittleEndian.Uint64(data), 16)
	case compiler.KInt:
		u := binary.LittleEndian.Uint64(data)
		if t.Bool {
			return strconv.FormatBool(u&0xff != 0)
		}
		switch t.Format {
		case compiler.FormatStrerror:
			return strerror(int64(u))
		case compiler.FormatTime:
			return strftime(t.TimeFormat, monoToWall(u))
		}
		if t.Signed {
			return strconv.FormatInt(int64(u), 10)
		}
		return strconv.FormatUint(u, 10)
	}
	return strconv.FormatUint(binary.LittleEndian.Uint64(data), 10)
}

// formatInet renders an inet value: u64 family, then the address bytes.
func formatInet(data []byte) string {
	switch binary.LittleEndian.Uint64(data) {
	case 2:
		return net.IP(data[8:12]).String()
	case 10:
		return net.IP(data[8:24]).String()
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
func monoToWall(ns uint64) time.Time {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Now().Add(-time.Duration(ts.Nano() - int64(ns)))
}
