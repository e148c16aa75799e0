# AddFunds (POST /AddFunds): a console top-up. Records a pending transaction
# and a Stripe PaymentIntent; the webhook credits the balance later.
#
# Sizing: I/O-bound (a Firestore transaction and one or two Stripe calls of a
# few hundred ms each), so one vCPU serves many requests at once:
# concurrency 40. Ten instances (400 top-ups in flight) is far above console
# traffic and bounds what a runaway client can send to Stripe. 60 s covers
# Stripe's slow answers; a retried request is safe (idempotency keys).
module "add_funds" {
  source = "./modules/function"

  name        = "add-funds"
  entry_point = "AddFunds"
  description = "Console top-up: a pending transaction and a Stripe PaymentIntent."
  public      = true

  env = merge(local.common_env, local.auth_env, {
    ADD_FUNDS_ENABLED   = tostring(var.add_funds_enabled)
    ADD_FUNDS_MIN_CENTS = tostring(var.add_funds_min_cents)
    ADD_FUNDS_MAX_CENTS = tostring(var.add_funds_max_cents)
  })
  secrets = local.stripe_key

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 40
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
