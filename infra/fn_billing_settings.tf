# BillingSettings (GET /BillingSettings): what the console needs to render
# billing: the add-funds switch and range (config/billing over these
# defaults), the package plans and the Stripe publishable key. Firestore
# only: no Stripe secret.
#
# Sizing: one cached Firestore read per 30 s per instance, and the browser
# caches the answer for 30 s: concurrency 80, up to 5 instances, 30 s.
module "billing_settings" {
  source = "./modules/function"

  name        = "billing-settings"
  entry_point = "BillingSettings"
  description = "The console's billing settings: add-funds range, package plans, publishable key."
  public      = true

  env = merge(local.common_env, local.auth_env, {
    ADD_FUNDS_ENABLED      = tostring(var.add_funds_enabled)
    ADD_FUNDS_MIN_CENTS    = tostring(var.add_funds_min_cents)
    ADD_FUNDS_MAX_CENTS    = tostring(var.add_funds_max_cents)
    PACKAGE_PLANS          = jsonencode(var.package_plans)
    STRIPE_PUBLISHABLE_KEY = var.stripe_publishable_key
  })

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 80
  max_instances   = 5
  timeout_seconds = 30

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email
}
