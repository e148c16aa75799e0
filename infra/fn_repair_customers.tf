# RepairCustomers (Pub/Sub repair-customers, every 15 minutes from Cloud
# Scheduler): gives every account still without a Stripe customer another
# try, oldest due first. Private.
#
# Sizing: a sweep, one run at a time: a single instance serving one request,
# so a tick that arrives during a run is refused (429) and redelivered by
# Pub/Sub with backoff (overlap would be safe, only wasteful). A run makes up to
# REPAIR_BATCH_SIZE (100) customers in a row, a second or two each, hence
# 540 s: just under the 600 s a push subscription can wait for an answer.
module "repair_customers" {
  source = "./modules/function"

  name        = "repair-customers"
  entry_point = "RepairCustomers"
  description = "Every 15 min: retries Stripe customers of accounts still pending."
  public      = false

  env = merge(local.common_env, {
    REPAIR_BATCH_SIZE = tostring(var.repair_batch_size)
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

  trigger_topic              = google_pubsub_topic.repair_customers.name
  push_service_account_email = google_service_account.pubsub_push.email
  pubsub_service_agent_email = local.pubsub_service_agent
  dead_letter_topic          = google_pubsub_topic.dead_letter.id
  # A tick older than an hour is superseded by newer ones, and a tick that
  # failed five times says the sweep itself is broken.
  message_retention     = "3600s"
  max_delivery_attempts = 5

  depends_on = [google_secret_manager_secret_version.placeholder]
}
