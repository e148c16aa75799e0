# RequestDeletion (POST /RequestDeletion): closes the account: final usage,
# balance applied, refunds, the final invoice, and account-deletion-requested
# (through the outbox).
#
# Sizing: rare, a Firestore transaction then several Stripe writes (invoice
# and its lines, refunds): concurrency 20, up to 5 instances, 120 s.
module "request_deletion" {
  source = "./modules/function"

  name        = "request-deletion"
  entry_point = "RequestDeletion"
  description = "Starts an account's deletion: final bill, refunds, account-deletion-requested."
  public      = true

  env          = merge(local.common_env, local.auth_env, local.deletion_env)
  secrets      = local.stripe_key
  publishes_to = local.deletion_topics

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
