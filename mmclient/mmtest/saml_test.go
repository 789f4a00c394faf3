package mmtest

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// certsOf returns the certificates of a metadata document.
func certsOf(t *testing.T, doc []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	d := xml.NewDecoder(strings.NewReader(string(doc)))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("metadata is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "X509Certificate" {
			var text string
			if err := d.DecodeElement(&text, &se); err != nil {
				t.Fatal(err)
			}
			der, err := base64.StdEncoding.DecodeString(text)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
	}
}

func TestSAMLMetadataEndpoints(t *testing.T) {
	for _, era := range []Era{Era537, Era11} {
		s := NewServer(Config{Era: era, SAMLEnabled: true})
		t.Cleanup(s.Close)
		admin := opsClient(t, s, AdminToken)
		user := opsClient(t, s, UserToken)
		ctx := opsCtx(t)

		if _, err := admin.GetSAMLMetadata(ctx); !mmclient.IsSAMLNotConfigured(err) {
			t.Errorf("%s: unconfigured: err = %v, want the 501", era, err)
		}
		notAfter := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := s.SetSAMLCertificate(notAfter); err != nil {
			t.Fatal(err)
		}
		md, err := user.GetSAMLMetadata(ctx) // no admin needed
		if err != nil {
			t.Fatalf("%s: %v", era, err)
		}
		certs := certsOf(t, md)
		if len(certs) != 2 || !certs[0].NotAfter.Equal(notAfter) || !certs[1].NotAfter.Equal(notAfter) {
			t.Errorf("%s: SP metadata certificates %d, NotAfter %v", era, len(certs), certs[0].NotAfter)
		}
		if err := s.SetSAMLCertificate(time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.GetSAMLMetadata(ctx); !mmclient.IsSAMLNotConfigured(err) {
			t.Errorf("%s: after removal: err = %v", era, err)
		}

		if u, err := admin.GetSAMLIDPMetadataURL(ctx); err != nil || u != "" {
			t.Errorf("%s: default IdP URL %q, %v", era, u, err)
		}
		s.SetSAMLIDPMetadataURL("https://idp.example.test/md")
		if u, err := admin.GetSAMLIDPMetadataURL(ctx); err != nil || u != "https://idp.example.test/md" {
			t.Errorf("%s: IdP URL %q, %v", era, u, err)
		}
		if _, err := user.GetSAMLIDPMetadataURL(ctx); !mmclient.IsForbidden(err) {
			t.Errorf("%s: non-admin /config: err = %v, want 403", era, err)
		}
		if n := s.Requests(EndpointConfig); n != 3 {
			t.Errorf("%s: /config requests = %d, want 3", era, n)
		}
	}
}

func TestIDPMetadataPath(t *testing.T) {
	s := NewServer(Config{})
	t.Cleanup(s.Close)
	get := func(auth string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, s.URL+IDPMetadataPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := get(""); code != http.StatusNotFound {
		t.Errorf("unset: HTTP %d, want 404", code)
	}
	a, b := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := s.SetSAMLIDPCertificate(a, b); err != nil {
		t.Fatal(err)
	}
	code, doc := get("")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	certs := certsOf(t, doc)
	// Two signing certificates and an expired encryption one.
	if len(certs) != 3 || !certs[0].NotAfter.Equal(a) || !certs[1].NotAfter.Equal(b) || certs[2].NotAfter.After(time.Now()) {
		t.Errorf("IdP certificates: %d", len(certs))
	}
	if !strings.Contains(string(doc), `use="encryption"`) || !strings.Contains(string(doc), "IDPSSODescriptor") {
		t.Errorf("IdP metadata shape:\n%s", doc)
	}
	if n := s.IDPMetadataAuthorizationSeen(); n != 0 {
		t.Errorf("authorization seen %d, want 0", n)
	}
	get("Bearer " + AdminToken)
	if n := s.IDPMetadataAuthorizationSeen(); n != 1 {
		t.Errorf("authorization seen %d, want 1", n)
	}
	if n := s.Requests(EndpointIDPMetadata); n != 3 {
		t.Errorf("IdP requests = %d, want 3", n)
	}
}
