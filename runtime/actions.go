package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runSystem runs a system() command through the shell, its output inline.
func runSystem(w io.Writer, cmdline string) {
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	out, _ := cmd.CombinedOutput()
	w.Write(out)
}

// catFile prints a file's contents for cat(): at most BPFTRACE_MAX_CAT_BYTES
// bytes (10240 by default), as bpftrace.
func catFile(w, errw io.Writer, name string) {
	f, err := os.Open(name)
	if err != nil {
		fmt.Fprintf(errw, "ERROR: failed to open file '%s' (%s)\n", name, errnoText(err))
		return
	}
	defer f.Close()
	limit := int64(10240)
	for _, v := range []string{"BPFTRACE_MAX_CAT_BYTES", "BPFSH_MAX_CAT_BYTES"} {
		if n, err := strconv.ParseInt(os.Getenv(v), 10, 64); err == nil && n >= 0 {
			limit = n
			break
		}
	}
	data, _ := io.ReadAll(io.LimitReader(f, limit))
	w.Write(data)
}

// errnoText is C's strerror() of the errno under err ("No such file or directory").
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return strerror(int64(errno))
	}
	return err.Error()
}

// strftime formats t with C strftime conversions (the common ones).
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&b, "%02d", h)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'c':
			b.WriteString(t.Format("Mon Jan  2 15:04:05 2006"))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		case 'f': // bpftrace's microseconds extension
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
