# The two Stripe secrets. Terraform creates the secrets, never their values:
# the operator adds those with `gcloud secrets versions add` (README.md), so
# no key ever reaches Terraform's state. The functions read version
# "latest" when an instance starts.

resource "google_secret_manager_secret" "stripe_secret_key" {
  project   = var.project
  secret_id = "stripe-secret-key"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

# A comma-separated list is accepted, so the signing secret can be rotated
# with zero downtime (README.md).
resource "google_secret_manager_secret" "stripe_webhook_secret" {
  project   = var.project
  secret_id = "stripe-webhook-secret"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

# A revision cannot start while "latest" does not exist, so the first apply
# would fail before the operator could add the values. Each secret starts
# with this placeholder version (not a secret: "unset"), which fails closed
# (Stripe rejects the key, every webhook signature fails) until the real
# value is added as a newer version and the functions are redeployed.
# Disable it then; never destroy it, or an apply would add a new "unset"
# version, which would become "latest".
resource "google_secret_manager_secret_version" "placeholder" {
  for_each = {
    stripe_secret_key     = google_secret_manager_secret.stripe_secret_key.id
    stripe_webhook_secret = google_secret_manager_secret.stripe_webhook_secret.id
  }

  secret      = each.value
  secret_data = "unset"

  lifecycle {
    ignore_changes = [enabled]
  }
}
