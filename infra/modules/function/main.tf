# One Cloud Functions (2nd gen) function of the billing module, with its own
# service account and exactly the access it needs.
#
# Cloud Functions' Go buildpack builds only the package at the root of the
# source, so every function ships the same zip of the repository root and
# differs only by entry point (and configuration).

locals {
  member = "serviceAccount:${google_service_account.function.email}"
  pushed = var.trigger_topic != null
}

resource "google_service_account" "function" {
  project      = var.project
  account_id   = "fn-${var.name}"
  display_name = "Billing function ${var.entry_point}"
}

# Firestore has no per-collection IAM: the ledger, accounts and outbox are
# one database, which every function reads and writes.
resource "google_project_iam_member" "firestore" {
  project = var.project
  role    = "roles/datastore.user"
  member  = local.member
}

resource "google_secret_manager_secret_iam_member" "secret" {
  for_each = var.secrets

  project   = var.project
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = local.member
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = var.publishes_to

  project = var.project
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = local.member
}

# cloudbuild.yaml redeploys the code as this same account: the deployer may
# act as it (and as no other function's account).
resource "google_service_account_iam_member" "deployer" {
  service_account_id = google_service_account.function.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${var.deployer_email}"
}

resource "google_cloudfunctions2_function" "function" {
  project     = var.project
  location    = var.region
  name        = var.name
  description = var.description

  build_config {
    runtime         = "go126"
    entry_point     = var.entry_point
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function.email
    available_memory                 = var.memory
    available_cpu                    = var.cpu
    timeout_seconds                  = var.timeout_seconds
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = var.concurrency
    # Pub/Sub push from this project counts as internal traffic, so the
    # event functions are not reachable from the internet at all.
    ingress_settings               = var.public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true

    # Cloud Functions sets LOG_EXECUTION_ID itself; stating it avoids a
    # perpetual diff.
    environment_variables = merge({ LOG_EXECUTION_ID = "true" }, var.env)

    dynamic "secret_environment_variables" {
      for_each = var.secrets

      content {
        key        = secret_environment_variables.key
        project_id = var.project
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  lifecycle {
    # Terraform creates the function from the zip of the checkout it runs
    # in; after that, code is deployed by cloudbuild.yaml (tests first), so
    # an apply from an older checkout never rolls the code back.
    ignore_changes = [build_config[0].source]

    precondition {
      condition     = !(var.public && local.pushed)
      error_message = "A function fed by a push subscription must not be public."
    }

    precondition {
      condition     = !local.pushed || (var.push_service_account_email != null && var.dead_letter_topic != null && var.pubsub_service_agent_email != null)
      error_message = "A pushed function needs push_service_account_email, dead_letter_topic and pubsub_service_agent_email."
    }

    precondition {
      condition     = !local.pushed || var.timeout_seconds <= 600
      error_message = "A pushed function's timeout is its subscription's ack deadline: at most 600 seconds."
    }
  }

  # A revision cannot start before its account may read its secrets.
  depends_on = [google_secret_manager_secret_iam_member.secret]
}

# HTTP functions authenticate every request themselves (console JWTs,
# Stripe signatures), so the platform lets everyone through.
resource "google_cloud_run_v2_service_iam_member" "public" {
  count = var.public ? 1 : 0

  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.function.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Event functions: only the push subscription's account may invoke them.
resource "google_cloud_run_v2_service_iam_member" "push" {
  count = local.pushed ? 1 : 0

  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.function.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.push_service_account_email}"
}

# The deployer may deploy code to this function and to no other: Cloud
# Functions developer on the function itself (get, update, set its source),
# not on the project. Nothing on the Cloud Run service: its invokers are
# Terraform's (above), and the deploy step names none.
resource "google_cloudfunctions2_function_iam_member" "deployer" {
  project        = var.project
  location       = var.region
  cloud_function = google_cloudfunctions2_function.function.name
  role           = "roles/cloudfunctions.developer"
  member         = "serviceAccount:${var.deployer_email}"
}

# The event functions are deployed as (private) HTTP functions fed by this
# explicit push subscription, not with an Eventarc trigger: the
# subscription's retry backoff and dead-letter topic are then ours to set,
# so a message the function keeps failing is kept and alerted on instead of
# being retried for 7 days or dropped. The functions framework turns the
# pushed message into the CloudEvent the handler takes, exactly as the local
# stack does against the emulator.
resource "google_pubsub_subscription" "push" {
  count = local.pushed ? 1 : 0

  project = var.project
  name    = "${var.name}-push"
  topic   = var.trigger_topic

  # For push, the ack deadline is how long Pub/Sub waits for the response.
  ack_deadline_seconds       = max(10, var.timeout_seconds)
  message_retention_duration = var.message_retention

  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = google_cloudfunctions2_function.function.service_config[0].uri

    oidc_token {
      service_account_email = var.push_service_account_email
    }
  }

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = var.dead_letter_topic
    max_delivery_attempts = var.max_delivery_attempts
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push]
}

# Dead-lettering acknowledges the message on the source subscription as
# the Pub/Sub service agent.
resource "google_pubsub_subscription_iam_member" "dead_letter" {
  count = local.pushed ? 1 : 0

  project      = var.project
  subscription = google_pubsub_subscription.push[0].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent_email}"
}
