package stripetest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

func mustAttach(t *testing.T, sc *client.API, pm, customerID string) *stripe.PaymentMethod {
	t.Helper()
	got, err := sc.PaymentMethods.Attach(pm, &stripe.PaymentMethodAttachParams{Customer: stripe.String(customerID)})
	if err != nil {
		t.Fatalf("attaching %s to %s: %v", pm, customerID, err)
	}
	return got
}

func TestPaymentMethodAttach(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	gone := mustCustomer(t, sc, nil)
	if _, err := sc.Customers.Del(gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	mustAttach(t, sc, "pm_taken", other.ID)

	card := func(brand stripe.PaymentMethodCardBrand, last4 string) *stripe.PaymentMethodCard {
		return &stripe.PaymentMethodCard{Brand: brand, DisplayBrand: string(brand), Last4: last4, ExpMonth: 12,
			ExpYear: int64(srv.Now().Year() + 3), Country: "US", Funding: "credit"}
	}
	tests := []struct {
		name       string
		pm         string
		customer   *string
		want       *stripe.PaymentMethodCard
		wantEvents []string
		wantErr    *apiErr
	}{
		{name: "test card keeps its id", pm: "pm_card_visa", customer: stripe.String(cus.ID), want: card("visa", "4242"),
			wantEvents: []string{"payment_method.attached"}},
		{name: "mastercard", pm: "pm_card_mastercard", customer: stripe.String(cus.ID), want: card("mastercard", "4444"),
			wantEvents: []string{"payment_method.attached"}},
		{name: "any pm_ id is a Visa", pm: "pm_1NxYz", customer: stripe.String(cus.ID), want: card("visa", "4242"),
			wantEvents: []string{"payment_method.attached"}},
		{
			name: "attached to another customer", pm: "pm_taken", customer: stripe.String(cus.ID),
			wantEvents: []string{"payment_method.attached"}, // the setup's own attach
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest,
				Msg: "The payment method you provided has already been attached to a customer."},
		},
		{
			name: "missing customer", pm: "pm_e1",
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "customer",
				Msg: "Missing required param: customer."},
		},
		{
			name: "unknown customer", pm: "pm_e2", customer: stripe.String("cus_nope"),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer",
				Msg: "No such customer: 'cus_nope'"},
		},
		{
			name: "deleted customer", pm: "pm_e3", customer: stripe.String(gone.ID),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"},
		},
		{
			name: "not a payment method id", pm: "card_123", customer: stripe.String(cus.ID),
			wantErr: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "payment_method",
				Msg: "No such PaymentMethod: 'card_123'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sc.PaymentMethods.Attach(tt.pm, &stripe.PaymentMethodAttachParams{Customer: tt.customer})
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.wantEvents, eventTypes(t, srv, tt.pm)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			want := &stripe.PaymentMethod{ID: tt.pm, Object: "payment_method", Type: "card", Card: tt.want,
				Customer: &stripe.Customer{ID: cus.ID}, Created: srv.Now().Unix(), Metadata: map[string]string{},
				BillingDetails: &stripe.PaymentMethodBillingDetails{Address: &stripe.Address{}}}
			opts := cmp.Options{ignoreResponse, cmpopts.IgnoreFields(stripe.PaymentMethodCard{}, "Checks", "Fingerprint", "Networks", "ThreeDSecureUsage")}
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("attached payment method (-want +got):\n%s", diff)
			}
			retrieved, err := sc.PaymentMethods.Get(tt.pm, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, retrieved, opts); diff != "" {
				t.Errorf("retrieved payment method (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("attaching again to the same customer changes nothing", func(t *testing.T) {
		before := len(srv.Events())
		got := mustAttach(t, sc, "pm_card_visa", cus.ID)
		if got.Customer.ID != cus.ID || len(srv.Events()) != before {
			t.Errorf("customer %s, %d new events; want %s and none", got.Customer.ID, len(srv.Events())-before, cus.ID)
		}
	})
	t.Run("same card number, same fingerprint", func(t *testing.T) {
		a, _ := sc.PaymentMethods.Get("pm_card_visa", nil)
		b, _ := sc.PaymentMethods.Get("pm_1NxYz", nil)
		m, _ := sc.PaymentMethods.Get("pm_card_mastercard", nil)
		if a.Card.Fingerprint == "" || a.Card.Fingerprint != b.Card.Fingerprint || a.Card.Fingerprint == m.Card.Fingerprint {
			t.Errorf("fingerprints visa %q, visa %q, mastercard %q", a.Card.Fingerprint, b.Card.Fingerprint, m.Card.Fingerprint)
		}
	})
}

func TestPaymentMethodDetach(t *testing.T) {
	tests := []struct {
		name        string
		attach      bool
		makeDefault bool
		wantErr     *apiErr
		wantEvents  []string
	}{
		{name: "attached", attach: true, wantEvents: []string{"payment_method.attached", "payment_method.detached"}},
		{name: "the customer's default", attach: true, makeDefault: true, wantEvents: []string{"payment_method.attached", "payment_method.detached"}},
		{
			name: "not attached",
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest,
				Msg: "The payment method you provided is not attached to a customer so detachment is impossible."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			if tt.attach {
				mustAttach(t, sc, "pm_card_visa", cus.ID)
			}
			if tt.makeDefault {
				if _, err := sc.Customers.Update(cus.ID, &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{
					DefaultPaymentMethod: stripe.String("pm_card_visa")}}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := sc.PaymentMethods.Detach("pm_card_visa", nil)
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.wantEvents, eventTypes(t, srv, "pm_card_visa")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if got.Customer != nil {
				t.Errorf("detached payment method customer = %v, want null", got.Customer)
			}
			ev, _ := srv.LastEvent("payment_method.detached", "pm_card_visa")
			if prev := parseEvent(t, ev.Payload).Data.PreviousAttributes; !cmp.Equal(prev, map[string]any{"customer": cus.ID}) {
				t.Errorf("previous_attributes = %v, want the customer", prev)
			}
			if pms := srv.PaymentMethods(cus.ID); len(pms) != 0 {
				t.Errorf("PaymentMethods() = %d methods, want none", len(pms))
			}
			stored, _ := srv.Customer(cus.ID)
			if stored.InvoiceSettings.DefaultPaymentMethod != nil {
				t.Errorf("default payment method %s survived its detachment", stored.InvoiceSettings.DefaultPaymentMethod.ID)
			}
			if _, updated := srv.LastEvent("customer.updated", cus.ID); updated != tt.makeDefault {
				t.Errorf("customer.updated recorded = %v, want %v", updated, tt.makeDefault)
			}
			// Detaching is not idempotent in Stripe.
			_, err = sc.PaymentMethods.Detach("pm_card_visa", nil)
			checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest})
		})
	}
}

func TestPaymentMethodList(t *testing.T) {
	srv, sc := newDouble(t)
	alice := mustCustomer(t, sc, nil)
	bob := mustCustomer(t, sc, nil)
	gone := mustCustomer(t, sc, nil)
	var alicePMs []string // newest first
	for _, pm := range []string{"pm_a1", "pm_a2", "pm_a3"} {
		mustAttach(t, sc, pm, alice.ID)
		alicePMs = append([]string{pm}, alicePMs...)
	}
	mustAttach(t, sc, "pm_b1", bob.ID)
	if _, err := sc.PaymentMethods.Get("pm_unattached", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Customers.Del(gone.ID, nil); err != nil {
		t.Fatal(err)
	}

	type lister func() ([]string, error)
	listAll := func(p *stripe.PaymentMethodListParams) lister {
		return func() ([]string, error) {
			it := sc.PaymentMethods.List(p)
			var ids []string
			for it.Next() {
				ids = append(ids, it.PaymentMethod().ID)
			}
			return ids, it.Err()
		}
	}
	listCustomer := func(p *stripe.CustomerListPaymentMethodsParams) lister {
		return func() ([]string, error) {
			it := sc.Customers.ListPaymentMethods(p)
			var ids []string
			for it.Next() {
				ids = append(ids, it.PaymentMethod().ID)
			}
			return ids, it.Err()
		}
	}
	tests := []struct {
		name    string
		list    lister
		want    []string
		wantErr *apiErr
	}{
		{name: "customer and type card", list: listAll(&stripe.PaymentMethodListParams{Customer: stripe.String(alice.ID), Type: stripe.String("card")}), want: alicePMs},
		{name: "pages of one", list: listAll(&stripe.PaymentMethodListParams{Customer: stripe.String(alice.ID), ListParams: stripe.ListParams{Limit: stripe.Int64(1)}}), want: alicePMs},
		{name: "other type", list: listAll(&stripe.PaymentMethodListParams{Customer: stripe.String(alice.ID), Type: stripe.String("sepa_debit")})},
		{name: "another customer", list: listAll(&stripe.PaymentMethodListParams{Customer: stripe.String(bob.ID)}), want: []string{"pm_b1"}},
		{name: "customer endpoint", list: listCustomer(&stripe.CustomerListPaymentMethodsParams{Customer: stripe.String(alice.ID), Type: stripe.String("card")}), want: alicePMs},
		{
			name:    "customer endpoint, deleted customer",
			list:    listCustomer(&stripe.CustomerListPaymentMethodsParams{Customer: stripe.String(gone.ID)}),
			wantErr: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"},
		},
		{
			name:    "unknown customer",
			list:    listAll(&stripe.PaymentMethodListParams{Customer: stripe.String("cus_nope")}),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"},
		},
		{
			name:    "no customer is not modelled",
			list:    listAll(&stripe.PaymentMethodListParams{Type: stripe.String("card")}),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "customer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.list()
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("retrieve through the customer", func(t *testing.T) {
		pm, err := sc.Customers.RetrievePaymentMethod("pm_a2", &stripe.CustomerRetrievePaymentMethodParams{Customer: stripe.String(alice.ID)})
		if err != nil || pm.ID != "pm_a2" {
			t.Fatalf("got %v, %v", pm, err)
		}
		_, err = sc.Customers.RetrievePaymentMethod("pm_b1", &stripe.CustomerRetrievePaymentMethodParams{Customer: stripe.String(alice.ID)})
		checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "payment_method",
			Msg: "No such PaymentMethod: 'pm_b1'"})
	})
	t.Run("PaymentMethods helper", func(t *testing.T) {
		var got []string
		for _, pm := range srv.PaymentMethods(alice.ID) {
			got = append(got, pm.ID)
		}
		if diff := cmp.Diff([]string{"pm_a1", "pm_a2", "pm_a3"}, got); diff != "" {
			t.Errorf("PaymentMethods() (-want +got):\n%s", diff)
		}
	})
	t.Run("expand customer", func(t *testing.T) {
		p := &stripe.PaymentMethodParams{}
		p.AddExpand("customer")
		pm, err := sc.PaymentMethods.Get("pm_b1", p)
		if err != nil {
			t.Fatal(err)
		}
		if pm.Customer.ID != bob.ID || pm.Customer.Object != "customer" {
			t.Errorf("expanded customer = %+v", pm.Customer)
		}
	})
}

func TestAttachPaymentMethodHelper(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	tests := []struct {
		name       string
		customer   string
		pm         string
		wantErr    bool
		wantEvents int
	}{
		{name: "attaches", customer: cus.ID, pm: "pm_card_visa", wantEvents: 1},
		{name: "again is a no-op", customer: cus.ID, pm: "pm_card_visa", wantEvents: 1},
		{name: "attached elsewhere", customer: other.ID, pm: "pm_card_visa", wantErr: true, wantEvents: 1},
		{name: "unknown customer", customer: "cus_nope", pm: "pm_x", wantErr: true},
		{name: "not a payment method", customer: cus.ID, pm: "src_123", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := srv.AttachPaymentMethod(tt.customer, tt.pm)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := len(eventTypes(t, srv, tt.pm)); got != tt.wantEvents {
				t.Errorf("%d events about %s, want %d", got, tt.pm, tt.wantEvents)
			}
		})
	}
	ev, _ := srv.LastEvent("payment_method.attached", "pm_card_visa")
	if req := parseEvent(t, ev.Payload).Request; req.ID != "" {
		t.Errorf("test-side attach names request %q, want none", req.ID)
	}
	if pms := srv.PaymentMethods(cus.ID); len(pms) != 1 || pms[0].Customer.ID != cus.ID {
		t.Errorf("PaymentMethods() = %+v", pms)
	}
}

func TestCustomerDefaultPaymentMethod(t *testing.T) {
	notAttached := func(pm string) *apiErr {
		return &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoice_settings[default_payment_method]",
			Msg: "The customer does not have a payment method with the ID " + pm + ". The payment method must be attached to the customer."}
	}
	tests := []struct {
		name        string
		create      *stripe.CustomerParams
		update      *stripe.CustomerParams // applied after attaching pm_saved
		wantDefault string
		wantErr     *apiErr
	}{
		{
			name: "create with a payment method made default",
			create: &stripe.CustomerParams{PaymentMethod: stripe.String("pm_card_visa"),
				InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String("pm_card_visa")}},
			wantDefault: "pm_card_visa",
		},
		{
			name:    "create with a default that is not attached",
			create:  &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String("pm_card_visa")}},
			wantErr: notAttached("pm_card_visa"),
		},
		{
			name:        "update to an attached method",
			update:      &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String("pm_saved")}},
			wantDefault: "pm_saved",
		},
		{
			name:    "update to a method not attached",
			update:  &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String("pm_other")}},
			wantErr: notAttached("pm_other"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			if tt.create == nil {
				tt.create = &stripe.CustomerParams{}
			}
			cus, err := sc.Customers.New(tt.create)
			if tt.update != nil {
				if err != nil {
					t.Fatal(err)
				}
				mustAttach(t, sc, "pm_saved", cus.ID)
				cus, err = sc.Customers.Update(cus.ID, tt.update)
			}
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if tt.update == nil && len(srv.Customers()) != 0 {
					t.Error("a refused create stored a customer")
				}
				return
			}
			if got := cus.InvoiceSettings.DefaultPaymentMethod; got == nil || got.ID != tt.wantDefault {
				t.Errorf("default payment method = %v, want %s", got, tt.wantDefault)
			}
			if pms := srv.PaymentMethods(cus.ID); len(pms) != 1 {
				t.Errorf("%d payment methods attached, want 1", len(pms))
			}
		})
	}
}

// TestSetupFutureUsage checks that a successful payment made with
// setup_future_usage saves its payment method to the customer, and that
// nothing else does.
func TestSetupFutureUsage(t *testing.T) {
	tests := []struct {
		name        string
		sfuOnCreate string
		sfuConfirm  string
		customer    bool
		pm          string
		wantErr     *apiErr
		wantSaved   bool
	}{
		{name: "off_session on create", sfuOnCreate: "off_session", customer: true, pm: "pm_card_visa", wantSaved: true},
		{name: "on_session on confirm", sfuConfirm: "on_session", customer: true, pm: "pm_card_visa", wantSaved: true},
		{name: "without setup_future_usage", customer: true, pm: "pm_card_visa"},
		{name: "without a customer", sfuOnCreate: "off_session", pm: "pm_card_visa"},
		{
			name: "declined", sfuOnCreate: "off_session", customer: true, pm: "pm_card_chargeDeclined",
			wantErr: &apiErr{Status: 402, Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline"},
		},
		{
			name: "invalid value", sfuConfirm: "forever", customer: true, pm: "pm_card_visa",
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "setup_future_usage"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cusID := ""
			if tt.customer {
				cusID = mustCustomer(t, sc, nil).ID
			}
			p := cardParams(1000, cusID)
			if tt.sfuOnCreate != "" {
				p.SetupFutureUsage = stripe.String(tt.sfuOnCreate)
			}
			pi, err := sc.PaymentIntents.New(p)
			if err != nil {
				t.Fatal(err)
			}
			cp := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(tt.pm)}
			if tt.sfuConfirm != "" {
				cp.SetupFutureUsage = stripe.String(tt.sfuConfirm)
			}
			_, err = sc.PaymentIntents.Confirm(pi.ID, cp)
			checkErr(t, err, tt.wantErr)
			pm, _ := sc.PaymentMethods.Get(tt.pm, nil)
			if saved := pm.Customer != nil; saved != tt.wantSaved {
				t.Errorf("saved to the customer = %v, want %v", saved, tt.wantSaved)
			}
			if tt.wantSaved {
				if pm.Customer.ID != cusID || len(srv.PaymentMethods(cusID)) != 1 {
					t.Errorf("saved to %s, want %s", pm.Customer.ID, cusID)
				}
				if diff := cmp.Diff([]string{"payment_method.attached"}, eventTypes(t, srv, tt.pm)); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			}
		})
	}
}
