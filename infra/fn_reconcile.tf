# Reconcile (Pub/Sub reconcile, hourly from Cloud Scheduler): settles every
# recent PaymentIntent of ours that a webhook missed, through the ledger's
# exactly-once path. Private.
#
# Sizing: a sweep, one run at a time: a single instance serving one request,
# so a tick that arrives during a run is refused (429) and redelivered by
# Pub/Sub with backoff (overlap would be safe, only wasteful). A run pages through RECONCILE_WINDOW (72 h) of
# PaymentIntents, 100 a page, and settles the ones a webhook missed,
# at the pace of its STRIPE_SWEEP_RPS for up to SWEEP_RUN_TIME (480 s), and
# when work is left it publishes to its own topic so the next run starts at
# once (a message that arrives while the run is still answering is refused
# and redelivered after the 10 s minimum backoff). Hence 540 s: past the
# run's end, just under the 600 s a push subscription can wait for an answer.
module "reconcile" {
  source = "./modules/function"

  name        = "reconcile"
  entry_point = "Reconcile"
  description = "Hourly: settles PaymentIntents whose webhook was missed."
  public      = false

  env = merge(local.common_env, local.sweep_env, {
    RECONCILE_WINDOW = var.reconcile_window
    STRIPE_SWEEP_RPS = tostring(var.sweep_stripe_rps["reconcile"])
  })
  secrets      = local.stripe_key
  publishes_to = { "reconcile" = google_pubsub_topic.reconcile.name }

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
