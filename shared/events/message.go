package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ErrPoison marks a message that can never be processed (not JSON, a
// required field missing). Handlers log and acknowledge it: retrying would
// only loop until the dead-letter topic.
var ErrPoison = errors.New("poison message")

// Message is a Pub/Sub message as it reaches a CloudEvent function.
type Message struct {
	ID          string
	Data        []byte
	Attributes  map[string]string
	PublishTime time.Time
}

// envelope is the CloudEvent data of google.cloud.pubsub.topic.v1.messagePublished
// (what Eventarc delivers, and what the functions framework builds from a
// push subscription).
type envelope struct {
	Message struct {
		Data        []byte            `json:"data"`
		Attributes  map[string]string `json:"attributes"`
		MessageID   string            `json:"messageId"`
		PublishTime time.Time         `json:"publishTime"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// Decode unwraps the Pub/Sub message of a CloudEvent and decodes its JSON
// data into v. Anything undecodable is ErrPoison.
func Decode(e event.Event, v any) (Message, error) {
	var env envelope
	if err := json.Unmarshal(e.Data(), &env); err != nil {
		return Message{}, fmt.Errorf("%w: event %s is not a Pub/Sub message: %v", ErrPoison, e.ID(), err)
	}
	m := Message{ID: env.Message.MessageID, Data: env.Message.Data, Attributes: env.Message.Attributes, PublishTime: env.Message.PublishTime}
	if m.ID == "" {
		m.ID = e.ID()
	}
	if err := json.Unmarshal(m.Data, v); err != nil {
		return m, fmt.Errorf("%w: message %s: data is not the expected JSON: %v", ErrPoison, m.ID, err)
	}
	return m, nil
}
