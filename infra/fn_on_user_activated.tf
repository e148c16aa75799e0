# OnUserActivated (Pub/Sub user-activated, from the console): records the
# account and tries its Stripe customer. Private: only the push
# subscription's account may invoke it.
#
# Sizing: one activation per message, Firestore plus a Stripe search and
# create: concurrency 20, up to 10 instances (sign-up bursts queue in
# Pub/Sub rather than hammer Stripe), 120 s (also the subscription's ack
# deadline). A failure is redelivered with backoff; after 10 deliveries the
# message is dead-lettered (RepairCustomers still retries the account).
module "on_user_activated" {
  source = "./modules/function"

  name        = "on-user-activated"
  entry_point = "OnUserActivated"
  description = "user-activated: records the account and creates its Stripe customer."
  public      = false

  env     = local.common_env
  secrets = local.stripe_key

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 20
  max_instances   = 10
  timeout_seconds = 120

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email

  trigger_topic              = google_pubsub_topic.user_activated.name
  push_service_account_email = google_service_account.pubsub_push.email
  pubsub_service_agent_email = local.pubsub_service_agent
  dead_letter_topic          = google_pubsub_topic.dead_letter.id

  depends_on = [google_secret_manager_secret_version.placeholder]
}
