# Balance (GET /Balance): the balance and a page of history. Firestore only:
# no Stripe key.
#
# Sizing: the console's most frequent call, two Firestore reads per request:
# concurrency 80 per vCPU, up to 10 instances, 30 s (a read never takes
# longer unless Firestore is down, and then the console retries).
module "balance" {
  source = "./modules/function"

  name        = "balance"
  entry_point = "Balance"
  description = "Balance and transaction history, newest first."
  public      = true

  env = merge(local.common_env, local.auth_env)

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 80
  max_instances   = 10
  timeout_seconds = 30

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email
}
