package stripetest

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// store keeps one resource's objects by id and in creation order. Creation
// order is what Stripe's lists sort on (newest first) and what cursors
// point into; timestamps cannot serve because many objects share a second
// on the double's frozen clock.
type store[T any] struct {
	// noun is how Stripe names the object in "No such <noun>: 'id'".
	noun  string
	byID  map[string]*T
	ids   []string
	index map[string]int
}

func newStore[T any](noun string) *store[T] {
	return &store[T]{noun: noun, byID: map[string]*T{}, index: map[string]int{}}
}

func (st *store[T]) add(id string, v *T) {
	st.byID[id] = v
	st.index[id] = len(st.ids)
	st.ids = append(st.ids, id)
}

// remove forgets the object: from then on its id names nothing.
func (st *store[T]) remove(id string) {
	i, ok := st.index[id]
	if !ok {
		return
	}
	delete(st.byID, id)
	delete(st.index, id)
	st.ids = append(st.ids[:i], st.ids[i+1:]...)
	for j := i; j < len(st.ids); j++ {
		st.index[st.ids[j]] = j
	}
}

func (st *store[T]) get(id string) (*T, bool) {
	v, ok := st.byID[id]
	return v, ok
}

// all returns the objects in creation order.
func (st *store[T]) all() []*T {
	out := make([]*T, len(st.ids))
	for i, id := range st.ids {
		out[i] = st.byID[id]
	}
	return out
}

// noSuch is the error Stripe gives for an id that names nothing, in the
// parameter (or path segment) that carried it.
func (st *store[T]) noSuch(status int, id, param string) *apiError {
	e := &apiError{status: status, Type: typeInvalidRequest, Message: "No such " + st.noun + ": '" + id + "'", Param: param}
	return e.coded("resource_missing")
}

// lookup finds the object a path segment names, or answers Stripe's 404.
func (st *store[T]) lookup(c *call, param string) (*T, *apiError) {
	v, ok := st.get(c.pathParams[param])
	if !ok {
		return nil, st.noSuch(http.StatusNotFound, c.pathParams[param], param)
	}
	return v, nil
}

// listObject is Stripe's list envelope.
type listObject struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

// searchResult is Stripe's search envelope. Unlike lists, search pages with
// an opaque next_page token rather than object cursors.
type searchResult struct {
	Object   string  `json:"object"`
	Data     []any   `json:"data"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
	URL      string  `json:"url"`
}

// listParams are the paging parameters of a list that stripe-go's iterator
// sends; searchParams those of a search.
var (
	listParams   = []string{"limit", "starting_after"}
	searchParams = []string{"query", "limit", "page"}
)

// list answers a Stripe list request: objects kept by keep, newest first,
// paged by limit and starting_after.
func list[T any](c *call, st *store[T], keep func(*T) bool) (any, *apiError) {
	limit, e := limitParam(c.form)
	if e != nil {
		return nil, e
	}
	start := len(st.ids) - 1
	if after, ok := formString(c.form, "starting_after"); ok {
		i, ok := st.index[after]
		if !ok {
			return nil, st.noSuch(http.StatusBadRequest, after, "starting_after")
		}
		start = i - 1
	}
	out := listObject{Object: "list", Data: []any{}, URL: c.path}
	for i := start; i >= 0; i-- {
		v := st.byID[st.ids[i]]
		if !keep(v) {
			continue
		}
		if len(out.Data) == limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, v)
	}
	return out, nil
}

// search answers a Stripe search request over objects for which match
// reports true, newest first. The page token carries the creation position
// of the last object returned, so pages stay stable while objects are added.
func search[T any](c *call, st *store[T], match func(*T) bool) (any, *apiError) {
	limit, e := limitParam(c.form)
	if e != nil {
		return nil, e
	}
	start := len(st.ids) - 1
	if page, ok := formString(c.form, "page"); ok {
		n, err := strconv.Atoi(strings.TrimPrefix(page, pageTokenPrefix))
		if !strings.HasPrefix(page, pageTokenPrefix) || err != nil || n < 0 || n > len(st.ids) {
			return nil, invalidRequest("page", "Invalid page token: "+page)
		}
		start = n - 1
	}
	out := searchResult{Object: "search_result", Data: []any{}, URL: c.path}
	for i := start; i >= 0; i-- {
		v := st.byID[st.ids[i]]
		if !match(v) {
			continue
		}
		if len(out.Data) == limit {
			out.HasMore = true
			next := pageTokenPrefix + strconv.Itoa(i+1)
			out.NextPage = &next
			break
		}
		out.Data = append(out.Data, v)
	}
	return out, nil
}

const pageTokenPrefix = "page_"

func limitParam(form url.Values) (int, *apiError) {
	n, set, e := formInt(form, "limit")
	if e != nil || !set {
		return 10, e
	}
	if n < 1 || n > 100 {
		return 0, invalidRequest("limit", "Invalid limit: must be between 1 and 100")
	}
	return int(n), nil
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID makes a Stripe-looking id: prefix and n random alphanumerics.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return prefix + string(b)
}
