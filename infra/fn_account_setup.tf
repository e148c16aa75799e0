# AccountSetup (POST /AccountSetup): makes sure the user's Stripe customer
# exists, now.
#
# Sizing: once per account at onboarding; always calls Stripe (search, then
# create): concurrency 40, up to 5 instances, 60 s.
module "account_setup" {
  source = "./modules/function"

  name        = "account-setup"
  entry_point = "AccountSetup"
  description = "Ensures the user's Stripe customer exists."
  public      = true

  env     = merge(local.common_env, local.auth_env)
  secrets = local.stripe_key

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 40
  max_instances   = 5
  timeout_seconds = 60

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email

  depends_on = [google_secret_manager_secret_version.placeholder]
}
