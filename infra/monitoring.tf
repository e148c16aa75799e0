# Log-based metrics and alert policies. The functions run on Cloud Run, so
# their JSON log lines (shared/logging) are jsonPayload entries of
# resource.type="cloud_run_revision".

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == "" ? 0 : 1

  project      = var.project
  display_name = "Billing alerts"
  type         = "email"

  labels = {
    email_address = var.alert_email
  }

  depends_on = [google_project_service.enabled]
}

locals {
  notification_channels = concat(var.notification_channels, google_monitoring_notification_channel.email[*].name)
}

# ---------------------------------------------------------------- Stripe errors

# Every failed Stripe call is one line "stripe call failed" (a rejected key:
# "stripe call failed: configuration error ..."), at ERROR unless a card was
# declined (INFO: the card holder's problem, not ours).
resource "google_logging_metric" "stripe_errors" {
  project     = var.project
  name        = "billing_stripe_errors"
  description = "Failed Stripe calls of the billing functions, by operation and kind."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "jsonPayload.message=~\"^stripe call failed\"",
    "severity>=ERROR",
  ])

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = "operation"
      value_type  = "STRING"
      description = "The Stripe operation, e.g. create payment intent."
    }

    labels {
      key         = "kind"
      value_type  = "STRING"
      description = "The error class: stripe is unavailable, stripe is misconfigured, stripe rejected the request, ..."
    }
  }

  label_extractors = {
    operation = "EXTRACT(jsonPayload.operation)"
    kind      = "EXTRACT(jsonPayload.kind)"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "stripe_errors" {
  project      = var.project
  display_name = "Billing: Stripe calls failing"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "More than ${var.stripe_error_threshold} failed Stripe calls of one operation in 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.stripe_errors.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.stripe_error_threshold
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.operation"]
      }
    }
  }

  notification_channels = local.notification_channels

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Stripe calls are failing. Logs: `jsonPayload.message=~\"^stripe call failed\"`; `operation`, `stripe_status`, `stripe_code` and `kind` say which and why. Payments stay pending and are retried (customers by RepairCustomers, payments by Reconcile); nothing is charged twice."
  }
}

# A rejected key fails every Stripe call: page on the first one.
resource "google_monitoring_alert_policy" "stripe_key_rejected" {
  project      = var.project
  display_name = "Billing: Stripe rejects our key"
  combiner     = "OR"
  severity     = "CRITICAL"

  conditions {
    display_name = "A Stripe call failed as misconfigured"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.stripe_errors.name}\" AND resource.type=\"cloud_run_revision\" AND metric.label.kind=\"stripe is misconfigured\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = local.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = "Stripe answered 401/403, or STRIPE_SECRET_KEY is empty. Add the right key as a new version of the secret `stripe-secret-key` and redeploy (infra/README.md)."
  }
}

# ---------------------------------------------------------------- webhook 5xx

# The webhook answers 5xx only for transient failures (Firestore), so that
# Stripe retries; a stream of them means events are piling up at Stripe.
# Cloud Run's own request log has the status of every request.
resource "google_logging_metric" "webhook_5xx" {
  project     = var.project
  name        = "billing_webhook_5xx"
  description = "StripeWebhook requests answered with a 5xx."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${module.stripe_webhook.name}\"",
    "logName=\"projects/${var.project}/logs/run.googleapis.com%2Frequests\"",
    "httpRequest.status>=500",
  ])

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "webhook_5xx" {
  project      = var.project
  display_name = "Billing: Stripe webhook answering 5xx"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "More than ${var.webhook_5xx_threshold} webhook 5xx in 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.webhook_5xx.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.webhook_5xx_threshold
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = local.notification_channels

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "StripeWebhook is failing transiently (usually Firestore). Stripe retries for 3 days and Reconcile settles missed payments hourly; check the function's logs for the cause."
  }
}

# ---------------------------------------------------------------- dead letters

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project
  display_name = "Billing: dead-lettered Pub/Sub messages"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "${google_pubsub_subscription.dead_letter.name} is not empty"

    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  notification_channels = local.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = "An event function failed a message on every delivery. Inspect with `gcloud pubsub subscriptions pull billing-dead-letter --limit=10` (attribute CloudPubSubDeadLetterSourceSubscription names the source); republish to the source topic once fixed, then acknowledge (infra/README.md)."
  }

  depends_on = [google_project_service.enabled]
}

# ---------------------------------------------------------------- accounts stuck pending

# Accounts without a Stripe customer stay "pending" and RepairCustomers
# retries them every 15 minutes: its summary line "customer repair sweep
# done" counts the accounts it attempted and still could not repair in
# jsonPayload.failed. That line is the signal, rather than "user activation
# will be retried" (transient: Pub/Sub redelivers and usually succeeds) or
# "stripe call failed" (already alerted on above, and not only about
# accounts): the sweep is the backstop, so its failures are exactly the
# accounts that stay stuck.
resource "google_logging_metric" "repair_failures" {
  project     = var.project
  name        = "billing_repair_sweeps_with_failures"
  description = "RepairCustomers runs that left at least one account without a Stripe customer."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "jsonPayload.message=\"customer repair sweep done\"",
    "jsonPayload.failed>0",
  ])

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "accounts_stuck_pending" {
  project      = var.project
  display_name = "Billing: accounts stuck without a Stripe customer"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "More than ${var.stuck_pending_sweeps_threshold} repair sweeps with failures in an hour"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.repair_failures.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.stuck_pending_sweeps_threshold
      duration        = "0s"

      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = local.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = "RepairCustomers keeps failing to create Stripe customers. The accounts' `lastError` (Firestore `accounts/{userId}`) says why; a `failed` account was rejected by Stripe and needs a person."
  }
}
