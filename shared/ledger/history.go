package ledger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/store"
)

// Balance is a user's prepaid balance.
type Balance struct {
	Amount   int64  `firestore:"amount"`
	Currency string `firestore:"currency"`
}

// Balance returns the user's balance; a user with no credits has zero.
func (l *Ledger) Balance(ctx context.Context, userID string) (Balance, error) {
	if err := store.CheckID(userID); err != nil {
		return Balance{}, err
	}
	snap, err := l.balanceRef(userID).Get(ctx)
	if isNotFound(err) {
		return Balance{Currency: Currency}, nil
	}
	if err != nil {
		return Balance{}, fmt.Errorf("read balance: %w", err)
	}
	var b Balance
	if err := snap.DataTo(&b); err != nil {
		return Balance{}, fmt.Errorf("decode balance: %w", err)
	}
	if b.Currency == "" {
		b.Currency = Currency
	}
	return b, nil
}

// ErrBadPageToken: a page token we did not issue.
var ErrBadPageToken = errors.New("invalid page token")

// Page is one page of a user's history, newest first.
type Page struct {
	Transactions  []Transaction
	NextPageToken string
}

// History returns a page of the user's transactions, newest first. The page
// token is a cursor (createdAt, id) into the user's own collection, so the
// cost of a page does not grow with its depth and a token cannot reach
// another user's entries.
func (l *Ledger) History(ctx context.Context, userID string, pageSize int, pageToken string) (Page, error) {
	if err := store.CheckID(userID); err != nil {
		return Page{}, err
	}
	q := store.UnderAccount(l.fs, userID, TransactionsCollection).
		OrderBy("createdAt", firestore.Desc).
		OrderBy(firestore.DocumentID, firestore.Desc).
		Limit(pageSize + 1)
	if pageToken != "" {
		at, id, err := decodePageToken(pageToken)
		if err != nil {
			return Page{}, err
		}
		q = q.StartAfter(at, id)
	}
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return Page{}, fmt.Errorf("list transactions: %w", err)
	}
	var page Page
	for i, snap := range snaps {
		if i == pageSize {
			last := page.Transactions[len(page.Transactions)-1]
			page.NextPageToken = encodePageToken(last.CreatedAt, last.ID)
			break
		}
		t, err := decodeTransaction(snap)
		if err != nil {
			return Page{}, err
		}
		page.Transactions = append(page.Transactions, t)
	}
	return page, nil
}

func encodePageToken(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + ":" + id))
}

func decodePageToken(token string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return time.Time{}, "", ErrBadPageToken
	}
	nanos, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(nanos, 10, 64)
	if !ok || err != nil || store.CheckID(id) != nil {
		return time.Time{}, "", ErrBadPageToken
	}
	return time.Unix(0, n).UTC(), id, nil
}
