package mmclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"
)

// decodeAll runs the stream decoder over data, delivered in chunks of
// chunk bytes (0 = all at once), and returns copies of the elements.
func decodeAll(data []byte, chunk int) ([]Status, error) {
	var r io.Reader = bytes.NewReader(data)
	if chunk > 0 {
		r = &chunkReader{data: data, n: chunk}
	}
	return decodeAllReader(r)
}

func decodeAllReader(r io.Reader) ([]Status, error) {
	var out []Status
	err := decodeStatuses(r, math.MaxInt, nil, func(_ int, s *Status) error {
		out = append(out, *s)
		return nil
	})
	return out, err
}

type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.n
	if n > len(p) {
		n = len(p)
	}
	if n > len(c.data) {
		n = len(c.data)
	}
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestStatusDecoderTable(t *testing.T) {
	const id = "5t9ttqdq5bbmif3xuzhznk9k7a"
	tests := []struct {
		name    string
		in      string
		want    []Status
		wantErr string // substring; "" = no error
	}{
		{name: "empty array", in: `[]`, want: nil},
		{name: "whitespace", in: " \n\t[ \r\n ] \n", want: nil},
		{name: "top-level null", in: `null`, want: nil},
		{name: "one element", in: `[{"user_id":"` + id + `","status":"online","manual":false,"last_activity_at":1795901562106,"dnd_end_time":0}]`,
			want: []Status{{UserID: id, Status: StatusOnline, LastActivityAt: 1795901562106}}},
		{name: "all fields and unknown fields of every type",
			in: `[{"x":{"a":[1,-2.5e+3,true,false,null,"s\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00",{}],"b":[]},"user_id":"` + id +
				`","status":"dnd","manual":true,"prev_status":"away","last_activity_at":-9223372036854775808,"dnd_end_time":9223372036854775807,` +
				`"active_channel":"chan\u0041","y":-0,"z":0.5,"w":1E9}]`,
			want: []Status{{UserID: id, Status: StatusDND, Manual: true, LastActivityAt: -9223372036854775808, DNDEndTime: 9223372036854775807, ActiveChannel: "chanA"}}},
		{name: "null fields leave values", in: `[{"status":"away","status":null,"manual":true,"manual":null,"user_id":null,"dnd_end_time":null}]`,
			want: []Status{{Status: StatusAway, Manual: true}}},
		{name: "last duplicate wins", in: `[{"user_id":"a","user_id":"b","status":"away","status":"online"}]`,
			want: []Status{{UserID: "b", Status: StatusOnline}}},
		{name: "case-insensitive keys", in: `[{"USER_ID":"x","Status":"ooo","MANUAL":true,"Last_Activity_At":5,"\u017ftatu\u017f":"away"}]`,
			want: []Status{{UserID: "x", Status: StatusAway, Manual: true, LastActivityAt: 5}}},
		{name: "exact key via escape", in: `[{"user\u005fid":"x"}]`, want: []Status{{UserID: "x"}}},
		{name: "unknown status kept", in: `[{"status":"busy"},{"status":"onl\u0069ne"}]`,
			want: []Status{{Status: "busy"}, {Status: StatusOnline}}},
		{name: "invalid utf8 and lone surrogate", in: "[{\"user_id\":\"a\xffb\\ud800c\"}]", want: []Status{{UserID: "a\uFFFDb\uFFFDc"}}},
		{name: "empty object", in: `[{}]`, want: []Status{{}}},
		{name: "empty body", in: ``, wantErr: "empty response body"},
		{name: "only whitespace", in: " \n", wantErr: "empty response body"},
		{name: "simple folding only", in: `[{"user_\u0131d":"u","act\u0130ve_channel":"c","\u212a":2,"\u017fTATU\u017f":"x"}]`, want: []Status{{Status: "x"}}},
		{name: "object not array", in: `{"user_id":"x"}`, wantErr: "want a JSON array"},
		{name: "truncated", in: `[{"user_id":"x","status":"on`, wantErr: "unexpected end"},
		{name: "truncated after element", in: `[{"user_id":"x"}`, wantErr: "unexpected end"},
		{name: "truncated after comma", in: `[{"user_id":"x"},`, wantErr: "unexpected end"},
		{name: "trailing comma", in: `[{"user_id":"x"},]`, wantErr: "not an object"},
		{name: "trailing data", in: `[] x`, wantErr: "after top-level value"},
		{name: "second array", in: `[][]`, wantErr: "after top-level value"},
		{name: "null element", in: `[null]`, wantErr: "null element"},
		{name: "number element", in: `[1]`, wantErr: "not an object"},
		{name: "string in bool", in: `[{"manual":"true"}]`, wantErr: "bool field"},
		{name: "number in string", in: `[{"user_id":5}]`, wantErr: "string field"},
		{name: "float in int", in: `[{"dnd_end_time":1.5}]`, wantErr: "non-integer"},
		{name: "exponent in int", in: `[{"dnd_end_time":1e3}]`, wantErr: "non-integer"},
		{name: "int overflow", in: `[{"last_activity_at":9223372036854775808}]`, wantErr: "overflows"},
		{name: "negative overflow", in: `[{"last_activity_at":-9223372036854775809}]`, wantErr: "overflows"},
		{name: "leading zero", in: `[{"last_activity_at":01}]`, wantErr: "invalid character"},
		{name: "bad literal", in: `[{"manual":tru}]`, wantErr: "in literal"},
		{name: "bad escape", in: `[{"x":"\q"}]`, wantErr: "escape"},
		{name: "bad unicode escape", in: `[{"user_id":"\u12g4"}]`, wantErr: "hexadecimal"},
		{name: "control char", in: "[{\"x\":\"a\nb\"}]", wantErr: "control character"},
		{name: "missing colon", in: `[{"x" 1}]`, wantErr: "after object key"},
		{name: "unquoted key", in: `[{x:1}]`, wantErr: "looking for object key"},
		{name: "bad nested", in: `[{"x":[1,]}]`, wantErr: "beginning of value"},
		{name: "bad number", in: `[{"x":-}]`, wantErr: "numeric literal"},
		{name: "bad fraction", in: `[{"x":1.}]`, wantErr: "decimal point"},
		{name: "bad exponent", in: `[{"x":1e+}]`, wantErr: "exponent"},
		{name: "html", in: `<html><body>502</body></html>`, wantErr: "want a JSON array"},
		{name: "deepest allowed", in: `[{"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}]`, want: []Status{{}}},
		{name: "too deep", in: `[{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}]`, wantErr: "max depth"},
	}
	for _, tc := range tests {
		for _, chunk := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("%s/chunk%d", tc.name, chunk), func(t *testing.T) {
				got, err := decodeAll([]byte(tc.in), chunk)
				var viaJSON []Status
				jerr := json.Unmarshal([]byte(tc.in), &viaJSON)
				if tc.wantErr != "" {
					if err == nil {
						t.Fatalf("no error, want one (%s)", tc.wantErr)
					}
					if jerr == nil && tc.name != "null element" {
						t.Fatalf("encoding/json accepts it, the decoder says %v", err)
					}
					return
				}
				if err != nil || jerr != nil {
					t.Fatalf("unexpected error: %v (encoding/json: %v)", err, jerr)
				}
				if !reflect.DeepEqual(got, tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, viaJSON)) {
					t.Fatalf("got %+v\nwant %+v\nencoding/json %+v", got, tc.want, viaJSON)
				}
			})
		}
	}
}

func TestStatusDecoderCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := decodeStatuses(strings.NewReader(`[{"user_id":"a"},{"user_id":"b"},{"user_id":"c"}]`), 10, nil, func(_ int, s *Status) error {
		n++
		if s.UserID == "b" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("err=%v n=%d, want stop after 2", err, n)
	}
}

func TestStatusDecoderMaxElements(t *testing.T) {
	data := makeStatusArray(5)
	n := 0
	err := decodeStatuses(bytes.NewReader(data), 3, nil, func(int, *Status) error { n++; return nil })
	if !errors.Is(err, ErrTooManyItems) || n != 3 {
		t.Fatalf("err=%v after %d elements, want ErrTooManyItems after 3", err, n)
	}
	if err := decodeStatuses(bytes.NewReader(data), 5, nil, func(int, *Status) error { return nil }); err != nil {
		t.Fatalf("exactly max elements: %v", err)
	}
}

func TestStatusDecoderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`[{"user_id":"a"},`), iotest.ErrReader(boom))
	_, err := decodeAllReader(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapping %v", err, boom)
	}
}

// TestStatusDecoderInternsStatus checks that known status values are the
// package constants (no copy per element).
func TestStatusDecoderInternsStatus(t *testing.T) {
	err := decodeStatuses(strings.NewReader(`[{"user_id":"a","status":"away"}]`), 1, nil, func(_ int, s *Status) error {
		if unsafe.StringData(s.Status) != unsafe.StringData(StatusAway) {
			t.Error("status is a copy")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "real-mattermost", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStatusDecoderFixtures decodes every captured status array and checks
// that it agrees with encoding/json.
func TestStatusDecoderFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "*-mattermost", "status_ids_*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			continue // AppError bodies
		}
		var want []Status
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, chunk := range []int{0, 7} {
			got, err := decodeAll(data, chunk)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s (chunk %d): decoded differently from encoding/json", f, chunk)
			}
		}
		checked++
	}
	if checked < 8 {
		t.Fatalf("only %d status array fixtures checked", checked)
	}
}

func TestStatusDecoderAllRealUsersCounts(t *testing.T) {
	data := readFixture(t, "status_ids_all_real_users.json")
	counts := map[string]int{}
	manual := 0
	got, err := decodeAll(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		counts[s.Status]++
		if s.Manual {
			manual++
		}
	}
	want := map[string]int{StatusOnline: 99, StatusAway: 101, StatusDND: 100, StatusOOO: 20, StatusOffline: 1683}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts = %v, want %v", counts, want)
	}
	if len(got) != 2003 {
		t.Fatalf("%d elements, want 2003", len(got))
	}
}

// makeStatusArray builds n elements shaped like real responses (about 120
// bytes each).
func makeStatusArray(n int) []byte {
	statuses := []string{"online", "away", "dnd", "offline", "offline", "ooo"}
	b := make([]byte, 0, n*125)
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"user_id":"%026d","status":"%s","manual":%t,"last_activity_at":%d,"dnd_end_time":%d}`,
			i, statuses[i%len(statuses)], i%3 == 0, 1795901562106+int64(i), (i%5)*1000)
	}
	return append(b, ']')
}

// TestStatusDecoderAllocations: one allocation per element (its user id)
// for known statuses, plus a fixed handful per call.
func TestStatusDecoderAllocations(t *testing.T) {
	data := makeStatusArray(10000)
	r := bytes.NewReader(data)
	n := 0
	allocs := testing.AllocsPerRun(5, func() {
		r.Reset(data)
		if err := decodeStatuses(r, 10000, nil, func(int, *Status) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if n != 6*10000 {
		t.Fatalf("decoded %d elements", n)
	}
	if allocs > 10000+50 {
		t.Fatalf("%.0f allocations for 10000 elements, want one per element", allocs)
	}

	// With the ids sent, in request order (5.37) or in another order
	// (11.x sorts its answer), the user ids reuse the sent strings.
	sent := make([]string, 10000)
	for i := range sent {
		sent[i] = fmt.Sprintf("%026d", i)
	}
	for _, order := range []string{"request order", "reversed"} {
		d := data
		if order == "reversed" {
			d = makeStatusArrayOrder(10000, func(i int) int { return 9999 - i })
		}
		var ids []string
		allocs := testing.AllocsPerRun(5, func() {
			ids = ids[:0]
			r.Reset(d)
			if err := decodeStatuses(r, 10000, sent, func(_ int, s *Status) error { ids = append(ids, s.UserID); return nil }); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 50 {
			t.Errorf("%s: %.0f allocations for 10000 elements with the ids sent, want a fixed handful", order, allocs)
		}
		if len(ids) != 10000 || !slices.Contains(sent, ids[0]) || !slices.Contains(sent, ids[9999]) {
			t.Errorf("%s: decoded ids %d, first %q", order, len(ids), ids[0])
		}
	}
	// An id that was not sent is still decoded (the caller rejects it).
	var got string
	if err := decodeStatuses(strings.NewReader(`[{"user_id":"zzzzzzzzzzzzzzzzzzzzzzzzzz"}]`), 1, sent, func(_ int, s *Status) error { got = s.UserID; return nil }); err != nil || got != "zzzzzzzzzzzzzzzzzzzzzzzzzz" {
		t.Errorf("unsent id: %q, %v", got, err)
	}
}

// makeStatusArrayOrder is makeStatusArray with element i holding user id
// order(i).
func makeStatusArrayOrder(n int, order func(int) int) []byte {
	b := []byte{'['}
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"user_id":"%026d","status":"online"}`, order(i))
	}
	return append(b, ']')
}

// BenchmarkStreamStatuses decodes 1,000 and 100,000 statuses.
func BenchmarkStreamStatuses(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			data := makeStatusArray(n)
			sent := make([]string, n)
			for i := range sent {
				sent[i] = fmt.Sprintf("%026d", i)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			r := bytes.NewReader(data)
			online := 0
			for b.Loop() {
				r.Reset(data)
				err := decodeStatuses(r, n, sent, func(_ int, s *Status) error {
					if s.Status == StatusOnline {
						online++
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if online == 0 {
				b.Fatal("nothing decoded")
			}
		})
	}
}

// BenchmarkStreamStatusesEncodingJSON is the encoding/json baseline.
func BenchmarkStreamStatusesEncodingJSON(b *testing.B) {
	data := makeStatusArray(100000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(data))
		if _, err := dec.Token(); err != nil {
			b.Fatal(err)
		}
		for dec.More() {
			var s Status
			if err := dec.Decode(&s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// hasNullElement reports whether data is a JSON array with a null element.
func hasNullElement(data []byte) bool {
	var raw []json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return false
	}
	for _, r := range raw {
		if string(r) == "null" {
			return true
		}
	}
	return false
}

// FuzzStatusDecoder compares the stream decoder with encoding/json:
// on inputs encoding/json accepts the results must be identical (except a
// null element, which the decoder rejects on purpose); inputs encoding/json
// rejects must be rejected.
func FuzzStatusDecoder(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*-mattermost", "status_ids_*.json"))
	for _, fn := range files {
		data, err := os.ReadFile(fn)
		if err == nil && len(data) < 4000 {
			f.Add(data)
		}
	}
	for _, s := range []string{
		`[]`, `null`, `[{}]`, `[null]`, `[{"user_id":"a\u00e9\ud83d\ude00","x":[{"y":null}],"manual":true}]`,
		`[{"USER_ID":"x","ſtatus":"away","last_activity_at":-0}]`, `[{"dnd_end_time":1e2}]`,
		"[{\"status\":\"\xff\"}]", `[{"a":"\ud800\u0041"}] `, `[{"act\u0130ve_channel":"c","user_\u0131d":"u"}]`,
		`[{"manual":null,"status":1}]`, `[{}] [`, `[{"last_activity_at":1.0}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []Status
		jerr := json.Unmarshal(data, &want)
		for _, chunk := range []int{0, 1} {
			got, err := decodeAll(data, chunk)
			switch {
			case jerr != nil && err == nil:
				t.Fatalf("accepted input encoding/json rejects (%v): %q", jerr, data)
			case jerr != nil:
			case err != nil:
				if errors.Is(err, errNullElement) && hasNullElement(data) {
					continue
				}
				t.Fatalf("rejected valid input: %v: %q", err, data)
			default:
				if len(got) == 0 && len(want) == 0 {
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("mismatch for %q:\n got %+v\nwant %+v", data, got, want)
				}
			}
		}
		if jerr != nil {
			return
		}
		// The same with the answered ids given as the ids sent (sorted,
		// as the exporter sends them): same values.
		var sent []string
		for _, st := range want {
			sent = append(sent, st.UserID)
		}
		slices.Sort(sent)
		var got []Status
		err := decodeStatuses(bytes.NewReader(data), math.MaxInt, slices.Compact(sent), func(_ int, s *Status) error {
			got = append(got, *s)
			return nil
		})
		if err == nil && (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
			t.Fatalf("with the ids sent, mismatch for %q:\n got %+v\nwant %+v", data, got, want)
		}
	})
}

// idsJSON writes what json.Marshal writes for valid user ids.
func TestIDsJSONIsJSONMarshal(t *testing.T) {
	for _, n := range []int{1, 2, 1000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%026d", i*7919)
		}
		want, err := json.Marshal(ids)
		if err != nil {
			t.Fatal(err)
		}
		got := idsJSON(ids)
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d: idsJSON = %.80s..., json.Marshal = %.80s...", n, got, want)
		}
		if cap(got) != len(got) {
			t.Errorf("n=%d: buffer of %d bytes for %d", n, cap(got), len(got))
		}
	}
}

func TestIsUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"abcdefghijklmnopqrstuvwxyz":       true,
		"0123456789abcdefghijklmnop":       true,
		"abcdefghijklmnopqrstuvwxy":        false, // 25
		"abcdefghijklmnopqrstuvwxyz0":      false,
		"Abcdefghijklmnopqrstuvwxyz":       false,
		"abcdefghijklmnopqrstuvwxy-":       false,
		"abcdefghijklmnopqrstuvwxy\x00":    false,
		"abcdefghijklmnopqrstuvwx\xc3\xa9": false,
		"abcdefghijklm{opqrstuvwxyz":       false,
		"abcdefghijklm/opqrstuvwxyz":       false,
		"abcdefghijklm:opqrstuvwxyz":       false,
		"abcdefghijklm`opqrstuvwxyz":       false,
	} {
		if got := IsUserID(id); got != want {
			t.Errorf("IsUserID(%q) = %v, want %v", id, got, want)
		}
	}
}

// BenchmarkStatusRequestBody shows what the hand-written request body
// earns over the standard library: idsJSON against json.Marshal for one
// batch of 1,000 ids (the same bytes, TestIDsJSONIsJSONMarshal).
func BenchmarkStatusRequestBody(b *testing.B) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", i*7919)
	}
	b.Run("idsJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = idsJSON(ids)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(ids); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSentIDsFind shows what looking a few ids ahead earns over a
// binary search alone, for answers in request order (as Mattermost sends
// them): 1,000 sorted ids found in turn.
func BenchmarkSentIDsFind(b *testing.B) {
	ids := make([]string, 1000)
	raw := make([][]byte, len(ids))
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", i*7919)
		raw[i] = []byte(ids[i])
	}
	b.Run("ahead", func(b *testing.B) {
		for b.Loop() {
			s := sentIDs{ids: ids}
			for _, r := range raw {
				if s.find(r) < 0 {
					b.Fatal("not found")
				}
			}
		}
	})
	b.Run("binary-search-only", func(b *testing.B) {
		for b.Loop() {
			for _, r := range raw {
				if _, found := slices.BinarySearch(ids, string(r)); !found {
					b.Fatal("not found")
				}
			}
		}
	})
}

// sentIDs.find looks a few ids ahead, then binary-searches only when the
// ids sent are sorted (an unsorted request gets no wrong index).
func TestSentIDsFind(t *testing.T) {
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", i)
	}
	s := sentIDs{ids: ids}
	for i := len(ids) - 1; i >= 0; i-- { // reverse: every find past the look-ahead
		if got := s.find([]byte(ids[i])); got != i {
			t.Fatalf("sorted: find(%s) = %d, want %d", ids[i], got, i)
		}
	}
	if got := s.find([]byte(fmt.Sprintf("%026d", 1000))); got != -1 {
		t.Fatalf("find of an id not sent = %d", got)
	}
	unsorted := slices.Clone(ids)
	unsorted[0], unsorted[99] = unsorted[99], unsorted[0]
	s = sentIDs{ids: unsorted}
	if got := s.find([]byte(unsorted[3])); got != 3 {
		t.Fatalf("unsorted, within the look-ahead: %d, want 3", got)
	}
	if got := s.find([]byte(unsorted[50])); got != -1 {
		t.Fatalf("unsorted, past the look-ahead: %d, want -1 (no binary search of unsorted ids)", got)
	}
}

// BenchmarkParseInt shows what parseInt earns over strconv.ParseInt for the
// two numbers of each status (last_activity_at, dnd_end_time), shaped as
// Mattermost sends them.
func BenchmarkParseInt(b *testing.B) {
	nums := [][]byte{[]byte("1795901562106"), []byte("0"), []byte("1795901563106"), []byte("5000")}
	b.Run("parseInt", func(b *testing.B) {
		for b.Loop() {
			for _, v := range nums {
				if _, err := parseInt(v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("strconv.ParseInt", func(b *testing.B) {
		for b.Loop() {
			for _, v := range nums {
				if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// mattermostIDs returns n random ids drawn from the alphabet of Mattermost's
// NewId (base32, 8 digits among 32 characters), as the real server makes
// them: the mix of letters and digits is what a check per byte branches on.
func mattermostIDs(n int) []string {
	const alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, n)
	b := make([]byte, UserIDLen)
	for i := range ids {
		for k := range b {
			b[k] = alphabet[rng.IntN(len(alphabet))]
		}
		ids[i] = string(b)
	}
	return ids
}

// isUserIDTable is IsUserID with a byte table instead of comparisons, for
// BenchmarkIsUserID.
func isUserIDTable(id string) bool {
	if len(id) != UserIDLen {
		return false
	}
	v := byte(1)
	for i := 0; i < UserIDLen; i++ {
		v &= userIDByteTest[id[i]]
	}
	return v == 1
}

var userIDByteTest = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	return t
}()

// BenchmarkIsUserID checks 1,000 ids shaped as Mattermost makes them (a
// sweep checks every cached id on every scrape): IsUserID's plain loop
// against a byte table, which is faster but not by enough to earn its
// lines (README, Performance).
func BenchmarkIsUserID(b *testing.B) {
	ids := mattermostIDs(1000)
	for _, f := range []struct {
		name string
		fn   func(string) bool
	}{{"IsUserID", IsUserID}, {"table", isUserIDTable}} {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				for _, id := range ids {
					if !f.fn(id) {
						b.Fatal(id)
					}
				}
			}
		})
	}
}
