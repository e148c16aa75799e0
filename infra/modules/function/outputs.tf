output "name" {
  description = "Function (and Cloud Run service) name."
  value       = google_cloudfunctions2_function.function.name
}

output "entry_point" {
  description = "The Go entry point."
  value       = var.entry_point
}

output "url" {
  description = "The function's HTTPS URL."
  value       = google_cloudfunctions2_function.function.url
}

output "service_account_email" {
  description = "The function's own service account."
  value       = google_service_account.function.email
}

output "push_subscription" {
  description = "The push subscription feeding the function, or null for an HTTP function."
  value       = local.pushed ? google_pubsub_subscription.push[0].name : null
}
