package stripetest

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Event is one event the double recorded.
type Event struct {
	ID   string
	Type string
	// Payload is the full event JSON exactly as Stripe would POST it to a
	// webhook endpoint; sign it with [SignatureHeader].
	Payload []byte
}

// recordedEvent remembers which object an event is about, so LastEvent can
// find it without parsing payloads.
type recordedEvent struct {
	Event
	objectID string
}

// eventJSON is Stripe's event object.
type eventJSON struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"`
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            eventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int64        `json:"pending_webhooks"`
	Request         eventRequest `json:"request"`
	Type            string       `json:"type"`
}

type eventData struct {
	Object             json.RawMessage `json:"object"`
	PreviousAttributes map[string]any  `json:"previous_attributes,omitempty"`
}

// eventRequest names the API request that caused an event; both fields are
// null for events caused outside the API (a customer finishing 3-D Secure,
// a bank settling).
type eventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// Events returns every event recorded so far, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		out[i] = e.Event
	}
	return out
}

// LastEvent returns the most recent event of type typ about the object with
// id objectID.
func (s *Server) LastEvent(typ string, objectID string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.events) - 1; i >= 0; i-- {
		if e := s.events[i]; e.Type == typ && e.objectID == objectID {
			return e.Event, true
		}
	}
	return Event{}, false
}

// NewEvent builds the JSON of a Stripe event whose data.object is object,
// for tests that craft webhook deliveries by hand. object may be a map, a
// stripe-go struct or a json.RawMessage. The api_version is the one
// stripe-go v76 pins, so webhook.ConstructEvent accepts the event.
func NewEvent(id, typ string, object any, created time.Time) []byte {
	raw, err := json.Marshal(object)
	if err != nil {
		panic("stripetest: NewEvent: encoding object: " + err.Error())
	}
	return eventPayload(id, typ, raw, nil, created, eventRequest{})
}

// SignatureHeader returns the Stripe-Signature header value Stripe would
// send with payload, signed with the endpoint secret at time ts.
func SignatureHeader(payload []byte, secret string, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload:   payload,
		Secret:    secret,
		Timestamp: ts,
	}).Header
}

func eventPayload(id, typ string, object json.RawMessage, previous map[string]any, created time.Time, req eventRequest) []byte {
	return mustJSON(eventJSON{
		ID:         id,
		Object:     "event",
		APIVersion: stripe.APIVersion,
		Created:    created.Unix(),
		Data:       eventData{Object: object, PreviousAttributes: previous},
		// One endpoint is waiting for it, as in a project with a webhook
		// configured.
		PendingWebhooks: 1,
		Request:         req,
		Type:            typ,
	})
}

// recordEvent records an event about object as it is now. c is the API
// request that caused it, or nil for a test-side transition.
func (s *Server) recordEvent(typ, objectID string, object any, previous map[string]any, c *call) {
	var req eventRequest
	if c != nil {
		req.ID = &c.requestID
		if c.idempotencyKey != "" {
			req.IdempotencyKey = &c.idempotencyKey
		}
	}
	id := newID("evt_", 24)
	s.events = append(s.events, recordedEvent{
		Event:    Event{ID: id, Type: typ, Payload: eventPayload(id, typ, mustJSON(object), previous, s.now, req)},
		objectID: objectID,
	})
}

// previousAttributes is an *.updated event's data.previous_attributes: the
// old values of the fields that changed. Like Stripe, it descends into hashes
// such as metadata and lists only their changed keys, with null for keys
// that did not exist before.
func previousAttributes(before, after any) map[string]any {
	var b, a map[string]any
	if json.Unmarshal(mustJSON(before), &b) != nil || json.Unmarshal(mustJSON(after), &a) != nil {
		panic("stripetest: re-reading own JSON")
	}
	return diffMaps(b, a)
}

func diffMaps(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k := range union(before, after) {
		if reflect.DeepEqual(before[k], after[k]) {
			continue
		}
		bm, bok := before[k].(map[string]any)
		am, aok := after[k].(map[string]any)
		if bok && aok {
			out[k] = diffMaps(bm, am)
		} else {
			out[k] = before[k]
		}
	}
	return out
}

func union(a, b map[string]any) map[string]struct{} {
	keys := map[string]struct{}{}
	for k := range a {
		keys[k] = struct{}{}
	}
	for k := range b {
		keys[k] = struct{}{}
	}
	return keys
}
