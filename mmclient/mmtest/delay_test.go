package mmtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// TestDelayFaultEndsWhenClientHangsUp: a Delay fault on a POST must notice
// the client giving up (its deadline), so the handler ends and Close does
// not wait for the whole delay.
func TestDelayFaultEndsWhenClientHangsUp(t *testing.T) {
	users := mmtest.GenerateUsers(50, 7)
	s := mmtest.NewServer(mmtest.Config{Users: users})
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	c, err := mmclient.New(mmclient.Options{BaseURL: s.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}

	for _, tc := range []struct {
		endpoint string
		call     func(context.Context) error
	}{
		{mmtest.EndpointStatusesByIDs, func(ctx context.Context) error {
			return c.StreamStatusesByIDs(ctx, ids, func(*mmclient.Status) error { return nil })
		}},
		{mmtest.EndpointUserStatus, func(ctx context.Context) error {
			_, err := c.UpdateUserStatus(ctx, users[0].ID, mmclient.StatusAway, 0)
			return err
		}},
		{mmtest.EndpointPing, func(ctx context.Context) error { _, err := c.Ping(ctx); return err }},
	} {
		s.SetFault(tc.endpoint, mmtest.Fault{Delay: time.Hour, Times: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := tc.call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: err = %v, want the client's deadline", tc.endpoint, err)
		}
	}

	// A delayed fault with Code 0 answers normally after the delay: the
	// body read before waiting still reaches the handler.
	admin, err := mmclient.New(mmclient.Options{BaseURL: s.URL, Token: mmtest.AdminToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.SetFault(mmtest.EndpointStatusesByIDs, mmtest.Fault{Delay: time.Millisecond, Times: 1})
	got, err := c.GetStatusesByIDs(context.Background(), ids)
	if err != nil || len(got) != len(ids) {
		t.Fatalf("slow status answer: %d statuses, %v", len(got), err)
	}
	s.SetFault(mmtest.EndpointUserStatus, mmtest.Fault{Delay: time.Millisecond, Times: 1})
	st, err := admin.UpdateUserStatus(context.Background(), users[1].ID, mmclient.StatusDND, 0)
	if err != nil || st.UserID != users[1].ID || st.Status != mmclient.StatusDND {
		t.Fatalf("slow PUT status: %+v, %v", st, err)
	}
	if n := s.Requests(mmtest.EndpointUserStatus); n != 2 {
		t.Fatalf("user_status requests = %d, want 2", n)
	}

	// Close must not wait for the abandoned handlers' hour. The 10 s timer
	// only guards against hanging the test run.
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	closed = true
	guard := time.NewTimer(10 * time.Second)
	defer guard.Stop()
	select {
	case <-done:
	case <-guard.C:
		t.Fatal("Server.Close still blocked: a delayed handler did not notice the client hanging up")
	}
}
