# The scheduled functions are triggered by Cloud Scheduler publishing {}
# to their topics; the functions ignore the payload. Runs may overlap
# safely (work is claimed in Firestore), and a missed tick is made up by the
# next one, so the jobs do not retry on their own.

locals {
  schedules = {
    # Accounts still without a Stripe customer (RepairCustomers).
    "repair-customers" = {
      topic    = google_pubsub_topic.repair_customers.id
      schedule = "*/15 * * * *"
    }
    # Deletions with a step owed, and unpublished outbox events (DeletionSweep).
    "deletion-sweep" = {
      topic    = google_pubsub_topic.deletion_sweep.id
      schedule = "*/15 * * * *"
    }
    # PaymentIntents a webhook missed (Reconcile), hourly.
    "reconcile" = {
      topic    = google_pubsub_topic.reconcile.id
      schedule = "0 * * * *"
    }
    # Top-ups pending too long (CancelStalePayments), hourly, half an hour
    # away from Reconcile so the two do not load Stripe at once.
    "cancel-stale-payments" = {
      topic    = google_pubsub_topic.cancel_stale_payments.id
      schedule = "30 * * * *"
    }
  }
}

resource "google_cloud_scheduler_job" "sweep" {
  for_each = local.schedules

  project   = var.project
  region    = var.region
  name      = each.key
  schedule  = each.value.schedule
  time_zone = "Etc/UTC"

  pubsub_target {
    topic_name = each.value.topic
    data       = base64encode("{}")
  }

  depends_on = [google_project_service.enabled]
}
