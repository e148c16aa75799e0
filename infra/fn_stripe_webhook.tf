# StripeWebhook (POST /StripeWebhook): applies Stripe's events exactly once.
# Public, but every request must carry a valid Stripe-Signature (no console
# auth). It completes deletions on invoice.paid, so it gets the prices and
# publishes the deletion events.
#
# Sizing: Stripe sends events in bursts (a batch of invoices, a retry storm
# after an outage). Most are one short Firestore transaction (a few then
# call Stripe: a paid final invoice, a new invoice's credit), so one vCPU
# takes 80 at once and up to 20 instances absorb 1600 deliveries in flight;
# beyond that Stripe sees a 429 and retries with backoff for three days.
# 60 s leaves room for those Stripe calls; Stripe expects a quick answer and
# retries a delivery that times out.
module "stripe_webhook" {
  source = "./modules/function"

  name        = "stripe-webhook"
  entry_point = "StripeWebhook"
  description = "Stripe webhook endpoint: verifies signatures, applies each event exactly once."
  public      = true

  env = merge(local.common_env, local.deletion_env)
  secrets = merge(local.stripe_key, {
    STRIPE_WEBHOOK_SECRET = google_secret_manager_secret.stripe_webhook_secret.secret_id
  })
  publishes_to = local.deletion_topics

  memory          = "512Mi"
  cpu             = "1"
  concurrency     = 80
  max_instances   = 20
  timeout_seconds = 60

  project               = var.project
  region                = var.region
  source_bucket         = google_storage_bucket.source.name
  source_object         = google_storage_bucket_object.source.name
  build_service_account = terraform_data.build_ready.output
  deployer_email        = google_service_account.deployer.email

  depends_on = [google_secret_manager_secret_version.placeholder]
}

locals {
  # The event types to enable on the Stripe endpoint: every type
  # functions/webhook handles (infra_test.go checks the two agree).
  #   - payment_intent.*: top-ups and package purchases settle;
  #   - invoice.paid: a final invoice completes its deletion;
  #   - charge.refunded, charge.dispute.*: money going back out (added with
  #     refunds and disputes, after the deletion issue; the dispute's
  #     funds_withdrawn / funds_reinstated and updated with its lifecycle);
  #   - invoice.created: the prepaid balance pays a new invoice (invoice
  #     credits, added with shared/invoicecredit);
  #   - customer.deleted: a customer deleted in Stripe is forgotten, and the
  #     next ensure creates a new one.
  # Every other type is recorded as ignored.
  stripe_webhook_events = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "invoice.paid",
    "invoice.created",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
    "customer.deleted",
  ]
}
