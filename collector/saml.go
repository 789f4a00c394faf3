package collector

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

var (
	samlIDPMetadataURL = kingpin.Flag("collector.saml.idp-metadata-url",
		"URL of the SAML IdP's metadata, fetched by the exporter itself (never with the Mattermost token) to read the IdP signing certificates' expiry; empty = SamlSettings.IdpMetadataURL from GET /api/v4/config (system admin, read at most hourly).").
		Default("").String()
	samlIDPMetadataInterval = kingpin.Flag("collector.saml.idp-metadata-interval",
		"Least time between two fetches of the IdP metadata (a failed fetch is retried after at most 5m).").
		Default("1h").Duration()
	samlIDPMetadataCAFile = kingpin.Flag("collector.saml.idp-metadata-ca-file",
		"PEM CA bundle added to the system pool to verify the IdP metadata server (the Mattermost CA file is not used for it).").
		Default("").String()
)

func init() {
	registerCollector("saml", true, func(d Deps) (Collector, error) {
		return NewSAMLCollectorWithConfig(d, d.Options.saml())
	})
}

// SAMLConfig configures the certificate expiry part of the SAML collector.
type SAMLConfig struct {
	// IDPMetadataURL is the IdP metadata to fetch; "" = read
	// SamlSettings.IdpMetadataURL from GET /config at most every
	// samlConfigReadInterval.
	IDPMetadataURL string
	// IDPMetadataInterval is the least time between two IdP metadata
	// fetches (0 = every scrape).
	IDPMetadataInterval time.Duration
	// IDPMetadataCAFile is a PEM bundle added to the system pool for the
	// IdP metadata server.
	IDPMetadataCAFile string
	// HTTPClient fetches the IdP metadata; nil = a client of its own
	// (timeout samlIDPTimeout, IDPMetadataCAFile). It must not carry the
	// Mattermost token.
	HTTPClient *http.Client
}

// Validate reports an invalid setting (a *SettingError).
func (cfg SAMLConfig) Validate() error {
	return notNegative("saml.idp-metadata-interval", cfg.IDPMetadataInterval)
}

// SAMLCollector reports GET /api/v4/saml/certificate/status (system admins
// only) and EnableSaml from GET /api/v4/config/client?format=old (any caller).
//
// The two calls run in parallel and are reported independently: a failed
// certificate call (typically 403 for a token without system_admin) does not
// hide mattermost_saml_enabled, and a failed config call does not hide the
// certificates. Either failure makes the collector fail (success 0), so the
// operator is told something is missing, except a 403 on the certificate
// status while SAML is off: then there is nothing to miss.
//
// When SAML is enabled it also reports the certificates' expiry (see
// updateExpiry): the service provider's from GET /saml/metadata on every
// scrape (when a public certificate file is configured), the IdP's signing certificates from the IdP's metadata at most
// once per IDPMetadataInterval.
type SAMLCollector struct {
	client *mmclient.Client
	idp    *idpMetadataWatcher
}

// NewSAMLCollector returns a SAML collector with the default SAMLConfig
// (IdP metadata URL from GET /config, fetched at most hourly).
func NewSAMLCollector(deps Deps) (*SAMLCollector, error) {
	return NewSAMLCollectorWithConfig(deps, SAMLConfig{IDPMetadataInterval: time.Hour})
}

// NewSAMLCollectorWithConfig returns a SAML collector.
func NewSAMLCollectorWithConfig(deps Deps, cfg SAMLConfig) (*SAMLCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("saml collector: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("saml collector: %w", err)
	}
	logger := deps.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	w, err := newIDPMetadataWatcher(deps.Client, cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("saml collector: %w", err)
	}
	return &SAMLCollector{client: deps.Client, idp: w}, nil
}

var (
	samlCertificatePresentDesc = newDesc(
		prometheus.BuildFQName(namespace, "saml", "certificate_present"),
		"1 if the SAML certificate file (idp, public, private_key) is configured and present in Mattermost's config store, else 0. Says nothing about validity or expiry.",
		[]string{"certificate"}, nil,
	)
	samlEnabledDesc = newDesc(
		prometheus.BuildFQName(namespace, "saml", "enabled"),
		"1 if SAML login is enabled (EnableSaml in Mattermost's client config), else 0.",
		nil, nil,
	)
)

// PermissionHint implements PermissionHinter.
func (c *SAMLCollector) PermissionHint() string {
	return "the token's account needs the system_admin role for /saml/certificate/status"
}

// Update implements Collector.
func (c *SAMLCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	var (
		wg        sync.WaitGroup
		cfg       map[string]string
		cfgErr    error
		status    *mmclient.SAMLCertificateStatus
		statusErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		cfg, cfgErr = c.client.GetClientConfig(ctx)
	}()
	status, statusErr = c.client.GetSAMLCertificateStatus(ctx)
	wg.Wait()

	var errs []error
	// A token without system_admin cannot read the certificate status;
	// with SAML off (known from the client config) nothing is missed, so
	// that is no failure: no presence series, success 1.
	samlOff := cfgErr == nil && cfg["EnableSaml"] != "true"
	switch {
	case statusErr != nil && samlOff && mmclient.IsForbidden(statusErr):
	case statusErr != nil:
		errs = append(errs, fmt.Errorf("saml certificate status: %w", statusErr))
	default:
		for _, cert := range []struct {
			name    string
			present bool
		}{
			{"idp", status.IDPCertificateFile},
			{"public", status.PublicCertificateFile},
			{"private_key", status.PrivateKeyFile},
		} {
			ch <- prometheus.MustNewConstMetric(samlCertificatePresentDesc, prometheus.GaugeValue, boolToFloat(cert.present), cert.name)
		}
	}
	if cfgErr != nil {
		errs = append(errs, fmt.Errorf("client config: %w", cfgErr))
	} else {
		enabled := cfg["EnableSaml"] == "true"
		ch <- prometheus.MustNewConstMetric(samlEnabledDesc, prometheus.GaugeValue, boolToFloat(enabled))
		// Expiry only matters, and /saml/metadata only answers sensibly,
		// while SAML is on.
		if enabled {
			// Without a public certificate file the SP metadata has no
			// certificate: skip the call (it needs no role, so a token
			// that cannot read the status still tries).
			readSP := statusErr != nil || status.PublicCertificateFile
			if err := c.updateExpiry(ctx, ch, readSP); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// errors.Join keeps both for errors.Is/As; the log line stays one
	// line because logfmt and JSON escape the newline between them.
	return errors.Join(errs...)
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Bounds of the certificate expiry part.
const (
	// samlConfigReadInterval is the least time between two reads of GET
	// /config (each one writes an audit record on the server).
	samlConfigReadInterval = time.Hour
	// samlIDPRetryInterval caps the wait before retrying a failed IdP
	// metadata fetch.
	samlIDPRetryInterval = 5 * time.Minute
	// samlIDPTimeout bounds one IdP metadata fetch.
	samlIDPTimeout = 10 * time.Second
	// maxIDPMetadataBytes bounds the IdP metadata document (federation
	// metadata aggregates are larger: point the exporter at one IdP).
	maxIDPMetadataBytes = 1 << 20
	// maxMetadataCertificates bounds the certificates read from one
	// document.
	maxMetadataCertificates = 100
)

var (
	samlCertificateExpiryDesc = newDesc(
		prometheus.BuildFQName(namespace, "saml", "certificate_expiry_timestamp_seconds"),
		"When the earliest-expiring SAML certificate expires (NotAfter), in seconds since the epoch: certificate=public is the service provider's certificate of GET /api/v4/saml/metadata, certificate=idp the IdP's signing certificates of its metadata. Only while SAML is enabled.",
		[]string{"certificate"}, nil,
	)
	samlIDPMetadataFetchSuccessDesc = newDesc(
		prometheus.BuildFQName(namespace, "saml", "idp_metadata_fetch_success"),
		"1 if the last fetch of the IdP metadata (--collector.saml.idp-metadata-url, else SamlSettings.IdpMetadataURL) gave at least one signing certificate, else 0 (the idp expiry then shows the last good answer). Absent when no IdP metadata URL is known.",
		nil, nil,
	)
)

// updateExpiry reports the service provider's and the IdP's certificate
// expiry. An IdP metadata fetch that fails is reported by
// mattermost_saml_idp_metadata_fetch_success (and logged), not as a
// collector failure: the IdP is not Mattermost.
func (c *SAMLCollector) updateExpiry(ctx context.Context, ch chan<- prometheus.Metric, readSP bool) error {
	var errs []error
	var (
		md  []byte
		err error
	)
	if readSP {
		md, err = c.client.GetSAMLMetadata(ctx)
	}
	switch {
	case !readSP:
	case mmclient.IsSAMLNotConfigured(err):
		// Enabled in the config but not configured (or Team Edition).
	case err != nil:
		errs = append(errs, fmt.Errorf("saml metadata: %w", err))
	default:
		certs, err := metadataCertificates(md, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("saml metadata: %w", err))
		} else {
			ch <- prometheus.MustNewConstMetric(samlCertificateExpiryDesc, prometheus.GaugeValue, earliestNotAfter(certs), "public")
		}
	}
	st, err := c.idp.get(ctx)
	if err != nil {
		errs = append(errs, err)
	} else if st.url != "" {
		ch <- prometheus.MustNewConstMetric(samlIDPMetadataFetchSuccessDesc, prometheus.GaugeValue, boolToFloat(st.ok))
		if !st.lastGood.IsZero() {
			ch <- prometheus.MustNewConstMetric(samlCertificateExpiryDesc, prometheus.GaugeValue, float64(st.lastGood.Unix()), "idp")
		}
		if st.hasTLS {
			emitTLS(ch, tlsEndpointIDP, st.tls)
		}
	}
	return errors.Join(errs...)
}

func earliestNotAfter(certs []*x509.Certificate) float64 {
	earliest := certs[0].NotAfter
	for _, c := range certs[1:] {
		if c.NotAfter.Before(earliest) {
			earliest = c.NotAfter
		}
	}
	return float64(earliest.Unix())
}

// metadataCertificates returns the certificates of the X509Certificate
// elements of a SAML metadata document. With signingOnly, only those of a
// KeyDescriptor whose use is "signing" or absent count (an IdP's encryption
// keys and the metadata's own signature do not sign logins). An element
// that is not a certificate is skipped; no certificate at all is an error.
func metadataCertificates(doc []byte, signingOnly bool) ([]*x509.Certificate, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var (
		certs    []*x509.Certificate
		firstErr error
		kdDepth  int    // > 0 inside a KeyDescriptor
		kdUse    string // its use attribute
		elements int
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse metadata: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if kdDepth > 0 {
				kdDepth++
			}
			switch t.Name.Local {
			case "KeyDescriptor":
				if kdDepth == 0 {
					kdDepth, kdUse = 1, ""
					for _, a := range t.Attr {
						if a.Name.Local == "use" {
							kdUse = a.Value
						}
					}
				}
			case "X509Certificate":
				if kdDepth > 0 {
					kdDepth--
				}
				if signingOnly && (kdDepth == 0 || (kdUse != "" && kdUse != "signing")) {
					if err := d.Skip(); err != nil {
						return nil, fmt.Errorf("parse metadata: %w", err)
					}
					continue
				}
				var text string
				if err := d.DecodeElement(&text, &t); err != nil {
					return nil, fmt.Errorf("parse metadata: %w", err)
				}
				if elements++; elements > maxMetadataCertificates {
					return nil, fmt.Errorf("parse metadata: more than %d certificates", maxMetadataCertificates)
				}
				cert, err := parseCertificateText(text)
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				certs = append(certs, cert)
			}
		case xml.EndElement:
			if kdDepth > 0 {
				kdDepth--
			}
		}
	}
	if len(certs) == 0 {
		if firstErr != nil {
			return nil, fmt.Errorf("no valid certificate in the metadata: %w", firstErr)
		}
		return nil, errors.New("no certificate in the metadata")
	}
	return certs, nil
}

// parseCertificateText decodes the base64 DER of an X509Certificate
// element (line breaks and spaces allowed).
func parseCertificateText(text string) (*x509.Certificate, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, text)
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("certificate is not base64: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return cert, nil
}

// idpState is what the watcher knows about the IdP metadata.
type idpState struct {
	url      string    // "" = none configured
	ok       bool      // the last fetch gave a signing certificate
	lastGood time.Time // earliest NotAfter of the last good fetch; zero = none yet
	// tls is what the last TLS handshake with the metadata server showed
	// (hasTLS false for http:// and before the first handshake).
	tls    mmclient.TLSState
	hasTLS bool
}

// idpMetadataWatcher fetches the IdP metadata at most once per interval
// (failures are retried sooner) and, without a configured URL, reads it
// from GET /config at most once per samlConfigReadInterval.
type idpMetadataWatcher struct {
	client   *mmclient.Client
	http     *http.Client
	fixedURL string
	interval time.Duration
	logger   log.Logger
	now      func() time.Time

	sem chan struct{} // one update at a time; guards everything below

	configAt  time.Time // last GET /config attempt
	configURL string
	configErr error

	fetchAt time.Time // last fetch attempt
	state   idpState
	tls     *mmclient.TLSRecorder // of state.url
}

func newIDPMetadataWatcher(client *mmclient.Client, cfg SAMLConfig, logger log.Logger) (*idpMetadataWatcher, error) {
	if cfg.IDPMetadataURL != "" {
		if err := checkMetadataURL(cfg.IDPMetadataURL); err != nil {
			return nil, fmt.Errorf("IdP metadata URL: %w", err)
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		var err error
		if hc, err = newIDPHTTPClient(cfg.IDPMetadataCAFile); err != nil {
			return nil, err
		}
	}
	return &idpMetadataWatcher{
		client: client, http: hc, fixedURL: cfg.IDPMetadataURL, interval: cfg.IDPMetadataInterval,
		logger: logger, now: time.Now, sem: make(chan struct{}, 1),
	}, nil
}

// newIDPHTTPClient returns the IdP's own client: no Mattermost token, a
// timeout, and caFile's CAs on top of the system pool.
func newIDPHTTPClient(caFile string) (*http.Client, error) {
	tr, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("default transport is not an *http.Transport")
	}
	tr = tr.Clone()
	if caFile != "" {
		pool, err := mmclient.LoadCAPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("IdP metadata CA file: %w", err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: samlIDPTimeout}, nil
}

func checkMetadataURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http or https URL with a host")
	}
	return nil
}

// get returns the current IdP state, refreshing what is due. The error is
// that of GET /config (a token without system_admin, say), kept until the
// next read.
func (w *idpMetadataWatcher) get(ctx context.Context) (idpState, error) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return idpState{}, fmt.Errorf("saml idp metadata: %w", ctx.Err())
	}
	defer func() { <-w.sem }()
	now := w.now()

	target := w.fixedURL
	if target == "" {
		if w.configAt.IsZero() || now.Sub(w.configAt) >= samlConfigReadInterval {
			u, err := w.client.GetSAMLIDPMetadataURL(ctx)
			if err == nil && u != "" {
				if cerr := checkMetadataURL(u); cerr != nil {
					err = fmt.Errorf("SamlSettings.IdpMetadataURL: %w", cerr)
				}
			}
			w.configAt, w.configErr = now, err
			if err == nil {
				w.configURL = u
			}
		}
		if w.configErr != nil {
			return idpState{}, fmt.Errorf("saml idp metadata url (GET /config, next read within %s): %w", samlConfigReadInterval, w.configErr)
		}
		target = w.configURL
	}
	if target == "" {
		w.state = idpState{}
		return w.state, nil
	}
	if target != w.state.url {
		// A new URL: the old answer says nothing about it.
		w.state, w.fetchAt = idpState{url: target}, time.Time{}
		w.tls = mmclient.NewTLSRecorder(target, w.http.Transport)
	}
	wait := w.interval
	if !w.state.ok && wait > samlIDPRetryInterval {
		wait = samlIDPRetryInterval
	}
	if w.fetchAt.IsZero() || now.Sub(w.fetchAt) >= wait {
		w.fetchAt = now
		notAfter, err := w.fetch(ctx, target)
		if err != nil {
			w.state.ok = false
			_ = level.Warn(w.logger).Log("msg", "SAML IdP metadata fetch failed", "url", redactURL(target), "err", err)
		} else {
			w.state.ok, w.state.lastGood = true, notAfter
		}
		w.state.tls, w.state.hasTLS = w.tls.State()
	}
	return w.state, nil
}

// fetch reads the IdP metadata with the watcher's own client.
func (w *idpMetadataWatcher) fetch(ctx context.Context, target string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, samlIDPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := w.http.Do(req)
	if st := w.tls.Record(resp, err); st != nil && !st.Verified {
		_ = level.Warn(w.logger).Log("msg", "the SAML IdP metadata server's TLS certificate chain does not verify", "url", redactURL(target), "err", st.VerifyError)
	}
	if err != nil {
		// The URL may hold a secret in its query: the error repeats it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return time.Time{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return time.Time{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIDPMetadataBytes+1))
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the metadata: %w", err)
	}
	if len(body) > maxIDPMetadataBytes {
		return time.Time{}, fmt.Errorf("metadata larger than %d bytes", maxIDPMetadataBytes)
	}
	certs, err := metadataCertificates(body, true)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(earliestNotAfter(certs)), 0), nil
}

// redactURL drops the userinfo and query of a URL for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
