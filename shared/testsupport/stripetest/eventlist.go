package stripetest

import (
	"encoding/json"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// eventRetention is how long Stripe's Events API lists an event.
const eventRetention = 30 * 24 * time.Hour

// recordMoneyEvent records an event about object as it is now, like
// recordEvent, for the objects of disputes.go.
func (s *Server) recordMoneyEvent(typ, objectID string, object any) {
	id := newID("evt_", 24)
	payload := mustJSON(eventJSON{
		ID: id, Object: "event", APIVersion: stripe.APIVersion, Created: s.now.Unix(),
		Data: eventData{Object: mustJSON(object)}, Type: typ,
	})
	s.events = append(s.events, recordedEvent{Event: Event{ID: id, Type: typ, Payload: payload}, objectID: objectID})
}

// listEvents answers GET /v1/events: every event recorded in the last 30
// days, newest first, filtered by type (a name, or a pattern with *) or
// types[] (up to 20 names) and by created, paged by limit and
// starting_after.
func (s *Server) listEvents(c *call) (any, *apiError) {
	limit, e := limitParam(c.form)
	if e != nil {
		return nil, e
	}
	typ, byType := formString(c.form, "type")
	types := indexedValues(c.form, "types")
	switch {
	case byType && len(types) > 0:
		return nil, invalidRequest("types", "You may pass either `type` or `types`, but not both.")
	case len(types) > 20:
		return nil, invalidRequest("types", "You may pass at most 20 types.")
	}
	created, e := createdRange(c.form)
	if e != nil {
		return nil, e
	}
	start := len(s.events) - 1
	if after, ok := formString(c.form, "starting_after"); ok {
		i := slices.IndexFunc(s.events, func(ev recordedEvent) bool { return ev.ID == after })
		if i < 0 {
			return nil, invalidRequest("starting_after", "No such event: '"+after+"'").coded("resource_missing")
		}
		start = i - 1
	}
	oldest := s.now.Add(-eventRetention).Unix()
	out := listObject{Object: "list", Data: []any{}, URL: c.path}
	for i := start; i >= 0; i-- {
		ev := s.events[i]
		at := eventCreated(ev.Payload)
		switch {
		case at < oldest || !created(at):
			continue
		case byType && !typeMatches(typ, ev.Type):
			continue
		case len(types) > 0 && !slices.Contains(types, ev.Type):
			continue
		}
		if len(out.Data) == limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, json.RawMessage(ev.Payload))
	}
	return out, nil
}

func typeMatches(pattern, typ string) bool {
	ok, err := path.Match(strings.ReplaceAll(pattern, ".", "/"), strings.ReplaceAll(typ, ".", "/"))
	return err == nil && ok || pattern == typ
}

func eventCreated(payload []byte) int64 {
	var e struct {
		Created int64 `json:"created"`
	}
	_ = json.Unmarshal(payload, &e)
	return e.Created
}

// indexedValues reads name[0], name[1], ... as stripe-go encodes a list.
func indexedValues(form map[string][]string, name string) []string {
	var out []string
	for i := 0; ; i++ {
		vs, ok := form[name+"["+strconv.Itoa(i)+"]"]
		if !ok || len(vs) == 0 {
			return out
		}
		out = append(out, vs[0])
	}
}

// createdRange reads created (an exact time) or created[gt|gte|lt|lte].
func createdRange(form map[string][]string) (func(int64) bool, *apiError) {
	bounds := map[string]func(at, bound int64) bool{
		"created":      func(at, b int64) bool { return at == b },
		"created[gt]":  func(at, b int64) bool { return at > b },
		"created[gte]": func(at, b int64) bool { return at >= b },
		"created[lt]":  func(at, b int64) bool { return at < b },
		"created[lte]": func(at, b int64) bool { return at <= b },
	}
	var checks []func(int64) bool
	for name, cmp := range bounds {
		vs, ok := form[name]
		if !ok || len(vs) == 0 {
			continue
		}
		b, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil {
			return nil, invalidRequest(name, "Invalid integer: "+vs[0])
		}
		checks = append(checks, func(at int64) bool { return cmp(at, b) })
	}
	return func(at int64) bool {
		for _, ok := range checks {
			if !ok(at) {
				return false
			}
		}
		return true
	}, nil
}
