package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// --tls-certificate-expires-in serves https with a chain of the chosen
// expiry, trusted through the root written to --tls-ca-out.
func TestRunServesTLS(t *testing.T) {
	o := defaults()
	o.tlsLeafLeft, o.tlsInterLeft = 120*time.Hour, 72*time.Hour
	o.tlsCAOut = filepath.Join(t.TempDir(), "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- run(ctx, o, log.NewNopLogger(), pw) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	m := regexp.MustCompile(`url=(https://127\.0\.0\.1:\d+) `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("startup line %q, want an https URL", line)
	}
	pem, err := os.ReadFile(o.tlsCAOut)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("--tls-ca-out holds no certificate: %q", pem)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Get(m[1] + "/api/v4/system/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	chain := resp.TLS.PeerCertificates
	if len(chain) != 2 {
		t.Fatalf("%d certificates presented, want leaf and intermediate", len(chain))
	}
	for i, want := range []time.Duration{o.tlsLeafLeft, o.tlsInterLeft} {
		if d := chain[i].NotAfter.Sub(start); d < want-time.Minute || d > want+time.Minute {
			t.Errorf("certificate %d expires in %s, want %s", i, d, want)
		}
	}
}

func TestTLSFlagsNeedTheCertificate(t *testing.T) {
	o := defaults()
	o.tlsCAOut = "/tmp/x.pem"
	if _, err := tlsChain(o, time.Now()); err == nil {
		t.Error("--tls-ca-out without --tls-certificate-expires-in accepted")
	}
	if c, err := tlsChain(defaults(), time.Now()); c != nil || err != nil {
		t.Errorf("no TLS flags: chain %v, error %v", c, err)
	}
}
