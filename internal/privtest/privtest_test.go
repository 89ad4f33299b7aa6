package privtest

import (
	"os"
	"testing"
)

func TestEnabledMatchesReason(t *testing.T) {
	if Enabled() != (Reason() == "") {
		t.Fatalf("Enabled() = %v but Reason() = %q", Enabled(), Reason())
	}
	if os.Geteuid() != 0 && Enabled() {
		t.Fatal("Enabled() without root")
	}
}

func TestRequire(t *testing.T) {
	Require(t)
	if !Enabled() {
		t.Fatal("Require returned although privileged tests cannot run")
	}
}
