package testenv_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/billing/shared/testsupport/testenv"
)

// The contract check catches what the document forbids, so that Do's
// silence means something.
func TestCheckExchange(t *testing.T) {
	t.Parallel()
	const usage = `"currentUsage":{"amount":0,"lines":[]}`
	const check = `{"canDelete":true,"reasons":[],"unpaidInvoices":[],"amountOwed":0,"pendingInvoiceItems":0,"pendingPayments":0,` +
		usage + `,"balance":0,"finalAmountDue":0,"remainingBalance":0,"refunds":[],"forfeitedBalance":0,"currency":"usd"}`
	cases := []struct {
		name    string
		method  string
		path    string
		reqBody string
		status  int
		body    string
		wantErr string // "" means: agrees
	}{
		{name: "a documented check", method: "GET", path: "/DeletionCheck", status: 200, body: check},
		{name: "a zero time", method: "GET", path: "/DeletionCheck", status: 200,
			body: strings.Replace(check, usage, `"currentUsage":{"periodStart":"0001-01-01T00:00:00Z","amount":0,"lines":[]}`, 1), wantErr: "periodStart"},
		{name: "Go field names", method: "GET", path: "/DeletionCheck", status: 200,
			body: strings.Replace(check, usage, `"currentUsage":{"amount":0,"lines":[{"Kind":"storage","Description":"x","Amount":0}]}`, 1), wantErr: "lines"},
		{name: "an undocumented field", method: "GET", path: "/DeletionCheck", status: 200,
			body: strings.Replace(check, `"currency":"usd"`, `"currency":"usd","secret":1`, 1), wantErr: "secret"},
		{name: "an undocumented status", method: "GET", path: "/Balance", status: 418, body: `{"error":{"code":"teapot","message":"No."}}`, wantErr: "418"},
		{name: "an error code the endpoint does not have", method: "POST", path: "/AddFunds", reqBody: `{"amount":1}`, status: 400,
			body: `{"error":{"code":"unknown_package","message":"No."}}`, wantErr: "code"},
		{name: "a documented error", method: "POST", path: "/AddFunds", reqBody: `{"amount":1}`, status: 400,
			body: `{"error":{"code":"amount_too_low","message":"The smallest amount you can add is 10.00 USD."}}`},
		{name: "an accepted request the document does not describe", method: "POST", path: "/AddFunds", reqBody: `{"amount":"25"}`, status: 200,
			body: `{"transactionId":"t","paymentIntentId":"pi_1","clientSecret":"s","status":"requires_payment_method","amount":2500,"currency":"usd"}`, wantErr: "amount"},
		{name: "another method", method: "PUT", path: "/Balance", status: 405,
			body: `{"error":{"code":"method_not_allowed","message":"This endpoint does not accept that HTTP method."}}`},
		{name: "another method served", method: "DELETE", path: "/Balance", status: 200, body: `{}`, wantErr: "405"},
		{name: "a path the document does not name is not checked", method: "GET", path: "/", status: 418, body: `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := testenv.Request(tc.method, tc.path, "a.b.c", tc.reqBody)
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/json; charset=utf-8")
			rec.WriteHeader(tc.status)
			rec.WriteString(tc.body)
			err := testenv.CheckExchange(req, []byte(tc.reqBody), rec.Result(), []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected disagreement: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("no disagreement found, want one about %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("the disagreement does not name %q: %v", tc.wantErr, err)
			}
		})
	}
}
