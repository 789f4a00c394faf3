package mmclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Ping is the result of GET /system/ping.
type Ping struct {
	Status     string        // "OK" or "UNHEALTHY"
	Version    ServerVersion // from this response's X-Version-Id
	HasVersion bool          // false when the header was absent or malformed
}

// Ping calls GET /system/ping (no auth needed; the token is still sent and
// ignored by the server). An unhealthy server answers HTTP 500 with the same
// JSON body: Ping then returns both a *Ping with Status "UNHEALTHY" and the
// *APIError.
func (c *Client) Ping(ctx context.Context) (*Ping, error) {
	var p *Ping
	err := c.do(ctx, request{endpoint: EndpointPing, method: http.MethodGet, path: "/system/ping", passStatus: http.StatusInternalServerError, maxBody: maxBodySmall},
		func(resp *http.Response, body io.Reader) error {
			data, err := readAll(body)
			if err != nil {
				return err
			}
			// Only "status" is read: newer servers add fields of other
			// types (11.x: "root_status": true for an admin).
			var out struct {
				Status string `json:"status"`
			}
			jerr := json.Unmarshal(data, &out)
			out.Status = c.excerpt([]byte(out.Status), maxExcerpt)
			if resp.StatusCode != http.StatusOK {
				e := c.apiError(EndpointPing, resp.StatusCode, resp.Header, data)
				// An AppError has no "status" key: this is the ping body of
				// an unhealthy server.
				if jerr == nil && out.Status != "" {
					e.Message = "server reports status " + cutUTF8(out.Status, 40)
					p = c.newPing(out.Status, resp.Header)
				}
				return e
			}
			if jerr != nil {
				return fmt.Errorf("decode response: %w", jerr)
			}
			if out.Status == "" {
				return errors.New("decode response: no status field")
			}
			p = c.newPing(out.Status, resp.Header)
			return nil
		})
	return p, err
}

func (c *Client) newPing(status string, h http.Header) *Ping {
	p := &Ping{Status: status}
	p.Version, p.HasVersion = c.parseVersion(h.Get("X-Version-Id"))
	return p
}

// GetClientConfig calls GET /config/client?format=old. Values that are not
// JSON strings (none in known eras) are returned as their raw JSON text.
// Keys and values pass the same redaction and length limit as error text
// (at most maxExcerpt bytes, one line).
func (c *Client) GetClientConfig(ctx context.Context) (map[string]string, error) {
	var out map[string]string
	err := c.do(ctx, request{endpoint: EndpointClientConfig, method: http.MethodGet, path: "/config/client", query: "format=old", maxBody: maxBodyClientConfig},
		func(_ *http.Response, body io.Reader) error {
			var raw map[string]json.RawMessage
			if err := c.decodeJSONObject(body, &raw); err != nil {
				return err
			}
			out = make(map[string]string, len(raw))
			for k, v := range raw {
				var s string
				if len(v) > 0 && v[0] == '"' {
					if err := json.Unmarshal(v, &s); err != nil {
						return fmt.Errorf("decode response: key %q: %w", k, err)
					}
				} else {
					s = string(v)
				}
				out[c.excerpt([]byte(k), maxExcerpt)] = c.excerpt([]byte(s), maxExcerpt)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetClusterStatus calls GET /cluster/status. A non-clustered server answers
// an empty list. Every string field is cut to maxExcerpt bytes and has the
// token redacted. At most DefaultMaxClusterNodes nodes are accepted, or the
// MaxItems option's count: a longer list fails with an error wrapping
// ErrTooManyItems, and decoding stops at the first node past the limit.
func (c *Client) GetClusterStatus(ctx context.Context, opts ...ListOption) ([]ClusterInfo, error) {
	limit := maxItems(opts, DefaultMaxClusterNodes)
	out, err := getArray[ClusterInfo](ctx, c, request{endpoint: EndpointClusterStatus, method: http.MethodGet, path: "/cluster/status", maxBody: maxBodyBase + int64(limit)*maxBodyPerNode}, limit)
	if err != nil {
		return nil, err
	}
	// The fields become label values: bounded and without the token.
	for i := range out {
		n := &out[i]
		for _, f := range []*string{&n.ID, &n.Version, &n.SchemaVersion, &n.ConfigHash, &n.IPAddress, &n.Hostname} {
			*f = c.excerpt([]byte(*f), maxExcerpt)
		}
	}
	return out, nil
}

// DefaultMaxClusterNodes bounds GET /cluster/status when no MaxItems option
// is given (real clusters have a handful of nodes).
const DefaultMaxClusterNodes = 100

// ErrTooManyItems is wrapped by the error of a list call whose answer holds
// more elements than allowed.
var ErrTooManyItems = errors.New("too many elements in the answer")

// ListOption configures a list call.
type ListOption func(*listOptions)

type listOptions struct{ maxItems int }

// MaxItems sets the most elements a list call accepts (n >= 1).
func MaxItems(n int) ListOption {
	return func(o *listOptions) {
		if n >= 1 {
			o.maxItems = n
		}
	}
}

// maxItems is the element limit set by opts, else def.
func maxItems(opts []ListOption, def int) int {
	lo := listOptions{maxItems: def}
	for _, o := range opts {
		o(&lo)
	}
	return lo.maxItems
}

// getArray runs req and decodes its answer, a JSON array of at most limit
// elements (see decodeArrayMax).
func getArray[T any](ctx context.Context, c *Client, req request, limit int) ([]T, error) {
	var out []T
	err := c.do(ctx, req, func(_ *http.Response, body io.Reader) error {
		var err error
		out, err = decodeArrayMax[T](body, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// idsJSON is json.Marshal(ids) for valid user ids (26 characters [a-z0-9],
// nothing to escape), written once into a buffer of the exact size.
// json.Marshal checks every byte for escaping and grows and copies its
// buffer: at 100,000 users that was about 24 ms of CPU per scrape
// (encoding/json.appendString in a CPU profile of make bench).
func idsJSON(ids []string) []byte {
	b := make([]byte, 0, max(2, 1+len(ids)*(UserIDLen+3))) // [ ] and n quoted ids with n-1 commas
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, id...)
		b = append(b, '"')
	}
	return append(b, ']')
}

// decodeArrayMax decodes a JSON array (or null) element by element and fails
// as soon as it holds more than limit elements, so that a hostile answer costs
// at most limit elements of memory and time. Trailing data is an error.
func decodeArrayMax[T any](body io.Reader, limit int) ([]T, error) {
	dec := json.NewDecoder(body)
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	out := []T{}
	switch tok {
	case nil: // null
	case json.Delim('['):
		for dec.More() {
			if len(out) >= limit {
				return nil, fmt.Errorf("decode response: more than %d elements: %w", limit, ErrTooManyItems)
			}
			var v T
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("decode response: element %d: %w", len(out), err)
			}
			out = append(out, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("decode response: %w", err)
		}
	default:
		// Only the kind of value: its text is the server's.
		kind := fmt.Sprintf("%T", tok)
		if d, ok := tok.(json.Delim); ok {
			kind = string(d)
		}
		return nil, fmt.Errorf("decode response: want a JSON array, got %s", kind)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode response: data after the JSON value")
	}
	return out, nil
}

// GetSAMLCertificateStatus calls GET /saml/certificate/status.
func (c *Client) GetSAMLCertificateStatus(ctx context.Context) (*SAMLCertificateStatus, error) {
	// The three flags are what the exporter reports: each must be there.
	var raw struct {
		IDP    *bool `json:"idp_certificate_file"`
		Key    *bool `json:"private_key_file"`
		Public *bool `json:"public_certificate_file"`
	}
	err := c.do(ctx, request{endpoint: EndpointSAMLCertificate, method: http.MethodGet, path: "/saml/certificate/status", maxBody: maxBodySmall},
		func(_ *http.Response, body io.Reader) error {
			if err := c.decodeJSONObject(body, &raw); err != nil {
				return err
			}
			if raw.IDP == nil || raw.Key == nil || raw.Public == nil {
				return errors.New("decode response: missing certificate fields")
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &SAMLCertificateStatus{IDPCertificateFile: *raw.IDP, PrivateKeyFile: *raw.Key, PublicCertificateFile: *raw.Public}, nil
}

// GetStatusesByIDs calls POST /users/status/ids and returns the statuses
// keyed by user_id (the server answers in its own order, and 2021-era
// servers repeat duplicates; the last one wins).
func (c *Client) GetStatusesByIDs(ctx context.Context, ids []string) (map[string]Status, error) {
	out := make(map[string]Status, len(ids))
	err := c.StreamStatusesByIDs(ctx, ids, func(s *Status) error {
		out[s.UserID] = *s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// StreamStatusesByIDs posts ids to POST /users/status/ids and decodes the
// response array as a stream, calling fn for each element without holding
// the whole body. fn's *Status is reused for the next element (copy the
// struct to keep it; its strings are its own, and Status is one of the
// Status* constants whenever it matches one). Returns
// the first validation, HTTP, decode or fn error; elements before a decode
// error have been delivered.
//
// Every id must be a 26-character lowercase alphanumeric user id; ids is
// sent as given (duplicates included). The answer may hold at most len(ids)
// elements (more fail with ErrTooManyItems) and maxBodyPerStatus bytes per
// id.
func (c *Client) StreamStatusesByIDs(ctx context.Context, ids []string, fn func(*Status) error) error {
	req, err := statusesRequest(ids)
	if err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%s: nil callback", EndpointStatusesByIDs)
	}
	return c.do(ctx, req, func(_ *http.Response, r io.Reader) error {
		return decodeStatuses(r, len(ids), ids, func(_ int, st *Status) error { return fn(st) })
	})
}

// ReadStatusesByIDs is the first half of StreamStatusesByIDs: it sends the
// request and reads the whole answer (under the same cap) into buf;
// DecodeStatuses is the second half. The connection
// is free again when it returns, so a caller that limits its requests in
// flight can decode one answer while its next request waits on the server.
func (c *Client) ReadStatusesByIDs(ctx context.Context, ids []string, buf *bytes.Buffer) error {
	req, err := statusesRequest(ids)
	if err != nil {
		return err
	}
	buf.Reset()
	return c.do(ctx, req, func(_ *http.Response, r io.Reader) error {
		_, err := buf.ReadFrom(r)
		return err
	})
}

// DecodeStatuses decodes an answer read by ReadStatusesByIDs for the same
// ids, as StreamStatusesByIDs does while reading (errors bounded and
// redacted the same way). fn also gets the index in ids of the element's
// user id (-1 for an id that was not sent), found while decoding: a caller
// matching answers to its request needs no search of its own.
func (c *Client) DecodeStatuses(body *bytes.Buffer, ids []string, fn func(i int, st *Status) error) error {
	if err := decodeStatuses(body, len(ids), ids, fn); err != nil {
		return c.boundedError(fmt.Errorf("%s: %w", EndpointStatusesByIDs, err))
	}
	return nil
}

// statusesRequest checks ids and builds their POST /users/status/ids
// request. At most one answer element per id sent: 11.x deduplicates,
// 5.37 repeats duplicates.
func statusesRequest(ids []string) (request, error) {
	if len(ids) == 0 {
		return request{}, fmt.Errorf("%s: no user ids", EndpointStatusesByIDs)
	}
	for i, id := range ids {
		if !IsUserID(id) {
			return request{}, fmt.Errorf("%s: invalid user id %.40q at index %d: want 26 characters a-z0-9", EndpointStatusesByIDs, id, i)
		}
	}
	return request{endpoint: EndpointStatusesByIDs, method: http.MethodPost, path: "/users/status/ids", body: idsJSON(ids),
		maxBody: maxBodyBase + int64(len(ids))*maxBodyPerStatus}, nil
}

// GetUserStatus calls GET /users/{id}/status; userID may be "me".
func (c *Client) GetUserStatus(ctx context.Context, userID string) (*Status, error) {
	if err := validateUserID(userID, true); err != nil {
		return nil, fmt.Errorf("%s: %w", EndpointUserStatus, err)
	}
	var out Status
	err := c.do(ctx, request{endpoint: EndpointUserStatus, method: http.MethodGet, path: "/users/" + url.PathEscape(userID) + "/status", maxBody: maxBodySmall},
		func(_ *http.Response, body io.Reader) error { return c.decodeJSONObject(body, &out) })
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUserStatus calls PUT /users/{id}/status. userID must be a real id
// (the server compares it with the body's user_id, so "me" is refused
// client-side); status must be online, away, dnd or offline ("ooo" is only
// set by the auto-responder); dndEndTime is epoch seconds for a timed "dnd"
// (0 = none) and is omitted for other statuses.
func (c *Client) UpdateUserStatus(ctx context.Context, userID string, status string, dndEndTime int64) (*Status, error) {
	if err := validateUserID(userID, false); err != nil {
		return nil, fmt.Errorf("%s: %w", EndpointUserStatus, err)
	}
	switch status {
	case StatusOnline, StatusAway, StatusDND, StatusOffline:
	default:
		return nil, fmt.Errorf("%s: invalid status %.40q: must be one of online, away, dnd, offline", EndpointUserStatus, status)
	}
	if dndEndTime < 0 {
		return nil, fmt.Errorf("%s: negative dnd end time", EndpointUserStatus)
	}
	if status != StatusDND {
		dndEndTime = 0
	}
	b, err := json.Marshal(struct {
		UserID     string `json:"user_id"`
		Status     string `json:"status"`
		DNDEndTime int64  `json:"dnd_end_time,omitempty"`
	}{userID, status, dndEndTime})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EndpointUserStatus, err)
	}
	var out Status
	err = c.do(ctx, request{endpoint: EndpointUserStatus, method: http.MethodPut, path: "/users/" + url.PathEscape(userID) + "/status", body: b, maxBody: maxBodySmall},
		func(_ *http.Response, body io.Reader) error { return c.decodeJSONObject(body, &out) })
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUserActive calls PUT /users/{id}/active with {"active": active};
// userID may be "me". Mattermost can answer HTTP 200 with {"status":"OK"}
// followed by an AppError when the update failed; that AppError is returned
// as an *APIError (StatusCode from its status_code, else 500).
func (c *Client) UpdateUserActive(ctx context.Context, userID string, active bool) error {
	if err := validateUserID(userID, true); err != nil {
		return fmt.Errorf("%s: %w", EndpointUserActive, err)
	}
	b := []byte(`{"active":false}`)
	if active {
		b = []byte(`{"active":true}`)
	}
	return c.do(ctx, request{endpoint: EndpointUserActive, method: http.MethodPut, path: "/users/" + url.PathEscape(userID) + "/active", body: b, maxBody: maxBodySmall},
		func(resp *http.Response, body io.Reader) error {
			data, err := readAll(body)
			if err != nil {
				return err
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			var first struct {
				Status string `json:"status"`
			}
			if err := dec.Decode(&first); err != nil {
				return fmt.Errorf("decode response: %w", err)
			}
			rest := bytes.TrimSpace(data[dec.InputOffset():])
			if len(rest) > 0 {
				if ae, ok := parseAppError(rest); ok {
					code := ae.StatusCode
					if code < 400 || code > 599 {
						code = http.StatusInternalServerError
					}
					return c.apiError(EndpointUserActive, code, resp.Header, rest)
				}
				return errors.New("decode response: unexpected data after the JSON object")
			}
			if first.Status != "OK" {
				return fmt.Errorf("unexpected response status %q", c.excerpt([]byte(first.Status), 40))
			}
			return nil
		})
}

// GetUsers calls GET /users?page=&per_page= without filters: the page holds
// active and deactivated users and bots, ordered by username. perPage must
// be at least 1; values above MaxPerPage are clamped to it (as the server
// would).
func (c *Client) GetUsers(ctx context.Context, page, perPage int) ([]User, error) {
	if perPage < 1 {
		return nil, fmt.Errorf("%s: per_page must be at least 1, got %d", EndpointUsers, perPage)
	}
	return getList[User](ctx, c, EndpointUsers, "/users", "", page, perPage, maxBodyPerUser)
}

// getList asks one page of a GET endpoint answering a JSON array: filter is
// a query prefix ("" or ending with '&'), perPage is clamped to
// 1..MaxPerPage, and the answer may hold at most perPage elements of about
// perItem bytes each.
func getList[T any](ctx context.Context, c *Client, endpoint, path, filter string, page, perPage int, perItem int64) ([]T, error) {
	if page < 0 {
		return nil, fmt.Errorf("%s: negative page %d", endpoint, page)
	}
	perPage = min(max(perPage, 1), MaxPerPage)
	q := filter + "page=" + strconv.Itoa(page) + "&per_page=" + strconv.Itoa(perPage)
	return getArray[T](ctx, c, request{endpoint: endpoint, method: http.MethodGet, path: path, query: q, maxBody: maxBodyBase + int64(perPage)*perItem}, perPage)
}

// GetUserStats calls GET /users/stats (active users, bots included); a
// negative count is an error.
func (c *Client) GetUserStats(ctx context.Context) (*UserStats, error) {
	var raw struct {
		Total *int64 `json:"total_users_count"`
	}
	err := c.do(ctx, request{endpoint: EndpointUserStats, method: http.MethodGet, path: "/users/stats", maxBody: maxBodySmall},
		func(_ *http.Response, body io.Reader) error {
			if err := c.decodeJSONObject(body, &raw); err != nil {
				return err
			}
			if raw.Total == nil {
				return errors.New("decode response: no total_users_count")
			}
			// A count cannot be negative; callers size memory from it.
			if *raw.Total < 0 {
				return fmt.Errorf("decode response: negative total_users_count %d", *raw.Total)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &UserStats{TotalUsersCount: *raw.Total}, nil
}

// UserIDLen is the length of a Mattermost user id (26 lowercase base32
// characters). The server rejects a whole status request if one id has
// another length.
const UserIDLen = 26

// validateUserID checks a path id: 26 characters [a-z0-9], or "me" when
// allowMe. Valid ids need no path escaping.
func validateUserID(id string, allowMe bool) error {
	if allowMe && id == "me" {
		return nil
	}
	if !IsUserID(id) {
		if allowMe {
			return fmt.Errorf("invalid user id %.40q: want 26 characters a-z0-9 or \"me\"", id)
		}
		return fmt.Errorf("invalid user id %.40q: want 26 characters a-z0-9", id)
	}
	return nil
}

// IsUserID reports whether id has the shape of a Mattermost id: UserIDLen
// characters a-z0-9 (nothing to escape in JSON or a URL path). The server
// rejects a whole status request holding one id of another shape.
func IsUserID(id string) bool {
	if len(id) != UserIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// decodeJSONObject reads the whole body and unmarshals it, insisting on a
// JSON object (unknown fields are ignored; trailing data is an error).
func (c *Client) decodeJSONObject(body io.Reader, v any) error {
	data, err := readAll(body)
	if err != nil {
		return err
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("decode response: want a JSON object, got %q", c.excerpt(t, 40))
	}
	if err := json.Unmarshal(t, v); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
