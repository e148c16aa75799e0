# DeletionCheck (GET /DeletionCheck): whether the account can be deleted, and
# what closing it would bill and refund. Reads Stripe (invoices, pending
# items) and prices usage, so it gets the prices; it publishes nothing.
#
# Sizing: rare, several Stripe reads in a row: concurrency 20, up to 5
# instances, 120 s.
module "deletion_check" {
  source = "./modules/function"

  name        = "deletion-check"
  entry_point = "DeletionCheck"
  description = "Whether the account can be deleted, and what closing it would bill and refund."
  public      = true

  env     = merge(local.common_env, local.auth_env, local.deletion_env)
  secrets = local.stripe_key

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 20
  max_instances   = 5
  timeout_seconds = 120

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email

  depends_on = [google_secret_manager_secret_version.placeholder]
}
