package mmclient

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// This file holds the streaming decoder of the POST /users/status/ids
// response: a JSON array of Status objects, possibly tens of megabytes. It
// is a hand-written scanner over a reused buffer: known fields are decoded
// in place, unknown fields of any JSON type are validated and skipped, and
// each element is handed to the callback with strings aliasing per-decoder
// scratch buffers, so a steady-state element costs no allocation.
//
// It accepts exactly the inputs encoding/json.Unmarshal into []Status
// accepts, with the same result (keys matched case-insensitively, null
// leaves a field unchanged, the last duplicate key wins, invalid UTF-8 and
// lone surrogates become U+FFFD), except that a null array element is
// rejected (encoding/json would produce a zero Status) and non-whitespace
// after the array is rejected. FuzzStatusDecoder checks this.

const (
	decoderBufSize  = 32 << 10
	maxNestingDepth = 10000 // as encoding/json
)

// errNullElement is returned for a null element in the status array.
var errNullElement = errors.New("null element in status array")

// syntaxError reports malformed JSON in a status stream (offset = bytes into
// the body).
type syntaxError struct {
	offset int64
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("decode response: %s at offset %d", e.msg, e.offset)
}

type statusField uint8

const (
	fieldUnknown statusField = iota
	fieldUserID
	fieldStatus
	fieldManual
	fieldLastActivityAt
	fieldDNDEndTime
	fieldActiveChannel
)

type statusDecoder struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of valid data in buf
	base int64 // body offset of buf[0]
	eof  bool  // r returned io.EOF
	rerr error // sticky read error other than io.EOF

	st       Status
	idBuf    []byte
	stateBuf []byte
	chanBuf  []byte
	keyBuf   []byte
}

var decoderPool = sync.Pool{New: func() any {
	return &statusDecoder{buf: make([]byte, decoderBufSize)}
}}

func getStatusDecoder(r io.Reader) *statusDecoder {
	d := decoderPool.Get().(*statusDecoder)
	d.reset(r)
	return d
}

// maxPooledScratch bounds the string scratch buffers a pooled decoder
// keeps; real values are at most a few dozen bytes.
const maxPooledScratch = 4 << 10

func putStatusDecoder(d *statusDecoder) {
	d.clearForPool()
	decoderPool.Put(d)
}

// clearForPool drops what a pooled decoder must not keep: the reader, the
// strings aliasing the scratch buffers, and buffers grown by one huge value
// (the body limit allows values of tens of megabytes).
func (d *statusDecoder) clearForPool() {
	d.r = nil
	d.st = Status{}
	if cap(d.buf) > 4*decoderBufSize {
		d.buf = make([]byte, decoderBufSize)
	}
	for _, b := range []*[]byte{&d.idBuf, &d.stateBuf, &d.chanBuf, &d.keyBuf} {
		if cap(*b) > maxPooledScratch {
			*b = nil
		}
	}
}

func (d *statusDecoder) reset(r io.Reader) {
	d.r = r
	d.pos, d.end, d.base = 0, 0, 0
	d.eof, d.rerr = false, nil
	if d.buf == nil {
		d.buf = make([]byte, decoderBufSize)
	}
}

func (d *statusDecoder) syntaxErr(msg string) error {
	return &syntaxError{offset: d.base + int64(d.pos), msg: msg}
}

// fill reads more data. Bytes from keep on are preserved (moved to the
// front); it returns how far they moved. ok is false when no more data
// could be read (EOF or read error; see d.rerr).
func (d *statusDecoder) fill(keep int) (shift int, ok bool) {
	if d.rerr != nil || d.eof {
		return 0, false
	}
	if keep > 0 {
		n := copy(d.buf, d.buf[keep:d.end])
		d.base += int64(keep)
		d.pos -= keep
		d.end = n
		shift = keep
	}
	if d.end == len(d.buf) {
		nb := make([]byte, 2*len(d.buf))
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err != nil {
			if err == io.EOF {
				d.eof = true
			} else {
				d.rerr = err
			}
			return shift, n > 0
		}
		if n > 0 {
			return shift, true
		}
	}
	d.rerr = io.ErrNoProgress
	return shift, false
}

// eofErr is the error for input that ended too early.
func (d *statusDecoder) eofErr() error {
	if d.rerr != nil {
		return fmt.Errorf("reading response: %w", d.rerr)
	}
	return d.syntaxErr("unexpected end of JSON input")
}

// ws skips whitespace and returns (and consumes) the next byte.
func (d *statusDecoder) ws() (byte, error) {
	for {
		for d.pos < d.end {
			c := d.buf[d.pos]
			d.pos++
			if c > ' ' || !isSpace(c) {
				return c, nil
			}
		}
		if _, ok := d.fill(d.pos); !ok {
			return 0, d.eofErr()
		}
	}
}

// peek returns the next byte without consuming it; ok=false at end of input.
func (d *statusDecoder) peek() (byte, bool) {
	if d.pos < d.end {
		return d.buf[d.pos], true
	}
	if _, ok := d.fill(d.pos); !ok {
		return 0, false
	}
	return d.buf[d.pos], true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decode reads the whole array, calling fn per element.
func (d *statusDecoder) decode(fn func(*Status) error) error {
	c, err := d.ws()
	if err != nil {
		if d.rerr == nil && d.end == 0 {
			return d.syntaxErr("empty response body")
		}
		return err
	}
	switch c {
	case '[':
	case 'n':
		if err := d.literal("ull"); err != nil {
			return err
		}
		return d.trailing()
	default:
		d.pos--
		return d.syntaxErr(fmt.Sprintf("want a JSON array, got %s", quoteChar(c)))
	}
	c, err = d.ws()
	if err != nil {
		return err
	}
	if c == ']' {
		return d.trailing()
	}
	for {
		switch c {
		case '{':
			if err := d.object(); err != nil {
				return err
			}
		case 'n':
			if err := d.literal("ull"); err != nil {
				return err
			}
			return fmt.Errorf("decode response: %w at offset %d", errNullElement, d.base+int64(d.pos))
		default:
			d.pos--
			return d.syntaxErr(fmt.Sprintf("array element starting with %s is not an object", quoteChar(c)))
		}
		if err := fn(&d.st); err != nil {
			return err
		}
		c, err = d.ws()
		if err != nil {
			return err
		}
		switch c {
		case ',':
			c, err = d.ws()
			if err != nil {
				return err
			}
		case ']':
			return d.trailing()
		default:
			d.pos--
			return d.syntaxErr(fmt.Sprintf("invalid character %s after array element", quoteChar(c)))
		}
	}
}

// trailing insists that only whitespace follows the top-level value.
func (d *statusDecoder) trailing() error {
	for {
		for d.pos < d.end {
			c := d.buf[d.pos]
			if !isSpace(c) {
				return d.syntaxErr(fmt.Sprintf("invalid character %s after top-level value", quoteChar(c)))
			}
			d.pos++
		}
		if _, ok := d.fill(d.pos); !ok {
			if d.rerr != nil {
				return fmt.Errorf("reading response: %w", d.rerr)
			}
			return nil
		}
	}
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	if c >= 0x20 && c < 0x7f {
		return "'" + string(c) + "'"
	}
	return fmt.Sprintf("0x%02x", c)
}

// literal consumes rest (the tail of true/false/null).
func (d *statusDecoder) literal(rest string) error {
	for i := 0; i < len(rest); i++ {
		c, ok := d.peek()
		if !ok {
			return d.eofErr()
		}
		if c != rest[i] {
			return d.syntaxErr(fmt.Sprintf("invalid character %s in literal", quoteChar(c)))
		}
		d.pos++
	}
	return nil
}

// object decodes one element; '{' has been consumed.
func (d *statusDecoder) object() error {
	d.st = Status{}
	c, err := d.ws()
	if err != nil {
		return err
	}
	if c == '}' {
		return nil
	}
	for {
		if c != '"' {
			d.pos--
			return d.syntaxErr(fmt.Sprintf("invalid character %s looking for object key", quoteChar(c)))
		}
		start, end, esc, err := d.str()
		if err != nil {
			return err
		}
		f := d.matchKey(start, end, esc)
		if c, err = d.ws(); err != nil {
			return err
		}
		if c != ':' {
			d.pos--
			return d.syntaxErr(fmt.Sprintf("invalid character %s after object key", quoteChar(c)))
		}
		if c, err = d.ws(); err != nil {
			return err
		}
		switch f {
		case fieldUserID:
			err = d.stringField(c, &d.idBuf, &d.st.UserID, false)
		case fieldStatus:
			err = d.stringField(c, &d.stateBuf, &d.st.Status, true)
		case fieldActiveChannel:
			err = d.stringField(c, &d.chanBuf, &d.st.ActiveChannel, false)
		case fieldManual:
			err = d.boolField(c, &d.st.Manual)
		case fieldLastActivityAt:
			err = d.intField(c, &d.st.LastActivityAt)
		case fieldDNDEndTime:
			err = d.intField(c, &d.st.DNDEndTime)
		default:
			err = d.skipValue(c, 3)
		}
		if err != nil {
			return err
		}
		if c, err = d.ws(); err != nil {
			return err
		}
		switch c {
		case ',':
			if c, err = d.ws(); err != nil {
				return err
			}
		case '}':
			return nil
		default:
			d.pos--
			return d.syntaxErr(fmt.Sprintf("invalid character %s after object key:value pair", quoteChar(c)))
		}
	}
}

// strSpecial marks bytes that end the fast path of a string scan.
var strSpecial = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	for i := 0x80; i < 0x100; i++ {
		t[i] = true // non-ASCII: the raw bytes may need U+FFFD replacement
	}
	return t
}()

// str scans a string whose opening quote has been consumed and leaves
// buf[start:end] holding its raw (still escaped) contents, valid until the
// next read. slow reports escapes or non-ASCII bytes (which need decoding).
func (d *statusDecoder) str() (start, end int, slow bool, err error) {
	start = d.pos
	i := d.pos
	for {
		for i < d.end {
			c := d.buf[i]
			if !strSpecial[c] {
				i++
				continue
			}
			switch {
			case c == '"':
				d.pos = i + 1
				return start, i, slow, nil
			case c == '\\':
				slow = true
				// Need the escape char and, for \u, four hex digits.
				for i+6 > d.end {
					shift, ok := d.fill(start)
					start -= shift
					i -= shift
					if !ok {
						break
					}
				}
				if i+1 >= d.end {
					d.pos = d.end
					return 0, 0, false, d.eofErr()
				}
				switch d.buf[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
				case 'u':
					if i+6 > d.end {
						d.pos = d.end
						return 0, 0, false, d.eofErr()
					}
					for k := i + 2; k < i+6; k++ {
						if !isHex(d.buf[k]) {
							d.pos = k
							return 0, 0, false, d.syntaxErr("invalid character in \\u hexadecimal character escape")
						}
					}
					i += 6
				default:
					d.pos = i + 1
					return 0, 0, false, d.syntaxErr("invalid character in string escape code")
				}
			case c < 0x20:
				d.pos = i
				return 0, 0, false, d.syntaxErr("invalid control character in string literal")
			default: // non-ASCII
				slow = true
				i++
			}
		}
		shift, ok := d.fill(start)
		start -= shift
		i -= shift
		if !ok {
			d.pos = d.end
			return 0, 0, false, d.eofErr()
		}
	}
}

// skipString scans a string without keeping it (no buffer growth).
func (d *statusDecoder) skipString() error {
	for {
		// Keep at most the current position so an escape split across
		// reads is still visible.
		for d.pos < d.end {
			c := d.buf[d.pos]
			if !strSpecial[c] || c >= 0x80 {
				d.pos++
				continue
			}
			if c == '"' {
				d.pos++
				return nil
			}
			if c < 0x20 {
				return d.syntaxErr("invalid control character in string literal")
			}
			// backslash: validate via str() from here, which keeps only a
			// few bytes.
			for d.pos+6 > d.end {
				if _, ok := d.fill(d.pos); !ok {
					break
				}
			}
			if d.pos+1 >= d.end {
				d.pos = d.end
				return d.eofErr()
			}
			switch d.buf[d.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos += 2
			case 'u':
				if d.pos+6 > d.end {
					d.pos = d.end
					return d.eofErr()
				}
				for k := d.pos + 2; k < d.pos+6; k++ {
					if !isHex(d.buf[k]) {
						d.pos = k
						return d.syntaxErr("invalid character in \\u hexadecimal character escape")
					}
				}
				d.pos += 6
			default:
				d.pos++
				return d.syntaxErr("invalid character in string escape code")
			}
		}
		if _, ok := d.fill(d.pos); !ok {
			return d.eofErr()
		}
	}
}

// matchKey maps the key in buf[start:end] to a field, like encoding/json:
// exact match first, else a case-insensitive one.
func (d *statusDecoder) matchKey(start, end int, slow bool) statusField {
	k := d.buf[start:end]
	if slow {
		d.keyBuf = unquoteAppend(d.keyBuf[:0], k)
		k = d.keyBuf
	}
	switch string(k) { // no allocation: compiler optimizes string(k) in switch
	case "user_id":
		return fieldUserID
	case "status":
		return fieldStatus
	case "manual":
		return fieldManual
	case "last_activity_at":
		return fieldLastActivityAt
	case "dnd_end_time":
		return fieldDNDEndTime
	case "active_channel":
		return fieldActiveChannel
	}
	if len(k) < 6 || len(k) > 2*len("last_activity_at") {
		return fieldUnknown
	}
	switch {
	case foldEqual(k, "user_id"):
		return fieldUserID
	case foldEqual(k, "status"):
		return fieldStatus
	case foldEqual(k, "manual"):
		return fieldManual
	case foldEqual(k, "last_activity_at"):
		return fieldLastActivityAt
	case foldEqual(k, "dnd_end_time"):
		return fieldDNDEndTime
	case foldEqual(k, "active_channel"):
		return fieldActiveChannel
	}
	return fieldUnknown
}

// foldEqual reports whether key equals the lowercase ASCII name under
// Unicode simple case folding, as encoding/json matches field names. Of
// the non-ASCII runes only U+017F (long s) folds to an ASCII letter used in
// our names ('s'; U+212A Kelvin folds to 'k', which none of them contains).
func foldEqual(key []byte, name string) bool {
	j := 0
	for i := 0; i < len(key); {
		if j >= len(name) {
			return false
		}
		c := key[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != name[j] {
				return false
			}
			i++
			j++
			continue
		}
		r, size := utf8.DecodeRune(key[i:])
		switch {
		case r == 0x17F && name[j] == 's':
		case r == 0x212A && name[j] == 'k':
		default:
			return false
		}
		i += size
		j++
	}
	return j == len(name)
}

// stringField decodes a string (or null: unchanged) into scratch and points
// *dst at it. With intern, the Status* constants are used when they match.
func (d *statusDecoder) stringField(c byte, scratch *[]byte, dst *string, intern bool) error {
	switch c {
	case '"':
	case 'n':
		return d.literal("ull")
	default:
		d.pos--
		return d.syntaxErr(fmt.Sprintf("value starting with %s in a string field", quoteChar(c)))
	}
	start, end, slow, err := d.str()
	if err != nil {
		return err
	}
	raw := d.buf[start:end]
	if intern && !slow {
		if k, ok := KnownStatus(raw); ok {
			*dst = k
			return nil
		}
	}
	// The previous value (duplicate key) may live in scratch; it is
	// replaced, as encoding/json replaces it.
	if slow {
		*scratch = unquoteAppend((*scratch)[:0], raw)
	} else {
		*scratch = append((*scratch)[:0], raw...)
	}
	if len(*scratch) == 0 {
		*dst = ""
		return nil
	}
	if intern {
		switch string(*scratch) {
		case StatusOnline, StatusAway, StatusDND, StatusOffline, StatusOOO:
			*dst = internStatusString(string(*scratch))
			return nil
		}
	}
	*dst = unsafe.String(unsafe.SliceData(*scratch), len(*scratch))
	return nil
}

func (d *statusDecoder) boolField(c byte, dst *bool) error {
	switch c {
	case 't':
		if err := d.literal("rue"); err != nil {
			return err
		}
		*dst = true
		return nil
	case 'f':
		if err := d.literal("alse"); err != nil {
			return err
		}
		*dst = false
		return nil
	case 'n':
		return d.literal("ull")
	}
	d.pos--
	return d.syntaxErr(fmt.Sprintf("value starting with %s in a bool field", quoteChar(c)))
}

// intField decodes an integer number that fits int64 (or null: unchanged).
// Fractions, exponents and overflow are errors, as with encoding/json.
func (d *statusDecoder) intField(c byte, dst *int64) error {
	if c == 'n' {
		return d.literal("ull")
	}
	if c != '-' && (c < '0' || c > '9') {
		d.pos--
		return d.syntaxErr(fmt.Sprintf("value starting with %s in an integer field", quoteChar(c)))
	}
	neg := c == '-'
	if neg {
		var ok bool
		if c, ok = d.peek(); !ok {
			return d.eofErr()
		}
		if c < '0' || c > '9' {
			return d.syntaxErr("invalid character in numeric literal")
		}
		d.pos++
	}
	var u uint64
	overflow := false
	u = uint64(c - '0')
	if c != '0' {
	digits:
		for {
			for d.pos < d.end {
				c2 := d.buf[d.pos]
				if c2 < '0' || c2 > '9' {
					break digits
				}
				d.pos++
				dig := uint64(c2 - '0')
				if u > (1<<63)/10 || u*10 > (1<<63)-dig {
					overflow = true
				} else {
					u = u*10 + dig
				}
			}
			if _, ok := d.fill(d.pos); !ok {
				break
			}
		}
	}
	// A fraction or exponent makes a valid number that is not an integer.
	if c2, ok := d.peek(); ok && (c2 == '.' || c2 == 'e' || c2 == 'E') {
		if err := d.numberTail(); err != nil {
			return err
		}
		return d.syntaxErr("cannot decode non-integer number into an integer field")
	}
	if overflow || (!neg && u > 1<<63-1) {
		return d.syntaxErr("number overflows int64")
	}
	if neg {
		*dst = -int64(u) // u <= 1<<63 ; -(1<<63) wraps to MinInt64 correctly
	} else {
		*dst = int64(u)
	}
	return nil
}

// number validates a JSON number whose first byte c has been consumed.
func (d *statusDecoder) number(c byte) error {
	if c == '-' {
		var ok bool
		if c, ok = d.peek(); !ok {
			return d.eofErr()
		}
		if c < '0' || c > '9' {
			return d.syntaxErr("invalid character in numeric literal")
		}
		d.pos++
	}
	if c != '0' {
		d.digits()
	}
	return d.numberTail()
}

func (d *statusDecoder) digits() int {
	n := 0
	for {
		c, ok := d.peek()
		if !ok || c < '0' || c > '9' {
			return n
		}
		d.pos++
		n++
	}
}

// numberTail validates an optional fraction and exponent.
func (d *statusDecoder) numberTail() error {
	c, ok := d.peek()
	if ok && c == '.' {
		d.pos++
		if d.digits() == 0 {
			if _, ok := d.peek(); !ok {
				return d.eofErr()
			}
			return d.syntaxErr("invalid character after decimal point in numeric literal")
		}
		c, ok = d.peek()
	}
	if ok && (c == 'e' || c == 'E') {
		d.pos++
		if c, ok = d.peek(); ok && (c == '+' || c == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			if _, ok := d.peek(); !ok {
				return d.eofErr()
			}
			return d.syntaxErr("invalid character in exponent of numeric literal")
		}
	}
	return nil
}

// skipValue validates and skips a value whose first byte c was consumed.
// depth is the nesting depth of the value (the top-level array is 1).
func (d *statusDecoder) skipValue(c byte, depth int) error {
	switch c {
	case '"':
		return d.skipString()
	case 't':
		return d.literal("rue")
	case 'f':
		return d.literal("alse")
	case 'n':
		return d.literal("ull")
	case '{', '[':
		if depth > maxNestingDepth {
			return d.syntaxErr("exceeded max depth")
		}
		return d.skipContainer(c, depth)
	}
	if c == '-' || (c >= '0' && c <= '9') {
		return d.number(c)
	}
	d.pos--
	return d.syntaxErr(fmt.Sprintf("invalid character %s looking for beginning of value", quoteChar(c)))
}

func (d *statusDecoder) skipContainer(open byte, depth int) error {
	c, err := d.ws()
	if err != nil {
		return err
	}
	if open == '[' {
		if c == ']' {
			return nil
		}
		for {
			if err := d.skipValue(c, depth+1); err != nil {
				return err
			}
			if c, err = d.ws(); err != nil {
				return err
			}
			switch c {
			case ']':
				return nil
			case ',':
				if c, err = d.ws(); err != nil {
					return err
				}
			default:
				d.pos--
				return d.syntaxErr(fmt.Sprintf("invalid character %s after array element", quoteChar(c)))
			}
		}
	}
	if c == '}' {
		return nil
	}
	for {
		if c != '"' {
			d.pos--
			return d.syntaxErr(fmt.Sprintf("invalid character %s looking for object key", quoteChar(c)))
		}
		if err := d.skipString(); err != nil {
			return err
		}
		if c, err = d.ws(); err != nil {
			return err
		}
		if c != ':' {
			d.pos--
			return d.syntaxErr(fmt.Sprintf("invalid character %s after object key", quoteChar(c)))
		}
		if c, err = d.ws(); err != nil {
			return err
		}
		if err := d.skipValue(c, depth+1); err != nil {
			return err
		}
		if c, err = d.ws(); err != nil {
			return err
		}
		switch c {
		case '}':
			return nil
		case ',':
			if c, err = d.ws(); err != nil {
				return err
			}
		default:
			d.pos--
			return d.syntaxErr(fmt.Sprintf("invalid character %s after object key:value pair", quoteChar(c)))
		}
	}
}

// unquoteAppend decodes the raw contents of a validated JSON string the way
// encoding/json does: escapes resolved, surrogate pairs combined, lone
// surrogates and invalid UTF-8 bytes replaced with U+FFFD.
func unquoteAppend(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case '"', '\\', '/':
				dst = append(dst, s[i+1])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := rune(hex4(s[i+2 : i+6]))
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2 = rune(hex4(s[i+2 : i+6]))
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

func hex4(b []byte) int {
	v := 0
	for _, c := range b[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c-'a') + 10
		default:
			v |= int(c-'A') + 10
		}
	}
	return v
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
