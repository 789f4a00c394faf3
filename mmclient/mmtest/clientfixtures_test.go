package mmtest_test

// TestClientDecodesEveryFixture decodes every recorded answer of both
// captured servers (5.37 and 11.2) with the real client, through a replay
// server that serves the fixture's status, headers and body bytes, and
// checks the decoded values against the fixture. Only mmclient's public API
// is used.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// clientFixtureSets are the captured servers, named as in the fake's replay.
var clientFixtureSets = []struct{ name, dir string }{
	{"5.37", "../../testdata/real-mattermost"},
	{"11.2", "../../testdata/current-mattermost"},
}

// recorded is one captured answer.
type recorded = testhelp.Fixture

// serveRecorded starts a server answering every request with rec.
func serveRecorded(t *testing.T, rec recorded) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { rec.Serve(w) }))
	t.Cleanup(srv.Close)
	return srv
}

// errNeedsClientFix marks a check failure that a known client limitation
// explains; the case is skipped with that reason, and runs for real once
// the client is fixed.
type errNeedsClientFix struct{ what string }

func (e errNeedsClientFix) Error() string { return "needs client fix: " + e.what }

const fix64HexVersion = "mmclient.ParseVersionID rejects the 64-hex SHA-256 client-config hash of an 11.x X-Version-Id, so Ping.HasVersion is false"

// A validUserID stands in for a path or body id the client refuses to send
// (the replay answers the recorded error whatever the request).
const validUserID = "abcdefghijklmnopqrstuvwxyz"

// clientCheck calls the client method matching rec's request and checks
// the decoded result against the recorded answer. ok is false when no
// client method matches the endpoint.
func clientCheck(ctx context.Context, c *mmclient.Client, rec recorded) (ok bool, err error) {
	u, perr := url.Parse(rec.Meta.Request.Path)
	if perr != nil {
		return true, perr
	}
	q := u.Query()
	path := strings.TrimPrefix(u.Path, "/api/v4")
	method := rec.Meta.Request.Method
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case method == "GET" && path == "/system/ping":
		p, err := c.Ping(ctx)
		return true, checkPing(rec, p, err)
	case method == "GET" && path == "/config/client" && q.Get("format") == "old":
		m, err := c.GetClientConfig(ctx)
		return true, checkResult(rec, err, func() error {
			var want map[string]string
			if err := json.Unmarshal(rec.Body, &want); err != nil {
				return err
			}
			if !reflect.DeepEqual(m, want) {
				return fmt.Errorf("config: %d keys decoded, %d recorded, or values differ", len(m), len(want))
			}
			return nil
		})
	case method == "GET" && path == "/cluster/status":
		nodes, err := c.GetClusterStatus(ctx)
		return true, checkResult(rec, err, func() error {
			var want []mmclient.ClusterInfo
			if err := json.Unmarshal(rec.Body, &want); err != nil {
				return err
			}
			if len(nodes) != len(want) {
				return fmt.Errorf("%d nodes decoded, %d recorded", len(nodes), len(want))
			}
			return nil
		})
	case method == "GET" && path == "/saml/certificate/status":
		st, err := c.GetSAMLCertificateStatus(ctx)
		return true, checkResult(rec, err, func() error {
			var want mmclient.SAMLCertificateStatus
			if err := json.Unmarshal(rec.Body, &want); err != nil {
				return err
			}
			if *st != want {
				return fmt.Errorf("decoded %+v, recorded %+v", *st, want)
			}
			return nil
		})
	case method == "POST" && path == "/users/status/ids":
		want, ids := recordedStatuses(rec)
		got, err := c.GetStatusesByIDs(ctx, ids)
		return true, checkResult(rec, err, func() error {
			if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("%d statuses decoded, %d distinct recorded, or values differ", len(got), len(want))
			}
			return nil
		})
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "status" && method == "GET":
		st, err := c.GetUserStatus(ctx, clientUserID(segs[1]))
		return true, checkResult(rec, err, func() error { return sameStatus(rec.Body, st) })
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "status" && method == "PUT":
		var body struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal(rec.Meta.Request.Body, &body)
		switch body.Status {
		case mmclient.StatusOnline, mmclient.StatusAway, mmclient.StatusDND, mmclient.StatusOffline:
		default:
			body.Status = mmclient.StatusAway // refused client-side; the replay answers the recorded error
		}
		st, err := c.UpdateUserStatus(ctx, clientUserID(segs[1]), body.Status, 0)
		return true, checkResult(rec, err, func() error { return sameStatus(rec.Body, st) })
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "active" && method == "PUT":
		var body struct {
			Active bool `json:"active"`
		}
		_ = json.Unmarshal(rec.Meta.Request.Body, &body)
		err := c.UpdateUserActive(ctx, clientUserID(segs[1]), body.Active)
		return true, checkResult(rec, err, func() error { return nil })
	case method == "GET" && path == "/users":
		page, _ := strconv.Atoi(q.Get("page"))
		perPage, perr := strconv.Atoi(q.Get("per_page"))
		if perr != nil || perPage < 1 {
			perPage = 60
		}
		users, err := c.GetUsers(ctx, page, perPage)
		return true, checkResult(rec, err, func() error {
			var want []mmclient.User
			if err := json.Unmarshal(rec.Body, &want); err != nil {
				return err
			}
			if !reflect.DeepEqual(users, want) {
				return fmt.Errorf("%d users decoded, %d recorded, or fields differ", len(users), len(want))
			}
			return nil
		})
	case method == "GET" && path == "/users/stats":
		st, err := c.GetUserStats(ctx)
		return true, checkResult(rec, err, func() error {
			var want mmclient.UserStats
			if err := json.Unmarshal(rec.Body, &want); err != nil {
				return err
			}
			if *st != want {
				return fmt.Errorf("decoded %+v, recorded %+v", *st, want)
			}
			return nil
		})
	}
	return false, nil
}

func clientUserID(pathID string) string {
	if pathID == "me" || len(pathID) == 26 && !strings.ContainsAny(pathID, "-_") {
		return pathID
	}
	return validUserID
}

// recordedStatuses returns the recorded entries keyed by user id (the last
// of duplicates wins, as in GetStatusesByIDs) and the ids to ask for.
func recordedStatuses(rec recorded) (map[string]mmclient.Status, []string) {
	var entries []mmclient.Status
	if rec.Meta.StatusCode != http.StatusOK || json.Unmarshal(rec.Body, &entries) != nil {
		return nil, []string{validUserID}
	}
	want := make(map[string]mmclient.Status, len(entries))
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		want[e.UserID] = e
		ids = append(ids, e.UserID)
	}
	return want, ids
}

func sameStatus(body []byte, got *mmclient.Status) error {
	var want mmclient.Status
	if err := json.Unmarshal(body, &want); err != nil {
		return err
	}
	if *got != want {
		return fmt.Errorf("decoded %+v, recorded %+v", *got, want)
	}
	return nil
}

// checkResult checks a 2xx answer with ok, and a recorded error answer
// against the client's *APIError: status code, AppError id and message,
// request id and Retry-After.
func checkResult(rec recorded, err error, ok func() error) error {
	if rec.Meta.StatusCode >= 200 && rec.Meta.StatusCode < 300 {
		if err != nil {
			return fmt.Errorf("recorded HTTP %d, client error: %w", rec.Meta.StatusCode, err)
		}
		return ok()
	}
	var ae *mmclient.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("recorded HTTP %d, client returned %v, want an *APIError", rec.Meta.StatusCode, err)
	}
	var want struct {
		ID        string `json:"id"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(rec.Body, &want)
	if want.RequestID == "" {
		want.RequestID = rec.Meta.ResponseHeaders["X-Request-Id"]
	}
	if ae.StatusCode != rec.Meta.StatusCode || ae.ID != want.ID || (want.ID != "" && ae.Message != want.Message) || ae.RequestID != want.RequestID {
		return fmt.Errorf("client error %+v, recorded HTTP %d id %q message %q request id %q", ae, rec.Meta.StatusCode, want.ID, want.Message, want.RequestID)
	}
	if ra := rec.Meta.ResponseHeaders["Retry-After"]; ra != "" {
		sec, _ := strconv.Atoi(ra)
		if ae.RetryAfter != time.Duration(sec)*time.Second {
			return fmt.Errorf("Retry-After %v, recorded %q", ae.RetryAfter, ra)
		}
	}
	return nil
}

func checkPing(rec recorded, p *mmclient.Ping, err error) error {
	if rec.Meta.StatusCode != http.StatusOK {
		return checkResult(rec, err, nil)
	}
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	var body struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		return err
	}
	if p.Status != body.Status {
		return fmt.Errorf("status %q, recorded %q", p.Status, body.Status)
	}
	header := rec.Meta.ResponseHeaders["X-Version-Id"]
	f := strings.Split(header, ".")
	if len(f) < 6 {
		return fmt.Errorf("recorded X-Version-Id %q is malformed", header)
	}
	if !p.HasVersion {
		if len(f[len(f)-2]) == 64 {
			return errNeedsClientFix{fix64HexVersion}
		}
		return fmt.Errorf("no version from X-Version-Id %q", header)
	}
	wantVersion, wantBuild := strings.Join(f[:3], "."), strings.Join(f[3:len(f)-2], ".")
	if p.Version.Version != wantVersion || p.Version.BuildNumber != wantBuild || p.Version.Licensed != (f[len(f)-1] == "true") || p.Version.Raw != header {
		return fmt.Errorf("version %+v from %q", p.Version, header)
	}
	return nil
}

func TestClientDecodesEveryFixture(t *testing.T) {
	ctx := context.Background()
	for _, set := range clientFixtureSets {
		metas, err := filepath.Glob(filepath.Join(set.dir, "*.meta"))
		if err != nil || len(metas) == 0 {
			t.Fatalf("%s: no fixtures (%v)", set.name, err)
		}
		decoded, noMethod, noBody := 0, []string{}, []string{}
		for _, m := range metas {
			name := strings.TrimSuffix(filepath.Base(m), ".meta")
			rec := testhelp.LoadFixture(t, set.dir, name)
			if rec.Body == nil {
				noBody = append(noBody, name)
				continue
			}
			var matched bool
			t.Run(set.name+"/"+name, func(t *testing.T) {
				srv := serveRecorded(t, rec)
				c, err := mmclient.New(mmclient.Options{BaseURL: srv.URL, Token: "replayed", MaxRetries: -1})
				if err != nil {
					t.Fatal(err)
				}
				var cerr error
				matched, cerr = clientCheck(ctx, c, rec)
				if !matched {
					t.Skipf("no client method for %s %s", rec.Meta.Request.Method, rec.Meta.Request.Path)
				}
				var fix errNeedsClientFix
				if errors.As(cerr, &fix) {
					t.Skip(fix.Error())
				}
				if cerr != nil {
					t.Error(cerr)
				}
			})
			if matched {
				decoded++
			} else {
				noMethod = append(noMethod, name)
			}
		}
		t.Logf("%s: %d fixtures decoded through a client method; no client method: %v; no body recorded: %v", set.name, decoded, noMethod, noBody)
	}
}
