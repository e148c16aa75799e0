# PurchasePackage (POST /PurchasePackage): a partner sign-up buys a package
# plan; like AddFunds, the webhook credits it.
#
# Sizing: the same shape as AddFunds (Firestore plus Stripe, I/O-bound), with
# far less traffic (one purchase per account ever): concurrency 40, at most
# 5 instances, 60 s.
module "purchase_package" {
  source = "./modules/function"

  name        = "purchase-package"
  entry_point = "PurchasePackage"
  description = "Partner package purchase: a pending transaction and a Stripe PaymentIntent."
  public      = true

  env = merge(local.common_env, local.auth_env, {
    PACKAGE_PLANS = jsonencode(var.package_plans)
  })
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
