package mmclient

import (
	"crypto/sha256"
	"crypto/x509"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
)

// CA files of the same content share one pool (one copy of the system pool
// for a fleet of targets with the same ca_file); another content gets its
// own pool, which trusts only its own certificate.
func TestLoadCAPoolSharedByContent(t *testing.T) {
	dir := t.TempDir()
	certA, pemA := testhelp.SelfSignedCA(t, "a.example")
	certB, pemB := testhelp.SelfSignedCA(t, "b.example")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	load := func(p string) *x509.CertPool {
		pool, err := LoadCAPool(p)
		if err != nil {
			t.Fatal(err)
		}
		return pool
	}
	a1, a2, b := load(write("a1.pem", pemA)), load(write("a2.pem", pemA)), load(write("b.pem", pemB))
	if a1 != a2 {
		t.Error("two files of the same content got two pools")
	}
	if a1 == b {
		t.Fatal("files of different content share a pool")
	}
	verifies := func(pool *x509.CertPool, c *x509.Certificate) bool {
		_, err := c.Verify(x509.VerifyOptions{Roots: pool, DNSName: c.DNSNames[0]})
		return err == nil
	}
	if !verifies(a1, certA) || verifies(a1, certB) || !verifies(b, certB) || verifies(b, certA) {
		t.Errorf("pool a trusts a: %v, b: %v; pool b trusts b: %v, a: %v",
			verifies(a1, certA), verifies(a1, certB), verifies(b, certB), verifies(b, certA))
	}
	// A pool nobody holds any more is not kept.
	runtime.KeepAlive(a2)
	a1, a2, b = nil, nil, nil
	runtime.GC()
	caPools.Lock()
	defer caPools.Unlock()
	for _, p := range [][]byte{pemA, pemB} {
		if caPools.m[sha256.Sum256(p)].Value() != nil {
			t.Error("a pool is still alive after its last holder dropped it")
		}
	}
	_, _, _ = a1, a2, b
}
