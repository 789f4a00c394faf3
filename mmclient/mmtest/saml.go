package mmtest

// SAML metadata: the service provider metadata of GET /saml/metadata, the
// IdP metadata URL of GET /config, and an IdP metadata document served at
// IDPMetadataPath, each with self-signed certificates whose NotAfter the
// test chooses.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// SelfSignedCertificate returns the DER bytes of a new self-signed ECDSA
// P-256 certificate for commonName, valid from a day before notAfter-1y
// (or an hour ago, whichever is earlier) until notAfter.
func SelfSignedCertificate(commonName string, notAfter time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	notBefore := notAfter.AddDate(-1, 0, 0)
	if now := time.Now().Add(-time.Hour); now.Before(notBefore) {
		notBefore = now
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return der, nil
}

func keyDescriptor(use string, der []byte) string {
	attr := ""
	if use != "" {
		attr = ` use="` + use + `"`
	}
	return `<md:KeyDescriptor` + attr + `><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(der) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
}

// SPMetadata returns service provider metadata like Mattermost's GET
// /saml/metadata, with one certificate per NotAfter (each used for signing
// and encryption).
func SPMetadata(notAfters ...time.Time) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://mattermost.example.test/login/sso/saml">`)
	b.WriteString(`<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`)
	for i, na := range notAfters {
		der, err := SelfSignedCertificate(fmt.Sprintf("mattermost-sp-%d", i), na)
		if err != nil {
			return nil, err
		}
		b.WriteString(keyDescriptor("signing", der))
		b.WriteString(keyDescriptor("encryption", der))
	}
	b.WriteString(`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="http://mattermost.example.test/login/sso/saml" index="1"></md:AssertionConsumerService>`)
	b.WriteString(`</md:SPSSODescriptor></md:EntityDescriptor>`)
	return []byte(b.String()), nil
}

// IDPMetadata returns IdP metadata with one signing certificate per
// NotAfter, plus an encryption certificate that expires long before them
// (a reader of signing certificates must ignore it).
func IDPMetadata(notAfters ...time.Time) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.test/saml">`)
	b.WriteString(`<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`)
	for i, na := range notAfters {
		der, err := SelfSignedCertificate(fmt.Sprintf("idp-signing-%d", i), na)
		if err != nil {
			return nil, err
		}
		use := "signing"
		if i%2 == 1 {
			use = "" // no use attribute: signing and encryption
		}
		b.WriteString(keyDescriptor(use, der))
	}
	enc, err := SelfSignedCertificate("idp-encryption", time.Now().Add(-48*time.Hour))
	if err != nil {
		return nil, err
	}
	b.WriteString(keyDescriptor("encryption", enc))
	b.WriteString(`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"></md:SingleSignOnService>`)
	b.WriteString(`</md:IDPSSODescriptor></md:EntityDescriptor>`)
	return []byte(b.String()), nil
}

// SetSAMLCertificate configures SAML with a service provider certificate
// valid until notAfter: GET /saml/metadata then answers metadata holding it.
// A zero notAfter removes it (501 "not configured", as on the recorded
// servers).
func (s *Server) SetSAMLCertificate(notAfter time.Time) error {
	var md []byte
	if !notAfter.IsZero() {
		var err error
		if md, err = SPMetadata(notAfter); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.ops.spMetadata = md
	s.mu.Unlock()
	return nil
}

// SetSAMLIDPCertificate makes the fake serve IdP metadata at
// IDPMetadataPath with signing certificates valid until notAfters (none:
// 404).
func (s *Server) SetSAMLIDPCertificate(notAfters ...time.Time) error {
	var md []byte
	if len(notAfters) > 0 {
		var err error
		if md, err = IDPMetadata(notAfters...); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.ops.idpMetadata = md
	s.mu.Unlock()
	return nil
}

// SetSAMLIDPMetadataURL sets SamlSettings.IdpMetadataURL of GET /config.
func (s *Server) SetSAMLIDPMetadataURL(url string) {
	s.mu.Lock()
	s.ops.idpMetadataURL = url
	s.mu.Unlock()
}

// IDPMetadataAuthorizationSeen returns how many requests for the fake's
// IdP metadata carried an Authorization header (an exporter must never send
// its Mattermost token there).
func (s *Server) IDPMetadataAuthorizationSeen() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ops.idpAuthSeen
}

func (rc *reqCtx) samlMetadata() {
	rc.s.mu.RLock()
	md := rc.s.ops.spMetadata
	rc.s.mu.RUnlock()
	if md == nil {
		rc.appError(http.StatusNotImplemented, mmclient.SAMLNotAvailableErrorID,
			"SAML 2.0 is not configured or supported on this server.", "")
		return
	}
	rc.w.Header().Set("Content-Type", "application/xml")
	rc.respond(http.StatusOK, md)
}

// config answers GET /config with the part of the config the fake models:
// SamlSettings (the real answer has every section, 30-60 KB).
func (rc *reqCtx) config() {
	if !rc.requireAdmin("sysconsole_read_*") {
		return
	}
	rc.s.mu.RLock()
	url, enabled := rc.s.ops.idpMetadataURL, rc.s.samlEnabled
	rc.s.mu.RUnlock()
	cfg := map[string]any{
		"ServiceSettings": map[string]any{"SiteURL": "http://mattermost.example.test", "ListenAddress": ":8065"},
		"SamlSettings": map[string]any{
			"Enable": enabled, "EnableSyncWithLdap": false, "Verify": true, "Encrypt": true, "SignRequest": false,
			"IdpURL": "https://idp.example.test/sso", "IdpDescriptorURL": "https://idp.example.test/saml",
			"IdpMetadataURL": url, "ServiceProviderIdentifier": "http://mattermost.example.test/login/sso/saml",
			"AssertionConsumerServiceURL": "http://mattermost.example.test/login/sso/saml",
			"IdpCertificateFile":          "saml-idp.crt", "PublicCertificateFile": "saml-public.crt", "PrivateKeyFile": "saml-private.key",
			"PrivateKeyPassword": "********************************",
		},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		rc.appError(http.StatusInternalServerError, "api.marshal_error", "Failed to marshal.", err.Error())
		return
	}
	rc.respond(http.StatusOK, b)
}

func (rc *reqCtx) idpMetadata() {
	rc.s.mu.Lock()
	md := rc.s.ops.idpMetadata
	if rc.r.Header.Get("Authorization") != "" {
		rc.s.ops.idpAuthSeen++
	}
	rc.s.mu.Unlock()
	if md == nil {
		writeRouterNotFound(rc.w, rc.r.URL.Path)
		return
	}
	rc.w.Header().Set("Content-Type", "application/samlmetadata+xml")
	rc.respond(http.StatusOK, md)
}
