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
	CreditNote    *string           `json:"credit_note"`
	Currency      string            `json:"currency"`
	Customer      string            `json:"customer"`
	Description   *string           `json:"description"`
	EndingBalance int64             `json:"ending_balance"`
	Invoice       *string           `json:"invoice"`
	Livemode      bool              `json:"livemode"`
	Metadata      map[string]string `json:"metadata"`
	Type          string            `json:"type"`
}

// Customer balance transaction types the double records.
const (
	balanceAdjustment           = "adjustment"
	balanceAppliedToInvoice     = "applied_to_invoice"
	balanceUnappliedFromInvoice = "unapplied_from_invoice"
)

func (s *Server) balanceTransactionRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/customers/{customer}/balance_transactions", s.createBalanceTransaction},
		{http.MethodGet, "/v1/customers/{customer}/balance_transactions", s.listBalanceTransactions},
		{http.MethodGet, "/v1/customers/{customer}/balance_transactions/{transaction}", s.getBalanceTransaction},
		{http.MethodPost, "/v1/customers/{customer}/balance_transactions/{transaction}", s.updateBalanceTransaction},
	}
}

// CustomerBalance returns the balance of the customer with id, deleted or
// not: negative is credit the customer has, positive is what they owe. An
// unknown customer has 0.
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
// made when they applied (or, voided, gave back) the balance.
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
	amount, set, e := formInt(c.form, "amount")
	if e != nil {
		return nil, e
	}
	if !set {
		return nil, missingParam("amount")
	}
	if amount == 0 {
		return nil, invalidRequest("amount", "The amount of a customer balance transaction must be non-zero.")
	}
	currency, set, e := readCurrency(c.form)
	if e != nil {
		return nil, e
	}
	if !set {
		return nil, missingParam("currency")
	}
	cu, e := s.liveCustomer(c.pathParams["customer"], http.StatusNotFound, "customer")
	if e != nil {
		return nil, e
	}
	// Stripe keeps a balance per currency (invoice_credit_balance), of
	// which balance is the one in the customer's currency; the double
	// keeps only that one.
	if cu.Currency != nil && *cu.Currency != currency {
		return nil, unsupported("currency", "a balance in "+currency+" for a customer whose balance is in "+*cu.Currency)
	}
	bt := s.moveBalance(c, cu, amount, currency, balanceAdjustment, nil)
	bt.Description, _ = formNullable(c.form, "description")
	bt.Metadata = mergeMetadata(bt.Metadata, c)
	return s.renderBalanceTransaction(bt, formList(c.form, "expand"))
}

func (s *Server) getBalanceTransaction(c *call) (any, *apiError) {
	bt, e := s.customerBalanceTransaction(c)
	if e != nil {
		return nil, e
	}
	return s.renderBalanceTransaction(bt, formList(c.form, "expand"))
}

// updateBalanceTransaction changes what Stripe lets change of a
// transaction: its description and metadata. Nothing else about the
// customer changes, so no event is recorded.
func (s *Server) updateBalanceTransaction(c *call) (any, *apiError) {
	for _, name := range []string{"amount", "currency"} {
		if _, ok := formString(c.form, name); ok {
			return nil, invalidRequest(name, "Received unknown parameter: "+name)
		}
	}
	bt, e := s.customerBalanceTransaction(c)
	if e != nil {
		return nil, e
	}
	if v, set := formNullable(c.form, "description"); set {
		bt.Description = v
	}
	bt.Metadata = mergeMetadata(bt.Metadata, c)
	return s.renderBalanceTransaction(bt, formList(c.form, "expand"))
}

func (s *Server) listBalanceTransactions(c *call) (any, *apiError) {
	customerID := c.pathParams["customer"]
	if _, e := s.liveCustomer(customerID, http.StatusNotFound, "customer"); e != nil {
		return nil, e
	}
	return list(c, s.balanceTransactions, func(bt *balanceTransaction) bool { return bt.Customer == customerID },
		s.renderBalanceTransaction)
}

// customerBalanceTransaction finds the transaction a path names, which
// must belong to the live customer the path also names.
func (s *Server) customerBalanceTransaction(c *call) (*balanceTransaction, *apiError) {
	cu, e := s.liveCustomer(c.pathParams["customer"], http.StatusNotFound, "customer")
	if e != nil {
		return nil, e
	}
	id := c.pathParams["transaction"]
	bt, ok := s.balanceTransactions.get(id)
	if !ok || bt.Customer != cu.ID {
		return nil, s.balanceTransactions.noSuch(http.StatusNotFound, id, "transaction")
	}
	return bt, nil
}

// renderBalanceTransaction answers with a transaction. Credit notes are
// not modelled, so credit_note cannot be expanded.
func (s *Server) renderBalanceTransaction(bt *balanceTransaction, paths []string) (any, *apiError) {
	return expand(bt, paths, expanders{
		"customer": s.expandCustomer,
		"invoice":  s.expandInvoice,
	})
}

// moveBalance moves cu's balance by amount and records the transaction of
// typ that does it, and the customer.updated it causes (Stripe has no event
// of its own for balance transactions). A customer without a currency takes
// the transaction's. Drafts of the customer show the new balance as their
// starting_balance.
func (s *Server) moveBalance(c *call, cu *customer, amount int64, currency, typ string, invoiceID *string) *balanceTransaction {
	before := cu.snapshot()
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
	if !cu.Deleted {
		s.recordEvent("customer.updated", cu.ID, cu, previousAttributes(before, cu), c)
	}
	s.syncDraftBalances(cu)
	return bt
}

// balanceIn is the part of cu's balance an invoice in currency uses: all
// of it when currency is the customer's, none otherwise.
func balanceIn(cu *customer, currency string) int64 {
	if deref(cu.Currency) != currency {
		return 0
	}
	return cu.Balance
}

// syncDraftBalances keeps the starting_balance of cu's drafts at the
// customer's current balance, which is what Stripe shows until an invoice
// is finalized.
func (s *Server) syncDraftBalances(cu *customer) {
	for _, inv := range s.invoices.all() {
		if inv.Customer == cu.ID && inv.Status == invoiceDraft && !inv.Deleted {
			inv.StartingBalance = balanceIn(cu, inv.Currency)
		}
	}
}

// applyBalance settles inv against its customer's balance as Stripe does at
// finalization. A credit (negative balance) covers as much of the total as
// it can; a debt (positive balance) is added to amount_due whole. What the
// invoice used is recorded as an applied_to_invoice transaction, and what is
// left becomes the invoice's ending_balance and the customer's balance.
func (s *Server) applyBalance(c *call, inv *invoice, cu *customer) {
	start := balanceIn(cu, inv.Currency)
	applied := start
	if start < 0 {
		applied = -min(-start, max(inv.Total, 0))
	}
	ending := start - applied
	inv.StartingBalance = start
	inv.EndingBalance = &ending
	inv.balanceApplied = applied
	inv.AmountDue = max(inv.Total+applied, 0)
	inv.AmountRemaining = inv.AmountDue - inv.AmountPaid
	if applied != 0 {
		s.moveBalance(c, cu, -applied, inv.Currency, balanceAppliedToInvoice, &inv.ID)
	}
}

// unapplyBalance gives a voided invoice's customer back the balance the
// invoice used, with an unapplied_from_invoice transaction.
func (s *Server) unapplyBalance(c *call, inv *invoice) {
	if inv.balanceApplied == 0 {
		return
	}
	cu, _ := s.customers.get(inv.Customer)
	s.moveBalance(c, cu, inv.balanceApplied, inv.Currency, balanceUnappliedFromInvoice, &inv.ID)
}
