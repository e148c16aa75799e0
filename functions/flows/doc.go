// Package flows holds end-to-end flows across functions: the tests that
// drive several function packages together (AddFunds and PurchasePackage,
// Balance, StripeWebhook, the deletion functions) on real peers, so that no
// function package's tests import another. It has no code of its own.
package flows
