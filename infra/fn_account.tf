# Account (GET /Account): the console's GetUser; makes sure the Stripe
# customer exists when it is due, never failing because Stripe is down.
#
# Sizing: one call per console page load, mostly a Firestore read (Stripe
# only for accounts still without a customer): concurrency 80, up to 10
# instances, 60 s.
module "account" {
  source = "./modules/function"

  name        = "account"
  entry_point = "Account"
  description = "The console's account view; ensures the Stripe customer when due."
  public      = true

  env     = merge(local.common_env, local.auth_env)
  secrets = local.stripe_key

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 80
  max_instances   = 10
  timeout_seconds = 60

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email

  depends_on = [google_secret_manager_secret_version.placeholder]
}
