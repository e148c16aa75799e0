variable "project" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Region of the functions, the scheduler jobs and the source bucket, e.g. us-central1."
  type        = string
}

# ---------------------------------------------------------------- Firestore

variable "create_firestore_database" {
  description = "Create the (default) Firestore database. Set false when the project already has one (or import it)."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Location of the Firestore database (a region or a multi-region such as nam5); defaults to region. Cannot change later."
  type        = string
  default     = null
}

# ---------------------------------------------------------------- console tokens

variable "auth_jwks_url" {
  description = "AUTH_JWKS_URL: where the console's token signing keys are published (JWKS, https)."
  type        = string
}

variable "auth_issuer" {
  description = "AUTH_ISSUER: the iss of console tokens."
  type        = string
}

variable "auth_audience" {
  description = "AUTH_AUDIENCE: a value console tokens carry in aud."
  type        = string
}

variable "cors_allowed_origins" {
  description = "CORS_ALLOWED_ORIGINS: the exact origins the console's pages call the functions from, e.g. [\"https://console.example.com\"]; no wildcards."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------- payments

variable "add_funds_enabled" {
  description = "ADD_FUNDS_ENABLED default; config/billing in Firestore overrides it live."
  type        = bool
  default     = true
}

variable "add_funds_min_cents" {
  description = "ADD_FUNDS_MIN_CENTS default; config/billing overrides it live."
  type        = number
  default     = 1000
}

variable "add_funds_max_cents" {
  description = "ADD_FUNDS_MAX_CENTS default; config/billing overrides it live."
  type        = number
  default     = 250000
}

variable "stripe_publishable_key" {
  description = "STRIPE_PUBLISHABLE_KEY: the publishable key (pk_...) BillingSettings hands the console for Stripe.js. Not a secret."
  type        = string
  default     = ""

  validation {
    condition     = var.stripe_publishable_key == "" || startswith(var.stripe_publishable_key, "pk_")
    error_message = "stripe_publishable_key must be a publishable key (pk_...); never put a secret key here."
  }
}

variable "package_plans" {
  description = "PACKAGE_PLANS: the plans PurchasePackage sells, by id, in cents (price at least 50), e.g. { partner-pro = { price = 10000, credit = 15000 } }."
  type = map(object({
    price  = number
    credit = number
  }))
  default = {}
}

variable "repair_batch_size" {
  description = "REPAIR_BATCH_SIZE: accounts RepairCustomers reads a page at a time (a run goes on until its time is up)."
  type        = number
  default     = 100
}

# ---------------------------------------------------------------- sweeps

variable "sweep_stripe_rps" {
  description = "STRIPE_SWEEP_RPS of each sweep function: the Stripe requests a second its runs may spend. Each sweep is a process of its own, so they add up: their sum stays well under Stripe's live limit of 100 (test mode: 25 in all) so that console traffic keeps its headroom."
  type        = map(number)
  default = {
    repair_customers      = 40
    deletion_sweep        = 10
    cancel_stale_payments = 10
    reconcile             = 5
  }

  validation {
    condition     = alltrue([for k in ["repair_customers", "deletion_sweep", "cancel_stale_payments", "reconcile"] : lookup(var.sweep_stripe_rps, k, 0) > 0]) && sum(values(var.sweep_stripe_rps)) <= 80
    error_message = "sweep_stripe_rps needs a positive rate for repair_customers, deletion_sweep, cancel_stale_payments and reconcile, at most 80 in all (Stripe allows 100 in live mode)."
  }
}

variable "sweep_concurrency" {
  description = "SWEEP_CONCURRENCY: items a sweep run works on at once."
  type        = number
  default     = 16
}

variable "sweep_run_time_seconds" {
  description = "SWEEP_RUN_TIME, in seconds: how long one sweep run lasts before it starts the next; under the sweeps' 540 s timeout, which stops them."
  type        = number
  default     = 480

  validation {
    condition     = var.sweep_run_time_seconds >= 60 && var.sweep_run_time_seconds <= 510
    error_message = "sweep_run_time_seconds must be 60 to 510: a run must end (and publish its next run) before the 540 s timeout."
  }
}

variable "reconcile_window" {
  description = "RECONCILE_WINDOW: how far back Reconcile looks (a Go duration), longer than Stripe's 3 days of webhook retries."
  type        = string
  default     = "72h"
}

variable "stale_payment_age" {
  description = "STALE_PAYMENT_AGE: when CancelStalePayments gives up on a pending top-up (a Go duration)."
  type        = string
  default     = "24h"
}

variable "stale_payment_batch_size" {
  description = "STALE_PAYMENT_BATCH_SIZE: stale top-ups CancelStalePayments reads a page at a time (a run goes on until its time is up)."
  type        = number
  default     = 100
}

# ---------------------------------------------------------------- usage and deletion

variable "usage_price_storage_cents_per_tb_month" {
  description = "USAGE_PRICE_STORAGE_CENTS_PER_TB_MONTH, an exact decimal."
  type        = string
  default     = "400"
}

variable "usage_price_egress_cents_per_tb" {
  description = "USAGE_PRICE_EGRESS_CENTS_PER_TB, an exact decimal."
  type        = string
  default     = "700"
}

variable "usage_price_segment_cents_per_month" {
  description = "USAGE_PRICE_SEGMENT_CENTS_PER_MONTH, an exact decimal."
  type        = string
  default     = "0.00088"
}

variable "deletion_invoice_days" {
  description = "DELETION_INVOICE_DAYS: the final invoice's term."
  type        = number
  default     = 30
}

variable "deletion_sweep_batch_size" {
  description = "DELETION_SWEEP_BATCH_SIZE: deletions (and outbox events) DeletionSweep reads a page at a time (a run goes on until its time is up)."
  type        = number
  default     = 100
}

# ---------------------------------------------------------------- Pub/Sub callers

variable "topic_publishers" {
  description = "Outside publishers by topic name, e.g. { user-activated = [\"serviceAccount:console@...\"], usage-reported = [\"serviceAccount:satellite@...\"] }."
  type        = map(list(string))
  default     = {}
}

variable "topic_subscribers" {
  description = "Outside subscribers by topic name (they may attach subscriptions), e.g. { account-deleted = [\"serviceAccount:satellite@...\"] }."
  type        = map(list(string))
  default     = {}
}

# ---------------------------------------------------------------- alerts

variable "alert_email" {
  description = "Email address alerts go to; empty for none."
  type        = string
  default     = ""
}

variable "notification_channels" {
  description = "Existing Cloud Monitoring notification channels (projects/<project>/notificationChannels/<id>) that get every alert."
  type        = list(string)
  default     = []
}

variable "stripe_error_threshold" {
  description = "Failed Stripe calls of one operation in 5 minutes above which the Stripe alert fires."
  type        = number
  default     = 10
}

variable "webhook_5xx_threshold" {
  description = "StripeWebhook 5xx answers in 5 minutes above which the webhook alert fires."
  type        = number
  default     = 5
}

variable "stuck_pending_sweeps_threshold" {
  description = "RepairCustomers runs with failures in an hour (4 runs) above which the stuck-accounts alert fires."
  type        = number
  default     = 2
}
