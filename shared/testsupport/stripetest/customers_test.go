package stripetest_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
)

func TestCustomerCreate(t *testing.T) {
	tests := []struct {
		name    string
		params  func() *stripe.CustomerParams
		want    *stripe.Customer // ID, Created and LastResponse not compared
		wantErr *apiErr
	}{
		{name: "nothing", params: func() *stripe.CustomerParams { return &stripe.CustomerParams{} },
			want: &stripe.Customer{Object: "customer", Metadata: map[string]string{}}},
		{name: "email and metadata", params: func() *stripe.CustomerParams {
			p := &stripe.CustomerParams{Email: stripe.String("ada@example.com")}
			p.AddMetadata("user_id", "u1")
			return p
		}, want: &stripe.Customer{Object: "customer", Email: "ada@example.com", Metadata: map[string]string{"user_id": "u1"}}},
		{name: "invalid email", params: func() *stripe.CustomerParams { return &stripe.CustomerParams{Email: stripe.String("not an email")} },
			wantErr: invalid("email_invalid", "email", "Invalid email address: not an email")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			got, err := sc.Customers.New(tt.params())
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if n := len(srv.Customers()); n != 0 {
					t.Errorf("a refused create stored %d customers", n)
				}
				return
			}
			if !regexp.MustCompile(`^cus_[A-Za-z0-9]{14}$`).MatchString(got.ID) || got.Created == 0 {
				t.Errorf("id %q, created %d", got.ID, got.Created)
			}
			tt.want.ID, tt.want.Created = got.ID, got.Created
			got.LastResponse = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("customer (-want +got):\n%s", diff)
			}
			if stored := srv.Customers(); len(stored) != 1 || stored[0].ID != got.ID || stored[0].Email != tt.want.Email {
				t.Errorf("Customers() = %+v", stored)
			}
		})
	}
}

// TestCustomerSearch searches by metadata as the port does, newest first,
// across pages.
func TestCustomerSearch(t *testing.T) {
	srv, sc := newDouble(t)
	var want []string // newest first
	for i := range 12 {
		p := &stripe.CustomerParams{}
		p.AddMetadata("user_id", []string{"u'1", "u2"}[i%3/2])
		cu := mustCustomer(t, sc, p)
		if i%3 != 2 {
			want = append([]string{cu.ID}, want...)
		}
	}
	search := func(query string, limit int64) ([]string, error) {
		p := &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{Query: query, Limit: stripe.Int64(limit)}}
		it := sc.Customers.Search(p)
		var ids []string
		for it.Next() {
			ids = append(ids, it.Customer().ID)
		}
		return ids, it.Err()
	}
	got, err := search(`metadata['user_id']:'u\'1'`, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("search across pages of 3 (-want +got):\n%s", diff)
	}
	if got, _ := search(`metadata["user_id"]:"nobody"`, 10); len(got) != 0 {
		t.Errorf("search for nobody = %v", got)
	}

	refusals := []struct {
		query string
		want  *apiErr
	}{
		{query: `email:'a@example.com'`, want: invalid("", "query", "stripetest does not support searching by email; add it to the double if a test needs it.")},
		{query: `metadata['a']:'1' OR metadata['b']:'2'`, want: invalid("", "query", "")},
		{query: `metadata['a']:1`, want: invalid("", "query", "")},
		{query: ``, want: invalid("parameter_missing", "query", "")},
	}
	for _, r := range refusals {
		t.Run(fmt.Sprintf("refused %q", r.query), func(t *testing.T) {
			_, err := search(r.query, 10)
			checkErr(t, err, r.want)
		})
	}
	if n := len(srv.Customers()); n != 12 {
		t.Errorf("%d customers", n)
	}
}
