// Package apidoc holds the JSON API's OpenAPI 3.1 document, the one
// description of /api/v1: it is served at /api/v1/openapi.json, and the
// handler tests validate every request and answer against it, so it
// cannot drift from the code.
package apidoc

import _ "embed"

// JSON is the OpenAPI document.
//
//go:embed openapi.json
var JSON []byte
