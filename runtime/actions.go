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

// strftimeLayouts are the strftime conversions that are Go time layouts.
var strftimeLayouts = map[byte]string{
	'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03", 'M': "04", 'S': "05",
	'p': "PM", 'j': "002", 'a': "Mon", 'A': "Monday", 'b': "Jan", 'h': "Jan", 'B': "January",
	'Z': "MST", 'z': "-0700", 'T': "15:04:05", 'D': "01/02/06", 'F': "2006-01-02", 'R': "15:04",
	'c': "Mon Jan  2 15:04:05 2006",
}

// strftimeOthers are the conversions that are not layouts.
var strftimeOthers = map[byte]func(t time.Time) string{
	'Y': func(t time.Time) string { return strconv.Itoa(t.Year()) },
	's': func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
	'f': func(t time.Time) string { return fmt.Sprintf("%06d", t.Nanosecond()/1000) }, // bpftrace's microseconds
	'n': func(time.Time) string { return "\n" },
	't': func(time.Time) string { return "\t" },
	'%': func(time.Time) string { return "%" },
}

// strftime formats t with C strftime conversions (the common ones); an
// unknown one stays as written.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		if layout, ok := strftimeLayouts[format[i]]; ok {
			b.WriteString(t.Format(layout))
		} else if f, ok := strftimeOthers[format[i]]; ok {
			b.WriteString(f(t))
		} else {
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
