package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"example.com/billing/shared/fault"
	"example.com/billing/shared/sweep"
)

// OutboxCollection holds events recorded for publishing: outbox/{eventId}.
const OutboxCollection = "outbox"

// OutboxRetention keeps published rows for audit; expireAt is a TTL field.
const OutboxRetention = 7 * 24 * time.Hour

// Publisher sends one message; the id goes in the eventId attribute so that
// subscribers can drop the duplicates at-least-once delivery brings.
type Publisher interface {
	Publish(ctx context.Context, topic, id string, data []byte) error
}

// Outbox turns "publish after commit" into "record in the commit, publish
// from the record": an event is written in the same Firestore transaction as
// the state change it announces, then published, then marked; whatever dies
// in between, FlushPending (the sweep) publishes it later. Delivery is at
// least once.
type Outbox struct {
	fs  *firestore.Client
	pub Publisher
	now func() time.Time
}

// NewOutbox returns an outbox publishing through pub.
func NewOutbox(fs *firestore.Client, pub Publisher) *Outbox {
	return &Outbox{fs: fs, pub: pub, now: func() time.Time { return time.Now().UTC() }}
}

type row struct {
	Topic       string     `firestore:"topic"`
	Data        []byte     `firestore:"data"`
	Pending     bool       `firestore:"pending"`
	CreatedAt   time.Time  `firestore:"createdAt"`
	PublishedAt *time.Time `firestore:"publishedAt,omitempty"`
	ExpireAt    *time.Time `firestore:"expireAt,omitempty"`
	Attempts    int64      `firestore:"attempts"`
}

// Add records event id for topic inside tx. The id must be deterministic
// (derived from the state change), so a retried transaction records the
// same event, not a second one.
func (o *Outbox) Add(tx *firestore.Transaction, id, topic string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", topic, err)
	}
	return tx.Set(o.fs.Collection(OutboxCollection).Doc(id), row{Topic: topic, Data: data, Pending: true, CreatedAt: o.now()})
}

// Flush publishes the given events if they are recorded and still
// pending; an id never recorded is nothing to do.
func (o *Outbox) Flush(ctx context.Context, ids ...string) error {
	refs := make([]*firestore.DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = o.fs.Collection(OutboxCollection).Doc(id)
	}
	// One round trip for all of them; absent ids come back not existing.
	snaps, err := o.fs.GetAll(ctx, refs)
	if err != nil {
		return fmt.Errorf("read outbox %v: %w", ids, err)
	}
	var errs []error
	for _, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		if err := o.publish(ctx, snap); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FlushPending publishes every pending event (in no particular order:
// each is independent), page read at a time, on the workers and within the
// time of the run in ctx (sweep.From), and returns how many it published.
func (o *Outbox) FlushPending(ctx context.Context, page int) (int, error) {
	var (
		mu        sync.Mutex
		errs      []error
		published int
	)
	pending := func() firestore.Query {
		return o.fs.Collection(OutboxCollection).Where("pending", "==", true).OrderBy(firestore.DocumentID, firestore.Asc)
	}
	err := sweep.From(ctx).Drain(ctx, pending, page, func(ctx context.Context, snap *firestore.DocumentSnapshot) error {
		err := o.publish(ctx, snap)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return err
		}
		published++
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("find pending events: %w", err))
	}
	return published, errors.Join(errs...)
}

func (o *Outbox) publish(ctx context.Context, snap *firestore.DocumentSnapshot) error {
	var r row
	if err := snap.DataTo(&r); err != nil {
		return fmt.Errorf("decode outbox %s: %w", snap.Ref.ID, err)
	}
	if !r.Pending {
		return nil
	}
	if err := fault.Point(ctx, fault.OutboxAfterCommit); err != nil {
		return err
	}
	if err := o.pub.Publish(ctx, r.Topic, snap.Ref.ID, r.Data); err != nil {
		_, _ = snap.Ref.Update(ctx, []firestore.Update{{Path: "attempts", Value: firestore.Increment(1)}})
		return fmt.Errorf("publish %s to %s: %w", snap.Ref.ID, r.Topic, err)
	}
	if err := fault.Point(ctx, fault.OutboxAfterPublish); err != nil {
		return err
	}
	now := o.now()
	if _, err := snap.Ref.Update(ctx, []firestore.Update{
		{Path: "pending", Value: false},
		{Path: "publishedAt", Value: now},
		{Path: "expireAt", Value: now.Add(OutboxRetention)},
	}); err != nil {
		// Published but not marked: the sweep publishes it again, which
		// at-least-once delivery allows.
		return fmt.Errorf("mark %s published: %w", snap.Ref.ID, err)
	}
	return nil
}

// PubSub publishes with the Pub/Sub client; it honours PUBSUB_EMULATOR_HOST.
type PubSub struct {
	client *pubsub.Client
	mu     sync.Mutex
	pubs   map[string]*pubsub.Publisher
}

// NewPubSub returns a publisher on client.
func NewPubSub(client *pubsub.Client) *PubSub {
	return &PubSub{client: client, pubs: map[string]*pubsub.Publisher{}}
}

// Publish sends data to topic and waits for the server's acknowledgement.
func (p *PubSub) Publish(ctx context.Context, topic, id string, data []byte) error {
	p.mu.Lock()
	pub, ok := p.pubs[topic]
	if !ok {
		pub = p.client.Publisher(topic)
		p.pubs[topic] = pub
	}
	p.mu.Unlock()
	_, err := pub.Publish(ctx, &pubsub.Message{Data: data, Attributes: map[string]string{"eventId": id}}).Get(ctx)
	return err
}
