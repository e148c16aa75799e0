// Command devtool helps run the functions locally:
//
//	devtool token USER_ID [EMAIL]        print a console token for a user
//	devtool pay USER_ID TRANSACTION_ID   play Stripe: send a signed payment_intent.succeeded
//	                                     for a pending top-up to the local webhook
//	devtool fail USER_ID TRANSACTION_ID  the same with payment_intent.payment_failed
//	devtool pubsub-setup                 create the topics and push subscriptions
//	                                     in the Pub/Sub emulator
//
// It reads the same environment as the functions (see README), plus
// DEV_AUTH_KEY, the local issuer's key file that scripts/dev.sh sets.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/events"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/devauth"
	"example.com/billing/shared/testsupport/stripetest"
)

const usage = `usage:
  devtool token USER_ID [EMAIL]
  devtool pay USER_ID TRANSACTION_ID
  devtool fail USER_ID TRANSACTION_ID
  devtool pubsub-setup`

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devtool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "token" && (len(rest) == 1 || len(rest) == 2):
		email := rest[0] + "@example.com"
		if len(rest) == 2 {
			email = rest[1]
		}
		return token(rest[0], email)
	case (cmd == "pay" || cmd == "fail") && len(rest) == 2:
		return settle(ctx, cmd == "pay", rest[0], rest[1])
	case cmd == "pubsub-setup" && len(rest) == 0:
		return pubsubSetup(ctx)
	default:
		return errors.New(usage)
	}
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func token(userID, email string) error {
	iss, err := devauth.LoadOrCreate(env("DEV_AUTH_KEY", ".dev/auth-key.pem"), env("AUTH_ISSUER", devauth.Issuer), env("AUTH_AUDIENCE", devauth.Audience))
	if err != nil {
		return err
	}
	tok, err := iss.Mint(devauth.Claims{Subject: userID, Email: email, Expiry: time.Now().Add(12 * time.Hour)})
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

// settle does what Stripe does when a card payment ends: it sends the
// webhook a signed event about the top-up's PaymentIntent.
func settle(ctx context.Context, succeeded bool, userID, txID string) error {
	fs, err := firestore.NewClient(ctx, env("GOOGLE_CLOUD_PROJECT", "demo-billing"))
	if err != nil {
		return err
	}
	defer fs.Close()
	tx, err := ledger.New(fs).Transaction(ctx, userID, txID)
	if err != nil {
		return err
	}
	if tx.PaymentIntentID == "" {
		return fmt.Errorf("transaction %s has no payment intent yet", txID)
	}
	pi := map[string]any{
		"id": tx.PaymentIntentID, "object": "payment_intent", "amount": tx.Amount, "currency": tx.Currency,
		"livemode": false, "created": tx.CreatedAt.Unix(),
		"metadata": map[string]string{
			payments.MetadataUserID: userID, payments.MetadataTransactionID: txID, payments.MetadataKind: tx.Type,
		},
	}
	typ := payments.EventPaymentIntentSucceeded
	if succeeded {
		pi["status"], pi["amount_received"] = "succeeded", tx.Amount
	} else {
		typ = payments.EventPaymentIntentPaymentFailed
		pi["status"], pi["amount_received"] = "requires_payment_method", 0
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
	}
	now := time.Now()
	payload := stripetest.NewEvent(fmt.Sprintf("evt_dev_%d", now.UnixNano()), string(typ), pi, now)
	secret, _, _ := strings.Cut(env("STRIPE_WEBHOOK_SECRET", ""), ",")
	if secret = strings.TrimSpace(secret); secret == "" {
		return errors.New("STRIPE_WEBHOOK_SECRET is not set")
	}
	url := "http://127.0.0.1:" + env("PORT", "8080") + "/StripeWebhook"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripetest.SignatureHeader(payload, secret, now))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s %s -> %d %s", typ, tx.PaymentIntentID, resp.StatusCode, body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// pubsubSetup creates every topic and, for topics that trigger a function,
// a push subscription to the local server (the emulator turns the push into
// the CloudEvent the function expects).
func pubsubSetup(ctx context.Context) error {
	if os.Getenv("PUBSUB_EMULATOR_HOST") == "" {
		return errors.New("PUBSUB_EMULATOR_HOST is not set; pubsub-setup only configures the emulator")
	}
	project := env("GOOGLE_CLOUD_PROJECT", "demo-billing")
	client, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return err
	}
	defer client.Close()
	for _, t := range events.Topics {
		topic := "projects/" + project + "/topics/" + t.Name
		if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("create topic %s: %w", t.Name, err)
		}
		if t.Subscriber == "" {
			fmt.Println("topic", t.Name)
			continue
		}
		endpoint := "http://127.0.0.1:" + env("PORT", "8080") + "/" + t.Subscriber
		if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name:       "projects/" + project + "/subscriptions/" + t.Name + "-" + t.Subscriber,
			Topic:      topic,
			PushConfig: &pubsubpb.PushConfig{PushEndpoint: endpoint},
		}); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("create subscription for %s: %w", t.Name, err)
		}
		fmt.Println("topic", t.Name, "-> push", endpoint)
	}
	return nil
}
