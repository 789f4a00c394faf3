package mmtest_test

// These tests decode the real captured responses and the fake's answers
// through mmclient and compare the results: what the exporter sees from the
// fake must be what it would see from the real server.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const fixtureDir = "../../testdata/real-mattermost"

type replayMeta struct {
	StatusCode      int               `json:"status_code"`
	ResponseHeaders map[string]string `json:"response_headers"`
	BodyFile        *string           `json:"body_file"`
}

// replay serves one fixture's recorded answer to every request.
func replay(t *testing.T, name string) *httptest.Server {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, name+".meta"))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	var m replayMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode fixture meta: %v", err)
	}
	if m.BodyFile == nil {
		t.Fatalf("fixture %s has no body file", name)
	}
	body, err := os.ReadFile(filepath.Join(fixtureDir, *m.BodyFile))
	if err != nil {
		t.Fatalf("read fixture body: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range m.ResponseHeaders {
			switch k {
			case "Content-Length", "Date", "Transfer-Encoding":
				continue
			}
			w.Header().Set(k, v)
		}
		w.WriteHeader(m.StatusCode)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func client(t *testing.T, url, token string) *mmclient.Client {
	t.Helper()
	c, err := mmclient.New(mmclient.Options{BaseURL: url, Token: token, MaxRetries: -1})
	if err != nil {
		t.Fatalf("mmclient.New: %v", err)
	}
	return c
}

// pair returns a client of the fixture replay and one of a fake.
func pair(t *testing.T, fixture string, fake *mmtest.Server, token string) (realC, fakeC *mmclient.Client) {
	t.Helper()
	return client(t, replay(t, fixture).URL, "replayed"), client(t, fake.URL, token)
}

// sameAPIError checks both errors are *APIError with the same code, id,
// message, endpoint and Retry-After, and that the fake's has a request id
// when the real one has.
func sameAPIError(t *testing.T, realErr, fakeErr error) {
	t.Helper()
	var r, f *mmclient.APIError
	if !errors.As(realErr, &r) {
		t.Fatalf("replay: want *APIError, got %v", realErr)
	}
	if !errors.As(fakeErr, &f) {
		t.Fatalf("fake: want *APIError, got %v", fakeErr)
	}
	if r.StatusCode != f.StatusCode || r.ID != f.ID || r.Message != f.Message || r.Endpoint != f.Endpoint || r.RetryAfter != f.RetryAfter {
		t.Errorf("errors differ:\n real %+v\n fake %+v", r, f)
	}
	if (r.RequestID != "") != (f.RequestID != "") {
		t.Errorf("request id presence differs: real %q, fake %q", r.RequestID, f.RequestID)
	}
}

func readStatuses(t *testing.T, name string) []mmclient.Status {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var st []mmclient.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// seed stores every non-synthesized status of a fixture answer in the fake.
func seed(s *mmtest.Server, st []mmclient.Status) {
	for _, e := range st {
		if e.Status == "offline" && !e.Manual && e.LastActivityAt == 0 {
			continue
		}
		s.SetStatusAt(e.UserID, e.Status, e.Manual, e.LastActivityAt)
	}
}

func TestClientDecodesAlike(t *testing.T) {
	ctx := context.Background()

	t.Run("ping", func(t *testing.T) {
		r, f := pair(t, "system_ping", mmtest.Start(t, mmtest.Config{}), "")
		rp, err1 := r.Ping(ctx)
		fp, err2 := f.Ping(ctx)
		if err1 != nil || err2 != nil {
			t.Fatalf("ping: real %v, fake %v", err1, err2)
		}
		if !reflect.DeepEqual(rp, fp) {
			t.Errorf("ping differs: real %+v, fake %+v", rp, fp)
		}
		if !fp.HasVersion || fp.Version.Version != "5.37.0" {
			t.Errorf("fake ping version %+v", fp.Version)
		}
	})

	t.Run("client config", func(t *testing.T) {
		r, f := pair(t, "config_client_old_format_no_token", mmtest.Start(t, mmtest.Config{}), "")
		rc, err1 := r.GetClientConfig(ctx)
		fc, err2 := f.GetClientConfig(ctx)
		if err1 != nil || err2 != nil {
			t.Fatalf("client config: real %v, fake %v", err1, err2)
		}
		if len(rc) != len(fc) {
			t.Errorf("key count: real %d, fake %d", len(rc), len(fc))
		}
		for _, k := range []string{"Version", "BuildNumber", "BuildEnterpriseReady", "EnableSaml", "BuildHashEnterprise", "SiteName"} {
			if rc[k] != fc[k] {
				t.Errorf("%s: real %q, fake %q", k, rc[k], fc[k])
			}
		}
	})

	t.Run("cluster admin and non-admin", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{})
		r, f := pair(t, "cluster_status_admin", fake, mmtest.AdminToken)
		rn, err1 := r.GetClusterStatus(ctx)
		fn, err2 := f.GetClusterStatus(ctx)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(rn, fn) || len(fn) != 0 {
			t.Errorf("cluster: real %v %v, fake %v %v", rn, err1, fn, err2)
		}
		r, f = pair(t, "cluster_status_nonadmin", fake, mmtest.UserToken)
		_, err1 = r.GetClusterStatus(ctx)
		_, err2 = f.GetClusterStatus(ctx)
		sameAPIError(t, err1, err2)
		if !mmclient.IsForbidden(err2) {
			t.Errorf("fake non-admin cluster error is not forbidden: %v", err2)
		}
	})

	t.Run("saml admin and non-admin", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{})
		r, f := pair(t, "saml_certificate_status_admin", fake, mmtest.AdminToken)
		rs, err1 := r.GetSAMLCertificateStatus(ctx)
		fs, err2 := f.GetSAMLCertificateStatus(ctx)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(rs, fs) {
			t.Errorf("saml: real %+v %v, fake %+v %v", rs, err1, fs, err2)
		}
		r, f = pair(t, "saml_certificate_status_nonadmin", fake, mmtest.UserToken)
		_, err1 = r.GetSAMLCertificateStatus(ctx)
		_, err2 = f.GetSAMLCertificateStatus(ctx)
		sameAPIError(t, err1, err2)
	})

	for _, name := range []string{"status_ids_mixed", "status_ids_duplicates", "status_ids_order", "status_ids_deactivated", "status_ids_n1000"} {
		t.Run(name, func(t *testing.T) {
			st := readStatuses(t, name)
			fake := mmtest.Start(t, mmtest.Config{})
			seed(fake, st)
			ids := make([]string, len(st))
			for i, e := range st {
				ids[i] = e.UserID
			}
			r, f := pair(t, name, fake, mmtest.AdminToken)
			rm, err1 := r.GetStatusesByIDs(ctx, ids)
			fm, err2 := f.GetStatusesByIDs(ctx, ids)
			if err1 != nil || err2 != nil {
				t.Fatalf("statuses: real %v, fake %v", err1, err2)
			}
			if !reflect.DeepEqual(rm, fm) {
				t.Errorf("statuses differ:\n real %v\n fake %v", rm, fm)
			}
			var rOrder, fOrder []string
			_ = r.StreamStatusesByIDs(ctx, ids, func(s *mmclient.Status) error { rOrder = append(rOrder, s.UserID); return nil })
			_ = f.StreamStatusesByIDs(ctx, ids, func(s *mmclient.Status) error { fOrder = append(fOrder, s.UserID); return nil })
			if !reflect.DeepEqual(rOrder, fOrder) {
				t.Errorf("stream order differs:\n real %v\n fake %v", rOrder, fOrder)
			}
		})
	}

	t.Run("status ids without token", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{})
		r, f := pair(t, "status_ids_no_token", fake, "")
		ids := []string{"5t9ttqdq5bbmif3xuzhznk9k7a", "oh6nwkutzpyzjgqd4rzdgww66w"}
		_, err1 := r.GetStatusesByIDs(ctx, ids)
		_, err2 := f.GetStatusesByIDs(ctx, ids)
		sameAPIError(t, err1, err2)
		if !mmclient.IsUnauthorized(err2) {
			t.Errorf("not unauthorized: %v", err2)
		}
	})

	for _, tc := range []struct{ name, id string }{
		{"get_user_status_admin", "xf4eosjakjymzps789y6tfukge"},
		{"get_user_status_unknown_id", "8btxqegf5nbfpqbc4qhtyk5itj"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := mmtest.Start(t, mmtest.Config{})
			fake.SetStatus("xf4eosjakjymzps789y6tfukge", "dnd", true)
			r, f := pair(t, tc.name, fake, mmtest.AdminToken)
			rs, err1 := r.GetUserStatus(ctx, tc.id)
			fs, err2 := f.GetUserStatus(ctx, tc.id)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(rs, fs) {
				t.Errorf("user status: real %+v %v, fake %+v %v", rs, err1, fs, err2)
			}
		})
	}

	t.Run("put status of another user as non-admin", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{})
		r, f := pair(t, "put_user_status_nonadmin_other", fake, mmtest.UserToken)
		_, err1 := r.UpdateUserStatus(ctx, "eznasqym83b1inm1j649y9h3ky", "online", 0)
		_, err2 := f.UpdateUserStatus(ctx, "eznasqym83b1inm1j649y9h3ky", "online", 0)
		sameAPIError(t, err1, err2)
	})

	t.Run("put status admin", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{})
		r, f := pair(t, "put_user_status_admin_other", fake, mmtest.AdminToken)
		rs, err1 := r.UpdateUserStatus(ctx, "6kd98hk7sifo3qjpho591uwkkh", "away", 0)
		fs, err2 := f.UpdateUserStatus(ctx, "6kd98hk7sifo3qjpho591uwkkh", "away", 0)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(rs, fs) {
			t.Errorf("put status: real %+v %v, fake %+v %v", rs, err1, fs, err2)
		}
	})

	t.Run("put active non-admin self", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{})
		r, f := pair(t, "put_active_nonadmin_self", fake, mmtest.UserToken)
		err1 := r.UpdateUserActive(ctx, "c119k88ns7dhiqoe1rzskd9mfo", false)
		err2 := f.UpdateUserActive(ctx, mmtest.UserUserID, false)
		sameAPIError(t, err1, err2)
	})

	t.Run("users page and stats", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{Users: fixtureAccounts(t)})
		r, f := pair(t, "users_page0_per_page200", fake, mmtest.AdminToken)
		ru, err1 := r.GetUsers(ctx, 0, 200)
		fu, err2 := f.GetUsers(ctx, 0, 200)
		if err1 != nil || err2 != nil || len(ru) != len(fu) || len(fu) != 200 {
			t.Fatalf("users: real %d %v, fake %d %v", len(ru), err1, len(fu), err2)
		}
		for i := range ru {
			if ru[i].ID != fu[i].ID || ru[i].Username != fu[i].Username || ru[i].IsBot != fu[i].IsBot ||
				(ru[i].DeleteAt > 0) != (fu[i].DeleteAt > 0) || ru[i].AuthService != fu[i].AuthService {
				t.Errorf("user %d: real %+v, fake %+v", i, ru[i], fu[i])
			}
		}
		r, f = pair(t, "users_stats_admin", fake, mmtest.AdminToken)
		rs, err1 := r.GetUserStats(ctx)
		fs, err2 := f.GetUserStats(ctx)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(rs, fs) {
			t.Errorf("stats: real %+v %v, fake %+v %v", rs, err1, fs, err2)
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		fake := mmtest.Start(t, mmtest.Config{RateLimit: &mmtest.RateLimit{PerSec: 10, Burst: 100}})
		r, f := pair(t, "ratelimit_429", fake, mmtest.AdminToken)
		var fakeErr error
		for i := 0; i < 1000 && fakeErr == nil; i++ {
			_, fakeErr = f.Ping(ctx)
		}
		_, realErr := r.Ping(ctx)
		sameAPIError(t, realErr, fakeErr)
		if !mmclient.IsTooManyRequests(fakeErr) {
			t.Errorf("not 429: %v", fakeErr)
		}
	})
}

// fixtureAccounts returns the fixture server's accounts (ids as recorded).
func fixtureAccounts(t *testing.T) []mmtest.UserSpec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, "state_index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var si struct {
		UsernameToID map[string]string `json:"username_to_id"`
		Deactivated  []string          `json:"deactivated"`
	}
	if err := json.Unmarshal(raw, &si); err != nil {
		t.Fatal(err)
	}
	deact := map[string]bool{}
	for _, u := range si.Deactivated {
		deact[u] = true
	}
	names := make([]string, 0, len(si.UsernameToID))
	for n := range si.UsernameToID {
		names = append(names, n)
	}
	sort.Strings(names)
	users := make([]mmtest.UserSpec, 0, len(names))
	for _, n := range names {
		users = append(users, mmtest.UserSpec{ID: si.UsernameToID[n], Username: n, IsBot: n == "exporterbot", Deactivated: deact[n]})
	}
	return users
}
