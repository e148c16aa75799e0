// Package infra holds the deployment of the billing functions: the
// Terraform (a module per function under modules/function, one file per
// function or resource group beside it), and, in its tests, the offline
// checks that keep the Terraform, ../cloudbuild.yaml and the Go code in
// step: every entry point registered in functions.go is deployed with the
// right exposure and exactly the access it needs, every topic of
// shared/events exists, the .tf files parse and are formatted, and the root
// package builds the way the Cloud Functions Go buildpack builds it. It has
// no code of its own.
package infra
