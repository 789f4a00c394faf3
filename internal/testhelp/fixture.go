package testhelp

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// FixtureMeta is the .meta file of an answer captured from a real
// Mattermost (testdata/<era>/<name>.meta): the request, the answer's
// status and headers, and the file holding its body.
type FixtureMeta struct {
	Case    string `json:"case"`
	Request struct {
		Method          string          `json:"method"`
		Path            string          `json:"path"`
		Auth            string          `json:"auth"` // a description; "" when null
		Body            json.RawMessage `json:"body"`
		BodyDescription string          `json:"body_description"`
	} `json:"request"`
	StatusCode      int               `json:"status_code"`
	ResponseHeaders map[string]string `json:"response_headers"`
	BodyFile        *string           `json:"body_file"`
	BodyExcerpt     string            `json:"body_excerpt"`
	BodySummary     *struct {
		Length int `json:"length"`
	} `json:"body_summary"`
}

// Fixture is one captured answer.
type Fixture struct {
	Meta FixtureMeta
	// Header holds the captured response headers but those net/http
	// writes itself for the body it sends (length, date, encodings,
	// connection).
	Header http.Header
	Body   []byte // nil when the case has no body file
}

// LoadFixture reads dir/name.meta and the body file it names (relative to
// the .meta file).
func LoadFixture(tb testing.TB, dir, name string) Fixture {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name+".meta"))
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	f := Fixture{Header: http.Header{}}
	if err := json.Unmarshal(raw, &f.Meta); err != nil {
		tb.Fatalf("fixture %s.meta: %v", name, err)
	}
	if b := f.Meta.BodyFile; b != nil {
		if f.Body, err = os.ReadFile(filepath.Join(dir, filepath.Dir(name), *b)); err != nil {
			tb.Fatalf("fixture body: %v", err)
		}
	}
	for k, v := range f.Meta.ResponseHeaders {
		switch k {
		case "Content-Length", "Date", "Connection", "Transfer-Encoding", "Content-Encoding":
			continue
		}
		f.Header.Set(k, v)
	}
	return f
}

// Serve writes the captured answer.
func (f Fixture) Serve(w http.ResponseWriter) {
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(f.Meta.StatusCode)
	_, _ = w.Write(f.Body)
}
