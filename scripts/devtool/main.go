// Command devtool helps run the functions locally:
//
//	devtool token USER_ID [EMAIL]        print a console token for a user
//	devtool pay USER_ID TRANSACTION_ID   pay a pending top-up with a test card, through the
//	                                     local server's /dev/pay (Stripe then reports it to
//	                                     the webhook, as the card holder's payment would)
//	devtool fail USER_ID TRANSACTION_ID  the same with a card that is declined
//	devtool stripe URL_FILE              serve the stateful Stripe double until stopped:
//	                                     write its base URL to URL_FILE and deliver its
//	                                     events, signed, to the local webhook
//	devtool pubsub-setup                 create the topics and push subscriptions
//	                                     in the Pub/Sub emulator
//
// It reads the same environment as the functions (see README), plus
// DEV_AUTH_KEY, the local issuer's key file that scripts/dev.sh sets.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/events"
	"example.com/billing/shared/testsupport/devauth"
)

const usage = `usage:
  devtool token USER_ID [EMAIL]
  devtool pay USER_ID TRANSACTION_ID
  devtool fail USER_ID TRANSACTION_ID
  devtool stripe URL_FILE
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
		return pay(ctx, cmd == "pay", rest[0], rest[1])
	case cmd == "stripe" && len(rest) == 1:
		return serveStripe(ctx, rest[0])
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

// pay pays a pending top-up the way its card holder would, through the
// local server's /dev/pay, as the user: with Stripe's test card that
// succeeds, or with one that is declined.
func pay(ctx context.Context, succeed bool, userID, txID string) error {
	iss, err := devauth.LoadOrCreate(env("DEV_AUTH_KEY", ".dev/auth-key.pem"), env("AUTH_ISSUER", devauth.Issuer), env("AUTH_AUDIENCE", devauth.Audience))
	if err != nil {
		return err
	}
	tok, err := iss.Mint(devauth.Claims{Subject: userID, Expiry: time.Now().Add(time.Minute)})
	if err != nil {
		return err
	}
	card := "pm_card_visa"
	if !succeed {
		card = "pm_card_chargeDeclined"
	}
	body, _ := json.Marshal(map[string]string{"transactionId": txID, "paymentMethod": card})
	url := "http://127.0.0.1:" + env("PORT", "8080") + "/dev/pay"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s -> %d %s", card, resp.StatusCode, out)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/dev/pay answered %d", resp.StatusCode)
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
