package main

import (
	"go/version"
	"os"
	"regexp"
	"runtime"
	"testing"
)

// TestBuiltWithGoModToolchain fails when the tests run on an older Go than go.mod's toolchain
// line names: that Go's standard library has vulnerabilities the exporter's code reaches (make
// vuln), and a machine with GOTOOLCHAIN=local ignores the line unless GOTOOLCHAIN is exported, as
// the Makefile and the scripts do.
func TestBuiltWithGoModToolchain(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^toolchain (go\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no toolchain line")
	}
	want, got := string(m[1]), runtime.Version()
	if !version.IsValid(got) {
		t.Skipf("development toolchain %s", got)
	}
	if version.Compare(got, want) < 0 {
		t.Fatalf("tests run on %s, go.mod names toolchain %s: run them through make, or export GOTOOLCHAIN=%s", got, want, want)
	}
}
