package mmclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// APIError is returned for every non-2xx response (and for an AppError that
// a server appended to a 2xx body, see UpdateUserActive). Use errors.As.
type APIError struct {
	Endpoint   string
	StatusCode int
	ID         string        // Mattermost AppError id, "" when body was not AppError JSON
	Message    string        // AppError message, or a short sanitized excerpt of a non-JSON body (<=200 bytes)
	RequestID  string        // body request_id or X-Request-Id header
	RetryAfter time.Duration // parsed Retry-After on 429
}

// Error implements error. It never contains the token.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Endpoint, e.StatusCode)
	if e.ID != "" {
		s += " " + e.ID
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request_id=" + e.RequestID + ")"
	}
	return s
}

// IsForbidden reports whether err is (or wraps) an *APIError with HTTP 403.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsUnauthorized reports whether err is (or wraps) an *APIError with HTTP 401.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsTooManyRequests reports whether err is (or wraps) an *APIError with HTTP 429.
func IsTooManyRequests(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsRequestTooLarge reports whether err is (or wraps) an *APIError with 413: the
// request body exceeded the server's ServiceSettings.MaximumPayloadSizeBytes.
func IsRequestTooLarge(err error) bool { return hasStatus(err, http.StatusRequestEntityTooLarge) }

func hasStatus(err error, code int) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.StatusCode == code
}

// hasAppError reports whether err is (or wraps) an *APIError with status
// code and AppError id.
func hasAppError(err error, code int, id string) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.StatusCode == code && ae.ID == id
}

// ErrBodyTooLarge is wrapped by errors about a response body larger than
// its endpoint's cap (decoded bytes; see Options.MaxBodyBytes).
var ErrBodyTooLarge = errors.New("response body exceeds the size limit")

// appError is Mattermost's error body (both eras; is_oauth existed in 2021).
// detailed_error is left out on purpose: it is debugging text that can
// hold the token (a 401 for a bad token says "token=<the token>").
type appError struct {
	ID         string `json:"id"`
	Message    string `json:"message"`
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

// parseAppError decodes body as an AppError whatever the Content-Type (the
// router 404 is JSON labelled text/plain). ok is false unless body is a JSON
// object with a non-empty id or message.
func parseAppError(body []byte) (appError, bool) {
	var ae appError
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ae, false
	}
	if err := json.Unmarshal(trimmed, &ae); err != nil {
		return ae, false
	}
	if ae.ID == "" && ae.Message == "" {
		return ae, false
	}
	return ae, true
}

// maxExcerpt bounds the server-supplied text in an APIError field.
const maxExcerpt = 200

// sanitizeExcerpt turns an arbitrary (maybe HTML) body into a short single
// line: tags are dropped, whitespace and control characters collapse to one
// space, invalid UTF-8 is dropped, and the result is cut to limit bytes.
func sanitizeExcerpt(body []byte, limit int) string {
	var b strings.Builder
	inTag := false
	space := false
	for len(body) > 0 && b.Len() < limit {
		r, size := utf8.DecodeRune(body)
		body = body[size:]
		switch {
		case r == utf8.RuneError && size <= 1:
			continue
		case r == '<':
			inTag = true
			space = true
			continue
		case r == '>' && inTag:
			inTag = false
			continue
		case inTag:
			continue
		case r < 0x20 || r == 0x7f || r == ' ' || (r >= 0x80 && r < 0xa0):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if b.Len()+utf8.RuneLen(r) > limit {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cutUTF8 cuts s to at most limit bytes without splitting a rune.
func cutUTF8(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit]
}
