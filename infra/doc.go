// Package infra holds the deployment of the billing functions: the
// Terraform (a module per function under modules/function, one file per
// function or resource group beside it), the Firestore security rules, the
// test build ../cloudbuild.yaml starts, and, in its tests, the checks that
// keep the Terraform, the build configs and the Go code in step: every
// entry point registered in functions.go is deployed with the right exposure
// and exactly the access it needs, every account holds only what its job
// needs (no project-wide role beyond a short list; the tests never run as
// the deploy account), every topic of shared/events exists, the .tf files
// parse and are formatted, and the root package builds the way the Cloud
// Functions Go buildpack builds it. All of them run offline but one, which
// checks the security rules on the Firestore emulator. It has no code of
// its own.
package infra
