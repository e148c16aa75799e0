# CancelDeletion (POST /CancelDeletion): reopens an account whose final
# invoice is unpaid, and publishes account-deletion-canceled.
#
# Access: Firestore only, in one transaction, then the outbox. It never
# calls Stripe (the final invoice stays open), so it gets no Stripe key: the
# deletion service it is built on holds a Stripe client, and a missing key
# only fails the calls it never makes. It publishes its own
# account-deletion-canceled and, when the request's
# account-deletion-requested is still unpublished, that one first; a
# cancelable deletion has no account-deleted.
#
# Sizing: rare, one Firestore transaction and a publish: concurrency 20,
# up to 5 instances, 120 s.
module "cancel_deletion" {
  source = "./modules/function"

  name        = "cancel-deletion"
  entry_point = "CancelDeletion"
  description = "Cancels a pending deletion: account-deletion-canceled."
  public      = true

  env = merge(local.common_env, local.auth_env, local.deletion_env)
  publishes_to = {
    "account-deletion-requested" = google_pubsub_topic.account_deletion_requested.name
    "account-deletion-canceled"  = google_pubsub_topic.account_deletion_canceled.name
  }

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 20
  max_instances   = 5
  timeout_seconds = 120

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email
}
