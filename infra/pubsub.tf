# Every topic of shared/events/events.go (infra_test.go keeps the two in
# step), the dead-letter topic, and the grants of external publishers and
# subscribers. The push subscriptions that feed the event functions live in
# modules/function, next to the function they feed.

resource "google_pubsub_topic" "user_activated" {
  project = var.project
  # Published by the console when an account is activated; OnUserActivated.
  name = "user-activated"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "usage_reported" {
  project = var.project
  # Published by the satellite; OnUsageReported.
  name = "usage-reported"

  depends_on = [google_project_service.enabled]
}

# The deletion events, for the satellite. Pub/Sub drops what is published
# while a topic has no subscription; a week of topic retention lets a
# subscription created late seek back to what it missed.
resource "google_pubsub_topic" "account_deletion_requested" {
  project                    = var.project
  name                       = "account-deletion-requested"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "account_deleted" {
  project                    = var.project
  name                       = "account-deleted"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "account_deletion_canceled" {
  project                    = var.project
  name                       = "account-deletion-canceled"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

# Published by Cloud Scheduler (scheduler.tf).
resource "google_pubsub_topic" "repair_customers" {
  project = var.project
  name    = "repair-customers"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "deletion_sweep" {
  project = var.project
  name    = "deletion-sweep"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "reconcile" {
  project = var.project
  name    = "reconcile"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "cancel_stale_payments" {
  project = var.project
  name    = "cancel-stale-payments"

  depends_on = [google_project_service.enabled]
}

locals {
  topics = {
    "user-activated"             = google_pubsub_topic.user_activated.name
    "usage-reported"             = google_pubsub_topic.usage_reported.name
    "account-deletion-requested" = google_pubsub_topic.account_deletion_requested.name
    "account-deleted"            = google_pubsub_topic.account_deleted.name
    "account-deletion-canceled"  = google_pubsub_topic.account_deletion_canceled.name
    "repair-customers"           = google_pubsub_topic.repair_customers.name
    "deletion-sweep"             = google_pubsub_topic.deletion_sweep.name
    "reconcile"                  = google_pubsub_topic.reconcile.name
    "cancel-stale-payments"      = google_pubsub_topic.cancel_stale_payments.name
  }
}

# ---------------------------------------------------------------- dead letters

# One dead-letter topic for every push subscription: each message keeps the
# attribute CloudPubSubDeadLetterSourceSubscription, which says where it
# came from. Nothing is dropped: the pull subscription below keeps them two
# weeks, and monitoring.tf alerts as soon as it is not empty.
resource "google_pubsub_topic" "dead_letter" {
  project = var.project
  name    = "billing-dead-letter"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project
  name                       = "billing-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "1209600s"

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering publishes as the Pub/Sub service agent.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${local.pubsub_service_agent}"
}

# ---------------------------------------------------------------- outside callers

# The console publishes user-activated, the satellite usage-reported and
# subscribes to the deletion events: grant them here, per topic.
resource "google_pubsub_topic_iam_member" "external_publisher" {
  for_each = { for pair in flatten([for topic, members in var.topic_publishers : [for m in members : { topic = topic, member = m }]]) : "${pair.topic} ${pair.member}" => pair }

  project = var.project
  topic   = local.topics[each.value.topic]
  role    = "roles/pubsub.publisher"
  member  = each.value.member
}

resource "google_pubsub_topic_iam_member" "external_subscriber" {
  for_each = { for pair in flatten([for topic, members in var.topic_subscribers : [for m in members : { topic = topic, member = m }]]) : "${pair.topic} ${pair.member}" => pair }

  project = var.project
  topic   = local.topics[each.value.topic]
  role    = "roles/pubsub.subscriber"
  member  = each.value.member
}
