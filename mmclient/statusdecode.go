package mmclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeStatuses reads the POST /users/status/ids answer, a JSON array of
// Status objects, as a token stream and calls fn for each element; fn's
// *Status is reused for the next element. It accepts what encoding/json
// accepts for []Status, with the same values (field names matched
// case-insensitively as encoding/json does, unknown fields skipped,
// null leaves a field unchanged, the last duplicate wins, invalid UTF-8
// becomes U+FFFD), except a null element, which is rejected. More than
// limit elements fail with ErrTooManyItems. A user_id equal to one of sent
// (the ids of the request) is given sent's string instead of a new one, so
// that a sweep does not allocate a string per user.
func decodeStatuses(r io.Reader, limit int, sent []string, fn func(int, *Status) error) error {
	dec := jsontext.NewDecoder(r, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return decodeErr(err)
	}
	switch tok.Kind() {
	case 'n':
		return checkEOF(dec)
	case '[':
	default:
		return fmt.Errorf("decode response: want a JSON array, got %v", tok.Kind())
	}
	var st Status
	var buf []byte
	ids := sentIDs{ids: sent}
	for n := 0; ; n++ {
		switch dec.PeekKind() {
		case ']':
			if _, err := dec.ReadToken(); err != nil {
				return decodeErr(err)
			}
			return checkEOF(dec)
		case '{':
		case 'n':
			return fmt.Errorf("decode response: element %d: %w", n, errNullElement)
		case 0: // invalid input or read error: ReadToken reports it
			_, err := dec.ReadToken()
			return decodeErr(err)
		default:
			return fmt.Errorf("decode response: element %d is not an object", n)
		}
		if n >= limit {
			return fmt.Errorf("decode response: more than %d elements: %w", limit, ErrTooManyItems)
		}
		if _, err := dec.ReadToken(); err != nil {
			return decodeErr(err)
		}
		st = Status{}
		idx := -1 // of st.UserID in sent
		for dec.PeekKind() != '}' {
			name, err := dec.ReadValue()
			if err != nil {
				return decodeErr(err)
			}
			field := st.fieldExact(name[1 : len(name)-1])
			if field == nil {
				field = st.field(unquote(&buf, name))
			}
			v, err := dec.ReadValue()
			if err != nil {
				return decodeErr(err)
			}
			kind := v.Kind()
			if field == nil || kind == 'n' { // unknown; null leaves the field as it is
				continue
			}
			ok := false
			switch f := field.(type) {
			case *string:
				if ok = kind == '"'; ok {
					if f == &st.UserID {
						*f, idx = stringValue(&buf, v, &ids, true)
					} else {
						*f, _ = stringValue(&buf, v, &ids, false)
					}
				}
			case *bool:
				ok, *f = kind == 't' || kind == 'f', kind == 't'
			case *int64:
				if ok = kind == '0'; ok {
					if *f, err = parseInt(v); err != nil {
						return fmt.Errorf("decode response: element %d: %w", n, err)
					}
				}
			}
			if !ok {
				return fmt.Errorf("decode response: element %d: JSON %v for a %T field", n, kind, field)
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return decodeErr(err)
		}
		if err := fn(idx, &st); err != nil {
			return err
		}
	}
}

// sentIDs finds an answered user id among the ids sent. Answers come in
// request order (5.37) or sorted (11.x; the exporter sends sorted ids), so
// the id after the last one found is tried first, then a binary search when
// the ids sent are sorted (checked at the first miss: most answers never
// need it).
type sentIDs struct {
	ids    []string
	next   int
	sorted int8 // 0 unknown, 1 sorted, -1 not sorted
}

// find returns the index of the sent id equal to b, or -1.
func (s *sentIDs) find(b []byte) int {
	// Mattermost answers the ids with a cached status first, then the
	// others, each in request order: the id sought is usually the next
	// one or a few after it.
	for i := s.next; i < min(s.next+findAhead, len(s.ids)); i++ {
		if s.ids[i] == string(b) {
			s.next = i + 1
			return i
		}
	}
	if s.sorted == 0 {
		s.sorted = -1
		if slices.IsSorted(s.ids) {
			s.sorted = 1
		}
	}
	if s.sorted > 0 {
		if i, found := slices.BinarySearch(s.ids, string(b)); found {
			s.next = i + 1
			return i
		}
	}
	return -1
}

// stringValue returns the text of the JSON string v: a Status* constant or,
// for a user id (isID), a sent id when it is one (with its index, else -1),
// without allocating; otherwise a new string. The common answers (ASCII, no
// escapes) are matched on v's raw bytes, before any unquoting or UTF-8 check.
func stringValue(buf *[]byte, v []byte, ids *sentIDs, isID bool) (string, int) {
	raw := v[1 : len(v)-1]
	for range 2 {
		if k, known := KnownStatus(raw); known && !isID {
			return k, -1
		}
		if isID {
			if i := ids.find(raw); i >= 0 {
				return ids.ids[i], i
			}
		}
		str := unquote(buf, v)
		if len(str) == len(raw) && (len(str) == 0 || &str[0] == &raw[0]) {
			return string(str), -1 // nothing to unquote: raw was the text
		}
		raw = str
	}
	return string(raw), -1
}

// findAhead is how many sent ids after the last one found are compared
// before a binary search.
const findAhead = 8

// errNullElement is returned for a null element in the status array
// (encoding/json would make it a zero Status, which is no user's status).
var errNullElement = errors.New("null element in status array")

// parseInt is strconv.ParseInt(v, 10, 64) for a JSON number v, without
// its checks for the common case: up to 18 digits, which cannot overflow
// (about 14 ns a number against 35; BenchmarkParseInt).
func parseInt(v []byte) (int64, error) {
	if len(v) > 18 {
		return strconv.ParseInt(string(v), 10, 64)
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return strconv.ParseInt(string(v), 10, 64)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// field returns a pointer to the field of s whose JSON name key matches
// (exactly or under Unicode simple case folding, as with encoding/json:
// "STATUS" and "ſtatus" are "status"), or nil.
func (s *Status) field(key []byte) any {
	if f := s.fieldExact(key); f != nil {
		return f
	}
	for _, name := range [...]string{"user_id", "status", "manual", "last_activity_at", "dnd_end_time", "active_channel"} {
		if strings.EqualFold(string(key), name) {
			return s.fieldExact([]byte(name))
		}
	}
	return nil
}

// fieldExact is field for a name spelled exactly as the server sends it;
// it needs no unquoting (such a name has no escapes), so the decoder tries
// it on the raw name first.
func (s *Status) fieldExact(key []byte) any {
	switch string(key) {
	case "user_id":
		return &s.UserID
	case "status":
		return &s.Status
	case "manual":
		return &s.Manual
	case "last_activity_at":
		return &s.LastActivityAt
	case "dnd_end_time":
		return &s.DNDEndTime
	case "active_channel":
		return &s.ActiveChannel
	}
	return nil
}

// unquote returns the text of the JSON string v (checked by the decoder):
// v's own bytes when it has no escapes and is valid UTF-8, else the text
// decoded into *buf (invalid UTF-8 and lone surrogates become U+FFFD, as
// with encoding/json).
func unquote(buf *[]byte, v []byte) []byte {
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw
	}
	*buf, _ = jsontext.AppendUnquote((*buf)[:0], v)
	return *buf
}

// checkEOF insists that nothing but whitespace follows the top-level value.
func checkEOF(dec *jsontext.Decoder) error {
	switch _, err := dec.ReadToken(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return decodeErr(err)
	default:
		return errors.New("decode response: data after the JSON value")
	}
}

// decodeErr wraps a jsontext error (a read error stays visible to errors.Is);
// a body that ends early is io.ErrUnexpectedEOF, as with encoding/json.
func decodeErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("decode response: %w", err)
}
