package mmtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkStatusesByIDs measures one POST /users/status/ids answered by the
// fake's handler (no network): parsing the id list, looking the ids up and
// encoding the answer. The fake serves make bench at a million users, so
// this is what a change of the id parsing costs there.
func BenchmarkStatusesByIDs(b *testing.B) {
	users := GenerateUsers(100000, 1)
	for _, n := range []int{200, 1000, 10000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = users[(i*7919)%len(users)].ID
		}
		body, err := json.Marshal(ids)
		if err != nil {
			b.Fatal(err)
		}
		for _, era := range []Era{Era537, Era11} {
			b.Run("era="+era.String()+"/ids="+strconv.Itoa(n), func(b *testing.B) {
				s := New(Config{Users: users, Era: era, MaximumPayloadSizeBytes: -1})
				h := s.Handler()
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/api/v4/users/status/ids", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+AdminToken)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("HTTP %d: %s", w.Code, w.Body.Bytes())
					}
				}
			})
		}
	}
}

// BenchmarkParseIDs measures parseIDs alone on 1,000 ids (29 KB).
func BenchmarkParseIDs(b *testing.B) {
	body, err := json.Marshal(randomIDs(1000, 3))
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if ids, err = parseIDs(body, ids); err != nil || len(ids) != 1000 {
			b.Fatal(len(ids), err)
		}
	}
}
