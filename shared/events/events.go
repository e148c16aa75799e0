// Package events names the Pub/Sub topics the functions consume and
// publish, and which entry point each consumed topic triggers. The local
// stack, the infrastructure checks and the README all follow this table.
package events

// Topic is one Pub/Sub topic.
type Topic struct {
	Name string
	// Subscriber is the CloudEvent entry point the topic triggers, empty for
	// a topic the functions only publish to (or that is consumed elsewhere).
	Subscriber string
}

// Topics of the contract. Entry points are filled in as their functions
// are added.
var Topics = []Topic{
	{Name: "user-activated", Subscriber: "OnUserActivated"},
	{Name: "usage-reported", Subscriber: "OnUsageReported"},
	// Published by the functions, for the satellite.
	{Name: "account-deletion-requested"},
	{Name: "account-deleted"},
	{Name: "account-deletion-canceled"},
	// Published by Cloud Scheduler (every 15 minutes in production).
	{Name: "repair-customers", Subscriber: "RepairCustomers"},
	{Name: "deletion-sweep", Subscriber: "DeletionSweep"},
	{Name: "reconcile", Subscriber: "Reconcile"},                       // hourly
	{Name: "cancel-stale-payments", Subscriber: "CancelStalePayments"}, // hourly
}
