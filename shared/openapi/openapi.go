// Package openapi holds the OpenAPI 3.1 document of every HTTP function
// (openapi.yaml beside this file): requests, answers, every error code, the
// auth schemes. The local server serves it; the tests validate every request
// and answer they exchange with the functions against it (testenv.Do), and
// a test fails when functions.go and the document disagree on the paths.
package openapi

import _ "embed"

// Document is the document, as YAML.
//
//go:embed openapi.yaml
var Document []byte
