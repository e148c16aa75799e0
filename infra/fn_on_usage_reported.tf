# OnUsageReported (Pub/Sub usage-reported, from the satellite): stores each
# usage report once, by reportId. Firestore only: no Stripe key. Private.
#
# Sizing: the satellite reports every project at period boundaries, so
# messages arrive in bursts; each is one Firestore create: concurrency 80,
# up to 10 instances, 60 s. Redelivery is harmless (the create finds the
# report); after 10 failed deliveries the report is dead-lettered, kept and
# alerted on.
module "on_usage_reported" {
  source = "./modules/function"

  name        = "on-usage-reported"
  entry_point = "OnUsageReported"
  description = "usage-reported: stores each usage report once."
  public      = false

  env = local.common_env

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

  trigger_topic              = google_pubsub_topic.usage_reported.name
  push_service_account_email = google_service_account.pubsub_push.email
  pubsub_service_agent_email = local.pubsub_service_agent
  dead_letter_topic          = google_pubsub_topic.dead_letter.id
}
