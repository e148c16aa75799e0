# The billing back end: one Cloud Functions (2nd gen) function per entry
# point in functions.go (one fn_*.tf file each, all from modules/function),
# and what they share: the source zip, the build and deploy accounts, the
# environment every function gets.
#
# Two ways code reaches the functions, and they do not fight:
#   - terraform apply creates each function from a zip of the checkout;
#   - cloudbuild.yaml (gcloud builds submit) tests, then redeploys the code
#     of every function in parallel as the deployer account. The functions
#     ignore later changes to the zip, so Terraform owns configuration
#     (environment, secrets, sizes, accounts) and Cloud Build owns code.

data "google_project" "this" {
  project_id = var.project

  # Read once the Cloud Resource Manager API is on (a fresh project).
  depends_on = [google_project_service.enabled]
}

locals {
  # Created with the Pub/Sub API: it pushes, dead-letters and mints the
  # push subscriptions' OIDC tokens.
  pubsub_service_agent = "service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project_service" "enabled" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])

  project            = var.project
  service            = each.value
  disable_on_destroy = false
}

# ---------------------------------------------------------------- source

# The repository root, as Cloud Functions builds it: go.mod and the root
# package (functions.go) at the top. Local state and the infrastructure
# itself stay out.
data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.build/source.zip"
  excludes    = [".git", ".dev", ".ci", "infra"]
}

resource "google_storage_bucket" "source" {
  project                     = var.project
  name                        = "${var.project}-billing-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.source.name
  # Named by content, so a new checkout uploads a new object.
  name         = "functions/source-${data.archive_file.source.output_md5}.zip"
  source       = data.archive_file.source.output_path
  content_type = "application/zip"
}

# ---------------------------------------------------------------- accounts

# Cloud Build builds every function as this account (new projects no longer
# grant the default build account anything).
resource "google_service_account" "builder" {
  project      = var.project
  account_id   = "billing-builder"
  display_name = "Billing: builds the functions"
}

resource "google_project_iam_member" "builder" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
    "roles/storage.objectViewer",
  ])

  project = var.project
  role    = each.value
  member  = "serviceAccount:${google_service_account.builder.email}"
}

# The functions' builds wait for the builder's roles and the APIs.
resource "terraform_data" "build_ready" {
  input = google_service_account.builder.id

  depends_on = [google_project_iam_member.builder, google_project_service.enabled]
}

# The account cloudbuild.yaml runs as (billing-deployer) is in
# cloudbuild.tf, with everything else the deploy build needs.

# Pub/Sub pushes to the event functions with this account's OIDC token;
# each event function lets it (and nobody else) invoke it.
resource "google_service_account" "pubsub_push" {
  project      = var.project
  account_id   = "billing-pubsub-push"
  display_name = "Billing: Pub/Sub push to the event functions"
}

resource "google_service_account_iam_member" "pubsub_push_tokens" {
  service_account_id = google_service_account.pubsub_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${local.pubsub_service_agent}"
}

# ---------------------------------------------------------------- environment

locals {
  # Every function.
  common_env = {
    GOOGLE_CLOUD_PROJECT = var.project
  }

  # Console tokens, and the browser origins the console calls from (CORS):
  # every console-facing HTTP function. Not the webhook (Stripe signs it) and
  # not the event functions (Pub/Sub's OIDC token is checked by the platform).
  auth_env = {
    AUTH_JWKS_URL        = var.auth_jwks_url
    AUTH_ISSUER          = var.auth_issuer
    AUTH_AUDIENCE        = var.auth_audience
    CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins)
  }

  # Prices and the final invoice's terms: whatever builds the deletion
  # service (the deletion functions, the webhook, the sweep).
  deletion_env = {
    USAGE_PRICE_STORAGE_CENTS_PER_TB_MONTH = var.usage_price_storage_cents_per_tb_month
    USAGE_PRICE_EGRESS_CENTS_PER_TB        = var.usage_price_egress_cents_per_tb
    USAGE_PRICE_SEGMENT_CENTS_PER_MONTH    = var.usage_price_segment_cents_per_month
    DELETION_INVOICE_DAYS                  = tostring(var.deletion_invoice_days)
  }

  # How every sweep runs (each also gets its own STRIPE_SWEEP_RPS).
  sweep_env = {
    SWEEP_CONCURRENCY = tostring(var.sweep_concurrency)
    SWEEP_RUN_TIME    = "${var.sweep_run_time_seconds}s"
  }

  # The Stripe API key, for every function that calls Stripe.
  stripe_key = {
    STRIPE_SECRET_KEY = google_secret_manager_secret.stripe_secret_key.secret_id
  }

  # The deletion events, published (through the outbox) by whatever moves a
  # deletion forward.
  deletion_topics = {
    "account-deletion-requested" = google_pubsub_topic.account_deletion_requested.name
    "account-deleted"            = google_pubsub_topic.account_deleted.name
    "account-deletion-canceled"  = google_pubsub_topic.account_deletion_canceled.name
  }
}
