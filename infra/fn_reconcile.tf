# Reconcile (Pub/Sub reconcile, hourly from Cloud Scheduler): settles every
# recent PaymentIntent of ours that a webhook missed, through the ledger's
# exactly-once path. Private.
#
# Sizing: a sweep, one run at a time: a single instance serving one request,
# so a tick that arrives during a run is refused (429) and redelivered by
# Pub/Sub with backoff (overlap would be safe, only wasteful). A run pages through
# RECONCILE_WINDOW (72 h) of PaymentIntents and settles the ones a webhook
# missed, hence 540 s: just under the 600 s a push subscription can wait.
module "reconcile" {
  source = "./modules/function"

  name        = "reconcile"
  entry_point = "Reconcile"
  description = "Hourly: settles PaymentIntents whose webhook was missed."
  public      = false

  env = merge(local.common_env, {
    RECONCILE_WINDOW = var.reconcile_window
  })
  secrets = local.stripe_key

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 1
  max_instances   = 1
  timeout_seconds = 540

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email

  trigger_topic              = google_pubsub_topic.reconcile.name
  push_service_account_email = google_service_account.pubsub_push.email
  pubsub_service_agent_email = local.pubsub_service_agent
  dead_letter_topic          = google_pubsub_topic.dead_letter.id
  # A tick older than an hour is superseded by newer ones, and a tick that
  # failed five times says the sweep itself is broken.
  message_retention     = "3600s"
  max_delivery_attempts = 5

  depends_on = [google_secret_manager_secret_version.placeholder]
}
