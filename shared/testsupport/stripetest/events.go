package stripetest

import (
	"encoding/json"
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
	ID         string    `json:"id"`
	Object     string    `json:"object"`
	APIVersion string    `json:"api_version"`
	Created    int64     `json:"created"`
	Data       eventData `json:"data"`
	Livemode   bool      `json:"livemode"`
	Type       string    `json:"type"`
}

type eventData struct {
	Object json.RawMessage `json:"object"`
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
	return eventPayload(id, typ, raw, created)
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

func eventPayload(id, typ string, object json.RawMessage, created time.Time) []byte {
	return mustJSON(eventJSON{
		ID:         id,
		Object:     "event",
		APIVersion: stripe.APIVersion,
		Created:    created.Unix(),
		Data:       eventData{Object: object},
		Type:       typ,
	})
}

// recordEvent records an event about object as it is now.
func (s *Server) recordEvent(typ, objectID string, object any) {
	id := newID("evt_", 24)
	s.events = append(s.events, recordedEvent{
		Event:    Event{ID: id, Type: typ, Payload: eventPayload(id, typ, mustJSON(object), s.now)},
		objectID: objectID,
	})
}
