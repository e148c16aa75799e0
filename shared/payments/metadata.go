package payments

// Metadata keys on the Stripe objects we create, and the values we give
// them. They tie a Stripe object to our user and ledger, so that a webhook,
// a reconciliation or a retry after Stripe forgot an idempotency key finds
// what the object is about. They are declared here only: every other
// package uses these names.
const (
	// MetadataUserID: our user (customers, PaymentIntents, invoices,
	// refunds). Customers are found by it after Stripe has forgotten an
	// idempotency key.
	MetadataUserID = "user_id"
	// MetadataTransactionID: the ledger transaction a PaymentIntent pays,
	// or the ledger entry a refund carries out.
	MetadataTransactionID = "transaction_id"
	// MetadataKind: what the object is for. On a PaymentIntent, the
	// transaction type (ledger.TypeCardTopUp, ledger.TypePackagePurchase);
	// on an invoice, KindFinalInvoice.
	MetadataKind = "kind"
	// MetadataPackageID: the package plan a PaymentIntent buys.
	MetadataPackageID = "package_id"
	// MetadataDeletion: on a final invoice, the deletion it bills (its
	// idempotency key), so that an attempt that died before recording the
	// invoice finds it.
	MetadataDeletion = "deletion"
	// MetadataLine: on a final invoice's item, which line it is, so that a
	// retry adds only the lines an earlier attempt did not.
	MetadataLine = "line"
	// MetadataLedgerEntry: the ledger entry a Stripe object carries out,
	// so that a retry finds it after Stripe forgot the key.
	MetadataLedgerEntry = "ledger_entry"
)

// KindFinalInvoice marks (under MetadataKind) the final invoice of an
// account's deletion, which already carries the prepaid balance.
const KindFinalInvoice = "final_invoice"
