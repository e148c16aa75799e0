# The two builds of a deploy and exactly what each may do.
#
# ../cloudbuild.yaml runs as billing-deployer. It deploys code to the
# existing functions and nothing else:
#   - on each function (modules/function): Cloud Functions developer on that
#     function only, and acting as that function's own account;
#   - acting as billing-builder, the account the functions are built with,
#     and as billing-tester, to start the test build;
#   - in the project: the custom role below (the deploy calls that are not
#     about one function, and starting and following a build) and writing
#     its build's log;
#   - on the builds bucket: reading its own source, staging the test
#     build's; on the test logs bucket: reading the test build's log.
# It has no role on the Cloud Run services (invokers are Terraform's: the
# deploy steps name none), no project-wide Cloud Functions role, and no
# access to data, secrets or topics. Because it may act as every function's
# account, it runs no third-party code: its steps are Google's gcloud image.
#
# infra/cloudbuild.test.yaml (its first step) runs the tests as
# billing-tester, which has no project role and may act as no account: it
# reads its source from the builds bucket and writes its log to the test
# logs bucket, and that is all. Whatever the tests' third-party code (Go
# modules, stripe-mock, the emulators) does with those credentials, it can
# deploy nothing and read no secret and no data.

resource "google_service_account" "deployer" {
  project      = var.project
  account_id   = "billing-deployer"
  display_name = "Billing: cloudbuild.yaml (deploys the functions' code)"
}

# gcloud functions deploy (2nd gen) uploads the source through a signed URL
# it asks the location for, and waits on the operation; gcloud builds submit
# creates the test build and follows it. None of these calls names a
# function, so none can be granted on one. Creating builds adds no power:
# a build can only run as an account the deployer may act as (the
# functions', the builder, the tester), and it can already deploy code as
# those.
resource "google_project_iam_custom_role" "deployer" {
  project     = var.project
  role_id     = "billingDeployer"
  title       = "Billing: deploy function code"
  description = "Upload function source, follow deploy operations, run the test build; the functions themselves are granted one by one."
  permissions = [
    "cloudbuild.builds.create",
    "cloudbuild.builds.get",
    "cloudfunctions.functions.generateUploadUrl",
    "cloudfunctions.operations.get",
  ]
}

resource "google_project_iam_member" "deployer" {
  # Keyed by role: the log writer keeps the key it had, so an apply does
  # not remove and re-add it.
  for_each = {
    "billingDeployer" = google_project_iam_custom_role.deployer.id
    # The build's own log (cloudbuild.yaml: CLOUD_LOGGING_ONLY).
    "roles/logging.logWriter" = "roles/logging.logWriter"
  }

  project = var.project
  role    = each.value
  member  = "serviceAccount:${google_service_account.deployer.email}"
}

# Each deploy step builds its function as billing-builder
# (--build-service-account).
resource "google_service_account_iam_member" "deployer_uses_builder" {
  service_account_id = google_service_account.builder.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

# The tests' account: no project role, no account to act as.
resource "google_service_account" "tester" {
  project      = var.project
  account_id   = "billing-tester"
  display_name = "Billing: infra/cloudbuild.test.yaml (runs the tests, no project roles)"
}

# The deploy build starts the test build as billing-tester.
resource "google_service_account_iam_member" "deployer_uses_tester" {
  service_account_id = google_service_account.tester.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

# ---------------------------------------------------------------- buckets

# The builds' sources, staged by gcloud builds submit: the deploy build's
# (deploy/, uploaded by the operator's deploy command) and the test build's
# (test/, uploaded by the deploy build). A build with its own account
# fetches its source as that account, so each may read here.
resource "google_storage_bucket" "builds" {
  project                     = var.project
  name                        = "${var.project}-billing-builds"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# The test build's logs. Cloud Build writes (and rewrites, as it grows) the
# log as the build's account; gcloud streams it into the deploy build's
# log.
resource "google_storage_bucket" "test_logs" {
  project                     = var.project
  name                        = "${var.project}-billing-test-logs"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_iam_member" "builds_deployer" {
  for_each = toset([
    # The deploy build fetches its own source.
    "roles/storage.objectViewer",
    # gcloud builds submit checks that the staging bucket exists
    # (buckets.get), then stages the test build's source.
    "roles/storage.legacyBucketReader",
    "roles/storage.objectCreator",
  ])

  bucket = google_storage_bucket.builds.name
  role   = each.value
  member = "serviceAccount:${google_service_account.deployer.email}"
}

# The test build fetches its source.
resource "google_storage_bucket_iam_member" "builds_tester" {
  bucket = google_storage_bucket.builds.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.tester.email}"
}

# Cloud Build writes the test build's log as billing-tester.
resource "google_storage_bucket_iam_member" "test_logs_tester" {
  bucket = google_storage_bucket.test_logs.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.tester.email}"
}

# gcloud streams the test build's log into the deploy build's.
resource "google_storage_bucket_iam_member" "test_logs_deployer" {
  bucket = google_storage_bucket.test_logs.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.deployer.email}"
}
