output "function_urls" {
  description = "URL of every HTTP function, by entry point."
  value = {
    for f in [
      module.add_funds,
      module.purchase_package,
      module.balance,
      module.billing_settings,
      module.account,
      module.account_setup,
      module.deletion_check,
      module.request_deletion,
      module.cancel_deletion,
      module.stripe_webhook,
    ] : f.entry_point => f.url
  }
}

output "stripe_webhook_url" {
  description = "Register this endpoint in Stripe (Developers > Webhooks)."
  value       = module.stripe_webhook.url
}

output "stripe_webhook_events" {
  description = "The event types to enable on the Stripe endpoint."
  value       = local.stripe_webhook_events
}

output "push_subscriptions" {
  description = "The push subscription feeding each event function."
  value = {
    for f in [
      module.on_user_activated,
      module.on_usage_reported,
      module.repair_customers,
      module.deletion_sweep,
      module.reconcile,
      module.cancel_stale_payments,
    ] : f.entry_point => f.push_subscription
  }
}

output "dead_letter_subscription" {
  description = "Pull subscription of every message an event function failed on every delivery."
  value       = google_pubsub_subscription.dead_letter.name
}

output "deployer_service_account" {
  description = "The account cloudbuild.yaml runs as."
  value       = google_service_account.deployer.email
}

output "tester_service_account" {
  description = "The account infra/cloudbuild.test.yaml (the tests of every deploy) runs as: no project roles."
  value       = google_service_account.tester.email
}

output "deploy_command" {
  description = "Run from the repository root: tests (as billing-tester), then deploys every function's code (as billing-deployer)."
  value       = "gcloud builds submit --project=${var.project} --config=cloudbuild.yaml --ignore-file=infra/deploy.gcloudignore --gcs-source-staging-dir=gs://${google_storage_bucket.builds.name}/deploy --substitutions=_REGION=${var.region} ."
}
