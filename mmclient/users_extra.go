package mmclient

import "strings"

// BaseURL returns the server root the client talks to, as normalised by
// ParseBaseURL (no /api/v4, no trailing slash, never credentials: New
// refuses a URL with userinfo). The users collector records it in its id
// cache file to recognise the server the file belongs to.
func (c *Client) BaseURL() string { return strings.TrimSuffix(c.api, "/api/v4") }
