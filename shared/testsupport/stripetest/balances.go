package stripetest

import (
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// balanceTransaction is a Stripe customer balance transaction in its wire
// shape: one immutable entry of the ledger that makes up a customer's
// balance. A negative amount credits the customer, a positive one debits
// them.
type balanceTransaction struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Created       int64             `json:"created"`
	Currency      string            `json:"currency"`
	Customer      string            `json:"customer"`
	Description   *string           `json:"description"`
	EndingBalance int64             `json:"ending_balance"`
	Invoice       *string           `json:"invoice"`
	Livemode      bool              `json:"livemode"`
	Metadata      map[string]string `json:"metadata"`
	Type          string            `json:"type"`
}

func (s *Server) balanceTransactionRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/customers/{customer}/balance_transactions", []string{"amount", "currency", "description", "metadata[*]"}, s.createBalanceTransaction},
		{http.MethodGet, "/v1/customers/{customer}/balance_transactions", listParams, s.listBalanceTransactions},
	}
}

// CustomerBalance returns the balance of the customer with id: negative is
// credit the customer has, positive is what they owe. An unknown customer
// has 0.
func (s *Server) CustomerBalance(customerID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cu, ok := s.customers.get(customerID); ok {
		return cu.Balance
	}
	return 0
}

// BalanceTransactions returns the balance transactions of a customer,
// oldest first: the adjustments created through the API and those invoices
// made when they applied the balance.
func (s *Server) BalanceTransactions(customerID string) []*stripe.CustomerBalanceTransaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.CustomerBalanceTransaction
	for _, bt := range s.balanceTransactions.all() {
		if bt.Customer == customerID {
			out = append(out, decode[stripe.CustomerBalanceTransaction](bt))
		}
	}
	return out
}

func (s *Server) createBalanceTransaction(c *call) (any, *apiError) {
	amount, currency, e := readMoney(c.form)
	if e != nil {
		return nil, e
	}
	if amount == 0 {
		return nil, invalidRequest("amount", "The amount of a customer balance transaction must be non-zero.")
	}
	cu, e := s.customers.lookup(c, "customer")
	if e != nil {
		return nil, e
	}
	// Stripe keeps a balance per currency (invoice_credit_balance), of
	// which balance is the one in the customer's currency; the double
	// keeps only that one.
	if cu.Currency != nil && *cu.Currency != currency {
		return nil, unsupported("currency", "a balance in "+currency+" for a customer whose balance is in "+*cu.Currency)
	}
	bt := s.moveBalance(cu, amount, currency, "adjustment", nil)
	bt.Description = formNullable(c.form, "description")
	bt.Metadata = metadata(c.form)
	return bt, nil
}

func (s *Server) listBalanceTransactions(c *call) (any, *apiError) {
	cu, e := s.customers.lookup(c, "customer")
	if e != nil {
		return nil, e
	}
	return list(c, s.balanceTransactions, func(bt *balanceTransaction) bool { return bt.Customer == cu.ID })
}

// moveBalance moves cu's balance by amount and records the transaction of
// typ that does it. A customer without a currency takes the transaction's.
func (s *Server) moveBalance(cu *customer, amount int64, currency, typ string, invoiceID *string) *balanceTransaction {
	cu.Balance += amount
	if cu.Currency == nil {
		cu.Currency = &currency
	}
	bt := &balanceTransaction{
		ID:            newID("cbtxn_", 24),
		Object:        "customer_balance_transaction",
		Amount:        amount,
		Created:       s.now.Unix(),
		Currency:      currency,
		Customer:      cu.ID,
		EndingBalance: cu.Balance,
		Invoice:       invoiceID,
		Metadata:      map[string]string{},
		Type:          typ,
	}
	s.balanceTransactions.add(bt.ID, bt)
	return bt
}

// applyBalance settles inv against its customer's balance as Stripe does at
// finalization. A credit (negative balance) covers as much of the total as
// it can; a debt (positive balance) is added to amount_due whole. What the
// invoice used is recorded as an applied_to_invoice transaction, and what is
// left becomes the invoice's ending_balance and the customer's balance.
func (s *Server) applyBalance(inv *invoice, cu *customer) {
	var start int64
	if deref(cu.Currency) == inv.Currency {
		start = cu.Balance
	}
	applied := start
	if start < 0 {
		applied = -min(-start, max(inv.Total, 0))
	}
	ending := start - applied
	inv.StartingBalance = start
	inv.EndingBalance = &ending
	inv.AmountDue = max(inv.Total+applied, 0)
	inv.AmountRemaining = inv.AmountDue
	if applied != 0 {
		s.moveBalance(cu, -applied, inv.Currency, "applied_to_invoice", &inv.ID)
	}
}
