# What ../cloudbuild.yaml (test, then deploy) runs as, and exactly what it
# may do. The deployer deploys code to the existing functions and nothing
# else:
#   - on each function (modules/function): Cloud Functions developer on that
#     function only, and acting as that function's own account;
#   - acting as billing-builder, the account the functions are built with;
#   - in the project: the custom role below (the two deploy calls that are
#     not about one function) and writing its build's logs.
# It has no role on the Cloud Run services (invokers are Terraform's: the
# deploy steps name none), no project-wide Cloud Functions role, and no
# access to data, secrets or topics.

resource "google_service_account" "deployer" {
  project      = var.project
  account_id   = "billing-deployer"
  display_name = "Billing: cloudbuild.yaml (deploys the functions' code)"
}

# gcloud functions deploy (2nd gen) uploads the source through a signed URL
# it asks the location for, and waits on the operation: neither call names
# a function, so neither can be granted on one.
resource "google_project_iam_custom_role" "deployer" {
  project     = var.project
  role_id     = "billingDeployer"
  title       = "Billing: deploy function code"
  description = "Upload function source and follow deploy operations; the functions themselves are granted one by one."
  permissions = [
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
