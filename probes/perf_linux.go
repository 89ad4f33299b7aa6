package probes

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const unsafeSizeofPerfAttr = unsafe.Sizeof(unix.PerfEventAttr{})
