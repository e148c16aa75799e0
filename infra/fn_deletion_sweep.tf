# DeletionSweep (Pub/Sub deletion-sweep, every 15 minutes from Cloud
# Scheduler): finishes every deletion step a dead process or a Stripe outage
# interrupted, then publishes every outbox event not yet published. Private.
#
# Sizing: a sweep, one run at a time: a single instance serving one request,
# so a tick that arrives during a run is refused (429) and redelivered by
# Pub/Sub with backoff (overlap would be safe, only wasteful). A run advances every due deletion (a few Stripe
# calls each) and publishes the outbox, DELETION_SWEEP_BATCH_SIZE read at a time,
# at the pace of its STRIPE_SWEEP_RPS for up to SWEEP_RUN_TIME (480 s), and
# when work is left it publishes to its own topic so the next run starts at
# once (a message that arrives while the run is still answering is refused
# and redelivered after the 10 s minimum backoff). Hence 540 s: past the
# run's end, just under the 600 s a push subscription can wait for an answer.
module "deletion_sweep" {
  source = "./modules/function"

  name        = "deletion-sweep"
  entry_point = "DeletionSweep"
  description = "Every 15 min: advances interrupted deletions, publishes the outbox."
  public      = false

  env = merge(local.common_env, local.deletion_env, local.sweep_env, {
    DELETION_SWEEP_BATCH_SIZE = tostring(var.deletion_sweep_batch_size)
    STRIPE_SWEEP_RPS          = tostring(var.sweep_stripe_rps["deletion_sweep"])
  })
  secrets      = local.stripe_key
  publishes_to = merge(local.deletion_topics, { "deletion-sweep" = google_pubsub_topic.deletion_sweep.name })

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

  trigger_topic              = google_pubsub_topic.deletion_sweep.name
  push_service_account_email = google_service_account.pubsub_push.email
  pubsub_service_agent_email = local.pubsub_service_agent
  dead_letter_topic          = google_pubsub_topic.dead_letter.id
  # A tick older than an hour is superseded by newer ones, and a tick that
  # failed five times says the sweep itself is broken.
  message_retention     = "3600s"
  max_delivery_attempts = 5

  depends_on = [google_secret_manager_secret_version.placeholder]
}
