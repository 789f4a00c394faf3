package mmclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
// becomes U+FFFD), except a null element, which is rejected. More than max
// elements fail with ErrTooManyItems.
func decodeStatuses(r io.Reader, max int, fn func(*Status) error) error {
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
		if n >= max {
			return fmt.Errorf("decode response: more than %d elements: %w", max, ErrTooManyItems)
		}
		if _, err := dec.ReadToken(); err != nil {
			return decodeErr(err)
		}
		st = Status{}
		for dec.PeekKind() != '}' {
			name, err := dec.ReadValue()
			if err != nil {
				return decodeErr(err)
			}
			key := unquote(&buf, name)
			field, kind := statusField(key), dec.PeekKind()
			if field == "" || kind == 'n' {
				if err := dec.SkipValue(); err != nil {
					return decodeErr(err)
				}
				continue
			}
			v, err := dec.ReadValue()
			if err != nil {
				return decodeErr(err)
			}
			switch field {
			case "manual":
				if kind != 't' && kind != 'f' {
					return typeErr(n, field, kind)
				}
				st.Manual = kind == 't'
			case "last_activity_at", "dnd_end_time":
				if kind != '0' {
					return typeErr(n, field, kind)
				}
				i, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					return fmt.Errorf("decode response: element %d: %s: %w", n, field, err)
				}
				if field == "dnd_end_time" {
					st.DNDEndTime = i
				} else {
					st.LastActivityAt = i
				}
			default: // the string fields
				if kind != '"' {
					return typeErr(n, field, kind)
				}
				str := unquote(&buf, v)
				switch field {
				case "user_id":
					st.UserID = string(str)
				case "status":
					if s, ok := KnownStatus(str); ok {
						st.Status = s
					} else {
						st.Status = string(str)
					}
				default:
					st.ActiveChannel = string(str)
				}
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return decodeErr(err)
		}
		if err := fn(&st); err != nil {
			return err
		}
	}
}

// errNullElement is returned for a null element in the status array
// (encoding/json would make it a zero Status, which is no user's status).
var errNullElement = errors.New("null element in status array")

// statusFields are Status's JSON names.
var statusFields = [...]string{"user_id", "status", "manual", "last_activity_at", "dnd_end_time", "active_channel"}

// statusField returns the Status JSON name key matches, or "": an exact
// match, else one under Unicode simple case folding, as encoding/json
// matches names ("STATUS" and "ſtatus" are "status").
func statusField(key []byte) string {
	switch string(key) {
	case "user_id":
		return "user_id"
	case "status":
		return "status"
	case "manual":
		return "manual"
	case "last_activity_at":
		return "last_activity_at"
	case "dnd_end_time":
		return "dnd_end_time"
	case "active_channel":
		return "active_channel"
	}
	for _, f := range statusFields {
		if strings.EqualFold(string(key), f) {
			return f
		}
	}
	return ""
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

func typeErr(n int, field string, kind jsontext.Kind) error {
	return fmt.Errorf("decode response: element %d: %s: unexpected JSON %v", n, field, kind)
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
