// Package billing is the root package that Cloud Functions builds: its init
// registers every entry point and nothing else. Each function is deployed
// from the repository root and chosen with --entry-point; each is built from
// the composition root (shared/platform) on its first request or event.
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
	"example.com/billing/shared/platform"
)

func init() {
	functions.HTTP("AddFunds", platform.Console("AddFunds", addfunds.New))
	functions.HTTP("PurchasePackage", platform.Console("PurchasePackage", addfunds.NewPurchase))
	functions.HTTP("Balance", platform.Console("Balance", balance.New))
	functions.HTTP("BillingSettings", platform.Console("BillingSettings", settings.New))
	functions.HTTP("Account", platform.Console("Account", onboarding.NewAccount))
	functions.HTTP("AccountSetup", platform.Console("AccountSetup", onboarding.NewSetup))
	functions.HTTP("DeletionCheck", platform.Console("DeletionCheck", deletion.NewCheck))
	functions.HTTP("RequestDeletion", platform.Console("RequestDeletion", deletion.NewRequest))
	functions.HTTP("CancelDeletion", platform.Console("CancelDeletion", deletion.NewCancel))
	functions.HTTP("StripeWebhook", platform.HTTP("StripeWebhook", webhook.New))
	functions.CloudEvent("OnUserActivated", platform.Event("OnUserActivated", onboarding.NewUserActivated))
	functions.CloudEvent("OnUsageReported", platform.Event("OnUsageReported", usage.New))
	functions.CloudEvent("RepairCustomers", platform.Event("RepairCustomers", repair.New))
	functions.CloudEvent("DeletionSweep", platform.Event("DeletionSweep", deletion.NewSweep))
	functions.CloudEvent("Reconcile", platform.Event("Reconcile", reconcile.NewReconcile))
	functions.CloudEvent("CancelStalePayments", platform.Event("CancelStalePayments", reconcile.NewCancelStale))
}
