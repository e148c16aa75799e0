// Package billing is the root package that Cloud Functions builds: its init
// registers every entry point and nothing else. Each function is deployed
// from the repository root and chosen with --entry-point.
package billing

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"example.com/billing/functions/addfunds"
	"example.com/billing/functions/balance"
	"example.com/billing/functions/deletion"
	"example.com/billing/functions/onboarding"
	"example.com/billing/functions/reconcile"
	"example.com/billing/functions/repair"
	"example.com/billing/functions/settings"
	"example.com/billing/functions/usage"
	"example.com/billing/functions/webhook"
)

func init() {
	functions.HTTP("AddFunds", addfunds.Handle)
	functions.HTTP("PurchasePackage", addfunds.HandlePurchase)
	functions.HTTP("Balance", balance.Handle)
	functions.HTTP("BillingSettings", settings.Handle)
	functions.HTTP("Account", onboarding.HandleAccount)
	functions.HTTP("AccountSetup", onboarding.HandleSetup)
	functions.HTTP("DeletionCheck", deletion.HandleCheck)
	functions.HTTP("RequestDeletion", deletion.HandleRequest)
	functions.HTTP("CancelDeletion", deletion.HandleCancel)
	functions.HTTP("StripeWebhook", webhook.Handle)
	functions.CloudEvent("OnUserActivated", onboarding.HandleUserActivated)
	functions.CloudEvent("OnUsageReported", usage.Handle)
	functions.CloudEvent("RepairCustomers", repair.Handle)
	functions.CloudEvent("DeletionSweep", deletion.HandleSweep)
	functions.CloudEvent("Reconcile", reconcile.HandleReconcile)
	functions.CloudEvent("CancelStalePayments", reconcile.HandleCancelStale)
}
