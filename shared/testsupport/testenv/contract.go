package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"example.com/billing/shared/openapi"
)

// contract is the validator of the OpenAPI document, with the paths it
// documents. It is built once per test binary.
var contract = sync.OnceValues(func() (*contractChecker, error) {
	doc, err := libopenapi.NewDocument(openapi.Document)
	if err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build openapi.yaml: %w", err)
	}
	c := &contractChecker{
		v:       validator.NewValidatorFromV3Model(&model.Model, config.WithFormatAssertions()),
		methods: map[string]map[string]bool{},
	}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		c.methods[path] = map[string]bool{}
		for method := range item.GetOperations().KeysFromOldest() {
			c.methods[path][strings.ToUpper(method)] = true
		}
	}
	return c, nil
})

type contractChecker struct {
	mu      sync.Mutex // the validator's caches are not documented as safe for concurrent use
	v       validator.Validator
	methods map[string]map[string]bool // by path
}

// CheckContract fails t when an exchange with an HTTP function disagrees
// with shared/openapi's document (see CheckExchange). body is the request
// body as sent.
func CheckContract(t testing.TB, req *http.Request, body []byte, res *http.Response, resBody []byte) {
	t.Helper()
	if err := CheckExchange(req, body, res, resBody); err != nil {
		t.Error(err)
	}
}

// CheckExchange reports how an exchange disagrees with shared/openapi's
// document: every answer must be documented (status and body), and every
// request the function accepted (2xx) must be one the document describes.
// A method the document does not give the path must get 405
// method_not_allowed (OpenAPI cannot say so itself). A request to a path the
// document does not name (a test calling a handler at "/") is not checked.
func CheckExchange(req *http.Request, body []byte, res *http.Response, resBody []byte) error {
	c, err := contract()
	if err != nil {
		return err
	}
	methods, ok := c.methods[req.URL.Path]
	switch {
	case !ok:
		return nil
	case !methods[req.Method]:
		return checkMethodNotAllowed(req, res, resBody)
	}
	clone := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return r
	}
	answer := *res
	answer.Body = io.NopCloser(bytes.NewReader(resBody))
	c.mu.Lock()
	ok, errs := c.v.ValidateHttpResponse(clone(), &answer)
	if ok && res.StatusCode < 300 {
		ok, errs = c.v.ValidateHttpRequest(clone())
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s %s answered %d, which disagrees with shared/openapi/openapi.yaml:\n%s\nrequest body: %s\nanswer: %s",
			req.Method, req.URL.Path, res.StatusCode, describe(errs), body, resBody)
	}
	return nil
}

// checkMethodNotAllowed checks the answer to a method the path does not
// take: 405 and exactly the contract's error.
func checkMethodNotAllowed(req *http.Request, res *http.Response, resBody []byte) error {
	var got struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(resBody))
	dec.DisallowUnknownFields()
	if res.StatusCode != http.StatusMethodNotAllowed || dec.Decode(&got) != nil || got.Error.Code != "method_not_allowed" || got.Error.Message == "" {
		return fmt.Errorf("%s %s: the document gives the path no %s, so the answer must be 405 method_not_allowed; got %d %s",
			req.Method, req.URL.Path, req.Method, res.StatusCode, resBody)
	}
	return nil
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %s: %s\n", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "    %s: %s\n", se.FieldPath, se.Reason)
		}
	}
	return b.String()
}

// record serves req with h and returns the answer and its body, checked
// against the contract.
func record(t testing.TB, h http.Handler, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	CheckContract(t, req, body, res, raw)
	return res, raw
}
