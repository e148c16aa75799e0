package events

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"example.com/billing/shared/fault"
)

// OutboxCollection holds events recorded for publishing: outbox/{eventId}.
const OutboxCollection = "outbox"

// OutboxRetention keeps published rows for audit; expireAt is a TTL field.
const OutboxRetention = 7 * 24 * time.Hour

// Publisher sends one message: the id goes in the eventId attribute so that
// subscribers can drop the duplicates at-least-once delivery brings, and
// the message's ordering key is its user.
type Publisher interface {
	Publish(ctx context.Context, topic string, m Outgoing) error
}

// Outgoing is one event as published.
type Outgoing struct {
	ID string
	// OrderingKey is the event's user: Pub/Sub delivers a user's messages
	// on one topic in the order they were published.
	OrderingKey string
	// Sequence is also in Data (as "sequence") and the sequence attribute.
	Sequence int64
	Data     []byte
}

// Outbox turns "publish after commit" into "record in the commit, publish
// from the record": an event is written in the same Firestore transaction as
// the state change it announces, then published, then marked; whatever dies
// in between, FlushPending (the sweep) publishes it later. Delivery is at
// least once.
//
// A user's events are published in the order of their commits, across
// topics: each carries a sequence, the commit time of its state change in
// microseconds (a user's state changes are serialized by Firestore, so it
// grows with each of them), and an event is published only after every
// pending earlier event of its user. Messages carry the user as their
// Pub/Sub ordering key.
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

	// OrderingKey is the event's user (the payload's userId).
	OrderingKey string `firestore:"orderingKey,omitempty"`
	// CommittedAt is the commit time of the transaction that recorded the
	// event (set by Firestore): the event's sequence.
	CommittedAt time.Time `firestore:"committedAt,serverTimestamp"`
}

// sequence is the row's place among its user's events.
func (r row) sequence() int64 { return r.CommittedAt.UnixMicro() }

// Add records event id for topic inside tx. The id must be deterministic
// (derived from the state change), so a retried transaction records the
// same event, not a second one. The payload's userId orders it among the
// user's events.
func (o *Outbox) Add(tx *firestore.Transaction, id, topic string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", topic, err)
	}
	var user struct {
		UserID string `json:"userId"`
	}
	_ = json.Unmarshal(data, &user)
	return tx.Set(o.fs.Collection(OutboxCollection).Doc(id), row{Topic: topic, Data: data, Pending: true, CreatedAt: o.now(), OrderingKey: user.UserID})
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
	var present []*firestore.DocumentSnapshot
	for _, snap := range snaps {
		if snap.Exists() {
			present = append(present, snap)
		}
	}
	return o.publishAll(ctx, present, nil)
}

// FlushPending publishes every pending event, a page read at a time, each
// page in commit order (publish puts a user's earlier pending events first
// anyway), one at a time so that a user's events never race each other,
// until none is left or ctx is done (the run's time), and returns how many
// it published.
func (o *Outbox) FlushPending(ctx context.Context, page int) (int, error) {
	published := 0
	var errs []error
	var last *firestore.DocumentSnapshot
	for ctx.Err() == nil {
		q := o.fs.Collection(OutboxCollection).Where("pending", "==", true).OrderBy(firestore.DocumentID, firestore.Asc).Limit(page)
		if last != nil {
			q = q.StartAfter(last.Ref.ID)
		}
		snaps, err := q.Documents(ctx).GetAll()
		if err != nil {
			errs = append(errs, fmt.Errorf("find pending events: %w", err))
			break
		}
		if err := o.publishAll(ctx, snaps, &published); err != nil {
			errs = append(errs, err)
		}
		if len(snaps) < page {
			break
		}
		last = snaps[len(snaps)-1]
	}
	return published, errors.Join(errs...)
}

// publishAll publishes snaps in commit order, counting in published.
func (o *Outbox) publishAll(ctx context.Context, snaps []*firestore.DocumentSnapshot, published *int) error {
	sorted := slices.Clone(snaps)
	slices.SortStableFunc(sorted, func(a, b *firestore.DocumentSnapshot) int {
		return cmp.Compare(committedAt(a).UnixMicro(), committedAt(b).UnixMicro())
	})
	var errs []error
	for _, snap := range sorted {
		if err := o.publish(ctx, snap); err != nil {
			errs = append(errs, err)
			continue
		}
		if published != nil {
			*published++
		}
	}
	return errors.Join(errs...)
}

func committedAt(snap *firestore.DocumentSnapshot) time.Time {
	t, _ := snap.Data()["committedAt"].(time.Time)
	return t
}

// publish publishes the row of snap, after every pending earlier event of
// its user (in their order); a failure stops there, so a later event never
// goes out before an earlier one.
func (o *Outbox) publish(ctx context.Context, snap *firestore.DocumentSnapshot) error {
	var r row
	if err := snap.DataTo(&r); err != nil {
		return fmt.Errorf("decode outbox %s: %w", snap.Ref.ID, err)
	}
	if !r.Pending {
		return nil
	}
	if r.OrderingKey != "" {
		snaps, err := o.fs.Collection(OutboxCollection).Where("orderingKey", "==", r.OrderingKey).Where("pending", "==", true).Documents(ctx).GetAll()
		if err != nil {
			return fmt.Errorf("find earlier events of %s: %w", snap.Ref.ID, err)
		}
		rows, err := bySequence(snaps)
		if err != nil {
			return err
		}
		for _, e := range rows {
			switch {
			case e.ref.ID == snap.Ref.ID:
				// Read again just now: another flush may have published
				// it meanwhile (each publish is of a fresh read).
				r = e.row
			case e.row.sequence() < r.sequence():
				if err := o.publishRow(ctx, e.ref, e.row); err != nil {
					return err
				}
			}
		}
		if !slices.ContainsFunc(rows, func(e storedRow) bool { return e.ref.ID == snap.Ref.ID }) {
			return nil // published meanwhile
		}
	}
	return o.publishRow(ctx, snap.Ref, r)
}

// storedRow is an outbox row with its document.
type storedRow struct {
	ref *firestore.DocumentRef
	row row
}

// bySequence decodes snaps in the order their events were committed.
func bySequence(snaps []*firestore.DocumentSnapshot) ([]storedRow, error) {
	out := make([]storedRow, len(snaps))
	for i, snap := range snaps {
		out[i].ref = snap.Ref
		if err := snap.DataTo(&out[i].row); err != nil {
			return nil, fmt.Errorf("decode outbox %s: %w", snap.Ref.ID, err)
		}
	}
	slices.SortStableFunc(out, func(a, b storedRow) int { return cmp.Compare(a.row.sequence(), b.row.sequence()) })
	return out, nil
}

func (o *Outbox) publishRow(ctx context.Context, ref *firestore.DocumentRef, r row) error {
	if err := fault.Point(ctx, fault.OutboxAfterCommit); err != nil {
		return err
	}
	data, err := withSequence(r.Data, r.sequence())
	if err != nil {
		return fmt.Errorf("encode %s: %w", ref.ID, err)
	}
	if err := o.pub.Publish(ctx, r.Topic, Outgoing{ID: ref.ID, OrderingKey: r.OrderingKey, Sequence: r.sequence(), Data: data}); err != nil {
		_, _ = ref.Update(ctx, []firestore.Update{{Path: "attempts", Value: firestore.Increment(1)}})
		return fmt.Errorf("publish %s to %s: %w", ref.ID, r.Topic, err)
	}
	if err := fault.Point(ctx, fault.OutboxAfterPublish); err != nil {
		return err
	}
	now := o.now()
	if _, err := ref.Update(ctx, []firestore.Update{
		{Path: "pending", Value: false},
		{Path: "publishedAt", Value: now},
		{Path: "expireAt", Value: now.Add(OutboxRetention)},
	}); err != nil {
		// Published but not marked: the sweep publishes it again, which
		// at-least-once delivery allows.
		return fmt.Errorf("mark %s published: %w", ref.ID, err)
	}
	return nil
}

// withSequence is the payload data with "sequence" added.
func withSequence(data []byte, seq int64) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	fields["sequence"] = json.RawMessage(strconv.FormatInt(seq, 10))
	return json.Marshal(fields)
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

// Messages publishes plain messages (no ordering key, no sequence), such
// as a sweep's next run.
type Messages struct{ PubSub *PubSub }

// Publish sends data to topic under the message id id.
func (m Messages) Publish(ctx context.Context, topic, id string, data []byte) error {
	return m.PubSub.Publish(ctx, topic, Outgoing{ID: id, Data: data})
}

// Publish sends m to topic, with its ordering key, and waits for the
// server's acknowledgement. After a failure the key is resumed, so the
// next attempt (the sweep's) can publish it again.
func (p *PubSub) Publish(ctx context.Context, topic string, m Outgoing) error {
	p.mu.Lock()
	pub, ok := p.pubs[topic]
	if !ok {
		pub = p.client.Publisher(topic)
		pub.EnableMessageOrdering = true
		p.pubs[topic] = pub
	}
	p.mu.Unlock()
	_, err := pub.Publish(ctx, &pubsub.Message{Data: m.Data, OrderingKey: m.OrderingKey,
		Attributes: map[string]string{"eventId": m.ID, "sequence": strconv.FormatInt(m.Sequence, 10)}}).Get(ctx)
	if err != nil && m.OrderingKey != "" {
		pub.ResumePublish(m.OrderingKey)
	}
	return err
}
