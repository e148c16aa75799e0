package stripetest_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/testsupport/stripetest"
)

func TestCustomerCreateAndGet(t *testing.T) {
	srv, sc := newDouble(t)
	params := &stripe.CustomerParams{
		Email:       stripe.String("ada@example.com"),
		Name:        stripe.String("Ada"),
		Description: stripe.String("first"),
	}
	params.AddMetadata("org", "acme")
	created, err := sc.Customers.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^cus_[A-Za-z0-9]{14}$`).MatchString(created.ID) {
		t.Errorf("id %q does not look like cus_ + 14 alphanumerics", created.ID)
	}
	want := &stripe.Customer{
		ID:                  created.ID,
		Object:              "customer",
		Created:             srv.Now().Unix(),
		Email:               "ada@example.com",
		Name:                "Ada",
		Description:         "first",
		Metadata:            map[string]string{"org": "acme"},
		InvoicePrefix:       created.InvoicePrefix,
		InvoiceSettings:     &stripe.CustomerInvoiceSettings{},
		NextInvoiceSequence: 1,
		PreferredLocales:    []string{},
		TaxExempt:           stripe.CustomerTaxExemptNone,
	}
	if diff := cmp.Diff(want, created, ignoreResponse); diff != "" {
		t.Errorf("created customer (-want +got):\n%s", diff)
	}
	got, err := sc.Customers.Get(created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, ignoreResponse); diff != "" {
		t.Errorf("retrieved customer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*stripe.Customer{want}, srv.Customers(), ignoreResponse); diff != "" {
		t.Errorf("Customers() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"customer.created"}, eventTypes(t, srv, created.ID)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestCustomerUpdate(t *testing.T) {
	tests := []struct {
		name         string
		params       func(*stripe.CustomerParams)
		wantEmail    string
		wantName     string
		wantMetadata map[string]string
		// wantPrevious is the customer.updated event's previous_attributes;
		// nil means no event.
		wantPrevious map[string]any
		wantErr      *apiErr
	}{
		{
			name:         "set name",
			params:       func(p *stripe.CustomerParams) { p.Name = stripe.String("Ada") },
			wantEmail:    "old@example.com",
			wantName:     "Ada",
			wantMetadata: map[string]string{"a": "1", "b": "2"},
			wantPrevious: map[string]any{"name": nil},
		},
		{
			name: "metadata merges and empty value deletes",
			params: func(p *stripe.CustomerParams) {
				p.AddMetadata("b", "")
				p.AddMetadata("c", "3")
			},
			wantEmail:    "old@example.com",
			wantMetadata: map[string]string{"a": "1", "c": "3"},
			wantPrevious: map[string]any{"metadata": map[string]any{"b": "2", "c": nil}},
		},
		{
			name:         "change email",
			params:       func(p *stripe.CustomerParams) { p.Email = stripe.String("new@example.com") },
			wantEmail:    "new@example.com",
			wantMetadata: map[string]string{"a": "1", "b": "2"},
			wantPrevious: map[string]any{"email": "old@example.com"},
		},
		{
			name:         "unset email with empty string",
			params:       func(p *stripe.CustomerParams) { p.Email = stripe.String("") },
			wantMetadata: map[string]string{"a": "1", "b": "2"},
			wantPrevious: map[string]any{"email": "old@example.com"},
		},
		{
			name:         "no change records no event",
			params:       func(p *stripe.CustomerParams) { p.AddMetadata("a", "1") },
			wantEmail:    "old@example.com",
			wantMetadata: map[string]string{"a": "1", "b": "2"},
		},
		{
			name:         "invalid email",
			params:       func(p *stripe.CustomerParams) { p.Email = stripe.String("not-an-email") },
			wantEmail:    "old@example.com",
			wantMetadata: map[string]string{"a": "1", "b": "2"},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "email_invalid", Param: "email",
				Msg: "Invalid email address: not-an-email"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			p := &stripe.CustomerParams{Email: stripe.String("old@example.com")}
			p.AddMetadata("a", "1")
			p.AddMetadata("b", "2")
			cu := mustCustomer(t, sc, p)

			update := &stripe.CustomerParams{}
			tt.params(update)
			_, err := sc.Customers.Update(cu.ID, update)
			checkErr(t, err, tt.wantErr)

			got, _ := srv.Customer(cu.ID)
			if diff := cmp.Diff(tt.wantMetadata, got.Metadata); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
			if got.Email != tt.wantEmail || got.Name != tt.wantName {
				t.Errorf("email, name = %q, %q; want %q, %q", got.Email, got.Name, tt.wantEmail, tt.wantName)
			}

			ev, ok := srv.LastEvent("customer.updated", cu.ID)
			if ok != (tt.wantPrevious != nil) {
				t.Fatalf("customer.updated recorded = %v, want %v", ok, tt.wantPrevious != nil)
			}
			if ok {
				data := parseEvent(t, ev.Payload).Data
				if diff := cmp.Diff(tt.wantPrevious, data.PreviousAttributes); diff != "" {
					t.Errorf("previous_attributes (-want +got):\n%s", diff)
				}
				if data.Object["email"] != nilIfEmpty(tt.wantEmail) {
					t.Errorf("event object email = %v, want %q", data.Object["email"], tt.wantEmail)
				}
			}
		})
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestCustomerDelete(t *testing.T) {
	srv, sc := newDouble(t)
	cu := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("a@example.com")})

	deleted, err := sc.Customers.Del(cu.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	stub := &stripe.Customer{ID: cu.ID, Object: "customer", Deleted: true}
	if diff := cmp.Diff(stub, deleted, ignoreResponse); diff != "" {
		t.Errorf("delete response (-want +got):\n%s", diff)
	}
	got, err := sc.Customers.Get(cu.ID, nil)
	if err != nil {
		t.Fatalf("retrieving a deleted customer: %v", err)
	}
	if diff := cmp.Diff(stub, got, ignoreResponse); diff != "" {
		t.Errorf("retrieved deleted customer (-want +got):\n%s", diff)
	}

	missing := &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "id",
		Msg: "No such customer: '" + cu.ID + "'"}
	_, err = sc.Customers.Update(cu.ID, &stripe.CustomerParams{Name: stripe.String("x")})
	checkErr(t, err, missing)
	_, err = sc.Customers.Del(cu.ID, nil)
	checkErr(t, err, missing)

	ev, ok := srv.LastEvent("customer.deleted", cu.ID)
	if !ok {
		t.Fatal("no customer.deleted event")
	}
	if email := parseEvent(t, ev.Payload).Data.Object["email"]; email != "a@example.com" {
		t.Errorf("customer.deleted carries email %v, want the full customer", email)
	}
	if all := srv.Customers(); len(all) != 1 || !all[0].Deleted || all[0].Email != "a@example.com" {
		t.Errorf("Customers() = %+v, want the deleted customer with its fields", all)
	}
}

func TestCustomerNotFound(t *testing.T) {
	_, sc := newDouble(t)
	want := &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "id",
		Msg: "No such customer: 'cus_missing'"}
	tests := []struct {
		name string
		do   func() error
	}{
		{"get", func() error { _, err := sc.Customers.Get("cus_missing", nil); return err }},
		{"update", func() error { _, err := sc.Customers.Update("cus_missing", &stripe.CustomerParams{}); return err }},
		{"delete", func() error { _, err := sc.Customers.Del("cus_missing", nil); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.do(), want) })
	}
}

// seedCustomers creates n customers, the ones at even positions with email
// even@example.com, and returns their ids oldest first. The clock advances a
// minute between creations.
func seedCustomers(t *testing.T, srv *stripetest.Server, sc *client.API, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		p := &stripe.CustomerParams{Email: stripe.String(fmt.Sprintf("c%d@example.com", i))}
		if i%2 == 0 {
			p.Email = stripe.String("even@example.com")
		}
		p.AddMetadata("i", fmt.Sprint(i))
		out = append(out, mustCustomer(t, sc, p).ID)
		srv.Advance(time.Minute)
	}
	return out
}

func TestCustomerList(t *testing.T) {
	srv, sc := newDouble(t)
	start := srv.Now()
	c := seedCustomers(t, srv, sc, 12)
	if _, err := sc.Customers.Del(c[11], nil); err != nil {
		t.Fatal(err)
	}
	// Newest first, deleted excluded.
	all := []string{c[10], c[9], c[8], c[7], c[6], c[5], c[4], c[3], c[2], c[1], c[0]}

	tests := []struct {
		name        string
		params      *stripe.CustomerListParams
		single      bool // read one page and check has_more
		want        []string
		wantHasMore bool
		wantErr     *apiErr
	}{
		{name: "default page is 10", params: &stripe.CustomerListParams{}, single: true, want: all[:10], wantHasMore: true},
		{name: "iterator walks every page", params: &stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(3)}}, want: all},
		{name: "limit", params: &stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(4)}}, single: true, want: all[:4], wantHasMore: true},
		{name: "last page has no more", params: &stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(11)}}, single: true, want: all},
		{
			name:   "email filter",
			params: &stripe.CustomerListParams{Email: stripe.String("even@example.com"), ListParams: stripe.ListParams{Limit: stripe.Int64(2)}},
			want:   []string{c[10], c[8], c[6], c[4], c[2], c[0]},
		},
		{
			name:   "starting_after",
			params: &stripe.CustomerListParams{ListParams: stripe.ListParams{StartingAfter: stripe.String(c[3]), Limit: stripe.Int64(2)}},
			want:   []string{c[2], c[1], c[0]},
		},
		{
			// The API sends the newer neighbours newest first (c5, c4);
			// stripe-go reverses ending_before pages to walk towards newer
			// objects.
			name:        "ending_before page",
			params:      &stripe.CustomerListParams{ListParams: stripe.ListParams{EndingBefore: stripe.String(c[3]), Limit: stripe.Int64(2)}},
			single:      true,
			want:        []string{c[4], c[5]},
			wantHasMore: true,
		},
		{
			name:   "ending_before iterator",
			params: &stripe.CustomerListParams{ListParams: stripe.ListParams{EndingBefore: stripe.String(c[6]), Limit: stripe.Int64(2)}},
			want:   []string{c[7], c[8], c[9], c[10]},
		},
		{
			name:   "created range",
			params: &stripe.CustomerListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: start.Add(2 * time.Minute).Unix(), LesserThan: start.Add(5 * time.Minute).Unix()}},
			want:   []string{c[4], c[3], c[2]},
		},
		{
			name:    "limit above 100",
			params:  &stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(101)}},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "limit"},
		},
		{
			name:    "unknown cursor",
			params:  &stripe.CustomerListParams{ListParams: stripe.ListParams{StartingAfter: stripe.String("cus_nope")}},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "starting_after", Msg: "No such customer: 'cus_nope'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.params.Single = tt.single
			it := sc.Customers.List(tt.params)
			var got []string
			for it.Next() {
				got = append(got, it.Customer().ID)
			}
			checkErr(t, it.Err(), tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if tt.single {
				l := it.CustomerList()
				var raw struct{ Object string }
				if err := json.Unmarshal(l.LastResponse.RawJSON, &raw); err != nil {
					t.Fatal(err)
				}
				if l.HasMore != tt.wantHasMore || l.URL != "/v1/customers" || raw.Object != "list" {
					t.Errorf("list meta = has_more %v url %q object %q, want has_more %v url /v1/customers object list", l.HasMore, l.URL, raw.Object, tt.wantHasMore)
				}
			}
		})
	}
}

func TestCustomerSearch(t *testing.T) {
	_, sc := newDouble(t)
	var acme []string // newest first
	for i := range 5 {
		p := &stripe.CustomerParams{Email: stripe.String(fmt.Sprintf("u%d@acme.test", i)), Name: stripe.String("Ada")}
		p.AddMetadata("org", "acme")
		p.AddMetadata("plan", []string{"free", "pro"}[i%2])
		acme = append([]string{mustCustomer(t, sc, p).ID}, acme...)
	}
	other := &stripe.CustomerParams{Email: stripe.String("it's@other.test")}
	other.AddMetadata("org", "other's")
	otherID := mustCustomer(t, sc, other).ID
	gone := &stripe.CustomerParams{Email: stripe.String("gone@acme.test")}
	gone.AddMetadata("org", "acme")
	goneID := mustCustomer(t, sc, gone).ID
	if _, err := sc.Customers.Del(goneID, nil); err != nil {
		t.Fatal(err)
	}

	badQuery := &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "query"}
	tests := []struct {
		name    string
		query   string
		limit   int64
		want    []string
		wantErr *apiErr
	}{
		{name: "metadata, iterating pages", query: "metadata['org']:'acme'", limit: 2, want: acme},
		{name: "metadata with double quotes", query: `metadata["plan"]:"pro"`, want: []string{acme[1], acme[3]}},
		{name: "email", query: "email:'u3@acme.test'", want: []string{acme[1]}},
		{name: "AND", query: "metadata['org']:'acme' AND metadata['plan']:'free' AND name:'Ada'", want: []string{acme[0], acme[2], acme[4]}},
		{name: "escaped quote", query: `metadata['org']:'other\'s' AND email:"it's@other.test"`, want: []string{otherID}},
		{name: "no match", query: "email:'nobody@acme.test'"},
		{name: "deleted customers are not found", query: "email:'gone@acme.test'"},
		{name: "unquoted value", query: "email:u3@acme.test", wantErr: badQuery},
		{name: "dangling AND", query: "email:'a@b.c' AND", wantErr: badQuery},
		{name: "garbage", query: "what is this", wantErr: badQuery},
		{name: "OR is not modelled", query: "email:'a@b.c' OR email:'d@e.f'", wantErr: badQuery},
		{name: "empty", query: "", wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{Query: tt.query}}
			if tt.limit != 0 {
				p.Limit = stripe.Int64(tt.limit)
			}
			it := sc.Customers.Search(p)
			var got []string
			for it.Next() {
				got = append(got, it.Customer().ID)
			}
			checkErr(t, it.Err(), tt.wantErr)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("single page", func(t *testing.T) {
		p := &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{Query: "metadata['org']:'acme'", Limit: stripe.Int64(3), Single: true}}
		it := sc.Customers.Search(p)
		for it.Next() {
		}
		res := it.CustomerSearchResult()
		raw, _ := json.Marshal(res.SearchMeta)
		if len(res.Data) != 3 || !res.HasMore || res.NextPage == nil || res.URL != "/v1/customers/search" {
			t.Errorf("page = %d items, meta %s; want 3 items, has_more, a next_page, url /v1/customers/search", len(res.Data), raw)
		}
	})
}
