package stripetest_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/testsupport/stripetest"
)

// cardParams creates a card-only PaymentIntent, which needs no return_url
// to confirm.
func cardParams(amount int64, customerID string) *stripe.PaymentIntentParams {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String("usd"),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
	}
	if customerID != "" {
		p.Customer = stripe.String(customerID)
	}
	return p
}

func TestPaymentIntentCreate(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	deleted := mustCustomer(t, sc, nil)
	if _, err := sc.Customers.Del(deleted.ID, nil); err != nil {
		t.Fatal(err)
	}

	// summary is what each case checks of the created PaymentIntent.
	type summary struct {
		Status        stripe.PaymentIntentStatus
		Types         []string
		Automatic     *stripe.PaymentIntentAutomaticPaymentMethods
		PaymentMethod string
		Customer      string
		Description   string
		Metadata      map[string]string
		Currency      stripe.Currency
	}
	auto := &stripe.PaymentIntentAutomaticPaymentMethods{Enabled: true, AllowRedirects: "always"}
	tests := []struct {
		name    string
		params  func() *stripe.PaymentIntentParams
		want    *summary
		wantErr *apiErr
	}{
		{
			name: "automatic payment methods by default",
			params: func() *stripe.PaymentIntentParams {
				p := &stripe.PaymentIntentParams{Amount: stripe.Int64(2000), Currency: stripe.String("usd"),
					Customer: stripe.String(cus.ID), Description: stripe.String("storage")}
				p.AddMetadata("invoice", "42")
				return p
			},
			want: &summary{Status: "requires_payment_method", Types: []string{"card"}, Automatic: auto, Customer: cus.ID,
				Description: "storage", Metadata: map[string]string{"invoice": "42"}, Currency: "usd"},
		},
		{
			name: "explicit types, upper-case currency",
			params: func() *stripe.PaymentIntentParams {
				p := cardParams(50, "")
				p.Currency = stripe.String("USD")
				return p
			},
			want: &summary{Status: "requires_payment_method", Types: []string{"card"}, Metadata: map[string]string{}, Currency: "usd"},
		},
		{
			name: "with payment method",
			params: func() *stripe.PaymentIntentParams {
				p := cardParams(1000, cus.ID)
				p.PaymentMethod = stripe.String("pm_card_visa")
				return p
			},
			want: &summary{Status: "requires_confirmation", Types: []string{"card"}, PaymentMethod: "pm_card_visa", Customer: cus.ID,
				Metadata: map[string]string{}, Currency: "usd"},
		},
		{
			name:    "missing amount",
			params:  func() *stripe.PaymentIntentParams { return &stripe.PaymentIntentParams{Currency: stripe.String("usd")} },
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "amount", Msg: "Missing required param: amount."},
		},
		{
			name:    "amount too small",
			params:  func() *stripe.PaymentIntentParams { return cardParams(49, "") },
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "amount_too_small", Param: "amount", Msg: "Amount must be at least $0.50 usd"},
		},
		{
			name:    "missing currency",
			params:  func() *stripe.PaymentIntentParams { return &stripe.PaymentIntentParams{Amount: stripe.Int64(100)} },
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "currency"},
		},
		{
			name: "invalid currency",
			params: func() *stripe.PaymentIntentParams {
				p := cardParams(100, "")
				p.Currency = stripe.String("dollars")
				return p
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "currency"},
		},
		{
			name:    "unknown customer",
			params:  func() *stripe.PaymentIntentParams { return cardParams(100, "cus_nope") },
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer", Msg: "No such customer: 'cus_nope'"},
		},
		{
			name:    "deleted customer",
			params:  func() *stripe.PaymentIntentParams { return cardParams(100, deleted.ID) },
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"},
		},
		{
			name: "unknown payment method",
			params: func() *stripe.PaymentIntentParams {
				p := cardParams(100, "")
				p.PaymentMethod = stripe.String("card_123")
				return p
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "payment_method"},
		},
		{
			name: "types and automatic methods together",
			params: func() *stripe.PaymentIntentParams {
				p := cardParams(100, "")
				p.AutomaticPaymentMethods = &stripe.PaymentIntentAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true)}
				return p
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "automatic_payment_methods"},
		},
		{
			name: "manual capture is not modelled",
			params: func() *stripe.PaymentIntentParams {
				p := cardParams(100, "")
				p.CaptureMethod = stripe.String("manual")
				return p
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "capture_method"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.PaymentIntents())
			pi, err := sc.PaymentIntents.New(tt.params())
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != nil {
				if got := len(srv.PaymentIntents()); got != before {
					t.Errorf("a failed create stored a PaymentIntent")
				}
				return
			}
			if !regexp.MustCompile(`^pi_[A-Za-z0-9]{24}$`).MatchString(pi.ID) || !strings.HasPrefix(pi.ClientSecret, pi.ID+"_secret_") {
				t.Errorf("id %q, client_secret %q do not look like Stripe's", pi.ID, pi.ClientSecret)
			}
			got := &summary{Status: pi.Status, Types: pi.PaymentMethodTypes, Automatic: pi.AutomaticPaymentMethods,
				Description: pi.Description, Metadata: pi.Metadata, Currency: pi.Currency}
			if pi.PaymentMethod != nil {
				got.PaymentMethod = pi.PaymentMethod.ID
			}
			if pi.Customer != nil {
				got.Customer = pi.Customer.ID
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PaymentIntent (-want +got):\n%s", diff)
			}
			if pi.Created != srv.Now().Unix() || pi.Livemode || pi.Object != "payment_intent" || pi.CaptureMethod != "automatic" {
				t.Errorf("created %d livemode %v object %q capture %q", pi.Created, pi.Livemode, pi.Object, pi.CaptureMethod)
			}
			if diff := cmp.Diff([]string{"payment_intent.created"}, eventTypes(t, srv, pi.ID)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfirmOutcomes confirms with each kind of Stripe test payment method,
// both on create (confirm=true) and through /confirm.
func TestConfirmOutcomes(t *testing.T) {
	type outcome struct {
		Status         stripe.PaymentIntentStatus
		AmountReceived int64
		NextAction     stripe.PaymentIntentNextActionType
		HasCharge      bool
		PaymentMethod  string
		LastError      *apiErr
		Events         []string
	}
	decline := func(code stripe.ErrorCode, declineCode stripe.DeclineCode, msg string) (*apiErr, outcome) {
		e := &apiErr{Status: 402, Type: stripe.ErrorTypeCard, Code: code, DeclineCode: declineCode, Msg: msg}
		last := *e
		last.Status = 0 // last_payment_error is not an HTTP response
		return e, outcome{Status: "requires_payment_method", HasCharge: true, LastError: &last,
			Events: []string{"payment_intent.created", "payment_intent.payment_failed"}}
	}
	succeeded := outcome{Status: "succeeded", AmountReceived: 1500, HasCharge: true,
		Events: []string{"payment_intent.created", "payment_intent.succeeded"}}
	requiresAction := outcome{Status: "requires_action", NextAction: "use_stripe_sdk",
		Events: []string{"payment_intent.created", "payment_intent.requires_action"}}
	genericErr, genericOutcome := decline("card_declined", "generic_decline", "Your card was declined.")
	fundsErr, fundsOutcome := decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
	expiredErr, expiredOutcome := decline("expired_card", "expired_card", "Your card has expired.")
	authErr, authOutcome := decline("authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.")

	withPM := func(o outcome, pm string) outcome { o.PaymentMethod = pm; return o }
	tests := []struct {
		pm         string
		offSession bool
		wantErr    *apiErr
		want       outcome
	}{
		{pm: "pm_card_visa", want: withPM(succeeded, "pm_card_visa")},
		{pm: "pm_card_mastercard", want: withPM(succeeded, "pm_card_mastercard")},
		{pm: "pm_anything_else", want: withPM(succeeded, "pm_anything_else")},
		{pm: "pm_card_visa", offSession: true, want: withPM(succeeded, "pm_card_visa")},
		{pm: "pm_card_authenticationRequired", want: withPM(requiresAction, "pm_card_authenticationRequired")},
		{pm: "pm_card_threeDSecure2Required", want: withPM(requiresAction, "pm_card_threeDSecure2Required")},
		{pm: "pm_card_authenticationRequired", offSession: true, wantErr: authErr, want: authOutcome},
		{pm: "pm_card_chargeDeclined", wantErr: genericErr, want: genericOutcome},
		{pm: "pm_card_visa_chargeDeclined", wantErr: genericErr, want: genericOutcome},
		{pm: "pm_card_visa_chargeDeclinedInsufficientFunds", wantErr: fundsErr, want: fundsOutcome},
		{pm: "pm_card_chargeDeclinedExpiredCard", wantErr: expiredErr, want: expiredOutcome},
	}
	confirmers := []struct {
		name    string
		confirm func(sc *client.API, cusID, pm string, offSession bool) (*stripe.PaymentIntent, error)
	}{
		{"create with confirm", func(sc *client.API, cusID, pm string, offSession bool) (*stripe.PaymentIntent, error) {
			p := cardParams(1500, cusID)
			p.PaymentMethod = stripe.String(pm)
			p.Confirm = stripe.Bool(true)
			if offSession {
				p.OffSession = stripe.Bool(true)
			}
			return sc.PaymentIntents.New(p)
		}},
		{"confirm endpoint", func(sc *client.API, cusID, pm string, offSession bool) (*stripe.PaymentIntent, error) {
			pi, err := sc.PaymentIntents.New(cardParams(1500, cusID))
			if err != nil {
				return nil, err
			}
			p := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(pm)}
			if offSession {
				p.OffSession = stripe.Bool(true)
			}
			return sc.PaymentIntents.Confirm(pi.ID, p)
		}},
	}
	for _, cf := range confirmers {
		for _, tt := range tests {
			name := cf.name + "/" + tt.pm
			if tt.offSession {
				name += "/off_session"
			}
			t.Run(name, func(t *testing.T) {
				srv, sc := newDouble(t)
				cus := mustCustomer(t, sc, nil)
				pi, err := cf.confirm(sc, cus.ID, tt.pm, tt.offSession)
				checkErr(t, err, tt.wantErr)
				if err != nil {
					// A decline is a CardError that carries the PaymentIntent.
					var cardErr *stripe.CardError
					var se *stripe.Error
					if !errors.As(err, &cardErr) || !errors.As(err, &se) || se.PaymentIntent == nil {
						t.Fatalf("decline %v is not a card error carrying the PaymentIntent", err)
					}
					pi = se.PaymentIntent
					if !strings.HasPrefix(se.ChargeID, "ch_") {
						t.Errorf("decline charge = %q, want a ch_ id", se.ChargeID)
					}
				}
				stored, ok := srv.PaymentIntent(pi.ID)
				if !ok {
					t.Fatalf("PaymentIntent %s not stored", pi.ID)
				}
				for _, p := range []*stripe.PaymentIntent{pi, stored} {
					got := outcome{Status: p.Status, AmountReceived: p.AmountReceived, HasCharge: p.LatestCharge != nil && strings.HasPrefix(p.LatestCharge.ID, "ch_")}
					if p.NextAction != nil {
						got.NextAction = p.NextAction.Type
					}
					if p.PaymentMethod != nil {
						got.PaymentMethod = p.PaymentMethod.ID
					}
					got.LastError = toAPIErr(t, errOrNil(p.LastPaymentError))
					got.Events = eventTypes(t, srv, p.ID)
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("outcome (-want +got):\n%s", diff)
					}
				}
			})
		}
	}
}

// errOrNil avoids wrapping a nil *stripe.Error in a non-nil error.
func errOrNil(e *stripe.Error) error {
	if e == nil {
		return nil
	}
	return e
}

func TestConfirmEndpoint(t *testing.T) {
	type setup func(t *testing.T, sc *client.API, srv *stripetest.Server) string
	create := func(mutate func(*stripe.PaymentIntentParams)) setup {
		return func(t *testing.T, sc *client.API, _ *stripetest.Server) string {
			p := cardParams(1000, "")
			if mutate != nil {
				mutate(p)
			}
			pi, err := sc.PaymentIntents.New(p)
			if err != nil {
				t.Fatal(err)
			}
			return pi.ID
		}
	}
	then := func(first setup, step func(sc *client.API, id string) error) setup {
		return func(t *testing.T, sc *client.API, srv *stripetest.Server) string {
			id := first(t, sc, srv)
			_ = step(sc, id) // declines are expected steps
			return id
		}
	}
	confirmWith := func(pm string) func(*client.API, string) error {
		return func(sc *client.API, id string) error {
			_, err := sc.PaymentIntents.Confirm(id, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(pm)})
			return err
		}
	}
	automatic := func(p *stripe.PaymentIntentParams) { p.PaymentMethodTypes = nil }
	unexpected := func(msg string) *apiErr {
		return &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state", Msg: msg}
	}

	tests := []struct {
		name       string
		setup      setup
		params     *stripe.PaymentIntentConfirmParams
		wantStatus stripe.PaymentIntentStatus
		wantErr    *apiErr
	}{
		{
			name:       "requires_confirmation confirms with its own method",
			setup:      create(func(p *stripe.PaymentIntentParams) { p.PaymentMethod = stripe.String("pm_card_visa") }),
			params:     &stripe.PaymentIntentConfirmParams{},
			wantStatus: "succeeded",
		},
		{
			name:       "no payment method",
			setup:      create(nil),
			params:     &stripe.PaymentIntentConfirmParams{},
			wantStatus: "requires_payment_method",
			wantErr: unexpected("You cannot confirm this PaymentIntent because it's missing a payment method. " +
				"You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method."),
		},
		{
			name:       "already succeeded",
			setup:      then(create(nil), confirmWith("pm_card_visa")),
			params:     &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")},
			wantStatus: "succeeded",
			wantErr:    unexpected("You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed."),
		},
		{
			name: "canceled",
			setup: then(create(nil), func(sc *client.API, id string) error {
				_, err := sc.PaymentIntents.Cancel(id, nil)
				return err
			}),
			params:     &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")},
			wantStatus: "canceled",
			wantErr:    &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state"},
		},
		{
			name:       "retry after a decline with another card",
			setup:      then(create(nil), confirmWith("pm_card_chargeDeclined")),
			params:     &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")},
			wantStatus: "succeeded",
		},
		{
			name:       "automatic payment methods need a return_url",
			setup:      create(automatic),
			params:     &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa"), OffSession: stripe.Bool(true)},
			wantStatus: "requires_payment_method",
			wantErr:    &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest},
		},
		{
			name:  "automatic payment methods with a return_url",
			setup: create(automatic),
			params: &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa"),
				ReturnURL: stripe.String("https://console.example.com/billing/return")},
			wantStatus: "succeeded",
		},
		{
			name: "automatic payment methods without redirects",
			setup: create(func(p *stripe.PaymentIntentParams) {
				p.PaymentMethodTypes = nil
				p.AutomaticPaymentMethods = &stripe.PaymentIntentAutomaticPaymentMethodsParams{
					Enabled: stripe.Bool(true), AllowRedirects: stripe.String("never")}
			}),
			params:     &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")},
			wantStatus: "succeeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			id := tt.setup(t, sc, srv)
			_, err := sc.PaymentIntents.Confirm(id, tt.params)
			checkErr(t, err, tt.wantErr)
			if pi, _ := srv.PaymentIntent(id); pi.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", pi.Status, tt.wantStatus)
			}
		})
	}

	t.Run("missing PaymentIntent", func(t *testing.T) {
		_, sc := newDouble(t)
		_, err := sc.PaymentIntents.Confirm("pi_nope", &stripe.PaymentIntentConfirmParams{})
		checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "intent", Msg: "No such PaymentIntent: 'pi_nope'"})
	})
	t.Run("create with confirm but no payment method creates nothing", func(t *testing.T) {
		srv, sc := newDouble(t)
		p := cardParams(1000, "")
		p.Confirm = stripe.Bool(true)
		_, err := sc.PaymentIntents.New(p)
		checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state"})
		if n := len(srv.PaymentIntents()); n != 0 {
			t.Errorf("%d PaymentIntents stored, want 0", n)
		}
	})
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name       string
		pm         string // confirm with it first when set
		reason     string
		wantErr    *apiErr
		wantStatus stripe.PaymentIntentStatus
	}{
		{name: "requires_payment_method", reason: "requested_by_customer", wantStatus: "canceled"},
		{name: "no reason", wantStatus: "canceled"},
		{name: "requires_action", pm: "pm_card_authenticationRequired", reason: "abandoned", wantStatus: "canceled"},
		{
			name: "succeeded", pm: "pm_card_visa", wantStatus: "succeeded",
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state",
				Msg: "You cannot cancel this PaymentIntent because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing."},
		},
		{
			name: "invalid reason", reason: "bored", wantStatus: "requires_payment_method",
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "cancellation_reason"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			pi, err := sc.PaymentIntents.New(cardParams(1000, ""))
			if err != nil {
				t.Fatal(err)
			}
			if tt.pm != "" {
				if _, err := sc.PaymentIntents.Confirm(pi.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(tt.pm)}); err != nil {
					t.Fatal(err)
				}
			}
			srv.Advance(time.Hour)
			p := &stripe.PaymentIntentCancelParams{}
			if tt.reason != "" {
				p.CancellationReason = stripe.String(tt.reason)
			}
			got, err := sc.PaymentIntents.Cancel(pi.ID, p)
			checkErr(t, err, tt.wantErr)
			stored, _ := srv.PaymentIntent(pi.ID)
			if stored.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", stored.Status, tt.wantStatus)
			}
			_, evOK := srv.LastEvent("payment_intent.canceled", pi.ID)
			if evOK != (tt.wantStatus == "canceled") {
				t.Errorf("payment_intent.canceled recorded = %v", evOK)
			}
			if err == nil {
				if got.CanceledAt != srv.Now().Unix() || string(got.CancellationReason) != tt.reason {
					t.Errorf("canceled_at %d reason %q, want %d %q", got.CanceledAt, got.CancellationReason, srv.Now().Unix(), tt.reason)
				}
				_, err := sc.PaymentIntents.Cancel(pi.ID, nil)
				checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state"})
			}
		})
	}
}

func TestPaymentIntentList(t *testing.T) {
	srv, sc := newDouble(t)
	start := srv.Now()
	alice := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("alice@example.com")})
	bob := mustCustomer(t, sc, nil)
	var alicePIs, all []string // newest first
	for i := range 6 {
		cus := []string{alice.ID, bob.ID}[i%2]
		pi, err := sc.PaymentIntents.New(cardParams(int64(1000+i), cus))
		if err != nil {
			t.Fatal(err)
		}
		all = append([]string{pi.ID}, all...)
		if cus == alice.ID {
			alicePIs = append([]string{pi.ID}, alicePIs...)
		}
		srv.Advance(time.Hour)
	}

	tests := []struct {
		name   string
		params *stripe.PaymentIntentListParams
		want   []string
	}{
		{"all, two per page", &stripe.PaymentIntentListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(2)}}, all},
		{"customer", &stripe.PaymentIntentListParams{Customer: stripe.String(alice.ID), ListParams: stripe.ListParams{Limit: stripe.Int64(1)}}, alicePIs},
		{"created gte", &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: start.Add(4 * time.Hour).Unix()}}, all[:2]},
		{"created gt and lte", &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{
			GreaterThan: start.Unix(), LesserThanOrEqual: start.Add(2 * time.Hour).Unix()}}, all[3:5]},
		{"created lt", &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{LesserThan: start.Add(time.Hour).Unix()}}, all[5:]},
		{"created exact", &stripe.PaymentIntentListParams{Created: stripe.Int64(start.Add(3 * time.Hour).Unix())}, all[2:3]},
		{"customer and created", &stripe.PaymentIntentListParams{Customer: stripe.String(bob.ID),
			CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: start.Add(3 * time.Hour).Unix()}}, []string{all[0], all[2]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := sc.PaymentIntents.List(tt.params)
			var got []string
			for it.Next() {
				got = append(got, it.PaymentIntent().ID)
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("expand data.customer", func(t *testing.T) {
		p := &stripe.PaymentIntentListParams{Customer: stripe.String(alice.ID)}
		p.AddExpand("data.customer")
		it := sc.PaymentIntents.List(p)
		for it.Next() {
			if got := it.PaymentIntent().Customer.Email; got != "alice@example.com" {
				t.Errorf("expanded customer email = %q", got)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPaymentIntentExpand(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("a@example.com")})
	created, err := sc.PaymentIntents.New(cardParams(1000, cus.ID))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		expand    []string
		wantEmail string
		wantErr   *apiErr
	}{
		{name: "unexpanded customer is an id"},
		{name: "customer", expand: []string{"customer"}, wantEmail: "a@example.com"},
		{name: "unsupported path", expand: []string{"review"},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "expand", Msg: "This property cannot be expanded (review)."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &stripe.PaymentIntentParams{}
			for _, e := range tt.expand {
				p.AddExpand(e)
			}
			pi, err := sc.PaymentIntents.Get(created.ID, p)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if pi.Customer.ID != cus.ID || pi.Customer.Email != tt.wantEmail {
				t.Errorf("customer = %s %q, want %s %q", pi.Customer.ID, pi.Customer.Email, cus.ID, tt.wantEmail)
			}
		})
	}
	if _, err := sc.PaymentIntents.Get("pi_nope", nil); err == nil {
		t.Error("retrieving a missing PaymentIntent succeeded")
	}
	if all := srv.PaymentIntents(); len(all) != 1 || all[0].ID != created.ID || all[0].Customer.ID != cus.ID {
		t.Errorf("PaymentIntents() = %+v", all)
	}
}

func TestTestSideTransitions(t *testing.T) {
	tests := []struct {
		name        string
		pm          string // confirm with it before the transition, if set
		transition  func(srv *stripetest.Server, id string) (*stripe.PaymentIntent, error)
		wantErr     bool
		wantStatus  stripe.PaymentIntentStatus
		wantDecline stripe.DeclineCode
		wantEvent   string
	}{
		{
			name: "3DS completed", pm: "pm_card_authenticationRequired",
			transition: func(srv *stripetest.Server, id string) (*stripe.PaymentIntent, error) {
				return srv.SucceedPaymentIntent(id)
			},
			wantStatus: "succeeded", wantEvent: "payment_intent.succeeded",
		},
		{
			name: "paid with Elements, no method yet",
			transition: func(srv *stripetest.Server, id string) (*stripe.PaymentIntent, error) {
				return srv.SucceedPaymentIntent(id)
			},
			wantStatus: "succeeded", wantEvent: "payment_intent.succeeded",
		},
		{
			name: "3DS failed", pm: "pm_card_authenticationRequired",
			transition: func(srv *stripetest.Server, id string) (*stripe.PaymentIntent, error) {
				return srv.FailPaymentIntent(id, "insufficient_funds")
			},
			wantStatus: "requires_payment_method", wantDecline: "insufficient_funds", wantEvent: "payment_intent.payment_failed",
		},
		{
			name: "default decline code",
			transition: func(srv *stripetest.Server, id string) (*stripe.PaymentIntent, error) {
				return srv.FailPaymentIntent(id, "")
			},
			wantStatus: "requires_payment_method", wantDecline: "generic_decline", wantEvent: "payment_intent.payment_failed",
		},
		{
			name: "already succeeded", pm: "pm_card_visa",
			transition: func(srv *stripetest.Server, id string) (*stripe.PaymentIntent, error) {
				return srv.SucceedPaymentIntent(id)
			},
			wantErr: true, wantStatus: "succeeded",
		},
		{
			name: "missing",
			transition: func(srv *stripetest.Server, _ string) (*stripe.PaymentIntent, error) {
				return srv.FailPaymentIntent("pi_nope", "")
			},
			wantErr: true, wantStatus: "requires_payment_method",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			pi, err := sc.PaymentIntents.New(cardParams(1000, ""))
			if err != nil {
				t.Fatal(err)
			}
			if tt.pm != "" {
				if _, err := sc.PaymentIntents.Confirm(pi.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(tt.pm)}); err != nil {
					t.Fatal(err)
				}
			}
			eventsBefore := len(srv.Events())
			got, err := tt.transition(srv, pi.ID)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			stored, _ := srv.PaymentIntent(pi.ID)
			if stored.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", stored.Status, tt.wantStatus)
			}
			if tt.wantErr {
				if len(srv.Events()) != eventsBefore {
					t.Error("a refused transition recorded an event")
				}
				return
			}
			if diff := cmp.Diff(stored, got, ignoreResponse); diff != "" {
				t.Errorf("returned and stored PaymentIntent differ (-stored +returned):\n%s", diff)
			}
			if tt.wantStatus == "succeeded" && (got.AmountReceived != 1000 || got.LatestCharge == nil || got.PaymentMethod == nil || got.NextAction != nil) {
				t.Errorf("succeeded PaymentIntent = received %d charge %v method %v next_action %v", got.AmountReceived, got.LatestCharge, got.PaymentMethod, got.NextAction)
			}
			if tt.wantDecline != "" && (got.LastPaymentError == nil || got.LastPaymentError.DeclineCode != tt.wantDecline || got.LastPaymentError.Type != stripe.ErrorTypeCard) {
				t.Errorf("last_payment_error = %+v, want a card_error with decline code %s", got.LastPaymentError, tt.wantDecline)
			}
			ev, ok := srv.LastEvent(tt.wantEvent, pi.ID)
			if !ok {
				t.Fatalf("no %s event", tt.wantEvent)
			}
			// Nothing in the API caused it.
			if req := parseEvent(t, ev.Payload).Request; req.ID != "" || req.IdempotencyKey != "" {
				t.Errorf("event request = %+v, want nulls", req)
			}
		})
	}
}
